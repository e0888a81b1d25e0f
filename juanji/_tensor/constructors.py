"""Arrays from data: what ``juanji.tensor``, ``as_tensor`` and ``from_numpy`` (defined in
juanji/tensor.py, beside the class they make) and torch's legacy constructors (``Tensor(2, 3)``,
``FloatTensor([1, 2])``, see ``_legacy_array``) put in a tensor; and the ``new_*`` methods, which
build a tensor of self's dtype (``_NewTensors``).

``tensor(data)`` always copies (``_copied_array``); ``as_tensor`` and ``from_numpy`` share a NumPy
array's memory where they can. Nested Python data takes torch's dtype: bool if every element is a
bool, int64 if they are integers, else the default float dtype (``_infer_np_dtype``).
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import _dtype as dt
from ..autograd.tensor_base import TensorBase
from ..backend import xp_for
from .arguments import _py_bool, _py_int, _sizes
from .size import Size

__all__ = ["LEGACY_TYPE_NAMES", "_legacy_array", "_array_from_data", "_copied_array", "_NewTensors"]

# torch's legacy tensor type names, per dtype (``x.type()``, juanji.FloatTensor, ...)
LEGACY_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                     "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
                     "uint8": "ByteTensor", "bool": "BoolTensor"}


def _infer_np_dtype(data):
    """The dtype torch.tensor would choose for nested Python data."""
    kinds = set()

    def walk(v):
        if isinstance(v, (list, tuple)):
            for e in v:
                walk(e)
        elif isinstance(v, TensorBase):
            kinds.add(v.dtype.category)
        elif isinstance(v, (_py_bool, np.bool_)):
            kinds.add(0)
        elif isinstance(v, (_py_int, np.integer)):
            kinds.add(1)
        else:
            kinds.add(2)
    walk(data)
    top = builtins.max(kinds) if kinds else 2
    return {0: np.bool_, 1: np.int64, 2: dt.get_default_dtype().np}[top]


def _array_from_data(data, dtype=None):
    if isinstance(data, TensorBase):
        arr = data._data
        return arr if dtype is None else arr.astype(dtype.np)
    if isinstance(data, np.ndarray) or hasattr(data, "__cuda_array_interface__"):
        if dtype is None:
            dt.from_numpy_dtype(data.dtype)  # refuse unsupported dtypes with torch's message
            return data
        return data.astype(dtype.np)
    if isinstance(data, np.generic):
        return np.asarray(data, dtype=None if dtype is None else dtype.np)
    np_dtype = dtype.np if dtype is not None else _infer_np_dtype(data)
    if isinstance(data, (list, tuple)) and any(isinstance(v, TensorBase) for v in data):
        data = [v.tolist() if isinstance(v, TensorBase) else v for v in data]
    try:
        return np.array(data, dtype=np_dtype)
    except ValueError as e:
        raise ValueError(f"tensor(): could not build a tensor from the data ({e})") from None


def _legacy_array(name, dtype: dt.dtype, args):
    """The array of torch's legacy constructors ``Tensor(...)``, ``FloatTensor(...)``, ``LongTensor(...)``:

    - no argument: an empty 1-D tensor;
    - ints, or one ``Size``: a tensor of that shape (uninitialised in torch; zeros here, as ``empty``);
    - a sequence or NumPy array: its values converted to ``dtype`` (an array already of ``dtype``
      is shared, not copied);
    - a Tensor of ``dtype``: its memory (another dtype is torch's TypeError).
    """
    if len(args) == 1 and (isinstance(args[0], _py_bool) or not isinstance(args[0], (_py_int, np.integer, Size))):
        data = args[0]
        if isinstance(data, TensorBase):
            if data.dtype is not dtype:
                raise TypeError(f"{name}(): expected a tensor of dtype {dtype} (got one of dtype {data.dtype}); "
                                f"convert it with .to({dtype})")
            return data._data
        if isinstance(data, np.ndarray):
            return data if data.dtype == dtype.np else _array_from_data(data, dtype)
        if not isinstance(data, (list, tuple, range)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        try:
            return _array_from_data(list(data) if isinstance(data, range) else data, dtype)
        except OverflowError:
            raise RuntimeError(f"{name}(): value cannot be converted to type {dtype.name} without overflow") from None
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, (_py_int, np.integer)) or isinstance(a, _py_bool):
            got = ", ".join(type(a).__name__ for a in args)
            raise TypeError(f"new() received an invalid combination of arguments - got ({got}), but expected one "
                            "of: (), (tuple of ints size), (object data)")
    shape = tuple(_py_int(a) for a in args) if args else (0,)
    for n in shape:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(shape)}")
    return np.zeros(shape, dtype.np)


def _copied_array(data, dtype=None, device=None):
    """The array of ``juanji.tensor(data, dtype, device)``: a new one, never ``data``'s own memory."""
    d = dt.to_dtype(dtype) if dtype is not None else None
    arr = _array_from_data(data, d)
    if isinstance(data, (np.ndarray, TensorBase)) and arr is (data._data if isinstance(data, TensorBase) else data):
        arr = arr.copy()
    if device is not None and xp_for(device) is not np:
        arr = xp_for(device).asarray(arr)
    return arr


class _NewTensors:
    """Tensor methods that build a new tensor with self's dtype (unless ``dtype=`` is given)."""

    def new_tensor(self, data, dtype=None, requires_grad=False):
        """A copy of ``data`` as a new tensor (of self's dtype unless ``dtype`` is given)."""
        t = self._from_array(_copied_array(data, dtype or self.dtype))
        if requires_grad:
            t.requires_grad_(True)
        return t

    def new_zeros(self, *size, dtype=None):
        return self._from_array(np.zeros(_sizes(size), (dtype or self.dtype).np))

    def new_ones(self, *size, dtype=None):
        return self._from_array(np.ones(_sizes(size), (dtype or self.dtype).np))

    def new_full(self, size, fill_value, dtype=None):
        return self._from_array(np.full(_sizes((size,)), fill_value, (dtype or self.dtype).np))

    def new_empty(self, *size, dtype=None):
        return self._from_array(np.empty(_sizes(size), (dtype or self.dtype).np))
