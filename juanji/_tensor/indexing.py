"""Indexing: ``x[index]``, ``x[index] = value``, ``gather``, ``scatter``, ``index_select``,
``masked_fill``, ``masked_select``, ``nonzero``, ``where``.

``x[index]`` with ints, slices, None and Ellipsis (basic indexing) is a view, and remembers what it
views (``_view_of``) so that an in-place change of it reaches the tensor; bool or integer tensors
and lists (advanced indexing) give a copy. NumPy's index errors are put in torch's words
(``_index_error``).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.grad_mode import _state
from ..autograd.tensor_base import TensorBase
from ..backend import xp_of
from ..ops import elementwise as E
from ..ops import index as I
from .arguments import _dim, _py_float, numpy_aliases
from .binary import _promote_pair, _to_operand
from .constructors import _array_from_data
from .inplace import _write

__all__ = ["_Indexing", "_where"]


def _index_error(e, index, t) -> IndexError:
    """NumPy's indexing errors in torch's words."""
    msg = str(e)
    if "too many indices" in msg:
        return IndexError(f"too many indices for tensor of dimension {t.ndim}")
    if "boolean index did not match" in msg:
        parts = index if isinstance(index, tuple) else (index,)
        position = 0
        for part in parts:
            if hasattr(part, "dtype") and part.dtype == np.bool_:
                shape = list(part.shape)
                return IndexError(f"The shape of the mask {shape} at index {position} does not match the shape of "
                                  f"the indexed tensor {list(t.shape)} at index {position}")
            position += 1 if part is not None else 0
    if "only integers, slices" in msg:
        bad = next((type(p).__name__ for p in (index if isinstance(index, tuple) else (index,))
                    if isinstance(p, _py_float)), "an unsupported type")
        return IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                          f"indices (got {bad})")
    if "arrays used as indices must be of integer" in msg:
        return IndexError("tensors used as indices must be long, int, byte or bool tensors")
    msg = msg.replace("for axis", "for dimension").replace("indexing arrays", "indexing tensors")
    return IndexError(msg)


def _index_arrays(index):
    """Replace Tensors inside an index by their arrays (NumPy handles the rest)."""
    if isinstance(index, TensorBase):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, TensorBase) else i for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, TensorBase) else i for i in index])
    return index


class _Indexing:
    """Tensor methods: indexing, gathering and scattering."""

    def __getitem__(self, index):
        """Ints, slices, None, Ellipsis (a view), and bool / integer tensors or lists (a copy)."""
        index = _index_arrays(index)
        try:
            if self.requires_grad and _state.enabled:
                out = I.GetItem.apply(self, index)
            else:
                out = self._from_array(self._data[index])
        except IndexError as e:
            raise _index_error(e, index, self) from None
        if I.is_basic_index(index):
            out._view_of = (self, index)  # so an in-place op on the view can reach this tensor
        return out

    def __setitem__(self, index, value):
        """``x[index] = value``: written in memory, or recorded as an index-put under autograd."""
        index = _index_arrays(index)
        is_tensor = isinstance(value, TensorBase)
        recording = _state.enabled and (self.requires_grad or (is_tensor and value.requires_grad))
        try:
            if not recording:
                _write(self._data, index, value._data if is_tensor else value)
                return
            self._check_inplace_allowed()
            if not is_tensor:
                value = self.new_tensor(value)
            result = I.IndexPut.apply(self, value._cast(self.dtype), index)
        except IndexError as e:
            raise _index_error(e, index, self) from None
        except ValueError as e:
            raise RuntimeError(f"index assignment: cannot assign a value of shape {list(getattr(value, 'shape', ()))} "
                               f"to the selection ({e})") from None
        self._rebind(result)

    def _check_index_along(self, name, d, index, src=None):
        """gather/scatter: an int64 index with self's number of dims, no larger than self (or src)
        outside ``d``, and every entry inside ``[0, size)`` along ``d``."""
        if not isinstance(index, TensorBase) or index.dtype is not dt.int64:
            got = index.dtype if isinstance(index, TensorBase) else type(index).__name__
            raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {got}")
        if index.ndim != self.ndim and not (index.ndim <= 1 and self.ndim <= 1):
            raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor "
                               f"({name}: index {list(index.shape)}, input {list(self.shape)})")
        for k in range(index.ndim):
            n = index._data.shape[k]
            too_big_for_self = k != d and n > self._data.shape[k]
            too_big_for_src = src is not None and n > src.shape[k]
            if too_big_for_self or too_big_for_src:
                also = f" and to be smaller size than src {list(src.shape)}" if src is not None else ""
                raise RuntimeError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                                   f"smaller than self {list(self.shape)} apart from dimension {d}{also}")
        size = self._data.shape[d] if self.ndim else 1
        if index._data.size and (index._data.min() < -size or index._data.max() >= size):
            bad = int(index._data.max() if index._data.max() >= size else index._data.min())
            raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {size}")

    @numpy_aliases
    def gather(self, dim, index):
        """out[i][j][k] = self[i][index[i][j][k]][k] (for dim = 1): pick along ``dim``."""
        d = _dim(dim, self.ndim)
        self._check_index_along("gather", d, index)
        return I.Gather.apply(self, index._data, d)

    @numpy_aliases
    def scatter(self, dim, index, src=None, value=None, reduce=None):
        """self with self[i][index[i][j][k]][k] = src[i][j][k] (for dim = 1); ``reduce='add'`` adds."""
        if src is None:
            src = value
        d = _dim(dim, self.ndim)
        if reduce not in (None, "add"):
            raise NotImplementedError(f"scatter: reduce='{reduce}' is not implemented in juanji (only 'add')")
        self._check_index_along("scatter", d, index, src if isinstance(src, TensorBase) else None)
        return I.Scatter.apply(self, index._data, src._cast(self.dtype) if isinstance(src, TensorBase) else src, d, reduce)

    @numpy_aliases
    def scatter_add(self, dim, index, src):
        return self.scatter(dim, index, src, reduce="add")

    @numpy_aliases
    def scatter_(self, dim, index, src=None, value=None, reduce=None):
        return self._inplace(self.scatter(dim, index, src, value, reduce))

    @numpy_aliases
    def scatter_add_(self, dim, index, src):
        return self._inplace(self.scatter_add(dim, index, src))

    @numpy_aliases
    def index_select(self, dim, index):
        """The entries at ``index`` (a 1-D integer tensor) along ``dim``."""
        d = _dim(dim, self.ndim)
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        if idx.ndim > 1 or idx.dtype.kind not in "iu":
            raise IndexError(f"index_select(): Index is supposed to be a vector of integers, got shape "
                             f"{list(idx.shape)} and dtype {idx.dtype}")
        size = self._data.shape[d] if self.ndim else 1
        if idx.size and (idx.min() < -size or idx.max() >= size):
            raise IndexError("index out of range in self")
        return I.IndexSelect.apply(self, idx, d)

    def masked_fill(self, mask, value):
        if isinstance(value, TensorBase):
            value = value.item()
        m = mask._data if isinstance(mask, TensorBase) else mask
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask.dtype}")
        return I.MaskedFill.apply(self, m, value)

    def masked_fill_(self, mask, value):
        return self._inplace(self.masked_fill(mask, value))

    def masked_select(self, mask):
        return self[mask.expand_as(self) if mask.shape != self.shape else mask]

    def nonzero(self, as_tuple=False):
        idx = xp_of(self._data).nonzero(self._data)
        if as_tuple:
            return tuple(self._from_array(i.astype(np.int64)) for i in idx)
        return self._from_array(xp_of(self._data).stack(idx, axis=1).astype(np.int64))

    def where(self, condition, other):
        """self where ``condition`` is True, else ``other`` (both promoted to one dtype)."""
        return _where(condition, self, other, self)


def _where(condition, input, other, like):
    """``juanji.where(condition, input, other)``: input where condition else other, promoted to
    one dtype; either may be a Python number. ``like`` (a tensor or the Tensor class) makes a
    tensor of a number when both are numbers."""
    cond = condition._data if isinstance(condition, TensorBase) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{dt.from_numpy_dtype(cond.dtype).name}")
    if isinstance(input, TensorBase):
        a, b = _promote_pair(input, _to_operand(other, like))
    else:
        b, a = _promote_pair(_to_operand(other, like), input) if isinstance(other, TensorBase) else (other, input)
        if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
            a = like._from_array(_array_from_data(a))
    return E.Where.apply(cond, a, b)
