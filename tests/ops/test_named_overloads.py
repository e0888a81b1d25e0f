"""The Tensor methods that reach their Op through one of torch's named overloads (a variant of
the Op, see tests/autograd/test_node_names.py) still compute torch's values and gradients:
sort/topk (values gathered at the indices), split/chunk/unbind (pieces as views), reciprocal,
2 / x, x ** y, 2 ** x, x % y, square, the composites whose last node is renamed (expm1, log2,
log10, tan, frac, lerp), clamp_min/clamp_max and tensor bounds, bmm, and the in-place writes and
shape changes under autograd. float32 and float64 against torch, and a float64 gradcheck each."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")

SHAPES = [(5,), (3, 4), (2, 3, 4)]

UNARY = [
    ("sort", lambda t, x: x.sort(-1)),
    ("sort-descending-dim0", lambda t, x: x.sort(0, descending=True)),
    ("topk", lambda t, x: x.topk(2)),
    ("topk-smallest-dim0", lambda t, x: x.topk(1, 0, largest=False)),
    ("split", lambda t, x: x.split(2, -1)),
    ("split-sizes", lambda t, x: x.split([1, x.shape[0] - 1], 0)),
    ("chunk", lambda t, x: x.chunk(2, -1)),
    ("unbind", lambda t, x: x.unbind(0)),
    ("tensor_split", lambda t, x: x.tensor_split(2, -1)),
    ("reciprocal", lambda t, x: x.reciprocal()),
    ("2 / x", lambda t, x: 2 / x),
    ("2 ** x", lambda t, x: 2 ** x),
    ("x ** 2", lambda t, x: x ** 2),
    ("square", lambda t, x: x.square()),
    ("expm1", lambda t, x: x.expm1()),
    ("log2", lambda t, x: x.abs().log2()),
    ("log10", lambda t, x: x.abs().log10()),
    ("tan", lambda t, x: x.tan()),
    ("frac", lambda t, x: x.frac()),
    ("4.2 - x", lambda t, x: 4.2 - x),
    ("clamp_min", lambda t, x: x.clamp_min(0.1)),
    ("clamp_max", lambda t, x: x.clamp_max(0.3)),
    ("sgn", lambda t, x: x.sgn() * x),
    ("max()", lambda t, x: x.max()),
    ("min(dim)", lambda t, x: x.min(0)),
    ("amin", lambda t, x: x.amin(-1)),
    ("prod(dim)", lambda t, x: x.prod(0)),
    ("mean(dim)", lambda t, x: x.mean(-1)),
    ("squeeze(tuple)", lambda t, x: x.unsqueeze(0).squeeze((0,))),
    ("transpose", lambda t, x: x.transpose(0, -1)),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("call", [c for _, c in UNARY], ids=[name for name, _ in UNARY])
def test_unary_overloads_match_torch(call, shape, dtype):
    x = random_array(shape, dtype, np.random.default_rng(4), low=0.2, high=1.5) * \
        np.where(np.random.default_rng(5).random(shape) < 0.5, -1, 1).astype(dtype)
    compare_with_torch(lambda x: call(juanji, x), lambda x: call(torch, x), [x])


BINARY = [
    ("x ** y", lambda t, x, y: x.abs() ** y),
    ("x % y", lambda t, x, y: x % y),
    ("lerp", lambda t, x, y: x.lerp(y, 0.3)),
    ("lerp-tensor-weight", lambda t, x, y: x.lerp(y, y.sigmoid())),
    ("clamp(tensor bounds)", lambda t, x, y: x.clamp(min=y.detach() - 1, max=y.detach() + 1) * y),
    ("clamp(max=tensor)", lambda t, x, y: x.clamp(max=y.detach()) + y),
    ("copy_", lambda t, x, y: (x * 1).copy_(y)),
    ("setitem", lambda t, x, y: _set(x * 1, 0, y[0] * 2)),
    ("setitem-advanced", lambda t, x, y: _set(x * 1, [0], y[:1])),
]


def _set(target, index, value):
    target[index] = value
    return target


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES[1:], ids=str)
@pytest.mark.parametrize("call", [c for _, c in BINARY], ids=[name for name, _ in BINARY])
def test_binary_overloads_match_torch(call, shape, dtype):
    rng = np.random.default_rng(6)
    x = random_array(shape, dtype, rng)
    y = random_array(shape, dtype, rng, low=0.5, high=2.0)
    compare_with_torch(lambda x, y: call(juanji, x, y), lambda x, y: call(torch, x, y), [x, y])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_clamp_with_tensor_bounds_sends_gradient_to_the_bounds(dtype):
    # (the forms, broadcasting, ties and dtypes: tests/ops/test_clamp_bounds.py)
    rng = np.random.default_rng(10)
    x, bound = random_array((3, 4), dtype, rng), random_array((3, 4), dtype, rng)
    compare_with_torch(lambda x, b: x.clamp(max=b), None, [x, bound])


IN_PLACE = [
    ("fill_", lambda y: y.fill_(2.0)),
    ("zero_", lambda y: y.zero_()),
    ("unsqueeze_", lambda y: y.unsqueeze_(0)),
    ("squeeze_", lambda y: y.unsqueeze_(1).squeeze_()),
    ("squeeze_(dim)", lambda y: y.unsqueeze_(0).squeeze_(0)),
    ("squeeze_(dims)", lambda y: y.unsqueeze_(0).squeeze_((0,))),
    ("t_", lambda y: y.t_()),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("edit", [e for _, e in IN_PLACE], ids=[name for name, _ in IN_PLACE])
def test_in_place_writes_and_shape_changes_under_autograd_match_torch(edit, dtype):
    def run(t, x):
        y = x * x
        edit(y)
        return y * t.arange(y.numel(), dtype=y.dtype).reshape(y.shape)

    x = random_array((2, 3), dtype, np.random.default_rng(7))
    compare_with_torch(lambda x: run(juanji, x), lambda x: run(torch, x), [x])


def test_in_place_shape_changes_of_a_leaf_that_requires_grad_are_refused_as_in_torch():
    for edit in (lambda x: x.unsqueeze_(0), lambda x: x.squeeze_(), lambda x: x.t_()):
        for lib in (juanji, torch):
            with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
                edit(lib.ones(2, 1, requires_grad=True))
    for lib in (juanji, torch):
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            lib.ones(2, requires_grad=True).resize_(3)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bmm_matches_torch(dtype):
    rng = np.random.default_rng(8)
    a, b = random_array((3, 2, 4), dtype, rng), random_array((3, 4, 5), dtype, rng)
    compare_with_torch(lambda a, b: a.bmm(b), None, [a, b])
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
        juanji.ones(1, 2, 2).bmm(juanji.ones(1, 2, 2, dtype=juanji.float64))


GRADCHECKED = [
    ("sort", lambda x: x.sort(-1).values), ("topk", lambda x: x.topk(2).values),
    ("split", lambda x: x.split(2, -1)[1]), ("unbind", lambda x: x.unbind(0)[1]),
    ("reciprocal", lambda x: x.reciprocal()), ("2 / x", lambda x: 2 / x), ("2 ** x", lambda x: 2 ** x),
    ("x ** x", lambda x: x.abs() ** x), ("square", lambda x: x.square()), ("expm1", lambda x: x.expm1()),
    ("log2", lambda x: x.abs().log2()), ("log10", lambda x: x.abs().log10()), ("tan", lambda x: x.tan()),
    ("lerp", lambda x: x.lerp(juanji.ones(3, 4, dtype=juanji.float64), 0.3)), ("4.2 - x", lambda x: 4.2 - x),
    ("clamp_min", lambda x: x.clamp_min(0.1)), ("fill_", lambda x: (x * 1).fill_(1.0) + x),
    ("unsqueeze_", lambda x: (x * 1).unsqueeze_(0)), ("t_", lambda x: (x * 1).t_()),
]


@pytest.mark.parametrize("fn", [f for _, f in GRADCHECKED], ids=[name for name, _ in GRADCHECKED])
def test_gradcheck(fn):
    x = juanji.tensor(random_array((3, 4), "float64", np.random.default_rng(9), low=0.3, high=1.2),
                      requires_grad=True)
    assert gradcheck(fn, (x,))
