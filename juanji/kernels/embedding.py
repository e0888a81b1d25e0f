"""Embedding kernels on arrays: the row gather of the forward and the scatter-add of the backward.

Forward is a plain gather, ``out[..., :] = weight[indices[...], :]``. Backward adds each row of
the output gradient into the gradient row of the index it came from:

    grad_weight[indices[i], :] += grad_out[i, :]        for every flattened position i

Indices repeat (a word occurs twice in a batch), so this is a scatter-*add*, not an assignment.
NumPy's ``np.add.at`` does it but is ~20x slower than a compiled loop, so on the CPU a Numba
loop does it; on a GPU CuPy's ``add.at`` is already a compiled atomic scatter.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..backend import xp_of

__all__ = ["embedding_forward", "embedding_backward", "count_occurrences"]


def embedding_forward(indices, weight):
    """``weight[indices]``: shape ``indices.shape + (embedding_dim,)``."""
    return weight[indices]


@njit(cache=True)
def _scatter_add_rows(grad_weight, indices, grad_rows):
    # Serial on purpose: two positions with the same index write the same row.
    for i in range(indices.shape[0]):
        row = indices[i]
        for j in range(grad_rows.shape[1]):
            grad_weight[row, j] += grad_rows[i, j]


def count_occurrences(flat_indices, num_embeddings):
    """How often each index occurs (for ``scale_grad_by_freq``)."""
    xp = xp_of(flat_indices)
    return xp.bincount(flat_indices, minlength=num_embeddings)


def embedding_backward(grad_out, indices, num_embeddings, padding_idx=None, scale_grad_by_freq=False):
    """The gradient with respect to the weight, ``[num_embeddings, embedding_dim]``.

    ``padding_idx`` rows get no gradient; with ``scale_grad_by_freq`` each position's gradient
    is divided by how often its index occurs in ``indices``.
    """
    xp = xp_of(grad_out)
    dim = grad_out.shape[-1]
    flat = indices.reshape(-1).astype(np.int64, copy=False)
    rows = grad_out.reshape(-1, dim)
    if scale_grad_by_freq:
        counts = count_occurrences(flat, num_embeddings)
        rows = rows / counts[flat][:, None].astype(rows.dtype)
    grad_weight = xp.zeros((num_embeddings, dim), dtype=grad_out.dtype)
    if xp is np:
        _scatter_add_rows(grad_weight, flat, np.ascontiguousarray(rows))
    else:  # pragma: no cover - GPU only
        xp.add.at(grad_weight, flat, rows)
    if padding_idx is not None:
        grad_weight[padding_idx] = 0
    return grad_weight
