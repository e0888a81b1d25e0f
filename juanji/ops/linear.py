"""Affine maps as single autograd Ops: ``linear`` (x W^T + b) and ``bilinear`` (x1^T A x2 + b).

Each is one node of the graph instead of three (matmul, transpose, add), so the hot path of an
MLP makes one BLAS GEMM per direction and little bookkeeping. Batch dimensions are flattened
into the rows of one matrix before the GEMM and restored afterwards.
"""

from __future__ import annotations

import math

from ..autograd.function import Op
from ..kernels.gemm import matmul
from .elementwise import quiet

__all__ = ["Linear", "Bilinear"]

# (@quiet: a diverging run overflows these products to inf, and inf - inf is nan; torch computes
# that silently, NumPy would warn.)


class Linear(Op):
    """y = x W^T + b for x [*, in], W [out, in], b [out] (or None, or any shape that
    broadcasts to y without enlarging it).

    Backward, with X = x as rows [n, in] and G = dL/dy as rows [n, out]:

        dL/dx = G W            dL/dW = G^T X            dL/db = sum over rows of G
    """

    @staticmethod
    def node_name_for(x, weight, bias):
        """torch's node: addmm (mm without a bias) for a batch of rows, a view of it otherwise."""
        if x.ndim == 2:
            return "MmBackward0" if bias is None else "AddmmBackward0"
        if bias is not None:
            return "ViewBackward0"
        return "SqueezeBackward4" if x.ndim == 1 else "UnsafeViewBackward0"

    @quiet
    def forward(self, x, weight, bias):
        in_features = weight.shape[1]
        out_features = weight.shape[0]
        rows = x.reshape(math.prod(x.shape[:-1]), in_features)   # batch dims -> rows
        out = matmul(rows, weight.T).reshape(x.shape[:-1] + (out_features,))   # weight.T: a view, BLAS transposes
        if bias is not None:
            # in place: no second output array; like torch, the bias may broadcast to the
            # output's shape but not enlarge it (NumPy refuses that for an in-place add too)
            out += bias
        self.rows, self.weight = rows, weight
        self.x_shape = x.shape
        self.bias_ndim = None if bias is None else bias.ndim
        return out

    @quiet
    def backward(self, grad):
        need_x, need_w, need_b = self.needs_input_grad
        out_features = self.weight.shape[0]
        grad_rows = grad.reshape(-1, out_features)
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = matmul(grad_rows, self.weight).reshape(self.x_shape)
        if need_w:
            grad_w = matmul(grad_rows.T, self.rows)
        if need_b:
            # a [out] bias: sum the rows here; a scalar or wider bias: the engine sums it down
            grad_b = grad_rows.sum(axis=0) if self.bias_ndim == 1 else grad
        return grad_x, grad_w, grad_b


class Bilinear(Op):
    """y[n, k] = sum_ij x1[n, i] A[k, i, j] x2[n, j] + b[k] for x1 [n, in1], x2 [n, in2].

    Written with the outer product P[n, (i, j)] = x1[n, i] x2[n, j] so both directions are GEMMs:

        y = P A^T  (A as [out, in1*in2])          dL/dA = G^T P
        H = G A    (as [n, in1, in2])             dL/dx1 = H x2,  dL/dx2 = x1 H
    """

    @staticmethod
    def node_name_for(x1, x2, weight, bias):
        return "ViewBackward0" if bias is None else "AddBackward0"  # torch's last step

    @quiet
    def forward(self, x1, x2, weight, bias):
        n = x1.shape[0]
        out_features, in1, in2 = weight.shape
        outer = (x1[:, :, None] * x2[:, None, :]).reshape(n, in1 * in2)
        flat_weight = weight.reshape(out_features, in1 * in2)
        out = matmul(outer, flat_weight.T)
        if bias is not None:
            out += bias
        self.x1, self.x2, self.outer, self.flat_weight = x1, x2, outer, flat_weight
        self.weight_shape = weight.shape
        return out

    @quiet
    def backward(self, grad):
        need_x1, need_x2, need_w, need_b = self.needs_input_grad
        n = grad.shape[0]
        _, in1, in2 = self.weight_shape
        grad_x1 = grad_x2 = grad_w = grad_b = None
        if need_x1 or need_x2:
            h = matmul(grad, self.flat_weight).reshape(n, in1, in2)
            if need_x1:
                grad_x1 = (h @ self.x2[:, :, None])[:, :, 0]
            if need_x2:
                grad_x2 = (self.x1[:, None, :] @ h)[:, 0, :]
        if need_w:
            grad_w = matmul(grad.T, self.outer).reshape(self.weight_shape)
        if need_b:
            grad_b = grad.sum(axis=0)
        return grad_x1, grad_x2, grad_w, grad_b
