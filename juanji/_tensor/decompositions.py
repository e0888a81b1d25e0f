"""Tensor methods of linear algebra: ``det``, ``logdet``, ``slogdet``, ``inverse``, ``cholesky``,
``qr``, ``svd`` (torch's older forms), ``pinverse``, ``matrix_power``, ``cholesky_solve``,
``cholesky_inverse``, ``triangular_solve``, the fused products ``addmm``/``addmv``/``addr``/
``baddbmm``/``addbmm`` (and in place), ``vdot``; and the checked decompositions that
``juanji.linalg`` is built on (``_linalg_*``).

The decompositions and their gradients are in ``juanji/ops/linalg_ops.py``. A matrix that LAPACK
cannot factor raises ``LinAlgError`` (a RuntimeError, torch.linalg.LinAlgError) with torch's message.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype as dt
from ..ops import linalg_ops as L
from .reductions import return_types

__all__ = ["_Decompositions", "LinAlgError", "check_matrices", "lu_info", "cholesky_info"]


class LinAlgError(RuntimeError):
    """A matrix that the decomposition cannot handle (torch.linalg.LinAlgError)."""


def check_matrices(name, a, square=True):
    """torch's checks of a batch of (square) floating matrices."""
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if not a.dtype.is_floating_point:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {a.dtype.scalar_name}")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are {a.shape[-2]} by "
                           f"{a.shape[-1]} matrices")


def _factored(call, message):
    """Run a LAPACK call, turning NumPy's LinAlgError into torch's."""
    try:
        return call()
    except np.linalg.LinAlgError:
        raise LinAlgError(message) from None


def lu_info(a) -> int:
    """LAPACK's getrf info for one square matrix: the 1-based index of the first exactly zero
    pivot of the LU factorization with partial pivoting (the largest magnitude, the first one at
    ties), 0 if there is none."""
    u = np.array(a, dtype=np.float64)
    n = u.shape[0]
    for k in range(n):
        pivot = k + int(np.argmax(np.abs(u[k:, k])))
        if u[pivot, k] == 0:
            return k + 1
        u[[k, pivot]] = u[[pivot, k]]
        u[k + 1:, k:] -= np.outer(u[k + 1:, k] / u[k, k], u[k, k:])
    return 0


def cholesky_info(a) -> int:
    """LAPACK's potrf info for one symmetric matrix: the order of the first leading minor that is
    not positive-definite, 0 if there is none."""
    for k in range(1, a.shape[0] + 1):
        try:
            np.linalg.cholesky(a[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


_SINGULAR = "The diagonal element of the LU factorization is zero, the inversion could not be completed because " \
            "the input matrix is singular."
_NOT_POSITIVE = "The factorization could not be completed because the input is not positive-definite."
_QR_NO_GRADIENT = "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."


def _refuse_complete_qr_gradient(self, *grads):
    raise RuntimeError(_QR_NO_GRADIENT)


_COMPLETE_QR = type(L.QR)("QR", (L.QR,), {"backward_parts": _refuse_complete_qr_gradient,
                                          "__module__": L.QR.__module__, "__qualname__": "QR"})


class _Decompositions:
    """Tensor methods: determinants, inverses, decompositions, fused matrix products."""

    # ------------------------------------------------------------------ torch.linalg's core
    def _linalg_inv(self, name="linalg.inv"):
        check_matrices(name, self)
        return _factored(lambda: L.Inv.apply(self), f"{name}: {_SINGULAR}")

    def _linalg_solve(self, b, left=True, name="linalg.solve", vectors=True):
        """X with self X = b (X self = b with ``left=False``); b a matrix, or a batch of vectors
        (shaped as self without its last dim) when ``vectors``."""
        check_matrices(name, self)
        n = self.shape[-1]
        vector = vectors and (b.ndim == 1 or (b.ndim == self.ndim - 1 and tuple(b.shape) == tuple(self.shape[:-1])))
        if not left:  # X A = B  <=>  A^T X^T = B^T (B a matrix: torch takes no vectors here)
            if vector:
                raise RuntimeError(f"{name}: Vector broadcasting of the left hand side is not supported for "
                                   f"left=False. In this case {name} is equivalent to B / A.squeeze(-1)")
            if b.ndim < 2 or b.shape[-1] != n:
                raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation XA = B ({n}x{n} and "
                                   f"{'x'.join(map(str, b.shape[-2:]))})")
            return self.mT._linalg_solve(b.mT, True, name, vectors=False).mT
        rows = b.shape[-1] if vector else (b.shape[-2] if b.ndim >= 2 else -1)
        if rows != n:
            raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation AX = B "
                               f"({n}x{n} and {'x'.join(map(str, b.shape[-2:]))})")
        target = dt.promote_types(self.dtype, b.dtype)
        a, b = self._cast(target), b._cast(target)
        batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-1] if vector else b.shape[:-2])))
        a = a.expand(batch + (n, n))
        b = b.expand(batch + ((n,) if vector else tuple(b.shape[-2:])))
        return _factored(lambda: L.Solve.apply(a, b, vector=vector),
                         f"{name}: The solver failed because the input matrix is singular.")

    def _linalg_cholesky(self, upper=False, name="linalg.cholesky"):
        check_matrices(name, self)
        return _factored(lambda: L.Cholesky.apply(self, upper=upper), f"{name}: {_NOT_POSITIVE}")

    def _linalg_qr(self, mode="reduced", name="linalg.qr"):
        check_matrices(name, self, square=False)
        if mode not in ("reduced", "complete", "r"):
            raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                               "'r', or 'complete'")
        if mode == "r":
            r = self._from_array(np.asarray(np.linalg.qr(self._host(), mode="r")))
            return return_types.linalg_qr(self.new_empty(0), r)
        m, n = self.shape[-2:]
        op = _COMPLETE_QR if mode == "complete" and m > n else L.QR
        k = m if mode == "complete" else min(m, n)
        batch = tuple(self.shape[:-2])
        q, r = L.unpack(op.apply(self, mode=mode), [batch + (m, k), batch + (k, n)])
        return return_types.linalg_qr(q, r)

    def _linalg_eigh(self, uplo="L", name="linalg.eigh"):
        check_matrices(name, self)
        if uplo not in ("L", "U"):
            raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")
        packed = _factored(lambda: L.Eigh.apply(self, uplo=uplo), f"{name}: The algorithm failed to converge.")
        n, batch = self.shape[-1], tuple(self.shape[:-2])
        w, v = L.unpack(packed, [batch + (n,), batch + (n, n)])
        return return_types.linalg_eigh(w, v)

    def _linalg_svd(self, full_matrices=True, name="linalg.svd"):
        check_matrices(name, self, square=False)
        packed = _factored(lambda: L.SVD.apply(self, full_matrices=full_matrices),
                           f"{name}: The algorithm failed to converge.")
        m, n = self.shape[-2:]
        k, batch = min(m, n), tuple(self.shape[:-2])
        u, s, vh = L.unpack(packed, [batch + (m, m if full_matrices else k), batch + (k,),
                                     batch + (n if full_matrices else k, n)])
        return return_types.linalg_svd(u, s, vh)

    # ------------------------------------------------------------------ determinants and inverses
    def det(self):
        """The determinant of each square matrix of the batch."""
        check_matrices("linalg.det", self)
        return L.Det.apply(self)

    def slogdet(self):
        """(sign, log |det|) of each square matrix (differentiable in the log)."""
        check_matrices("linalg.slogdet", self)
        batch = tuple(self.shape[:-2])
        sign, logabs = L.unpack(L.SlogDet.apply(self), [batch, batch])
        return return_types.slogdet(sign, logabs)

    def logdet(self):
        """log det: the log of |det| where det > 0, NaN where det < 0, -inf where det = 0."""
        sign, logabs = self.slogdet()
        return logabs.where(sign >= 0, logabs.new_full((), float("nan")))

    def inverse(self):
        return self._linalg_inv("linalg.inv")

    def pinverse(self, rcond=1e-15):
        """The Moore-Penrose pseudo-inverse, dropping singular values below rcond * S_max."""
        check_matrices("linalg.pinv", self, square=False)
        u, s, vh = self._linalg_svd(False, "linalg.pinv")
        cut = s.amax(-1, keepdim=True) * rcond if s.shape[-1] else s.sum(-1, keepdim=True)
        kept = s > cut
        inverse = (1.0 / s.where(kept, s.new_ones(()))).where(kept, s.new_zeros(()))
        return (vh.mT * inverse.unsqueeze(-2)) @ u.mT

    def matrix_power(self, n):
        """self^n by repeated squaring (n < 0: of the inverse; n = 0: the identity)."""
        if self.ndim < 2 or self.shape[-1] != self.shape[-2]:
            raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                               f"{self.shape[-2] if self.ndim >= 2 else 1} by {self.shape[-1]} matrices")
        if n == 0:  # the identity, with a zero gradient reaching self (as in torch)
            everywhere = self._from_array(np.ones(tuple(self.shape), bool))
            return self.masked_fill(everywhere, 0) + self._from_array(np.eye(self.shape[-1], dtype=self._data.dtype))
        base = self._linalg_inv("linalg.matrix_power") if n < 0 else self
        n, result = abs(n), None
        while n:
            if n & 1:
                result = base if result is None else result @ base
            n >>= 1
            if n:
                base = base @ base
        return result

    # ------------------------------------------------------------------ torch's older decompositions
    def cholesky(self, upper=False):
        """L with self = L L^T (torch.cholesky; prefer juanji.linalg.cholesky)."""
        return self._linalg_cholesky(upper, "cholesky")

    def qr(self, some=True):
        """(Q, R), reduced (``some``) or complete (torch.qr; prefer juanji.linalg.qr)."""
        q, r = self._linalg_qr("reduced" if some else "complete", "linalg.qr")
        return return_types.qr(q, r)

    def svd(self, some=True, compute_uv=True):
        """(U, S, V) with self = U diag(S) V^T (torch.svd: V, not Vh; zeros for U and V without
        ``compute_uv``)."""
        u, s, vh = self._linalg_svd(not some, "linalg.svd")
        if not compute_uv:
            m, n = self.shape[-2:]
            batch = tuple(self.shape[:-2])
            return return_types.svd(self.new_zeros(batch + (m, m)), s.detach(), self.new_zeros(batch + (n, n)))
        return return_types.svd(u, s, vh.mT)

    def cholesky_solve(self, input2, upper=False):
        """X with A X = self, given A's Cholesky factor ``input2`` (lower, or upper with ``upper``)."""
        factor = input2.mT if upper else input2
        return factor.mT._linalg_solve(factor._linalg_solve(self, True, "cholesky_solve"), True, "cholesky_solve")

    def cholesky_inverse(self, upper=False):
        """A^-1 given A's Cholesky factor self (lower, or upper with ``upper``)."""
        factor = self.mT if upper else self
        eye = self._from_array(np.eye(self.shape[-1], dtype=self._data.dtype))
        return eye.cholesky_solve(factor, False)

    def triangular_solve(self, A, upper=True, transpose=False, unitriangular=False):
        """(X, A) with A X = self for a triangular A (only its triangle is read)."""
        warnings.warn("torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular",
                      UserWarning, stacklevel=2)
        t = A.triu() if upper else A.tril()
        if unitriangular:
            t = t - t.diagonal(0, -2, -1).diag_embed() + self._from_array(np.eye(A.shape[-1], dtype=A._data.dtype))
        if transpose:
            t = t.mT
        return return_types.triangular_solve(t._linalg_solve(self, True, "triangular_solve"), A.clone())

    # ------------------------------------------------------------------ fused products
    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """beta * self + alpha * (mat1 @ mat2)."""
        if mat1.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor" if mat1.ndim != 2 else
                               f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
        return _scaled_sum(self, beta, mat1 @ mat2, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        """beta * self + alpha * (mat @ vec)."""
        if mat.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got {self.ndim}, {mat.ndim}, {vec.ndim}")
        return _scaled_sum(self, beta, mat @ vec, alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        """beta * self + alpha * outer(vec1, vec2)."""
        if vec1.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.ndim}-D")
        return _scaled_sum(self, beta, vec1.outer(vec2), alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """beta * self + alpha * (batch1 @ batch2), batch by batch."""
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor" if batch1.ndim != 3 else "batch2 must be a 3D tensor")
        return _scaled_sum(self, beta, batch1.bmm(batch2), alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """beta * self + alpha * sum over the batch of batch1[i] @ batch2[i]."""
        if batch1.ndim != 3 or batch2.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor" if batch1.ndim != 3 else "batch2 must be a 3D tensor")
        return _scaled_sum(self, beta, batch1.bmm(batch2).sum(0), alpha)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return self._inplace(self.addmm(mat1, mat2, beta=beta, alpha=alpha))

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        return self._inplace(self.addmv(mat, vec, beta=beta, alpha=alpha))

    def addr_(self, vec1, vec2, *, beta=1, alpha=1):
        return self._inplace(self.addr(vec1, vec2, beta=beta, alpha=alpha))

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._inplace(self.baddbmm(batch1, batch2, beta=beta, alpha=alpha))

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._inplace(self.addbmm(batch1, batch2, beta=beta, alpha=alpha))

    def vdot(self, other):
        """The dot product of two 1-D tensors (for real numbers, the same as ``dot``)."""
        return self.dot(other)


def _scaled_sum(base, beta, product, alpha):
    """beta * base + alpha * product; beta = 0 ignores base (even its NaN), as torch does."""
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:  # base's values are not read (a zero gradient still reaches it)
        everywhere = base._from_array(np.ones(tuple(base.shape), bool))
        return base.masked_fill(everywhere, 0) + scaled
    return (base if beta == 1 else base * beta) + scaled
