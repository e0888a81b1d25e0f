"""Parts of a tensor along one dim: ``narrow``, ``select``, ``unbind``, ``split``, ``chunk``,
``tensor_split``. Each part is a view: an in-place change of it reaches the tensor it came from.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd.grad_mode import _state
from ..ops import index as I
from .arguments import _dim, _py_int, numpy_aliases

__all__ = ["_Pieces"]

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_SPLIT = I.GetItem.variant("SplitBackward0")
_SPLIT_WITH_SIZES = I.GetItem.variant("SplitWithSizesBackward0")
_UNBIND = I.GetItem.variant("UnbindBackward0")


class _Pieces:
    """Tensor methods: views of parts along one dim."""

    @numpy_aliases
    def narrow(self, dim, start, length):
        """The slice ``start : start + length`` along ``dim`` (a view)."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d]
        start = _py_int(start)
        if start < 0:
            start += size
        if not 0 <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        index = [slice(None)] * self.ndim
        index[d] = slice(start, start + length)
        return self[tuple(index)]

    @numpy_aliases
    def select(self, dim, index):
        """The slice at ``index`` along ``dim``, with that dim removed (a view)."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        idx = [slice(None)] * self.ndim
        idx[d] = index
        return self[tuple(idx)]

    @numpy_aliases
    def unbind(self, dim=0):
        d = _dim(dim, self.ndim)
        before = (slice(None),) * d
        return tuple(self._piece(before + (i,), _UNBIND) for i in range(self._data.shape[d]))

    def _piece(self, index, node):
        """``self[index]`` for a basic index, recorded as ``node``: torch names the pieces of split,
        chunk and unbind after the method (SplitBackward0, UnbindBackward0)."""
        if self.requires_grad and _state.enabled:
            out = node.apply(self, index)
        else:
            out = self._from_array(self._data[index])
        out._view_of = (self, index)  # an in-place change of a piece reaches self, as for indexing
        return out

    def split(self, split_size_or_sections, dim=0):
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (_py_int, np.integer)):
            step = int(split_size_or_sections)
            if step < 0:
                raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
            if step == 0:
                if n != 0:
                    raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size "
                                       f"of {n}")
                return (self,)
            sizes = [builtins.min(step, n - s) for s in range(0, n, step)] or [0]
            node = _SPLIT
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                                   f"at dimension {dim}), but got split_sizes={sizes}")
            node = _SPLIT_WITH_SIZES
        before = (slice(None),) * d
        out, start = [], 0
        for s in sizes:
            if s < 0:
                raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                                   f"split_sizes={sizes}")
            out.append(self._piece(before + (slice(start, start + s),), node))
            start += s
        return tuple(out)

    @numpy_aliases
    def chunk(self, chunks, dim=0):
        """``chunks`` pieces of equal size ceil(n / chunks) along ``dim`` (fewer if they run out)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        step = -(-n // chunks)
        return self.split(builtins.max(step, 1), d)

    @numpy_aliases
    def tensor_split(self, sections, dim=0):
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(sections, _py_int):
            q, r = divmod(n, sections)
            sizes = [q + 1] * r + [q] * (sections - r)
        else:
            bounds = [0] + list(sections) + [n]
            sizes = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
        pieces, start = [], 0
        for size in sizes:  # plain slices in torch (SliceBackward0), not a split
            pieces.append(self.narrow(d, start, size))
            start += size
        return tuple(pieces)
