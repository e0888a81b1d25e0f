"""Shape methods: ``reshape``/``view``, ``flatten``/``unflatten``, ``squeeze``/``unsqueeze``,
``permute``/``transpose``/``t``/``movedim``, ``expand``, ``repeat``, ``flip``, ``roll``.

``view`` is torch's: it refuses a tensor whose memory does not allow the new shape, where
``reshape`` copies (NumPy would copy silently in both).
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.tensor_base import TensorBase
from ..ops import shape as S
from .arguments import _dim, _dims, _py_int, _sizes, numpy_aliases

__all__ = ["_ShapeMethods"]


class _ShapeMethods:
    """Tensor methods: new shapes and orders of the same elements."""

    def _reshape_shape(self, shape):
        shape = _sizes(shape)
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        known = 1
        for s in shape:
            if s != -1:
                if s < 0:
                    raise RuntimeError(f"invalid shape dimension {s}")
                known *= s
        n = self._data.size
        if -1 in shape:
            if known == 0 or n % known:
                raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        elif known != n:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        return shape

    def reshape(self, *shape):
        # torch's reshape is a view when the memory allows it, else a copy (an "unsafe view")
        op = S.Reshape if self._data.flags.c_contiguous else S.UnsafeView
        return op.apply(self, self._reshape_shape(shape))

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (dt.dtype, type)):
            return self._from_array(self._data.view(dt.to_dtype(shape[0]).np))
        shape = self._reshape_shape(shape)
        if not self._data.flags.c_contiguous and self._data.ndim > 1 and self._data.size > 1:
            # NumPy would silently copy; torch refuses, and so do we
            try:
                probe = self._data.view()
                probe.shape = shape
            except AttributeError:
                raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                   "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
        return S.Reshape.apply(self, shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = _dim(start_dim, self.ndim)
        e = _dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self._data.shape  # a plain tuple: cheaper to slice than a Size
        n = 1
        for v in shape[s:e + 1]:
            n *= v
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def ravel(self):
        return self.reshape(-1)

    def unflatten(self, dim, sizes):
        d = _dim(dim, self.ndim)
        sizes = list(sizes)
        if -1 in sizes:
            known = int(np.prod([s for s in sizes if s != -1]))
            sizes[sizes.index(-1)] = self.shape[d] // known
        if int(np.prod(sizes)) != self.shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                               f"{dim} ({self.shape[d]}) in the input tensor")
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    @numpy_aliases
    def squeeze(self, dim=None):
        if dim is None:
            shape = tuple(s for s in self._data.shape if s != 1)
            op = S.SqueezeAll
        else:
            dims = _dims(dim, self.ndim) or ()
            shape = tuple(s for i, s in enumerate(self._data.shape) if not (i in dims and s == 1))
            op = S.SqueezeDims if isinstance(dim, (tuple, list)) else S.SqueezeDim
        return op.apply(self, shape)

    @numpy_aliases
    def unsqueeze(self, dim):
        d = _dim(dim, self.ndim + 1)
        shape = self._data.shape
        return S.Unsqueeze.apply(self, shape[:d] + (1,) + shape[d:])

    def permute(self, *dims):
        dims = _sizes(dims) if not (len(dims) == 1 and isinstance(dims[0], (tuple, list))) else tuple(dims[0])
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                               f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} is not "
                               f"equal to len(dims) = {len(dims)}")
        dims = tuple(_dim(d, self.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return S.Permute.apply(self, dims)

    def transpose(self, dim0, dim1):
        if self.ndim < 2 and self.ndim == 0:
            return self
        d0, d1 = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return S.Transpose.apply(self, tuple(dims))

    swapdims = transpose

    def swapaxes(self, axis0, axis1):
        """``transpose`` under NumPy's name, with NumPy's argument names."""
        return self.transpose(axis0, axis1)

    def t(self):
        """Transpose of a 2-D tensor (a 0-D or 1-D tensor is returned as is)."""
        ndim = self._data.ndim
        if ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
        return self if ndim < 2 else S.T.apply(self, (1, 0))

    def expand(self, *sizes):
        sizes = _sizes(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
                               f"the number of dimensions in the tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = []
        for i, s in enumerate(sizes):
            cur = self._data.shape[i - lead] if i >= lead else 1
            if s == -1:
                if i < lead:
                    raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
                s = cur
            elif cur != 1 and cur != s:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                                   f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(self.shape)}")
            target.append(s)
        return S.Expand.apply(self, tuple(target))

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def repeat(self, *reps):
        reps = _sizes(reps)
        if len(reps) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
        return S.Repeat.apply(self, reps)

    @numpy_aliases
    def repeat_interleave(self, repeats, dim=None):
        if dim is None:
            return self.reshape(-1).repeat_interleave(repeats, 0)
        d = _dim(dim, self.ndim)
        idx = np.repeat(np.arange(self.shape[d]), repeats._data if isinstance(repeats, TensorBase) else repeats)
        return self.index_select(d, self._from_array(idx))

    def flip(self, *dims):
        dims = _sizes(dims)
        return S.Flip.apply(self, tuple(_dim(d, self.ndim) for d in dims))

    def roll(self, shifts, dims=None):
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        return S.Roll.apply(self, shifts, dims)

    def movedim(self, source, destination):
        """Move the dims in ``source`` to the positions in ``destination``; the others keep their order."""
        src = [source] if isinstance(source, (_py_int, np.integer)) else list(source)
        dst = [destination] if isinstance(destination, (_py_int, np.integer)) else list(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                               f"the same number of dims as destination ({dst} dims)")
        src = [_dim(d, self.ndim) for d in src]
        dst = [_dim(d, self.ndim) for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        order = [None] * self.ndim
        for s_, d_ in zip(src, dst):
            order[d_] = s_
        rest = iter(d for d in range(self.ndim) if d not in src)
        order = [o if o is not None else next(rest) for o in order]
        return self.permute(order)

    moveaxis = movedim
