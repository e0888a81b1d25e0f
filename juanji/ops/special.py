"""Elementwise functions of one tensor beyond the basic ones in ``elementwise.py``: hyperbolic and
inverse trigonometric functions, ``exp2``, the error and gamma families, Bessel ``i0``, ``sinc``,
``logit``, angle conversions, ``nan_to_num``.

Each Op is ``y = f(x)`` with its derivative ``dy/dx`` written next to it; ``_Unary`` supplies the
chain rule ``dL/dx = g * dy/dx``. Arrays arrive already floating (the Tensor layer casts integer
input to the default dtype, as torch does). The special functions' values come from
``juanji/kernels/special.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of
from ..kernels import special as K
from .elementwise import quiet

__all__ = ["Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Asin", "Acos", "Atan", "Exp2", "Erf", "Erfc", "Erfinv",
           "Lgamma", "Digamma", "Polygamma", "Mvlgamma", "I0", "Sinc", "Logit", "Deg2Rad", "Rad2Deg",
           "NanToNum", "Frexp", "Angle", "without_derivative"]


class _Unary(Op):
    """y = f(x);  dL/dx = g * f'(x). Subclasses define ``value(x)`` and ``slope(x, y)`` = f'(x)."""

    @quiet  # inf and nan arise silently, as in torch (asin(2), lgamma(0), ...)
    def forward(self, x):
        self.x = x
        self.y = self.value(x)
        return self.y

    @quiet
    def backward(self, g):
        return (g * self.slope(self.x, self.y),)


class Sinh(_Unary):
    """y = sinh x;  dy/dx = cosh x."""

    def value(self, x):
        return xp_of(x).sinh(x)

    def slope(self, x, y):
        return xp_of(x).cosh(x)


class Cosh(_Unary):
    """y = cosh x;  dy/dx = sinh x."""

    def value(self, x):
        return xp_of(x).cosh(x)

    def slope(self, x, y):
        return xp_of(x).sinh(x)


class Asinh(_Unary):
    """y = asinh x;  dy/dx = 1 / sqrt(x^2 + 1)."""

    def value(self, x):
        return xp_of(x).arcsinh(x)

    def slope(self, x, y):
        return 1 / xp_of(x).sqrt(x * x + 1)


class Acosh(_Unary):
    """y = acosh x (x >= 1);  dy/dx = 1 / sqrt(x^2 - 1)."""

    def value(self, x):
        return xp_of(x).arccosh(x)

    def slope(self, x, y):
        return 1 / xp_of(x).sqrt(x * x - 1)


class Atanh(_Unary):
    """y = atanh x (|x| <= 1);  dy/dx = 1 / (1 - x^2)."""

    def value(self, x):
        return xp_of(x).arctanh(x)

    def slope(self, x, y):
        return 1 / (1 - x * x)


class Asin(_Unary):
    """y = asin x (|x| <= 1);  dy/dx = 1 / sqrt(1 - x^2)."""

    def value(self, x):
        return xp_of(x).arcsin(x)

    def slope(self, x, y):
        return 1 / xp_of(x).sqrt(1 - x * x)


class Acos(_Unary):
    """y = acos x (|x| <= 1);  dy/dx = -1 / sqrt(1 - x^2)."""

    def value(self, x):
        return xp_of(x).arccos(x)

    def slope(self, x, y):
        return -1 / xp_of(x).sqrt(1 - x * x)


class Atan(_Unary):
    """y = atan x;  dy/dx = 1 / (1 + x^2)."""

    def value(self, x):
        return xp_of(x).arctan(x)

    def slope(self, x, y):
        return 1 / (1 + x * x)


class Exp2(_Unary):
    """y = 2^x;  dy/dx = y ln 2."""

    def value(self, x):
        return xp_of(x).exp2(x)

    def slope(self, x, y):
        return y * y.dtype.type(math.log(2.0))


class Erf(_Unary):
    """y = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt;  dy/dx = 2/sqrt(pi) e^(-x^2)."""

    def value(self, x):
        return K.erf(x)

    def slope(self, x, y):
        return x.dtype.type(2 / math.sqrt(math.pi)) * xp_of(x).exp(-x * x)


class Erfc(_Unary):
    """y = erfc x = 1 - erf x;  dy/dx = -2/sqrt(pi) e^(-x^2)."""

    def value(self, x):
        return K.erfc(x)

    def slope(self, x, y):
        return x.dtype.type(-2 / math.sqrt(math.pi)) * xp_of(x).exp(-x * x)


class Erfinv(_Unary):
    """y = erfinv x, the inverse of erf;  dy/dx = sqrt(pi)/2 e^(y^2)."""

    def value(self, x):
        return K.erfinv(x)

    def slope(self, x, y):
        return x.dtype.type(math.sqrt(math.pi) / 2) * xp_of(y).exp(y * y)


class Lgamma(_Unary):
    """y = log |Gamma(x)|;  dy/dx = digamma(x)."""

    def value(self, x):
        return K.lgamma(x)

    def slope(self, x, y):
        return K.digamma(x)


class Digamma(_Unary):
    """y = digamma(x) = d/dx log Gamma(x);  dy/dx = polygamma(1, x)."""

    def value(self, x):
        return K.digamma(x)

    def slope(self, x, y):
        return K.polygamma(1, x)


class Polygamma(_Unary):
    """y = polygamma(n, x), the n-th derivative of digamma;  dy/dx = polygamma(n + 1, x)."""

    def forward(self, x, n):
        self.n = n
        return super().forward(x)

    def value(self, x):
        return K.polygamma(self.n, x)

    def slope(self, x, y):
        return K.polygamma(self.n + 1, x)


class Mvlgamma(_Unary):
    """The multivariate log-gamma function of dimension p:

        y = p (p - 1) / 4 * log(pi) + sum_{i=0}^{p-1} lgamma(x - i/2);   dy/dx = sum_i digamma(x - i/2).
    """

    def forward(self, x, p):
        self.p = p
        return super().forward(x)

    def _shifts(self, x):
        return [x - x.dtype.type(i / 2) for i in range(self.p)]

    def value(self, x):
        total = sum(K.lgamma(s) for s in self._shifts(x))
        return (total + x.dtype.type(self.p * (self.p - 1) / 4 * math.log(math.pi))).astype(x.dtype)

    def slope(self, x, y):
        return sum(K.digamma(s) for s in self._shifts(x)).astype(x.dtype)


class I0(_Unary):
    """y = I_0(x), the modified Bessel function of order 0;  dy/dx = I_1(x)."""

    def value(self, x):
        return K.i0(x)

    def slope(self, x, y):
        return K.i1(x)


class Sinc(_Unary):
    """y = sin(pi x) / (pi x), 1 at x = 0;  dy/dx = (cos(pi x) - y) / x, 0 at x = 0."""

    def value(self, x):
        xp = xp_of(x)
        px = x * x.dtype.type(math.pi)
        return xp.where(x == 0, x.dtype.type(1), xp.sin(px) / xp.where(x == 0, 1, px))

    def slope(self, x, y):
        xp = xp_of(x)
        safe = xp.where(x == 0, 1, x)
        return xp.where(x == 0, x.dtype.type(0), (xp.cos(x * x.dtype.type(math.pi)) - y) / safe)


class Logit(_Unary):
    """y = log(z / (1 - z)) with z = x clipped to [eps, 1 - eps] (no clipping when eps is None);

    dy/dx = 1 / (x (1 - x)), and 0 where the clip is active (x < eps or x > 1 - eps).
    """

    def forward(self, x, eps=None):
        self.eps = eps
        return super().forward(x)

    def value(self, x):
        z = x if self.eps is None else xp_of(x).clip(x, self.eps, 1 - self.eps)
        return xp_of(x).log(z / (1 - z))

    def slope(self, x, y):
        slope = 1 / (x * (1 - x))
        if self.eps is None:
            return slope
        xp = xp_of(x)
        inside = (x >= self.eps) & (x <= 1 - self.eps)
        return xp.where(inside, slope, x.dtype.type(0))


class Deg2Rad(_Unary):
    """y = x pi / 180;  dy/dx = pi / 180."""

    def value(self, x):
        return x * x.dtype.type(math.pi / 180)

    def slope(self, x, y):
        return x.dtype.type(math.pi / 180)


class Rad2Deg(_Unary):
    """y = x 180 / pi;  dy/dx = 180 / pi."""

    def value(self, x):
        return x * x.dtype.type(180 / math.pi)

    def slope(self, x, y):
        return x.dtype.type(180 / math.pi)


class NanToNum(Op):
    """y = x with NaN, +inf and -inf replaced by numbers;  dy/dx = 1 where x is finite, else 0."""

    def forward(self, x, nan, posinf, neginf):
        self.x = x
        xp = xp_of(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return (xp_of(g).where(xp_of(g).isfinite(self.x), g, g.dtype.type(0)),)


class Frexp(Op):
    """(m, e) with x = m 2^e, 0.5 <= |m| < 1 (m = x for 0, inf, nan);  dm/dx = 2^-e."""

    def forward(self, x):
        m, e = xp_of(x).frexp(x)
        self.e = e
        return m, e.astype(np.int32)

    def backward(self, g):
        return (xp_of(g).ldexp(g, -self.e),)


class Angle(Op):
    """The argument of a real number: 0 for x >= 0, pi for x < 0, nan for nan;  gradient 0."""

    def forward(self, x):
        xp = xp_of(x)
        y = xp.where(x < 0, x.dtype.type(math.pi), x.dtype.type(0))
        return xp.where(xp.isnan(x), x, y)

    def backward(self, g):
        return (xp_of(g).zeros_like(g),)


def without_derivative(op: type, node_name: str, what: str) -> type:
    """``op`` under torch's ``node_name`` with a backward that raises torch's NotImplementedError
    (torch records ``x.acosh_()`` as ``AcoshBackward1`` but has no derivative for it)."""

    def backward(self, g):
        raise NotImplementedError(f"the derivative for '{what}' is not implemented.")

    return type(op)(op.__name__, (op,), {"node_name": node_name, "backward": backward,
                                         "__module__": op.__module__, "__qualname__": op.__qualname__})
