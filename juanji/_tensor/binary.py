"""Two operands: what ``a + b``, ``a < b`` and ``torch.add(a, b)`` do around the arithmetic.

- ``_to_operand``: NumPy arrays and nested lists become Tensors (made like the other operand);
  Tensors and Python numbers pass;
- ``_promote_pair``: both operands cast to torch's result dtype (a Python number does not widen a
  float tensor; a Python int out of an integer dtype's range wraps around, ``_wrap_integer``);
- ``_binary(op, a, b, name)``: promote, apply the Op, and turn NumPy's broadcasting failure into
  torch's error naming both shapes (``_broadcast_error``); ``_compare``: the same for comparisons,
  which record no graph;
- ``_arr``: a Tensor's array, or the value itself (the operands of the bitwise and logical ops).
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import _dtype as dt
from ..autograd.tensor_base import TensorBase
from .arguments import _py_bool, _py_float, _py_int
from .constructors import _array_from_data

__all__ = ["_binary", "_compare", "_promote_pair", "_to_operand", "_broadcast_error", "_wrap_integer", "_arr"]

# what _to_operand passes through as is: Tensors and Python / NumPy numbers
_OPERANDS = (TensorBase, _py_int, _py_float, _py_bool, np.generic)


def _broadcast_error(a, b, name, skip_last=0):
    """torch's broadcasting error, naming both shapes. ``skip_last`` trailing dims are not
    broadcast (matmul's matrix dims) and are left out of the search."""
    sa = list(getattr(a, "shape", ()))
    sb = list(getattr(b, "shape", ()))
    ba = sa[:len(sa) - skip_last] if skip_last else sa
    bb = sb[:len(sb) - skip_last] if skip_last else sb
    for i in range(1, builtins.max(len(ba), len(bb)) + 1):
        x = ba[-i] if i <= len(ba) else 1
        y = bb[-i] if i <= len(bb) else 1
        if x != y and x != 1 and y != 1:
            d = builtins.max(len(ba), len(bb)) - i
            return RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                                f"dimension {d} ({name}: shapes {sa} and {sb})")
    return RuntimeError(f"{name}: shapes {sa} and {sb} cannot be broadcast together")


def _promote_pair(a, b, true_div=False):
    """Cast operands to PyTorch's result dtype. ``a`` is a Tensor; ``b`` a Tensor or scalar."""
    if isinstance(b, TensorBase):
        da, db = a.dtype, b.dtype
        if da is db:
            rt = da
        else:
            rt = dt.result_type(a, b)
            if da is not rt:
                a = a._cast(rt)
            if db is not rt:
                b = b._cast(rt)
    else:
        cls = b.__class__
        if (cls is _py_float or cls is _py_int) and a._data.dtype.kind == "f":
            return a, b  # the common case: a float tensor and a Python number keep the tensor's dtype
        if isinstance(b, np.generic):
            b = b.item()
        rt = dt.result_type(a, b)
        if a.dtype is not rt:
            a = a._cast(rt)
        if rt.category == dt._INT and isinstance(b, _py_int) and not isinstance(b, _py_bool):
            b = _wrap_integer(b, rt)
    if true_div and not rt.is_floating_point:
        fd = dt.get_default_dtype()
        a = a._cast(fd)
        if isinstance(b, TensorBase):
            b = b._cast(fd)
    return a, b


def _wrap_integer(value: int, d: dt.dtype):
    """A Python int as a scalar of integer dtype ``d``, wrapping around like torch (uint8 - 2 = 254 + ...);
    NumPy 2 would refuse an out-of-range Python int instead."""
    info = np.iinfo(d.np)
    if info.min <= value <= info.max:
        return value
    return np.array(value, dtype=np.int64).astype(d.np)[()]


def _to_operand(x, like):
    """Turn NumPy arrays and nested lists into Tensors; keep Tensors and Python scalars.

    ``like`` (a tensor, or the Tensor class) makes the new tensor: ``like._from_array``."""
    if isinstance(x, _OPERANDS):
        return x
    if isinstance(x, np.ndarray):
        return like._from_array(x)
    return like._from_array(_array_from_data(x))  # what juanji.tensor(x) gives: a new array


def _binary(op, a, b, name, true_div=False, reverse=False, check=None):
    b = _to_operand(b, a)
    a, b = _promote_pair(a, b, true_div)
    if check is not None:
        check(b, a) if reverse else check(a, b)
    try:
        return op.apply(b, a) if reverse else op.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(a, b, name) from None
        raise


def _compare(a, b, ufunc, name):
    b = _to_operand(b, a)
    a, b = _promote_pair(a, b)
    bd = b._data if isinstance(b, TensorBase) else b
    try:
        return a._from_array(ufunc(a._data, bd))
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(a, b, name) from None
        raise


def _arr(x):
    return x._data if isinstance(x, TensorBase) else x
