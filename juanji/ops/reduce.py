"""Reductions along dims: sum, mean, prod, var/std, max/min (with indices), amax/amin,
logsumexp, norm, cumsum.

``axis`` is a sorted tuple of non-negative dims, ``()`` (a 0-d input: nothing to reduce) or
None (all dims). The Tensor layer checks arguments and dtypes; these work on arrays.

Node names are torch's: a reduction of everything and one over dims are different overloads
in torch (``x.sum()`` is SumBackward0, ``x.sum(0)`` SumBackward1); the Tensor methods pick the
variant defined after each Op.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of

__all__ = ["Sum", "SumOverDims", "Mean", "MeanOverDims", "Prod", "ProdOverDim", "Var", "Std", "MaxMin", "MinAlongDim",
           "AmaxAmin", "Amin", "MaxOfAll", "MinOfAll", "LogSumExp", "Norm", "Cumsum", "reduced_count"]

_quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")  # as a decorator only


def _quietly():
    """The same as a ``with`` block (one np.errstate object can be entered only once)."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")


def reduced_count(shape, axis) -> int:
    """How many elements each output element summarises."""
    n = 1
    for a in (range(len(shape)) if axis is None else axis):
        n *= shape[a]
    return n


def _expand_back(g, shape, axis, keepdim):
    """Re-insert the reduced dims (as size 1) so ``g`` broadcasts against the input ``shape``."""
    if keepdim or g.ndim == len(shape):
        return g
    if axis is None:
        return g.reshape((1,) * len(shape))
    return g.reshape(tuple(1 if i in axis else n for i, n in enumerate(shape)))


def _squeeze(y, axis, keepdim):
    """Drop the reduced dims of a keepdims=True result unless ``keepdim``."""
    if keepdim:
        return y
    if axis is None:
        return y.reshape(())
    return y.reshape(tuple(n for i, n in enumerate(y.shape) if i not in axis))


class Sum(Op):
    """y = sum over axis of x;  dy/dx = 1 (the gradient is broadcast back)."""

    def forward(self, x, axis=None, keepdim=False):
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        return x.sum(axis=axis, keepdims=keepdim)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axis, self.keepdim)
        return (xp_of(g).broadcast_to(g, self.shape),)


SumOverDims = Sum.variant("SumBackward1")


class Mean(Op):
    """y = sum(x) / N;  dy/dx = 1 / N."""

    def forward(self, x, axis=None, keepdim=False):
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        self.count = reduced_count(x.shape, axis)
        total = x.sum(axis=axis, keepdims=keepdim)
        if self.count == 0:  # the mean of nothing is NaN, quietly (as torch)
            with _quietly():
                return total / x.dtype.type(0)
        return total / x.dtype.type(self.count)

    def backward(self, g):
        if self.count == 0:  # an empty input: an empty gradient
            return (xp_of(g).zeros(self.shape, g.dtype),)
        g = _expand_back(g, self.shape, self.axis, self.keepdim) / g.dtype.type(self.count)
        return (xp_of(g).broadcast_to(g, self.shape),)


MeanOverDims = Mean.variant("MeanBackward1")


def _exclusive_products(x, axis):
    """For each element, the product of the *other* elements along ``axis``, without dividing
    (so zeros are handled): the product of everything before it times everything after it."""
    xp = xp_of(x)
    if x.shape[axis] == 0:
        return x.copy()
    moved = xp.moveaxis(x, axis, -1)
    ones = xp.ones(moved.shape[:-1] + (1,), x.dtype)
    before = xp.concatenate([ones, xp.cumprod(moved[..., :-1], axis=-1)], axis=-1)
    after = xp.flip(xp.concatenate([ones, xp.cumprod(xp.flip(moved[..., 1:], -1), axis=-1)], axis=-1), -1)
    return xp.moveaxis(before * after, -1, axis)


class Prod(Op):
    """y = prod over one dim (or all);  dy/dx_i = prod_{j != i} x_j."""

    def forward(self, x, axis=None, keepdim=False):
        self.x, self.axis, self.keepdim = x, axis, keepdim
        return x.prod(axis=axis, keepdims=keepdim)

    def backward(self, g):
        x = self.x
        g = _expand_back(g, x.shape, self.axis, self.keepdim)
        if self.axis == ():
            return (g,)
        if self.axis is None:
            others = _exclusive_products(x.reshape(-1), 0).reshape(x.shape)
        else:
            others = _exclusive_products(x, self.axis[0])
        return (g * others,)


ProdOverDim = Prod.variant("ProdBackward1")


class Var(Op):
    """var = sum((x - mean)^2) / max(N - correction, 0);  dvar/dx = 2 (x - mean) / (N - correction).

    Two passes in the input's dtype; where that overflows or underflows (float32 values near 1e20
    square past float32's range; near 1e-20 to denormals) the sums are taken again in float64, as
    torch accumulates float32 in double: std stays finite until the values themselves overflow.

    With N - correction <= 0 torch's gradient is NaN for a full reduction, and otherwise divides
    by N - correction unclamped (a negative count gives -0); we follow it.
    """

    @_quiet
    def forward(self, x, axis=None, correction=1, keepdim=False):
        return self._variance(x, axis, correction, keepdim).astype(x.dtype, copy=False)

    def _variance(self, x, axis, correction, keepdim):
        """The variance, in float64 where the input's dtype could not hold the sums."""
        self.x, self.axis, self.keepdim = x, axis, keepdim
        n = reduced_count(x.shape, axis)
        self.dof = n - correction
        self.full = axis is None or x.ndim == 0
        self.mean = x.mean(axis=axis, keepdims=True)
        d = x - self.mean
        squares = (d * d).sum(axis=axis, keepdims=keepdim)
        if x.dtype.itemsize < 8 and x.size and not _representable(squares):
            wide = x.astype(np.float64)
            mean = wide.mean(axis=axis, keepdims=True)
            d = wide - mean
            squares = (d * d).sum(axis=axis, keepdims=keepdim)
            self.mean = mean.astype(x.dtype)
        return squares / squares.dtype.type(max(self.dof, 0))

    @_quiet
    def backward(self, g):
        g = _expand_back(g, self.x.shape, self.axis, self.keepdim)
        if self.dof > 0:
            factor = 2.0 / self.dof
        elif self.full or self.dof == 0:
            factor = np.nan if self.full else np.inf
        else:
            factor = 2.0 / self.dof
        return (g * (self.x - self.mean) * g.dtype.type(factor),)


def _representable(squares) -> bool:
    """Whether sums of squares in a narrow float kept their precision: all finite and none so
    small that its terms were denormal (0 included: a constant input is checked in float64)."""
    xp = xp_of(squares)
    tiny = xp.finfo(squares.dtype).smallest_normal / xp.finfo(squares.dtype).eps
    return bool(xp.isfinite(squares).all()) and bool((squares >= tiny).all())


class Std(Var):
    """std = sqrt(var);  dstd/dx = dvar/dx / (2 std), taken as 0 where std == 0 (torch's rule).
    The square root is taken before narrowing (a float32 variance of 1e40 is inf, its std is not)."""

    @_quiet
    def forward(self, x, axis=None, correction=1, keepdim=False):
        self.y = xp_of(x).sqrt(self._variance(x, axis, correction, keepdim)).astype(x.dtype, copy=False)
        return self.y

    @_quiet
    def backward(self, g):
        xp = xp_of(g)
        g = xp.where(self.y == 0, g.dtype.type(0), g / (2 * self.y))
        return super().backward(g)


class MaxMin(Op):
    """max/min over one dim, returning (values, indices); the gradient goes to the index."""

    node_name = "MaxBackward0"  # torch's max(dim); min(dim) is MinAlongDim

    def forward(self, x, axis, keepdim=False, largest=True):
        xp = xp_of(x)
        idx = xp.argmax(x, axis=axis) if largest else xp.argmin(x, axis=axis)
        idx = xp.expand_dims(idx, axis)
        vals = xp.take_along_axis(x, idx, axis=axis)
        self.shape, self.axis, self.idx, self.keepdim = x.shape, axis, idx, keepdim
        if not keepdim:
            vals, idx = vals.squeeze(axis), idx.squeeze(axis)
        return vals, idx.astype(np.int64)

    def backward(self, g):
        xp = xp_of(g)
        if not self.keepdim:
            g = xp.expand_dims(g, self.axis)
        out = xp.zeros(self.shape, g.dtype)
        xp.put_along_axis(out, self.idx, g, axis=self.axis)
        return (out,)


MinAlongDim = MaxMin.variant("MinBackward0")


class AmaxAmin(Op):
    """amax/amin (and max()/min() of a whole tensor): tied extremes share the gradient evenly."""

    node_name = "AmaxBackward0"  # amin is Amin; max() and min() of everything MaxOfAll, MinOfAll

    def forward(self, x, axis=None, keepdim=False, largest=True):
        y = x.max(axis=axis, keepdims=True) if largest else x.min(axis=axis, keepdims=True)
        self.x, self.y, self.axis, self.keepdim = x, y, axis, keepdim
        return _squeeze(y, axis, keepdim)

    def backward(self, g):
        g = _expand_back(g, self.x.shape, self.axis, self.keepdim)
        mask = (self.x == self.y).astype(g.dtype)
        return (g * mask / mask.sum(axis=self.axis, keepdims=True),)


Amin = AmaxAmin.variant("AminBackward0")
MaxOfAll = AmaxAmin.variant("MaxBackward1")
MinOfAll = AmaxAmin.variant("MinBackward1")


class LogSumExp(Op):
    """y = m + log(sum(exp(x - m))) with m = max(x) (finite);  dy/dx = exp(x - y) = softmax(x)."""

    node_name = "LogsumexpBackward0"

    @_quiet
    def forward(self, x, axis, keepdim=False):
        xp = xp_of(x)
        m = x.max(axis=axis, keepdims=True, initial=-np.inf)
        m = xp.where(xp.isfinite(m), m, x.dtype.type(0))
        s = xp.exp(x - m).sum(axis=axis, keepdims=True)
        y = xp.log(s) + m
        self.x, self.y, self.axis, self.keepdim = x, y, axis, keepdim
        return _squeeze(y, axis, keepdim)

    @_quiet
    def backward(self, g):
        g = _expand_back(g, self.x.shape, self.axis, self.keepdim)
        return (g * xp_of(g).exp(self.x - self.y),)


class Norm(Op):
    """p-norm: (sum |x|^p)^(1/p); p = inf is max |x|, p = 0 counts non-zeros;
    dy/dx = sign(x) |x|^(p-1) / y^(p-1) (0 where y == 0)."""

    node_name = "LinalgVectorNormBackward0"  # torch's norm goes through linalg.vector_norm

    @_quiet
    def forward(self, x, p=2.0, axis=None, keepdim=False):
        xp = xp_of(x)
        a = abs(x)
        if p == np.inf:
            y = a.max(axis=axis, keepdims=True)
        elif p == -np.inf:
            y = a.min(axis=axis, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        elif p == 1:
            y = a.sum(axis=axis, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        else:
            y = (a ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        self.x, self.y, self.p, self.axis, self.keepdim = x, y, p, axis, keepdim
        return _squeeze(y, axis, keepdim)

    @_quiet
    def backward(self, g):
        xp = xp_of(g)
        x, y, p = self.x, self.y, self.p
        zero = g.dtype.type(0)
        g = _expand_back(g, x.shape, self.axis, self.keepdim)
        if p in (np.inf, -np.inf):
            mask = (abs(x) == y).astype(g.dtype)
            return (g * xp.sign(x) * mask / mask.sum(axis=self.axis, keepdims=True),)
        if p == 2:
            return (g * xp.where(y == 0, zero, x / y),)
        if p == 1:
            return (g * xp.sign(x),)
        if p == 0:
            return (g * zero * x,)
        return (g * xp.where(y == 0, zero, xp.sign(x) * abs(x) ** (p - 1) / y ** (p - 1)),)


def _running_sum(x, axis):
    """cumsum with float16/float32 accumulated in float64 (torch's CPU accumulator): a running
    sum in float32 drifts by ~n * eps (1 % after a million terms), which the sum, pairwise, does not."""
    xp = xp_of(x)
    if x.dtype.kind == "f" and x.dtype.itemsize < 8:
        return xp.cumsum(x, axis=axis, dtype=xp.float64).astype(x.dtype)
    return xp.cumsum(x, axis=axis)


class Cumsum(Op):
    """y_i = x_0 + ... + x_i along ``axis``;  the gradient is the reversed cumulative sum of g."""

    def forward(self, x, axis):
        self.axis = axis
        return _running_sum(x, axis)

    def backward(self, g):
        xp = xp_of(g)
        return (xp.flip(_running_sum(xp.flip(g, self.axis), self.axis), self.axis),)
