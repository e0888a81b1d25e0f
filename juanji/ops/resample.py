"""Resampling primitives: separable interpolation, unfold/fold, pixel shuffle/unshuffle.

Each is linear in its input, so each backward is the adjoint map:

    interpolate     y = (A_1 ⊗ ... ⊗ A_k) x     dx = (A_1^T ⊗ ... ⊗ A_k^T) dy
    unfold (im2col) and fold (col2im) are each other's adjoints
    pixel_shuffle and pixel_unshuffle are each other's inverses (permutations), so also adjoints
"""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels import resample as kernels

__all__ = ["Interpolate", "Unfold", "Fold", "PixelShuffle", "PixelUnshuffle"]


class Interpolate(Op):
    """Resize the trailing dims; ``taps[d] = (idx, w)`` is the 1-d map of spatial dim ``d``."""

    def forward(self, x, taps):
        self.taps = taps
        self.in_spatial = x.shape[x.ndim - len(taps):]
        return kernels.interpolate_forward(x, taps)

    def backward(self, grad):
        return (kernels.interpolate_backward(grad, self.in_spatial, self.taps),)


class Unfold(Op):
    """im2col of an ``(N, C, H, W)`` array into ``(N, C*kh*kw, L)``."""

    node_name = "Im2ColBackward0"

    def forward(self, x, kernel_size, dilation, padding, stride):
        self.args = (kernel_size, dilation, padding, stride)
        self.size = x.shape[2:]
        return kernels.unfold_forward(x, kernel_size, dilation, padding, stride)

    def backward(self, grad):
        return (kernels.fold_forward(grad, self.size, *self.args),)


class Fold(Op):
    """col2im of ``(N, C*kh*kw, L)`` columns into ``(N, C, *output_size)``."""

    node_name = "Col2ImBackward0"

    def forward(self, cols, output_size, kernel_size, dilation, padding, stride):
        self.args = (kernel_size, dilation, padding, stride)
        return kernels.fold_forward(cols, output_size, kernel_size, dilation, padding, stride)

    def backward(self, grad):
        return (kernels.unfold_forward(grad, *self.args),)


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
