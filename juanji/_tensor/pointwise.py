"""Elementwise math on a tensor: ``exp``, ``log``, ``sqrt``, ``sin``, ``tanh``, ``sigmoid``, ``relu``,
``sign``, ``floor``, ``round``, ``clamp``, ``maximum``, ``lerp``, ...

Integer and bool inputs of the floating functions (``exp``, ``log``, ``sin``, ...) are computed in
the default float dtype, as torch does (``_floating``). The piecewise-constant functions
(``sign``, ``floor``, ``ceil``, ``trunc``, ``round``) have a zero gradient.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.grad_mode import _state
from ..autograd.tensor_base import TensorBase
from ..backend import xp_of
from ..ops import elementwise as E
from .arguments import _py_float
from .arithmetic import _SQUARE
from .binary import _binary

__all__ = ["_Pointwise"]

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_RECIPROCAL = E.Div.variant("ReciprocalBackward0")          # x.reciprocal(), computed as 1 / x
_LOG1P = E.Log1p.variant("Log1PBackward0")
_CLAMP = E.Clamp.variant("ClampBackward1")                  # clamp with number bounds
_CLAMP_MIN = E.Clamp.variant("ClampMinBackward0")
_CLAMP_MAX = E.Clamp.variant("ClampMaxBackward0")
_PIECEWISE_CONSTANT = {name: E.ZeroGrad.variant(f"{name}Backward0")   # sign, floor, ...: zero gradients
                       for name in ("Sign", "Sgn", "Floor", "Ceil", "Trunc", "Round")}
# methods computed from others here, whose last node takes the method's name as in torch
_EXPM1 = E.Sub.variant("Expm1Backward0")                    # exp(x) - 1
_LOG2 = E.Div.variant("Log2Backward0")                      # log(x) / log(2)
_LOG10 = E.Div.variant("Log10Backward0")
_TAN = E.Div.variant("TanBackward0")                        # sin(x) / cos(x)
_FRAC = E.Sub.variant("FracBackward0")                      # x - trunc(x)
_LERP = E.Add.variant("LerpBackward0")                      # x + (end - x) * weight


class _Pointwise:
    """Tensor methods: elementwise functions."""

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
        return self._from_array(fn(self._data))

    def sign(self):
        if self.dtype is dt.bool:
            return self.clone()
        return self._piecewise_constant(E.sign, "Sign")  # torch's: 0 for NaN

    def sgn(self):
        if self.dtype is dt.bool:
            return self.clone()
        return self._piecewise_constant(E.sign, "Sgn")

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
        with_tensors = isinstance(min, TensorBase) or isinstance(max, TensorBase)
        return self._clamp(min, max, E.Clamp if with_tensors else _CLAMP)

    def _clamp(self, min, max, op):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        # a one-element bound that needs no gradient acts as a number (torch's promotion of a
        # 0-d bound); one that requires grad stays a tensor so that it gets its gradient
        lo = min.item() if isinstance(min, TensorBase) and min.numel() == 1 and not min.requires_grad else min
        hi = max.item() if isinstance(max, TensorBase) and max.numel() == 1 and not max.requires_grad else max
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
