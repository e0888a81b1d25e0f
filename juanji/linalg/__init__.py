"""torch.linalg on NumPy's LAPACK: norms (``norm``, ``vector_norm``, ``matrix_norm``), ``inv``,
``det``, ``slogdet``, ``solve``, ``svd``/``svdvals``, ``eigh``/``eigvalsh``, ``qr``, ``cholesky`` (and
the ``_ex`` forms), ``pinv``, ``matrix_power``, ``matrix_rank``, ``cross``, ``vecdot``,
``multi_dot``, ``matmul``, ``diagonal``, ``vander``; every one batched over leading dims and
differentiable where torch's is (the gradients are in ``juanji/ops/linalg_ops.py``).

A matrix that LAPACK cannot factor (singular for ``inv``/``solve``, not positive-definite for
``cholesky``) raises ``juanji.linalg.LinAlgError``, a RuntimeError, with torch's message.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from .._out import supports_out
from .._tensor.decompositions import LinAlgError, check_matrices, cholesky_info, lu_info
from .._tensor.reductions import return_types
from .._tensor.special import require_tensor
from ..functions import stack
from ..tensor import Tensor

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "det", "slogdet", "solve",
           "solve_ex", "svd", "svdvals", "eigh", "eigvalsh", "qr", "cholesky", "cholesky_ex", "pinv",
           "matrix_power", "matrix_rank", "cross", "vecdot", "multi_dot", "matmul", "diagonal", "vander"]


def _matrices(name, a, square=True):
    require_tensor(a, f"linalg.{name}", "A", 1)
    check_matrices(f"linalg.{name}", a, square)


# ---------------------------------------------------------------------------- norms
@supports_out
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x_i|^ord)^(1/ord) over ``dim`` (all elements by default); ord inf: max |x_i|, -inf:
    min |x_i|, 0: the count of non-zero elements."""
    require_tensor(x, "linalg.vector_norm", "x", 1)
    if dtype is not None:
        x = x._cast(dt.to_dtype(dtype))
    if not x.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{x.dtype.scalar_name}")
    dims = dim if dim is not None else None
    if isinstance(dims, (list, tuple)) and len(dims) == 0:
        dims = None
    ord = float(ord)
    if ord == 0:  # (no gradient: the count is piecewise constant)
        return (x != 0)._cast(x.dtype).sum(dims, keepdim).detach()
    if ord == -math.inf:
        return x.abs().amin(dims if dims is not None else (), keepdim)
    if ord < 0:
        return x.abs().pow(ord).sum(dims, keepdim).pow(1.0 / ord)
    return x.norm(ord, dims, keepdim)


def _two_dims(dim, ndim):
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}")
    d = tuple(k % ndim for k in dim)
    if d[0] == d[1]:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d


@supports_out
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norms over the two dims ``dim``: 'fro' (sqrt of the sum of squares), 'nuc' (sum of
    singular values), inf/-inf (max/min row sum of |a|), 1/-1 (max/min column sum), 2/-2
    (largest/smallest singular value)."""
    require_tensor(A, "linalg.matrix_norm", "A", 1)
    if dtype is not None:
        A = A._cast(dt.to_dtype(dtype))
    _matrices("matrix_norm", A, square=False)
    d0, d1 = _two_dims(tuple(dim), A.ndim)
    if ord == "fro":
        return A.norm(2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2, 2.0, -2.0):
        moved = A.movedim((d0, d1), (-2, -1))
        s = svdvals(moved)
        result = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord in (2, 2.0) else s.amin(-1))
        if keepdim:
            for k in sorted((d0, d1)):
                result = result.unsqueeze(k)
        return result
    if ord in (math.inf, -math.inf, 1, -1):
        rows = ord in (math.inf, -math.inf)
        summed = A.abs().sum(d1 if rows else d0, keepdim=True)
        result = summed.amax((d0, d1), keepdim=True) if ord > 0 else summed.amin((d0, d1), keepdim=True)
        return result if keepdim else result.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


@supports_out
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``vector_norm`` when ``dim`` is one dim (or None with a 1-D input or ord None), else
    ``matrix_norm`` over the two dims (the last two of a 2-D input)."""
    require_tensor(A, "linalg.norm", "A", 1)
    if dim is not None and not isinstance(dim, (list, tuple)):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if (dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    if dim is None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                           f"{A.ndim}D.")
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Order {ord} not supported.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------- inverses and solvers
@supports_out
def inv(A):
    """A^-1 for each square matrix of the batch."""
    require_tensor(A, "linalg.inv", "A", 1)
    return A._linalg_inv()


def _per_matrix(A, compute, info_of):
    """Apply ``compute`` to the whole batch; if LAPACK refuses one matrix, go matrix by matrix:
    (results with NaN for the refused ones, info per matrix from ``info_of``)."""
    try:
        return compute(A), np.zeros(A.shape[:-2], np.int32)
    except LinAlgError:
        pass
    flat = A.reshape(-1, *A.shape[-2:])
    results, infos = [], []
    for k in range(flat.shape[0]):
        matrix = flat[k]
        info = info_of(matrix._host())
        results.append(compute(matrix) if info == 0 else matrix.new_full(tuple(matrix.shape), float("nan")))
        infos.append(info)
    return stack(results).reshape(tuple(A.shape)), np.array(infos, np.int32).reshape(A.shape[:-2])


def inv_ex(A, *, check_errors=False):
    """(inverse, info): info 0 where the inversion succeeded, else the index of the zero pivot of
    A's LU factorization (the inverse then holds NaN; ``check_errors`` raises instead)."""
    require_tensor(A, "linalg.inv_ex", "A", 1)
    check_matrices("linalg.inv_ex", A)
    if check_errors:
        return return_types.linalg_inv_ex(A._linalg_inv("linalg.inv_ex"), Tensor._from_array(
            np.zeros(A.shape[:-2], np.int32)))
    result, info = _per_matrix(A, lambda m: m._linalg_inv("linalg.inv_ex"), lu_info)
    return return_types.linalg_inv_ex(result, Tensor._from_array(info))


@supports_out
def det(A):
    """The determinant of each square matrix."""
    require_tensor(A, "linalg.det", "A", 1)
    return A.det()


@supports_out
def slogdet(A):
    """(sign, log |det A|) of each square matrix (differentiable in the log)."""
    require_tensor(A, "linalg.slogdet", "A", 1)
    sign, logabs = A.slogdet()
    return return_types.linalg_slogdet(sign, logabs)


def _solve(A, B, left, name):
    require_tensor(A, f"linalg.{name}", "A", 1)
    require_tensor(B, f"linalg.{name}", "B", 2)
    return A._linalg_solve(B, left, f"linalg.{name}")


@supports_out
def solve(A, B, *, left=True):
    """X with A X = B (X A = B with ``left=False``); B a matrix or a batch of vectors."""
    return _solve(A, B, left, "solve")


def solve_ex(A, B, *, left=True, check_errors=False):
    """(X, info) as ``solve``, info 0 where it succeeded."""
    try:
        return _solve(A, B, left, "solve_ex"), Tensor._from_array(np.zeros(A.shape[:-2], np.int32))
    except LinAlgError:
        if check_errors:
            raise
        shape = tuple(np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))) + tuple(B.shape[-2:])
        return A.new_full(shape, float("nan")), Tensor._from_array(np.ones(A.shape[:-2], np.int32))


@supports_out
def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse: V diag(1/S) U^T over the singular values above
    max(atol, rtol * S_max) (rtol default: eps * max(m, n) without atol, else 0)."""
    _matrices("pinv", A, square=False)
    u, s, vh = A._linalg_svd(False, "linalg.pinv")
    s_max = s.amax(-1, keepdim=True) if s.shape[-1] else s.sum(-1, keepdim=True)
    if rtol is None:
        rtol = np.finfo(A.dtype.np).eps * max(A.shape[-2:]) if atol is None or atol == 0 else 0.0
    cut = s_max * rtol
    if atol is not None:
        cut = cut.clamp_min(float(atol))
    kept = s > cut
    inverse = (1.0 / s.where(kept, s.new_ones(()))).where(kept, s.new_zeros(()))
    return (vh.mT * inverse.unsqueeze(-2)) @ u.mT


@supports_out
def matrix_power(A, n):
    """A^n by repeated squaring (n < 0: of the inverse; n = 0: the identity)."""
    require_tensor(A, "linalg.matrix_power", "A", 1)
    return A.matrix_power(n)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values above max(atol, rtol * S_max)."""
    _matrices("matrix_rank", A, square=False)
    s = svdvals(A).detach()
    if rtol is None:
        rtol = np.finfo(A.dtype.np).eps * max(A.shape[-2:]) if atol is None or atol == 0 else 0.0
    cut = s.amax(-1, keepdim=True) * rtol if s.shape[-1] else s.sum(-1, keepdim=True)
    if atol is not None:
        cut = cut.clamp_min(float(atol))
    return (s > cut).sum(-1)


# ---------------------------------------------------------------------------- decompositions
@supports_out
def cholesky(A, *, upper=False):
    """L (lower) with A = L L^T for a symmetric positive-definite A (U = L^T with ``upper``)."""
    require_tensor(A, "linalg.cholesky", "A", 1)
    return A._linalg_cholesky(upper)


def cholesky_ex(A, *, upper=False, check_errors=False):
    """(L, info): info 0 where the factorization succeeded, else the order of the first leading
    minor that is not positive-definite (L then holds NaN; ``check_errors`` raises instead)."""
    require_tensor(A, "linalg.cholesky_ex", "A", 1)
    check_matrices("linalg.cholesky_ex", A)
    if check_errors:
        return return_types.linalg_cholesky_ex(A._linalg_cholesky(upper, "linalg.cholesky_ex"), Tensor._from_array(
            np.zeros(A.shape[:-2], np.int32)))
    factor, info = _per_matrix(A, lambda m: m._linalg_cholesky(upper, "linalg.cholesky_ex"), cholesky_info)
    return return_types.linalg_cholesky_ex(factor, Tensor._from_array(info))


@supports_out
def qr(A, mode="reduced"):
    """(Q, R) with A = Q R: 'reduced' (Q m x k), 'complete' (Q m x m) or 'r' (R only, Q empty)."""
    require_tensor(A, "linalg.qr", "A", 1)
    return A._linalg_qr(mode)


@supports_out
def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix, read from its
    lower ('L') or upper ('U') triangle."""
    require_tensor(A, "linalg.eigh", "A", 1)
    return A._linalg_eigh(UPLO)


@supports_out
def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of a symmetric matrix."""
    return eigh(A, UPLO)[0]


@supports_out
def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending."""
    require_tensor(A, "linalg.svd", "A", 1)
    return A._linalg_svd(full_matrices)


@supports_out
def svdvals(A, *, driver=None):
    """The singular values, descending."""
    return svd(A, full_matrices=False)[1]


# ---------------------------------------------------------------------------- products and others
@supports_out
def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (-1 by default, unlike torch.cross)."""
    return input.cross(other, dim)


@supports_out
def vecdot(x, y, *, dim=-1):
    """sum(x * y) along ``dim`` (broadcast)."""
    return (x * y).sum(dim)


@supports_out
def multi_dot(tensors):
    """The product of the matrices left to right (the first may be a vector, as may the last)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    result = tensors[0]
    for t in tensors[1:]:
        result = result @ t
    return result


@supports_out
def matmul(input, other):
    return input @ other


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The offset-diagonal over dims (dim1, dim2), which default to the last two."""
    return A.diagonal(offset, dim1, dim2)


def vander(x, *, N=None):
    """The Vandermonde matrix of increasing powers x^0, ..., x^(N-1) (along a last new dim)."""
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise RuntimeError("N must be greater than 1.")
    powers = Tensor._from_array(np.arange(n).astype(x.dtype.np if x.dtype.is_floating_point else np.int64))
    base = x if x.dtype.is_floating_point else x._cast(dt.int64)
    return base.unsqueeze(-1) ** powers
