"""Tensors over existing memory, torch's way: ``asarray`` (shares when it can, copies when asked
or needed), ``frombuffer`` (a Python buffer's bytes), ``from_file`` (a binary file's bytes),
``from_dlpack`` (another library's array through the DLPack protocol), ``as_strided`` (a view with
given sizes and strides, in elements) and ``empty_strided``.
"""

from __future__ import annotations

import numpy as np

from . import _dtype as dt
from ._tensor.special import require_tensor
from .creation import zeros
from .tensor import Tensor, tensor

__all__ = ["asarray", "frombuffer", "from_file", "from_dlpack", "as_strided", "empty_strided"]


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """``obj`` (a Tensor, NumPy array, buffer, sequence or number) as a Tensor, sharing its memory
    when the dtype allows and ``copy`` is not True; ``copy=False`` refuses to copy."""
    d = dt.to_dtype(dtype) if dtype is not None else None
    if isinstance(obj, Tensor):
        if (d is None or d is obj.dtype) and not copy:
            result = obj
        elif copy is False:
            raise ValueError("can't alias tensor from a different dtype without copying")
        else:
            result = obj._cast(d or obj.dtype).clone() if copy else obj._cast(d)
        return result.requires_grad_(True) if requires_grad else result
    if isinstance(obj, np.ndarray):
        target = d.np if d is not None else obj.dtype
        if target == obj.dtype and not copy:
            arr = obj
        elif copy is False:
            raise ValueError("can't alias NumPy array from a different dtype without copying")
        else:
            arr = obj.astype(target, copy=True)
        result = Tensor._from_array(arr)
    elif copy is False and isinstance(obj, (bytes, bytearray, memoryview)):
        return frombuffer(obj, dtype=d or dt.get_default_dtype(), requires_grad=requires_grad)
    else:
        result = tensor(obj, dtype=d)
    return result.requires_grad_(True) if requires_grad else result


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor sharing the bytes of a Python buffer (``bytearray``, ``memoryview``, ``array``):
    ``count`` elements of ``dtype`` from byte ``offset`` (-1: to the end)."""
    d = dt.to_dtype(dtype)
    size = memoryview(buffer).nbytes
    item = np.dtype(d.np).itemsize
    if offset < 0 or offset >= size and size:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({size} bytes) minus 1")
    if count == -1:
        if (size - offset) % item:
            raise ValueError(f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a multiple "
                             f"of element size ({item})")
        count = (size - offset) // item
    elif count <= 0 or offset + count * item > size:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset ({offset} bytes) must not "
                         f"be greater than actual buffer length ({size} bytes)")
    arr = np.frombuffer(buffer, dtype=d.np, count=count, offset=offset)
    result = Tensor._from_array(arr)
    return result.requires_grad_(True) if requires_grad else result


def from_file(filename, shared=None, size=0, *, dtype=None, layout=None, device=None, pin_memory=False,
              requires_grad=False):
    """The first ``size`` elements of ``dtype`` stored in a binary file (a copy; ``shared=True``
    maps the file so that writes to the tensor reach it)."""
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    if shared:
        arr = np.memmap(filename, dtype=d.np, mode="r+", shape=(size,))
    else:
        arr = np.fromfile(filename, dtype=d.np, count=size)
        if arr.size < size:
            raise RuntimeError(f"from_file: the file {filename} holds {arr.size} elements of {d}, fewer than the "
                               f"{size} requested")
    result = Tensor._from_array(np.asarray(arr) if not shared else arr)
    return result.requires_grad_(True) if requires_grad else result


def from_dlpack(ext_tensor):
    """A tensor sharing the memory of any object with ``__dlpack__`` (a NumPy array, a torch tensor,
    another juanji tensor)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    return Tensor._from_array(np.from_dlpack(ext_tensor))


def as_strided(input, size, stride, storage_offset=0):
    """A view of input's elements with ``size``, ``stride`` (in elements) and ``storage_offset``."""
    require_tensor(input, "as_strided", "input", 1)
    return input.as_strided(size, stride, storage_offset)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A tensor of ``size`` (zeros; juanji's tensors are always laid out contiguously, so ``stride``
    only has to be valid)."""
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    return zeros(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)
