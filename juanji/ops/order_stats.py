"""Order statistics: values picked out of a tensor by their rank (``median``, ``kthvalue``,
``mode``, ``nanmedian``) and the cumulative maximum and minimum.

Two gradient rules cover them, as in torch:

- a value picked at a known index along a dim (``x.median(dim)``, ``kthvalue``, ``mode``,
  ``cummax``) sends its gradient back to that index: ``dL/dx[..., i, ...] = sum of g over the
  outputs that picked i`` (``PickAlong``);
- a value picked from all elements without an index (``x.median()``) shares its gradient evenly
  among the elements equal to it (the elements that are NaN, for a NaN result): ``EvenlyShared``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of

__all__ = ["PickAlong", "EvenlyShared", "kth_indices", "lower_median_indices", "mode_indices", "cumulative_extreme"]


class PickAlong(Op):
    """y = x at ``index`` along ``axis`` (``index`` has x's shape with size 1 along ``axis``;
    the picked dim is kept with ``keepdim``);  dL/dx = g put back at the picked places (summed where
    several outputs picked the same element, as in cummax)."""

    def forward(self, x, index, axis, keepdim=True):
        self.shape, self.index, self.axis = x.shape, index, axis
        y = xp_of(x).take_along_axis(x, index, axis)
        return y if keepdim else y.squeeze(axis)

    def backward(self, g):
        xp = xp_of(g)
        if g.ndim < len(self.shape):
            g = xp.expand_dims(g, self.axis)
        out = xp.zeros(self.shape, g.dtype)
        if out.size == 0:
            return (out,)
        if self.index.shape[self.axis] == 1:
            xp.put_along_axis(out, self.index, g, self.axis)
        else:  # cummax/cummin: several outputs may pick one element; add them up
            n = self.shape[self.axis]
            count = out.size // n
            moved_out = xp.moveaxis(out, self.axis, -1).reshape(count, n)
            rows = xp.arange(count)[:, None]
            index = xp.moveaxis(self.index, self.axis, -1).reshape(count, -1)
            values = xp.moveaxis(g, self.axis, -1).reshape(count, -1)
            np.add.at(moved_out, (rows, index), values) if xp is np else xp.add.at(moved_out, (rows, index), values)
            out = xp.moveaxis(moved_out.reshape(xp.moveaxis(out, self.axis, -1).shape), -1, self.axis)
        return (out,)


class EvenlyShared(Op):
    """y = a value chosen from all of x (``x.median()``);  dL/dx = g / m at each of the m elements
    equal to y (the NaN elements when y is NaN), 0 elsewhere."""

    def forward(self, x, value):
        self.x, self.value = x, value
        return value

    def backward(self, g):
        xp = xp_of(g)
        if xp.isnan(self.value):
            chosen = xp.isnan(self.x)
        else:
            chosen = self.x == self.value
        return (xp.where(chosen, g / chosen.sum(), g.dtype.type(0)).astype(g.dtype),)


def kth_indices(x, k, axis):
    """The index of the k-th smallest element (k counts from 1) along ``axis``, kept as a size-1
    dim; NaN counts as larger than every number (NumPy's sort order, which is torch's)."""
    xp = xp_of(x)
    order = xp.argsort(x, axis=axis, kind="stable")
    return xp.take(order, [k - 1], axis=axis)


def lower_median_indices(x, axis, ignore_nan):
    """The index of the lower median along ``axis`` (the ((n - 1) // 2 + 1)-th smallest); with
    ``ignore_nan`` n counts only the numbers (an all-NaN slice picks a NaN); without it a slice with
    a NaN picks its first NaN (the median is NaN, as in torch)."""
    xp = xp_of(x)
    order = xp.argsort(x, axis=axis, kind="stable")  # NaNs last
    nan = xp.isnan(x) if x.dtype.kind == "f" else xp.zeros(x.shape, bool)
    count = x.shape[axis] - nan.sum(axis=axis, keepdims=True)
    if ignore_nan:
        rank = xp.where(count > 0, (count - 1) // 2, 0)
    else:
        rank = xp.where(count < x.shape[axis], count, (count - 1) // 2)  # the first NaN sorts at `count`
    return xp.take_along_axis(order, rank.astype(np.int64), axis)


def mode_indices(x, axis):
    """The index of the mode along ``axis``: the most frequent value (the smallest among equally
    frequent ones), at its last occurrence (torch's choice)."""
    xp = xp_of(x)
    moved = xp.moveaxis(x, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    n = flat.shape[1]
    order = xp.argsort(flat, axis=1, kind="stable")
    ranked = xp.take_along_axis(flat, order, 1)
    # runs of equal values in each sorted row: where each run starts, and its length
    starts = xp.ones(ranked.shape, bool)
    if n > 1:
        same = ranked[:, 1:] == ranked[:, :-1]
        if ranked.dtype.kind == "f":
            same |= xp.isnan(ranked[:, 1:]) & xp.isnan(ranked[:, :-1])
        starts[:, 1:] = ~same
    run_id = xp.cumsum(starts, axis=1) - 1
    rows = xp.arange(flat.shape[0])[:, None]
    lengths = xp.zeros(flat.shape, np.int64)
    np.add.at(lengths, (rows, run_id), 1) if xp is np else xp.add.at(lengths, (rows, run_id), 1)
    best_run = xp.argmax(lengths, axis=1)  # the first longest run: the smallest value
    in_best = run_id == best_run[:, None]
    # the last occurrence in the original order: the largest original index in the run
    last = xp.where(in_best, order, -1).max(axis=1)
    index = last.reshape(moved.shape[:-1] + (1,))
    return xp.moveaxis(index, -1, axis)


def cumulative_extreme(x, axis, largest):
    """(values, indices) of the running max (or min) along ``axis``: a tie moves the index to the
    later element; from the first NaN on the value is NaN and the index is that of the latest NaN."""
    xp = xp_of(x)
    accumulate = (xp.maximum if largest else xp.minimum).accumulate
    values = accumulate(x, axis=axis)  # (NaN propagates)
    positions = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    marker = x == values  # where the running extreme is set (or tied) by this element
    if x.dtype.kind == "f":
        marker = marker | xp.isnan(x)  # torch: every NaN takes the index (a number never does after one)
    indices = xp.maximum.accumulate(xp.where(marker, positions, 0), axis=axis).astype(np.int64)
    return values, indices
