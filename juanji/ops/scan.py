"""Scans along one dim: the running product and the running log-sum-exp (the running sum and the
running max/min are in ``reduce.py`` and ``order_stats.py``).

Notation, along the scanned dim: x_0 .. x_{n-1} the input, y_i the output at i, g_i the gradient
arriving at y_i, and a "reverse cumulative sum" rsum(v)_j = sum_{i >= j} v_i.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp_of
from .elementwise import quiet

__all__ = ["Cumprod", "LogCumSumExp"]


def _rsum(xp, v, axis):
    """sum_{i >= j} v_i for every j along ``axis``."""
    return xp.flip(xp.cumsum(xp.flip(v, axis), axis=axis), axis)


class Cumprod(Op):
    """y_i = x_0 x_1 ... x_i.

    dL/dx_j = sum_{i >= j} g_i prod_{k <= i, k != j} x_k. Without zeros that is rsum(g y)_j / x_j.
    With a first zero at z in a slice: for j < z only the outputs before z count (the later ones
    contain x_z = 0), rsum(g y [i < z])_j / x_j; for j = z it is sum_{i >= z} g_i y'_i, where y' is
    the running product with x_z replaced by 1; for j > z every term contains x_z, so 0.
    """

    @quiet
    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.y = xp_of(x).cumprod(x, axis=axis)
        return self.y

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        x, y, axis = self.x, self.y, self.axis
        zero = x == 0
        if not zero.any():
            return (_rsum(xp, g * y, axis) / x,)
        seen = xp.cumsum(zero, axis=axis)  # zeros met up to and including i
        before_first = seen == 0
        first = zero & (seen == 1)
        gx = xp.where(before_first, _rsum(xp, xp.where(before_first, g * y, 0), axis) / xp.where(zero, 1, x), 0)
        y_without_first = xp.cumprod(xp.where(first, 1, x), axis=axis)
        from_first = seen >= 1
        at_first = xp.sum(xp.where(from_first, g * y_without_first, 0), axis=axis, keepdims=True)
        gx = xp.where(first, at_first, gx)
        return (gx.astype(g.dtype),)


class LogCumSumExp(Op):
    """y_i = log sum_{k <= i} exp(x_k), computed by logaddexp.accumulate (no overflow).

    dL/dx_j = sum_{i >= j} g_i exp(x_j - y_i). Computed stably: with g split into its positive and
    negative parts, sum_{i >= j} g_i^+ exp(-y_i) = exp(R+_j), where R+ is a reverse running
    log-sum-exp of log g_i^+ - y_i (the same for g^-), so dL/dx_j = exp(x_j + R+_j) - exp(x_j + R-_j).
    """

    node_name = "LogcumsumexpBackward0"

    @quiet
    def forward(self, x, axis):
        self.x, self.axis = x, axis
        self.y = xp_of(x).logaddexp.accumulate(x, axis=axis) if x.shape[axis] else x.copy()
        return self.y

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        x, y, axis = self.x, self.y, self.axis
        if g.shape[axis] == 0:
            return (g,)

        def reverse_lse(v):
            return xp.flip(xp.logaddexp.accumulate(xp.flip(v, axis), axis=axis), axis)

        minus_inf = g.dtype.type(-xp.inf)
        positive = reverse_lse(xp.where(g > 0, xp.log(xp.where(g > 0, g, 1)) - y, minus_inf))
        negative = reverse_lse(xp.where(g < 0, xp.log(xp.where(g < 0, -g, 1)) - y, minus_inf))
        return (xp.exp(x + positive) - xp.exp(x + negative),)
