"""torch's ``out=`` argument: ``torch.sinh(x, out=y)`` computes ``sinh(x)`` and writes it into ``y``.

The rules, as torch applies them:

- ``out`` must be a Tensor (a tuple of Tensors for functions returning several, such as
  ``torch.max(x, 0, out=(values, indices))``);
- no input may require grad while grad mode is on ("functions with out=... arguments don't
  support automatic differentiation"), and ``out`` receives plain values (no history);
- the result is cast to ``out``'s dtype if torch's casting rules allow it (a float result into an
  integer ``out`` is refused);
- an ``out`` of another shape is resized (with torch's deprecation warning when it held any
  elements); an ``out`` of the right shape is written in place, so its views see the values;
- the function returns ``out``.
"""

from __future__ import annotations

import functools
import inspect
import warnings

from . import _dtype as dt
from .autograd import recompute
from ._tensor.constructors import _copied_array
from .autograd.grad_mode import _state
from .autograd.tensor_base import TensorBase as Tensor  # generic: any juanji tensor

__all__ = ["supports_out", "write_out"]


def _requires_grad(value) -> bool:
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(_requires_grad(v) for v in value)
    return False


def write_out(result, out, name: str):
    """Write ``result`` (a Tensor, or a tuple of them) into ``out`` by torch's rules; return ``out``."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be tuple of {len(result)} Tensors, not "
                            f"{type(out).__name__}")
        for r, o in zip(result, out):
            write_out(r, o, name)
        return out if isinstance(out, tuple) else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not isinstance(result, Tensor):
        result = out._from_array(_copied_array(result))  # what juanji.tensor(result) gives
    if out.requires_grad and _state.enabled:
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    if result.dtype is not out.dtype and not dt.can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the desired output type "
                           f"{out.dtype.scalar_name}")
    values = result._data
    if tuple(values.shape) != tuple(out._data.shape):
        if out._data.size != 0:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out.shape)}, which does not match the required output shape {list(result.shape)}. "
                          "This behavior is deprecated, and in a future PyTorch release outputs will not be resized "
                          "unless they have zero elements. You can explicitly reuse an out tensor t by resizing it, "
                          "inplace, to zero elements with t.resize_(0).", UserWarning, stacklevel=3)
        out._data = values.astype(out._data.dtype, copy=True)
    else:
        recompute.forget(out._data)  # (written in place: a recipe no longer tells its values)
        out._data[...] = values
    return out


def supports_out(fn=None, *, name=None):
    """Decorator: give a torch function the ``out=`` keyword (see the module docstring)."""
    if fn is None:
        return lambda f: supports_out(f, name=name)
    shown = name or fn.__name__

    @functools.wraps(fn)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if _state.enabled and (_requires_grad(args) or _requires_grad(tuple(kwargs.values()))):
            raise RuntimeError(f"{shown}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        return write_out(fn(*args, **kwargs), out, shown)

    # the signature shows out= (help(), inspect, scripts/torch_namespace.py read it)
    try:
        signature = inspect.signature(fn)
        parameters = [p for p in signature.parameters.values() if p.name != "out"]
        keyword = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
        at = next((i for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_KEYWORD), len(parameters))
        parameters.insert(at, keyword)
        with_out.__signature__ = signature.replace(parameters=parameters)
    except (TypeError, ValueError):
        pass
    return with_out
