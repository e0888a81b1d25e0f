"""torch's further pointwise functions (juanji/ops/special.py, binary_math.py, _tensor/special.py,
functions_math.py) against torch: values and gradients over shapes and both float dtypes, as
function, method, in-place method and with out=; integer input; torch's errors; node names; and
a float64 gradcheck of each derivative."""

import math

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")

SHAPES = [(), (5,), (2, 3, 4), (0, 3)]

# name -> (low, high) of the test values: inside the domain, away from poles
UNARY = {
    "sinh": (-3, 3), "cosh": (-3, 3), "asinh": (-3, 3), "acosh": (1.1, 4), "atanh": (-0.9, 0.9),
    "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": (-3, 3), "arcsinh": (-3, 3), "arccosh": (1.1, 4),
    "arctanh": (-0.9, 0.9), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-3, 3), "exp2": (-3, 3),
    "erf": (-3, 3), "erfc": (-3, 3), "erfinv": (-0.95, 0.95), "lgamma": (0.1, 6), "digamma": (0.2, 6),
    "i0": (-6, 6), "sinc": (-2.5, 2.5), "logit": (0.05, 0.95), "deg2rad": (-360, 360), "rad2deg": (-4, 4),
    "fix": (-3, 3), "angle": (-3, 3), "nan_to_num": (-3, 3), "signbit": (-3, 3), "positive": (-3, 3),
}
# functions whose float32 results torch computes by another float32 algorithm: a few ulp apart
LOOSE32 = {"lgamma": 1e-4, "digamma": 1e-4, "i0": 2e-5, "erfinv": 2e-5, "sinc": 2e-5, "acosh": 2e-5}


def _values(name, shape, dtype, seed=0):
    low, high = UNARY[name]
    return random_array(shape, dtype, np.random.default_rng(seed), low, high)


def _tol(name, dtype):
    if dtype == "float32" and name in LOOSE32:
        return dict(rtol=LOOSE32[name], atol=LOOSE32[name])
    if name == "digamma":  # its gradient is trigamma, torch's is accurate to ~5e-10 (ours to ~1e-15)
        return dict(rtol=1e-8, atol=1e-10)
    return {}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_function_matches_torch(name, dtype, shape):
    x = _values(name, shape, dtype)
    compare_with_torch(lambda t: getattr(juanji, name)(t), lambda t: getattr(torch, name)(t), [x],
                       **_tol(name, dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_method_and_in_place_forms_match_torch(name, dtype):
    x = _values(name, (3, 4), dtype, seed=1)
    compare_with_torch(lambda t: getattr(t, name)(), None, [x], **_tol(name, dtype))
    if name in ("asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh"):
        # torch records these in place (as AcoshBackward1, ...) but has no derivative for them
        compare_with_torch(lambda t: getattr(t * 1, name + "_")(), None, [x], grad=False, **_tol(name, dtype))
        for module in (juanji, torch):
            y = getattr(module.tensor(x, requires_grad=True) * 1, name + "_")()
            assert type(y.grad_fn).__name__ == name.replace("arc", "a").capitalize() + "Backward1"
            with pytest.raises(NotImplementedError, match="inplace version of"):
                y.sum().backward()
    elif hasattr(torch.Tensor, name + "_"):
        compare_with_torch(lambda t: getattr(t * 1, name + "_")(), None, [x], **_tol(name, dtype))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_out_argument_matches_torch(name):
    x = _values(name, (2, 3), "float64", seed=2)
    if name in ("positive",):  # torch has no out= here
        with pytest.raises(TypeError):
            getattr(juanji, name)(juanji.tensor(x), out=juanji.empty(2, 3))
        return
    out_dtype = "bool" if name == "signbit" else "float64"
    jo, to = juanji.empty(2, 3, dtype=getattr(juanji, out_dtype)), torch.empty(2, 3, dtype=getattr(torch, out_dtype))
    jr = getattr(juanji, name)(juanji.tensor(x), out=jo)
    tr = getattr(torch, name)(torch.tensor(x), out=to)
    assert jr is jo and tr is to
    np.testing.assert_allclose(jo.numpy(), to.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"positive", "fix"}))
def test_unary_integer_input_gives_torchs_dtype(name):
    low, high = UNARY[name]
    x = np.arange(int(math.ceil(low)), int(math.floor(high)) + 1).astype(np.int64)
    if name in ("logit", "erfinv", "acosh", "arccosh", "atanh", "arctanh"):
        x = x[(x > low) & (x < high)] if x.size else x
    compare_with_torch(lambda t: getattr(juanji, name)(t), lambda t: getattr(torch, name)(t), [x], grad=False,
                       rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sinh", "erf", "atan2", "hypot", "fmax", "ldexp", "igamma", "logaddexp"])
def test_python_number_input_is_torchs_type_error(name):
    with pytest.raises(TypeError):
        getattr(torch, name)(2.0, torch.ones(2)) if name not in ("sinh", "erf") else getattr(torch, name)(2.0)
    with pytest.raises(TypeError, match=name):
        getattr(juanji, name)(2.0, juanji.ones(2)) if name not in ("sinh", "erf") else getattr(juanji, name)(2.0)


def test_out_refuses_inputs_that_require_grad_and_bad_dtype():
    x = juanji.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
        juanji.sinh(x, out=juanji.empty(3))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        juanji.sinh(juanji.ones(3), out=juanji.empty(3, dtype=juanji.int64))
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch.sinh(torch.ones(3), out=torch.empty(3, dtype=torch.int64))


def test_out_of_another_shape_is_resized_with_torchs_warning():
    jo, to = juanji.empty(4), torch.empty(4)
    with pytest.warns(UserWarning, match="was resized"):
        juanji.erf(juanji.ones(2, 3), out=jo)
    with pytest.warns(UserWarning, match="was resized"):
        torch.erf(torch.ones(2, 3), out=to)
    assert list(jo.shape) == list(to.shape) == [2, 3]
    np.testing.assert_allclose(jo.numpy(), to.numpy(), rtol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_polygamma_matches_torch(n, dtype):
    x = random_array((3, 4), dtype, np.random.default_rng(n), 0.3, 5.0)
    # torch's trigamma is accurate to ~5e-10 in float64 (ours to ~1e-15, checked against mpmath)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-8, atol=1e-10)
    compare_with_torch(lambda t: juanji.polygamma(n, t), lambda t: torch.polygamma(n, t), [x], **tol)
    compare_with_torch(lambda t: t.polygamma(n), None, [x], **tol)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_mvlgamma_matches_torch(p, dtype):
    x = random_array((3, 4), dtype, np.random.default_rng(p), 1.5, 5.0)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else {}
    compare_with_torch(lambda t: t.mvlgamma(p), None, [x], **tol)
    compare_with_torch(lambda t: juanji.mvlgamma(t, p), lambda t: torch.mvlgamma(t, p), [x], **tol)


def test_mvlgamma_below_its_real_domain_and_bad_p_as_torch():
    x = np.array([0.4, 0.7, 2.0])
    compare_with_torch(lambda t: t.mvlgamma(2), None, [x], grad=False)
    compare_with_torch(lambda t: t.mvlgamma(0), None, [x], grad=False)
    with pytest.raises(TypeError):
        juanji.tensor(x).mvlgamma(1.5)


@pytest.mark.parametrize("eps", [None, 0.1, 0.3])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logit_with_eps_matches_torch(eps, dtype):
    x = random_array((20,), dtype, np.random.default_rng(5), 0.01, 0.99)
    compare_with_torch(lambda t: t.logit(eps), None, [x])
    compare_with_torch(lambda t: t.logit(eps=eps), None, [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_to_num_replaces_and_passes_gradient_only_where_finite(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0, 0.0], dtype=dtype)
    compare_with_torch(lambda t: t.nan_to_num(), None, [x])
    compare_with_torch(lambda t: t.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0), None, [x])
    compare_with_torch(lambda t: t.nan_to_num(0.5, 7.0), None, [x])


def test_edge_values_match_torch():
    special = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.5, 1e-30, 30.0, 31.0, -30.5, 100.0, np.inf, -np.inf, np.nan])
    for name in ("sinh", "cosh", "asinh", "atan", "exp2", "erf", "erfc", "lgamma", "digamma", "i0", "sinc",
                 "signbit", "angle", "fix"):
        compare_with_torch(lambda t: getattr(t, name)(), None, [special], grad=False)
    inside = np.array([-1.0, 1.0, -0.0, 0.0, 0.5, -0.999999, 0.9999999999, 1.5, np.nan])
    for name in ("erfinv", "asin", "acos", "atanh", "logit"):
        compare_with_torch(lambda t: getattr(t, name)(), None, [inside], grad=False)


def test_frexp_matches_torch():
    x = np.array([0.0, 1.0, -3.5, 1e-40, 1e30, np.inf, np.nan, 0.75], dtype=np.float32)
    compare_with_torch(lambda t: tuple(t.frexp()), None, [x], grad=False)
    x = random_array((3, 4), "float64", np.random.default_rng(0), -50, 50)
    compare_with_torch(lambda t: t.frexp()[0], None, [x])
    with pytest.raises(RuntimeError, match="only supports floating-point"):
        juanji.frexp(juanji.tensor([1, 2]))
    m, e = juanji.frexp(juanji.tensor([1.0, 3.0]))
    assert e.dtype is juanji.int32 and juanji.frexp(juanji.tensor([1.0])).mantissa is not None


def test_real_tensors_answer_the_complex_number_questions_as_torch():
    x = juanji.tensor([1.0, -2.0])
    assert juanji.real(x) is x and x.real is x and x.conj() is x and juanji.conj_physical(x) is x
    assert x.resolve_conj() is x and x.resolve_neg() is x
    assert juanji.is_complex(x) is False and x.is_conj() is False and x.is_neg() is False
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        juanji.imag(x)
    with pytest.raises(RuntimeError, match="bool tensor is not supported"):
        juanji.positive(juanji.tensor([True]))


# ---------------------------------------------------------------------------- two tensors
BROADCAST = [((), ()), ((5,), (5,)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((0, 3), (3,))]
BINARY = {
    "atan2": ((-2, 2), (-2, 2)), "arctan2": ((-2, 2), (-2, 2)), "hypot": ((-2, 2), (-2, 2)),
    "copysign": ((-2, 2), (-2, 2)), "xlogy": ((-2, 2), (0.2, 3)), "logaddexp": ((-3, 3), (-3, 3)),
    "logaddexp2": ((-3, 3), (-3, 3)), "fmax": ((-2, 2), (-2, 2)), "fmin": ((-2, 2), (-2, 2)),
    "ldexp": ((-2, 2), (-3, 3)), "float_power": ((0.2, 2), (-2, 2)),
}


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_function_matches_torch(name, dtype, shapes):
    rng = np.random.default_rng(3)
    (la, ha), (lb, hb) = BINARY[name]
    a, b = random_array(shapes[0], dtype, rng, la, ha), random_array(shapes[1], dtype, rng, lb, hb)
    compare_with_torch(lambda x, y: getattr(juanji, name)(x, y), lambda x, y: getattr(torch, name)(x, y), [a, b])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_method_in_place_and_out_match_torch(name, dtype):
    rng = np.random.default_rng(4)
    (la, ha), (lb, hb) = BINARY[name]
    a, b = random_array((3, 4), dtype, rng, la, ha), random_array((4,), dtype, rng, lb, hb)
    compare_with_torch(lambda x, y: getattr(x, name)(y), None, [a, b])
    if hasattr(torch.Tensor, name + "_"):  # (float_power_ of a float32 tensor: refused, as in torch)
        compare_with_torch(lambda x, y: getattr(x * 1, name + "_")(y), None, [a, b])
    else:
        assert not hasattr(juanji.Tensor, name + "_")
    jo = juanji.empty(3, 4, dtype=juanji.float64)
    to = torch.empty(3, 4, dtype=torch.float64)
    getattr(juanji, name)(juanji.tensor(a), juanji.tensor(b), out=jo)
    getattr(torch, name)(torch.tensor(a), torch.tensor(b), out=to)
    np.testing.assert_allclose(jo.numpy(), to.numpy(), rtol=1e-6)


def test_float_power_in_place_on_float32_is_refused_as_torch():
    compare_with_torch(lambda x: (x * 1).float_power_(2), None, [np.ones(3, np.float32)])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_binary_ties_nans_and_infinities_match_torch(dtype):
    a = np.array([1.0, 2.0, np.nan, 1.0, np.nan, np.inf, -np.inf, 0.0, -0.0, 0.0], dtype=dtype)
    b = np.array([1.0, 1.0, 1.0, np.nan, np.nan, np.inf, -np.inf, 0.0, 0.0, -1.0], dtype=dtype)
    for name in ("fmax", "fmin", "logaddexp", "logaddexp2", "copysign", "atan2", "hypot"):
        compare_with_torch(lambda x, y: getattr(x, name)(y), None, [a, b])
    compare_with_torch(lambda x, y: x.xlogy(y), None, [np.array([0.0, 0.0, 0.0, 2.0], dtype),
                                                      np.array([0.0, -1.0, np.nan, 0.0], dtype)])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_number_operands_match_torch(dtype):
    x = random_array((2, 3), dtype, np.random.default_rng(6), 0.2, 2.0)
    compare_with_torch(lambda t: juanji.xlogy(2.5, t), lambda t: torch.xlogy(2.5, t), [x])
    compare_with_torch(lambda t: t.xlogy(3.0), None, [x])
    compare_with_torch(lambda t: t.copysign(-1.0), None, [x])
    compare_with_torch(lambda t: t.float_power(2), None, [x])
    compare_with_torch(lambda t: juanji.float_power(2, t), lambda t: torch.float_power(2, t), [x])
    compare_with_torch(lambda t: juanji.float_power(t, 0.5), lambda t: torch.float_power(t, 0.5), [x])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_incomplete_gamma_matches_torch_with_gradient_in_x(name, dtype):
    rng = np.random.default_rng(7)
    a, x = random_array((3, 4), dtype, rng, 0.5, 5.0), random_array((3, 4), dtype, rng, 0.1, 8.0)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-12)
    compare_with_torch(lambda p, q: getattr(juanji, name)(p, q), lambda p, q: getattr(torch, name)(p, q), [a, x],
                       requires_grad=[False, True], **tol)
    with pytest.raises(NotImplementedError, match=f"{name}: input"):
        getattr(juanji, name)(juanji.tensor(a, requires_grad=True), juanji.tensor(x)).sum().backward()


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (2, 1, 1)), ((), (5,), ())], ids=str)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv_match_torch(name, dtype, shapes):
    rng = np.random.default_rng(8)
    s, t1, t2 = (random_array(sh, dtype, rng, 0.5, 2.0) for sh in shapes)
    compare_with_torch(lambda a, b, c: getattr(juanji, name)(a, b, c, value=-0.5),
                       lambda a, b, c: getattr(torch, name)(a, b, c, value=-0.5), [s, t1, t2])
    compare_with_torch(lambda a, b, c: getattr(a, name)(b, c), None, [s, t1, t2])


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_functions_match_torch(dtype):
    rng = np.random.default_rng(9)
    a, b = random_array((4, 5), dtype, rng, 0, 30), random_array((5,), dtype, rng, 0, 6)
    names = ["bitwise_and", "bitwise_or", "bitwise_xor", "logical_xor", "heaviside"]
    if dtype != "bool":
        names += ["gcd", "lcm", "bitwise_left_shift", "bitwise_right_shift"]
    for name in names:
        compare_with_torch(lambda x, y: getattr(juanji, name)(x, y), lambda x, y: getattr(torch, name)(x, y), [a, b])
        compare_with_torch(lambda x, y: getattr(x * 1 if dtype != "bool" else x.clone(), name + "_")(y), None, [a, b])
    compare_with_torch(lambda x: x.bitwise_not(), None, [a])
    compare_with_torch(lambda x: x.bitwise_and(3) if dtype != "bool" else x.bitwise_and(True), None, [a])


def test_integer_functions_refuse_floats_as_torch():
    f = np.ones(3, np.float32)
    for name in ("gcd", "bitwise_and", "bitwise_left_shift"):
        compare_with_torch(lambda x, y: getattr(juanji, name)(x, y), lambda x, y: getattr(torch, name)(x, y), [f, f],
                           grad=False)
    compare_with_torch(lambda x: x.bitwise_not(), None, [f], grad=False)
    compare_with_torch(lambda x, y: x.hypot(y), None, [np.ones(3, np.int64), np.ones(3, np.int64)])
    compare_with_torch(lambda x, y: x.heaviside(y), None, [np.ones(3, np.float32), np.ones(3, np.float64)])


def test_nextafter_matches_torch():
    a = np.array([1.0, 0.0, -1.0, np.inf], np.float32)
    b = np.array([2.0, -1.0, -2.0, 0.0], np.float32)
    compare_with_torch(lambda x, y: x.nextafter(y), None, [a, b], grad=False)
    compare_with_torch(lambda x, y: x.nextafter(y), None, [a.astype(np.float64), b.astype(np.float64)], grad=False)


NODE_NAMES = {
    "sinh": lambda m, x: m.sinh(x), "asin": lambda m, x: m.arcsin(x * 0.5), "erfinv": lambda m, x: m.erfinv(x * 0.5),
    "polygamma": lambda m, x: m.polygamma(2, x + 2), "logit": lambda m, x: x.sigmoid().logit(0.1),
    "fix": lambda m, x: m.fix(x), "copysign1": lambda m, x: m.copysign(x, 2.0),
    "xlogy1": lambda m, x: m.xlogy(2.0, x.exp()), "xlogy2": lambda m, x: m.xlogy(x, 2.0),
    "logaddexp2": lambda m, x: m.logaddexp2(x, x), "float_power": lambda m, x: m.float_power(x, 2),
    "float_power1": lambda m, x: m.float_power(x, x), "addcdiv": lambda m, x: m.addcdiv(x, x, x.exp()),
    "frexp": lambda m, x: m.frexp(x)[0], "nan_to_num": lambda m, x: m.nan_to_num(x),
}


@pytest.mark.parametrize("name", sorted(NODE_NAMES))
def test_node_names_are_torchs(name):
    build = NODE_NAMES[name]
    jx = juanji.tensor([0.3, 0.7], requires_grad=True)
    tx = torch.tensor([0.3, 0.7], requires_grad=True)
    assert type(build(juanji, jx).grad_fn).__name__ == type(build(torch, tx).grad_fn).__name__


GRADCHECK = {
    **{name: (lambda name: lambda x: getattr(x, name)())(name) for name in
       ("sinh", "cosh", "asinh", "atan", "exp2", "erf", "erfc", "i0", "sinc", "deg2rad", "rad2deg")},
    "acosh": lambda x: (x.abs() + 1.5).acosh(), "atanh": lambda x: (x * 0.3).atanh(), "asin": lambda x: (x * 0.3).asin(),
    "acos": lambda x: (x * 0.3).acos(), "erfinv": lambda x: (x * 0.4).erfinv(), "lgamma": lambda x: (x.abs() + 0.5).lgamma(),
    "digamma": lambda x: (x.abs() + 0.5).digamma(), "polygamma": lambda x: (x.abs() + 0.5).polygamma(2),
    "mvlgamma": lambda x: (x.abs() + 2).mvlgamma(3), "logit": lambda x: (x * 0.3).sigmoid().logit(0.45),
    "atan2": lambda x: x.atan2(x.flip(0) + 3), "hypot": lambda x: x.hypot(x.flip(0)),
    "xlogy": lambda x: x.xlogy(x.abs() + 0.5), "logaddexp": lambda x: x.logaddexp(x.flip(0)),
    "logaddexp2": lambda x: x.logaddexp2(x.flip(0)), "ldexp": lambda x: x.ldexp(x.flip(0)),
    "float_power": lambda x: (x.abs() + 0.5).float_power(x.flip(0)), 
    "igamma": lambda x: juanji.igamma(juanji.tensor([1.5, 2.0, 0.7, 3.0, 1.1], dtype=juanji.float64), x.abs() + 0.2),
    "addcmul": lambda x: x.addcmul(x.flip(0), x.sin()), "addcdiv": lambda x: x.addcdiv(x.flip(0), x.exp()),
    "fmax": lambda x: x.fmax(x.flip(0) * 0.5), "copysign": lambda x: x.copysign(x.flip(0)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    x = juanji.tensor(np.array([0.31, -0.72, 1.13, -0.45, 0.58]), requires_grad=True)
    assert gradcheck(GRADCHECK[name], (x,))
