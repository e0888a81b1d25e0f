"""Order statistics, further reductions and scans (juanji/ops/order_stats.py, scan.py,
_tensor/statistics.py) against torch: values, indices and gradients over shapes, dims and both
float dtypes; NaN and ties where torch defines the answer; errors; gradcheck."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")


def _distinct(shape, dtype, seed=0):
    """Values without ties (a permutation of a grid), so that every index is defined."""
    n = int(np.prod(shape)) if shape else 1
    values = np.random.default_rng(seed).permutation(n).astype(dtype) * 0.37 - n * 0.1
    return values.reshape(shape)


SHAPES_DIMS = [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((4, 1), 1), ((), 0)]


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", ["median", "nanmedian", "mode"])
def test_picked_value_and_index_along_dim_match_torch(name, dtype, shape, dim, keepdim):
    x = _distinct(shape, dtype)
    compare_with_torch(lambda t: tuple(getattr(t, name)(dim, keepdim)), None, [x])
    compare_with_torch(lambda t: tuple(getattr(juanji, name)(t, dim, keepdim=keepdim)),
                       lambda t: tuple(getattr(torch, name)(t, dim, keepdim=keepdim)), [x])


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS[:5], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_kthvalue_matches_torch(dtype, shape, dim, k):
    x = _distinct(shape, dtype, seed=k)
    compare_with_torch(lambda t: tuple(t.kthvalue(k, dim)), None, [x])
    compare_with_torch(lambda t: tuple(t.kthvalue(k, dim, keepdim=True)), None, [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_of_all_shares_the_gradient_among_ties_as_torch(name, dtype):
    for x in (np.array([1.0, 1.0, 2.0, 0.0, 1.0]), np.array([[3.0, 1.0], [2.0, 5.0]]), np.array(4.0),
              np.array([np.nan, 1.0, np.nan]), np.array([np.nan, 2.0, 1.0, 3.0])):
        compare_with_torch(lambda t: getattr(t, name)(), None, [x.astype(dtype)])


def test_median_with_nan_along_dim_matches_torch():
    x = np.array([[1.0, np.nan, 2.0, 0.5], [4.0, 3.0, 2.0, 1.0], [np.nan, 1.0, np.nan, 2.0]])
    compare_with_torch(lambda t: tuple(t.median(1)), None, [x])
    compare_with_torch(lambda t: tuple(t.nanmedian(1)), None, [x])
    compare_with_torch(lambda t: tuple(t.kthvalue(4, 1)), None, [x[:2]])
    # a slice of NaN only: NaN (torch's index among the NaNs depends on its selection algorithm)
    compare_with_torch(lambda t: t.median(1)[0], None, [np.full((2, 3), np.nan)], grad=False)
    compare_with_torch(lambda t: t.nanmedian(1)[0], None, [np.full((2, 3), np.nan)], grad=False)


def test_mode_picks_the_smallest_most_frequent_value_at_its_last_occurrence():
    x = np.array([[2, 2, 7, 7, 0, 0], [1, 3, 3, 1, 5, 3], [4, 4, 4, 4, 4, 4]], np.int64)
    compare_with_torch(lambda t: tuple(t.mode(1)), None, [x])
    compare_with_torch(lambda t: tuple(t.mode(0)), None, [x])
    compare_with_torch(lambda t: tuple(t.mode(1)), None, [x.astype(np.float32)])


def test_empty_and_bad_arguments_raise_torchs_errors():
    compare_with_torch(lambda t: t.median(), None, [np.zeros(0, np.float32)])
    compare_with_torch(lambda t: t.median(0), None, [np.zeros((0, 3), np.float32)])
    compare_with_torch(lambda t: t.kthvalue(4, 0), None, [np.ones(3, np.float32)])
    compare_with_torch(lambda t: t.kthvalue(0, 0), None, [np.ones(3, np.float32)])
    compare_with_torch(lambda t: t.median(2), None, [np.ones((3, 2), np.float32)])
    compare_with_torch(lambda t: t.quantile(1.5), None, [np.ones(3, np.float32)])
    compare_with_torch(lambda t: t.quantile(0.5), None, [np.ones(3, np.int64)])
    compare_with_torch(lambda t: t.quantile(0.5, interpolation="cubic"), None, [np.ones(3, np.float32)])
    compare_with_torch(lambda t, q: t.quantile(q), None, [np.ones(3, np.float32), np.array([0.5], np.float64)])


QUANTILE_CASES = [(None, False), (None, True), (0, False), (1, True), (-1, False)]


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dim,keepdim", QUANTILE_CASES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_quantile_matches_torch(dtype, dim, keepdim, interpolation):
    x = _distinct((4, 5), dtype, seed=2)
    for q in (0.3, 0.5, 0.0, 1.0):
        compare_with_torch(lambda t: t.quantile(q, dim, keepdim, interpolation=interpolation), None, [x])
    qs = np.array([0.1, 0.375, 0.5, 0.62, 0.9], dtype)
    compare_with_torch(lambda t, q: torch_or_juanji(t).quantile(t, q, dim, keepdim, interpolation=interpolation),
                       None, [x, qs], requires_grad=[True, False])


def torch_or_juanji(t):
    return juanji if isinstance(t, juanji.Tensor) else torch


@pytest.mark.parametrize("dim", [None, 1])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_with_nan_matches_torch(name, dim):
    x = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan] * 4, [4.0, 1.0, 2.0, 3.0]])
    q = np.array([0.25, 0.5, 1.0])
    # values only: torch sends the gradient of a NaN quantile to one of the NaNs, which one
    # depends on its sort
    compare_with_torch(lambda t, p: getattr(t, name)(p, dim), None, [x, q], grad=False)
    if name == "nanquantile":
        compare_with_torch(lambda t, p: getattr(t, name)(p, dim), None, [x[[0, 2]], q], requires_grad=[True, False])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nanmean_aminmax_dist_msort_match_torch(dtype):
    x = random_array((3, 4), dtype, np.random.default_rng(1))
    x[0, 1] = x[2, 3] = np.nan
    compare_with_torch(lambda t: t.nanmean(), None, [x])
    compare_with_torch(lambda t: t.nanmean(1, keepdim=True), None, [x])
    compare_with_torch(lambda t: juanji.nanmean(t, dim=0) if isinstance(t, juanji.Tensor) else torch.nanmean(t, dim=0),
                       None, [x])
    y = _distinct((3, 4), dtype)
    compare_with_torch(lambda t: tuple(t.aminmax()), None, [y])
    compare_with_torch(lambda t: tuple(t.aminmax(dim=1, keepdim=True)), None, [y])
    compare_with_torch(lambda t: tuple(torch_or_juanji(t).aminmax(t, dim=0)), None, [y])
    for p in (2, 1, 3.5, 0, float("inf")):  # (torch's backward of p=0 fails; 0 is its gradient)
        compare_with_torch(lambda a, b: a.dist(b, p), None, [y, y[::-1].copy() * 0.5], grad=p != 0)
    compare_with_torch(lambda t: t.msort(), None, [y])


def test_isin_isposinf_isneginf_isreal_match_torch():
    x = np.array([1.0, np.inf, -np.inf, np.nan, 0.0, 2.0])
    for name in ("isposinf", "isneginf", "isreal"):
        compare_with_torch(lambda t: getattr(t, name)(), None, [x], grad=False)
        compare_with_torch(lambda t: getattr(t, name)(), None, [np.array([1, 2], np.int64)], grad=False)
    a, b = np.array([1, 2, 3, 4, 2]), np.array([2, 5, 4])
    compare_with_torch(lambda p, q: torch_or_juanji(p).isin(p, q), None, [a, b])
    compare_with_torch(lambda p, q: torch_or_juanji(p).isin(p, q, invert=True), None, [a, b])
    compare_with_torch(lambda p: torch_or_juanji(p).isin(p, 2), None, [a])
    compare_with_torch(lambda q: torch_or_juanji(q).isin(2, q), None, [b])


def test_unique_consecutive_matches_torch():
    x = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    for kw in ({}, {"return_inverse": True}, {"return_counts": True}, {"return_inverse": True, "return_counts": True}):
        compare_with_torch(lambda t: t.unique_consecutive(**kw), None, [x])
    m = np.array([[1, 1], [1, 1], [2, 3], [2, 3], [1, 1]])
    compare_with_torch(lambda t: t.unique_consecutive(dim=0, return_counts=True, return_inverse=True), None, [m])
    compare_with_torch(lambda t: t.unique_consecutive(dim=1), None, [m.T.copy()])
    compare_with_torch(lambda t: t.unique_consecutive(), None, [np.zeros(0, np.int64)])


# ---------------------------------------------------------------------------- scans
SCAN_SHAPES = [((6,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -1), ((), 0), ((0, 3), 1)]


@pytest.mark.parametrize("shape,dim", SCAN_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", ["cumprod", "logcumsumexp", "cummax", "cummin"])
def test_scans_match_torch(name, dtype, shape, dim):
    x = random_array(shape, dtype, np.random.default_rng(3), 0.5, 1.5) if name == "cumprod" else \
        _distinct(shape, dtype, seed=3) if shape != (0, 3) else np.zeros(shape, dtype)
    out = (lambda r: tuple(r) if isinstance(r, tuple) else r)
    compare_with_torch(lambda t: out(getattr(t, name)(dim)), None, [x])
    compare_with_torch(lambda t: out(getattr(torch_or_juanji(t), name)(t, dim)), None, [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cumprod_gradient_with_zeros_matches_torch(dtype):
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 1.5, 2.0, 4.0, 0.5], [1.0, 2.0, 3.0, 4.0, 0.0],
                  [0.0, 0.0, 1.0, 2.0, 3.0], [1.5, -2.0, 0.5, 3.0, -1.0]], dtype)
    compare_with_torch(lambda t: t.cumprod(1), None, [x])
    compare_with_torch(lambda t: t.cumprod(0), None, [x])


def test_cummax_cummin_ties_nans_integers_bools_match_torch():
    x = np.array([1.0, 3.0, 3.0, np.nan, 5.0, np.nan, 0.0])
    compare_with_torch(lambda t: tuple(t.cummax(0)), None, [x])
    compare_with_torch(lambda t: tuple(t.cummin(0)), None, [x])
    compare_with_torch(lambda t: tuple(t.cummax(1)), None, [np.array([[3, 1, 1, 2, 3, 0]], np.int64)])
    compare_with_torch(lambda t: tuple(t.cummin(1)), None, [np.array([[3, 1, 1, 2, 3, 0]], np.int64)])
    compare_with_torch(lambda t: tuple(t.cummax(0)), None, [np.array([False, True, False])])
    compare_with_torch(lambda t: tuple(t.cummin(0)), None, [np.array([True, True, False])])


def test_scan_dtypes_and_in_place_forms_match_torch():
    i = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    compare_with_torch(lambda t: t.cumprod(1), None, [i])
    compare_with_torch(lambda t: t.cumprod(1, dtype=torch_or_juanji(t).float64), None, [i])
    compare_with_torch(lambda t: t.logcumsumexp(1), None, [i])
    compare_with_torch(lambda t: (t * 1).cumsum_(1), None, [i.astype(np.float32)])
    compare_with_torch(lambda t: (t * 1).cumprod_(0), None, [i.astype(np.float64)])
    big = np.array([1000.0, 1000.0, -1000.0, 2000.0])
    compare_with_torch(lambda t: t.logcumsumexp(0), None, [big])
    compare_with_torch(lambda t: t.logcumsumexp(0), None, [np.array([-np.inf, -np.inf, 0.0, np.inf])], grad=False)


def test_out_arguments_match_torch():
    x = _distinct((3, 4), "float32")
    for name, args in (("cumprod", (1,)), ("logcumsumexp", (0,)), ("nanmean", ()), ("msort", ())):
        jo, to = juanji.empty(0), torch.empty(0)
        getattr(juanji, name)(juanji.tensor(x), *args, out=jo)
        getattr(torch, name)(torch.tensor(x), *args, out=to)
        np.testing.assert_allclose(jo.numpy(), to.numpy(), rtol=1e-6)
    jv, ji = juanji.empty(0), juanji.empty(0, dtype=juanji.int64)
    tv, ti = torch.empty(0), torch.empty(0, dtype=torch.int64)
    assert juanji.median(juanji.tensor(x), 1, out=(jv, ji))[0] is jv
    torch.median(torch.tensor(x), 1, out=(tv, ti))
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    np.testing.assert_allclose(jv.numpy(), tv.numpy())


def test_node_names_are_torchs():
    def names(m):
        x = m.tensor([[1.0, 4.0, 2.0], [3.0, 0.5, 6.0]], requires_grad=True)
        return [type(r.grad_fn).__name__ for r in (x.median(), x.median(1)[0], x.nanmedian(), x.nanmedian(0)[0],
                                                    x.kthvalue(2)[0], x.mode(1)[0], x.cumprod(1), x.cummax(1)[0],
                                                    x.cummin(0)[0], x.logcumsumexp(1), x.msort())]
    assert names(juanji) == names(torch)


GRADCHECK = {
    "median": lambda x: x.median(), "median_dim": lambda x: x.median(1)[0], "nanmedian": lambda x: x.nanmedian(0)[0],
    "kthvalue": lambda x: x.kthvalue(2, 1)[0], "mode": lambda x: x.mode(0)[0],
    "quantile": lambda x: x.quantile(juanji.tensor([0.2, 0.7], dtype=juanji.float64), 1),
    "nanquantile": lambda x: x.nanquantile(0.4), "nanmean": lambda x: x.nanmean(0), "dist": lambda x: x.dist(x.flip(0), 3),
    "cumprod": lambda x: x.cumprod(1), "cumprod_zero": lambda x: (x * juanji.tensor([[1.0, 0.0, 1.0]] * 3, dtype=juanji.float64)).cumprod(1),
    "cummax": lambda x: x.cummax(1)[0], "cummin": lambda x: x.cummin(0)[0], "logcumsumexp": lambda x: x.logcumsumexp(1),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    x = juanji.tensor(_distinct((3, 3), "float64", seed=5) + 0.05, requires_grad=True)
    assert gradcheck(GRADCHECK[name], (x,))
