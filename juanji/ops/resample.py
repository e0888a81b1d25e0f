"""Resampling primitives: separable interpolation, pixel shuffle/unshuffle (unfold/fold, which
are im2col/col2im, live with the convolutions in ``ops/conv.py``).

Each is linear in its input, so each backward is the adjoint map:

    interpolate     y = (A_1 ⊗ ... ⊗ A_k) x     dx = (A_1^T ⊗ ... ⊗ A_k^T) dy
    pixel_shuffle and pixel_unshuffle are each other's inverses (permutations), so also adjoints
"""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels import resample as kernels

__all__ = ["Interpolate", "PixelShuffle", "PixelUnshuffle"]


class Interpolate(Op):
    """Resize the trailing dims; ``taps[d] = (idx, w)`` is the 1-d map of spatial dim ``d``."""

    def forward(self, x, taps):
        self.taps = taps
        self.in_spatial = x.shape[x.ndim - len(taps):]
        return kernels.interpolate_forward(x, taps)

    def backward(self, grad):
        return (kernels.interpolate_backward(grad, self.in_spatial, self.taps),)


class PixelShuffle(Op):
    """``(*, C*r*r, H, W) -> (*, C, H*r, W*r)``."""

    def forward(self, x, factor):
        self.factor = factor
        return kernels.pixel_shuffle_forward(x, factor)

    def backward(self, grad):
        return (kernels.pixel_unshuffle_forward(grad, self.factor),)


class PixelUnshuffle(Op):
    """``(*, C, H*r, W*r) -> (*, C*r*r, H, W)``."""

    def forward(self, x, factor):
        self.factor = factor
        return kernels.pixel_unshuffle_forward(x, factor)

    def backward(self, grad):
        return (kernels.pixel_shuffle_forward(grad, self.factor),)
