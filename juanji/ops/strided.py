"""A strided view of a tensor's elements: ``as_strided``.

juanji's arrays are laid out row-major without shared storages between tensors, so the view is
taken over x's elements in row-major order (torch takes it over x's storage, which is the same
for a contiguous tensor that owns its storage).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of

__all__ = ["AsStrided"]


class AsStrided(Op):
    """y = the view of x's elements (in x's row-major order) with the given sizes, strides (in
    elements) and offset;  dL/dx[k] = sum of g over the positions of y that read element k."""

    node_name = "AsStridedBackward0"

    def forward(self, x, size, stride, offset):
        xp = xp_of(x)
        flat = xp.ascontiguousarray(x).reshape(-1)
        positions = np.full(tuple(size), offset, dtype=np.int64)
        for axis, (n, s) in enumerate(zip(size, stride)):
            shape = [1] * len(size)
            shape[axis] = n
            positions = positions + np.arange(n, dtype=np.int64).reshape(shape) * s
        self.shape, self.positions = x.shape, xp.asarray(positions)
        return flat[self.positions]

    def backward(self, g):
        xp = xp_of(g)
        out = xp.zeros(int(np.prod(self.shape)), g.dtype)
        (np if xp is np else xp).add.at(out, self.positions, g)
        return (out.reshape(self.shape),)
