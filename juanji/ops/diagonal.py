"""Diagonals: taking one out of a tensor (``torch.diagonal``) and building a tensor around one
(``torch.diag_embed``). Each is the other's gradient.

The diagonal of offset k over dims (d1, d2) holds the elements x[..., i, i + k] (k >= 0) or
x[..., i - k, i] (k < 0), with (d1, d2) moved last; its length is
max(0, min(n1, n2 - k)) for k >= 0 and max(0, min(n1 + k, n2)) for k < 0. The taken diagonal
becomes the last dim of the result, as in torch.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of

__all__ = ["Diagonal", "DiagEmbed", "diagonal_positions"]


def diagonal_positions(n1: int, n2: int, offset: int):
    """(rows, cols): the positions of the offset-diagonal in an n1 x n2 matrix."""
    length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rows = np.arange(length) + max(-offset, 0)
    cols = np.arange(length) + max(offset, 0)
    return rows, cols


def _moved(a, dim1, dim2):
    """A view of ``a`` with dims (dim1, dim2) last."""
    return xp_of(a).moveaxis(a, (dim1, dim2), (-2, -1))


class Diagonal(Op):
    """y[..., i] = x[..., r_i, c_i] over the positions (r_i, c_i) of the offset-diagonal of dims
    (dim1, dim2);  dL/dx = 0 except dL/dx[..., r_i, c_i] = g[..., i]."""

    def forward(self, x, offset, dim1, dim2):
        self.shape, self.offset, self.dims = x.shape, offset, (dim1, dim2)
        rows, cols = diagonal_positions(x.shape[dim1], x.shape[dim2], offset)
        return _moved(x, dim1, dim2)[..., rows, cols]

    def backward(self, g):
        out = xp_of(g).zeros(self.shape, g.dtype)
        dim1, dim2 = self.dims
        rows, cols = diagonal_positions(self.shape[dim1], self.shape[dim2], self.offset)
        _moved(out, dim1, dim2)[..., rows, cols] = g
        return (out,)


class DiagEmbed(Op):
    """y = zeros with x's last dim written on the offset-diagonal of the new dims (dim1, dim2),
    each of size n + |offset|;  dL/dx = the offset-diagonal of g."""

    def forward(self, x, offset, dim1, dim2):
        n = x.shape[-1] + abs(offset)
        rank = x.ndim + 1
        shape = [0] * rank
        rest = iter(x.shape[:-1])
        for k in range(rank):
            shape[k] = n if k in (dim1, dim2) else next(rest)
        self.offset, self.dims = offset, (dim1, dim2)
        y = xp_of(x).zeros(shape, x.dtype)
        rows, cols = diagonal_positions(n, n, offset)
        _moved(y, dim1, dim2)[..., rows, cols] = x
        return y

    def backward(self, g):
        dim1, dim2 = self.dims
        rows, cols = diagonal_positions(g.shape[dim1], g.shape[dim2], self.offset)
        return (_moved(g, dim1, dim2)[..., rows, cols],)
