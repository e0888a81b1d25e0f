"""Tensor arithmetic: the operators ``+ - * / // % **``, unary ``-``, ``abs()``, the bitwise ``~ & | ^``,
and their named methods (``add(other, alpha)``, ``div(other, rounding_mode)``, ``floor_divide``,
``remainder``, ``fmod``, ``pow``).

Operands are promoted to torch's result dtype first (``juanji/_tensor/binary.py``); ``/`` is true
division (integers give the default float dtype). torch's refusals are kept: integer division by
zero, ``-`` on bools, integers to negative integer powers.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.tensor_base import TensorBase
from ..backend import xp_of
from ..ops import elementwise as E
from .arguments import _SCALARS, _py_bool, _py_float
from .binary import _arr, _binary, _broadcast_error, _promote_pair, _to_operand

__all__ = ["_Arithmetic"]

# torch names a node after the overload that made it (see juanji/autograd/function.py): these
# elementwise Ops compute several overloads, told apart here by the methods that call them
_RSUB = E.Sub.variant("RsubBackward1")                      # 4.2 - x
_POW_TENSOR_EXPONENT = E.Pow.variant("PowBackward1")        # x ** y
_POW_SCALAR_BASE = E.Pow.variant("PowBackward2")            # 2 ** x
_SQUARE = E.Mul.variant("PowBackward0")                     # x ** 2 and x.square(), computed as x * x
_REMAINDER_TENSOR = E.Remainder.variant("RemainderBackward1")
_RDIV = E.Div.variant("MulBackward0")                       # 2 / x: torch multiplies by the reciprocal


def _check_integer_division(a, b, name):
    """torch refuses integer division by zero (NumPy would warn and return 0) and bool operands."""
    dtype = a.dtype if isinstance(a, TensorBase) else b.dtype
    if dtype is dt.bool:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')
    if dtype.is_floating_point:
        return
    divisor = b._data if isinstance(b, TensorBase) else b
    if (divisor == 0).any() if hasattr(divisor, "any") else divisor == 0:
        raise RuntimeError("ZeroDivisionError")


def _check_pow(base, exponent):
    dtype = base.dtype if isinstance(base, TensorBase) else exponent.dtype
    if dtype is dt.bool:
        raise NotImplementedError('"pow" not implemented for \'Bool\'')
    if dtype.is_floating_point:
        return
    e = exponent._data if isinstance(exponent, TensorBase) else exponent
    if (e < 0).any() if hasattr(e, "any") else e < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")


def _check_remainder(a, b):
    _check_integer_division(a, b, "remainder")


class _Arithmetic:
    """Tensor methods: arithmetic operators and their named forms."""

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
        op = _REMAINDER_TENSOR if isinstance(other, TensorBase) else E.Remainder
        return _binary(op, self, other, "remainder", check=_check_remainder)

    def __rmod__(self, other):
        return _binary(_REMAINDER_TENSOR, self, other, "remainder", reverse=True, check=_check_remainder)

    def __pow__(self, other):
        if isinstance(other, _SCALARS) and not isinstance(other, _py_bool) and self.dtype.is_floating_point:
            if other == 2:
                return _SQUARE.apply(self, self)
            return E.Pow.apply(self, other)
        op = _POW_TENSOR_EXPONENT if isinstance(other, TensorBase) else E.Pow
        return _binary(op, self, other, "pow", check=_check_pow)

    def __rpow__(self, other):
        return _binary(_POW_SCALAR_BASE, self, other, "pow", reverse=True, check=_check_pow)

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
            return self._from_array(~self._data)
        if self.dtype.is_floating_point:
            raise TypeError("~ (bitwise_not) is only supported on integer and bool tensors")
        return self._from_array(~self._data)

    def __and__(self, other):
        return self._from_array(self._data & _arr(other))

    def __or__(self, other):
        return self._from_array(self._data | _arr(other))

    def __xor__(self, other):
        return self._from_array(self._data ^ _arr(other))

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

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
        other = _to_operand(other, self)
        a, b = _promote_pair(self, other)
        if reverse:
            a, b = (b if isinstance(b, TensorBase) else a.new_tensor(b)), a
        _check_integer_division(a, b, "div_floor")
        bd = b._data if isinstance(b, TensorBase) else b
        try:
            return self._from_array(xp_of(a._data).floor_divide(a._data, bd))
        except ValueError as e:
            if "broadcast" in str(e):
                raise _broadcast_error(a, b, "floor_divide") from None
            raise

    def remainder(self, other):
        return self % other

    def fmod(self, other):
        return self._from_array(xp_of(self._data).fmod(self._data, _arr(other)))

    def pow(self, exponent):
        return self ** exponent
