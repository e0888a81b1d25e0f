"""torchvision.tv_tensors for juanji: Tensor subclasses that tell the v2 transforms what a tensor is.

    img = Image(pil_or_tensor)                      # [..., C, H, W]; a 2-d input gets C = 1
    mask = Mask(labels)                             # [..., H, W] (class ids or 0/1 per object)
    boxes = BoundingBoxes([[10, 20, 40, 60]], format="XYXY", canvas_size=(H, W))
    img, mask, boxes = transforms.v2.RandomRotation(30)(img, mask, boxes)

A v2 transform draws its random parameters once per call and applies them to every input by
type: geometric transforms move images (chosen interpolation), masks (always nearest: class
ids must not be blended) and boxes (their corners) alike; colour transforms change images only.

Arithmetic on a TVTensor gives a plain Tensor (``img + 1``, ``img[0]``, ``img.float()``): juanji's
ops always build plain Tensors, which is torchvision's rule too (the type says what the data *is*,
and after arbitrary arithmetic nobody knows). ``clone``, ``to``, ``detach`` and ``requires_grad_``
keep the type, as in torchvision; :func:`wrap` puts a result back into the type of another.
"""

from __future__ import annotations

from enum import Enum

import numpy as np
from PIL import Image as _PILImage

from ..tensor import Tensor, as_tensor

__all__ = ["TVTensor", "Image", "Video", "Mask", "BoundingBoxes", "BoundingBoxFormat", "KeyPoints", "wrap",
           "is_rotated_bounding_format"]


class TVTensor(Tensor):
    """The base of the tv_tensors: a juanji Tensor whose class names what the data is."""

    _metadata: tuple[str, ...] = ()  # attributes that wrap() and pickling carry over

    @staticmethod
    def _to_tensor(data, dtype=None, device=None, requires_grad=None) -> Tensor:
        if requires_grad is None:
            requires_grad = data.requires_grad if isinstance(data, Tensor) else False
        tensor = as_tensor(data, dtype=dtype, device=device)
        if device is not None:
            tensor = tensor.to(device)
        return tensor.requires_grad_(requires_grad) if requires_grad else tensor

    @classmethod
    def _adopt(cls, tensor: Tensor, **metadata) -> "TVTensor":
        """A ``cls`` instance on ``tensor``'s array, with its autograd state (graph, grad) and ``metadata``."""
        out = Tensor.__new__(cls)  # not cls.__new__: the subclasses' __new__ builds from data
        out.__dict__.update(tensor.__dict__)
        for name, value in metadata.items():
            setattr(out, name, value)
        return out

    @classmethod
    def wrap(cls, tensor: Tensor, like: "TVTensor", **kwargs) -> "TVTensor":
        """``tensor`` as a ``cls``, with ``like``'s metadata (overridden by ``kwargs``)."""
        metadata = {name: kwargs.get(name, getattr(like, name)) for name in cls._metadata}
        return cls._adopt(tensor, **metadata)

    def _metadata_values(self) -> dict:
        return {name: getattr(self, name) for name in self._metadata}

    # ------------------------------------------------------------ the methods that keep the type
    def clone(self, memory_format=None):
        return type(self)._adopt(super().clone(), **self._metadata_values())

    def to(self, *args, **kwargs):
        out = super().to(*args, **kwargs)
        return out if out is self else type(self)._adopt(out, **self._metadata_values())

    def detach(self):
        return type(self)._adopt(super().detach(), **self._metadata_values())

    def __reduce__(self):
        return (_rebuild_tv_tensor, (type(self), self._host(), self.requires_grad, self._metadata_values()))

    def __deepcopy__(self, memo):
        out = type(self)._adopt(super().__deepcopy__(memo), **self._metadata_values())
        memo[id(self)] = out
        return out

    def _metadata_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        # torchvision's form: the tensor's repr under the class name, then the metadata
        text = super().__repr__()
        body = type(self).__name__ + text[len("tensor"):] if text.startswith("tensor") else text
        extra = self._metadata_repr()
        return body[:-1] + ", " + extra + ")" if extra else body

    __str__ = __repr__


def _rebuild_tv_tensor(cls, arr, requires_grad, metadata):
    """What unpickling a TVTensor calls (see ``TVTensor.__reduce__``)."""
    return cls._adopt(Tensor._from_array(arr, requires_grad), **metadata)


def _pil_to_tensor(picture) -> Tensor:
    arr = np.asarray(picture)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return Tensor._from_array(np.ascontiguousarray(arr.transpose(2, 0, 1)))


class Image(TVTensor):
    """An image ``[..., C, H, W]`` (float in [0, 1] or integer in [0, max]); a PIL image is read as
    uint8 CHW (``pil_to_tensor``), a 2-d tensor gets one channel."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        if isinstance(data, _PILImage.Image):
            data = _pil_to_tensor(data)
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 2:
            raise ValueError(f"Image: tensor must be 2D or higher, got {tensor.ndim}D tensor.")
        if tensor.ndim == 2:
            tensor = tensor.unsqueeze(0)
        return cls._adopt(tensor)

    def __init__(self, *args, **kwargs):  # everything happens in __new__ (Tensor's legacy __init__ must not run)
        pass


class Video(TVTensor):
    """A video ``[..., T, C, H, W]``: every frame is transformed like an image, with the same parameters."""

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if tensor.ndim < 4:
            raise ValueError(f"Video: tensor must be 4D or higher, got {tensor.ndim}D tensor.")
        return cls._adopt(tensor)

    def __init__(self, *args, **kwargs):
        pass


class Mask(TVTensor):
    """A segmentation or detection mask ``[..., H, W]``: class ids, or one 0/1 plane per object.

    Geometric transforms resample it with nearest interpolation (labels are never blended) and
    fill uncovered pixels with 0; colour transforms leave it alone.
    """

    def __new__(cls, data, *, dtype=None, device=None, requires_grad=None):
        if isinstance(data, _PILImage.Image):
            data = _pil_to_tensor(data)
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._adopt(tensor)

    def __init__(self, *args, **kwargs):
        pass


class BoundingBoxFormat(Enum):
    """How the four numbers of a box are laid out.

    XYXY: (x1, y1, x2, y2), the top-left and bottom-right corners. XYWH: (x1, y1, w, h).
    CXCYWH: (cx, cy, w, h), the centre and size. The rotated formats (XYWHR, CXCYWHR, XYXYXYXY)
    are named for torchvision compatibility but juanji's transforms do not take them.
    """

    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"
    XYWHR = "XYWHR"
    CXCYWHR = "CXCYWHR"
    XYXYXYXY = "XYXYXYXY"


def is_rotated_bounding_format(format) -> bool:
    if isinstance(format, BoundingBoxFormat):
        return format.value in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    if isinstance(format, str):
        return format in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")


def _box_format(format) -> BoundingBoxFormat:
    if isinstance(format, str):
        try:
            format = BoundingBoxFormat[format.upper()]
        except KeyError:
            raise ValueError(f"BoundingBoxes: unknown format {format!r}; expected one of "
                             f"{[f.value for f in BoundingBoxFormat]}") from None
    if not isinstance(format, BoundingBoxFormat):
        raise TypeError(f"BoundingBoxes: format should be a BoundingBoxFormat or str, got {type(format).__name__}")
    return format


class BoundingBoxes(TVTensor):
    """Boxes ``[N, 4]`` on an image of ``canvas_size = (H, W)``, in ``format`` (XYXY, XYWH, CXCYWH).

    ``clamping_mode``: "soft" (default) or "hard" clamp transformed boxes to the canvas (the same
    for axis-aligned boxes), None leaves them as computed.
    """

    _metadata = ("format", "canvas_size", "clamping_mode")

    def __new__(cls, data, *, format, canvas_size, clamping_mode="soft", dtype=None, device=None,
                requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._wrap(tensor, format=format, canvas_size=canvas_size, clamping_mode=clamping_mode)

    def __init__(self, *args, **kwargs):
        pass

    @classmethod
    def _wrap(cls, tensor, *, format, canvas_size, clamping_mode="soft", check_dims=True):
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.ndim != 2:
                raise ValueError(f"BoundingBoxes: expected a 1D or 2D tensor, got {tensor.ndim}D")
        if clamping_mode is not None and clamping_mode not in ("hard", "soft"):
            raise ValueError(f"clamping_mode must be None, hard or soft, got {clamping_mode}.")
        format = _box_format(format)
        canvas_size = tuple(int(s) for s in canvas_size)
        if len(canvas_size) != 2:
            raise ValueError(f"BoundingBoxes: canvas_size should be (height, width), got {canvas_size}")
        return cls._adopt(tensor, format=format, canvas_size=canvas_size, clamping_mode=clamping_mode)

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return cls._wrap(tensor, format=kwargs.get("format", like.format),
                         canvas_size=kwargs.get("canvas_size", like.canvas_size),
                         clamping_mode=kwargs.get("clamping_mode", like.clamping_mode), check_dims=False)

    def _metadata_repr(self) -> str:
        return f"format={self.format}, canvas_size={self.canvas_size}, clamping_mode={self.clamping_mode}"


class KeyPoints(TVTensor):
    """Points ``[..., 2]`` (x, y in pixels) on an image of ``canvas_size = (H, W)``: landmarks, polygons
    ``[N, K, 2]``, skeletons. Geometric transforms move them like the image's pixels (pixel indices:
    a horizontal flip maps x to W - 1 - x); they are not clamped (``ClampKeyPoints`` does that)."""

    _metadata = ("canvas_size",)

    def __new__(cls, data, *, canvas_size, dtype=None, device=None, requires_grad=None):
        tensor = cls._to_tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        return cls._wrap(tensor, canvas_size=canvas_size)

    def __init__(self, *args, **kwargs):
        pass

    @classmethod
    def _wrap(cls, tensor, *, canvas_size, check_dims=True):
        if check_dims:
            if tensor.ndim == 1:
                tensor = tensor.unsqueeze(0)
            elif tensor.shape[-1] != 2:
                raise ValueError(f"KeyPoints: expected a tensor of shape (..., 2), not {list(tensor.shape)}")
        canvas_size = tuple(int(s) for s in canvas_size)
        if len(canvas_size) != 2:
            raise ValueError(f"KeyPoints: canvas_size should be (height, width), got {canvas_size}")
        return cls._adopt(tensor, canvas_size=canvas_size)

    @classmethod
    def wrap(cls, tensor, like, **kwargs):
        return cls._wrap(tensor, canvas_size=kwargs.get("canvas_size", like.canvas_size), check_dims=False)

    def _metadata_repr(self) -> str:
        return f"canvas_size={self.canvas_size}"


def wrap(wrappee, *, like, **kwargs):
    """``wrappee`` (a Tensor) as the TVTensor type of ``like``, with its metadata (``kwargs`` override it)."""
    return type(like).wrap(wrappee, like, **kwargs)
