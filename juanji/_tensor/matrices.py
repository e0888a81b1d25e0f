"""Tensor methods on matrices and their diagonals: ``diagonal``, ``diag``, ``diag_embed``,
``diagflat``, ``trace``, ``tril``/``triu`` (and in place), ``kron``, ``rot90``, ``fliplr``/``flipud``,
``cross``, ``renorm``, ``diff``, ``adjoint``, ``cov``, ``corrcoef``, and the in-place transposes.

All are built from differentiable primitives (``juanji/ops/diagonal.py`` for the diagonals), so
each has torch's gradient.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.grad_mode import _state
from ..backend import xp_of
from ..ops import diagonal as D
from ..ops import index as I
from ..ops import shape as S
from .arguments import _dim, numpy_aliases

__all__ = ["_Matrices"]

_TRANSPOSE_IN_PLACE = S.Permute.variant("TransposeBackward1")
_TRIL = I.MaskedFill.variant("TrilBackward0")
_TRIU = I.MaskedFill.variant("TriuBackward0")


class _Matrices:
    """Tensor methods: diagonals, triangles and other matrix operations."""

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The offset-diagonal over dims (dim1, dim2), as the last dim of the result."""
        d1, d2 = _dim(dim1, self.ndim), _dim(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return D.Diagonal.apply(self, int(offset), d1, d2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """A tensor with the last dim of self on the offset-diagonal of dims (dim1, dim2), zeros elsewhere."""
        rank = self.ndim + 1
        d1, d2 = _dim(dim1, rank), _dim(dim2, rank)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return D.DiagEmbed.apply(self, int(offset), d1, d2)

    def diag(self, diagonal=0):
        """A 1-D tensor: the square matrix with it on the diagonal-th diagonal; a matrix: that diagonal."""
        if self.ndim == 1:
            return D.DiagEmbed.variant("DiagEmbedBackward0").apply(self, int(diagonal), 0, 1)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")

    def diagflat(self, offset=0):
        """The flattened tensor on the offset-diagonal of a square matrix."""
        return self.reshape(-1).diag_embed(offset)

    def trace(self):
        """The sum of the main diagonal of a matrix (integers sum in int64)."""
        if self.ndim != 2:
            raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(self.ndim))
        return self.diagonal().sum()

    def _triangle(self, diagonal, lower):
        if self.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
        xp = xp_of(self._data)
        rows, cols = self._data.shape[-2:]
        if lower:  # keep (i, j) with j <= i + diagonal
            keep = xp.tri(rows, cols, diagonal, dtype=bool)
        else:  # keep (i, j) with j >= i + diagonal
            keep = ~xp.tri(rows, cols, diagonal - 1, dtype=bool)
        return (_TRIL if lower else _TRIU).apply(self, xp.broadcast_to(~keep, self._data.shape), 0)

    def tril(self, diagonal=0):
        """Zeros above the diagonal-th diagonal of the last two dims."""
        return self._triangle(diagonal, True)

    def triu(self, diagonal=0):
        """Zeros below the diagonal-th diagonal of the last two dims."""
        return self._triangle(diagonal, False)

    def tril_(self, diagonal=0):
        return self._inplace(self.tril(diagonal))

    def triu_(self, diagonal=0):
        return self._inplace(self.triu(diagonal))

    def kron(self, other):
        """The Kronecker product: block (i, j) is self[i, j] * other (for any number of dims)."""
        a, b = self, other
        rank = max(a.ndim, b.ndim)
        a = a.reshape((1,) * (rank - a.ndim) + tuple(a.shape))
        b = b.reshape((1,) * (rank - b.ndim) + tuple(b.shape))
        interleaved_a, interleaved_b = [], []
        for n, m in zip(a.shape, b.shape):
            interleaved_a += [n, 1]
            interleaved_b += [1, m]
        product = a.reshape(interleaved_a) * b.reshape(interleaved_b)
        return product.reshape([n * m for n, m in zip(a.shape, b.shape)])

    def rot90(self, k=1, dims=(0, 1)):
        """Rotated by 90 degrees k times, from the first towards the second of ``dims``."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        d0, d1 = _dim(dims[0], self.ndim), _dim(dims[1], self.ndim)
        if d0 == d1:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
        k = k % 4
        if k == 1:
            return self.flip(d1).transpose(d0, d1)
        if k == 2:
            return self.flip(d0, d1)
        if k == 3:
            return self.flip(d0).transpose(d0, d1)
        return self.clone()

    def fliplr(self):
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self):
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    def adjoint(self):
        """The conjugate transpose of the last two dims (for real tensors, the transpose)."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
                               f"{self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    def cross(self, other, dim=None):
        """The cross product of 3-vectors along ``dim`` (the first dim of size 3 when None, with
        torch's deprecation warning)."""
        if self.ndim != other.ndim:
            raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
        shape = tuple(np.broadcast_shapes(tuple(self.shape), tuple(other.shape)))
        if dim is None:
            warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the "
                          "dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to "
                          "agree with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
            dim = next((k for k, n in enumerate(shape) if n == 3), None)
            if dim is None:
                raise RuntimeError("no dimension of size 3 in input")
        d = _dim(dim, len(shape))
        if self.shape[d] != 3 or other.shape[d] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got {self.shape[d]} and "
                               f"{other.shape[d]}")
        a, b = self.expand(shape), other.expand(shape)

        def part(t, i):
            return t.select(d, i)

        c0 = part(a, 1) * part(b, 2) - part(a, 2) * part(b, 1)
        c1 = part(a, 2) * part(b, 0) - part(a, 0) * part(b, 2)
        c2 = part(a, 0) * part(b, 1) - part(a, 1) * part(b, 0)
        return S.Stack.apply(c0, c1, c2, axis=d)

    def renorm(self, p, dim, maxnorm):
        """Each slice along ``dim`` whose p-norm exceeds maxnorm scaled down to norm maxnorm
        (by maxnorm / (norm + 1e-7), torch's factor)."""
        if not self.dtype.is_floating_point:
            raise RuntimeError("renorm: expected a floating point tensor")
        if p <= 0:
            raise RuntimeError("renorm: non-positive-norm not supported")
        if maxnorm < 0:
            raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
        d = _dim(dim, self.ndim)
        others = tuple(k for k in range(self.ndim) if k != d)
        norm = self.norm(p, others, keepdim=True) if others else self.abs()
        scale = (maxnorm / (norm + 1e-7)).where(norm > maxnorm, norm.new_ones(()))
        return self * scale

    def renorm_(self, p, dim, maxnorm):
        return self._inplace(self.renorm(p, dim, maxnorm))

    @numpy_aliases
    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The n-th forward difference along ``dim``: out[i] = x[i + 1] - x[i], n times (with
        ``prepend``/``append`` joined on first)."""
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        d = _dim(dim, self.ndim)
        x = self
        if prepend is not None or append is not None:
            parts = [t if t.ndim == self.ndim else t.expand(tuple(self.shape[:d]) + (1,) + tuple(self.shape[d + 1:]))
                     for t in (prepend, self, append) if t is not None]
            parts = [self._as_part(t) for t in parts]
            x = S.Cat.apply(*parts, axis=d)
        for _ in range(n):
            size = x.shape[d]
            if size == 0:
                break
            later, earlier = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
            x = later.logical_xor(earlier) if x.dtype.name == "bool" else later - earlier  # (torch: xor for bools)
        return x

    def _as_part(self, t):
        return t._cast(self.dtype) if t.dtype is not self.dtype else t

    def cov(self, *, correction=1, fweights=None, aweights=None):
        """The covariance matrix of the variables in the rows (observations in the columns):
        sum_k w_k (x_ik - m_i)(x_jk - m_j) / (sum w - correction * sum(w a) / sum w)."""
        if self.ndim > 2:
            raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                               f"{self.ndim} dimensions")
        x = self.reshape(1, -1) if self.ndim < 2 else self
        x = x._floating()
        n = x.shape[1]
        w = None
        if fweights is not None:
            w = fweights._cast(x.dtype)
        if aweights is not None:
            w = aweights._cast(x.dtype) if w is None else w * aweights._cast(x.dtype)
        if w is None:
            total = float(n)
            mean = x.mean(1, keepdim=True)
            norm = total - correction
        else:
            total = w.sum()
            mean = (x * w).sum(1, keepdim=True) / total
            if correction == 0:
                norm = total
            elif aweights is None:
                norm = total - correction
            else:
                norm = total - correction * (w * aweights._cast(x.dtype)).sum() / total
        centred = x - mean
        weighted = centred if w is None else centred * w
        c = weighted.matmul(centred.t())
        if not isinstance(norm, float):
            norm = norm.clamp_min(0)
        elif norm <= 0:
            warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
                          "of observations.", UserWarning, stacklevel=2)
            norm = 0.0
        result = c / norm
        return result.squeeze() if self.ndim < 2 else result

    def corrcoef(self):
        """Pearson correlation coefficients of the rows: cov / (std_i std_j), clipped to [-1, 1]."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        d = c.diagonal()
        stddev = d.sqrt()
        c = c / stddev.unsqueeze(1)
        c = c / stddev.unsqueeze(0)
        return c.clamp(-1, 1)

    def _transpose_in_place(self, dim0, dim1):
        d0, d1 = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        order = list(range(self.ndim))
        order[d0], order[d1] = order[d1], order[d0]
        if _state.enabled and self.requires_grad:
            self._check_inplace_allowed()
            result = _TRANSPOSE_IN_PLACE.apply(self, tuple(order))
            self._data, self.grad_fn = result._data, result.grad_fn
            return self
        self._data = self._data.transpose(order)
        return self

    def transpose_(self, dim0, dim1):
        """Swap two dims of this tensor itself."""
        return self._transpose_in_place(dim0, dim1)

    swapaxes_ = swapdims_ = transpose_
