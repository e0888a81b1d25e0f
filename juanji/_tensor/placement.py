"""Tensor methods that place values by index or cut a tensor into pieces: ``index_add``,
``index_copy``, ``index_reduce``, ``scatter_reduce`` (each with its in-place form),
``slice_scatter``, ``select_scatter``, ``diagonal_scatter``, ``take``, ``take_along_dim``, ``tile``,
``narrow_copy``, ``argwhere``, ``hsplit``/``vsplit``/``dsplit``; and the counting functions
``bincount``, ``histc``, ``histogram`` (no gradient, as in torch).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..backend import xp_of
from ..ops import diagonal as D
from ..ops import index as I
from ..ops import scatter_reduce as R
from ..ops import strided as T
from .arguments import _dim, _py_int, _sizes

__all__ = ["_Placement"]

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_INDEX_COPY = I.IndexPut.variant("IndexCopyBackward0")
_SLICE_SCATTER = I.IndexPut.variant("SliceScatterBackward0")
_SELECT_SCATTER = I.IndexPut.variant("SelectScatterBackward0")
_DIAGONAL_SCATTER = I.IndexPut.variant("DiagonalScatterBackward0")
_INDEX_REDUCE = R.ScatterReduce.variant("IndexReduceBackward0")
_TAKE = I.GetItem.variant("TakeBackward0")
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


class _Placement:
    """Tensor methods: placing values by index, taking them out, cutting into pieces, counting."""

    # ------------------------------------------------------------------ checks
    def _index_vector(self, dim, index, name):
        if not isinstance(index, type(self)) or index.dtype not in (dt.int64, dt.int32):
            raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
        if index.ndim > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector")
        d = _dim(dim, max(self.ndim, 1))
        size = self._data.shape[d] if self.ndim else 1
        idx = index._data.reshape(-1).astype(np.int64)
        if idx.size and (idx.min() < -size or idx.max() >= size):
            bad = idx.max() if idx.max() >= size else idx.min()
            raise RuntimeError(f"{name}(): index {bad} is out of bounds for dimension {d} with size {size}")
        return d, idx % size if size else idx

    def _source_like(self, d, idx, source, name):
        if source.dtype is not self.dtype:
            raise RuntimeError(f"{name}(): self ({self.dtype.scalar_name}) and source ({source.dtype.scalar_name}) "
                               "must have the same scalar type")
        expected = list(self.shape)
        if expected:
            expected[d] = len(idx)
        if self.ndim and list(source.shape) != expected:
            raise RuntimeError(f"{name}(): source of shape {list(source.shape)} does not fit self of shape "
                               f"{list(self.shape)} with {len(idx)} indices along dim {d} (expected {expected})")

    # ------------------------------------------------------------------ index_*
    def index_add(self, dim, index, source, *, alpha=1):
        """self with ``alpha * source.select(dim, i)`` added to ``self.select(dim, index[i])``."""
        d, idx = self._index_vector(dim, index, "index_add")
        self._source_like(d, idx, source, "index_add")
        return R.IndexAdd.apply(self, idx, source, d, alpha)

    def index_copy(self, dim, index, source):
        """self with ``self.select(dim, index[i])`` replaced by ``source.select(dim, i)``."""
        d, idx = self._index_vector(dim, index, "index_copy")
        self._source_like(d, idx, source, "index_copy")
        where = [slice(None)] * self.ndim
        where[d] = idx
        return _INDEX_COPY.apply(self, source, tuple(where))

    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        """self with ``source.select(dim, i)`` reduced ('prod', 'mean', 'amax', 'amin') into
        ``self.select(dim, index[i])``."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
                               f"{reduce}.")
        d, idx = self._index_vector(dim, index, "index_reduce")
        self._source_like(d, idx, source, "index_reduce")
        scatter_index = R.index_as_scatter(xp_of(self._data).asarray(idx), source._data.shape, d)
        return _INDEX_REDUCE.apply(self, scatter_index, source, d, reduce, include_self)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._inplace(self.index_add(dim, index, source, alpha=alpha))

    def index_copy_(self, dim, index, source):
        return self._inplace(self.index_copy(dim, index, source))

    def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
        return self._inplace(self.index_reduce(dim, index, source, reduce, include_self=include_self))

    # ------------------------------------------------------------------ scatter_reduce and friends
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        """self with each src[...] reduced ('sum', 'prod', 'mean', 'amax', 'amin') into the place
        index names along ``dim`` (as scatter: out[i][index[i][j]] for dim 1)."""
        reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # (torch's older names, still accepted)
        if reduce not in _REDUCTIONS:
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        if index.dtype is not dt.int64:
            raise RuntimeError("scatter_reduce(): Expected dtype int64 for index")
        if src.dtype is not self.dtype:
            raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
        d = _dim(dim, max(self.ndim, 1))
        if index.ndim != self.ndim or src.ndim != self.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
        size = self._data.shape[d] if self.ndim else 1
        if index._data.size and (index._data.min() < -size or index._data.max() >= size):
            bad = index._data.max() if index._data.max() >= size else index._data.min()
            raise RuntimeError(f"scatter_reduce(): index {bad} is out of bounds for dimension {d} with size {size}")
        return R.ScatterReduce.apply(self, index._data, src, d, reduce, include_self)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._inplace(self.scatter_reduce(dim, index, src, reduce, include_self=include_self))

    def _embedded(self, src, where, op, expected_shape, name):
        if list(src.shape) != list(expected_shape):
            raise RuntimeError(f"{name}: expected src to have a size equal to the slice of self. src size = "
                               f"{list(src.shape)}, slice size = {list(expected_shape)}")
        return op.apply(self, src._cast(self.dtype) if src.dtype is not self.dtype else src, where)

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        """self with ``self[..., start:end:step, ...]`` (along ``dim``) replaced by src."""
        d = _dim(dim, self.ndim)
        where = [slice(None)] * self.ndim
        where[d] = slice(start, end, step)
        where = tuple(where)
        return self._embedded(src, where, _SLICE_SCATTER, self._data[where].shape, "slice_scatter")

    def select_scatter(self, src, dim, index):
        """self with ``self.select(dim, index)`` replaced by src."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select_scatter(): index {index} out of range for tensor of size {list(self.shape)} "
                             f"at dimension {d}")
        where = [slice(None)] * self.ndim
        where[d] = index % size
        where = tuple(where)
        return self._embedded(src, where, _SELECT_SCATTER, self._data[where].shape, "select_scatter")

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        """self with its offset-diagonal over (dim1, dim2) replaced by src (shaped as ``diagonal``)."""
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        rows, cols = D.diagonal_positions(self._data.shape[d1], self._data.shape[d2], offset)
        # an index tuple that puts the diagonal last, as diagonal() does: move (d1, d2) to the end
        # by indexing the other dims with broadcast aranges
        others = [k for k in range(self.ndim) if k not in (d1, d2)]
        where = [None] * self.ndim
        rank = len(others) + 1
        for position, k in enumerate(others):
            shape = [1] * rank
            shape[position] = self._data.shape[k]
            where[k] = np.arange(self._data.shape[k]).reshape(shape)
        where[d1] = rows.reshape((1,) * (rank - 1) + (-1,))
        where[d2] = cols.reshape((1,) * (rank - 1) + (-1,))
        expected = tuple(self._data.shape[k] for k in others) + (len(rows),)
        return self._embedded(src, tuple(where), _DIAGONAL_SCATTER, expected, "diagonal_scatter")

    # ------------------------------------------------------------------ taking out
    def take(self, index):
        """The elements of the flattened tensor at ``index`` (result shaped as index)."""
        if not isinstance(index, type(self)) or index.dtype is not dt.int64:
            raise RuntimeError("take(): Expected a long tensor for index, but got "
                               f"{getattr(index, 'dtype', type(index).__name__)}")
        n = self.numel()
        idx = index._data
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"out of range: tried to access index {idx.max() if idx.max() >= n else idx.min()} on "
                             f"a tensor of {n} elements.")
        return _TAKE.apply(self.reshape(-1), (idx % n if n else idx,))

    def take_along_dim(self, indices, dim=None):
        """Values at ``indices`` along ``dim`` (indices broadcast against self outside dim);
        over the flattened tensor when dim is None."""
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        d = _dim(dim, self.ndim)
        if indices.ndim != self.ndim:
            raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of "
                               f"dimensions, but got {self.ndim} dimensions for input, and {indices.ndim} "
                               "dimensions for indices")
        shape_self, shape_idx = list(self.shape), list(indices.shape)
        shape_self[d] = shape_idx[d] = 1
        common = list(np.broadcast_shapes(tuple(shape_self), tuple(shape_idx)))
        x_shape, i_shape = list(common), list(common)
        x_shape[d], i_shape[d] = self.shape[d], indices.shape[d]
        return self.expand(x_shape).gather(d, indices.expand(i_shape))

    def tile(self, *dims):
        """Repeated ``dims[k]`` times along each dim (missing leading dims count as 1)."""
        reps = _sizes(dims)
        if len(reps) < self.ndim:
            reps = (1,) * (self.ndim - len(reps)) + tuple(reps)
        return self.repeat(*reps)

    def as_strided(self, size, stride, storage_offset=0):
        """The elements (in row-major order) viewed with ``size``, ``stride`` (in elements) and
        ``storage_offset`` (a copy with the view's gradient: juanji tensors share no strided storage)."""
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(size) != len(stride):
            raise RuntimeError("mismatch in length of strides and shape")
        if any(s < 0 for s in stride):
            raise RuntimeError("as_strided: Negative strides are not supported at the moment, got strides: "
                               f"{list(stride)}")
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else storage_offset - 1
        if last >= self.numel():
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                               f"{storage_offset}, and itemsize {self.element_size()} requiring a storage size of "
                               f"{(last + 1) * self.element_size()} are out of bounds for storage of size "
                               f"{self.numel() * self.element_size()}")
        return T.AsStrided.apply(self, size, stride, storage_offset)

    def as_strided_(self, size, stride, storage_offset=0):
        return self._inplace_reshaped(self.as_strided(size, stride, storage_offset))

    def _inplace_reshaped(self, result):
        """self takes over ``result`` (of another shape) as its value and history."""
        if self.requires_grad and self.grad_fn is None:
            from ..autograd.grad_mode import _state
            if _state.enabled:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._data, self.grad_fn, self.requires_grad = result._data, result.grad_fn, result.requires_grad
        return self

    def narrow_copy(self, dim, start, length):
        """A copy of ``narrow(dim, start, length)``."""
        return self.narrow(dim, start, length).clone()

    def argwhere(self):
        """The indices of the non-zero elements, one row per element."""
        return self.nonzero()

    # ------------------------------------------------------------------ pieces
    def _split_along(self, sections, dim, name, need_dims):
        if self.ndim < need_dims:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {need_dims} dimension, but got a "
                               f"tensor with {self.ndim} dimensions!")
        if isinstance(sections, _py_int):
            size = self._data.shape[dim]
            if sections == 0 or size % sections:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                                   f"dimension {size} is not divisible by the split_size {sections}!")
        return self.tensor_split(sections, dim)

    def hsplit(self, sections):
        """Split along dim 1 (dim 0 for a 1-D tensor) into equal parts or at the given indices."""
        return self._split_along(sections, 1 if self.ndim > 1 else 0, "hsplit", 1)

    def vsplit(self, sections):
        return self._split_along(sections, 0, "vsplit", 2)

    def dsplit(self, sections):
        return self._split_along(sections, 2, "dsplit", 3)

    # ------------------------------------------------------------------ counting
    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, ... occurs in this 1-D non-negative integer tensor (summing
        ``weights`` instead of ones when given)."""
        if self.ndim != 1 or self.dtype.is_floating_point or self.dtype is dt.bool:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if self._data.size and self._data.min() < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        w = None
        if weights is not None:
            if weights.shape != self.shape:
                raise RuntimeError("weights should be 1-d and have the same length as input")
            w = weights._host()
        counts = np.bincount(self._host(), weights=w, minlength=minlength)
        if weights is None:
            counts = counts.astype(np.int64)
        elif weights.dtype is dt.float32:
            counts = counts.astype(np.float32)  # torch keeps float weights' dtype, others give float64
        return self._from_array(xp_of(self._data).asarray(counts))

    def histc(self, bins=100, min=0, max=0):
        """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0);
        elements outside are ignored, the last bin includes max."""
        if not self.dtype.is_floating_point:
            from .special import _not_implemented
            raise _not_implemented("histogram_cpu", self.dtype)
        if bins <= 0:
            raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for dimension 0")
        data = self._host().reshape(-1)
        lo, hi = float(min), float(max)
        if lo == hi and data.size:
            lo, hi = float(data.min()), float(data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError(f"torch.histc: max must be larger than min, but got min {lo} max {hi}")
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
        counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
        return self._from_array(xp_of(self._data).asarray(counts.astype(self._data.dtype)))

    def histogram(self, bins, *, range=None, weight=None, density=False):
        """``(hist, bin_edges)``: ``bins`` equal bins over ``range`` (default: the data's range),
        or the given bin edges (a 1-D tensor)."""
        from .reductions import return_types
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, but "
                               f"got input {self.dtype.name}")
        data = self._host().reshape(-1)
        w = None if weight is None else weight._host().reshape(-1)
        edges = bins._host() if isinstance(bins, type(self)) else int(bins)
        if range is not None:
            range = (float(range[0]), float(range[1]))
        hist, edges = np.histogram(data, bins=edges, range=range, weights=w, density=density)
        xp = xp_of(self._data)
        dtype = self._data.dtype
        return return_types.histogram(self._from_array(xp.asarray(hist.astype(dtype))),
                                      self._from_array(xp.asarray(edges.astype(dtype))))
