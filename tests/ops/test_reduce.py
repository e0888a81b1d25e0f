"""Reductions against torch: every dim / keepdim combination over several shapes, float32 and
float64, values and gradients; integer and bool inputs; ties; and a float64 gradcheck each."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")

SHAPES_AND_DIMS = [
    ((), [None, 0, -1]),
    ((5,), [None, 0, -1, (0,)]),
    ((3, 4), [None, 0, 1, -1, (0, 1), (1, 0), [-1]]),
    ((2, 3, 4), [None, 0, 1, 2, -2, (0, 2), (1, 2), (0, 1, 2)]),
    ((2, 1, 3, 2), [1, (0, 3), (-1, -3)]),
]


def _cases():
    for shape, dims in SHAPES_AND_DIMS:
        for d in dims:
            for keepdim in (False, True):
                if d is None and keepdim:
                    continue
                yield shape, d, keepdim


CASES = list(_cases())


def _kwargs(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


def _data(shape, dtype, seed=0, low=-2.0, high=2.0):
    return random_array(shape, dtype, np.random.default_rng(seed), low, high)


# One test per reduction, looping over every (shape, dim, keepdim) case and both float dtypes:
# a few hundred comparisons each without a pytest item apiece (which keeps the suite fast).
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "nansum"])
def test_multi_dim_reductions_match_torch(name):
    for dtype in FLOAT_DTYPES:
        tol = 1e-5 if dtype == "float32" else None
        for shape, dim, keepdim in CASES:
            if name == "logsumexp" and dim is None:
                dim, keepdim = tuple(range(len(shape))) or 0, False
            x = _data(shape, dtype)
            kw = _kwargs(dim, keepdim)
            compare_with_torch(lambda t: getattr(t, name)(**kw), None, [x], rtol=tol, atol=tol)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_with_correction_match_torch(name, correction):
    for dtype in FLOAT_DTYPES:
        for shape, dim, keepdim in CASES:
            x = _data(shape, dtype, seed=1)
            kw = _kwargs(dim, keepdim)
            compare_with_torch(lambda t: getattr(t, name)(correction=correction, **kw), None, [x],
                               atol=1e-5 if dtype == "float32" else None)


def test_var_warns_like_torch_when_degrees_of_freedom_run_out():
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        juanji.ones(1).var()


@pytest.mark.parametrize("unbiased", [True, False])
def test_var_std_unbiased_argument(unbiased):
    x = _data((4, 5), "float64", seed=2)
    compare_with_torch(lambda t: t.var(1, unbiased=unbiased), None, [x])
    compare_with_torch(lambda t: t.std(unbiased), None, [x])
    compare_with_torch(lambda t: t.std(dim=0, unbiased=unbiased, keepdim=True), None, [x])


SINGLE_DIM_CASES = [c for c in CASES if not isinstance(c[1], (tuple, list))]


@pytest.mark.parametrize("name", ["max", "min", "prod", "cumsum", "argmax", "argmin"])
def test_single_dim_reductions_match_torch(name):
    for dtype in FLOAT_DTYPES:
        for shape, dim, keepdim in SINGLE_DIM_CASES:
            x = _data(shape, dtype, seed=3, low=0.5, high=1.5) if name == "prod" else _data(shape, dtype, seed=3)
            if name == "cumsum":
                if dim is not None:
                    compare_with_torch(lambda t: t.cumsum(dim), None, [x], atol=1e-6 if dtype == "float32" else None)
                continue
            compare_with_torch(lambda t: getattr(t, name)(**_kwargs(dim, keepdim)), None, [x])


def test_max_with_dim_returns_values_and_indices_named_tuple():
    x = juanji.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    values, indices = juanji.max(x, 1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    res = x.min(dim=0, keepdim=True)
    assert res.values.tolist() == [[1.0, 0.0, 2.0]] and res.indices.tolist() == [[0, 1, 0]]
    assert type(res).__name__ == "min"


def test_max_min_between_two_tensors():
    a, b = _data((3, 4), "float64", 4), _data((4,), "float64", 5)
    compare_with_torch(lambda x, y: x.max(y) if isinstance(x, juanji.Tensor) else torch.max(x, y), None, [a, b])
    compare_with_torch(lambda x, y: juanji.min(x, y) if isinstance(x, juanji.Tensor) else torch.min(x, y), None, [a, b])


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "argmax", "argmin"])
def test_ties_pick_the_same_element_and_share_gradient_like_torch(name):
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, -1.0, 5.0]], np.float64)
    compare_with_torch(lambda t: getattr(t, name)(dim=1), None, [x])
    compare_with_torch(lambda t: getattr(t, name)(), None, [x])
    if name in ("max", "min", "amax", "amin"):
        compare_with_torch(lambda t: getattr(t, name)(dim=0, keepdim=True), None, [x])


@pytest.mark.parametrize("p", [1, 2, 3, 0.5, float("inf"), "fro", 0])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 1), False), (-1, True)])
def test_norm_matches_torch(p, dim, keepdim):
    x = _data((3, 4), "float64", seed=6)
    if p == "fro" and dim is not None and not isinstance(dim, tuple):
        return  # torch's 'fro' needs two dims or none
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    compare_with_torch(lambda t: t.norm(p=p, **kw), None, [x])


def test_norm_of_zero_vector_has_zero_gradient():
    x = np.zeros((2, 3), np.float64)
    compare_with_torch(lambda t: t.norm(dim=1), None, [x])
    compare_with_torch(lambda t: t.norm(), None, [x])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_prod_with_zeros_has_the_right_gradient(dtype):
    x = np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [1.0, 2.0, -1.0]], dtype)
    compare_with_torch(lambda t: t.prod(1), None, [x])
    compare_with_torch(lambda t: t.prod(0, keepdim=True), None, [x])
    compare_with_torch(lambda t: t.prod(), None, [x])


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "max", "min", "amax", "argmax", "all", "any",
                                  "count_nonzero"])
def test_reductions_of_integer_and_bool_tensors_match_torch(name, dtype):
    x = _data((3, 4), dtype, seed=7, low=0, high=5)
    fn = getattr
    compare_with_torch(lambda t: fn(t, name)(1) if name != "cumsum" else t.cumsum(0), None, [x], grad=False)
    if name not in ("cumsum",):
        compare_with_torch(lambda t: fn(t, name)(), None, [x], grad=False)


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_mean_of_integer_tensor_errors_like_torch(dtype):
    x = _data((3,), dtype, seed=8, low=0, high=3)
    compare_with_torch(lambda t: t.mean(), None, [x], grad=False)
    compare_with_torch(lambda t: t.mean(dtype=juanji.float64 if isinstance(t, juanji.Tensor) else torch.float64),
                       None, [x], grad=False)


def test_sum_and_cumsum_dtype_argument():
    x = _data((3, 4), "int32", seed=9, low=-5, high=5)
    compare_with_torch(lambda t: t.sum(1, dtype=juanji.float32 if isinstance(t, juanji.Tensor) else torch.float32),
                       None, [x], grad=False)
    compare_with_torch(lambda t: t.cumsum(0, dtype=juanji.float64 if isinstance(t, juanji.Tensor) else torch.float64),
                       None, [x], grad=False)


@pytest.mark.parametrize("name", ["all", "any"])
def test_all_any_with_dims(name):
    x = np.array([[True, False, True], [True, True, True]])
    for kw in ({}, {"dim": 0}, {"dim": 1, "keepdim": True}, {"dim": -1}):
        compare_with_torch(lambda t: getattr(t, name)(**kw), None, [x], grad=False)
    f = np.array([[0.0, 1.5], [2.0, 3.0]], np.float32)
    compare_with_torch(lambda t: getattr(t, name)(1), None, [f], grad=False)


def test_logsumexp_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1000.0, -5.0], [-1000.0, -1000.0, -1000.0]], np.float32)
    compare_with_torch(lambda t: t.logsumexp(1), None, [x])
    y = np.array([[-np.inf, -np.inf], [0.0, -np.inf]], np.float64)
    compare_with_torch(lambda t: t.logsumexp(1), None, [y], grad=False)


def test_reductions_over_empty_tensors_match_torch():
    x = np.zeros((0, 3), np.float32)
    compare_with_torch(lambda t: t.sum(), None, [x])
    compare_with_torch(lambda t: t.sum(0), None, [x])
    compare_with_torch(lambda t: t.prod(0), None, [x])
    compare_with_torch(lambda t: t.mean(0), None, [x], grad=False)
    compare_with_torch(lambda t: t.amax(1), None, [x])
    compare_with_torch(lambda t: t.max(), None, [x], grad=False)
    compare_with_torch(lambda t: t.max(0), None, [x], grad=False)


def test_top_level_reduction_functions():
    x = _data((3, 4), "float64", seed=10)
    for name in ("sum", "mean", "std", "var", "amax", "logsumexp", "prod", "norm", "cumsum"):
        args = (1,) if name in ("logsumexp", "cumsum") else ()
        compare_with_torch(lambda t: getattr(juanji if isinstance(t, juanji.Tensor) else torch, name)(t, *args),
                           None, [x])


# ------------------------------------------------------------------ gradcheck (no torch)
GRADCHECK = {
    "sum": lambda t: t.sum(1),
    "sum_all": lambda t: t.sum(),
    "mean": lambda t: t.mean((0, 2), keepdim=True),
    "prod": lambda t: t.prod(1),
    "prod_all": lambda t: t.prod(),
    "var": lambda t: t.var(1),
    "std": lambda t: t.std(),
    "max": lambda t: t.max(2)[0],
    "min": lambda t: t.min(0).values,
    "amax": lambda t: t.amax((0, 1)),
    "logsumexp": lambda t: t.logsumexp(1),
    "norm2": lambda t: t.norm(dim=1),
    "norm3": lambda t: t.norm(p=3),
    "norm1": lambda t: t.norm(p=1, dim=0),
    "cumsum": lambda t: t.cumsum(2),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_reductions(name):
    x = _data((2, 3, 4), "float64", seed=11, low=0.3, high=2.0)
    x = x + np.arange(x.size).reshape(x.shape) * 1e-3  # no ties for max/min
    assert gradcheck(GRADCHECK[name], [juanji.tensor(x, requires_grad=True)])


# ------------------------------------------------------------------ errors
def test_dim_out_of_range_errors_like_torch():
    x = juanji.zeros(2, 3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        x.sum(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.max(-3)


def test_max_of_empty_without_dim_errors():
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        juanji.zeros(0).max()


def test_var_mean_and_std_mean_match_torch():
    x = _data((3, 4), "float64", seed=12)
    compare_with_torch(lambda t: (juanji if isinstance(t, juanji.Tensor) else torch).var_mean(t, 1), None, [x])
    compare_with_torch(lambda t: (juanji if isinstance(t, juanji.Tensor) else torch).std_mean(t, dim=0, correction=0,
                                                                                             keepdim=True), None, [x])
