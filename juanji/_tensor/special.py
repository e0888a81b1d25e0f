"""Tensor methods for the rest of torch's pointwise functions: hyperbolic and inverse trigonometric
functions, ``exp2``, the error and gamma families, ``i0``, ``sinc``, ``logit``, ``nan_to_num``,
``atan2``, ``hypot``, ``copysign``, ``xlogy``, ``logaddexp``, ``fmax``/``fmin``, ``float_power``,
``ldexp``, ``igamma``, ``addcmul``/``addcdiv``; the integer ones (``gcd``, ``lcm``, the bitwise
functions, ``heaviside``); the real-number answers of the complex-number functions (``real``,
``conj``, ``angle``, ``is_complex``); and the in-place ``_`` form of each one torch has.

As in torch, integer and bool input of a floating function gives the default float dtype;
functions that torch defines only on Tensors refuse Python numbers with its TypeError.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.grad_mode import _state
from ..autograd.tensor_base import TensorBase
from ..backend import xp_of
from ..ops import binary_math as B
from ..ops import elementwise as E
from ..ops import special as P
from .arguments import _py_bool, _py_float, _py_int
from .binary import _binary, _compare, _promote_pair, _to_operand

__all__ = ["_SpecialMath", "require_tensor"]

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_COPYSIGN_NUMBER = B.Copysign.variant("CopysignBackward1")
_XLOGY_NUMBER_SELF = B.Xlogy.variant("XlogyBackward1")
_XLOGY_NUMBER_OTHER = B.Xlogy.variant("XlogyBackward2")
_FLOAT_POWER_TENSOR = E.Pow.variant("PowBackward1")
_FLOAT_POWER_NUMBER = E.Pow.variant("PowBackward0")
_FLOAT_POWER_BASE = E.Pow.variant("PowBackward2")
_FIX = E.ZeroGrad.variant("TruncBackward0")


def require_tensor(value, function, argument="other", position=2):
    """torch's TypeError for a function that takes only a Tensor in this place."""
    if not isinstance(value, TensorBase):
        raise TypeError(f"{function}(): argument '{argument}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")


def _dtype_label(d) -> str:
    """torch's name of a dtype in its 'not implemented for' errors: Long, Float, Bool, ..."""
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}.get(d.name, d.name)


def _not_implemented(kernel, d):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_dtype_label(d)}\'')


class _SpecialMath:
    """Tensor methods: torch's further pointwise functions and their in-place forms."""

    # ------------------------------------------------------------ one tensor, floating result
    def _unary(self, op, *params):
        return op.apply(self._floating(), *params)

    def sinh(self):
        return self._unary(P.Sinh)

    def cosh(self):
        return self._unary(P.Cosh)

    def asinh(self):
        return self._unary(P.Asinh)

    def acosh(self):
        return self._unary(P.Acosh)

    def atanh(self):
        return self._unary(P.Atanh)

    def asin(self):
        return self._unary(P.Asin)

    def acos(self):
        return self._unary(P.Acos)

    def atan(self):
        return self._unary(P.Atan)

    arcsinh, arccosh, arctanh, arcsin, arccos, arctan = asinh, acosh, atanh, asin, acos, atan

    def exp2(self):
        return self._unary(P.Exp2)

    def erf(self):
        return self._unary(P.Erf)

    def erfc(self):
        return self._unary(P.Erfc)

    def erfinv(self):
        return self._unary(P.Erfinv)

    def lgamma(self):
        return self._unary(P.Lgamma)

    def digamma(self):
        return self._unary(P.Digamma)

    def polygamma(self, n):
        """The n-th derivative of digamma (``torch.polygamma(n, x)`` is ``x.polygamma(n)``)."""
        if not isinstance(n, _py_int) or isinstance(n, _py_bool):
            raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return self._unary(P.Polygamma, n)

    def mvlgamma(self, p):
        """The multivariate log-gamma function of dimension p (real for elements above (p - 1) / 2)."""
        if not isinstance(p, _py_int) or isinstance(p, _py_bool):
            raise TypeError(f"mvlgamma(): argument 'p' must be int, not {type(p).__name__}")
        if p < 1:
            raise RuntimeError("p has to be greater than or equal to 1")
        return P.Mvlgamma.apply(self._floating(), p)

    def i0(self):
        return self._unary(P.I0)

    def sinc(self):
        return self._unary(P.Sinc)

    def logit(self, eps=None):
        """log(x / (1 - x)), x first clipped to [eps, 1 - eps] when eps is given."""
        return self._unary(P.Logit, None if eps is None else float(eps))

    def deg2rad(self):
        return self._unary(P.Deg2Rad)

    def rad2deg(self):
        return self._unary(P.Rad2Deg)

    def angle(self):
        """The argument of each (real) number: 0 for x >= 0, pi for x < 0."""
        return P.Angle.apply(self._floating())

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest), -inf -> ``neginf``."""
        if not self.dtype.is_floating_point:
            return self.clone()
        return P.NanToNum.apply(self, nan, posinf, neginf)

    def frexp(self):
        """(mantissa, exponent) with self = mantissa * 2**exponent, 0.5 <= |mantissa| < 1."""
        from .reductions import return_types
        if not self.dtype.is_floating_point:
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        mantissa, exponent = P.Frexp.apply(self)
        return return_types.frexp(mantissa, exponent)

    def fix(self):
        """Rounding toward zero (the same as ``trunc``)."""
        self._not_for_bool("trunc_vml_cpu")
        if not self.dtype.is_floating_point:
            return self.clone()
        if self.requires_grad and _state.enabled:
            return _FIX.apply(self, xp_of(self._data).trunc)
        return self._from_array(xp_of(self._data).trunc(self._data))

    def positive(self):
        """The tensor itself (``+x``); torch refuses bools."""
        if self.dtype is dt.bool:
            raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def signbit(self):
        """True where the sign bit is set (negative numbers, -0.0, -inf, NaNs with the bit)."""
        return self._from_array(xp_of(self._data).signbit(self._data))

    # ------------------------------------------------ questions; complex-number functions on real tensors
    def is_nonzero(self) -> bool:
        """Whether the one element of this tensor is not zero."""
        if self._data.size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if self._data.size > 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(-1)[0] != 0)

    def is_complex(self) -> bool:
        return False

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def conj(self):
        return self

    def resolve_conj(self):
        return self

    def resolve_neg(self):
        return self

    def conj_physical(self):
        return self

    @property
    def real(self):
        return self

    @property
    def imag(self):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    # ------------------------------------------------------------ two tensors, floating result
    def _float_binary(self, op, other, name, tensor_only=True, integers=True):
        """Promote self and other to their floating result dtype and apply ``op``."""
        if tensor_only:
            require_tensor(other, name)
        other = _to_operand(other, self)
        a, b = _promote_pair(self, other)
        if not a.dtype.is_floating_point and not integers:
            raise _not_implemented(f"{name}_cpu", a.dtype)
        return _binary(op, a, b, name, true_div=True)

    def atan2(self, other):
        return self._float_binary(B.Atan2, other, "atan2")

    arctan2 = atan2

    def hypot(self, other):
        return self._float_binary(B.Hypot, other, "hypot", integers=False)

    def logaddexp(self, other):
        return self._float_binary(B.LogAddExp, other, "logaddexp", integers=False)

    def logaddexp2(self, other):
        return self._float_binary(B.LogAddExp2, other, "logaddexp2", integers=False)

    def ldexp(self, other):
        """self * 2**other."""
        return self._float_binary(B.Ldexp, other, "ldexp")

    def igamma(self, other):
        """The regularised lower incomplete gamma function P(self, other)."""
        return self._float_binary(B.Igamma, other, "igamma", integers=False)

    def igammac(self, other):
        """The regularised upper incomplete gamma function Q(self, other) = 1 - P(self, other)."""
        return self._float_binary(B.Igammac, other, "igammac", integers=False)

    def copysign(self, other):
        """|self| with the sign of other (a Tensor or a number)."""
        op = B.Copysign if isinstance(other, type(self)) else _COPYSIGN_NUMBER
        return self._float_binary(op, other, "copysign", tensor_only=False)

    def xlogy(self, other):
        """self * log(other), 0 where self == 0."""
        op = B.Xlogy if isinstance(other, type(self)) else _XLOGY_NUMBER_OTHER
        return self._float_binary(op, other, "xlogy", tensor_only=False)

    def _rxlogy(self, number):
        """``torch.xlogy(number, self)``: number * log(self)."""
        x = self._floating()
        return _binary(_XLOGY_NUMBER_SELF, x, number, "xlogy", reverse=True)

    def float_power(self, exponent):
        """self ** exponent computed in float64 (the result is float64)."""
        base = self._cast(dt.float64)
        if isinstance(exponent, type(self)):
            return _binary(_FLOAT_POWER_TENSOR, base, exponent._cast(dt.float64), "float_power")
        return _binary(_FLOAT_POWER_NUMBER, base, _py_float(exponent), "float_power")

    def _rfloat_power(self, base):
        """``torch.float_power(number, self)``: number ** self in float64."""
        return _binary(_FLOAT_POWER_BASE, self._cast(dt.float64), _py_float(base), "float_power", reverse=True)

    def fmax(self, other):
        """Elementwise maximum that ignores NaN (NaN only where both are)."""
        require_tensor(other, "fmax")
        a, b = _promote_pair(self, other)
        return _binary(B.Fmax, a, b, "fmax")

    def fmin(self, other):
        """Elementwise minimum that ignores NaN (NaN only where both are)."""
        require_tensor(other, "fmin")
        a, b = _promote_pair(self, other)
        return _binary(B.Fmin, a, b, "fmin")

    def nextafter(self, other):
        """The next floating-point number after self in the direction of other (no gradient)."""
        require_tensor(other, "nextafter")
        a, b = _promote_pair(self, other)
        if not a.dtype.is_floating_point:
            raise _not_implemented("nextafter_cpu", a.dtype)
        return _compare(a, b, xp_of(a._data).nextafter, "nextafter")

    def addcmul(self, tensor1, tensor2, value=1):
        """self + value * tensor1 * tensor2."""
        return self._ternary(B.Addcmul, tensor1, tensor2, value, "addcmul")

    def addcdiv(self, tensor1, tensor2, value=1):
        """self + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused, as in torch)."""
        if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release "
                               "addcdiv will perform a true division of tensor1 and tensor2. The historic "
                               "addcdiv behavior can be implemented as (input + value * torch.trunc(tensor1 / "
                               "tensor2)).to(input.dtype) for integer inputs and as (input + value * tensor1 / "
                               "tensor2) for float inputs. The future addcdiv behavior is just the latter "
                               "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
        return self._ternary(B.Addcdiv, tensor1, tensor2, value, "addcdiv")

    def _ternary(self, op, t1, t2, value, name):
        require_tensor(t1, name, "tensor1")
        require_tensor(t2, name, "tensor2", 3)
        target = dt.result_type(dt.result_type(self, t1), t2)
        arrays = [t._cast(target) for t in (self, t1, t2)]
        try:
            xp_of(self._data).broadcast_shapes(self._data.shape, t1._data.shape, t2._data.shape)
        except ValueError:
            raise RuntimeError(f"{name}: shapes {list(self.shape)}, {list(t1.shape)} and {list(t2.shape)} cannot "
                               "be broadcast together") from None
        return op.apply(*arrays, value=value)

    # ------------------------------------------------------------------ integers and bits
    def _integer_binary(self, other, name, kernel, ufunc, bools=True):
        require_tensor(other, name)
        a, b = _promote_pair(self, other)
        if a.dtype.is_floating_point or (a.dtype is dt.bool and not bools):
            raise _not_implemented(kernel, a.dtype)
        return _compare(a, b, ufunc, name)

    def gcd(self, other):
        return self._integer_binary(other, "gcd", "gcd_cpu", np.gcd, bools=False)

    def lcm(self, other):
        return self._integer_binary(other, "lcm", "lcm_cpu", np.lcm, bools=False)

    def _bitwise(self, other, name, kernel, ufunc):
        if not isinstance(other, (type(self), _py_int, _py_bool)):
            if isinstance(other, _py_float):
                raise _not_implemented(kernel, dt.float32 if self.dtype is not dt.float64 else dt.float64)
            require_tensor(other, name)
        a, b = _promote_pair(self, _to_operand(other, self))
        if a.dtype.is_floating_point:
            raise _not_implemented(kernel, a.dtype)
        return _compare(a, b, ufunc, name)

    def bitwise_and(self, other):
        return self._bitwise(other, "bitwise_and", "bitwise_and_cpu", np.bitwise_and)

    def bitwise_or(self, other):
        return self._bitwise(other, "bitwise_or", "bitwise_or_cpu", np.bitwise_or)

    def bitwise_xor(self, other):
        return self._bitwise(other, "bitwise_xor", "bitwise_xor_cpu", np.bitwise_xor)

    def bitwise_left_shift(self, other):
        return self._bitwise(other, "bitwise_left_shift", "lshift_cpu", np.left_shift)

    def bitwise_right_shift(self, other):
        return self._bitwise(other, "bitwise_right_shift", "rshift_cpu", np.right_shift)

    def bitwise_not(self):
        if self.dtype.is_floating_point:
            raise _not_implemented("bitwise_not_cpu", self.dtype)
        return self._from_array(xp_of(self._data).invert(self._data))

    def logical_xor(self, other):
        other = _to_operand(other, self)
        a = self._data
        b = other._data if isinstance(other, type(self)) else other
        try:
            return self._from_array(xp_of(a).logical_xor(a, b))
        except ValueError:
            from .binary import _broadcast_error
            raise _broadcast_error(self, other, "logical_xor") from None

    def heaviside(self, values):
        """0 where self < 0, ``values`` where self == 0, 1 where self > 0 (NaN stays NaN); no gradient."""
        require_tensor(values, "heaviside", "values")
        if values.dtype is not self.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
        xp = xp_of(self._data)
        try:
            return self._from_array(xp.heaviside(self._data, values._data).astype(self._data.dtype))
        except ValueError:
            from .binary import _broadcast_error
            raise _broadcast_error(self, values, "heaviside") from None
