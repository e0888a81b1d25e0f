"""clamp with tensor bounds (torch's ``clamp.Tensor`` overload, ClampBackward0): the bounds are
inputs of their own and get a gradient where they are the value that came out, as in torch:

    x   gets g where min <= x <= max (ties go to x)
    min gets g where x < min (and min < max when both are given)
    max gets g where x > max (or max < min when both are given)

Compared with torch 2.13 for every form (``clamp``, ``clip``, ``torch.clamp``, ``clamp_min``,
``clamp_max``, in place), broadcasting bounds (the gradient summed back to the bound's shape),
ties, crossed bounds, NaN, dtype promotion and the broadcasting error; float32 and float64;
plus a float64 gradcheck of all three inputs."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")

# (name, call(lib, x, lo, hi)); lo/hi are Tensors, or None where the form takes one bound
FORMS = [
    ("clamp(min, max)", lambda t, x, lo, hi: x.clamp(min=lo, max=hi)),
    ("clamp(min)", lambda t, x, lo, hi: x.clamp(min=lo)),
    ("clamp(max)", lambda t, x, lo, hi: x.clamp(max=hi)),
    ("clip(min, max)", lambda t, x, lo, hi: x.clip(lo, hi)),
    ("torch.clamp(min)", lambda t, x, lo, hi: t.clamp(x, min=lo)),
    ("torch.clip(max)", lambda t, x, lo, hi: t.clip(x, max=hi)),
    ("clamp_min", lambda t, x, lo, hi: x.clamp_min(lo)),
    ("clamp_max", lambda t, x, lo, hi: x.clamp_max(hi)),
    ("clamp_ (in place)", lambda t, x, lo, hi: (x * 1).clamp_(lo, hi)),
]

# (x, min, max) shapes: equal, bounds broadcast against x, and bounds larger than x. (torch
# 2.13's backward fails when max widens the shape of x and min broadcast together -- its
# clamp_backward combines the two masks in place -- so no case here does that.)
SHAPES = [
    ((3, 4), (3, 4), (3, 4)),
    ((3, 4), (4,), (3, 1)),
    ((2, 3, 4), (1, 3, 1), (4,)),
    ((4,), (3, 4), (3, 1)),
]


def _inputs(shapes, dtype, seed):
    """x, min, max drawn so that every regime occurs: below, inside, above, and crossed bounds
    (min > max) in some places."""
    rng = np.random.default_rng(seed)
    x_shape, lo_shape, hi_shape = shapes
    return (random_array(x_shape, dtype, rng, -2.0, 2.0), random_array(lo_shape, dtype, rng, -1.5, 0.5),
            random_array(hi_shape, dtype, rng, -0.5, 1.5))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("form", [f for _, f in FORMS], ids=[name for name, _ in FORMS])
def test_tensor_bounds_get_torchs_gradients(form, shapes, dtype):
    x, lo, hi = _inputs(shapes, dtype, seed=len(shapes[0]))
    compare_with_torch(lambda x, lo, hi: form(juanji, x, lo, hi), lambda x, lo, hi: form(torch, x, lo, hi),
                       [x, lo, hi])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_crossed_bounds_give_max_and_its_gradient_as_in_torch(dtype):
    # min > max everywhere: the output is max, which gets all of the gradient, x and min none
    x = np.array([-3.0, 0.5, 1.0, 2.0, 9.0], dtype)
    lo = np.full(5, 1.0, dtype)
    hi = np.full(5, 0.0, dtype)
    compare_with_torch(lambda x, lo, hi: x.clamp(lo, hi), None, [x, lo, hi])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("form", [f for _, f in FORMS], ids=[name for name, _ in FORMS])
def test_ties_give_the_gradient_to_the_side_torch_gives_it(form, dtype):
    # x == min, x == max, min == max (x below, at and above), and a NaN in x, in min, in max
    nan = float("nan")
    x = np.array([0.0, 1.0, 0.5, -1.0, 0.5, 2.0, nan, 0.2, 0.3, -2.0, 3.0], dtype)
    lo = np.array([0.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.0, nan, 0.0, -2.0, -1.0], dtype)
    hi = np.array([1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, nan, 2.0, 3.0], dtype)
    compare_with_torch(lambda x, lo, hi: form(juanji, x, lo, hi), lambda x, lo, hi: form(torch, x, lo, hi),
                       [x, lo, hi])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_bounds_that_do_not_require_grad_leave_the_input_gradient_as_before(dtype):
    x, lo, hi = _inputs(SHAPES[1], dtype, seed=3)
    compare_with_torch(lambda x, lo, hi: x.clamp(lo, hi), None, [x, lo, hi], requires_grad=[True, False, False])
    compare_with_torch(lambda x, lo, hi: x.clamp(lo, hi), None, [x, lo, hi], requires_grad=[False, True, False])


@pytest.mark.parametrize("x_dtype,bound_dtype", [
    ("float32", "float64"), ("float64", "float32"), ("float32", "int64"), ("int32", "float32"),
    ("int32", "int64"), ("int64", "int32"), ("float64", "int32"),
])
def test_result_dtype_is_torchs_promotion(x_dtype, bound_dtype):
    # by category: a float32 input with int64 bounds stays float32 (NumPy alone would give float64)
    rng = np.random.default_rng(5)
    x = random_array((3, 4), x_dtype, rng, -5, 5)
    lo = random_array((4,), bound_dtype, rng, -3, 0)
    hi = random_array((3, 1), bound_dtype, rng, 0, 3)
    compare_with_torch(lambda x, lo, hi: x.clamp(lo, hi), None, [x, lo, hi], grad=False)
    compare_with_torch(lambda x, lo: x.clamp(min=lo), None, [x, lo], grad=False)


def test_gradcheck_of_input_and_both_bounds():
    rng = np.random.default_rng(11)
    x = random_array((3, 4), "float64", rng, -2.0, 2.0)
    lo = random_array((4,), "float64", rng, -1.5, 0.5)
    hi = random_array((3, 1), "float64", rng, -0.5, 1.5)
    # keep every input away from the kinks (x at a bound, min == max): the derivative jumps there
    for _ in range(5):
        x = np.where(np.abs(x - lo) < 0.05, x + 0.1, x)
        x = np.where(np.abs(x - hi) < 0.05, x + 0.1, x)
    assert np.abs(lo - hi).min() > 0.05
    tensors = [juanji.tensor(a, requires_grad=True) for a in (x, lo, hi)]
    assert gradcheck(lambda x, lo, hi: x.clamp(lo, hi), tuple(tensors))
    assert gradcheck(lambda x, lo: x.clamp_min(lo), tuple(tensors[:2]))
    assert gradcheck(lambda x, hi: x.clamp(max=hi), (tensors[0], tensors[2]))


@pytest.mark.parametrize("shapes", [((3, 4), (5,), None), ((3, 4), None, (2, 4)), ((3, 4), (4,), (5,))], ids=str)
def test_bounds_that_do_not_broadcast_give_torchs_error(shapes):
    x_shape, lo_shape, hi_shape = shapes
    for lib in (juanji, torch):
        lo = lib.zeros(lo_shape) if lo_shape else None
        hi = lib.ones(hi_shape) if hi_shape else None
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(\d\) must match the size of tensor b"):
            lib.zeros(x_shape).clamp(min=lo, max=hi)
    with pytest.raises(RuntimeError, match=r"clamp: input \[3, 4\]"):
        juanji.zeros(x_shape).clamp(min=juanji.zeros(lo_shape) if lo_shape else None,
                                    max=juanji.ones(hi_shape) if hi_shape else None)


@pytest.mark.parametrize("bound_shape", [(), (1,)], ids=str)
def test_a_one_element_bound_gets_its_gradient(bound_shape):
    rng = np.random.default_rng(12)
    x = random_array((3, 4), "float64", rng)
    bound = np.full(bound_shape, 0.25)
    compare_with_torch(lambda x, b: x.clamp(min=b), None, [x, bound])
