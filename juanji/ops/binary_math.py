"""Elementwise functions of two (or three) tensors beyond plain arithmetic: ``atan2``, ``hypot``,
``copysign``, ``xlogy``, ``logaddexp``/``logaddexp2``, ``fmax``/``fmin``, ``ldexp``, the
incomplete gamma functions, ``addcmul``/``addcdiv``.

Inputs arrive promoted to one floating dtype and may broadcast; backward may return gradients in
the broadcast shape (the engine sums them back to each input's shape).
"""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..backend import xp_of
from ..kernels import special as K
from .elementwise import quiet

__all__ = ["Atan2", "Hypot", "Copysign", "Xlogy", "LogAddExp", "LogAddExp2", "Fmax", "Fmin", "Ldexp", "Igamma",
           "Igammac", "Addcmul", "Addcdiv"]


class Atan2(Op):
    """y = atan2(a, b), the angle of the point (b, a);  dy/da = b / (a^2 + b^2),  dy/db = -a / (a^2 + b^2)
    (both 0 at the origin, as in torch)."""

    @quiet
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).arctan2(a, b)

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        r2 = self.a * self.a + self.b * self.b
        scale = xp.where(r2 == 0, g.dtype.type(0), g / xp.where(r2 == 0, 1, r2))  # torch: 0 at the origin
        return scale * self.b, -scale * self.a


class Hypot(Op):
    """y = sqrt(a^2 + b^2) without overflow;  dy/da = a / y,  dy/db = b / y."""

    @quiet
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = xp_of(a).hypot(a, b)
        return self.y

    @quiet
    def backward(self, g):
        return g * self.a / self.y, g * self.b / self.y


class Copysign(Op):
    """y = |a| with the sign of b (also of -0.0);  dy/da = y / a (+-1; 0 at a = 0),  dy/db = 0."""

    def forward(self, a, b):
        self.a = a
        self.y = xp_of(a).copysign(a, b)
        return self.y

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        ratio = xp.where(self.a == 0, g.dtype.type(0), self.y / xp.where(self.a == 0, 1, self.a))
        return g * ratio, (xp.zeros_like(g) if self.needs_input_grad[1] else None)


def _as_arrays(xp, a, b):
    """A Python-number operand as a 0-d array of the other one's dtype (NumPy's log of a Python
    float is float64, which would widen a float32 result)."""
    if not hasattr(a, "dtype"):
        a = xp.asarray(a, dtype=b.dtype)
    if not hasattr(b, "dtype"):
        b = xp.asarray(b, dtype=a.dtype)
    return a, b


class Xlogy(Op):
    """y = a log b, and 0 where a == 0 (unless b is NaN);

    dy/da = log b (0 where a == 0 and b <= 0),  dy/db = a / b.
    """

    @quiet
    def forward(self, a, b):
        xp = xp_of(a)
        a, b = _as_arrays(xp, a, b)
        self.a, self.b = a, b
        y = a * xp.log(b)
        return xp.where((a == 0) & ~xp.isnan(b), y.dtype.type(0), y)

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        a, b = self.a, self.b
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = xp.where((a == 0) & (b <= 0), g.dtype.type(0), g * xp.log(b))
            ga = xp.where((g == 0) & ~xp.isnan(b), g.dtype.type(0), ga)  # torch's xlogy(g, b)
        if self.needs_input_grad[1]:
            gb = g * a / b
        return ga, gb


class LogAddExp(Op):
    """y = log(e^a + e^b), computed as max + log1p(e^-|a - b|);  dy/da = 1 / (1 + e^(b - a))."""

    node_name = "LogaddexpBackward0"
    base_log = 1.0

    @quiet
    def forward(self, a, b):
        xp = xp_of(a)
        self.a, self.b = a, b
        return xp.logaddexp(a, b) if self.base_log == 1.0 else xp.logaddexp2(a, b)

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        d = (self.b - self.a) * g.dtype.type(self.base_log)  # ln 2 (b - a) for base 2
        return g / (1 + xp.exp(d)), g / (1 + xp.exp(-d))  # (nan where a == b == +-inf, as in torch)


class LogAddExp2(LogAddExp):
    """y = log2(2^a + 2^b);  dy/da = 1 / (1 + 2^(b - a))."""

    node_name = "Logaddexp2Backward0"
    base_log = math.log(2.0)


class Fmax(Op):
    """Elementwise max ignoring NaN (NaN only where both are); the gradient goes to a where
    a >= b or b is NaN (ties to a), else to b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).fmax(a, b)

    def backward(self, g):
        xp = xp_of(g)
        to_a = (self.a >= self.b) | xp.isnan(self.b)
        zero = g.dtype.type(0)
        return xp.where(to_a, g, zero), xp.where(to_a, zero, g)


class Fmin(Op):
    """Elementwise min ignoring NaN; the gradient goes to a where a <= b or b is NaN, else to b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).fmin(a, b)

    def backward(self, g):
        xp = xp_of(g)
        to_a = (self.a <= self.b) | xp.isnan(self.b)
        zero = g.dtype.type(0)
        return xp.where(to_a, g, zero), xp.where(to_a, zero, g)


class Ldexp(Op):
    """y = a 2^b;  dy/da = 2^b,  dy/db = y ln 2."""

    @quiet
    def forward(self, a, b):
        self.scale = xp_of(b).exp2(b)
        self.y = a * self.scale
        return self.y

    @quiet
    def backward(self, g):
        return g * self.scale, g * self.y * g.dtype.type(math.log(2.0))


class Igamma(Op):
    """y = P(a, x), the regularised lower incomplete gamma function;

    dy/dx = x^(a-1) e^-x / Gamma(a); the derivative in a is not implemented (as in torch).
    """

    sign = 1.0

    def forward(self, a, x):
        self.a, self.x = a, x
        return K.igamma(a, x) if self.sign > 0 else K.igammac(a, x)

    @quiet
    def backward(self, g):
        if self.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{type(self).__qualname__.lower()}: input' is not "
                                      "implemented.")
        xp = xp_of(g)
        a, x = self.a, self.x
        density = xp.exp((a - 1) * xp.log(x) - x - K.lgamma(a))
        return None, g * density * g.dtype.type(self.sign)


class Igammac(Igamma):
    """y = Q(a, x) = 1 - P(a, x);  dy/dx = -x^(a-1) e^-x / Gamma(a)."""

    sign = -1.0


class Addcmul(Op):
    """y = s + v t1 t2;  dy/ds = 1,  dy/dt1 = v t2,  dy/dt2 = v t1."""

    @quiet
    def forward(self, s, t1, t2, value=1):
        self.t1, self.t2, self.value = t1, t2, value
        return s + value * (t1 * t2)

    @quiet
    def backward(self, g):
        n_s, n1, n2 = self.needs_input_grad
        v = self.value
        return (g if n_s else None), (g * v * self.t2 if n1 else None), (g * v * self.t1 if n2 else None)


class Addcdiv(Op):
    """y = s + v t1 / t2;  dy/ds = 1,  dy/dt1 = v / t2,  dy/dt2 = -v t1 / t2^2."""

    @quiet
    def forward(self, s, t1, t2, value=1):
        self.t1, self.t2, self.value = t1, t2, value
        return s + value * (t1 / t2)

    @quiet
    def backward(self, g):
        n_s, n1, n2 = self.needs_input_grad
        v = self.value
        g1 = g * v / self.t2 if n1 else None
        g2 = -g * v * self.t1 / (self.t2 * self.t2) if n2 else None
        return (g if n_s else None), g1, g2
