"""Batch normalisation with statistics over the global batch: the differentiable primitive
behind ``nn.SyncBatchNorm`` (torch's ``torch.nn.modules._functions.SyncBatchNorm``).

Rank k holds ``n_k`` values per channel (its batch times the spatial positions). Forward
gathers each rank's count, mean and sum of squared deviations ``m2_k`` and merges them
(Chan's formula, float64), so every rank normalises with the statistics of all ``M = sum n_k``
values, exactly as one process would over the whole batch::

    mean = sum_k n_k mean_k / M
    var  = sum_k (m2_k + n_k (mean_k - mean)^2) / M                     (biased)
    y    = w * (x - mean) * invstd + b,    invstd = 1 / sqrt(var + eps)

Backward needs two sums over the global batch, all-reduced across the ranks::

    sum_g = sum g,      sum_gc = sum g (x - mean)                       (over all M values)
    dx    = w * invstd * (g - sum_g / M - (x - mean) * invstd^2 * sum_gc / M)
    dw    = sum_local g (x - mean) * invstd,    db = sum_local g         (this rank's share)

``dw``/``db`` stay local, as in torch: DistributedDataParallel averages them over the ranks
with the other parameters' gradients. The per-channel loops are batch norm's own kernels
(``juanji/kernels/batch_norm.py``); only the statistics cross processes, through the process group's
array collectives (``pg``: a ``juanji.distributed.ProcessGroup``; this module imports nothing
from juanji.distributed, which sits above the Tensor).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from .elementwise import quiet
from ..kernels import batch_norm as kernels

__all__ = ["SyncBatchNormOp"]


class SyncBatchNormOp(Op):
    """``forward(x, weight, bias, pg=..., eps=...)`` -> ``(y, mean, var, count)``: the output,
    the global statistics (float64, variance biased) and the global count M per channel."""

    node_name = "SyncBatchNormBackward"  # torch's node for its SyncBatchNorm Function

    @quiet
    def forward(self, x, weight, bias, pg=None, eps=1e-5):
        x3 = kernels.as_ncl(x)
        channels = x.shape[1]
        n = x3.shape[0] * x3.shape[2]
        mean_k, var_k = kernels.channel_stats(x3)  # zeros for an empty batch
        mine = np.concatenate([[float(n)], mean_k, var_k * n]).astype(np.float64)
        everyone = pg.all_gather_array(mine, "SyncBatchNorm statistics")
        counts, means, m2s = everyone[:, :1], everyone[:, 1:1 + channels], everyone[:, 1 + channels:]
        total = counts.sum()
        if total <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel when training, got "
                             f"{int(total)} over all ranks (input size {list(x.shape)})")
        mean = (counts * means).sum(0) / total
        var = (m2s + counts * (means - mean) ** 2).sum(0) / total
        invstd = 1.0 / np.sqrt(var + eps)
        scale = invstd if weight is None else weight.astype(np.float64) * invstd
        shift = -mean * scale if bias is None else bias.astype(np.float64) - mean * scale
        y3 = kernels.channel_affine(x3, scale, shift)
        if any(self.needs_input_grad):
            self.x3, self.mean, self.invstd, self.scale = x3, mean, invstd, scale
            self.in_shape, self.total, self.pg = x.shape, total, pg
        return y3.reshape(x.shape), mean, var, np.asarray(total)

    @quiet
    def backward(self, grad):
        x3, mean, invstd, scale = self.x3, self.mean, self.invstd, self.scale
        dtype = x3.dtype
        g3 = kernels.as_ncl(grad)
        needs_x, needs_w, needs_b = self.needs_input_grad
        channels = x3.shape[1]
        if x3.size:
            sum_g, sum_gc = kernels.channel_grad_sums(g3, x3, mean)
        else:
            sum_g, sum_gc = np.zeros(channels), np.zeros(channels)
        grad_w = (sum_gc * invstd).astype(dtype) if needs_w else None
        grad_b = sum_g.astype(dtype) if needs_b else None
        grad_x = None
        if needs_x:
            sums = self.pg.all_reduce_array_(np.concatenate([sum_g, sum_gc]).astype(np.float64),
                                             "SyncBatchNorm gradient sums")
            sum_g_all, sum_gc_all = sums[:channels], sums[channels:]
            k_x = -scale * invstd * invstd * sum_gc_all / self.total
            k_0 = -scale * sum_g_all / self.total - mean * k_x
            if x3.size:
                grad_x = kernels.channel_input_grad(g3, x3, scale, k_x, k_0).reshape(self.in_shape)
            else:
                grad_x = np.zeros(self.in_shape, dtype=dtype)
        return grad_x, grad_w, grad_b
