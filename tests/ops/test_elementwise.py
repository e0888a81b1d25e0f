"""Elementwise math against torch: values and gradients over shapes (with broadcasting) and dtypes,
reflected operators with Python scalars, integer semantics, and a float64 gradcheck per primitive."""

import itertools

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")

# pairs of shapes that broadcast, including scalars, trailing/leading ones and empty dims
BROADCAST_SHAPES = [
    ((), ()),
    ((5,), (5,)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((4, 1), (1, 5)),
    ((2, 1, 4), (3, 1)),
    ((2, 3, 4), ()),
    ((0, 3), (3,)),
]


def _pair(shapes, dtype, seed=0, low=-2.0, high=2.0):
    rng = np.random.default_rng(seed)
    return [random_array(s, dtype, rng, low, high) for s in shapes]


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
    "add_alpha": lambda a, b: a.add(b, alpha=2.5),
    "sub_alpha": lambda a, b: a.sub(b, alpha=-0.5),
    "remainder": lambda a, b: a % b,
    "atan_like": lambda a, b: (a * b).tanh() + a.sigmoid() * b,  # a small composite
}


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_match_torch_with_broadcasting(name, dtype, shapes):
    a, b = _pair(shapes, dtype)
    if name in ("div", "remainder"):
        b = np.where(np.abs(b) < 0.3, 0.7, b).astype(dtype)  # keep away from the pole
    compare_with_torch(BINARY[name], None, [a, b])


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES[:6], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_pow_tensor_tensor_matches_torch(dtype, shapes):
    a, b = _pair(shapes, dtype, low=0.5, high=2.0)
    compare_with_torch(lambda x, y: x ** y, None, [a, b])
    compare_with_torch(lambda x, y: x.pow(y), None, [a, b])


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, -2.5, 0, 1])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_pow_with_scalar_exponent_and_base(exponent, dtype):
    (a,) = _pair([(3, 4)], dtype, low=0.5, high=2.0)
    compare_with_torch(lambda x: x ** exponent, None, [a])
    compare_with_torch(lambda x: exponent ** x if exponent > 0 else 2.0 ** x, None, [a])


SCALARS = [2, -3, 0.5, True]
REFLECTED = {
    "radd": lambda x, s: s + x,
    "rsub": lambda x, s: s - x,
    "rmul": lambda x, s: s * x,
    "rdiv": lambda x, s: s / x,
    "add": lambda x, s: x + s,
    "sub": lambda x, s: x - s,
    "mul": lambda x, s: x * s,
    "div": lambda x, s: x / s,
}


@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(REFLECTED))
def test_operators_with_python_scalars(name, dtype, scalar):
    (a,) = _pair([(2, 3)], dtype, low=0.5, high=2.0)
    fn = REFLECTED[name]
    compare_with_torch(lambda x: fn(x, scalar), None, [a])


INT_DTYPES = ["int64", "int32", "uint8", "int16"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%", "**"])
def test_integer_arithmetic_matches_torch(op, dtype):
    rng = np.random.default_rng(1)
    low = 0 if dtype == "uint8" else -9
    a = random_array((3, 4), dtype, rng, low, 10)
    b = random_array((4,), dtype, rng, 1, 4)
    if op == "**":
        a = np.abs(a) % 4
    fn = eval(f"lambda x, y: x {op} y")
    compare_with_torch(fn, None, [a, b], grad=False)
    scalar_fn = eval(f"lambda x: x {op} 3")
    compare_with_torch(scalar_fn, None, [a], grad=False)
    if op not in ("**",):
        reflected = eval(f"lambda x: 7 {op} (x.abs() + 1)") if dtype != "uint8" else eval(f"lambda x: 7 {op} (x + 1)")
        compare_with_torch(reflected, None, [a], grad=False)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_floor_divide_and_remainder_follow_the_divisor_sign(dtype):
    a = np.array([-7.5, -3.0, -0.5, 0.0, 2.5, 7.0], dtype)
    b = np.array([2.0, -2.0, 3.0, -1.5, -4.0, 2.5], dtype)
    compare_with_torch(lambda x, y: x // y, None, [a, b], grad=False)
    compare_with_torch(lambda x, y: x % y, None, [a, b])
    compare_with_torch(lambda x, y: x.div(y, rounding_mode="floor"), None, [a, b], grad=False)
    compare_with_torch(lambda x, y: x.div(y, rounding_mode="trunc"), None, [a, b], grad=False)
    compare_with_torch(lambda x, y: x.fmod(y), None, [a, b], grad=False)


def test_integer_division_rounding_modes():
    a = np.array([-7, -3, 0, 5, 7], np.int64)
    b = np.array([2, -2, 3, -4, 2], np.int64)
    for mode in ("floor", "trunc", None):
        compare_with_torch(lambda x, y: x.div(y, rounding_mode=mode), None, [a, b], grad=False)


def _positive(x):
    return np.asarray(np.abs(x) + np.asarray(0.1, x.dtype))


UNARY = {
    # name: (function, input transform keeping it in the domain / away from kinks)
    "neg": (lambda x: -x, None),
    "abs": (lambda x: x.abs(), None),
    "exp": (lambda x: x.exp(), None),
    "log": (lambda x: x.log(), _positive),
    "log1p": (lambda x: x.log1p(), _positive),
    "log2": (lambda x: x.log2(), _positive),
    "log10": (lambda x: x.log10(), _positive),
    "expm1": (lambda x: x.expm1(), None),
    "sqrt": (lambda x: x.sqrt(), _positive),
    "rsqrt": (lambda x: x.rsqrt(), _positive),
    "square": (lambda x: x.square(), None),
    "reciprocal": (lambda x: x.reciprocal(), _positive),
    "sin": (lambda x: x.sin(), None),
    "cos": (lambda x: x.cos(), None),
    "tan": (lambda x: x.tan(), None),
    "tanh": (lambda x: x.tanh(), None),
    "sigmoid": (lambda x: x.sigmoid(), None),
    "relu": (lambda x: x.relu(), None),
    "sign": (lambda x: x.sign(), None),
    "floor": (lambda x: x.floor(), None),
    "ceil": (lambda x: x.ceil(), None),
    "round": (lambda x: x.round(), None),
    "trunc": (lambda x: x.trunc(), None),
    "frac": (lambda x: x.frac(), None),
    "clamp_both": (lambda x: x.clamp(-0.5, 0.7), None),
    "clamp_min": (lambda x: x.clamp(min=-0.5), None),
    "clamp_max": (lambda x: x.clamp(max=0.25), None),
    "clip": (lambda x: x.clip(-1, 1), None),
    "clamp_min_fn": (lambda x: x.clamp_min(0.1), None),
    "pos": (lambda x: +x, None),
}


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 4), (0, 2)], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_torch(name, dtype, shape):
    fn, transform = UNARY[name]
    (x,) = _pair([shape], dtype, seed=3, low=-3.0, high=3.0)
    if transform is not None:
        x = transform(x).astype(dtype)
    compare_with_torch(fn, None, [x])


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "neg", "rsqrt",
                                  "log1p", "floor", "sign", "round"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_unary_ops_on_integer_and_bool_tensors_match_torch(name, dtype):
    x = random_array((2, 5), dtype, np.random.default_rng(2), 1, 9)
    fn = UNARY[name][0]
    compare_with_torch(fn, None, [x], grad=False)


def test_round_half_to_even_and_decimals():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.2345, -3.14159], np.float64)
    compare_with_torch(lambda t: t.round(), None, [x])
    compare_with_torch(lambda t: t.round(decimals=2), None, [x])


def test_sigmoid_and_exp_are_stable_at_extremes():
    x = np.array([-1000.0, -80.0, 0.0, 80.0, 1000.0], np.float32)
    compare_with_torch(lambda t: t.sigmoid(), None, [x])
    compare_with_torch(lambda t: t.tanh(), None, [x])
    compare_with_torch(lambda t: t.relu(), None, [x])


def test_clamp_gradient_at_the_bounds_follows_torch():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0], np.float64)
    compare_with_torch(lambda t: t.clamp(-0.5, 0.5), None, [x])
    compare_with_torch(lambda t: t.clamp(min=0.0), None, [x])


def test_relu_abs_sign_gradient_at_zero_follow_torch():
    x = np.array([-1.0, 0.0, 0.0, 2.0], np.float64)
    for fn in (lambda t: t.relu(), lambda t: t.abs(), lambda t: t.sign(), lambda t: t.sqrt() * 0 + t):
        compare_with_torch(fn, None, [x])


def test_maximum_minimum_split_gradient_at_ties():
    a = np.array([1.0, 2.0, 3.0, -1.0], np.float64)
    b = np.array([1.0, 5.0, 3.0, -2.0], np.float64)
    compare_with_torch(lambda x, y: x.maximum(y), None, [a, b])
    compare_with_torch(lambda x, y: x.minimum(y), None, [a, b])
    compare_with_torch(lambda x, y: juanji.maximum(x, y) if isinstance(x, juanji.Tensor) else torch.maximum(x, y),
                       None, [a, b])


@pytest.mark.parametrize("bound_kind", ["tensor_min", "tensor_both", "int_bounds_float_tensor"])
def test_clamp_with_tensor_and_int_bounds(bound_kind):
    rng = np.random.default_rng(4)
    x = random_array((3, 4), "float32", rng)
    lo = random_array((4,), "float32", rng, -1, 0)
    hi = random_array((3, 1), "float32", rng, 0, 1)
    if bound_kind == "tensor_min":
        compare_with_torch(lambda t, m: t.clamp(min=m), None, [x, lo], requires_grad=[True, False])
    elif bound_kind == "tensor_both":
        compare_with_torch(lambda t, m, M: t.clamp(m, M), None, [x, lo, hi], requires_grad=[True, False, False])
    else:
        compare_with_torch(lambda t: t.clamp(-1, 1), None, [x])


def test_clamp_on_integer_tensor_with_float_bound_promotes():
    x = np.array([-3, 0, 4], np.int64)
    compare_with_torch(lambda t: t.clamp(-1.5, 2.5), None, [x], grad=False)
    compare_with_torch(lambda t: t.clamp(-1, 2), None, [x], grad=False)


COMPARISONS = ["==", "!=", "<", "<=", ">", ">="]


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES[:6], ids=str)
@pytest.mark.parametrize("op", COMPARISONS)
def test_comparisons_broadcast_and_return_bool(op, shapes):
    a, b = _pair(shapes, "float32")
    a = np.round(a)
    b = np.round(b)  # ties happen
    fn = eval(f"lambda x, y: x {op} y")
    compare_with_torch(fn, None, [a, b], grad=False)
    compare_with_torch(eval(f"lambda x: x {op} 1"), None, [a], grad=False)
    compare_with_torch(eval(f"lambda x: x {op} 0.5"), None, [a], grad=False)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparison_methods_across_dtypes(name):
    a = np.array([[1, 2, 3], [4, 5, 6]], np.int64)
    b = np.array([2.0, 2.0, 7.5], np.float32)
    compare_with_torch(lambda x, y: getattr(x, name)(y), None, [a, b], grad=False)


def test_logical_and_bitwise_ops_on_bool():
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    for fn in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
               lambda x, y: x.logical_and(y), lambda x, y: x.logical_or(y), lambda x, y: x.logical_not()):
        compare_with_torch(fn, None, [a, b], grad=False)


def test_isnan_isinf_isfinite():
    x = np.array([0.0, np.nan, np.inf, -np.inf, 1.5], np.float32)
    for name in ("isnan", "isinf", "isfinite"):
        compare_with_torch(lambda t: getattr(t, name)(), None, [x], grad=False)


def test_top_level_functions_match_methods():
    (x,) = _pair([(3, 4)], "float64", low=0.2, high=2)
    for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "neg", "relu", "floor", "ceil"):
        compare_with_torch(lambda t: getattr(juanji if isinstance(t, juanji.Tensor) else torch, name)(t), None, [x])


# ------------------------------------------------------------------ gradcheck (no torch)
GRADCHECK_UNARY = ["neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
                   "relu", "clamp_both", "square", "reciprocal", "expm1", "tan"]


@pytest.mark.parametrize("name", GRADCHECK_UNARY)
def test_gradcheck_unary(name):
    fn, transform = UNARY[name]
    x = random_array((3, 4), "float64", np.random.default_rng(5), -1.2, 1.2)
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    x = np.where(np.abs(np.abs(x) - 0.5) < 0.01, 0.3, x)  # keep away from clamp's bounds
    if transform is not None:
        x = transform(x)
    assert gradcheck(fn, [juanji.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum", "add_alpha", "remainder"])
def test_gradcheck_binary_with_broadcasting(name):
    rng = np.random.default_rng(6)
    a = random_array((2, 3, 4), "float64", rng)
    b = random_array((3, 1), "float64", rng, 0.5, 2.0)
    args = [juanji.tensor(a, requires_grad=True), juanji.tensor(b, requires_grad=True)]
    assert gradcheck(BINARY[name], args)


def test_gradcheck_pow_both_inputs():
    rng = np.random.default_rng(7)
    a = random_array((3, 4), "float64", rng, 0.5, 2.0)
    b = random_array((4,), "float64", rng, -2.0, 2.0)
    assert gradcheck(lambda x, y: x ** y, [juanji.tensor(a, requires_grad=True), juanji.tensor(b, requires_grad=True)])
    assert gradcheck(lambda x: 2.5 ** x, [juanji.tensor(b, requires_grad=True)])
    assert gradcheck(lambda x: x ** 3, [juanji.tensor(b, requires_grad=True)])


def test_gradcheck_where():
    rng = np.random.default_rng(8)
    cond = juanji.tensor(rng.random((3, 4)) < 0.5)
    a = juanji.tensor(random_array((3, 4), "float64", rng), requires_grad=True)
    b = juanji.tensor(random_array((4,), "float64", rng), requires_grad=True)
    assert gradcheck(lambda x, y: juanji.where(cond, x, y), [a, b])


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "maximum", "=="])
def test_broadcast_error_names_both_shapes(op):
    a = juanji.zeros(2, 3)
    b = juanji.zeros(4)
    fn = (lambda x, y: x.maximum(y)) if op == "maximum" else eval(f"lambda x, y: x {op} y")
    with pytest.raises(RuntimeError, match=r"\[2, 3\].*\[4\]"):
        fn(a, b)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
        fn(a, b)


def test_bool_negation_and_subtraction_errors_match_torch():
    t = juanji.tensor([True, False])
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor is not supported"):
        -t
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor is not supported"):
        t - t


def test_clamp_without_bounds_errors():
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        juanji.zeros(3).clamp()


def test_integer_division_by_zero_errors_like_torch():
    a = juanji.tensor([1, 2])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        a // 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        a % juanji.tensor([1, 0])


def test_result_dtypes_of_mixed_operations_match_torch():
    cases = itertools.product(["int64", "int32", "uint8", "bool", "float32", "float64"], repeat=2)
    for da, db in cases:
        a = random_array((3,), da, np.random.default_rng(0), 1, 4)
        b = random_array((3,), db, np.random.default_rng(1), 1, 4)
        for fn in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y, lambda x, y: x.maximum(y)):
            compare_with_torch(fn, None, [a, b], grad=False)


@pytest.mark.parametrize("size", [5, 20_000])  # NumPy path and compiled path
def test_relu_with_nan_and_signed_zeros_matches_torch_on_both_paths(size):
    x = random_array((size,), "float32", np.random.default_rng(9))
    x[:4] = [np.nan, -0.0, 0.0, -np.inf]
    compare_with_torch(lambda t: t.relu(), None, [x])
    compare_with_torch(lambda t: t.relu(), None, [x.astype(np.float64)])
    out = juanji.tensor(x).relu().numpy()
    assert not np.signbit(out[1:]).any()  # no negative zeros


# ------------------------------------------------------------------ property-based broadcasting
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
       name=hypothesis.strategies.sampled_from(["add", "sub", "mul", "div", "maximum", "atan_like"]),
       seed=hypothesis.strategies.integers(0, 2 ** 16))
def test_binary_ops_broadcast_any_compatible_shapes(shapes, name, seed):
    a, b = _pair(shapes.input_shapes, "float64", seed=seed)
    if name == "div":
        b = np.where(np.abs(b) < 0.3, 0.7, b)
    compare_with_torch(BINARY[name], None, [a, b])
