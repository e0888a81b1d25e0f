"""juanji.linalg and torch's older linear-algebra functions (juanji/linalg, _tensor/decompositions.py,
ops/linalg_ops.py) against torch: values and gradients over batch shapes and both float dtypes,
gauge-invariant losses where a decomposition's signs are free, errors, and gradchecks."""

import math

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch

torch = pytest.importorskip("torch")


def lib(t):
    return juanji if isinstance(t, juanji.Tensor) else torch


def matrices(shape, dtype="float64", seed=0, kind="general"):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    n = shape[-1]
    if kind == "spd":
        a = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    elif kind == "symmetric":
        a = a + np.swapaxes(a, -1, -2)
    elif kind == "well":
        a = a + 3 * np.eye(n)
    return a.astype(dtype)


def tol(dtype, loose=False):
    if dtype == "float32":
        return dict(rtol=2e-4, atol=2e-5) if loose else dict(rtol=5e-5, atol=5e-6)
    return dict(rtol=1e-9, atol=1e-10)


BATCHES = [(3, 3), (2, 4, 4), (2, 1, 3, 3), (0, 2, 2)]


@pytest.mark.parametrize("shape", BATCHES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_inv_det_slogdet_logdet_match_torch(dtype, shape):
    a = matrices(shape, dtype, kind="well")
    compare_with_torch(lambda t: lib(t).linalg.inv(t), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).inverse(t), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.det(t), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: t.det(), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: tuple(lib(t).linalg.slogdet(t)), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: tuple(lib(t).slogdet(t)), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: t.logdet(), None, [a], **tol(dtype, True))


def _cofactors(a):
    """The cofactor matrix of a 3x3 matrix, (-1)^(i+j) times the minor without row i and column j:
    det's gradient, adj(A)^T, which stays well defined (not zero) at rank n - 1."""
    return np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1)) for j in range(3)]
                     for i in range(3)])


def test_det_of_singular_matrices_has_the_adjugate_gradient():
    # rank n - 1: the gradient is adj(A)^T, which is not zero. torch's own gradcheck fails on these
    # (its LU-based backward returns zeros for the second matrix, and for the first too on some CPUs:
    # an AMD EPYC's MKL path finds the exact zero pivot a Xeon's rounding missed); juanji's gradient is
    # the one finite differences give, checked against the cofactors and by gradcheck.
    singular = np.array([[[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0],
                                                                              [3.0, 1.0, 0.0]]])
    compare_with_torch(lambda t: lib(t).linalg.det(t), None, [singular], grad=False)
    assert gradcheck(lambda t: t.det(), (juanji.tensor(singular, requires_grad=True),))
    for matrix in singular:
        a = juanji.tensor(matrix, requires_grad=True)
        a.det().backward()
        np.testing.assert_allclose(a.grad.numpy(), _cofactors(matrix), rtol=1e-10, atol=1e-12)
    a = juanji.tensor(singular[1], requires_grad=True)
    a.det().backward()
    np.testing.assert_allclose(a.grad.numpy()[0], [-2.0, 6.0, -3.0])


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("shapes", [((3, 3), (3, 2)), ((3, 3), (3,)), ((2, 3, 3), (3, 4)), ((2, 3, 3), (2, 3)),
                                    ((1, 3, 3), (2, 3, 1)), ((4, 4), (2, 4, 4))], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_solve_matches_torch(dtype, shapes, left):
    a = matrices(shapes[0], dtype, kind="well")
    b = matrices(shapes[1], dtype, seed=1) if len(shapes[1]) > 1 else np.arange(1.0, 4.0).astype(dtype)
    if not left and b.ndim < 2:
        return
    if not left:
        b = np.swapaxes(b, -1, -2).copy()
    compare_with_torch(lambda p, q: lib(p).linalg.solve(p, q, left=left), None, [a, b], **tol(dtype, True))


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shape", BATCHES[:3], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cholesky_matches_torch(dtype, shape, upper):
    a = matrices(shape, dtype, kind="spd")
    compare_with_torch(lambda t: lib(t).linalg.cholesky(t, upper=upper), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: t.cholesky(upper), None, [a], **tol(dtype, True))
    b = matrices(shape[:-1] + (2,), dtype, seed=3)
    compare_with_torch(lambda f, q: q.cholesky_solve(f, upper), None, [np.linalg.cholesky(a).astype(dtype) if not upper
                                                                       else np.swapaxes(np.linalg.cholesky(a), -1, -2).astype(dtype).copy(), b],
                       **tol(dtype, True))


@pytest.mark.parametrize("mode", ["reduced", "complete"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_qr_matches_torch(dtype, shape, mode):
    a = matrices(shape, dtype, seed=2)
    differentiable = not (mode == "complete" and shape[-2] > shape[-1])
    compare_with_torch(lambda t: tuple(lib(t).linalg.qr(t, mode)), None, [a], grad=differentiable,
                       **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.qr(t, "r")[1], None, [a], grad=False, **tol(dtype, True))
    if not differentiable:
        for module in (juanji, torch):
            q, r = module.linalg.qr(module.tensor(a, requires_grad=True), mode)
            with pytest.raises(RuntimeError, match="not differentiable"):
                (q.sum() + r.sum()).backward()


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_eigh_matches_torch_on_sign_free_quantities(dtype, shape, uplo):
    a = matrices(shape, dtype, seed=4)  # not symmetric: only the UPLO triangle is read
    rng = np.random.default_rng(5)
    c1, c2 = rng.standard_normal(shape[:-1]), rng.standard_normal(shape)

    def loss(t):
        m = lib(t)
        w, v = m.linalg.eigh(t, UPLO=uplo)
        return w, (v * v * m.tensor(c2.astype(dtype))).sum() + (w * m.tensor(c1.astype(dtype))).sum()
    compare_with_torch(loss, None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.eigvalsh(t, uplo), None, [a], **tol(dtype, True))


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_svd_matches_torch_on_sign_free_quantities(dtype, shape, full):
    a = matrices(shape, dtype, seed=6)
    rng = np.random.default_rng(7)
    k = min(shape[-2:])
    c_s = rng.standard_normal(shape[:-2] + (k,))
    c_u = rng.standard_normal(shape[:-1] + (k,))
    c_v = rng.standard_normal(shape[:-2] + (k, shape[-1]))

    def loss(t):
        m = lib(t)
        u, s, vh = m.linalg.svd(t, full_matrices=full)
        u, vh = u[..., :k], vh[..., :k, :]
        value = (s * m.tensor(c_s.astype(dtype))).sum() + (u * u * m.tensor(c_u.astype(dtype))).sum() \
            + (vh * vh * m.tensor(c_v.astype(dtype))).sum()
        return s, value
    compare_with_torch(loss, None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.svdvals(t), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: (lambda r: (r.S, (r.U @ r.S.diag_embed() @ r.V.mT)))(t.svd()), None, [a],
                       **tol(dtype, True))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_pinv_matrix_power_matrix_rank_match_torch(dtype):
    for shape in ((4, 3), (3, 5), (2, 3, 3)):
        a = matrices(shape, dtype, seed=8)
        compare_with_torch(lambda t: lib(t).linalg.pinv(t), None, [a], **tol(dtype, True))
        compare_with_torch(lambda t: lib(t).pinverse(t), None, [a], **tol(dtype, True))
        compare_with_torch(lambda t: lib(t).linalg.matrix_rank(t), None, [a], grad=False)
    low_rank = (matrices((4, 2), dtype) @ matrices((2, 4), dtype, seed=1)).astype(dtype)
    compare_with_torch(lambda t: lib(t).linalg.matrix_rank(t), None, [low_rank], grad=False)
    # values only when singular values are cut off: torch's gradient of a truncated pinv does not
    # match finite differences (juanji's does: gradcheck below)
    compare_with_torch(lambda t: lib(t).linalg.pinv(t, atol=0.5), None, [matrices((3, 3), dtype)], grad=False,
                       **tol(dtype, True))
    a = matrices((2, 3, 3), dtype, kind="well") / 3
    for n in (0, 1, 2, 5, -1, -3):
        compare_with_torch(lambda t: lib(t).linalg.matrix_power(t, n), None, [a], **tol(dtype, True))
        compare_with_torch(lambda t: t.matrix_power(n), None, [a], **tol(dtype, True))
    compare_with_torch(lambda t: t.matrix_power(3), None, [np.arange(9).reshape(3, 3)])


VECTOR_ORDS = [2, 1, 3.5, 0, math.inf, -math.inf, -1, -2.5]
MATRIX_ORDS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_norms_match_torch(dtype):
    x = matrices((3, 4, 5), dtype, seed=9)
    for ord in VECTOR_ORDS:
        grad = ord != 0
        for dim, keepdim in ((None, False), (-1, True), ((0, 2), False), (1, False)):
            compare_with_torch(lambda t: lib(t).linalg.vector_norm(t, ord, dim, keepdim), None, [x], grad=grad,
                               **tol(dtype, True))
    for ord in MATRIX_ORDS:
        for dim, keepdim in (((-2, -1), False), ((0, 2), True), ((2, 0), False)):
            compare_with_torch(lambda t: lib(t).linalg.matrix_norm(t, ord, dim, keepdim), None, [x],
                               **tol(dtype, True))
    m, v = x[0], x[0, 0]
    for ord in (None, "fro", "nuc", 2, math.inf, -1):
        compare_with_torch(lambda t: lib(t).linalg.norm(t, ord), None, [m], **tol(dtype, True))
    for ord in (None, 2, 1, math.inf, 0.5):
        compare_with_torch(lambda t: lib(t).linalg.norm(t, ord), None, [v], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.norm(t), None, [x], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.norm(t, 2, (0, 1)), None, [x], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.norm(t, 3), None, [x], **tol(dtype, True))
    compare_with_torch(lambda t: lib(t).linalg.vector_norm(t, 2, dtype=lib(t).float64), None, [x])


def test_products_and_helpers_match_torch():
    a, b = matrices((4, 3), seed=1), matrices((4, 3), seed=2)
    compare_with_torch(lambda p, q: lib(p).linalg.cross(p, q), None, [a, b])
    compare_with_torch(lambda p, q: lib(p).linalg.vecdot(p, q, dim=0), None, [a, b])
    chain = [matrices((2, 3)), matrices((3, 4), seed=1), matrices((4, 2), seed=2)]
    compare_with_torch(lambda p, q, r: lib(p).linalg.multi_dot([p, q, r]), None, chain)
    compare_with_torch(lambda p, q, r: lib(p).chain_matmul(p, q, r), None, chain)
    compare_with_torch(lambda p, q: lib(p).linalg.matmul(p, q), None, chain[:2])
    compare_with_torch(lambda t: lib(t).linalg.diagonal(t, offset=1), None, [matrices((2, 3, 4))])
    compare_with_torch(lambda t: lib(t).linalg.vander(t), None, [np.array([1.0, 2.0, -0.5])], grad=False)
    compare_with_torch(lambda t: lib(t).linalg.vander(t, N=4), None, [np.array([[1.0, 2.0], [3.0, 0.5]])], grad=False)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_fused_products_match_torch(dtype):
    rng = np.random.default_rng(10)

    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)
    for beta, alpha in ((1, 1), (0.5, 2.0), (0, -1.5)):
        kw = dict(beta=beta, alpha=alpha)
        compare_with_torch(lambda s, p, q: lib(s).addmm(s, p, q, **kw), None, [r(2, 4), r(2, 3), r(3, 4)])
        compare_with_torch(lambda s, p, q: s.addmm(p, q, **kw), None, [r(4), r(2, 3), r(3, 4)])
        compare_with_torch(lambda s, p, q: (s * 1).addmm_(p, q, **kw), None, [r(2, 4), r(2, 3), r(3, 4)])
        compare_with_torch(lambda s, p, q: lib(s).addmv(s, p, q, **kw), None, [r(2), r(2, 3), r(3)])
        compare_with_torch(lambda s, p, q: lib(s).addr(s, p, q, **kw), None, [r(2, 3), r(2), r(3)])
        compare_with_torch(lambda s, p, q: lib(s).baddbmm(s, p, q, **kw), None, [r(5, 2, 4), r(5, 2, 3), r(5, 3, 4)])
        compare_with_torch(lambda s, p, q: lib(s).addbmm(s, p, q, **kw), None, [r(2, 4), r(5, 2, 3), r(5, 3, 4)])
    nan_base = np.full((2, 2), np.nan, dtype)
    compare_with_torch(lambda s, p, q: s.addmm(p, q, beta=0), None, [nan_base, r(2, 3), r(3, 2)])
    compare_with_torch(lambda p, q: lib(p).vdot(p, q), None, [r(4), r(4)])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_trapezoid_family_matches_torch(dtype):
    y = matrices((3, 5), dtype, seed=11)
    x = np.array([0.0, 0.5, 1.5, 2.0, 4.0], dtype)
    for fn in ("trapezoid", "trapz", "cumulative_trapezoid"):
        compare_with_torch(lambda t: getattr(lib(t), fn)(t), None, [y])
        compare_with_torch(lambda t: getattr(lib(t), fn)(t, dx=0.25, dim=0), None, [y])
        compare_with_torch(lambda t, s: getattr(lib(t), fn)(t, s), None, [y, x])


def test_errors_match_torch():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    for module in (juanji, torch):  # torch's LinAlgError and juanji's are RuntimeErrors
        with pytest.raises(RuntimeError, match="singular"):
            module.linalg.inv(module.tensor(singular))
        with pytest.raises(RuntimeError, match="singular"):
            module.linalg.solve(module.tensor(singular), module.ones(2, dtype=module.float64))
        with pytest.raises(RuntimeError, match="positive-definite"):
            module.linalg.cholesky(module.tensor([[1.0, 2.0], [2.0, 1.0]]))
    compare_with_torch(lambda t, b: lib(t).linalg.solve(t, b, left=False), None, [np.eye(3), np.ones(3)])
    compare_with_torch(lambda t: lib(t).linalg.inv(t), None, [np.ones((2, 3))])
    compare_with_torch(lambda t: lib(t).linalg.inv(t), None, [np.ones(3)])
    compare_with_torch(lambda t: lib(t).linalg.det(t), None, [np.eye(2, dtype=np.int64)])
    compare_with_torch(lambda t: lib(t).linalg.qr(t, "full"), None, [np.eye(2)])
    compare_with_torch(lambda t: lib(t).linalg.eigh(t, "X"), None, [np.eye(2)])
    compare_with_torch(lambda t, b: lib(t).linalg.solve(t, b), None, [np.eye(3), np.ones((2, 2))])
    assert issubclass(juanji.linalg.LinAlgError, RuntimeError)
    with pytest.raises(juanji.linalg.LinAlgError):
        juanji.linalg.inv(juanji.tensor(singular))
    for module in (juanji, torch):
        inverse, info = module.linalg.inv_ex(module.tensor(np.stack([singular, np.eye(2)])))
        assert info.tolist() == [2, 0]
        np.testing.assert_allclose(inverse[1].numpy(), np.eye(2))
        _, info = module.linalg.cholesky_ex(module.tensor(np.stack([np.eye(3), -np.eye(3), np.diag([1.0, 1.0, -1.0])])))
        assert info.tolist() == [0, 1, 3]


GRADCHECK = {
    "inv": lambda a: juanji.linalg.inv(a), "det": lambda a: juanji.linalg.det(a),
    "slogdet": lambda a: juanji.linalg.slogdet(a).logabsdet, "solve": lambda a: juanji.linalg.solve(a, a.sin()),
    "solve_vector": lambda a: juanji.linalg.solve(a, a[0]),
    "cholesky": lambda a: juanji.linalg.cholesky(a @ a.mT + 3 * juanji.eye(3, dtype=juanji.float64)),
    "qr_tall": lambda a: sum(p.sum() for p in juanji.linalg.qr(juanji.cat([a, a.cos()]))),
    "qr_wide": lambda a: sum(p.sum() for p in juanji.linalg.qr(juanji.cat([a, a.cos()], 1))),
    "eigh": lambda a: (lambda r: r.eigenvalues.sum() + (r.eigenvectors ** 2 * a.cos()).sum())(juanji.linalg.eigh(a + a.mT)),
    "svd_s": lambda a: juanji.linalg.svdvals(a), "svd_uv": lambda a: (lambda r: (r.U ** 2 * a.sin()).sum()
                                                                       + (r.Vh ** 2 * a.cos()).sum())(
        juanji.linalg.svd(a)),
    "svd_tall": lambda a: (lambda r: (r.U ** 2).sum(0) + r.S)(juanji.linalg.svd(juanji.cat([a, a.sin()]), False)),
    "pinv_truncated": lambda a: juanji.linalg.pinv(a, atol=1.5),
    "pinv": lambda a: juanji.linalg.pinv(a), "matrix_norm_nuc": lambda a: juanji.linalg.matrix_norm(a, "nuc"),
    "matrix_power": lambda a: juanji.linalg.matrix_power(a, -2), "logdet": lambda a: (a @ a.mT).logdet(),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    a = juanji.tensor(matrices((3, 3), seed=12, kind="well"), requires_grad=True)
    assert gradcheck(GRADCHECK[name], (a,))
