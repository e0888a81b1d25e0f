"""Matrix decompositions and solvers on NumPy's LAPACK, batched over leading dims, each with the
gradient torch gives it. Notation: A (..., n, n) or (..., m, n); X^T the transpose of the last two
dims; g the gradient arriving at the output (gX for the output X); I the identity.

    inv:      Y = A^-1                  gA = -Y^T g Y^T
    det:      d = det A                 gA = g d A^-T   (= g adj(A)^T, through the SVD when A is singular)
    slogdet:  (s, l = log|det A|)       gA = g_l A^-T   (the sign has no gradient)
    solve:    X = A^-1 B                gB = A^-T gX,  gA = -gB X^T
    cholesky: A = L L^T                 gA = sym(L^-T Phi(L^T gL) L^-1), Phi: lower triangle, half diagonal
    qr:       A = Q R  (reduced)        gA = (gQ + Q copyltu(M)) R^-T,  M = R gR^T - gQ^T Q (m >= n)
    eigh:     A = V diag(w) V^T         gA = V (diag(gw) + skew(V^T gV)/2 / E) V^T,  E_ij = w_j - w_i
    svd:      A = U diag(S) Vh          see ``SVD.backward`` (torch's svd_backward for real matrices)

copyltu(M) is the symmetric matrix with M's lower triangle; sym(X) = (X + X^T) / 2; skew(X) = X - X^T.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of
from .elementwise import quiet

__all__ = ["Inv", "Det", "SlogDet", "Solve", "Cholesky", "QR", "Eigh", "SVD", "Packed", "unpack", "transpose"]


def transpose(a):
    """The transpose of the last two dims."""
    return xp_of(a).swapaxes(a, -1, -2)


class Packed(Op):
    """An Op with several differentiable outputs (QR's Q and R, SVD's U, S and Vh), for an engine
    that keeps one gradient per node: forward returns the outputs flattened and joined into one
    array; the caller cuts it back into the outputs with differentiable slices (``unpack``), so
    backward receives one array, cut the same way into the gradients of each output (zeros for
    an output that was not used), and passes them to ``backward_parts``."""

    def forward(self, a, **params):
        parts = self.decompose(a, **params)
        self.shapes = [p.shape for p in parts]
        return xp_of(a).concatenate([p.reshape(-1) for p in parts])

    def backward(self, g):
        grads, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            grads.append(g[start:start + size].reshape(shape))
            start += size
        return self.backward_parts(*grads)


def unpack(packed, shapes):
    """Cut ``Packed``'s output (a Tensor) back into its outputs (differentiable slices)."""
    parts, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(packed[start:start + size].reshape(shape))
        start += size
    return parts


def _lapack(xp):
    """The module with the batched LAPACK routines (numpy.linalg or cupy.linalg)."""
    return xp.linalg


class Inv(Op):
    """Y = A^-1;  gA = -Y^T g Y^T."""

    node_name = "LinalgInvExBackward0"

    def forward(self, a):
        self.y = _lapack(xp_of(a)).inv(a)
        return self.y

    @quiet
    def backward(self, g):
        yt = transpose(self.y)
        return (-(yt @ g @ yt),)


class Det(Op):
    """d = det A;  gA = g d A^-T, which is g adj(A)^T; for a singular A adj(A)^T is taken from the
    SVD A = U diag(S) Vh: det(U) det(Vh) U diag(prod_{j != i} S_j) Vh."""

    node_name = "LinalgDetBackward0"

    def forward(self, a):
        self.a = a
        self.d = _lapack(xp_of(a)).det(a)
        return self.d

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        a, d = self.a, self.d
        scale = (g * d)[..., None, None]
        if xp.all(d != 0):
            return (scale * transpose(_lapack(xp).inv(a)),)
        u, s, vh = _lapack(xp).svd(a)
        n = s.shape[-1]
        others = xp.stack([xp.prod(xp.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
        signs = _lapack(xp).det(u) * _lapack(xp).det(vh)
        adjugate_t = (u * others[..., None, :]) @ vh * signs[..., None, None]
        return (g[..., None, None] * adjugate_t,)


class SlogDet(Packed):
    """(sign, log|det A|);  gA = g_log A^-T (the sign's gradient is ignored: it is piecewise constant).
    Both outputs are recorded, as in torch."""

    node_name = "LinalgSlogdetBackward0"

    def decompose(self, a):
        self.a = a
        sign, logabs = _lapack(xp_of(a)).slogdet(a)
        return sign, logabs

    @quiet
    def backward_parts(self, gsign, glog):
        return (glog[..., None, None] * transpose(_lapack(xp_of(glog)).inv(self.a)),)


class Solve(Op):
    """X = A^-1 B (B a batch of matrices, or of vectors when ``vector``);  gB = A^-T gX,  gA = -gB X^T."""

    node_name = "LinalgSolveExBackward0"

    def forward(self, a, b, vector=False):
        xp = xp_of(a)
        self.a, self.vector = a, vector
        rhs = b[..., None] if vector else b
        x = _lapack(xp).solve(a, rhs)
        self.x = x
        return x[..., 0] if vector else x

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        gx = g[..., None] if self.vector else g
        gb = _lapack(xp).solve(transpose(self.a), gx)
        ga = -(gb @ transpose(self.x)) if self.needs_input_grad[0] else None
        return ga, (gb[..., 0] if self.vector else gb)


def _phi(x):
    """The lower triangle of x with its diagonal halved."""
    xp = xp_of(x)
    lower = xp.tril(x)
    n = x.shape[-1]
    lower[..., np.arange(n), np.arange(n)] *= 0.5
    return lower


def _solve_triangular(xp, t, b, lower, left=True):
    """t^-1 b (or b t^-1) for a triangular t (by a general solve: NumPy has no triangular one)."""
    if left:
        return _lapack(xp).solve(t, b)
    return transpose(_lapack(xp).solve(transpose(t), transpose(b)))


class Cholesky(Op):
    """A = L L^T (L lower; ``upper`` gives U = L^T);  gA = sym(L^-T Phi(L^T gL) L^-1)."""

    node_name = "LinalgCholeskyExBackward0"

    def forward(self, a, upper=False):
        xp = xp_of(a)
        self.upper = upper
        self.l = _lapack(xp).cholesky(a)
        return transpose(self.l).copy() if upper else self.l

    @quiet
    def backward(self, g):
        xp = xp_of(g)
        l = self.l
        gl = transpose(g) if self.upper else g
        p = _phi(transpose(l) @ gl)
        s = _solve_triangular(xp, transpose(l), _solve_triangular(xp, l, p, True, left=False), False)
        return ((s + transpose(s)) * g.dtype.type(0.5),)


def _copyltu(m):
    """The symmetric matrix whose lower triangle (with the diagonal) is m's."""
    xp = xp_of(m)
    lower = xp.tril(m, -1)
    return lower + transpose(lower) + xp.tril(xp.triu(m))


class QR(Packed):
    """A = Q R with Q's columns orthonormal and R upper triangular ('reduced': Q (m, k), R (k, n),
    k = min(m, n); 'complete': Q (m, m)). Returns (Q, R); both are differentiable (see the module
    docstring; for m < n, A = [X Y] with X = Q R1 square: gY = Q gR2, and X's gradient takes
    gQ + Y gR2^T). 'complete' with m > n has no gradient (as in torch)."""

    node_name = "LinalgQrBackward0"

    def decompose(self, a, mode="reduced"):
        q, r = _lapack(xp_of(a)).qr(a, mode=mode)
        self.q, self.r = q, r
        return q, r

    @quiet
    def backward_parts(self, gq, gr):
        xp = xp_of(self.q)
        q, r = self.q, self.r
        m, n = q.shape[-2], r.shape[-1]
        if m >= n:
            return (self._square_or_tall(xp, q, r, gq, gr),)
        x_r, y_r = r[..., :, :m], r[..., :, m:]
        gr1, gr2 = gr[..., :, :m], gr[..., :, m:]
        y = q @ y_r
        gx = self._square_or_tall(xp, q, x_r, gq + y @ transpose(gr2), gr1)
        gy = q @ gr2
        return (xp.concatenate([gx, gy], axis=-1),)

    @staticmethod
    def _square_or_tall(xp, q, r, gq, gr):
        m_ = r @ transpose(gr) - transpose(gq) @ q
        b = gq + q @ _copyltu(m_)
        return transpose(_lapack(xp).solve(r, transpose(b)))  # b R^-T


class Eigh(Packed):
    """A = V diag(w) V^T for a symmetric A (read from its lower or upper triangle); returns (w, V)
    with w ascending; gA = V (diag(gw) + skew(V^T gV) / 2 / E) V^T, E_ij = w_j - w_i (i != j)."""

    node_name = "LinalgEighBackward0"

    def decompose(self, a, uplo="L"):
        w, v = _lapack(xp_of(a)).eigh(a, UPLO=uplo)
        self.w, self.v = w, v
        return w, v

    @quiet
    def backward_parts(self, gw, gv):
        w, v = self.w, self.v
        n = w.shape[-1]
        diagonal = np.arange(n)
        vtgv = transpose(v) @ gv
        vtgv = (vtgv - transpose(vtgv)) * v.dtype.type(0.5)
        e = w[..., None, :] - w[..., :, None]
        e[..., diagonal, diagonal] = 1
        inner = vtgv / e
        inner[..., diagonal, diagonal] = gw
        return (v @ inner @ transpose(v),)


class SVD(Packed):
    """A = U diag(S) Vh (S descending; ``full_matrices`` gives square U and Vh). Returns (U, S, Vh).

    Gradient (torch's, reduced case k = min(m, n)): with J = skew(U^T gU) and K = skew(Vh gVh^T),
    E_ij = S_j^2 - S_i^2 (1 on the diagonal),

        gA = U [ (J S_row + S_col K) / E + diag(gS) ] Vh
             + (I - U U^T) gU diag(1/S) Vh      (m > n)
             + U diag(1/S) gVh (I - Vh^T Vh)    (m < n)

    (S_row: S along the columns, S_col: along the rows). Only U's and Vh's first k columns/rows
    carry a gradient when ``full_matrices`` (torch refuses the rest). With only S used (U and Vh
    get zero gradients) this is U diag(gS) Vh."""

    node_name = "LinalgSvdBackward0"

    def decompose(self, a, full_matrices=True):
        u, s, vh = _lapack(xp_of(a)).svd(a, full_matrices=full_matrices)
        self.u, self.s, self.vh = u, s, vh
        return u, s, vh

    @quiet
    def backward_parts(self, gu, gs, gvh):
        s = self.s
        k = s.shape[-1]
        u, vh = self.u[..., :, :k], self.vh[..., :k, :]
        m, n = u.shape[-2], vh.shape[-1]
        gu, gvh = gu[..., :, :k], gvh[..., :k, :]
        utgu = transpose(u) @ gu
        vgvh = vh @ transpose(gvh)
        inner = (utgu - transpose(utgu)) * s[..., None, :] + s[..., :, None] * (vgvh - transpose(vgvh))
        e = (s[..., None, :] - s[..., :, None]) * (s[..., None, :] + s[..., :, None])
        diagonal = np.arange(k)
        e[..., diagonal, diagonal] = 1
        inner = inner / e
        inner[..., diagonal, diagonal] = gs
        ga = u @ inner @ vh
        if m > n:
            ga = ga + ((gu - u @ (transpose(u) @ gu)) / s[..., None, :]) @ vh
        if m < n:
            ga = ga + u @ ((gvh - (gvh @ transpose(vh)) @ vh) / s[..., :, None])
        return (ga,)
