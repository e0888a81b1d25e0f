"""juanji's dtypes (torch.float32 ...) and PyTorch's type-promotion rules.

PyTorch promotes by *category* (bool < integer < floating) and gives dimensioned tensors
priority over zero-dim tensors, which have priority over Python scalars:

    int32 tensor  + 2.5            -> float32   (the default float dtype)
    float32 tensor + float64 0-dim -> float32   (same category: dimensioned tensor wins)
    int32 tensor  + float64 0-dim  -> float64   (higher category: zero-dim tensor counts)
    int64 tensor  + float32 tensor -> float32   (NumPy would give float64)
"""

from __future__ import annotations

import numpy as np

__all__ = ["dtype", "bfloat16", "float16", "half", "float32", "float", "float64", "double", "int8", "int16",
           "short", "int32", "int", "int64", "long", "uint8", "bool", "get_default_dtype",
           "set_default_dtype", "promote_types", "result_type", "can_cast"]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type, mirroring ``torch.dtype`` (printed as ``torch.float32``)."""

    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "is_signed", "scalar_name")

    def __init__(self, name: str, np_dtype, category: int, scalar_name: str):
        self.name = name
        self.scalar_name = scalar_name  # torch's name in messages and type strings: Float, Long ...
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.np.kind in "if"

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"juanji.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float16 = half = dtype("float16", np.float16, _FLOAT, "Half")
float32 = float = dtype("float32", np.float32, _FLOAT, "Float")
float64 = double = dtype("float64", np.float64, _FLOAT, "Double")
int8 = dtype("int8", np.int8, _INT, "Char")
int16 = short = dtype("int16", np.int16, _INT, "Short")
int32 = int = dtype("int32", np.int32, _INT, "Int")
int64 = long = dtype("int64", np.int64, _INT, "Long")
uint8 = dtype("uint8", np.uint8, _INT, "Byte")
bool = dtype("bool", np.bool_, _BOOL, "Bool")

# torch.bfloat16, so that code can name it: NumPy has no such type, so a tensor of it cannot be made
# (to_dtype refuses it with one line); it is not one of the dtypes below
bfloat16 = dtype("bfloat16", np.float32, _FLOAT, "BFloat16")
BFLOAT16_UNSUPPORTED = ("juanji: bfloat16 is not supported (NumPy has no bfloat16 type); use float16 (.half()) or "
                        "float32")

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_FROM_NP = {d.np: d for d in _ALL}
_NAMES = {d.name: d for d in _ALL}


def _by_name(name: str) -> dtype:
    return _NAMES[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The juanji dtype of a NumPy dtype (uint16/32/64 have no torch twin and are refused)."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {np.dtype(np_dtype)}; the supported types "
                        "are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool") from None


def to_dtype(d) -> dtype:
    """Accept a juanji dtype, a NumPy dtype, a Python type or a name ('float32')."""
    if d is bfloat16 or (isinstance(d, str) and d.replace("torch.", "").replace("juanji.", "") == "bfloat16"):
        raise TypeError(BFLOAT16_UNSUPPORTED)
    if d.__class__ is dtype:
        return d
    if d is builtins_float:
        return float64
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool
    if isinstance(d, str):
        key = d.replace("torch.", "").replace("juanji.", "")
        aliases = {"float": float32, "double": float64, "long": int64, "int": int32, "half": float16,
                   "short": int16}
        if key in aliases:
            return aliases[key]
        if key in _NAMES:
            return _NAMES[key]
    try:
        return from_numpy_dtype(d)
    except TypeError:
        raise TypeError(f"expected a dtype such as juanji.float32, got {d!r}") from None


import builtins as _builtins  # noqa: E402  (the names float/int/bool are shadowed above, on purpose)

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool

_default_dtype = float32


def get_default_dtype() -> dtype:
    return _default_dtype


def set_default_dtype(d) -> None:
    global _default_dtype
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype = d


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both can be cast to, category first."""
    if a is b:
        return a
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == _FLOAT or lo.category == _BOOL:
            return hi
    return _FROM_NP[np.promote_types(a.np, b.np)]


def _combine(higher, lower):
    """PyTorch's combine_categories: a lower-priority group counts only if it is of a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == _FLOAT:
        return higher
    if higher is bool or lower.category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(x) -> dtype:
    if isinstance(x, builtins_bool) or isinstance(x, np.bool_):
        return bool
    if isinstance(x, (builtins_int, np.integer)):
        return int64
    return _default_dtype


def result_type(*operands) -> dtype:
    """torch.result_type over Tensors and Python scalars."""
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if d.__class__ is dtype:
            if x.ndim > 0:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = _scalar_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(_combine(dim, zero), wrapped)


def can_cast(from_: dtype, to: dtype) -> _builtins.bool:
    """torch.can_cast: casting may not lower the category (float -> int, int -> bool)."""
    return from_.category <= to.category
