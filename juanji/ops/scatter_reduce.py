"""Reducing many values into places: ``scatter_reduce`` (and ``index_reduce``, which is the same
with a 1-D index along a dim), and ``index_add``.

Notation: slot s is a place of the output; its contributors are the src elements scattered to it
and, with ``include_self``, x[s] itself. Places that receive nothing keep x[s] (gradient passes).

    sum:   y_s = sum of contributors           d y_s / d c = 1
    mean:  y_s = sum / count                   d y_s / d c = 1 / count
    prod:  y_s = product of contributors       d y_s / d c = product of the other contributors
    amax:  y_s = max of contributors           the gradient is shared evenly among the
    amin:  y_s = min of contributors           contributors equal to y_s (torch's rule; torch
                                               counts x[s] among them when it equals y_s even
                                               without include_self, and then gives it nothing)

"the product of the others" is computed without dividing: per slot, the product of its non-zero
contributors and the count of its zeros (a contributor that is 0 gets that product if it is the
only zero, else 0; a non-zero contributor gets prod / c if the slot has no zero, else 0).
Integer inputs are reduced exactly (mean rounds toward zero, as torch's integer division).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of
from .elementwise import quiet
from .index import _full_index

__all__ = ["ScatterReduce", "IndexAdd", "index_as_scatter"]

_UFUNCS = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


def index_as_scatter(index, source_shape, axis):
    """The scatter index equivalent to a 1-D ``index`` along ``axis`` (index_reduce, index_add):
    index[i] repeated over source's other dims."""
    xp = xp_of(index)
    shape = [1] * len(source_shape)
    shape[axis] = -1
    return xp.broadcast_to(index.reshape(shape), source_shape)


def _at(xp, name, out, where, values):
    ufunc = getattr(np if xp is np else xp, name)
    ufunc.at(out, where, values)


class ScatterReduce(Op):
    """y = x with src reduced into the places ``index`` names along ``axis`` (see the module
    docstring for the reductions and their gradients)."""

    @quiet
    def forward(self, x, index, src, axis, reduce, include_self=True):
        xp = xp_of(x)
        where = _full_index(index, axis)
        src = src[tuple(slice(0, n) for n in index.shape)]
        self.x, self.src, self.where, self.reduce, self.include_self = x, src, where, reduce, include_self
        self.src_shape = src.shape
        hit = xp.zeros(x.shape, bool)
        hit[where] = True
        self.hit = hit
        y = x.copy()
        if not include_self:
            identity = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if identity is None:  # amax/amin: the extreme of the dtype
                info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
                identity = (-np.inf if x.dtype.kind == "f" else info.min) if reduce == "amax" else \
                    (np.inf if x.dtype.kind == "f" else info.max)
            y[hit] = identity
        _at(xp, _UFUNCS[reduce], y, where, src)
        if reduce == "mean":
            count = xp.zeros(x.shape, np.int64)
            _at(xp, "add", count, where, 1)
            if include_self:
                count = count + 1
            self.count = xp.where(hit, count, 1).astype(x.dtype)
            y = y / self.count if x.dtype.kind == "f" else y // self.count
        self.y = y
        return y

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        x, src, where, y, hit = self.x, self.src, self.where, self.y, self.hit
        self_kept = self.include_self
        zero = g.dtype.type(0)
        if self.reduce == "sum":
            gx, gs = (g if self_kept else xp.where(hit, zero, g)), g[where]
        elif self.reduce == "mean":
            scaled = g / self.count
            gx = xp.where(hit, scaled if self_kept else zero, g)
            gs = scaled[where]
        elif self.reduce == "prod":
            gx, gs = self._prod_gradients(xp, g)
        else:
            # even share among the contributors equal to the result; torch counts x[s] among them
            # when it equals the result even without include_self (and then gives it nothing)
            ties = (x == y).astype(g.dtype)
            _at(xp, "add", ties, where, (src == y[where]).astype(g.dtype))
            share = g / xp.where(ties == 0, 1, ties)
            gx = xp.where(hit, xp.where((x == y) & self_kept, share, zero), g)
            gs = xp.where(src == y[where], share[where], zero)
        full_src = xp.zeros(self.src_shape, g.dtype)
        full_src[...] = gs
        return gx, None, full_src

    def _prod_gradients(self, xp, g):
        x, src, where, hit = self.x, self.src, self.where, self.hit
        nonzero_product = xp.where(hit & self.include_self & (x != 0), x, 1).astype(g.dtype)
        _at(xp, "multiply", nonzero_product, where, xp.where(src != 0, src, 1))
        zeros = ((x == 0) & hit & self.include_self).astype(np.int64)
        _at(xp, "add", zeros, where, (src == 0).astype(np.int64))

        def others(value, product, zero_count):
            safe = xp.where(value == 0, 1, value)
            return xp.where(value == 0, xp.where(zero_count == 1, product, 0),
                            xp.where(zero_count == 0, product / safe, 0))

        gx = xp.where(hit, g * others(x, nonzero_product, zeros) if self.include_self else 0, g)
        gs = g[where] * others(src, nonzero_product[where], zeros[where])
        return gx.astype(g.dtype), gs


class IndexAdd(Op):
    """y = x, then y.select(axis, index[i]) += alpha * source.select(axis, i);
    dL/dx = g,  dL/dsource = alpha * g.index_select(axis, index)."""

    @quiet
    def forward(self, x, index, source, axis, alpha=1):
        self.index, self.axis, self.alpha = index, axis, alpha
        y = x.copy()
        where = [slice(None)] * x.ndim
        where[axis] = index
        _at(xp_of(x), "add", y, tuple(where), source * alpha if alpha != 1 else source)
        return y

    @quiet
    def backward(self, g):
        gs = xp_of(g).take(g, self.index, axis=self.axis)
        return g, None, (gs * self.alpha if self.alpha != 1 else gs)
