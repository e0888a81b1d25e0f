"""Reductions: ``sum``, ``mean``, ``prod``, ``var``/``std``, ``max``/``min`` (values and indices),
``amax``/``amin``, ``argmax``/``argmin``, ``logsumexp``, ``norm``, ``cumsum``, ``all``/``any``,
``count_nonzero``; and the orderings ``sort``, ``argsort``, ``topk``, ``unique``.

``dim`` is an int, a tuple of ints or None (all dims); ``keepdim=True`` keeps the reduced dims with
size 1. bool and integer inputs of ``sum``/``prod``/``cumsum`` accumulate in int64, as in torch.
``max(dim)``, ``min(dim)``, ``sort`` and ``topk`` return named pairs (``return_types``).
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from .. import _dtype as dt
from ..autograd.tensor_base import TensorBase
from ..backend import xp_of
from ..ops import index as I
from ..ops import reduce as R
from .arguments import _dim, _dims, _py_bool, _py_float, _py_int, numpy_aliases

__all__ = ["_Reductions", "return_types"]

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_SORT = I.Gather.variant("SortBackward0")                   # the values: x gathered at the sorted indices
_TOPK = I.Gather.variant("TopkBackward0")


class return_types:
    """Named results like torch.return_types: ``values, indices = x.max(1)``."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])
    # (the functions of juanji/_tensor/special.py, statistics.py, scans.py and juanji/linalg)
    frexp = namedtuple("frexp", ["mantissa", "exponent"])
    aminmax = namedtuple("aminmax", ["min", "max"])
    median = namedtuple("median", ["values", "indices"])
    nanmedian = namedtuple("nanmedian", ["values", "indices"])
    mode = namedtuple("mode", ["values", "indices"])
    kthvalue = namedtuple("kthvalue", ["values", "indices"])
    cummax = namedtuple("cummax", ["values", "indices"])
    cummin = namedtuple("cummin", ["values", "indices"])
    histogram = namedtuple("histogram", ["hist", "bin_edges"])
    histogramdd = namedtuple("histogramdd", ["hist", "bin_edges"])
    slogdet = namedtuple("slogdet", ["sign", "logabsdet"])
    qr = namedtuple("qr", ["Q", "R"])
    svd = namedtuple("svd", ["U", "S", "V"])
    linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])
    linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
    linalg_qr = namedtuple("linalg_qr", ["Q", "R"])
    linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
    linalg_inv_ex = namedtuple("linalg_inv_ex", ["inverse", "info"])
    linalg_cholesky_ex = namedtuple("linalg_cholesky_ex", ["L", "info"])
    triangular_solve = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


class _Reductions:
    """Tensor methods: reductions and orderings."""

    def _accumulating(self, dtype, name):
        """The input cast for sum/prod/cumsum: an explicit dtype, else bool and integers widen to int64."""
        if dtype is not None:
            return self._cast(dt.to_dtype(dtype))
        if not self.dtype.is_floating_point and self.dtype is not dt.int64:
            return self._cast(dt.int64)
        return self

    def _require_floating(self, name, message=None):
        if not self.dtype.is_floating_point:
            raise RuntimeError(message or f"{name}(): expected a floating point tensor, got {self.dtype.name}")

    def _nonempty_dims(self, axis, name):
        """torch refuses max/min-like reductions over an empty dim (they have no identity)."""
        for a in range(self.ndim) if axis is None else axis:
            if self._data.shape[a] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")

    @numpy_aliases
    def sum(self, dim=None, keepdim=False, dtype=None):
        """Sum over ``dim`` (an int, a tuple of ints, or None for all); bool/int inputs sum in int64."""
        if dim is None and dtype is None and self._data.dtype.kind == "f":
            return R.Sum.apply(self, None, keepdim)
        op = R.Sum if dim is None else R.SumOverDims
        return op.apply(self._accumulating(dtype, "sum"), _dims(dim, self._data.ndim), keepdim)

    @numpy_aliases
    def nansum(self, dim=None, keepdim=False, dtype=None):
        """Sum treating NaN as zero."""
        x = self.masked_fill(self.isnan(), 0) if self.dtype.is_floating_point else self
        return x.sum(dim, keepdim, dtype)

    @numpy_aliases
    def mean(self, dim=None, keepdim=False, dtype=None):
        """Arithmetic mean over ``dim``; floating point only (or pass ``dtype``)."""
        if dtype is not None:
            return self._cast(dt.to_dtype(dtype)).mean(dim, keepdim)
        self._require_floating("mean", "mean(): could not infer output dtype. Input dtype must be either a "
                               f"floating point or complex dtype. Got: {self.dtype.scalar_name}")
        return (R.Mean if dim is None else R.MeanOverDims).apply(self, _dims(dim, self.ndim), keepdim)

    @numpy_aliases
    def prod(self, dim=None, keepdim=False, dtype=None):
        """Product over one dim (or all); the gradient handles zeros without dividing."""
        axis = None if dim is None else _dims(dim if isinstance(dim, (_py_int, np.integer)) else int(dim), self.ndim)
        return (R.Prod if dim is None else R.ProdOverDim).apply(self._accumulating(dtype, "prod"), axis, keepdim)

    def _variance(self, op, dim, unbiased, keepdim, correction):
        if isinstance(dim, _py_bool):  # the old var(unbiased) overload
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        self._require_floating("var", "std and var only support floating point and complex dtypes")
        axis = _dims(dim, self.ndim)
        if R.reduced_count(self._data.shape, axis) - correction <= 0:
            warnings.warn(f"{op.__qualname__.lower()}(): degrees of freedom is <= 0. Correction should be strictly "
                          "less than the reduction factor (input numel divided by output numel).", stacklevel=3)
        return op.apply(self, axis, correction, keepdim)

    @numpy_aliases
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sum((x - mean)^2) / (N - correction); ``unbiased=True`` is correction=1 (the default)."""
        return self._variance(R.Var, dim, unbiased, keepdim, correction)

    @numpy_aliases
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sqrt(var(...)), with the gradient taken as 0 where the std is 0 (as torch)."""
        return self._variance(R.Std, dim, unbiased, keepdim, correction)

    def _max_min(self, dim, keepdim, largest, name):
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            return (R.MaxOfAll if largest else R.MinOfAll).apply(self, None, False, largest)
        if isinstance(dim, TensorBase):  # torch.max(a, b) is maximum(a, b)
            return self.maximum(dim) if largest else self.minimum(dim)
        axis = _dim(dim, self.ndim)
        if self.ndim == 0:
            return getattr(return_types, name)(self.clone(), self._from_array(np.zeros((), np.int64)))
        self._nonempty_dims((axis,), name)
        vals, idx = (R.MaxMin if largest else R.MinAlongDim).apply(self, axis, keepdim, largest)
        return getattr(return_types, name)(vals, idx)

    @numpy_aliases
    def max(self, dim=None, keepdim=False):
        """``max()`` of all elements, or ``(values, indices)`` along ``dim``, or ``max(other)`` elementwise."""
        return self._max_min(dim, keepdim, True, "max")

    @numpy_aliases
    def min(self, dim=None, keepdim=False):
        return self._max_min(dim, keepdim, False, "min")

    def _amax_amin(self, dim, keepdim, largest, name):
        axis = _dims(dim, self.ndim)
        self._nonempty_dims(axis, name)
        return (R.AmaxAmin if largest else R.Amin).apply(self, axis, keepdim, largest)

    @numpy_aliases
    def amax(self, dim=(), keepdim=False):
        """Maximum over ``dim`` (all dims by default); tied maxima share the gradient evenly."""
        return self._amax_amin(dim, keepdim, True, "amax")

    @numpy_aliases
    def amin(self, dim=(), keepdim=False):
        return self._amax_amin(dim, keepdim, False, "amin")

    def _arg_extreme(self, dim, keepdim, largest, name):
        if self.dtype is dt.bool:
            raise RuntimeError(f"{name}(): does not support bool input")
        xp = xp_of(self._data)
        find = xp.argmax if largest else xp.argmin
        if dim is None:
            if self._data.size == 0:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
            out = xp.asarray(find(self._data)).astype(np.int64)
            return self._from_array(out.reshape((1,) * self.ndim) if keepdim else out)
        d = _dim(dim, self.ndim)
        if self.ndim == 0:
            return self._from_array(xp.zeros((), np.int64))
        self._nonempty_dims((d,), name)
        return self._from_array(find(self._data, axis=d, keepdims=keepdim).astype(np.int64))

    @numpy_aliases
    def argmax(self, dim=None, keepdim=False):
        """Index of the (first) maximum, over all elements (flattened) or along ``dim``."""
        return self._arg_extreme(dim, keepdim, True, "argmax")

    @numpy_aliases
    def argmin(self, dim=None, keepdim=False):
        return self._arg_extreme(dim, keepdim, False, "argmin")

    @numpy_aliases
    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over ``dim``, computed stably (the max is subtracted first)."""
        return R.LogSumExp.apply(self._floating(), _dims(dim, self.ndim), keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """Vector p-norm over ``dim`` (all elements by default): (sum |x|^p)^(1/p); p may be inf."""
        if p == "fro" or p is None:
            p = 2.0
        if p == "nuc":
            raise NotImplementedError("norm: the nuclear norm (p='nuc') is not implemented in juanji")
        x = self._cast(dt.to_dtype(dtype)) if dtype is not None else self
        x._require_floating("norm", "linalg.vector_norm: Expected a floating point or complex tensor as input. "
                                    f"Got {x.dtype.scalar_name}")
        axis = _dims(dim, self.ndim)
        if abs(_py_float(p)) == _py_float("inf"):
            for a in range(self.ndim) if axis is None else axis:
                if self._data.shape[a] == 0:
                    raise RuntimeError(f"linalg.vector_norm cannot compute the {p} norm on the dimension {a}"
                                       "because this dimension is empty and the operation does not have an identity")
        return R.Norm.apply(x, _py_float(p), axis, keepdim)

    @numpy_aliases
    def cumsum(self, dim, dtype=None):
        """Running sum along ``dim``; bool/int inputs accumulate in int64."""
        d = _dim(dim, self.ndim)
        x = self._accumulating(dtype, "cumsum")
        if self.ndim == 0:
            return x.clone()
        return R.Cumsum.apply(x, d)

    def _all_any(self, dim, keepdim, fn):
        arr = self._data
        res = fn(arr if arr.dtype == np.bool_ else arr != 0, axis=_dims(dim, self.ndim), keepdims=keepdim)
        res = xp_of(arr).asarray(res)
        # torch keeps uint8 for uint8 input (a legacy rule), bool otherwise
        return self._from_array(res.astype(np.uint8) if arr.dtype == np.uint8 else res)

    @numpy_aliases
    def all(self, dim=None, keepdim=False):
        """True where every element (along ``dim``) is non-zero."""
        return self._all_any(dim, keepdim, xp_of(self._data).all)

    @numpy_aliases
    def any(self, dim=None, keepdim=False):
        """True where some element (along ``dim``) is non-zero."""
        return self._all_any(dim, keepdim, xp_of(self._data).any)

    @numpy_aliases
    def count_nonzero(self, dim=None):
        return self._from_array(xp_of(self._data).asarray(
            (self._data != 0).sum(axis=_dims(dim, self.ndim))).astype(np.int64))

    @numpy_aliases
    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim``; ties keep their order; NaN counts as largest."""
        d = _dim(dim, self.ndim)
        xp = xp_of(self._data)
        if self.ndim == 0:
            return return_types.sort(self.clone(), self._from_array(xp.zeros((), np.int64)))
        if descending:
            # a stable descending order: sort the reversed array ascending, then reverse back
            n = self._data.shape[d]
            rev = xp.argsort(xp.flip(self._data, d), axis=d, kind="stable")
            idx = (n - 1) - xp.flip(rev, d)
        else:
            idx = xp.argsort(self._data, axis=d, kind="stable")
        idx = self._from_array(idx.astype(np.int64))
        return return_types.sort(_SORT.apply(self, idx._data, d), idx)

    @numpy_aliases
    def argsort(self, dim=-1, descending=False, stable=False):
        return self.sort(dim, descending)[1]

    @numpy_aliases
    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
        d = _dim(dim, self.ndim)
        size = self._data.shape[d] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError(f"selected index k out of range (k={k}, dim {dim} has size {size})")
        vals, idx = self.sort(dim, descending=largest)
        if self.ndim == 0:
            return return_types.topk(vals, idx)
        idx = idx.narrow(d, 0, k)
        return return_types.topk(_TOPK.apply(self, idx._data, d), idx)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        res = np.unique(self._host(), return_inverse=return_inverse, return_counts=return_counts, axis=dim)
        if not isinstance(res, tuple):
            return self._from_array(res)
        return tuple(self._from_array(r.astype(np.int64) if i else r) for i, r in enumerate(res))
