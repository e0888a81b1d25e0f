"""The Tensor: an n-dimensional array with reverse-mode automatic differentiation.

A Tensor wraps one NumPy (or CuPy) array in ``_data``. Every differentiable operation is an
``Op`` (see ``juanji/ops``); when any input requires grad, the result remembers the Op in
``grad_fn`` and ``backward()`` walks those Ops in reverse.

    >>> import juanji as torch
    >>> w = torch.tensor([2.0, -1.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> w.grad
    tensor([ 4., -2.])
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import warnings
import weakref
from collections import namedtuple

import numpy as np

from . import _dtype as dt
from .autograd.engine import run_backward
from .autograd.grad_mode import _state
from .backend import CPU, device as Device, xp_for, xp_of
from .ops import elementwise as E
from .ops import index as I
from .ops import linalg as L
from .ops import reduce as R
from .ops import shape as S

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "return_types", "numpy_aliases"]

_py_float, _py_int, _py_bool = builtins.float, builtins.int, builtins.bool
_SCALARS = (_py_int, _py_float, _py_bool)

# torch names a node after the overload that made it (see juanji/autograd/function.py): these
# elementwise Ops compute several overloads, told apart here by the methods that call them
_RSUB = E.Sub.variant("RsubBackward1")                      # 4.2 - x
_POW_TENSOR_EXPONENT = E.Pow.variant("PowBackward1")        # x ** y
_POW_SCALAR_BASE = E.Pow.variant("PowBackward2")            # 2 ** x
_SQUARE = E.Mul.variant("PowBackward0")                     # x ** 2 and x.square(), computed as x * x
_RECIPROCAL = E.Div.variant("ReciprocalBackward0")          # x.reciprocal(), computed as 1 / x
_REMAINDER_TENSOR = E.Remainder.variant("RemainderBackward1")
_TO_COPY = E.Cast.variant("ToCopyBackward0")                # x.double(), x.to(dtype)
_LOG1P = E.Log1p.variant("Log1PBackward0")
_CLAMP = E.Clamp.variant("ClampBackward1")                  # clamp with number bounds
_CLAMP_MIN = E.Clamp.variant("ClampMinBackward0")
_CLAMP_MAX = E.Clamp.variant("ClampMaxBackward0")
_PIECEWISE_CONSTANT = {name: E.ZeroGrad.variant(f"{name}Backward0")   # sign, floor, ...: zero gradients
                       for name in ("Sign", "Sgn", "Floor", "Ceil", "Trunc", "Round")}
_FILL = E.ZeroGrad.variant("FillBackward2")                 # in-place writes that forget the old value
_ZERO = E.ZeroGrad.variant("ZeroBackward0")
_COPY_CONSTANT = E.ZeroGrad.variant("CopyBackwards")
_COPY_TENSOR = E.Where.variant("CopyBackwards")             # copy_ of a tensor that requires grad
_RDIV = E.Div.variant("MulBackward0")                       # 2 / x: torch multiplies by the reciprocal
# methods computed from others here, whose last node takes the method's name as in torch
_EXPM1 = E.Sub.variant("Expm1Backward0")                    # exp(x) - 1
_LOG2 = E.Div.variant("Log2Backward0")                      # log(x) / log(2)
_LOG10 = E.Div.variant("Log10Backward0")
_TAN = E.Div.variant("TanBackward0")                        # sin(x) / cos(x)
_FRAC = E.Sub.variant("FracBackward0")                      # x - trunc(x)
_LERP = E.Add.variant("LerpBackward0")                      # x + (end - x) * weight
_SORT = I.Gather.variant("SortBackward0")                   # the values: x gathered at the sorted indices
_TOPK = I.Gather.variant("TopkBackward0")
_SPLIT = I.GetItem.variant("SplitBackward0")
_SPLIT_WITH_SIZES = I.GetItem.variant("SplitWithSizesBackward0")
_UNBIND = I.GetItem.variant("UnbindBackward0")


class return_types:
    """Named results like torch.return_types: ``values, indices = x.max(1)``."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])


def _dim(d, ndim: int) -> int:
    """Normalise a possibly negative dim, with torch's IndexError when out of range."""
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not (lo <= d <= hi):
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})")
    return d % ndim if ndim > 0 else 0


def _dims(dim, ndim: int):
    """dim argument (None, int, tuple or list) -> sorted tuple of non-negative dims, or None for all.

    A 0-d tensor accepts dim 0 or -1 and has nothing to reduce over: that gives ``()``.
    """
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        dims = [_dim(d, ndim) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    else:
        dims = [_dim(dim, ndim)]
    if ndim == 0:
        return ()
    return tuple(sorted(dims))


# NumPy's spellings that torch's argument parser accepts for its own argument names
_NUMPY_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def numpy_aliases(fn=None, *, name=None):
    """Decorator: let ``fn`` take NumPy's ``axis=`` for ``dim`` and ``keepdims=`` for ``keepdim``,
    as torch's argument parser does (``x.sum(axis=0, keepdims=True)``, ``torch.cat(xs, axis=1)``).

    Only the aliases of parameters ``fn`` has are accepted (``cumsum`` has no ``keepdim``). Giving
    a parameter twice, e.g. ``x.sum(0, axis=1)`` or ``dim=0, axis=1``, is torch's TypeError
    ``sum() got an unexpected keyword argument 'axis'``. ``name`` is the function's name in that
    message (``fn.__name__`` by default).

    Reductions are hot paths: the wrapper is one extra call (about 70 ns on a ~3 us ``x.sum()``),
    and it looks at the keywords only when there are some.
    """
    if fn is None:
        return lambda f: numpy_aliases(f, name=name)
    shown = name or fn.__name__
    parameters = list(inspect.signature(fn).parameters.values())
    renames = {}  # alias -> (the real name, its position when it can also be passed positionally)
    for alias, real in _NUMPY_ALIASES:
        for position, p in enumerate(parameters):
            if p.name == real:
                positional = p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                renames[alias] = (real, position if positional else len(parameters) + 1)

    @functools.wraps(fn)
    def accepting_numpy_aliases(*args, **kwargs):
        if not kwargs:  # the common call, x.sum() or x.sum(1): straight through
            return fn(*args)
        if "axis" in kwargs or "keepdims" in kwargs:
            for alias, (real, position) in renames.items():
                if alias in kwargs:
                    if real in kwargs or len(args) > position:
                        raise TypeError(f"{shown}() got an unexpected keyword argument '{alias}'")
                    kwargs[real] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    if name is not None:
        accepting_numpy_aliases.__name__ = accepting_numpy_aliases.__qualname__ = name
    return accepting_numpy_aliases


def _sizes(args) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` (and torch.Size)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    plain = True
    for a in args:
        if a.__class__ is not _py_int:
            plain = False
            break
    if plain:  # the common case: plain Python ints
        return tuple(args)
    out = []
    for a in args:
        if isinstance(a, Tensor):
            a = a.item()
        if not isinstance(a, (_py_int, np.integer)) or isinstance(a, _py_bool):
            raise TypeError(f"expected a sequence of integers for the size, got {args!r}")
        out.append(int(a))
    return tuple(out)


# torch's legacy tensor type names, per dtype (``x.type()``, juanji.FloatTensor, ...)
LEGACY_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                     "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
                     "uint8": "ByteTensor", "bool": "BoolTensor"}

_tuple_item = tuple.__getitem__


class Size(tuple):
    """torch.Size: a tuple of ints that prints as ``juanji.Size([2, 3])``.

    Arithmetic and slicing stay Sizes, as in torch: ``(1, 1) + x.shape``, ``x.shape + (1,)``,
    ``x.shape[1:]`` and ``x.shape * 2`` are Sizes; indexing one entry gives an int.

    There is no ``__new__`` checking the entries: ``x.shape`` builds a Size on every call, and
    tuple's own constructor keeps that cheap.
    """

    def __repr__(self):
        return f"juanji.Size({list(self)})"

    def __getitem__(self, index):
        if index.__class__ is slice:
            return Size(_tuple_item(self, index))
        return _tuple_item(self, index)

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to juanji.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, times):
        return Size(tuple.__mul__(self, times))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


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
    if b.__class__ is Tensor or isinstance(b, Tensor):
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
        if isinstance(b, Tensor):
            b = b._cast(fd)
    return a, b


def _wrap_integer(value: int, d: dt.dtype):
    """A Python int as a scalar of integer dtype ``d``, wrapping around like torch (uint8 - 2 = 254 + ...);
    NumPy 2 would refuse an out-of-range Python int instead."""
    info = np.iinfo(d.np)
    if info.min <= value <= info.max:
        return value
    return np.array(value, dtype=np.int64).astype(d.np)[()]


def _to_operand(x):
    """Turn NumPy arrays and nested lists into Tensors; keep Tensors and Python scalars."""
    if x.__class__ is Tensor or isinstance(x, _OPERANDS):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._from_array(x)
    return tensor(x)


def _binary(op, a, b, name, true_div=False, reverse=False, check=None):
    b = _to_operand(b)
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
    b = _to_operand(b)
    a, b = _promote_pair(a, b)
    bd = b._data if isinstance(b, Tensor) else b
    try:
        return Tensor._from_array(ufunc(a._data, bd))
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(a, b, name) from None
        raise


# C type names torch uses in its matmul dtype message
_C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                 "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _product(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _check_matmul(a, b) -> None:
    """torch's matmul checks, in torch's words, with both shapes added."""
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    k = sa[-1]
    k2 = sb[0] if len(sb) == 1 else sb[-2]
    if k == k2 and a._data.dtype == b._data.dtype:
        return
    shapes = f"(matmul: shapes {list(sa)} and {list(sb)})"
    if k != k2:
        if a.ndim == 1 and b.ndim == 1:
            message = (f"inconsistent tensor size, expected tensor [{k}] and src [{k2}] to have the same number of "
                       f"elements, but got {k} and {k2} elements respectively")
        elif b.ndim == 1:
            rows = _product(a.shape[:-1])
            message = f"size mismatch, got input ({rows}), mat ({rows}x{k}), vec ({k2})"
        elif b.ndim == 2:
            message = f"mat1 and mat2 shapes cannot be multiplied ({_product(a.shape[:-1])}x{k} and {k2}x{b.shape[-1]})"
        else:
            batch = _product(b.shape[:-2])
            message = (f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k}] but got: "
                       f"[{batch}, {k2}].")
        raise RuntimeError(f"{message} {shapes}")
    if a.dtype is not b.dtype:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {a.dtype.scalar_name} and "
                               f"{b.dtype.scalar_name}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C_TYPE_NAMES[a.dtype.name]} != "
                           f"{_C_TYPE_NAMES[b.dtype.name]}")


def _check_integer_division(a, b, name):
    """torch refuses integer division by zero (NumPy would warn and return 0) and bool operands."""
    dtype = a.dtype if isinstance(a, Tensor) else b.dtype
    if dtype is dt.bool:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    if dtype.is_floating_point:
        return
    divisor = b._data if isinstance(b, Tensor) else b
    if (divisor == 0).any() if hasattr(divisor, "any") else divisor == 0:
        raise RuntimeError("ZeroDivisionError")


def _check_pow(base, exponent):
    dtype = base.dtype if isinstance(base, Tensor) else exponent.dtype
    if dtype is dt.bool:
        raise NotImplementedError('"pow" not implemented for \'Bool\'')
    if dtype.is_floating_point:
        return
    e = exponent._data if isinstance(exponent, Tensor) else exponent
    if (e < 0).any() if hasattr(e, "any") else e < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _check_remainder(a, b):
    _check_integer_division(a, b, "remainder")


def _write(arr, index, value) -> None:
    """``arr[index] = value`` with torch's error for tensors whose elements share memory."""
    try:
        arr[index] = value
    except ValueError as e:
        if "read-only" in str(e):
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                               "a single memory location. Please clone() the tensor before performing the "
                               "operation.") from None
        raise


def _index_error(e, index, t) -> IndexError:
    """NumPy's indexing errors in torch's words."""
    msg = str(e)
    if "too many indices" in msg:
        return IndexError(f"too many indices for tensor of dimension {t.ndim}")
    if "boolean index did not match" in msg:
        parts = index if isinstance(index, tuple) else (index,)
        position = 0
        for part in parts:
            if hasattr(part, "dtype") and part.dtype == np.bool_:
                shape = list(part.shape)
                return IndexError(f"The shape of the mask {shape} at index {position} does not match the shape of "
                                  f"the indexed tensor {list(t.shape)} at index {position}")
            position += 1 if part is not None else 0
    if "only integers, slices" in msg:
        bad = next((type(p).__name__ for p in (index if isinstance(index, tuple) else (index,))
                    if isinstance(p, _py_float)), "an unsupported type")
        return IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                          f"indices (got {bad})")
    if "arrays used as indices must be of integer" in msg:
        return IndexError("tensors used as indices must be long, int, byte or bool tensors")
    msg = msg.replace("for axis", "for dimension").replace("indexing arrays", "indexing tensors")
    return IndexError(msg)


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays (NumPy handles the rest)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


class Tensor:
    """juanji.Tensor; build one with ``juanji.tensor(data)`` or the creation functions."""

    __array_priority__ = 1000  # so that ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, *args, dtype=None, device=None):
        """torch's legacy constructor: ``Tensor(data)`` or ``Tensor(2, 3)`` (see ``_legacy_array``)."""
        arr = _legacy_array("Tensor", dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype(), args)
        if device is not None and xp_for(device) is not np:
            arr = xp_for(device).asarray(arr)
        self._data = arr
        self.requires_grad = False
        self.grad = None
        self.grad_fn = None

    @staticmethod
    def _from_array(arr, requires_grad=False) -> "Tensor":
        """Wrap an array without copying (the one way every op makes its result)."""
        if arr.__class__ is not np.ndarray and isinstance(arr, np.generic):
            arr = np.asarray(arr)  # NumPy reductions of 0-d data return scalars; a Tensor holds an array
        t = Tensor.__new__(Tensor)
        t._data = arr
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = None
        return t

    # ---------------------------------------------------------------- attributes
    @property
    def dtype(self) -> dt.dtype:
        return dt._FROM_NP[self._data.dtype]

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @numpy_aliases
    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def device(self) -> Device:
        return CPU if xp_of(self._data) is np else Device("cuda", 0)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> "Tensor":
        """The same storage without autograd history (``w.data[:] -= lr * w.grad``)."""
        return Tensor._from_array(self._data)

    @data.setter
    def data(self, value: "Tensor"):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    @numpy_aliases
    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_dim(dim, self.ndim)]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0] if xp_of(self._data) is np else int(self._data.data.ptr)

    # ---------------------------------------------------------------- conversion
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item() if xp_of(self._data) is np else self._data.item()

    def tolist(self):
        return self._host().tolist()

    def _host(self):
        return self._data if xp_of(self._data) is np else self._data.get()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if xp_of(self._data) is not np:
            raise TypeError("can't convert cuda tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        return arr if dtype is None else arr.astype(dtype)

    def _cast(self, d: dt.dtype) -> "Tensor":
        """Differentiable dtype conversion (float to float keeps the gradient)."""
        if self.dtype is d:
            return self
        if self.requires_grad and d.is_floating_point and _state.enabled:
            return _TO_COPY.apply(self, d.np)
        return Tensor._from_array(self._data.astype(d.np))

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; copy=False returns self if unchanged."""
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, dt.dtype) or a in (_py_float, _py_int, _py_bool):
                dtype = dt.to_dtype(a)
            elif a is not None:
                device = a
        out = self
        if device is not None:
            target = xp_for(device)
            if target is not xp_of(self._data):
                arr = target.asarray(self._data) if target is not np else self._data.get()
                out = Tensor._from_array(arr, requires_grad=self.requires_grad)
        if dtype is not None:
            out = out._cast(dt.to_dtype(dtype))
        if kwargs.get("copy") and out is self:
            out = self.clone()
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self._cast(dt.float32)

    def double(self) -> "Tensor":
        return self._cast(dt.float64)

    def half(self) -> "Tensor":
        return self._cast(dt.float16)

    def long(self) -> "Tensor":
        return self._cast(dt.int64)

    def int(self) -> "Tensor":
        return self._cast(dt.int32)

    def short(self) -> "Tensor":
        return self._cast(dt.int16)

    def byte(self) -> "Tensor":
        return self._cast(dt.uint8)

    def bool(self) -> "Tensor":
        return self._cast(dt.bool)

    def type(self, dtype=None):
        """``x.type()`` is the legacy type name (``'juanji.FloatTensor'``); ``x.type(juanji.LongTensor)``,
        ``x.type('torch.LongTensor')`` or ``x.type(juanji.int64)`` converts."""
        if dtype is None:
            return "juanji." + LEGACY_TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            by_name = {v: k for k, v in LEGACY_TYPE_NAMES.items()}
            dtype = by_name[dtype.split(".")[-1]]
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), dt.dtype):
            dtype = dtype.dtype  # juanji.LongTensor and friends
        return self._cast(dt.to_dtype(dtype))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self._cast(other.dtype)

    # ---------------------------------------------------------------- autograd
    def detach(self) -> "Tensor":
        return Tensor._from_array(self._data)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self, memory_format=None) -> "Tensor":
        if self.requires_grad and _state.enabled:
            return S.Clone.apply(self, self._data.shape)._own()
        return Tensor._from_array(self._data.copy())

    def _own(self) -> "Tensor":
        """Give this (fresh, non-leaf) tensor its own memory."""
        self._data = self._data.copy()
        return self

    def contiguous(self, memory_format=None) -> "Tensor":
        if self._data.flags.c_contiguous:
            return self
        return self.clone()

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn._retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.__dict__.get("_retained") is not None

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        holder = self.grad_fn if self.grad_fn is not None else self
        hooks = holder.__dict__.setdefault("_hooks", [])
        hooks.append(hook)

        class _Handle:
            def remove(self_inner):
                if hook in hooks:
                    hooks.remove(hook)
        return _Handle()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): higher-order gradients are not supported by "
                                      "juanji (the backward pass records no graph)")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs "
                                   f"(this tensor has shape {list(self.shape)}; pass gradient=...)")
            g = xp_of(self._data).ones(self._data.shape, self._data.dtype)
        else:
            g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient, self._data.dtype)
            if g.shape != self._data.shape:
                raise RuntimeError(f"backward: gradient has shape {list(g.shape)} but the tensor has shape "
                                   f"{list(self.shape)}")
        if inputs is not None:
            from .autograd import grad as _grad
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            grads = _grad([self], inputs, [Tensor._from_array(g)], retain_graph=retain_graph, allow_unused=True)
            for t, gi in zip(inputs, grads):
                if gi is not None:
                    t.grad = gi if t.grad is None else t.grad + gi
            return
        run_backward([self], [g], retain_graph=bool(retain_graph))

    # ---------------------------------------------------------------- printing
    def __repr__(self) -> str:
        """torch's layout: ``tensor([[ 4.,  6.],\\n        [ 8., 10.]], requires_grad=True)``."""
        return _tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    # ---------------------------------------------------------------- python protocol
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self):
        return _py_float(self.item())

    def __int__(self):
        return _py_int(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return _py_int(self.item())

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _binary(E.Add, self, other, "add")

    def __radd__(self, other):
        return _binary(E.Add, self, other, "add", reverse=True)

    def _refuse_bool_sub(self, other):
        if self.dtype is dt.bool or getattr(other, "dtype", None) is dt.bool or isinstance(other, (_py_bool, np.bool_)):
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                               "trying to invert a mask, use the `~` or `logical_not()` operator instead.")

    def __sub__(self, other):
        self._refuse_bool_sub(other)
        return _binary(E.Sub, self, other, "sub")

    def __rsub__(self, other):
        self._refuse_bool_sub(other)
        return _binary(_RSUB, self, other, "sub", reverse=True)

    def __mul__(self, other):
        return _binary(E.Mul, self, other, "mul")

    def __rmul__(self, other):
        return _binary(E.Mul, self, other, "mul", reverse=True)

    def __truediv__(self, other):
        return _binary(E.Div, self, other, "div", true_div=True)

    def __rtruediv__(self, other):
        return _binary(_RDIV, self, other, "div", true_div=True, reverse=True)

    def __floordiv__(self, other):
        return self.floor_divide(other)

    def __rfloordiv__(self, other):
        return self._floor_divide(other, reverse=True)

    def __mod__(self, other):
        op = _REMAINDER_TENSOR if isinstance(other, Tensor) else E.Remainder
        return _binary(op, self, other, "remainder", check=_check_remainder)

    def __rmod__(self, other):
        return _binary(_REMAINDER_TENSOR, self, other, "remainder", reverse=True, check=_check_remainder)

    def __pow__(self, other):
        if isinstance(other, _SCALARS) and not isinstance(other, _py_bool) and self.dtype.is_floating_point:
            if other == 2:
                return _SQUARE.apply(self, self)
            return E.Pow.apply(self, other)
        op = _POW_TENSOR_EXPONENT if isinstance(other, Tensor) else E.Pow
        return _binary(op, self, other, "pow", check=_check_pow)

    def __rpow__(self, other):
        return _binary(_POW_SCALAR_BASE, self, other, "pow", reverse=True, check=_check_pow)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _to_operand(other).matmul(self)

    def __neg__(self):
        if self.dtype is dt.bool:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __invert__(self):
        if self.dtype is dt.bool:
            return Tensor._from_array(~self._data)
        if self.dtype.is_floating_point:
            raise TypeError("~ (bitwise_not) is only supported on integer and bool tensors")
        return Tensor._from_array(~self._data)

    def __and__(self, other):
        return Tensor._from_array(self._data & _arr(other))

    def __or__(self, other):
        return Tensor._from_array(self._data | _arr(other))

    def __xor__(self, other):
        return Tensor._from_array(self._data ^ _arr(other))

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __eq__(self, other):
        if other is None:  # ``x == None`` is False in torch, not an error
            return False
        return _compare(self, other, np.equal if xp_of(self._data) is np else xp_of(self._data).equal, "eq")

    def __ne__(self, other):
        if other is None:
            return True
        return _compare(self, other, xp_of(self._data).not_equal, "ne")

    def __contains__(self, element) -> bool:
        """``value in t``: whether any element equals it."""
        return bool((self == element).any())

    def __lt__(self, other):
        return _compare(self, other, xp_of(self._data).less, "lt")

    def __le__(self, other):
        return _compare(self, other, xp_of(self._data).less_equal, "le")

    def __gt__(self, other):
        return _compare(self, other, xp_of(self._data).greater, "gt")

    def __ge__(self, other):
        return _compare(self, other, xp_of(self._data).greater_equal, "ge")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, rounding_mode=None):
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self.floor_divide(other)
        if rounding_mode == "trunc":
            q = self / other
            return q.trunc() if self.dtype.is_floating_point or getattr(other, "dtype", dt.int64).is_floating_point \
                or isinstance(other, _py_float) else q.trunc()._cast(dt.result_type(self, other))
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")

    divide = true_divide = div

    def floor_divide(self, other):
        return self._floor_divide(other)

    def _floor_divide(self, other, reverse=False):
        """a // b rounded toward minus infinity; not differentiable (torch has no derivative either)."""
        other = _to_operand(other)
        a, b = _promote_pair(self, other)
        if reverse:
            a, b = (b if isinstance(b, Tensor) else tensor(b, dtype=a.dtype)), a
        _check_integer_division(a, b, "div_floor")
        bd = b._data if isinstance(b, Tensor) else b
        try:
            return Tensor._from_array(xp_of(a._data).floor_divide(a._data, bd))
        except ValueError as e:
            if "broadcast" in str(e):
                raise _broadcast_error(a, b, "floor_divide") from None
            raise

    def remainder(self, other):
        return self % other

    def fmod(self, other):
        return Tensor._from_array(xp_of(self._data).fmod(self._data, _arr(other)))

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other) -> "Tensor":
        """Matrix product with torch's rules: 1-D operands are vectors (a row on the left, a column on
        the right, the added dim removed after), dims before the last two are batch dims and broadcast.
        Both operands must have the same dtype (torch does not promote here)."""
        other = _to_operand(other)
        _check_matmul(self, other)
        try:
            return L.MatMul.apply(self, other)
        except ValueError:
            raise _broadcast_error(self, other, "matmul", skip_last=2) from None

    def mm(self, mat2):
        """2-D matrix product."""
        if self.ndim != 2:
            raise RuntimeError(f"self must be a matrix (mm: got a {self.ndim}-D tensor {list(self.shape)})")
        if mat2.ndim != 2:
            raise RuntimeError(f"mat2 must be a matrix (mm: got a {mat2.ndim}-D tensor {list(mat2.shape)})")
        return self.matmul(mat2)

    def bmm(self, mat2):
        """Batched matrix product of [B, n, m] and [B, m, p] (no broadcasting)."""
        if self.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor (bmm: got {list(self.shape)})")
        if mat2.ndim != 3:
            raise RuntimeError(f"batch2 must be a 3D tensor (bmm: got {list(mat2.shape)})")
        b, _, k = self.shape
        if mat2.shape[0] != b or mat2.shape[1] != k:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: "
                               f"[{mat2.shape[0]}, {mat2.shape[1]}]. (bmm: shapes {list(self.shape)} and "
                               f"{list(mat2.shape)})")
        _check_matmul(self, mat2)
        return L.Bmm.apply(self, mat2)

    def mv(self, vec):
        """Matrix-vector product."""
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self.ndim}, {vec.ndim}")
        return self.matmul(vec)

    def dot(self, other):
        """Inner product of two 1-D tensors."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        return self.matmul(other)

    inner = dot

    def outer(self, vec2):
        """out[i, j] = self[i] * vec2[j]."""
        for name, v in (("self", self), ("vec2", vec2)):
            if v.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    # ---------------------------------------------------------------- unary math
    def _floating(self) -> "Tensor":
        return self if self.dtype.is_floating_point else self._cast(dt.get_default_dtype())

    def neg(self):
        return -self

    negative = neg

    def abs(self):
        self._not_for_bool("abs_cpu")
        return E.Abs.apply(self)

    absolute = abs

    def exp(self):
        return E.Exp.apply(self._floating())

    def log(self):
        return E.Log.apply(self._floating())

    def log1p(self):
        return _LOG1P.apply(self._floating())

    def log2(self):
        return _binary(_LOG2, self.log(), _py_float(np.log(2.0)), "log2", true_div=True)

    def log10(self):
        return _binary(_LOG10, self.log(), _py_float(np.log(10.0)), "log10", true_div=True)

    def expm1(self):
        return _binary(_EXPM1, self.exp(), 1, "expm1")

    def sqrt(self):
        return E.Sqrt.apply(self._floating())

    def rsqrt(self):
        return E.Rsqrt.apply(self._floating())

    def square(self):
        if self.dtype.is_floating_point:
            return _SQUARE.apply(self, self)
        return self * self

    def reciprocal(self):
        return _binary(_RECIPROCAL, self._floating(), 1.0, "reciprocal", true_div=True, reverse=True)

    def sin(self):
        return E.Sin.apply(self._floating())

    def cos(self):
        return E.Cos.apply(self._floating())

    def tan(self):
        return _binary(_TAN, self.sin(), self.cos(), "tan", true_div=True)

    def tanh(self):
        return E.Tanh.apply(self._floating())

    def sigmoid(self):
        return E.Sigmoid.apply(self._floating())

    def relu(self):
        if self.dtype is dt.bool:
            raise RuntimeError("Boolean inputs not supported for relu")
        return E.Relu.apply(self)

    def _not_for_bool(self, kernel):
        if self.dtype is dt.bool:
            raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')

    def _piecewise_constant(self, fn, name):
        """``fn`` of the values, with a zero gradient (sign, floor, ...: torch's ``{name}Backward0``)."""
        if self.requires_grad and _state.enabled:
            return _PIECEWISE_CONSTANT[name].apply(self, fn)
        return Tensor._from_array(fn(self._data))

    def sign(self):
        if self.dtype is dt.bool:
            return self.clone()
        return self._piecewise_constant(xp_of(self._data).sign, "Sign")

    def sgn(self):
        if self.dtype is dt.bool:
            return self.clone()
        return self._piecewise_constant(xp_of(self._data).sign, "Sgn")

    def floor(self):
        self._not_for_bool("floor_vml_cpu")
        return self.clone() if not self.dtype.is_floating_point else self._piecewise_constant(xp_of(self._data).floor,
                                                                                             "Floor")

    def ceil(self):
        self._not_for_bool("ceil_vml_cpu")
        return self.clone() if not self.dtype.is_floating_point else self._piecewise_constant(xp_of(self._data).ceil,
                                                                                             "Ceil")

    def trunc(self):
        self._not_for_bool("trunc_vml_cpu")
        return self.clone() if not self.dtype.is_floating_point else self._piecewise_constant(xp_of(self._data).trunc,
                                                                                             "Trunc")

    def frac(self):
        if not self.dtype.is_floating_point:
            raise NotImplementedError(f'"frac_cpu" not implemented for \'{self.type()[7:-6]}\'')
        return _binary(_FRAC, self, self.trunc(), "frac")

    def round(self, decimals=0):
        self._not_for_bool("round_vml_cpu")
        if not self.dtype.is_floating_point:
            return self.clone()
        xp = xp_of(self._data)
        return self._piecewise_constant(lambda a: xp.round(a, decimals), "Round")

    def clamp(self, min=None, max=None):
        # torch's overloads: number bounds (ClampBackward1) or tensor bounds (ClampBackward0)
        with_tensors = isinstance(min, Tensor) or isinstance(max, Tensor)
        return self._clamp(min, max, E.Clamp if with_tensors else _CLAMP)

    def _clamp(self, min, max, op):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        lo = min.item() if isinstance(min, Tensor) and min.numel() == 1 else min
        hi = max.item() if isinstance(max, Tensor) and max.numel() == 1 else max
        x = self
        if isinstance(lo, _py_float) or isinstance(hi, _py_float):
            x = self._floating()
        return op.apply(x, lo, hi)

    clip = clamp

    def clamp_min(self, min):
        return self._clamp(min, None, _CLAMP_MIN)

    def clamp_max(self, max):
        return self._clamp(None, max, _CLAMP_MAX)

    def maximum(self, other):
        return _binary(E.Maximum, self, other, "maximum")

    def minimum(self, other):
        return _binary(E.Minimum, self, other, "minimum")

    def lerp(self, end, weight):
        """self + weight * (end - self)."""
        return _binary(_LERP, self, (end - self) * weight, "lerp")

    def logical_not(self):
        return Tensor._from_array(~self._data.astype(bool))

    def logical_and(self, other):
        return Tensor._from_array(self._data.astype(bool) & _arr(other).astype(bool))

    def logical_or(self, other):
        return Tensor._from_array(self._data.astype(bool) | _arr(other).astype(bool))

    def isnan(self):
        return Tensor._from_array(xp_of(self._data).isnan(self._data))

    def isinf(self):
        return Tensor._from_array(xp_of(self._data).isinf(self._data))

    def isfinite(self):
        return Tensor._from_array(xp_of(self._data).isfinite(self._data))

    @numpy_aliases
    def softmax(self, dim, dtype=None):
        from .nn import functional as F
        return F.softmax(self, dim, dtype=dtype)

    @numpy_aliases
    def log_softmax(self, dim, dtype=None):
        from .nn import functional as F
        return F.log_softmax(self, dim, dtype=dtype)

    # ---------------------------------------------------------------- reductions
    def _accumulating(self, dtype, name):
        """The input cast for sum/prod/cumsum: an explicit dtype, else bool and integers widen to int64."""
        if dtype is not None:
            return self._cast(dt.to_dtype(dtype))
        if not self.dtype.is_floating_point and self.dtype is not dt.int64:
            return self._cast(dt.int64)
        return self

    def _require_floating(self, name, message=None):
        if not self.dtype.is_floating_point:
            raise RuntimeError(message or f"{name}(): expected a floating point tensor, got {self.dtype.name}")

    def _nonempty_dims(self, axis, name):
        """torch refuses max/min-like reductions over an empty dim (they have no identity)."""
        for a in range(self.ndim) if axis is None else axis:
            if self._data.shape[a] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")

    @numpy_aliases
    def sum(self, dim=None, keepdim=False, dtype=None):
        """Sum over ``dim`` (an int, a tuple of ints, or None for all); bool/int inputs sum in int64."""
        if dim is None and dtype is None and self._data.dtype.kind == "f":
            return R.Sum.apply(self, None, keepdim)
        op = R.Sum if dim is None else R.SumOverDims
        return op.apply(self._accumulating(dtype, "sum"), _dims(dim, self._data.ndim), keepdim)

    @numpy_aliases
    def nansum(self, dim=None, keepdim=False, dtype=None):
        """Sum treating NaN as zero."""
        x = self.masked_fill(self.isnan(), 0) if self.dtype.is_floating_point else self
        return x.sum(dim, keepdim, dtype)

    @numpy_aliases
    def mean(self, dim=None, keepdim=False, dtype=None):
        """Arithmetic mean over ``dim``; floating point only (or pass ``dtype``)."""
        if dtype is not None:
            return self._cast(dt.to_dtype(dtype)).mean(dim, keepdim)
        self._require_floating("mean", "mean(): could not infer output dtype. Input dtype must be either a "
                               f"floating point or complex dtype. Got: {self.dtype.scalar_name}")
        return (R.Mean if dim is None else R.MeanOverDims).apply(self, _dims(dim, self.ndim), keepdim)

    @numpy_aliases
    def prod(self, dim=None, keepdim=False, dtype=None):
        """Product over one dim (or all); the gradient handles zeros without dividing."""
        axis = None if dim is None else _dims(dim if isinstance(dim, (_py_int, np.integer)) else int(dim), self.ndim)
        return (R.Prod if dim is None else R.ProdOverDim).apply(self._accumulating(dtype, "prod"), axis, keepdim)

    def _variance(self, op, dim, unbiased, keepdim, correction):
        if isinstance(dim, _py_bool):  # the old var(unbiased) overload
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        self._require_floating("var", "std and var only support floating point and complex dtypes")
        axis = _dims(dim, self.ndim)
        if R.reduced_count(self._data.shape, axis) - correction <= 0:
            warnings.warn(f"{op.__qualname__.lower()}(): degrees of freedom is <= 0. Correction should be strictly "
                          "less than the reduction factor (input numel divided by output numel).", stacklevel=3)
        return op.apply(self, axis, correction, keepdim)

    @numpy_aliases
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sum((x - mean)^2) / (N - correction); ``unbiased=True`` is correction=1 (the default)."""
        return self._variance(R.Var, dim, unbiased, keepdim, correction)

    @numpy_aliases
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sqrt(var(...)), with the gradient taken as 0 where the std is 0 (as torch)."""
        return self._variance(R.Std, dim, unbiased, keepdim, correction)

    def _max_min(self, dim, keepdim, largest, name):
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            return (R.MaxOfAll if largest else R.MinOfAll).apply(self, None, False, largest)
        if isinstance(dim, Tensor):  # torch.max(a, b) is maximum(a, b)
            return self.maximum(dim) if largest else self.minimum(dim)
        axis = _dim(dim, self.ndim)
        if self.ndim == 0:
            return getattr(return_types, name)(self.clone(), Tensor._from_array(np.zeros((), np.int64)))
        self._nonempty_dims((axis,), name)
        vals, idx = (R.MaxMin if largest else R.MinAlongDim).apply(self, axis, keepdim, largest)
        return getattr(return_types, name)(vals, idx)

    @numpy_aliases
    def max(self, dim=None, keepdim=False):
        """``max()`` of all elements, or ``(values, indices)`` along ``dim``, or ``max(other)`` elementwise."""
        return self._max_min(dim, keepdim, True, "max")

    @numpy_aliases
    def min(self, dim=None, keepdim=False):
        return self._max_min(dim, keepdim, False, "min")

    def _amax_amin(self, dim, keepdim, largest, name):
        axis = _dims(dim, self.ndim)
        self._nonempty_dims(axis, name)
        return (R.AmaxAmin if largest else R.Amin).apply(self, axis, keepdim, largest)

    @numpy_aliases
    def amax(self, dim=(), keepdim=False):
        """Maximum over ``dim`` (all dims by default); tied maxima share the gradient evenly."""
        return self._amax_amin(dim, keepdim, True, "amax")

    @numpy_aliases
    def amin(self, dim=(), keepdim=False):
        return self._amax_amin(dim, keepdim, False, "amin")

    def _arg_extreme(self, dim, keepdim, largest, name):
        if self.dtype is dt.bool:
            raise RuntimeError(f"{name}(): does not support bool input")
        xp = xp_of(self._data)
        find = xp.argmax if largest else xp.argmin
        if dim is None:
            if self._data.size == 0:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
            out = xp.asarray(find(self._data)).astype(np.int64)
            return Tensor._from_array(out.reshape((1,) * self.ndim) if keepdim else out)
        d = _dim(dim, self.ndim)
        if self.ndim == 0:
            return Tensor._from_array(xp.zeros((), np.int64))
        self._nonempty_dims((d,), name)
        return Tensor._from_array(find(self._data, axis=d, keepdims=keepdim).astype(np.int64))

    @numpy_aliases
    def argmax(self, dim=None, keepdim=False):
        """Index of the (first) maximum, over all elements (flattened) or along ``dim``."""
        return self._arg_extreme(dim, keepdim, True, "argmax")

    @numpy_aliases
    def argmin(self, dim=None, keepdim=False):
        return self._arg_extreme(dim, keepdim, False, "argmin")

    @numpy_aliases
    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over ``dim``, computed stably (the max is subtracted first)."""
        return R.LogSumExp.apply(self._floating(), _dims(dim, self.ndim), keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """Vector p-norm over ``dim`` (all elements by default): (sum |x|^p)^(1/p); p may be inf."""
        if p == "fro" or p is None:
            p = 2.0
        if p == "nuc":
            raise NotImplementedError("norm: the nuclear norm (p='nuc') is not implemented in juanji")
        x = self._cast(dt.to_dtype(dtype)) if dtype is not None else self
        x._require_floating("norm", "linalg.vector_norm: Expected a floating point or complex tensor as input. "
                                    f"Got {x.dtype.scalar_name}")
        axis = _dims(dim, self.ndim)
        if abs(_py_float(p)) == _py_float("inf"):
            for a in range(self.ndim) if axis is None else axis:
                if self._data.shape[a] == 0:
                    raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on the dimension {a}"
                                       "because this dimension is empty and the operation does not have an identity")
        return R.Norm.apply(x, _py_float(p), axis, keepdim)

    @numpy_aliases
    def cumsum(self, dim, dtype=None):
        """Running sum along ``dim``; bool/int inputs accumulate in int64."""
        d = _dim(dim, self.ndim)
        x = self._accumulating(dtype, "cumsum")
        if self.ndim == 0:
            return x.clone()
        return R.Cumsum.apply(x, d)

    def _all_any(self, dim, keepdim, fn):
        arr = self._data
        res = fn(arr if arr.dtype == np.bool_ else arr != 0, axis=_dims(dim, self.ndim), keepdims=keepdim)
        res = xp_of(arr).asarray(res)
        # torch keeps uint8 for uint8 input (a legacy rule), bool otherwise
        return Tensor._from_array(res.astype(np.uint8) if arr.dtype == np.uint8 else res)

    @numpy_aliases
    def all(self, dim=None, keepdim=False):
        """True where every element (along ``dim``) is non-zero."""
        return self._all_any(dim, keepdim, xp_of(self._data).all)

    @numpy_aliases
    def any(self, dim=None, keepdim=False):
        """True where some element (along ``dim``) is non-zero."""
        return self._all_any(dim, keepdim, xp_of(self._data).any)

    @numpy_aliases
    def count_nonzero(self, dim=None):
        return Tensor._from_array(xp_of(self._data).asarray(
            (self._data != 0).sum(axis=_dims(dim, self.ndim))).astype(np.int64))

    @numpy_aliases
    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim``; ties keep their order; NaN counts as largest."""
        d = _dim(dim, self.ndim)
        xp = xp_of(self._data)
        if self.ndim == 0:
            return return_types.sort(self.clone(), Tensor._from_array(xp.zeros((), np.int64)))
        if descending:
            # a stable descending order: sort the reversed array ascending, then reverse back
            n = self._data.shape[d]
            rev = xp.argsort(xp.flip(self._data, d), axis=d, kind="stable")
            idx = (n - 1) - xp.flip(rev, d)
        else:
            idx = xp.argsort(self._data, axis=d, kind="stable")
        idx = Tensor._from_array(idx.astype(np.int64))
        return return_types.sort(_SORT.apply(self, idx._data, d), idx)

    @numpy_aliases
    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending)[1]

    @numpy_aliases
    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"selected index k out of range (k={k}, dim {dim} has size {size})")
        vals, idx = self.sort(dim, descending=largest)
        if self.ndim == 0:
            return return_types.topk(vals, idx)
        idx = idx.narrow(d, 0, k)
        return return_types.topk(_TOPK.apply(self, idx._data, d), idx)

    # ---------------------------------------------------------------- shape
    def _reshape_shape(self, shape):
        shape = _sizes(shape)
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        known = 1
        for s in shape:
            if s != -1:
                if s < 0:
                    raise RuntimeError(f"invalid shape dimension {s}")
                known *= s
        n = self._data.size
        if -1 in shape:
            if known == 0 or n % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        elif known != n:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        return shape

    def reshape(self, *shape):
        # torch's reshape is a view when the memory allows it, else a copy (an "unsafe view")
        op = S.Reshape if self._data.flags.c_contiguous else S.UnsafeView
        return op.apply(self, self._reshape_shape(shape))

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (dt.dtype, type)):
            return Tensor._from_array(self._data.view(dt.to_dtype(shape[0]).np))
        shape = self._reshape_shape(shape)
        if not self._data.flags.c_contiguous and self._data.ndim > 1 and self._data.size > 1:
            # NumPy would silently copy; torch refuses, and so do we
            try:
                probe = self._data.view()
                probe.shape = shape
            except AttributeError:
                raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                   "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
        return S.Reshape.apply(self, shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = _dim(start_dim, self.ndim)
        e = _dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self._data.shape  # a plain tuple: cheaper to slice than a Size
        n = 1
        for v in shape[s:e + 1]:
            n *= v
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def ravel(self):
        return self.reshape(-1)

    def unflatten(self, dim, sizes):
        d = _dim(dim, self.ndim)
        sizes = list(sizes)
        if -1 in sizes:
            known = int(np.prod([s for s in sizes if s != -1]))
            sizes[sizes.index(-1)] = self.shape[d] // known
        if int(np.prod(sizes)) != self.shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                               f"{dim} ({self.shape[d]}) in the input tensor")
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    @numpy_aliases
    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(s for s in self._data.shape if s != 1)
            op = S.SqueezeAll
        else:
            dims = _dims(dim, self.ndim) or ()
            shape = tuple(s for i, s in enumerate(self._data.shape) if not (i in dims and s == 1))
            op = S.SqueezeDims if isinstance(dim, (tuple, list)) else S.SqueezeDim
        return op.apply(self, shape)

    @numpy_aliases
    def unsqueeze(self, dim):
        d = _dim(dim, self.ndim + 1)
        shape = self._data.shape
        return S.Unsqueeze.apply(self, shape[:d] + (1,) + shape[d:])

    def permute(self, *dims):
        dims = _sizes(dims) if not (len(dims) == 1 and isinstance(dims[0], (tuple, list))) else tuple(dims[0])
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(dims)}")
        dims = tuple(_dim(d, self.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return S.Permute.apply(self, dims)

    def transpose(self, dim0, dim1):
        if self.ndim < 2 and self.ndim == 0:
            return self
        d0, d1 = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return S.Transpose.apply(self, tuple(dims))

    swapdims = transpose

    def swapaxes(self, axis0, axis1):
        """``transpose`` under NumPy's name, with NumPy's argument names."""
        return self.transpose(axis0, axis1)

    def t(self):
        """Transpose of a 2-D tensor (a 0-D or 1-D tensor is returned as is)."""
        ndim = self._data.ndim
        if ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
        return self if ndim < 2 else S.T.apply(self, (1, 0))

    def expand(self, *sizes):
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                               f"the number of dimensions in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = []
        for i, s in enumerate(sizes):
            cur = self._data.shape[i - lead] if i >= lead else 1
            if s == -1:
                if i < lead:
                    raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
                s = cur
            elif cur != 1 and cur != s:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                                   f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(self.shape)}")
            target.append(s)
        return S.Expand.apply(self, tuple(target))

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def repeat(self, *reps):
        reps = _sizes(reps)
        if len(reps) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
        return S.Repeat.apply(self, reps)

    @numpy_aliases
    def repeat_interleave(self, repeats, dim=None):
        if dim is None:
            return self.reshape(-1).repeat_interleave(repeats, 0)
        d = _dim(dim, self.ndim)
        idx = np.repeat(np.arange(self.shape[d]), repeats._data if isinstance(repeats, Tensor) else repeats)
        return self.index_select(d, Tensor._from_array(idx))

    def flip(self, *dims):
        dims = _sizes(dims)
        return S.Flip.apply(self, tuple(_dim(d, self.ndim) for d in dims))

    def roll(self, shifts, dims=None):
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        return S.Roll.apply(self, shifts, dims)

    @numpy_aliases
    def narrow(self, dim, start, length):
        """The slice ``start : start + length`` along ``dim`` (a view)."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d]
        start = _py_int(start)
        if start < 0:
            start += size
        if not 0 <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        index = [slice(None)] * self.ndim
        index[d] = slice(start, start + length)
        return self[tuple(index)]

    @numpy_aliases
    def select(self, dim, index):
        """The slice at ``index`` along ``dim``, with that dim removed (a view)."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        idx = [slice(None)] * self.ndim
        idx[d] = index
        return self[tuple(idx)]

    def movedim(self, source, destination):
        """Move the dims in ``source`` to the positions in ``destination``; the others keep their order."""
        src = [source] if isinstance(source, (_py_int, np.integer)) else list(source)
        dst = [destination] if isinstance(destination, (_py_int, np.integer)) else list(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                               f"the same number of dims as destination ({dst} dims)")
        src = [_dim(d, self.ndim) for d in src]
        dst = [_dim(d, self.ndim) for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        order = [None] * self.ndim
        for s_, d_ in zip(src, dst):
            order[d_] = s_
        rest = iter(d for d in range(self.ndim) if d not in src)
        order = [o if o is not None else next(rest) for o in order]
        return self.permute(order)

    moveaxis = movedim

    @numpy_aliases
    def unbind(self, dim=0):
        d = _dim(dim, self.ndim)
        before = (slice(None),) * d
        return tuple(self._piece(before + (i,), _UNBIND) for i in range(self._data.shape[d]))

    def _piece(self, index, node):
        """``self[index]`` for a basic index, recorded as ``node``: torch names the pieces of split,
        chunk and unbind after the method (SplitBackward0, UnbindBackward0)."""
        if self.requires_grad and _state.enabled:
            out = node.apply(self, index)
        else:
            out = Tensor._from_array(self._data[index])
        out._view_of = (self, index)  # an in-place change of a piece reaches self, as for indexing
        return out

    def split(self, split_size_or_sections, dim=0):
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (_py_int, np.integer)):
            step = int(split_size_or_sections)
            if step < 0:
                raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
            if step == 0:
                if n != 0:
                    raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size "
                                       f"of {n}")
                return (self,)
            sizes = [builtins.min(step, n - s) for s in range(0, n, step)] or [0]
            node = _SPLIT
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {dim}), but got split_sizes={sizes}")
            node = _SPLIT_WITH_SIZES
        before = (slice(None),) * d
        out, start = [], 0
        for s in sizes:
            if s < 0:
                raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                                   f"split_sizes={sizes}")
            out.append(self._piece(before + (slice(start, start + s),), node))
            start += s
        return tuple(out)

    @numpy_aliases
    def chunk(self, chunks, dim=0):
        """``chunks`` pieces of equal size ceil(n / chunks) along ``dim`` (fewer if they run out)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        step = -(-n // chunks)
        return self.split(builtins.max(step, 1), d)

    @numpy_aliases
    def tensor_split(self, sections, dim=0):
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(sections, _py_int):
            q, r = divmod(n, sections)
            sizes = [q + 1] * r + [q] * (sections - r)
        else:
            bounds = [0] + list(sections) + [n]
            sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
        pieces, start = [], 0
        for size in sizes:  # plain slices in torch (SliceBackward0), not a split
            pieces.append(self.narrow(d, start, size))
            start += size
        return tuple(pieces)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, index):
        """Ints, slices, None, Ellipsis (a view), and bool / integer tensors or lists (a copy)."""
        index = _index_arrays(index)
        try:
            if self.requires_grad and _state.enabled:
                out = I.GetItem.apply(self, index)
            else:
                out = Tensor._from_array(self._data[index])
        except IndexError as e:
            raise _index_error(e, index, self) from None
        if I.is_basic_index(index):
            out._view_of = (self, index)  # so an in-place op on the view can reach this tensor
        return out

    def __setitem__(self, index, value):
        """``x[index] = value``: written in memory, or recorded as an index-put under autograd."""
        index = _index_arrays(index)
        is_tensor = isinstance(value, Tensor)
        recording = _state.enabled and (self.requires_grad or (is_tensor and value.requires_grad))
        try:
            if not recording:
                _write(self._data, index, value._data if is_tensor else value)
                return
            self._check_inplace_allowed()
            if not is_tensor:
                value = tensor(value, dtype=self.dtype)
            result = I.IndexPut.apply(self, value._cast(self.dtype), index)
        except IndexError as e:
            raise _index_error(e, index, self) from None
        except ValueError as e:
            raise RuntimeError(f"index assignment: cannot assign a value of shape {list(getattr(value, 'shape', ()))} "
                               f"to the selection ({e})") from None
        self._rebind(result)

    def _check_inplace_allowed(self) -> None:
        """torch refuses in-place changes, while recording, to a leaf that requires grad or a view of one."""
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        view = self.__dict__.get("_view_of")
        while view is not None:
            base = view[0]
            if base.requires_grad and base.grad_fn is None:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
            view = base.__dict__.get("_view_of")

    def _rebind(self, result: "Tensor") -> "Tensor":
        """An in-place op while recording: this tensor takes over the result's array and history.

        The Ops that already used this tensor keep its old value (their edges point at the old
        node). If this tensor is a view made by basic indexing, the result is written through to
        the tensor it views (recorded there too) and this view is taken again from it, so both
        see the change, as in torch.
        """
        view = self.__dict__.get("_view_of")
        if view is not None:
            base, index = view
            base[index] = result
            fresh = base[index]
            self._data, self.grad_fn, self.requires_grad = fresh._data, fresh.grad_fn, fresh.requires_grad
            return self
        self._data = result._data
        self.grad_fn = result.grad_fn
        self.requires_grad = result.requires_grad
        return self

    def _check_index_along(self, name, d, index, src=None):
        """gather/scatter: an int64 index with self's number of dims, no larger than self (or src)
        outside ``d``, and every entry inside ``[0, size)`` along ``d``."""
        if not isinstance(index, Tensor) or index.dtype is not dt.int64:
            got = index.dtype if isinstance(index, Tensor) else type(index).__name__
            raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {got}")
        if index.ndim != self.ndim and not (index.ndim <= 1 and self.ndim <= 1):
            raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor "
                               f"({name}: index {list(index.shape)}, input {list(self.shape)})")
        for k in range(index.ndim):
            n = index._data.shape[k]
            too_big_for_self = k != d and n > self._data.shape[k]
            too_big_for_src = src is not None and n > src.shape[k]
            if too_big_for_self or too_big_for_src:
                also = f" and to be smaller size than src {list(src.shape)}" if src is not None else ""
                raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                                   f"smaller than self {list(self.shape)} apart from dimension {d}{also}")
        size = self._data.shape[d] if self.ndim else 1
        if index._data.size and (index._data.min() < -size or index._data.max() >= size):
            bad = int(index._data.max() if index._data.max() >= size else index._data.min())
            raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")

    @numpy_aliases
    def gather(self, dim, index):
        """out[i][j][k] = self[i][index[i][j][k]][k] (for dim = 1): pick along ``dim``."""
        d = _dim(dim, self.ndim)
        self._check_index_along("gather", d, index)
        return I.Gather.apply(self, index._data, d)

    @numpy_aliases
    def scatter(self, dim, index, src=None, value=None, reduce=None):
        """self with self[i][index[i][j][k]][k] = src[i][j][k] (for dim = 1); ``reduce='add'`` adds."""
        if src is None:
            src = value
        d = _dim(dim, self.ndim)
        if reduce not in (None, "add"):
            raise NotImplementedError(f"scatter: reduce='{reduce}' is not implemented in juanji (only 'add')")
        self._check_index_along("scatter", d, index, src if isinstance(src, Tensor) else None)
        return I.Scatter.apply(self, index._data, src._cast(self.dtype) if isinstance(src, Tensor) else src, d, reduce)

    @numpy_aliases
    def scatter_add(self, dim, index, src):
        return self.scatter(dim, index, src, reduce="add")

    @numpy_aliases
    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        return self._inplace(self.scatter(dim, index, src, value, reduce))

    @numpy_aliases
    def scatter_add_(self, dim, index, src):
        return self._inplace(self.scatter_add(dim, index, src))

    @numpy_aliases
    def index_select(self, dim, index):
        """The entries at ``index`` (a 1-D integer tensor) along ``dim``."""
        d = _dim(dim, self.ndim)
        idx = index._data if isinstance(index, Tensor) else np.asarray(index)
        if idx.ndim > 1 or idx.dtype.kind not in "iu":
            raise IndexError(f"index_select(): Index is supposed to be a vector of integers, got shape "
                             f"{list(idx.shape)} and dtype {idx.dtype}")
        size = self._data.shape[d] if self.ndim else 1
        if idx.size and (idx.min() < -size or idx.max() >= size):
            raise IndexError("index out of range in self")
        return I.IndexSelect.apply(self, idx, d)

    def masked_fill(self, mask, value):
        if isinstance(value, Tensor):
            value = value.item()
        m = mask._data if isinstance(mask, Tensor) else mask
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask.dtype}")
        return I.MaskedFill.apply(self, m, value)

    def masked_fill_(self, mask, value):
        return self._inplace(self.masked_fill(mask, value))

    def masked_select(self, mask):
        return self[mask.expand_as(self) if mask.shape != self.shape else mask]

    def nonzero(self, as_tuple=False):
        idx = xp_of(self._data).nonzero(self._data)
        if as_tuple:
            return tuple(Tensor._from_array(i.astype(np.int64)) for i in idx)
        return Tensor._from_array(xp_of(self._data).stack(idx, axis=1).astype(np.int64))

    def where(self, condition, other):
        from . import where
        return where(condition, self, other)

    # ---------------------------------------------------------------- in place
    def _inplace(self, result: "Tensor") -> "Tensor":
        """Make ``result`` (computed out of place from self) the new value of self.

        Without a graph being recorded the values are written into self's memory, so views of
        self see them. While recording, self takes over the result's array and history (see
        ``_rebind``).
        """
        if result.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        if not dt.can_cast(result.dtype, self.dtype):
            raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the desired output type "
                               f"{self.dtype.scalar_name}")
        if _state.enabled and (self.requires_grad or result.requires_grad):
            self._check_inplace_allowed()
            if result.dtype is not self.dtype:
                result = result._cast(self.dtype)
            return self._rebind(result)
        _write(self._data, Ellipsis, result._data)
        return self

    def _fast_inplace(self, ufunc, other) -> bool:
        """Apply ``ufunc(self, other, out=self)`` directly when nothing is recorded (the hot path
        of optimisers and ``w.data -= ...``). Returns False when the general path is needed."""
        if _state.enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return False
        o = other._data if isinstance(other, Tensor) else other
        if isinstance(o, (np.ndarray,)) or hasattr(o, "shape"):
            if o.dtype != self._data.dtype and (o.dtype.kind == "f") != (self._data.dtype.kind == "f"):
                return False
            if np.broadcast_shapes(o.shape, self._data.shape) != self._data.shape:
                return False
        elif not isinstance(o, _SCALARS) or (isinstance(o, _py_float) and self._data.dtype.kind != "f"):
            return False
        ufunc(self._data, o, out=self._data, casting="unsafe")
        return True

    def add_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        if self._fast_inplace(np.add, other):
            return self
        return self._inplace(self + other)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        if self._fast_inplace(np.subtract, other):
            return self
        return self._inplace(self - other)

    def mul_(self, other):
        if self._fast_inplace(np.multiply, other):
            return self
        return self._inplace(self * other)

    def div_(self, other, rounding_mode=None):
        if rounding_mode is None and self.dtype.is_floating_point and self._fast_inplace(np.true_divide, other):
            return self
        return self._inplace(self.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent):
        return self._inplace(self ** exponent)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def zero_(self):
        """Set every element to 0 in place."""
        return self._fill(0, _ZERO)

    def fill_(self, value):
        """Set every element to ``value`` in place (under autograd: no gradient flows to the old value)."""
        return self._fill(value, _FILL)

    def _fill(self, value, node):
        if isinstance(value, Tensor):
            value = value.item()
        if _state.enabled and self.requires_grad:
            self._check_inplace_allowed()
            xp = xp_of(self._data)
            return self._rebind(node.apply(self, lambda a: xp.full(a.shape, value, a.dtype)))
        _write(self._data, Ellipsis, value)
        return self

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place."""
        src = _to_operand(src)
        if not isinstance(src, Tensor):
            src = tensor(src, dtype=self.dtype)
        if _state.enabled and (self.requires_grad or src.requires_grad):
            self._check_inplace_allowed()
            result = src._cast(self.dtype)
            if result.shape != self.shape:
                result = result.expand(self.shape)
            if result.requires_grad:
                # a copy of src's value and history (never src's own memory); the old value of
                # self gets a zero gradient, as in torch: "where everywhere, src, else self"
                everywhere = xp_of(self._data).ones((), dtype=bool)
                return self._rebind(_COPY_TENSOR.apply(everywhere, result, self))
            # a constant src: the old value of self gets a zero gradient, and self keeps requiring grad
            value = result._data
            return self._rebind(_COPY_CONSTANT.apply(self, lambda a: value.copy()))
        arr = src._data
        if xp_of(arr) is not xp_of(self._data):
            arr = xp_of(self._data).asarray(arr) if xp_of(self._data) is not np else arr.get()
        try:
            _write(self._data, Ellipsis, arr)
        except ValueError:
            raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast to the "
                               f"destination of shape {list(self.shape)}") from None
        return self

    def clamp_(self, min=None, max=None):
        return self._inplace(self.clamp(min, max))

    clip_ = clamp_

    def clamp_min_(self, min):
        return self._inplace(self.clamp(min=min))

    def clamp_max_(self, max):
        return self._inplace(self.clamp(max=max))

    def sign_(self):
        return self._inplace(self.sign())

    def ceil_(self):
        return self._inplace(self.ceil())

    def trunc_(self):
        return self._inplace(self.trunc())

    def reciprocal_(self):
        return self._inplace(self.reciprocal())

    def rsqrt_(self):
        return self._inplace(self.rsqrt())

    def sin_(self):
        return self._inplace(self.sin())

    def cos_(self):
        return self._inplace(self.cos())

    def square_(self):
        return self._inplace(self.square())

    def log1p_(self):
        return self._inplace(self.log1p())

    def neg_(self):
        return self._inplace(-self)

    def abs_(self):
        return self._inplace(self.abs())

    def exp_(self):
        return self._inplace(self.exp())

    def log_(self):
        return self._inplace(self.log())

    def sqrt_(self):
        return self._inplace(self.sqrt())

    def relu_(self):
        return self._inplace(self.relu())

    def sigmoid_(self):
        return self._inplace(self.sigmoid())

    def tanh_(self):
        return self._inplace(self.tanh())

    def floor_(self):
        return self._inplace(self.floor())

    def round_(self):
        return self._inplace(self.round())

    def lerp_(self, end, weight):
        return self._inplace(self.lerp(end, weight))

    def addcmul_(self, t1, t2, value=1):
        return self._inplace(self + value * t1 * t2)

    def addcdiv_(self, t1, t2, value=1):
        return self._inplace(self + value * t1 / t2)

    @numpy_aliases
    def unsqueeze_(self, dim):
        d = _dim(dim, self.ndim + 1)
        shape = self._data.shape
        return self._reshape_in_place(shape[:d] + (1,) + shape[d:], S.UnsqueezeInPlace)

    @numpy_aliases
    def squeeze_(self, dim=None):
        if dim is None:
            node = S.SqueezeAllInPlace
        else:
            node = S.SqueezeDimsInPlace if isinstance(dim, (tuple, list)) else S.SqueezeDimInPlace
        return self._reshape_in_place(self.squeeze(dim)._data.shape, node)

    def _reshape_in_place(self, shape, node):
        """A new shape for this tensor itself; while recording, as the ``node`` (torch's in-place
        overload) taking over this tensor's history, so the gradient flows back in the old shape."""
        if _state.enabled and self.requires_grad:
            self._check_inplace_allowed()
            result = node.apply(self, shape)
            self._data, self.grad_fn = result._data, result.grad_fn
            return self
        self._data = self._data.reshape(shape)
        return self

    def t_(self):
        if self._data.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        if _state.enabled and self.requires_grad and self._data.ndim == 2:
            self._check_inplace_allowed()
            result = S.TInPlace.apply(self, (1, 0))
            self._data, self.grad_fn = result._data, result.grad_fn
            return self
        self._data = self._data.T
        return self

    def resize_(self, *sizes):
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        self._data = xp_of(self._data).resize(self._data, _sizes(sizes))
        return self

    def _random_fill(self, arr) -> "Tensor":
        if _state.enabled and self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._data[...] = arr
        return self

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        from .backend import generator as gen
        return self._random_fill(gen(generator).normal(mean, std, self._data.shape))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        from .backend import generator as gen
        return self._random_fill(gen(generator).uniform(a, b, self._data.shape))

    def bernoulli_(self, p=0.5, *, generator=None):
        from .backend import generator as gen
        return self._random_fill(gen(generator).random(self._data.shape) < p)

    def exponential_(self, lambd=1.0, *, generator=None):
        from .backend import generator as gen
        return self._random_fill(gen(generator).exponential(1.0 / lambd, self._data.shape))

    def random_(self, low=0, high=None, *, generator=None):
        from .backend import generator as gen
        if high is None:
            low, high = 0, low if low else 2 ** 24
        return self._random_fill(gen(generator).integers(low, high, self._data.shape))

    # ---------------------------------------------------------------- misc
    def new_tensor(self, data, dtype=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None):
        return Tensor._from_array(np.zeros(_sizes(size), (dtype or self.dtype).np))

    def new_ones(self, *size, dtype=None):
        return Tensor._from_array(np.ones(_sizes(size), (dtype or self.dtype).np))

    def new_full(self, size, fill_value, dtype=None):
        return Tensor._from_array(np.full(_sizes((size,)), fill_value, (dtype or self.dtype).np))

    def new_empty(self, *size, dtype=None):
        return Tensor._from_array(np.empty(_sizes(size), (dtype or self.dtype).np))

    def equal(self, other) -> bool:
        return self.shape == other.shape and bool((self._data == other._data).all())

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return bool(np.allclose(self._host(), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return Tensor._from_array(np.isclose(self._host(), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        res = np.unique(self._host(), return_inverse=return_inverse, return_counts=return_counts, axis=dim)
        if not isinstance(res, tuple):
            return Tensor._from_array(res)
        return tuple(Tensor._from_array(r.astype(np.int64) if i else r) for i, r in enumerate(res))

    def apply_(self, fn):
        self._data[...] = np.vectorize(fn)(self._data)
        return self

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    def __reduce__(self):
        return (_rebuild, (self._host(), self.requires_grad))

    def __deepcopy__(self, memo):
        out = Tensor._from_array(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor._from_array(self.grad._data.copy())
        memo[id(self)] = out
        return out


_OPERANDS = (Tensor, _py_int, _py_float, _py_bool, np.generic)  # what _to_operand passes through as is


def _rebuild(arr, requires_grad):
    return Tensor._from_array(arr, requires_grad)


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _infer_np_dtype(data):
    """The dtype torch.tensor would choose for nested Python data."""
    kinds = set()

    def walk(v):
        if isinstance(v, (list, tuple)):
            for e in v:
                walk(e)
        elif isinstance(v, Tensor):
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
    if isinstance(data, Tensor):
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
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in data):
        data = [v.tolist() if isinstance(v, Tensor) else v for v in data]
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
        if isinstance(data, Tensor):
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


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Build a tensor by copying ``data`` (nested lists, scalars, NumPy arrays)."""
    d = dt.to_dtype(dtype) if dtype is not None else None
    arr = _array_from_data(data, d)
    if isinstance(data, (np.ndarray, Tensor)) and arr is (data._data if isinstance(data, Tensor) else data):
        arr = arr.copy()
    if device is not None and xp_for(device) is not np:
        arr = xp_for(device).asarray(arr)
    t = Tensor._from_array(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or Tensor when it can."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype is dt.to_dtype(dtype)):
        return data
    d = dt.to_dtype(dtype) if dtype is not None else None
    return Tensor._from_array(_array_from_data(data, d))


def from_numpy(arr: np.ndarray) -> Tensor:
    """Share memory with a NumPy array (no copy)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    dt.from_numpy_dtype(arr.dtype)
    return Tensor._from_array(arr)


def full_like(t: Tensor, value, dtype=None) -> Tensor:
    return Tensor._from_array(xp_of(t._data).full(t._data.shape, value, (dtype or t.dtype).np))


# ---------------------------------------------------------------------------- printing
# torch's print options: 4 decimals, 80 columns, more than 1000 elements shown as 3 at each end
_PRECISION, _LINEWIDTH, _THRESHOLD, _EDGEITEMS = 4, 80, 1000, 3


class _ElementFormat:
    """How every element of one tensor is written, chosen from all its (shown) values as torch does:

    - integers and bools: ``str(v)``;
    - floats that are all whole numbers: ``4.`` (sci notation if max/min > 1000 or max > 1e8);
    - other floats: 4 decimals, or ``1.0000e-05`` sci notation if max/min > 1000, max > 1e8 or
      min < 1e-4 (max and min over the non-zero finite magnitudes).

    Every element is right-aligned to the widest one (non-finite values do not count).
    """

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = arr.reshape(-1)
        if not self.floating:
            self.width = max((len(str(v)) for v in flat.tolist()), default=1)
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        magnitudes = np.abs(finite)
        lo, hi = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        if self.sci_mode:
            texts = [f"{v:.{_PRECISION}e}" for v in finite.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in finite.tolist()]
        else:
            texts = [f"{v:.{_PRECISION}f}" for v in finite.tolist()]
        self.width = max(len(t) for t in texts)

    def __call__(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:.{_PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{_PRECISION}f}"
        return " " * (self.width - len(text)) + text


def _edges(arr):
    """The elements shown for a large tensor: the first and last few along every dim."""
    for axis, n in enumerate(arr.shape):
        if n > 2 * _EDGEITEMS:
            keep = list(range(_EDGEITEMS)) + list(range(n - _EDGEITEMS, n))
            arr = arr.take(keep, axis=axis)
    return arr


def _vector_text(values, indent, summarize, fmt) -> str:
    per_line = max(1, (_LINEWIDTH - indent) // (fmt.width + 2))
    n = len(values)
    if summarize and n > 2 * _EDGEITEMS:
        items = [fmt(v) for v in values[:_EDGEITEMS]] + [" ..."] + [fmt(v) for v in values[-_EDGEITEMS:]]
    else:
        items = [fmt(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_text(arr, indent, summarize, fmt) -> str:
    if arr.ndim == 0:
        return fmt(arr.item())
    if arr.ndim == 1:
        return _vector_text(arr.tolist(), indent, summarize, fmt)
    n = arr.shape[0]
    if summarize and n > 2 * _EDGEITEMS:
        rows = [_nested_text(arr[i], indent + 1, summarize, fmt) for i in range(_EDGEITEMS)] + ["..."] + \
               [_nested_text(arr[i], indent + 1, summarize, fmt) for i in range(n - _EDGEITEMS, n)]
    else:
        rows = [_nested_text(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _tensor_repr(t) -> str:
    arr = t._host()
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    default = dt.get_default_dtype()
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        body = "[]"
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
    else:
        summarize = arr.size > _THRESHOLD
        fmt = _ElementFormat(_edges(arr) if summarize else arr)
        body = _nested_text(arr, indent, summarize, fmt)
        if t.dtype not in (default, dt.int64, dt.bool):
            suffixes.append(f"dtype={t.dtype}")
    if xp_of(t._data) is not np:
        suffixes.append("device='cuda:0'")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:  # a suffix that would pass 80 columns goes on its own line
        if last_line + len(suffix) + 2 > _LINEWIDTH:
            text += ",\n" + " " * indent + suffix
            last_line = indent + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text + ")"
