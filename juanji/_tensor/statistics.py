"""Tensor methods for order statistics and the other reductions torch documents beyond sum/mean/max:
``median``, ``nanmedian``, ``kthvalue``, ``mode``, ``quantile``, ``nanquantile``, ``nanmean``,
``aminmax``, ``dist``, ``msort``, ``unique_consecutive``; the value tests ``isposinf``, ``isneginf``,
``isreal``; and the scans ``cumprod``, ``cummax``, ``cummin``, ``logcumsumexp`` (with ``cumsum_``,
``cumprod_``).

Values picked by rank carry their index and send the gradient back to it (torch's rule); a
median of all elements shares its gradient among the elements equal to it. Where several
elements tie, the index torch returns depends on its selection algorithm; juanji returns the
stable-sort choice (the same value).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..backend import xp_of
from ..ops import order_stats as O
from ..ops import scan as C
from ..ops import shape as S
from .arguments import _dim, _py_float, numpy_aliases
from .reductions import return_types

__all__ = ["_Statistics"]

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_PICKS = {name: O.PickAlong.variant(name) for name in
          ("MedianBackward1", "NanmedianBackward1", "KthvalueBackward0", "ModeBackward0", "CummaxBackward0",
           "CumminBackward0")}
_MEDIAN_ALL = O.EvenlyShared.variant("MedianBackward0")
_NANMEDIAN_ALL = O.EvenlyShared.variant("NanmedianBackward0")
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


class _Statistics:
    """Tensor methods: order statistics, further reductions and scans."""

    # ------------------------------------------------------------------ picked by rank
    def _pick(self, index, axis, keepdim, node, result_type):
        values = _PICKS[node].apply(self, index, axis, keepdim)
        kept = index if keepdim else index.squeeze(axis)
        return result_type(values, self._from_array(kept.astype(np.int64)))

    def _along(self, dim, name):
        """dim as an axis; a 0-d tensor is treated as one element along dim 0."""
        axis = _dim(dim, self.ndim)
        if self.ndim and self._data.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        return axis

    def _as_1d_if_scalar(self):
        return self.reshape(1) if self.ndim == 0 else self

    def _median(self, dim, keepdim, ignore_nan, name):
        result_type = getattr(return_types, name)
        if dim is None:
            flat = self.reshape(-1)
            if flat._data.size == 0:
                value = xp_of(self._data).asarray(np.nan, dtype=self._data.dtype)  # (torch: NaN, no error)
            else:
                value = flat._data[O.lower_median_indices(flat._data, 0, ignore_nan)[0]]
            node = _MEDIAN_ALL if name == "median" else _NANMEDIAN_ALL
            return node.apply(self, xp_of(self._data).asarray(value))
        axis = self._along(dim, name)
        x = self._as_1d_if_scalar()
        index = O.lower_median_indices(x._data, axis, ignore_nan)
        out = x._pick(index, axis, keepdim or self.ndim == 0, "MedianBackward1" if name == "median"
                      else "NanmedianBackward1", result_type)
        return out if self.ndim else result_type(out.values.reshape(()), out.indices.reshape(()))

    @numpy_aliases
    def median(self, dim=None, keepdim=False):
        """The lower median (of all elements, or ``(values, indices)`` along ``dim``); NaN if any is NaN."""
        return self._median(dim, keepdim, False, "median")

    @numpy_aliases
    def nanmedian(self, dim=None, keepdim=False):
        """The lower median of the numbers, ignoring NaN (NaN only where all are)."""
        return self._median(dim, keepdim, True, "nanmedian")

    @numpy_aliases
    def kthvalue(self, k, dim=-1, keepdim=False):
        """``(values, indices)`` of the k-th smallest element (k from 1) along ``dim``."""
        axis = _dim(dim, self.ndim)
        x = self._as_1d_if_scalar()
        size = x._data.shape[axis]
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
        out = x._pick(O.kth_indices(x._data, k, axis), axis, keepdim or self.ndim == 0, "KthvalueBackward0",
                      return_types.kthvalue)
        return out if self.ndim else return_types.kthvalue(out.values.reshape(()), out.indices.reshape(()))

    @numpy_aliases
    def mode(self, dim=-1, keepdim=False):
        """``(values, indices)`` of the most frequent value along ``dim`` (the smallest of equally
        frequent ones, at its last occurrence)."""
        axis = _dim(dim, self.ndim)
        x = self._as_1d_if_scalar()
        if x._data.shape[axis] == 0:
            raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
        out = x._pick(O.mode_indices(x._data, axis), axis, keepdim or self.ndim == 0, "ModeBackward0",
                      return_types.mode)
        return out if self.ndim else return_types.mode(out.values.reshape(()), out.indices.reshape(()))

    # ------------------------------------------------------------------ quantiles
    def _quantile(self, q, dim, keepdim, interpolation, ignore_nan, name):
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
        if interpolation not in _INTERPOLATIONS:
            raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                               f"but got {interpolation}")
        q_tensor = isinstance(q, type(self))
        if q_tensor:
            if q.dtype is not self.dtype:
                raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
            if q.ndim > 1:
                raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
            qs = q._host().astype(np.float64).reshape(-1)
        else:
            qs = np.array([_py_float(q)])
        if ((qs < 0) | (qs > 1)).any():
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]" if q_tensor else
                               f"{name}() q must be in the range [0, 1] but got {_py_float(q)}")
        x = self.reshape(-1) if dim is None else self._as_1d_if_scalar()
        axis = 0 if dim is None else _dim(dim, self.ndim)
        if x._data.shape[axis] == 0:
            raise IndexError(f"{name}() input tensor must be non-empty")
        values = x.sort(axis)[0]  # NaN last; differentiable (the gradient goes back through the sort)
        results = [self._quantile_at(values, axis, float(p), interpolation, ignore_nan) for p in qs]
        out = S.Stack.apply(*results, axis=0)  # [len(q), ...the shape with the reduced dim kept]
        if keepdim:
            if dim is None:
                out = out.reshape((len(qs),) + (1,) * self.ndim)
        else:
            out = out.squeeze(axis + 1)
        if not q_tensor or q.ndim == 0:
            out = out.squeeze(0)
        return out

    def _quantile_at(self, values, axis, p, interpolation, ignore_nan):
        """The p-quantile of each slice of the sorted ``values`` (dim kept): at the position
        p (n - 1), n the count of numbers (``ignore_nan``) or of all elements, interpolated."""
        xp = xp_of(values._data)
        n_all = values._data.shape[axis]
        nan = xp.isnan(values._data)
        count = n_all - nan.sum(axis=axis, keepdims=True) if ignore_nan else np.full((1,) * values.ndim, n_all)
        position = p * (xp.maximum(count, 1) - 1)
        if not ignore_nan:  # a slice with a NaN: its quantiles are the last sorted element, a NaN
            position = xp.where(nan.any(axis=axis, keepdims=True), n_all - 1, position)
        lower = xp.floor(position).astype(np.int64)
        upper = xp.ceil(position).astype(np.int64)
        if interpolation == "nearest":
            lower = upper = xp.round(position).astype(np.int64)  # (round half to even, as torch)
        shape = list(values._data.shape)
        shape[axis] = 1
        lower, upper = xp.broadcast_to(lower, shape), xp.broadcast_to(upper, shape)
        low = values.gather(axis, self._from_array(xp.ascontiguousarray(lower)))
        high = values.gather(axis, self._from_array(xp.ascontiguousarray(upper)))
        if interpolation == "lower" or interpolation == "nearest":
            result = low
        elif interpolation == "higher":
            result = high
        elif interpolation == "midpoint":
            result = low + (high - low) * 0.5
        else:
            weight = xp.broadcast_to(position - xp.floor(position), shape).astype(values._data.dtype)
            result = low + (high - low) * self._from_array(xp.ascontiguousarray(weight))
        return result

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The q-quantiles (q a number or a 1-D tensor in [0, 1]) of all elements or along ``dim``;
        q's dim comes first in the result. NaN where a slice has a NaN."""
        return self._quantile(q, dim, keepdim, interpolation, False, "quantile")

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """``quantile`` of the numbers, ignoring NaN."""
        return self._quantile(q, dim, keepdim, interpolation, True, "nanquantile")

    # ------------------------------------------------------------------ other reductions
    @numpy_aliases
    def nanmean(self, dim=None, keepdim=False, dtype=None):
        """The mean of the numbers, ignoring NaN: nansum / count of non-NaN."""
        x = self._cast(dt.to_dtype(dtype)) if dtype is not None else self
        if not x.dtype.is_floating_point:
            raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                               f"{x.dtype.scalar_name}")
        count = x.isnan().logical_not().sum(dim, keepdim)
        return x.nansum(dim, keepdim) / count

    def aminmax(self, *, dim=None, keepdim=False):
        """``(min, max)`` of all elements or along ``dim``."""
        if dim is None and keepdim and self.ndim:
            return return_types.aminmax(self.amin(tuple(range(self.ndim)), True), self.amax(tuple(range(self.ndim)), True))
        if self._data.size == 0 and dim is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        d = () if dim is None else dim
        return return_types.aminmax(self.amin(d, keepdim), self.amax(d, keepdim))

    def dist(self, other, p=2):
        """The p-norm of self - other (broadcast)."""
        return (self - other).norm(p)

    def msort(self):
        """Sorted along dim 0 (the values of ``sort(0)``)."""
        return self.sort(0)[0]

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        """Each run of equal consecutive elements (or slices along ``dim``) kept once."""
        xp = xp_of(self._data)
        if dim is None:
            x = self._data.reshape(-1)
            change = x[1:] != x[:-1]
            shape = self._data.shape
        else:
            axis = _dim(dim, self.ndim)
            moved = xp.moveaxis(self._data, axis, 0)
            x = moved.reshape(moved.shape[0], -1)
            change = (x[1:] != x[:-1]).any(axis=1)
            shape = (self._data.shape[axis],)
        starts = xp.concatenate([xp.ones(min(len(x), 1), bool), change])
        run = xp.cumsum(starts) - 1
        if dim is None:
            values = self._from_array(x[starts])
        else:
            kept = moved[starts]
            values = self._from_array(xp.ascontiguousarray(xp.moveaxis(kept, 0, axis)))
        out = [values]
        if return_inverse:
            out.append(self._from_array(run.reshape(shape).astype(np.int64)))
        if return_counts:
            out.append(self._from_array(xp.diff(xp.append(xp.nonzero(starts)[0], len(x))).astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    # ------------------------------------------------------------------ value tests
    def isposinf(self):
        return self._from_array(xp_of(self._data).isposinf(self._data) if self.dtype.is_floating_point
                                else xp_of(self._data).zeros(self._data.shape, bool))

    def isneginf(self):
        return self._from_array(xp_of(self._data).isneginf(self._data) if self.dtype.is_floating_point
                                else xp_of(self._data).zeros(self._data.shape, bool))

    def isreal(self):
        """True everywhere: juanji's numbers are real."""
        return self._from_array(xp_of(self._data).ones(self._data.shape, bool))

    # ------------------------------------------------------------------ scans
    def _scan_input(self, dim, dtype):
        axis = _dim(dim, self.ndim)
        return self._accumulating(dtype, "cumprod"), axis

    @numpy_aliases
    def cumprod(self, dim, dtype=None):
        """Running product along ``dim``; bool/int inputs accumulate in int64."""
        x, axis = self._scan_input(dim, dtype)
        if self.ndim == 0:
            return x.clone()
        return C.Cumprod.apply(x, axis)

    @numpy_aliases
    def logcumsumexp(self, dim):
        """log(cumsum(exp(x))) along ``dim``, without overflow."""
        axis = _dim(dim, self.ndim)
        if not self.dtype.is_floating_point:
            from .special import _not_implemented
            raise _not_implemented("logcumsumexp_out_cpu", self.dtype)
        if self.ndim == 0:
            return self.clone()
        return C.LogCumSumExp.apply(self, axis)

    def _cumulative_extreme(self, dim, largest, name):
        axis = _dim(dim, self.ndim)
        result_type = getattr(return_types, name)
        if self.ndim == 0:
            return result_type(self.clone(), self._from_array(xp_of(self._data).zeros((), np.int64)))
        if self.dtype is dt.bool:
            x = self._cast(dt.uint8)
            values, indices = O.cumulative_extreme(x._data, axis, largest)
            return result_type(self._from_array(values.astype(bool)), self._from_array(indices))
        _, indices = O.cumulative_extreme(self._data, axis, largest)
        values = _PICKS["CummaxBackward0" if largest else "CumminBackward0"].apply(self, indices, axis)
        return result_type(values, self._from_array(indices))

    @numpy_aliases
    def cummax(self, dim):
        """``(values, indices)`` of the running maximum along ``dim`` (ties: the later index)."""
        return self._cumulative_extreme(dim, True, "cummax")

    @numpy_aliases
    def cummin(self, dim):
        """``(values, indices)`` of the running minimum along ``dim`` (ties: the later index)."""
        return self._cumulative_extreme(dim, False, "cummin")

    @numpy_aliases
    def cumsum_(self, dim, dtype=None):
        return self._inplace(self.cumsum(dim, dtype=dtype))

    @numpy_aliases
    def cumprod_(self, dim, dtype=None):
        return self._inplace(self.cumprod(dim, dtype=dtype))
