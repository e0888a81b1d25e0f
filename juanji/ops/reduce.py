"""Reductions along dims: sum, mean, prod, var/std, max/min (with indices), amax/amin,
logsumexp, norm, cumsum. ``axis`` is a tuple of non-negative dims or None (all dims)."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of


def _expand_back(g, shape, axis, keepdim):
    """Re-insert reduced dims (size 1) so ``g`` broadcasts against the input shape."""
    if keepdim or axis is None and g.ndim == len(shape):
        return g
    if axis is None:
        return g.reshape((1,) * len(shape))
    for a in sorted(axis):
        g = xp_of(g).expand_dims(g, a)
    return g


class Sum(Op):
    def forward(self, x, axis=None, keepdim=False, dtype=None):
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        return x.sum(axis=axis, keepdims=keepdim, dtype=dtype)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axis, self.keepdim)
        return (xp_of(g).broadcast_to(g, self.shape),)


class Mean(Op):
    def forward(self, x, axis=None, keepdim=False):
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        self.count = x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
        return x.mean(axis=axis, keepdims=keepdim)

    def backward(self, g):
        g = _expand_back(g, self.shape, self.axis, self.keepdim) / self.count
        return (xp_of(g).broadcast_to(g, self.shape),)


class Prod(Op):
    """dy/dx_i = prod_{j != i} x_j, computed without dividing so zeros are handled."""

    def forward(self, x, axis=None, keepdim=False):
        self.x, self.axis, self.keepdim = x, axis, keepdim
        return x.prod(axis=axis, keepdims=keepdim)

    def backward(self, g):
        x, xp = self.x, xp_of(self.x)
        g = _expand_back(g, x.shape, self.axis, self.keepdim)
        if self.axis is None:
            flat = x.reshape(-1)
            left = xp.concatenate([xp.ones(1, x.dtype), xp.cumprod(flat)[:-1]])
            right = xp.concatenate([xp.cumprod(flat[::-1])[:-1][::-1], xp.ones(1, x.dtype)])
            return (g * (left * right).reshape(x.shape),)
        (a,) = self.axis
        n = x.shape[a]
        ones = xp.ones_like(xp.take(x, [0], axis=a))
        left = xp.concatenate([ones, xp.cumprod(xp.take(x, range(n - 1), axis=a), axis=a)], axis=a)
        rev = xp.flip(x, axis=a)
        right = xp.flip(xp.concatenate([ones, xp.cumprod(xp.take(rev, range(n - 1), axis=a), axis=a)],
                                       axis=a), axis=a)
        return (g * left * right,)


class Var(Op):
    """var = sum((x - mean)^2) / (N - correction);  dvar/dx = 2 (x - mean) / (N - correction)."""

    def forward(self, x, axis=None, correction=1, keepdim=False):
        self.x, self.axis, self.keepdim = x, axis, keepdim
        n = x.size if axis is None else int(np.prod([x.shape[a] for a in axis]))
        self.denom = max(n - correction, 0)
        self.mean = x.mean(axis=axis, keepdims=True)
        d = x - self.mean
        with np.errstate(divide="ignore", invalid="ignore"):
            return (d * d).sum(axis=axis, keepdims=keepdim) / x.dtype.type(self.denom)

    def backward(self, g):
        g = _expand_back(g, self.x.shape, self.axis, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g * 2 * (self.x - self.mean) / self.x.dtype.type(self.denom),)


class MaxMin(Op):
    """max/min over one dim, returning (values, indices); the gradient goes to the index."""

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


class AmaxAmin(Op):
    """amax/amin (and max()/min() of a whole tensor): ties share the gradient evenly."""

    def forward(self, x, axis=None, keepdim=False, largest=True):
        y = x.max(axis=axis, keepdims=True) if largest else x.min(axis=axis, keepdims=True)
        self.x, self.y, self.axis, self.keepdim = x, y, axis, keepdim
        if keepdim:
            return y
        return y.reshape(()) if axis is None else y.squeeze(axis)

    def backward(self, g):
        g = _expand_back(g, self.x.shape, self.axis, self.keepdim)
        mask = (self.x == self.y).astype(g.dtype)
        return (g * mask / mask.sum(axis=self.axis, keepdims=True),)


class LogSumExp(Op):
    """y = m + log(sum(exp(x - m))) with m = max(x);  dy/dx = softmax(x)."""

    def forward(self, x, axis, keepdim=False):
        xp = xp_of(x)
        m = x.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(x - m)
        s = e.sum(axis=axis, keepdims=True)
        y = xp.log(s) + m
        self.x, self.y, self.axis, self.keepdim = x, y, axis, keepdim
        return y if keepdim else y.squeeze(axis)

    def backward(self, g):
        g = _expand_back(g, self.x.shape, self.axis, self.keepdim)
        return (g * xp_of(g).exp(self.x - self.y),)


class Norm(Op):
    """p-norm: (sum |x|^p)^(1/p); p = inf is max |x|; dy/dx = x |x|^(p-2) / y^(p-1)."""

    def forward(self, x, p=2.0, axis=None, keepdim=False):
        xp = xp_of(x)
        a = abs(x)
        if p == float("inf"):
            y = a.max(axis=axis, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
        elif p == 1:
            y = a.sum(axis=axis, keepdims=True)
        elif p == 0:
            y = (x != 0).sum(axis=axis, keepdims=True).astype(x.dtype)
        else:
            y = (a ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)
        self.x, self.y, self.p, self.axis, self.keepdim = x, y, p, axis, keepdim
        if keepdim:
            return y
        return y.reshape(()) if axis is None else y.squeeze(axis)

    def backward(self, g):
        xp = xp_of(g)
        x, y, p = self.x, self.y, self.p
        g = _expand_back(g, x.shape, self.axis, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == float("inf"):
                mask = (abs(x) == y).astype(g.dtype)
                gx = g * xp.sign(x) * mask / mask.sum(axis=self.axis, keepdims=True)
            elif p == 2:
                gx = g * xp.where(y == 0, 0, x / y)
            elif p == 1:
                gx = g * xp.sign(x)
            elif p == 0:
                gx = g * 0 * x
            else:
                gx = g * xp.where(y == 0, 0, x * abs(x) ** (p - 2) / y ** (p - 1))
        return (gx,)


class Cumsum(Op):
    def forward(self, x, axis):
        self.axis = axis
        return xp_of(x).cumsum(x, axis=axis)

    def backward(self, g):
        xp = xp_of(g)
        return (xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis),)
