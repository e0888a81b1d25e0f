"""Pooling primitives: max, average (also adaptive, as explicit windows) and max unpooling.

The windows (``juanji.kernels.pool.Windows``) are built by ``nn.functional``; these Ops only
pair each kernel with its gradient:

    max pool      y_o = max_{t in W_o} x_t        dx_t = sum_{o: argmax_o = t} dy_o
    average pool  y_o = sum_{t in W_o} x_t / D_o   dx_t = sum_{o: t in W_o} dy_o / D_o
    max unpool    y_{idx_o} = x_o (zeros elsewhere)  dx_o = dy_{idx_o}
"""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels import pool as kernels

__all__ = ["MaxPool", "AvgPool", "MaxUnpool"]


class MaxPool(Op):
    """Max over each window; also returns the argmax indices when ``return_indices``."""

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
    """Window sums divided by a per-output divisor (which holds all of torch's divisor rules)."""

    def forward(self, x, windows, divisor):
        self.windows, self.divisor = windows, divisor
        return kernels.avg_pool_forward(x, windows, divisor)

    def backward(self, grad):
        return (kernels.avg_pool_backward(grad, self.windows, self.divisor),)


class MaxUnpool(Op):
    """Scatter ``x`` into zeros of spatial shape ``out_spatial`` at the pooling ``indices``."""

    def forward(self, x, indices, out_spatial):
        self.indices = indices
        self.n_spatial = len(out_spatial)
        return kernels.max_unpool_forward(x, indices, out_spatial)

    def backward(self, grad):
        return kernels.max_unpool_backward(grad, self.indices, self.n_spatial), None
