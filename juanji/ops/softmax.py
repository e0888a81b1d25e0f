"""Softmax and log-softmax along one axis: the primitives behind ``Tensor.softmax``,
``Tensor.log_softmax`` and ``nn.functional``'s ``softmax``, ``log_softmax`` and ``softmin``
(which call them directly), and ``log_softmax_array`` for the fused cross entropy (ops/loss.py).

Notation: ``x`` input, ``y`` output, ``g`` the gradient arriving at ``y``, sums along the axis:

    softmax      y = exp(x - max) / sum(exp(x - max))      dx = y * (g - sum(g * y))
    log_softmax  y = x - max - log(sum(exp(x - max)))      dx = g - exp(y) * sum(g)

Subtracting the max keeps exp finite; a +inf max gives nan, silently, as in torch. A 0-d input
is one element along axis 0 (its softmax is 1), and an empty input gives an empty output.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp_of
from ..kernels.errstate import quiet

__all__ = ["Softmax", "LogSoftmax", "log_softmax_array"]


@quiet
def log_softmax_array(x, axis):
    """``x - max - log(sum(exp(x - max)))`` along ``axis`` (the max shift keeps exp finite)."""
    xp = xp_of(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    log_sum = xp.exp(shifted).sum(axis=axis, keepdims=True)
    xp.log(log_sum, out=log_sum)
    shifted -= log_sum
    return shifted


class _AlongAxis(Op):
    """Runs ``_forward``/``_backward`` on an input of at least one dim with something along the
    axis: a 0-d input as one element along axis 0, an empty one as nothing to normalise."""

    def forward(self, x, axis):
        self.axis, self.shape = axis, x.shape
        if x.size == 0:
            self.y = x
            return x.copy()
        y = self._forward(x.reshape(1) if x.ndim == 0 else x, axis)
        self.y = y
        return y.reshape(()) if x.ndim == 0 else y

    def backward(self, g):
        if g.size == 0:
            return (g.copy(),)
        if g.ndim == 0:
            return (self._backward(g.reshape(1)).reshape(()),)
        return (self._backward(g),)


class Softmax(_AlongAxis):
    """y = exp(x - max) / sum(exp(x - max)) along ``axis``;  dx = y * (g - sum(g * y))."""

    @quiet
    def _forward(self, x, axis):
        y = xp_of(x).exp(x - x.max(axis=axis, keepdims=True))
        y /= y.sum(axis=axis, keepdims=True)
        return y

    def _backward(self, g):
        y = self.y
        gx = g - (g * y).sum(axis=self.axis, keepdims=True)
        gx *= y
        return gx


class LogSoftmax(_AlongAxis):
    """y = x - max - log(sum(exp(x - max))) along ``axis``;  dx = g - exp(y) * sum(g)."""

    def _forward(self, x, axis):
        return log_softmax_array(x, axis)

    def _backward(self, g):
        gx = xp_of(g).exp(self.y)
        gx *= g.sum(axis=self.axis, keepdims=True)
        return g - gx
