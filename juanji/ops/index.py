"""Indexing primitives: getitem, index-put, gather/scatter, index_select, masked_fill."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of


def is_basic_index(index) -> bool:
    """True when ``index`` uses only ints, slices, None and Ellipsis (a view, no copy)."""
    if not isinstance(index, tuple):
        index = (index,)
    for i in index:
        if not (i is None or i is Ellipsis or isinstance(i, (int, slice))) or isinstance(i, bool):
            return False
    return True


def _is_whole(part, size) -> bool:
    """A slice that keeps all of a dim (torch applies no operation for it)."""
    return part.__class__ is slice and part.indices(size) == (0, size, 1)


def _is_int(part) -> bool:
    return isinstance(part, (int, np.integer)) and not isinstance(part, bool)


def _view_ops(shape, parts):
    """The operations torch applies, dim by dim, for the basic parts of an index (ints: select,
    slices: slice, None: unsqueeze; whole slices and Ellipsis: nothing), and whether the index
    also has advanced parts (tensors, lists, masks), which torch applies after all of them."""
    ops, advanced, dim = [], False, 0
    explicit = sum(part is not None and part is not Ellipsis for part in parts)
    for part in parts:
        if part is None:
            ops.append("UnsqueezeBackward0")
        elif part is Ellipsis:
            dim += len(shape) - explicit
        elif part.__class__ is slice:
            if dim < len(shape) and not _is_whole(part, shape[dim]):
                ops.append("SliceBackward0")
            dim += 1
        elif _is_int(part) or (getattr(part, "ndim", None) == 0 and part.dtype.kind in "iu"):
            ops.append("SelectBackward0")  # an int, or a one-element integer tensor (torch selects too)
            dim += 1
        else:
            advanced = True
            dim += getattr(part, "ndim", 1) if getattr(part, "dtype", None) == bool else 1
    return ops, advanced


def _getitem_node_name(shape, index) -> str:
    """torch's node for ``x[index]``: named after the last operation torch applied (see
    ``_view_ops``): IndexBackward0 if any part is advanced, AliasBackward0 if nothing was applied
    (``x[...]``, ``x[:, :]``). A lone slice, even a whole one, is a slice."""
    if index.__class__ is slice:
        return "SliceBackward0"
    ops, advanced = _view_ops(shape, index if isinstance(index, tuple) else (index,))
    if advanced:
        return "IndexBackward0"
    return ops[-1] if ops else "AliasBackward0"


class GetItem(Op):
    """y = x[index]; the gradient is scattered back (summing repeated integer indices)."""

    @staticmethod
    def node_name_for(x, index):
        return _getitem_node_name(x.shape, index)

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        self.basic = is_basic_index(index)
        return x[index]

    def backward(self, g):
        xp = xp_of(g)
        out = xp.zeros(self.shape, g.dtype)
        if self.basic:
            out[self.index] = g
        else:
            xp.add.at(out, self.index, g)
        return (out,)


class IndexPut(Op):
    """y = x with y[index] = v (out of place; Tensor.__setitem__ rebinds to it)."""

    @staticmethod
    def node_name_for(x, v, index, accumulate=False):
        """torch: CopySlices when it writes into a view (an int or a partial slice in the index),
        IndexPutBackward0 for tensors, lists and masks alone, FillBackward3 (a single value) or
        CopyBackwards (a tensor) when the whole tensor is written."""
        ops, advanced = _view_ops(x.shape, index if isinstance(index, tuple) else (index,))
        if accumulate or (advanced and not ops):
            return "IndexPutBackward0"
        if ops:
            return "CopySlices"
        return "FillBackward3" if getattr(v, "ndim", 0) == 0 else "CopyBackwards"

    def forward(self, x, v, index, accumulate=False):
        self.index, self.v_shape = index, getattr(v, "shape", ())
        y = x.copy()
        if accumulate:
            xp_of(x).add.at(y, index, v)
        else:
            y[index] = v
        self.accumulate = accumulate
        return y

    def backward(self, g):
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = g
            if not self.accumulate:
                gx = g.copy()
                gx[self.index] = 0
        if self.needs_input_grad[1]:
            gv = g[self.index]
        return gx, gv


class Gather(Op):
    """y[i][j][k] = x[i][index[i][j][k]][k] (dim=1); backward scatter-adds.

    The index may be smaller than x outside ``axis`` (torch's rule): x is cut to its size first.
    """

    def forward(self, x, index, axis):
        self.shape, self.index, self.axis = x.shape, index, axis
        cut = tuple(slice(None) if k == axis else slice(0, n) for k, n in enumerate(index.shape))
        return xp_of(x).take_along_axis(x[cut], index, axis=axis)

    def backward(self, g):
        xp = xp_of(g)
        out = xp.zeros(self.shape, g.dtype)
        _scatter_add(out, self.index, g, self.axis)
        return (out, None)


def _full_index(index, axis):
    """Open-mesh index tuple so that arr[idx] addresses index's positions along ``axis``."""
    xp = xp_of(index)
    grids = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)])
    grids[axis] = index
    return tuple(grids)


def _scatter_add(out, index, src, axis):
    xp = xp_of(out)
    src = src[tuple(slice(0, n) for n in index.shape)]
    xp.add.at(out, _full_index(index, axis), src)


class Scatter(Op):
    """torch.scatter / scatter_add: write (or add) ``src`` into ``x`` at ``index`` along ``axis``."""

    @staticmethod
    def node_name_for(x, index, src, axis, reduce=None):
        if reduce == "add":
            return "ScatterAddBackward0"
        return "ScatterBackward0" if hasattr(src, "shape") else "ScatterBackward1"  # a tensor or a value

    def forward(self, x, index, src, axis, reduce=None):
        self.index, self.axis, self.reduce = index, axis, reduce
        xp = xp_of(x)
        y = x.copy()
        idx = _full_index(index, axis)
        if hasattr(src, "shape"):
            src_part = src[tuple(slice(0, n) for n in index.shape)]
            self.src_shape = src.shape
        else:
            src_part = src
            self.src_shape = None
        if reduce == "add":
            xp.add.at(y, idx, src_part)
        else:
            y[idx] = src_part
        return y

    def backward(self, g):
        gx = gsrc = None
        idx = _full_index(self.index, self.axis)
        if self.needs_input_grad[0]:
            gx = g
            if self.reduce != "add":
                gx = g.copy()
                gx[idx] = 0
        if self.needs_input_grad[2] and self.src_shape is not None:
            xp = xp_of(g)
            gsrc = xp.zeros(self.src_shape, g.dtype)
            gsrc[tuple(slice(0, n) for n in self.index.shape)] = g[idx]
        return gx, None, gsrc


class IndexSelect(Op):
    def forward(self, x, index, axis):
        self.shape, self.index, self.axis = x.shape, index, axis
        return xp_of(x).take(x, index, axis=axis)

    def backward(self, g):
        xp = xp_of(g)
        out = xp.zeros(self.shape, g.dtype)
        sl = [slice(None)] * len(self.shape)
        sl[self.axis] = self.index
        xp.add.at(out, tuple(sl), g)
        return (out, None)


class MaskedFill(Op):
    def forward(self, x, mask, value):
        self.mask = mask
        return xp_of(x).where(mask, x.dtype.type(value), x)

    def backward(self, g):
        return (xp_of(g).where(self.mask, g.dtype.type(0), g), None, None)
