"""Shape and layout primitives: reshape (views), permute, expand, repeat, flip, cat, stack.

One Reshape Op serves view, reshape, flatten, squeeze, unsqueeze and clone, one Permute Op
permute, transpose and t; torch names each node after the method, so the Tensor methods use the
variants defined after each Op (``x.unsqueeze(0)`` is UnsqueezeBackward0, ``x.t()`` TBackward0).
"""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp_of
from ..kernels import pointwise


class Reshape(Op):
    """A view with a new shape when the memory allows it (torch's view/reshape)."""

    node_name = "ViewBackward0"

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


UnsafeView = Reshape.variant("UnsafeViewBackward0")  # torch's reshape when it had to copy
Unsqueeze = Reshape.variant("UnsqueezeBackward0")
SqueezeAll = Reshape.variant("SqueezeBackward0")     # squeeze()
SqueezeDim = Reshape.variant("SqueezeBackward1")     # squeeze(dim)
SqueezeDims = Reshape.variant("SqueezeBackward2")    # squeeze((dim, ...))
Clone = Reshape.variant("CloneBackward0")
Alias = Reshape.variant("AliasBackward0")            # the same memory under another Tensor
# the in-place methods are overloads of their own in torch
UnsqueezeInPlace = Reshape.variant("UnsqueezeBackward1")  # x.unsqueeze_(d)
SqueezeAllInPlace = Reshape.variant("SqueezeBackward3")   # x.squeeze_()
SqueezeDimInPlace = Reshape.variant("SqueezeBackward4")   # x.squeeze_(d)
SqueezeDimsInPlace = Reshape.variant("SqueezeBackward5")  # x.squeeze_((d, ...))


class Permute(Op):
    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, g):
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return (g.transpose(inverse),)


Transpose = Permute.variant("TransposeBackward0")
T = Permute.variant("TBackward0")
TInPlace = Permute.variant("TBackward1")                  # x.t_()


class Expand(Op):
    """Broadcast to a larger shape without copying; the engine sums the gradient back."""

    def forward(self, x, shape):
        return xp_of(x).broadcast_to(x, shape)

    def backward(self, g):
        return (g,)


class Repeat(Op):
    """torch.Tensor.repeat (NumPy's tile): the gradient sums over the copies."""

    def forward(self, x, reps):
        self.in_shape = (1,) * (len(reps) - x.ndim) + x.shape
        self.reps = reps
        return xp_of(x).tile(x, reps)

    def backward(self, g):
        split = []
        for r, n in zip(self.reps, self.in_shape):
            split += [r, n]
        g = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (g,)


class Flip(Op):
    def forward(self, x, dims):
        self.dims = dims
        return xp_of(x).flip(x, dims)

    def backward(self, g):
        return (xp_of(g).flip(g, self.dims),)


class Roll(Op):
    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        return xp_of(x).roll(x, shifts, dims)

    def backward(self, g):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (xp_of(g).roll(g, neg, self.dims),)


def _is_legacy_empty(x) -> bool:
    """torch.cat skips 1-D empty tensors whatever the other inputs' shapes (a legacy rule)."""
    return x.ndim == 1 and x.shape[0] == 0


class Cat(Op):
    """Concatenate along ``axis``; each input gets its slice of the gradient."""

    def forward(self, *xs, axis=0):
        self.axis = axis
        skip = [_is_legacy_empty(x) for x in xs]
        if all(skip):
            skip = [False] * len(xs)
        self.sizes = [None if s else x.shape[axis] for x, s in zip(xs, skip)]
        return pointwise.concatenate([x for x, s in zip(xs, skip) if not s], axis)

    def backward(self, g):
        xp = xp_of(g)
        out, start = [], 0
        index = [slice(None)] * g.ndim
        for n, need in zip(self.sizes, self.needs_input_grad):
            if n is None:  # a skipped empty input
                out.append(xp.zeros((0,), g.dtype) if need else None)
                continue
            if need:
                index[self.axis] = slice(start, start + n)
                out.append(g[tuple(index)])
            else:
                out.append(None)
            start += n
        return tuple(out)


class Stack(Op):
    def forward(self, *xs, axis=0):
        self.axis = axis
        return xp_of(xs[0]).stack(xs, axis=axis)

    def backward(self, g):
        xp = xp_of(g)
        return tuple(xp.take(g, i, axis=self.axis) if need else None
                     for i, need in enumerate(self.needs_input_grad))
