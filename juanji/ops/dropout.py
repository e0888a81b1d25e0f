"""Dropout primitives: multiply by a random mask (and, for alpha dropout, shift).

The masks are drawn by the functional layer from juanji's generator and handed in, so these
Ops are deterministic given the mask (which is what the tests check exactly):

    dropout        keep ~ Bernoulli(1 - p)              y = x * keep / (1 - p)
                                                        dx = g * keep / (1 - p)
    alpha dropout  a = ((1 - p) * (1 + p * alpha'^2))^(-1/2),   alpha' = 1.7580993408473766
                   y = a * keep * x + a * alpha' * (p - 1 + keep)
                   (a kept value becomes a*x + a*alpha'*p; a dropped one the constant
                   -a*alpha'*(1 - p), so that zero-mean unit-variance SELU activations keep
                   their mean and variance)
                                                        dx = g * a * keep

``keep`` has the input's shape (element dropout) or ``(N, C, 1, ...)`` (feature/channel
dropout: whole feature maps at once); it broadcasts either way.
"""

from __future__ import annotations

from ..autograd.function import Op

__all__ = ["MaskedScale", "AlphaMask", "SELU_SATURATION"]

# -SELU's negative saturation value: scale * alpha of SELU (torch's alpha-dropout constant)
SELU_SATURATION = 1.7580993408473766


class MaskedScale(Op):
    """``y = x * mask`` with a constant mask (already holding the ``1/(1-p)`` scale)."""

    node_name = "MulBackward0"  # torch's dropout multiplies by its mask too

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, grad):
        return grad * self.mask, None


class AlphaMask(Op):
    """``y = x * (a * keep) + a * alpha' * (p - 1 + keep)``: alpha dropout given ``keep``
    (call as ``AlphaMask.apply(x, keep, p=p)``)."""

    node_name = "AddBackward0"  # torch's alpha dropout ends in the addition of the shift

    def forward(self, x, keep, p):
        a = ((1.0 - p) * (1.0 + p * SELU_SATURATION ** 2)) ** -0.5
        dtype = x.dtype.type
        self.scaled_keep = keep * dtype(a)
        shift = (keep + dtype(p - 1.0)) * dtype(a * SELU_SATURATION)
        return x * self.scaled_keep + shift

    def backward(self, grad):
        return grad * self.scaled_keep, None
