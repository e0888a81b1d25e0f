"""Diagonals, triangles, matrix functions (juanji/ops/diagonal.py, _tensor/matrices.py), placing
values by index (ops/scatter_reduce.py, _tensor/placement.py) and the joining/counting functions
(functions_more.py) against torch: values and gradients over shapes, args and both float dtypes;
integer input; torch's errors; node names; gradcheck."""

import warnings

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")


def lib(t):
    """The library a tensor belongs to (to write one lambda for both)."""
    return juanji if isinstance(t, juanji.Tensor) else torch


def rand(shape, dtype="float64", seed=0, low=-2.0, high=2.0):
    return random_array(shape, dtype, np.random.default_rng(seed), low, high)


# ---------------------------------------------------------------------------- diagonals
@pytest.mark.parametrize("offset", [0, 1, -2, 5])
@pytest.mark.parametrize("shape,dims", [((4, 5), (0, 1)), ((3, 4, 5), (2, 0)), ((2, 3, 4, 3), (-1, 1)), ((0, 3), (0, 1))],
                         ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_diagonal_and_diag_embed_match_torch(dtype, shape, dims, offset):
    x = rand(shape, dtype)
    compare_with_torch(lambda t: t.diagonal(offset, *dims), None, [x])
    compare_with_torch(lambda t: lib(t).diagonal(t, offset=offset, dim1=dims[0], dim2=dims[1]), None, [x])
    compare_with_torch(lambda t: t.diag_embed(offset, *dims), None, [x])
    compare_with_torch(lambda t: lib(t).diag_embed(t, offset), None, [x])


@pytest.mark.parametrize("offset", [0, 2, -1])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_diag_diagflat_trace_match_torch(dtype, offset):
    v, m = rand((4,), dtype), rand((3, 5), dtype)
    for x in (v, m):
        compare_with_torch(lambda t: t.diag(offset), None, [x])
        compare_with_torch(lambda t: lib(t).diag(t, offset), None, [x])
        compare_with_torch(lambda t: lib(t).diagflat(t, offset), None, [x])
    compare_with_torch(lambda t: t.trace(), None, [m])
    compare_with_torch(lambda t: t.trace(), None, [np.arange(9).reshape(3, 3)])
    compare_with_torch(lambda t: t.diag(), None, [rand((2, 2, 2), dtype)])
    compare_with_torch(lambda t: t.trace(), None, [v])


@pytest.mark.parametrize("diagonal", [0, 1, -1, 3, -4])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (2, 3, 4), (0, 2)], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("int64",))
def test_tril_triu_match_torch(dtype, shape, diagonal):
    x = rand(shape, dtype)
    for name in ("tril", "triu"):
        compare_with_torch(lambda t: getattr(t, name)(diagonal), None, [x])
        compare_with_torch(lambda t: getattr(lib(t), name)(t, diagonal), None, [x])
        compare_with_torch(lambda t: getattr(t * 1, name + "_")(diagonal), None, [x])
    compare_with_torch(lambda t: t.tril(), None, [rand((3,), dtype)])


@pytest.mark.parametrize("shapes", [((2, 3), (4, 2)), ((3,), (2,)), ((2, 2), (3,)), ((2, 1, 3), (2, 2)), ((), (3,))],
                         ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_kron_matches_torch(dtype, shapes):
    compare_with_torch(lambda a, b: lib(a).kron(a, b), None, [rand(shapes[0], dtype), rand(shapes[1], dtype, 1)])


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, 0), (1, 2)])
def test_rot90_matches_torch(k, dims):
    x = rand((2, 3, 4))
    compare_with_torch(lambda t: t.rot90(k, dims), None, [x])
    compare_with_torch(lambda t: lib(t).rot90(t, k, list(dims)), None, [x])


def test_flips_adjoint_transpose_in_place_match_torch():
    x = rand((2, 3, 4))
    for fn in (lambda t: t.fliplr(), lambda t: t.flipud(), lambda t: t.adjoint(), lambda t: lib(t).fliplr(t),
               lambda t: (t * 1).transpose_(0, 2), lambda t: (t * 1).swapaxes_(1, 2), lambda t: (t * 1).swapdims_(0, 1)):
        compare_with_torch(fn, None, [x])
    compare_with_torch(lambda t: t.fliplr(), None, [rand((3,))])
    compare_with_torch(lambda t: t.adjoint(), None, [rand((3,))])
    compare_with_torch(lambda t: t.rot90(1, [0, 0]), None, [x])
    compare_with_torch(lambda t: t.rot90(1, [0]), None, [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cross_matches_torch(dtype):
    a, b = rand((4, 3), dtype), rand((4, 3), dtype, 1)
    compare_with_torch(lambda p, q: lib(p).cross(p, q, dim=1), None, [a, b])
    compare_with_torch(lambda p, q: p.cross(q, -1), None, [a, b])
    compare_with_torch(lambda p, q: p.cross(q, 0), None, [a.T.copy(), b.T.copy()])
    compare_with_torch(lambda p, q: p.cross(q, 1), None, [rand((2, 3, 5), dtype), rand((1, 3, 5), dtype, 2)])
    with pytest.warns(UserWarning, match="without specifying the dim"):
        compare_with_torch(lambda p, q: lib(p).cross(p, q), None, [a, b])
    compare_with_torch(lambda p, q: p.cross(q, 1), None, [rand((2, 4), dtype), rand((2, 4), dtype)])


@pytest.mark.parametrize("p,maxnorm", [(2, 1.0), (1, 2.5), (3, 0.5), (2, 100.0)])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_renorm_matches_torch(dtype, p, maxnorm):
    x = rand((3, 4, 2), dtype)
    for dim in (0, 1, -1):
        compare_with_torch(lambda t: t.renorm(p, dim, maxnorm), None, [x])
    compare_with_torch(lambda t: (t * 1).renorm_(p, 0, maxnorm), None, [x])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("int64",))
def test_diff_matches_torch(dtype, n):
    x = rand((3, 5), dtype, low=-5, high=5)
    compare_with_torch(lambda t: t.diff(n), None, [x])
    compare_with_torch(lambda t: lib(t).diff(t, n, dim=0), None, [x])
    pre, app = rand((3, 1), dtype, 1), rand((3, 2), dtype, 2)
    compare_with_torch(lambda t, p, q: t.diff(n, 1, prepend=p, append=q), None, [x, pre, app])
    compare_with_torch(lambda t: t.diff(), None, [np.array([True, False, False, True])])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cov_corrcoef_match_torch(dtype):
    x = rand((3, 6), dtype)
    compare_with_torch(lambda t: t.cov(), None, [x])
    compare_with_torch(lambda t: lib(t).cov(t, correction=0), None, [x])
    compare_with_torch(lambda t: t.cov(), None, [x[0]])
    fw = np.array([1, 2, 1, 3, 1, 1])
    aw = rand((6,), dtype, 3, 0.5, 2.0)
    compare_with_torch(lambda t, f: t.cov(fweights=f), None, [x, fw])
    compare_with_torch(lambda t, a: t.cov(aweights=a), None, [x, aw])
    compare_with_torch(lambda t, f, a: t.cov(correction=2, fweights=f, aweights=a), None, [x, fw, aw])
    compare_with_torch(lambda t: t.corrcoef(), None, [x])
    compare_with_torch(lambda t: lib(t).corrcoef(t), None, [x])


# ---------------------------------------------------------------------------- placing by index
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_index_add_and_copy_match_torch(dtype, dim):
    x = rand((4, 5), dtype)
    size = x.shape[dim]
    index = np.array([0, size - 1, 1, 0][:3] if dim != 0 else [3, 0, 2])
    src_shape = list(x.shape)
    src_shape[dim] = len(index)
    src = rand(src_shape, dtype, 1)
    compare_with_torch(lambda t, i, s: t.index_add(dim, i, s), None, [x, index, src])
    compare_with_torch(lambda t, i, s: lib(t).index_add(t, dim, i, s, alpha=-2.5), None, [x, index, src])
    compare_with_torch(lambda t, i, s: (t * 1).index_add_(dim, i, s), None, [x, index, src])
    repeated = np.array([1, 1, 0])
    compare_with_torch(lambda t, i, s: t.index_add(dim, i, s), None, [x, repeated, src])
    compare_with_torch(lambda t, i, s: t.index_copy(dim, i, s), None, [x, index, src])
    compare_with_torch(lambda t, i, s: (t * 1).index_copy_(dim, i, s), None, [x, index, src])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_index_reduce_matches_torch(dtype, reduce, include_self):
    x = rand((4, 3), dtype, low=0.5, high=2.0)
    src = rand((5, 3), dtype, 1, low=0.5, high=2.0)
    index = np.array([0, 2, 0, 3, 2])
    compare_with_torch(lambda t, i, s: t.index_reduce(0, i, s, reduce, include_self=include_self), None,
                       [x, index, src])
    compare_with_torch(lambda t, i, s: (t * 1).index_reduce_(0, i, s, reduce, include_self=include_self), None,
                       [x, index, src])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_scatter_reduce_matches_torch(dtype, reduce, include_self):
    x = rand((3, 5), dtype, low=0.5, high=2.0)
    src = rand((3, 4), dtype, 1, low=0.5, high=2.0)
    index = np.array([[0, 0, 4, 1], [2, 2, 2, 2], [3, 1, 3, 0]])
    compare_with_torch(lambda t, i, s: t.scatter_reduce(1, i, s, reduce, include_self=include_self), None,
                       [x, index, src])
    # an index smaller than src (torch's own backward refuses that shape, so values only)
    compare_with_torch(lambda t, i, s: lib(t).scatter_reduce(t, 0, i[:2, :3] % 3, s, reduce, include_self=include_self),
                       None, [x, index, src], grad=False)
    compare_with_torch(lambda t, i, s: lib(t).scatter_reduce(t, 0, i[:2, :3] % 3, s[:2, :3], reduce,
                                                              include_self=include_self), None, [x, index, src])
    compare_with_torch(lambda t, i, s: (t * 1).scatter_reduce_(1, i, s, reduce, include_self=include_self), None,
                       [x, index, src])


def test_scatter_reduce_ties_zeros_and_integers_match_torch():
    x = np.array([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]])
    src = np.array([[3.0, 0.0, 3.0, 1.0], [0.0, 2.0, 2.0, 0.0]])
    index = np.array([[0, 1, 0, 2], [1, 2, 1, 2]])
    for reduce in ("prod", "amax", "amin", "mean", "sum"):
        for include_self in (True, False):
            compare_with_torch(lambda t, i, s: t.scatter_reduce(1, i, s, reduce, include_self=include_self), None,
                               [x, index, src])
            compare_with_torch(lambda t, i, s: t.scatter_reduce(1, i, s, reduce, include_self=include_self), None,
                               [x.astype(np.int64) + 3, index, src.astype(np.int64) + 1])


def test_scatter_embeddings_match_torch():
    x = rand((4, 5))
    compare_with_torch(lambda t, s: t.slice_scatter(s, 1, 1, 5, 2), None, [x, rand((4, 2), seed=1)])
    compare_with_torch(lambda t, s: lib(t).slice_scatter(t, s, start=2), None, [x, rand((2, 5), seed=1)])
    compare_with_torch(lambda t, s: t.select_scatter(s, 0, -1), None, [x, rand((5,), seed=2)])
    compare_with_torch(lambda t, s: lib(t).select_scatter(t, s, 1, 2), None, [x, rand((4,), seed=2)])
    compare_with_torch(lambda t, s: t.diagonal_scatter(s, 1), None, [x, rand((4,), seed=3)])
    compare_with_torch(lambda t, s: lib(t).diagonal_scatter(t, s, -1, 1, 0), None, [x, rand((3,), seed=3)])
    y = rand((2, 3, 4))
    compare_with_torch(lambda t, s: t.diagonal_scatter(s, 0, 0, 2), None, [y, rand((3, 2), seed=4)])
    compare_with_torch(lambda t, s: t.select_scatter(s, 0, 0), None, [x, rand((4,), seed=2)])  # bad shape


def test_index_errors_match_torch():
    x, src = rand((4, 3)), rand((2, 3))
    compare_with_torch(lambda t, i, s: t.index_add(0, i, s), None, [x, np.array([0, 4]), src])
    compare_with_torch(lambda t, i, s: t.index_add(0, i, s), None, [x, np.array([0.0, 1.0]), src])
    compare_with_torch(lambda t, i, s: t.index_reduce(0, i, s, "sum"), None, [x, np.array([0, 1]), src])
    # 'max' is accepted as 'amax' (values only: torch's backward refuses the old name)
    compare_with_torch(lambda t, i, s: t.scatter_reduce(0, i, s, "max"), None, [x, np.zeros((2, 3), np.int64), src],
                       grad=False)
    compare_with_torch(lambda t, i, s: t.scatter_reduce(0, i, s, "add"), None, [x, np.zeros((2, 3), np.int64), src])
    compare_with_torch(lambda t, i: t.take(i), None, [x, np.array([12])])
    compare_with_torch(lambda t: t.hsplit(2), None, [rand((2, 3))])
    compare_with_torch(lambda t: t.vsplit(2), None, [rand((3,))])
    compare_with_torch(lambda t: t.dsplit(2), None, [rand((2, 2))])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_take_take_along_dim_tile_narrow_copy_argwhere_match_torch(dtype):
    x = rand((3, 4), dtype)
    compare_with_torch(lambda t, i: t.take(i), None, [x, np.array([[0, 11], [-1, 5]])])
    compare_with_torch(lambda t, i: lib(t).take(t, i), None, [x, np.array([3, 3, 0])])
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    compare_with_torch(lambda t, i: t.take_along_dim(i, 1), None, [x, idx])
    compare_with_torch(lambda t, i: lib(t).take_along_dim(t, i), None, [x, np.array([0, 11, 4])])
    compare_with_torch(lambda t, i: t.take_along_dim(i, 0), None, [x, np.array([[2, 0, 1, 1]])])
    compare_with_torch(lambda t, i: t.take_along_dim(i, 1), None, [x[:1], idx])  # broadcast self
    for reps in ((2,), (2, 1), (1, 2, 3)):
        compare_with_torch(lambda t: t.tile(reps), None, [x])
        compare_with_torch(lambda t: lib(t).tile(t, reps), None, [x])
    compare_with_torch(lambda t: t.narrow_copy(1, 1, 2), None, [x])
    compare_with_torch(lambda t: lib(t).argwhere(t), None, [np.array([[0, 1, 0], [2, 0, 3]])])


def test_splits_match_torch():
    x = rand((4, 6, 2))
    for fn in (lambda t: t.hsplit(3), lambda t: t.hsplit([1, 4]), lambda t: t.vsplit(2), lambda t: t.dsplit([1]),
               lambda t: lib(t).hsplit(t, 2), lambda t: lib(t).dsplit(t, 2)):
        compare_with_torch(lambda t: tuple(fn(t)), None, [x])
    compare_with_torch(lambda t: tuple(t.hsplit(2)), None, [rand((6,))])


# ---------------------------------------------------------------------------- counting
def test_bincount_histc_histogram_match_torch():
    i = np.array([0, 3, 1, 1, 7, 3])
    compare_with_torch(lambda t: t.bincount(), None, [i])
    compare_with_torch(lambda t: lib(t).bincount(t, minlength=10), None, [i])
    for w in (rand((6,), "float32", low=0, high=1), rand((6,), "float64", low=0, high=1), np.arange(6)):
        compare_with_torch(lambda t, v: t.bincount(v), None, [i, w], grad=False)
    compare_with_torch(lambda t: t.bincount(), None, [np.array([-1, 2])])
    compare_with_torch(lambda t: t.bincount(), None, [np.zeros(0, np.int64)])
    x = rand((50,), "float32", low=-3, high=3)
    for args in ((), (10,), (5, -1.0, 1.0), (4, 2.0, 2.0)):
        compare_with_torch(lambda t: t.histc(*args), None, [x], grad=False)
    compare_with_torch(lambda t: t.histc(), None, [np.arange(3)])
    for bins, kw in ((4, {}), (3, {"range": (-1.0, 1.0)}), (5, {"density": True})):
        compare_with_torch(lambda t: tuple(t.histogram(bins, **kw)), None, [x], grad=False)
    compare_with_torch(lambda t, e: tuple(lib(t).histogram(t, e)), None, [x, np.array([-3.0, 0.0, 1.0, 3.0], np.float32)],
                       grad=False)
    compare_with_torch(lambda t, w: tuple(t.histogram(4, weight=w)), None, [x, rand((50,), "float32", low=0, high=1)],
                       grad=False)


def test_histogramdd_matches_torch():
    points = rand((40, 2), "float64")
    j = juanji.histogramdd(juanji.tensor(points), bins=[3, 4])
    t = torch.histogramdd(torch.tensor(points), bins=[3, 4])
    np.testing.assert_allclose(j.hist.numpy(), t.hist.numpy())
    for je, te in zip(j.bin_edges, t.bin_edges):
        np.testing.assert_allclose(je.numpy(), te.numpy())
    j = juanji.histogramdd(juanji.tensor(points), bins=2, range=[-1.0, 1.0, -2.0, 2.0], density=True)
    t = torch.histogramdd(torch.tensor(points), bins=2, range=[-1.0, 1.0, -2.0, 2.0], density=True)
    np.testing.assert_allclose(j.hist.numpy(), t.hist.numpy())


# ---------------------------------------------------------------------------- functions only
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_stacking_functions_match_torch(dtype):
    a, b, c = rand((3,), dtype), rand((3, 2), dtype, 1), rand((), dtype, 2)
    compare_with_torch(lambda p, q: lib(p).column_stack([p, q]), None, [a, b])
    compare_with_torch(lambda p, q: lib(p).column_stack((p, q)), None, [a, a.astype("float32")])
    compare_with_torch(lambda p, q: lib(p).dstack([p, q]), None, [b, b * 2])
    compare_with_torch(lambda p, q: lib(p).row_stack([p, q]), None, [a, a])
    compare_with_torch(lambda p: lib(p).atleast_3d(p), None, [c])
    compare_with_torch(lambda p, q: lib(p).atleast_3d(p, q), None, [a, b])
    compare_with_torch(lambda p: lib(p).broadcast_to(p, (2, 3, 2)), None, [b[:1]])
    compare_with_torch(lambda p, q, r: lib(p).block_diag(p, q, r), None, [a, b, c])
    compare_with_torch(lambda p, q: lib(p).block_diag(p, q), None, [b, np.array([[1, 2]])])
    compare_with_torch(lambda p: lib(p).column_stack(p), None, [a])


def test_combinations_and_index_functions_match_torch():
    x = rand((4,))
    for r, rep in ((2, False), (3, False), (2, True), (0, False), (5, False)):
        compare_with_torch(lambda t: lib(t).combinations(t, r, rep), None, [x])
    for row, col, offset in ((3, 4, 0), (4, 3, 1), (3, 3, -1), (0, 2, 0)):
        for name in ("tril_indices", "triu_indices"):
            np.testing.assert_array_equal(getattr(juanji, name)(row, col, offset).numpy(),
                                          getattr(torch, name)(row, col, offset).numpy())
    assert juanji.tril_indices(3, 3, dtype=juanji.int32).dtype is juanji.int32
    for shape in ((2, 3), 6, (2, 1, 3)):
        jt = juanji.unravel_index(juanji.tensor([0, 4, 5]), shape)
        tt = torch.unravel_index(torch.tensor([0, 4, 5]), shape)
        assert [list(a.numpy()) for a in jt] == [list(b.numpy()) for b in tt]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("int64",))
def test_vander_matches_torch(dtype):
    # values only: torch's own vander cannot be differentiated (its backward finds its output
    # changed in place); juanji's gradient is checked by gradcheck below
    x = rand((4,), dtype, low=-3, high=3)
    compare_with_torch(lambda t: lib(t).vander(t), None, [x], grad=False)
    compare_with_torch(lambda t: lib(t).vander(t, N=3, increasing=True), None, [x], grad=False)
    compare_with_torch(lambda t: lib(t).vander(t, 0), None, [x], grad=False)


def test_searchsorted_bucketize_match_torch():
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    values = np.array([[0.0, 3.0, 4.0], [7.0, 8.0, 3.0]])
    for kw in ({}, {"right": True}, {"side": "right"}, {"side": "left"}, {"out_int32": True}):
        compare_with_torch(lambda s, v: lib(s).searchsorted(s, v, **kw), None, [seq, values])
        compare_with_torch(lambda v, b: lib(v).bucketize(v, b, **{k: w for k, w in kw.items() if k != "side"}), None,
                           [values, seq])
    rows = np.array([[1, 3, 5], [2, 4, 6]])
    compare_with_torch(lambda s, v: lib(s).searchsorted(s, v, right=True), None, [rows, np.array([[3], [5]])])
    compare_with_torch(lambda s, v, o: lib(s).searchsorted(s, v, sorter=o), None,
                       [np.array([5, 1, 3]), np.array([2, 4]), np.array([1, 2, 0])])
    compare_with_torch(lambda s, v: lib(s).searchsorted(s, v, side="middle"), None, [seq, values])


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gradient_matches_torch(dtype, edge_order):
    x = rand((4, 5), dtype)
    compare_with_torch(lambda t: lib(t).gradient(t, edge_order=edge_order), None, [x])
    compare_with_torch(lambda t: lib(t).gradient(t, spacing=2.0, dim=1, edge_order=edge_order), None, [x])
    compare_with_torch(lambda t: lib(t).gradient(t, spacing=[0.5, 3.0], edge_order=edge_order), None, [x])
    coords = np.array([0.0, 1.0, 2.5, 3.0, 5.0], dtype)
    compare_with_torch(lambda t, c: lib(t).gradient(t, spacing=(c,), dim=1, edge_order=edge_order), None,
                       [x, coords], requires_grad=[True, False])
    compare_with_torch(lambda t: lib(t).gradient(t, dim=0), None, [np.arange(5.0)])


def test_out_arguments_match_torch():
    x = rand((3, 3), "float32")
    cases = [("kron", (juanji.ones(2, 1),), (torch.ones(2, 1),)), ("diff", (), ()), ("renorm", (2, 0, 1.0), (2, 0, 1.0)),
             ("take", (juanji.tensor([0, 4]),), (torch.tensor([0, 4]),)), ("histc", (), ())]
    for name, jargs, targs in cases:
        jo, to = juanji.empty(0), torch.empty(0)
        getattr(juanji, name)(juanji.tensor(x), *jargs, out=jo)
        getattr(torch, name)(torch.tensor(x), *targs, out=to)
        np.testing.assert_allclose(jo.numpy(), to.numpy(), rtol=1e-6)
    for name, args in (("tril_indices", (3, 3)), ("block_diag", ())):
        # torch has no out= for these
        with pytest.raises(TypeError):
            getattr(torch, name)(*args, out=torch.empty(0))
        with pytest.raises(TypeError):
            getattr(juanji, name)(*args, out=juanji.empty(0))


def test_node_names_are_torchs():
    def names(m):
        x = m.tensor([[1.0, 4.0, 2.0], [3.0, 0.5, 6.0], [2.0, 2.5, 1.5]], requires_grad=True)
        i = m.tensor([0, 2])
        return [type(r.grad_fn).__name__ for r in (
            x.diagonal(), x.diag_embed(), x.tril(), x.triu(), x[0].diag(), x.index_add(0, i, x[:2]),
            x.index_copy(0, i, x[:2]), x.index_reduce(0, i, x[:2], "amax"),
            x.scatter_reduce(0, m.tensor([[0, 1, 2]]), x[:1], "sum"), x.slice_scatter(x[:1], 0, 0, 1),
            x.select_scatter(x[0], 0, 1), x.diagonal_scatter(x[0]), x.take(i), (x * 1).transpose_(0, 1))]
    assert names(juanji) == names(torch)


GRADCHECK = {
    "diagonal": lambda x: x.diagonal(1), "diag_embed": lambda x: x.diag_embed(-1), "diag1d": lambda x: x[0].diag(1),
    "tril": lambda x: x.tril(), "kron": lambda x: x.kron(x[:2, :1]), "rot90": lambda x: x.rot90(3),
    "cross": lambda x: x.cross(x.flip(0), 1), "renorm": lambda x: x.renorm(2, 0, 0.8), "diff": lambda x: x.diff(2),
    "cov": lambda x: x.cov(), "corrcoef": lambda x: x.corrcoef(),
    "index_add": lambda x: x.index_add(0, juanji.tensor([2, 0]), x[:2] * 2),
    "index_reduce_prod": lambda x: x.index_reduce(0, juanji.tensor([2, 0, 2]), x.exp(), "prod"),
    "scatter_reduce_amax": lambda x: x.scatter_reduce(1, juanji.tensor([[0, 0, 1], [2, 1, 1], [0, 1, 2]]), x.sin(),
                                                      "amax"),
    "scatter_reduce_mean": lambda x: x.scatter_reduce(1, juanji.tensor([[0, 0, 1], [2, 1, 1], [0, 1, 2]]), x.sin(),
                                                      "mean", include_self=False),
    "diagonal_scatter": lambda x: x.diagonal_scatter(x[0].exp()), "take_along_dim":
        lambda x: x.take_along_dim(juanji.tensor([[2], [0], [1]]), 1),
    "gradient": lambda x: juanji.gradient(x, spacing=(juanji.tensor([0.0, 0.5, 2.0], dtype=juanji.float64),), dim=1,
                                          edge_order=2)[0],
    "block_diag": lambda x: juanji.block_diag(x, x[0]), "vander": lambda x: juanji.vander(x[0], 4),
    "combinations": lambda x: juanji.combinations(x[1], 2),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    x = juanji.tensor(np.array([[0.3, -1.1, 0.8], [1.4, 0.2, -0.6], [-0.9, 0.7, 1.9]]), requires_grad=True)
    assert gradcheck(GRADCHECK[name], (x,))
