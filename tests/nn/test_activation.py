"""Activation functions and modules against torch: values and gradients over a grid of shapes,
dtypes and arguments (kink points included, where the derivative chosen must be torch's),
numerical gradchecks, in-place forms, reprs and errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SHAPES = [(), (7,), (3, 4), (2, 3, 4, 5)]


def _input(shape, dtype, kinks=(), seed=0, scale=3.0):
    """Normal data spread over the interesting range, with the kink points planted in it."""
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(shape) * scale)
    flat = x.reshape(-1)
    for i, k in enumerate(kinks[: flat.size]):
        flat[i] = k
    return np.asarray(x, dtype=dtype)


# (id, juanji function, torch function, kink points planted in the input)
ELEMENTWISE = [
    ("relu", F.relu, TF.relu, (0.0,)),
    ("relu6", F.relu6, TF.relu6, (0.0, 6.0)),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu, (0.0,)),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), (0.0,)),
    ("leaky_relu_neg", lambda x: F.leaky_relu(x, -1.5), lambda x: TF.leaky_relu(x, -1.5), (0.0,)),
    ("leaky_relu_2.5", lambda x: F.leaky_relu(x, 2.5), lambda x: TF.leaky_relu(x, 2.5), (0.0,)),
    ("rrelu_eval", lambda x: F.rrelu(x, 0.1, 0.4), lambda x: TF.rrelu(x, 0.1, 0.4), (0.0,)),
    ("elu", F.elu, TF.elu, (0.0,)),
    ("elu_2", lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0), (0.0,)),
    ("selu", F.selu, TF.selu, (0.0,)),
    ("celu", F.celu, TF.celu, (0.0,)),
    ("celu_0.5", lambda x: F.celu(x, 0.5), lambda x: TF.celu(x, 0.5), (0.0,)),
    ("gelu", F.gelu, TF.gelu, ()),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), ()),
    ("silu", F.silu, TF.silu, ()),
    ("mish", F.mish, TF.mish, ()),
    ("sigmoid", F.sigmoid, TF.sigmoid, ()),
    ("tanh", F.tanh, TF.tanh, ()),
    ("hardtanh", F.hardtanh, TF.hardtanh, (-1.0, 1.0)),
    ("hardtanh_-2_0.5", lambda x: F.hardtanh(x, -2.0, 0.5), lambda x: TF.hardtanh(x, -2.0, 0.5), (-2.0, 0.5)),
    ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, (-3.0, 3.0)),
    ("hardswish", F.hardswish, TF.hardswish, (-3.0, 3.0)),
    ("softplus", F.softplus, TF.softplus, (20.0,)),
    ("softplus_b2_t3", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0), (1.5,)),
    ("softplus_b0.5", lambda x: F.softplus(x, beta=0.5), lambda x: TF.softplus(x, beta=0.5), ()),
    ("softsign", F.softsign, TF.softsign, (0.0,)),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, ()),
    ("threshold", lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0), (0.5,)),
]

# torch differentiates these two with a float32 constant even in float64 (CELU: 1/alpha,
# hardsigmoid: 1/6), so its float64 gradient is off by ~1e-8 relative; ours is exact (gradcheck)
_FLOAT32_CONSTANT_IN_TORCH = {"celu", "celu_0.5", "hardsigmoid"}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, j_fn, t_fn, kinks", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_elementwise_activation_matches_torch(name, j_fn, t_fn, kinks, shape, dtype):
    x = _input(shape, dtype, kinks)
    loose = dtype == "float64" and name in _FLOAT32_CONSTANT_IN_TORCH
    compare_with_torch(j_fn, t_fn, [x], grad_rtol=1e-7 if loose else None, grad_atol=1e-8 if loose else None)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_activations_saturate_without_overflow(dtype):
    """Huge inputs: no inf/nan where torch has none (exp overflow is the trap)."""
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    for name, j_fn, t_fn, _ in ELEMENTWISE:
        loose = dtype == "float64" and name in _FLOAT32_CONSTANT_IN_TORCH
        compare_with_torch(j_fn, t_fn, [x], grad_rtol=1e-7 if loose else None)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4, 5)], ids=str)
@pytest.mark.parametrize("name, j_fn, t_fn, kinks", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_activation_gradcheck(name, j_fn, t_fn, kinks, shape):
    # away from the kinks the numerical derivative is well defined
    x = _input(shape, "float64", seed=3)
    for k in kinks:
        x[np.abs(x - k) < 1e-3] += 0.1
    gradcheck(j_fn, [juanji.tensor(x, requires_grad=True)])


def test_integer_inputs_follow_torch():
    """relu, relu6, hardtanh, threshold accept integers; softsign promotes; the rest refuse."""
    ints = np.array([3, -2, 0, 7], dtype=np.int64)
    for j_fn, t_fn in [(F.relu, TF.relu), (F.relu6, TF.relu6), (F.hardtanh, TF.hardtanh),
                       (lambda x: F.threshold(x, 1, 5), lambda x: TF.threshold(x, 1, 5)),
                       (F.softsign, TF.softsign), (F.sigmoid, TF.sigmoid)]:
        compare_with_torch(j_fn, t_fn, [ints])
    for name in ["elu", "selu", "celu", "gelu", "silu", "mish", "hardsigmoid", "hardswish", "softplus",
                 "leaky_relu", "rrelu", "logsigmoid"]:
        with pytest.raises(NotImplementedError, match=f"{name}: expected a floating-point input, got a int64"):
            getattr(F, name)(juanji.tensor(ints))


# -- softmax family ----------------------------------------------------------------------------

ALONG_DIM = [("softmax", F.softmax, TF.softmax), ("log_softmax", F.log_softmax, TF.log_softmax),
             ("softmin", F.softmin, TF.softmin)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape, dim", [((), 0), ((), -1), ((6,), 0), ((3, 5), 1), ((3, 5), 0), ((3, 5), -1),
                                        ((2, 3, 4), 1), ((2, 3, 4, 5), -1), ((2, 3, 4, 5), 2), ((4, 1), 1)],
                         ids=str)
@pytest.mark.parametrize("name, j_fn, t_fn", ALONG_DIM, ids=[a[0] for a in ALONG_DIM])
def test_softmax_family_matches_torch(name, j_fn, t_fn, shape, dim, dtype):
    x = _input(shape, dtype, scale=4.0)
    compare_with_torch(lambda t: j_fn(t, dim), lambda t: t_fn(t, dim), [x])


@pytest.mark.parametrize("name, j_fn, t_fn", ALONG_DIM, ids=[a[0] for a in ALONG_DIM])
def test_softmax_family_is_stable_and_casts(name, j_fn, t_fn):
    # logits in the thousands (exp overflows without the max shift) and -inf entries
    x = np.array([[1000.0, 1001.0, -1000.0], [-np.inf, 0.0, 2.0]], dtype=np.float32)
    compare_with_torch(lambda t: j_fn(t, 1), lambda t: t_fn(t, 1), [x])
    # dtype= casts first: float32 in, float64 out, gradient back in float32
    y = _input((3, 4), "float32")
    compare_with_torch(lambda t: j_fn(t, 1, dtype=juanji.float64), lambda t: t_fn(t, 1, dtype=torch.float64), [y])
    ints = np.array([[1, 2], [3, 5]])
    compare_with_torch(lambda t: j_fn(t, 0, dtype=juanji.float32), lambda t: t_fn(t, 0, dtype=torch.float32), [ints])


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_softmax_implicit_dim_warns_and_picks_torchs_dim(ndim):
    x = _input((2, 3, 4, 5)[:ndim], "float64")
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        ours = F.softmax(juanji.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = TF.softmax(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_softmax_of_empty_tensor():
    for j_fn, t_fn in [(F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)]:
        compare_with_torch(lambda t: j_fn(t, 0), lambda t: t_fn(t, 0), [np.zeros((0, 3), np.float32)])


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_log_softmax_hypothesis(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _input(tuple(shape), "float64", seed=len(shape))
    compare_with_torch(lambda t: F.log_softmax(t, dim), lambda t: TF.log_softmax(t, dim), [x])


@pytest.mark.parametrize("name, j_fn, t_fn", ALONG_DIM, ids=[a[0] for a in ALONG_DIM])
def test_softmax_family_gradcheck(name, j_fn, t_fn):
    for shape, dim in [((5,), 0), ((3, 4), 1), ((2, 3, 4), 0)]:
        gradcheck(lambda t: j_fn(t, dim), [juanji.tensor(_input(shape, "float64"), requires_grad=True)])


def test_tensor_softmax_methods_use_the_same_primitive():
    x = _input((3, 4), "float64")
    compare_with_torch(lambda t: t.softmax(1), None, [x])
    compare_with_torch(lambda t: t.log_softmax(0), None, [x])


# -- prelu and rrelu ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape, n_weights", [((), 1), ((6,), 1), ((4, 3), 1), ((4, 3), 3), ((2, 3, 5), 3),
                                              ((2, 4, 3, 3), 4), ((2, 4, 3, 3), 1)], ids=str)
def test_prelu_matches_torch_for_input_and_weight(shape, n_weights, dtype):
    x = _input(shape, dtype, kinks=(0.0,))
    w = np.random.default_rng(5).uniform(-0.5, 0.5, n_weights).astype(dtype)
    compare_with_torch(F.prelu, TF.prelu, [x, w])


def test_prelu_gradcheck():
    x = juanji.tensor(_input((2, 3, 4), "float64", seed=1), requires_grad=True)
    for n in (1, 3):
        w = juanji.tensor(np.linspace(-0.3, 0.7, n), requires_grad=True)
        gradcheck(F.prelu, [x, w])


def test_rrelu_training_draws_slopes_from_juanjis_generator():
    x = _input((50, 40), "float32")
    juanji.manual_seed(7)
    xt = juanji.tensor(x, requires_grad=True)
    y = F.rrelu(xt, 0.1, 0.3, training=True)
    y.sum().backward()
    negative = x <= 0
    slopes = y.detach().numpy()[negative & (x != 0)] / x[negative & (x != 0)]
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    assert np.unique(np.round(slopes, 5)).size > 100  # one slope per element, not one for all
    np.testing.assert_array_equal(y.detach().numpy()[~negative], x[~negative])
    # the gradient is the slope each element was multiplied by
    grad = xt.grad.numpy()
    np.testing.assert_allclose(grad[negative & (x != 0)], slopes, rtol=1e-5)
    np.testing.assert_array_equal(grad[~negative], 1)
    # the same seed gives the same slopes
    juanji.manual_seed(7)
    again = F.rrelu(juanji.tensor(x), 0.1, 0.3, training=True)
    np.testing.assert_array_equal(again.numpy(), y.detach().numpy())


def test_rrelu_module_is_random_in_training_and_fixed_in_eval():
    m = nn.RReLU(0.1, 0.3)
    x = juanji.tensor(-np.ones(1000, dtype=np.float32))
    assert m.training and np.unique(m(x).numpy()).size > 100
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2, rtol=1e-6)


# -- in place -----------------------------------------------------------------------------------

INPLACE = [
    ("relu", lambda t: F.relu(t, inplace=True), lambda t: TF.relu(t, inplace=True)),
    ("relu_", F.relu_, torch.relu_),
    ("relu6", lambda t: F.relu6(t, inplace=True), lambda t: TF.relu6(t, inplace=True)),
    ("leaky_relu_", lambda t: F.leaky_relu_(t, 0.2), lambda t: TF.leaky_relu_(t, 0.2)),
    ("elu_", F.elu_, TF.elu_),
    ("selu_", F.selu_, torch.selu_),
    ("celu_", lambda t: F.celu_(t, 1.5), lambda t: torch.celu_(t, 1.5)),
    ("hardtanh_", lambda t: F.hardtanh_(t, -0.5, 0.5), lambda t: TF.hardtanh_(t, -0.5, 0.5)),
    ("threshold_", lambda t: F.threshold_(t, 0.1, 9.0), lambda t: TF.threshold_(t, 0.1, 9.0)),
    ("rrelu_eval_", lambda t: F.rrelu_(t, 0.1, 0.2), lambda t: TF.rrelu_(t, 0.1, 0.2)),
    ("silu", lambda t: F.silu(t, inplace=True), lambda t: TF.silu(t, inplace=True)),
    ("mish", lambda t: F.mish(t, inplace=True), lambda t: TF.mish(t, inplace=True)),
    ("hardsigmoid", lambda t: F.hardsigmoid(t, inplace=True), lambda t: TF.hardsigmoid(t, inplace=True)),
    ("hardswish", lambda t: F.hardswish(t, inplace=True), lambda t: TF.hardswish(t, inplace=True)),
]


@pytest.mark.parametrize("name, j_fn, t_fn", INPLACE, ids=[i[0] for i in INPLACE])
def test_inplace_forms_write_into_the_input(name, j_fn, t_fn):
    x = _input((3, 4), "float64", seed=2)
    # without autograd: the very same tensor comes back, changed
    jx = juanji.tensor(x)
    out = j_fn(jx)
    assert out is jx
    expected = t_fn(torch.tensor(x)).numpy()
    np.testing.assert_allclose(jx.numpy(), expected, rtol=1e-12)
    # under autograd on a non-leaf: the gradient flows through the rewritten tensor
    loose = name in ("hardsigmoid", "celu_")  # torch's float32 constants, see above
    compare_with_torch(lambda t: j_fn(t * 1.0), lambda t: t_fn(t * 1.0), [x], grad_rtol=1e-7 if loose else None)
    # a leaf that requires grad cannot be overwritten
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        j_fn(juanji.tensor(x, requires_grad=True))



# (id, juanji in-place call, torch in-place call): the forms whose kernel writes straight into the
# input's memory when nothing is recorded (``_in_place_direct``), inference's ReLU(inplace=True)
DIRECT = [
    ("relu", lambda t: F.relu(t, inplace=True), lambda t: TF.relu(t, inplace=True)),
    ("relu6", lambda t: F.relu6(t, inplace=True), lambda t: TF.relu6(t, inplace=True)),
    ("hardtanh_", lambda t: F.hardtanh_(t, -0.5, 2.0), lambda t: TF.hardtanh_(t, -0.5, 2.0)),
    ("ReLU", nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
    ("ReLU6", nn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
    ("Tensor.relu_", lambda t: t.relu_(), lambda t: t.relu_()),
    ("torch.relu_", juanji.relu_, torch.relu_),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(3, 4), (2, 8, 33), (4, 64, 48, 48)], ids=str)  # the last: split over threads
@pytest.mark.parametrize("name, j_fn, t_fn", DIRECT, ids=[i[0] for i in DIRECT])
def test_inplace_outside_autograd_writes_into_the_input_memory(name, j_fn, t_fn, shape, dtype):
    x = _input(shape, dtype, kinks=(0.0, 6.0, -0.5, 2.0, float("nan"), -0.0), seed=5)
    expected = t_fn(torch.tensor(x)).numpy()
    # a plain tensor, and a leaf that requires grad under no_grad (torch allows both)
    for requires_grad in (False, True):
        jx = juanji.tensor(x, requires_grad=requires_grad)
        memory = jx._data
        with juanji.no_grad():
            out = j_fn(jx)
        assert out is jx and jx._data is memory
        np.testing.assert_array_equal(jx.detach().numpy(), expected)
    # a contiguous view writes through to its base; a transposed one takes the general path
    base = juanji.tensor(np.stack([x, x]))
    with juanji.no_grad():
        j_fn(base[1])
    np.testing.assert_array_equal(base[1].numpy(), expected)
    np.testing.assert_array_equal(base[0].numpy(), x)
    if len(shape) >= 2:
        jt = juanji.tensor(x).transpose(0, 1)
        assert j_fn(jt) is jt
        np.testing.assert_array_equal(jt.numpy(), t_fn(torch.tensor(x).transpose(0, 1)).numpy())
    # under autograd (a non-leaf that requires grad) the recorded path gives torch's gradient
    compare_with_torch(lambda t: j_fn(t * 1.0), lambda t: t_fn(t * 1.0), [np.nan_to_num(x)])



@pytest.mark.parametrize("name, j_fn, t_fn", DIRECT, ids=[i[0] for i in DIRECT])
def test_inplace_outside_autograd_makes_no_result_to_copy_back(name, j_fn, t_fn, monkeypatch):
    from juanji import Tensor

    def refuse(self, result):
        raise AssertionError("the in-place activation computed a result out of place and copied it back")
    monkeypatch.setattr(Tensor, "_inplace", refuse)
    x = _input((2, 8, 33), "float32", kinks=(0.0, 6.0), seed=6)
    jx = juanji.tensor(x)
    assert j_fn(jx) is jx
    np.testing.assert_array_equal(jx.numpy(), t_fn(torch.tensor(x)).numpy())
    with pytest.raises(AssertionError, match="out of place"):  # a transposed view: the general path
        j_fn(juanji.tensor(x).transpose(0, 1))


# -- normalize ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("p, dim, shape", [(2.0, 1, (4, 5)), (1.0, 1, (4, 5)), (3.0, 0, (4, 5)),
                                           (float("inf"), -1, (2, 3, 4)), (2.0, (1, 2), (2, 3, 4)),
                                           (1.5, 0, (6,)), (2.0, 1, (3, 1))], ids=str)
def test_normalize_matches_torch(p, dim, shape, dtype):
    x = _input(shape, dtype, seed=4)
    compare_with_torch(lambda t: F.normalize(t, p, dim), lambda t: TF.normalize(t, p, dim), [x])


def test_normalize_clamps_tiny_norms_with_eps():
    x = np.zeros((2, 3))
    x[1] = [1e-14, -2e-14, 0.0]
    compare_with_torch(lambda t: F.normalize(t), lambda t: TF.normalize(t), [x], grad_rtol=1e-9)
    compare_with_torch(lambda t: F.normalize(t, eps=0.5), lambda t: TF.normalize(t, eps=0.5),
                       [_input((3, 4), "float64")])
    gradcheck(lambda t: F.normalize(t, 2.0, 1), [juanji.tensor(_input((3, 4), "float64"), requires_grad=True)])


# -- errors -------------------------------------------------------------------------------------

def test_bad_arguments_raise_clear_errors():
    x = juanji.tensor(_input((2, 3), "float32"))
    with pytest.raises(RuntimeError, match="gelu: approximate argument must be either 'none' or 'tanh', got 'fast'"):
        F.gelu(x, approximate="fast")
    with pytest.raises(TypeError):
        F.gelu(x, "tanh")  # keyword-only in torch too
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val, got min_val=2, max_val=1"):
        F.hardtanh(x, 2, 1)
    with pytest.raises(RuntimeError, match="rrelu: lower bound must be less than or equal to the upper bound"):
        F.rrelu(x, 0.5, 0.1, training=True)
    with pytest.raises(RuntimeError, match=r"prelu: expected weight with 1 or 3 entries \(the channels, dim 1 of "
                                           r"input \[2, 3\]\), got weight \[2\]"):
        F.prelu(x, juanji.ones(2))
    with pytest.raises(RuntimeError, match="prelu: expected weight of the input's dtype float32, got float64"):
        F.prelu(x, juanji.ones(1, dtype=juanji.float64))
    with pytest.raises(IndexError, match=r"softmax: dim 2 is out of range for a 2-d input \(expected to be in "
                                         r"range of \[-2, 1\]\)"):
        F.softmax(x, 2)
    with pytest.raises(NotImplementedError, match="log_softmax: expected a floating-point input, got a int64"):
        F.log_softmax(juanji.tensor([1, 2]), 0)
    with pytest.raises(TypeError, match="relu: expected input to be a Tensor, got list"):
        F.relu([1.0, -1.0])
    with pytest.raises(NotImplementedError, match="normalize: expected a floating-point input"):
        F.normalize(juanji.tensor([[1, 2]]))
    # torch refuses the same inputs, with the same kind of error
    compare_with_torch(lambda t: F.hardtanh(t, 2.0, 1.0), lambda t: TF.hardtanh(t, 2.0, 1.0), [np.ones(3)])
    compare_with_torch(lambda t: F.softmax(t, 3), lambda t: TF.softmax(t, 3), [np.ones((2, 2))])
    compare_with_torch(F.prelu, TF.prelu, [np.ones((2, 3)), np.ones(2)])


# -- modules ------------------------------------------------------------------------------------

MODULES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("ReLU6", (), {"inplace": True}),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("PReLU", (), {}), ("PReLU", (3, 0.1), {}),
    ("RReLU", (), {}), ("RReLU", (0.1, 0.3, True), {}), ("ELU", (), {}), ("ELU", (2.0, True), {}),
    ("SELU", (), {}), ("SELU", (True,), {}), ("CELU", (), {}), ("CELU", (0.5,), {}), ("GELU", (), {}),
    ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("Mish", (True,), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2, 2, True), {}), ("Hardsigmoid", (), {}), ("Hardswish", (True,), {}),
    ("Softplus", (), {}), ("Softplus", (2, 10), {}), ("Softsign", (), {}), ("LogSigmoid", (), {}),
    ("Threshold", (0.1, 20), {}), ("Threshold", (0.1, 20.0, True), {}), ("Softmax", (1,), {}),
    ("Softmax", (), {"dim": -1}), ("LogSoftmax", (), {"dim": 0}), ("Softmin", (1,), {}),
]


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=[f"{m[0]}{m[1]}{m[2]}" for m in MODULES])
def test_activation_module_matches_torch(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    if name == "RReLU":  # random in training; compare the deterministic evaluation form
        ours.eval()
        theirs.eval()
    x = _input((2, 3, 4), "float32", kinks=(0.0,))
    params = [p.detach().numpy() for p in theirs.parameters()]
    assert [tuple(p.shape) for p in ours.parameters()] == [p.shape for p in params]
    for p, value in zip(ours.parameters(), params):
        np.testing.assert_array_equal(p.detach().numpy(), value)
    # in-place modules rewrite their input: feed them a fresh non-leaf
    compare_with_torch(lambda t: ours(t * 1.0), lambda t: theirs(t * 1.0), [x])
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5)


def test_prelu_module_parameter_state_and_dtype():
    m = nn.PReLU(4, init=0.3, dtype=juanji.float64)
    assert m.weight.dtype == juanji.float64 and m.weight.requires_grad
    assert list(m.state_dict()) == ["weight"]
    m.weight.data.fill_(1.0)
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.detach().numpy(), [0.3] * 4)


def test_modules_reject_bad_arguments_at_construction():
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")
    with pytest.raises(ValueError, match="Hardtanh: max_val must be greater than min_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="RReLU: lower must be at most upper"):
        nn.RReLU(0.5, 0.1)
    with pytest.raises(ValueError, match="PReLU: num_parameters must be at least 1"):
        nn.PReLU(0)


def test_hardtanh_deprecated_argument_names():
    with pytest.warns(FutureWarning, match="is deprecated and rename to"):
        m = nn.Hardtanh(min_value=-3.0, max_value=3.0)
    assert (m.min_val, m.max_val) == (-3.0, 3.0)


def test_softmax_module_without_dim_warns():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        nn.Softmax()(juanji.ones(2, 3))
