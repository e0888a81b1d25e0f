"""Pooling primitives: max, average (also adaptive, as explicit windows) and max unpooling.

The windows (``juanji.kernels.pool.Windows``: a layer's Window over one input size, built once
and cached, see ``kernels/pool.py``) come from ``nn.functional``; each Op hands the same object
(and the divisor) to its forward and backward kernels, pairing each kernel with its gradient:

    max pool      y_o = max_{t in W_o} x_t        dx_t = sum_{o: argmax_o = t} dy_o
    average pool  y_o = sum_{t in W_o} x_t / D_o   dx_t = sum_{o: t in W_o} dy_o / D_o
    max unpool    y_{idx_o} = x_o (zeros elsewhere)  dx_o = dy_{idx_o}
"""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels import pool as kernels

__all__ = ["MaxPool", "AvgPool", "MaxUnpool"]


def _pool_node_name(pattern: str, n_spatial: int) -> str:
    """torch's node of a 2-d or 3-d pooling (``pattern`` with ``{n}``); torch computes the 1-d
    ones as 2-d pooling of an unsqueezed input, so they end in a squeeze."""
    return "SqueezeBackward1" if n_spatial == 1 else pattern.format(n=n_spatial)


class MaxPool(Op):
    """Max over each window; also returns the argmax indices when ``return_indices``.

    Node names: torch's MaxPool2DWithIndicesBackward0 and 3D; the adaptive pools, built from
    the same windows, take AdaptiveMaxPool2DBackward0 etc. from ``variant`` in nn.functional."""

    @staticmethod
    def node_name_for(x, windows, return_indices=False):
        return _pool_node_name("MaxPool{n}DWithIndicesBackward0", len(windows.in_spatial))

    def forward(self, x, windows, return_indices=False):
        # the indices are the whole of the backward pass: compute them only when needed
        want = return_indices or self.needs_input_grad[0]
        y, indices = kernels.max_pool_forward(x, windows, want_indices=want)
        if self.needs_input_grad[0]:
            self.indices = indices
            self.in_spatial = windows.in_spatial
        return (y, indices) if return_indices else y

    def backward(self, grad):
        return (kernels.max_pool_backward(grad, self.indices, self.in_spatial),)


class AvgPool(Op):
    """Window sums divided by a per-output divisor (which holds all of torch's divisor rules).

    Node names: torch's AvgPool2DBackward0 and 3D; the adaptive pools, built from the same
    windows, take AdaptiveAvgPool2DBackward0 etc. from ``variant`` in nn.functional."""

    @staticmethod
    def node_name_for(x, windows, divisor):
        return _pool_node_name("AvgPool{n}DBackward0", len(windows.in_spatial))

    def forward(self, x, windows, divisor):
        self.windows, self.divisor = windows, divisor
        return kernels.avg_pool_forward(x, windows, divisor)

    def backward(self, grad):
        return (kernels.avg_pool_backward(grad, self.windows, self.divisor),)


class MaxUnpool(Op):
    """Scatter ``x`` into zeros of spatial shape ``out_spatial`` at the pooling ``indices``."""

    @staticmethod
    def node_name_for(x, indices, out_spatial):
        return _pool_node_name("MaxUnpool{n}DBackward0", len(out_spatial))

    def forward(self, x, indices, out_spatial):
        self.indices = indices
        self.n_spatial = len(out_spatial)
        return kernels.max_unpool_forward(x, indices, out_spatial)

    def backward(self, grad):
        return kernels.max_unpool_backward(grad, self.indices, self.n_spatial), None
