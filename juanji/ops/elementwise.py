"""Elementwise primitives: arithmetic with broadcasting and the common math functions.

Each ``forward`` receives arrays already promoted to the result dtype (the Tensor layer does
PyTorch's promotion); ``backward`` may return broadcast-shaped gradients, which the engine
sums back to each input's shape.

Non-finite numbers are met as torch meets them: silently (no NumPy RuntimeWarning from an
overflowing product or ``inf - inf`` in a diverging run), and where torch's backward *selects*
the gradient (relu, clamp, max/min, where) it is selected here too, not multiplied by a 0/1
mask, which would turn an infinite gradient into ``inf * 0 = nan``.
"""

from __future__ import annotations

import numpy as np

from .._dtype import from_numpy_dtype, result_type
from ..autograd import recompute
from ..autograd.function import Op
from ..backend import xp_of
from ..kernels import pointwise
# quiet: NumPy's floating-point warnings off for one call (also importable from here by
# ops/linear.py, ops/normalization.py and nn/utils/clip_grad.py until they import it from kernels)
from ..kernels.errstate import quiet


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


class Cast(Op):
    """y = x converted to another dtype; the gradient is converted back."""

    @quiet  # float64 -> float32 beyond 3.4e38 is inf
    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, g):
        return (g,)  # the engine casts to the input's dtype


class Add(Op):
    @quiet
    def forward(self, a, b):
        return pointwise.add(a, b)

    def backward(self, g):
        return g, g


class Sub(Op):
    @quiet
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Op):
    @quiet
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    @quiet
    def backward(self, g):
        na, nb = self.needs_input_grad
        return (g * self.b if na else None), (g * self.a if nb else None)


class Div(Op):
    """y = a / b;  dy/da = 1/b,  dy/db = -a/b^2."""

    @quiet
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    @quiet
    def backward(self, g):
        na, nb = self.needs_input_grad
        ga = g / self.b if na else None
        gb = -g * self.a / (self.b * self.b) if nb else None
        return ga, gb


class Pow(Op):
    """y = a ** b;  dy/da = b a^(b-1),  dy/db = a^b log(a) (0 where a == 0, as torch)."""

    @quiet
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    @quiet
    def backward(self, g):
        a, b = self.a, self.b
        na, nb = self.needs_input_grad
        ga = gb = None
        if na:
            if _is_array(b) or b != 0:
                ga = g * b * a ** (b - 1)
            else:
                ga = xp_of(g).zeros_like(g)  # torch: x ** 0 is constant, even for an infinite g
        if nb:
            xp = xp_of(g)
            gb = g * xp.where(a == 0, 0, self.y * xp.log(xp.where(a == 0, 1, a)))
        return ga, gb


class Remainder(Op):
    """Python-style modulus (sign of the divisor), like torch.remainder."""

    @quiet
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).mod(a, b)

    @quiet
    def backward(self, g):
        na, nb = self.needs_input_grad
        gb = -g * xp_of(g).floor(self.a / self.b) if nb else None
        return (g if na else None), gb


def _split_at_ties(g, a, b, a_loses, b_loses):
    """The gradients of max/min(a, b), torch's rule: each input gets g, half of it at ties, none
    where it lost (so where a or b is NaN, both get all of g)."""
    xp = xp_of(g)
    zero = g.dtype.type(0)
    shared = xp.where(a == b, g * g.dtype.type(0.5), g)
    return xp.where(a_loses, zero, shared), xp.where(b_loses, zero, shared)


class Maximum(Op):
    """Elementwise max (NaN wins); at ties the gradient is split evenly, as torch does."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).maximum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        return _split_at_ties(g, a, b, a < b, a > b)


class Minimum(Op):
    """Elementwise min (NaN wins); at ties the gradient is split evenly, as torch does."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        return _split_at_ties(g, a, b, a > b, a < b)


class Neg(Op):
    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Abs(Op):
    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, g):
        return (g * xp_of(g).sign(self.x),)


class Exp(Op):
    @quiet
    def forward(self, x):
        self.y = xp_of(x).exp(x)
        return self.y

    @quiet
    def backward(self, g):
        return (g * self.y,)


class Log(Op):
    @quiet
    def forward(self, x):
        self.x = x
        return xp_of(x).log(x)

    @quiet
    def backward(self, g):
        return (g / self.x,)


class Log1p(Op):
    @quiet
    def forward(self, x):
        self.x = x
        return xp_of(x).log1p(x)

    @quiet
    def backward(self, g):
        return (g / (1 + self.x),)


class Sqrt(Op):
    @quiet
    def forward(self, x):
        self.y = xp_of(x).sqrt(x)
        return self.y

    @quiet
    def backward(self, g):
        return (g / (2 * self.y),)


class Rsqrt(Op):
    """y = 1/sqrt(x);  dy/dx = -y^3 / 2."""

    @quiet
    def forward(self, x):
        self.y = 1 / xp_of(x).sqrt(x)
        return self.y

    @quiet
    def backward(self, g):
        return (-0.5 * g * self.y ** 3,)


class Sin(Op):
    @quiet  # sin(inf) is nan
    def forward(self, x):
        self.x = x
        return xp_of(x).sin(x)

    @quiet
    def backward(self, g):
        return (g * xp_of(g).cos(self.x),)


class Cos(Op):
    @quiet
    def forward(self, x):
        self.x = x
        return xp_of(x).cos(x)

    @quiet
    def backward(self, g):
        return (-g * xp_of(g).sin(self.x),)


class Tanh(Op):
    def forward(self, x):
        self.y = xp_of(x).tanh(x)
        return self.y

    @quiet  # an infinite g times 1 - y^2 = 0 is nan, as in torch
    def backward(self, g):
        return (g * (1 - self.y * self.y),)


class Sigmoid(Op):
    """y = 1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2, which never overflows."""

    def forward(self, x):
        xp = xp_of(x)
        y = xp.tanh(x * 0.5)
        y += 1
        y *= 0.5
        self.y = y
        return y

    @quiet
    def backward(self, g):
        return (g * self.y * (1 - self.y),)


class Activated(recompute.Recipe):
    """``activation(source)``: the output of ReLU (or ReLU6, hardtanh) applied to an array that
    itself has a recipe (batch norm's output), made again from that recipe
    (``autograd/recompute.py``). ``activation(a, *args, out=a)`` is the forward's own kernel."""

    __slots__ = ("source", "activation", "args")

    def __init__(self, source, activation, args=()):
        super().__init__()
        self.source, self.activation, self.args = source, activation, args

    def make(self):
        kind = "relu" if self.activation is pointwise.relu else self.args if self.activation is pointwise.hardtanh \
            else None
        if kind is not None and hasattr(self.source, "make_activated"):  # batch norm and it in one sweep
            z = self.source.make_activated(kind)
            if z is not None:
                return z
        a = self.source.make()  # a fresh array (never the source's cached value): written over
        if pointwise.writes_in_place(a):
            return self.activation(a, *self.args, out=a)
        return self.activation(a, *self.args)


def keep_output(op, x, y, activation, args=()):
    """What an activation Op keeps of its output ``y = activation(x, *args)``: a recipe, registered
    for ``y``, when a graph is recorded and ``x`` has one (``autograd/recompute.py``); else ``y``."""
    source = recompute.lookup(x) if op.needs_input_grad[0] else None
    if source is None:
        return y
    recipe = Activated(source, activation, args)
    recompute.register(y, recipe)
    return recipe


class Relu(Op):
    """y = max(x, 0) (NaN stays NaN);  dy/dx = 0 where y <= 0, else 1 (so NaN passes, as in torch).

    After batch norm (in a recorded graph) y is not kept but made again in backward
    (``autograd/recompute.py``)."""

    def forward(self, x):
        y = pointwise.relu(x)
        self.y = keep_output(self, x, y, pointwise.relu)
        return y

    def backward(self, g):
        # selects rather than multiplies: an infinite g never meets a 0 factor (torch's rule)
        y = self.y
        if y.__class__ is Activated:
            grad = pointwise.relu_grad(g, y.value())
            y.drop()  # every Op that used y has run its backward
            return (grad,)
        return (pointwise.relu_grad(g, y),)


class Clamp(Op):
    """y = min(max(x, lo), hi), lo and hi numbers or arrays (broadcast against x), either may be None.

    Gradients, torch's rule (``clamp_backward`` and ``clamp_backward_min_max``):

    - x gets g where lo <= x <= hi (ties included: at x == lo the gradient goes to x);
    - lo gets g where x < lo, and, when both bounds are given, lo < hi (if lo > hi the
      output is hi everywhere, so lo gets nothing);
    - hi gets g where x > hi, or, when both bounds are given, hi < lo.

    Where x or a bound is NaN the output is NaN and every comparison is false: no input gets
    a gradient there. A bound's gradient is broadcast-shaped; the engine sums it to the
    bound's shape.
    """

    def forward(self, x, lo=None, hi=None):
        x, lo, hi = _promote_clamp_operands(x, lo, hi)
        self.x, self.lo, self.hi = x, lo, hi
        xp = xp_of(x)
        y = x
        try:
            if lo is not None:
                y = xp.maximum(y, lo)
            if hi is not None:
                y = xp.minimum(y, hi)
        except ValueError:  # NumPy's broadcasting error: say it as torch does, with the shapes
            raise _clamp_shape_error(x, lo, hi) from None
        return y if y is not x else x.copy()

    def backward(self, g):
        x, lo, hi = self.x, self.lo, self.hi
        # bounds passed by keyword (Clamp.apply(x, lo=0.0)) are not inputs: pad to three
        need_x, need_lo, need_hi = (tuple(self.needs_input_grad) + (False, False))[:3]
        xp = xp_of(g)
        zero = g.dtype.type(0)
        gx = glo = ghi = None
        if need_x:
            if lo is None and hi is None:
                gx = g
            else:
                inside = x >= lo if lo is not None else True
                if hi is not None:
                    inside = inside & (x <= hi)
                gx = xp.where(inside, g, zero)
        if need_lo:
            below = x < lo
            if hi is not None:
                below = below & (lo < hi)
            glo = xp.where(below, g, zero)
        if need_hi:
            above = x > hi
            if lo is not None:
                above = above | (hi < lo)
            ghi = xp.where(above, g, zero)
        return gx, glo, ghi


def _clamp_shape_error(x, lo, hi) -> RuntimeError:
    """torch's error for bounds that do not broadcast with the input: the first dim (from the
    right) where the input, then the input clipped to ``min``, disagrees with the next operand."""
    bounds = [("min", lo), ("max", hi)]
    given = ", ".join(f"{name} {list(b.shape)}" for name, b in bounds if _is_array(b))
    so_far = tuple(x.shape)
    for _, bound in bounds:
        if not _is_array(bound):
            continue
        a, b = so_far, tuple(bound.shape)
        rank = max(len(a), len(b))
        a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
        for dim in reversed(range(rank)):
            if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
                return RuntimeError(f"The size of tensor a ({a[dim]}) must match the size of tensor b ({b[dim]}) at "
                                    f"non-singleton dimension {dim} (clamp: input {list(x.shape)}, {given})")
        so_far = tuple(max(m, n) for m, n in zip(a, b))
    return RuntimeError(f"clamp: the bounds cannot be broadcast with the input (input {list(x.shape)}, {given})")


class _DtypeOf:
    """What juanji's ``result_type`` reads from a Tensor (dtype, ndim), for a bare array."""

    __slots__ = ("dtype", "ndim")

    def __init__(self, array):
        self.dtype = from_numpy_dtype(array.dtype)
        self.ndim = array.ndim


def _promote_clamp_operands(x, lo, hi):
    """Cast x and array bounds to torch's result dtype of clamp (promotion by category, so a
    float32 x with int64 bounds stays float32, where NumPy would compute in float64).

    Number bounds were already handled by the Tensor layer; only array bounds of another
    dtype than x's need this (the common cases return at once)."""
    if not ((_is_array(lo) and lo.dtype != x.dtype) or (_is_array(hi) and hi.dtype != x.dtype)):
        return x, lo, hi
    operands = [_DtypeOf(a) if _is_array(a) else a for a in (x, lo, hi) if a is not None]
    target = result_type(*operands).np
    return tuple(a.astype(target, copy=False) if _is_array(a) else a for a in (x, lo, hi))


class ZeroGrad(Op):
    """Piecewise-constant functions (sign, floor, ceil, round, trunc): gradient zero."""

    def forward(self, x, fn):
        self.shape = x.shape
        return fn(x)

    def backward(self, g):
        return (xp_of(g).zeros_like(g),)


def sign(x):
    """torch's sign (and sgn, for real numbers): -1, 0 or 1, and 0 for NaN, where NumPy's
    ``sign`` gives NaN. (+-0 give +0, as in both.) Bool and integer arrays pass through
    NumPy's sign, which never meets a NaN."""
    xp = xp_of(x)
    y = xp.asarray(xp.sign(x))  # (NumPy gives a scalar for a 0-d array)
    if y.dtype.kind == "f":
        xp.copyto(y, y.dtype.type(0), where=xp.isnan(y))
    return y


class Where(Op):
    """y = a where cond else b; cond is not differentiable."""

    def forward(self, cond, a, b):
        self.cond = cond
        return xp_of(cond).where(cond, a, b)

    def backward(self, g):
        xp = xp_of(g)
        z = g.dtype.type(0)
        return None, (xp.where(self.cond, g, z) if self.needs_input_grad[1] else None), \
            (xp.where(self.cond, z, g) if self.needs_input_grad[2] else None)
