"""How a v2 functional picks its kernel: by the type of its input.

    resize(pil_image, ...)        -> the PIL kernel (Pillow)
    resize(tensor, ...)           -> the image kernel (a plain tensor is an image)
    resize(Image(...), ...)       -> the image kernel, result wrapped back into an Image
    resize(Mask(...), ...)        -> the mask kernel (always nearest), wrapped back into a Mask
    resize(BoundingBoxes(...),..) -> the box kernel, which also sets the new canvas_size

Each functional has a table {type: kernel}; the lookup walks the input type's MRO, so a subclass
of Image uses Image's kernel, but stops at TVTensor: a Mask or BoundingBoxes without a kernel of its
own is not treated as an image (colour transforms pass masks through untouched).
``register_kernel(functional, MyType)`` adds a kernel for a user type, as in torchvision. Kernels
registered with ``wrap=True`` receive the plain tensor and their output is wrapped back into the
input's TVTensor type with its metadata.
"""

from __future__ import annotations

import functools

from PIL import Image as _PILImage

from .....tensor import Tensor
from .... import tv_tensors

__all__ = ["register_kernel", "get_kernel", "is_pure_tensor", "plain"]

_KERNELS: dict = {}


def is_pure_tensor(inpt) -> bool:
    """A Tensor that is not a TVTensor (transforms treat the first one of a sample as the image)."""
    return isinstance(inpt, Tensor) and not isinstance(inpt, tv_tensors.TVTensor)


def plain(tensor) -> Tensor:
    """The same array as a plain Tensor (the TVTensor's metadata left behind)."""
    if type(tensor) is Tensor:
        return tensor
    out = Tensor.__new__(Tensor)
    out.__dict__.update({k: v for k, v in tensor.__dict__.items() if k in ("_data", "requires_grad", "grad",
                                                                            "grad_fn")})
    return out


def _wrapping(kernel):
    @functools.wraps(kernel)
    def wrapper(inpt, *args, **kwargs):
        return tv_tensors.wrap(kernel(plain(inpt), *args, **kwargs), like=inpt)
    return wrapper


def register_internal(functional, *types, wrap: bool = True):
    """Decorator: ``kernel`` serves ``functional`` for each of ``types`` (TVTensor types wrapped if ``wrap``)."""
    def decorator(kernel):
        table = _KERNELS.setdefault(functional, {})
        for cls in types:
            needs_wrap = wrap and isinstance(cls, type) and issubclass(cls, tv_tensors.TVTensor)
            table[cls] = _wrapping(kernel) if needs_wrap else kernel
        return kernel
    return decorator


def register_kernel(functional, tv_tensor_cls):
    """torchvision's public hook: ``@register_kernel(F.resize, MyTVTensor)`` makes ``F.resize`` (and the
    transforms that call it) use the decorated kernel for ``MyTVTensor`` inputs; the kernel gets the
    input itself and returns the output as it should be."""
    if not (isinstance(tv_tensor_cls, type) and issubclass(tv_tensor_cls, tv_tensors.TVTensor)):
        raise ValueError(f"register_kernel: kernels can only be registered for subclasses of TVTensor, got "
                         f"{tv_tensor_cls}")
    if tv_tensor_cls in (tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, tv_tensors.BoundingBoxes,
                         tv_tensors.KeyPoints):
        raise ValueError(f"register_kernel: {tv_tensor_cls.__name__} has its kernels already")
    return register_internal(functional, tv_tensor_cls, wrap=False)


def get_kernel(functional, input_type, allow_passthrough: bool = False):
    """The kernel of ``functional`` for ``input_type`` (by MRO); unknown types pass through unchanged when
    ``allow_passthrough`` (what the transforms do with labels and other data), else a TypeError."""
    table = _KERNELS.get(functional, {})
    for cls in input_type.__mro__:
        if cls in table:
            return table[cls]
        if cls is tv_tensors.TVTensor:
            break  # a Mask is not an image: no falling back to the plain-tensor (image) kernel
    if issubclass(input_type, _PILImage.Image) and _PILImage.Image in table:
        return table[_PILImage.Image]
    if allow_passthrough:
        return lambda inpt, *args, **kwargs: inpt
    supported = ", ".join(sorted(getattr(t, "__name__", str(t)) for t in table))
    raise TypeError(f"{functional.__name__}() supports inputs of type {supported}, but got {input_type} instead.")


def dispatch(functional, inpt, *args, **kwargs):
    """Run the kernel of ``functional`` for ``inpt``."""
    return get_kernel(functional, type(inpt))(inpt, *args, **kwargs)
