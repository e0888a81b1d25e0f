"""Padding primitives: constant padding (or cropping) and the gather modes reflect/replicate/circular.

    constant   y = x placed inside a block of ``value``      dx = dy with the border cut off
    gathers    y[o] = x[src[o]] per padded dim               dx[i] = sum_{o: src[o] = i} dy[o]
"""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels import pad as kernels

__all__ = ["ConstantPad", "IndexPad"]


class ConstantPad(Op):
    """``pads``: (lo, hi) per trailing dim, in dim order; negative amounts crop."""

    node_name = "ConstantPadNdBackward0"

    def forward(self, x, pads, value=0.0):
        self.pads = pads
        return kernels.constant_pad(x, pads, value)

    def backward(self, grad):
        return (kernels.constant_pad_backward(grad, self.pads),)


class IndexPad(Op):
    """Reflect, replicate or circular padding (``mode``) of the trailing dims."""

    @staticmethod
    def node_name_for(x, pads, mode):
        """torch's ReflectionPad2DBackward0, ReplicationPad1DBackward0, ... (by the number of
        padded dims); circular padding is written into slices of a new tensor in torch."""
        kind = {"reflect": "Reflection", "replicate": "Replication"}.get(mode)
        return "CopySlices" if kind is None else f"{kind}Pad{len(pads)}DBackward0"

    def forward(self, x, pads, mode):
        self.pads, self.mode, self.in_shape = pads, mode, x.shape
        return kernels.index_pad(x, pads, mode)

    def backward(self, grad):
        return (kernels.index_pad_backward(grad, self.in_shape, self.pads, self.mode),)
