"""Non-finite numbers behave as in torch: activations and losses meet inf, nan and overflowing
values (a diverging training run, ``log(0)``) silently, without NumPy's RuntimeWarnings, and
give torch's values."""

import warnings

import numpy as np
import pytest

import juanji
from tests.test_compat_support import torch_or_skip

EXTREMES = [-1e30, -100.0, -1.0, 0.0, 1.0, 100.0, 1e30, float("inf"), float("-inf"), float("nan")]
PROBS = [0.0, 0.5, 1.0, 1.0, 0.0, 0.3, 1.0, 0.0, 1.0, 0.5]
TARGETS = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def _ops(lib):
    """name -> f(x), x the EXTREMES tensor; losses with reduction='none' to see every element."""
    F = lib.nn.functional
    target, probs = lib.tensor(TARGETS), lib.tensor(PROBS)
    ops = {name: getattr(F, name) for name in
           ("relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "hardswish",
            "hardsigmoid", "logsigmoid", "leaky_relu", "relu6", "hardtanh", "tanh", "sigmoid")}
    ops.update({
        "gelu(tanh)": lambda x: F.gelu(x, approximate="tanh"),
        "softmax": lambda x: F.softmax(x[:7], dim=0),  # finite entries only: inf - inf is nan anyway
        "log_softmax": lambda x: F.log_softmax(x[:7], dim=0),
        "mse_loss": lambda x: F.mse_loss(x, target, reduction="none"),
        "mse_loss(sum)": lambda x: F.mse_loss(x[:7], target[:7], reduction="sum"),
        "huber_loss": lambda x: F.huber_loss(x, target, reduction="none"),
        "smooth_l1_loss": lambda x: F.smooth_l1_loss(x, target, reduction="none"),
        "l1_loss": lambda x: F.l1_loss(x, target, reduction="none"),
        "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, target, reduction="none"),
        "bce_with_logits(pos_weight)": lambda x: F.binary_cross_entropy_with_logits(
            x, target, reduction="none", pos_weight=lib.tensor([2.0])),
        "binary_cross_entropy": lambda x: F.binary_cross_entropy(lib.sigmoid(x[:9]), target[:9], reduction="none"),
        "kl_div": lambda x: F.kl_div(x, probs, reduction="none"),
        "cross_entropy": lambda x: F.cross_entropy(x[None, :7], lib.tensor([3]), reduction="none"),
    })
    return ops


# where torch's value differs and juanji's is the mathematically right limit
VALUE_EXCEPTIONS = {"gelu": [7]}  # gelu(+inf) = +inf * Phi(+inf) = +inf; torch computes nan


@pytest.mark.parametrize("name", list(_ops(juanji)))
def test_extreme_inputs_give_torchs_values_without_warnings(name):
    torch = torch_or_skip()
    t_x = torch.tensor(EXTREMES, requires_grad=True)
    t_y = _ops(torch)[name](t_x)
    j_x = juanji.tensor(EXTREMES, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning fails the test
        j_y = _ops(juanji)[name](j_x)
        j_y.backward(juanji.ones_like(j_y))
    want, got = t_y.detach().numpy().ravel(), j_y.detach().numpy().ravel()
    keep = np.ones(got.shape, bool)
    keep[VALUE_EXCEPTIONS.get(name, [])] = False
    np.testing.assert_allclose(got[keep], want[keep], rtol=1e-6, atol=1e-6, equal_nan=True)


def test_values_and_gradients_at_ordinary_inputs_still_match_torch():
    """The quiet error state changes no finite number."""
    torch = torch_or_skip()
    x = np.linspace(-5, 5, 10).astype(np.float32)
    for name in _ops(juanji):
        results = []
        for lib in (juanji, torch):
            t = lib.tensor(x, requires_grad=True)
            y = _ops(lib)[name](t)
            y.sum().backward()
            results.append((y.detach().numpy(), None if t.grad is None else t.grad.numpy()))
        (j_y, j_grad), (t_y, t_grad) = results
        np.testing.assert_allclose(j_y, t_y, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(j_grad, t_grad, rtol=1e-5, atol=1e-6, err_msg=name)


def _diverging_run(lib, activation):
    """An MLP at a learning rate far too large: the loss overflows to inf, then nan."""
    nn = lib.nn
    rng = np.random.default_rng(0)
    X = lib.tensor(rng.standard_normal((64, 5)).astype(np.float32) * 10)
    y = lib.tensor(rng.integers(0, 3, 64))
    net = nn.Sequential(nn.Linear(5, 16), getattr(nn, activation)(), nn.Linear(16, 3))
    optimizer = lib.optim.SGD(net.parameters(), lr=50.0, momentum=0.9)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.MSELoss()(net(X), nn.functional.one_hot(y, 3).float())
        loss.backward()
        lib.nn.utils.clip_grad_norm_(net.parameters(), 1e30)
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("activation", ["ReLU", "GELU", "Tanh", "Sigmoid"])
def test_a_diverging_training_run_is_silent_as_in_torch(activation):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = _diverging_run(juanji, activation)
    assert not np.isfinite(losses[-1])


def test_the_diverging_run_diverges_in_both_libraries():
    """The scenario above is a real divergence in torch too (its initial weights are its own)."""
    torch = torch_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        j = _diverging_run(juanji, "ReLU")
    t = _diverging_run(torch, "ReLU")
    assert np.isfinite(j[0]) and np.isfinite(t[0])
    assert not np.isfinite(j[-1]) and not np.isfinite(t[-1])


# -- the core ops a diverging run goes through: linear, elementwise, normalisation, clipping ------

# Statistics (batch/layer/group norm, LRN) over values near float32's limit overflow in ways that
# depend on the implementation (torch's float32 sums against juanji's float64 ones), and upstream
# gradients of +-1e30 cancel into different finite garbage: those ops meet inf and nan, not 1e30.
MODERATE = [-3.0, -100.0, -1.0, 0.0, 1.0, 100.0, 2.0, float("inf"), float("-inf"), float("nan")]
UPSTREAM = {
    "ones": [1.0] * 10,
    "extreme": [float("inf"), 1.0, float("nan"), 1e30, 1.0, float("-inf"), -1e30, float("inf"), 0.0, 1.0],
    "non-finite": [float("inf"), 1.0, float("nan"), 3.0, 1.0, float("-inf"), -2.0, float("inf"), 0.0, 1.0],
}


def _core_ops(lib):
    """name -> f(a, b) for two 10-element tensors a, b (b may be unused)."""
    F = lib.nn.functional
    return {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "maximum": lambda a, b: lib.maximum(a, b),
        "minimum": lambda a, b: lib.minimum(a, b),
        "where": lambda a, b: lib.where(a > b, a, b),
        "exp": lambda a, b: lib.exp(a),
        "sin": lambda a, b: lib.sin(a),
        "cos": lambda a, b: lib.cos(a),
        "tanh": lambda a, b: lib.tanh(a),
        "sigmoid": lambda a, b: lib.sigmoid(a),
        "relu": lambda a, b: lib.relu(a),
        "clamp": lambda a, b: lib.clamp(a, -1, 1),
        "hardtanh": lambda a, b: F.hardtanh(a),
        "relu6": lambda a, b: F.relu6(a),
        "hardsigmoid": lambda a, b: F.hardsigmoid(a),
        "threshold": lambda a, b: F.threshold(a, 0.5, -2.0),
        "floor": lambda a, b: lib.floor(a),
        "pow(x, 0)": lambda a, b: a ** 0,
        "pow(x, 2)": lambda a, b: a ** 2,
        "cast": lambda a, b: a.double().float(),
        "linear": lambda a, b: F.linear(a.reshape(2, 5), b.reshape(2, 5), b[:2]),
        "bilinear": lambda a, b: F.bilinear(a.reshape(2, 5), b.reshape(2, 5), lib.ones(3, 5, 5), lib.ones(3)),
    }


def _norm_ops(lib):
    F = lib.nn.functional
    return {
        "batch_norm(train)": lambda a, b: F.batch_norm(lib.cat([a, b]).reshape(4, 5), None, None, training=True),
        "batch_norm(eval)": lambda a, b: F.batch_norm(lib.cat([a, b]).reshape(4, 5), lib.zeros(5), lib.ones(5) * 2,
                                                      lib.ones(5) * 3, lib.ones(5), training=False),
        "layer_norm": lambda a, b: F.layer_norm(a.reshape(2, 5), (5,)),
        "group_norm": lambda a, b: F.group_norm(a.reshape(1, 2, 5), 2),
        "local_response_norm": lambda a, b: F.local_response_norm(a.reshape(1, 5, 2), 2),
    }


def _forward_backward(lib, op, a_values, b_values, upstream):
    """op's output and the gradients of both inputs for an upstream gradient tiled from ``upstream``."""
    a = lib.tensor(np.asarray(a_values, np.float32), requires_grad=True)
    b = lib.tensor(np.asarray(b_values, np.float32), requires_grad=True)
    out = op(a, b)
    out.backward(lib.tensor(np.resize(np.asarray(upstream, np.float32), tuple(out.shape))))
    return [out.detach().numpy(), None if a.grad is None else a.grad.numpy(),
            None if b.grad is None else b.grad.numpy()]


def _assert_same_silently(torch, name, ops, a_values, b_values, upstream):
    want = _forward_backward(torch, ops(torch)[name], a_values, b_values, upstream)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning fails the test
        got = _forward_backward(juanji, ops(juanji)[name], a_values, b_values, upstream)
    for what, j, t in zip(("output", "grad a", "grad b"), got, want):
        assert (j is None) == (t is None), what
        if t is not None:
            np.testing.assert_allclose(j, t, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=f"{name}: {what}")


# b pairs every extreme with another: inf + -inf, 1e30 * 1e30, nan against each, ...
B_EXTREMES = list(np.roll(EXTREMES[::-1], 3))
B_MODERATE = list(np.roll(MODERATE[::-1], 3))


@pytest.mark.parametrize("upstream", ["ones", "extreme"])
@pytest.mark.parametrize("name", list(_core_ops(juanji)))
def test_core_ops_at_extreme_values_match_torch_silently(name, upstream):
    """Values and gradients (also of infinite upstream gradients: relu, clamp, max/min and where
    select the gradient, so an inf stays inf or becomes 0, never inf * 0 = nan)."""
    torch = torch_or_skip()
    _assert_same_silently(torch, name, _core_ops, EXTREMES, B_EXTREMES, UPSTREAM[upstream])


@pytest.mark.parametrize("upstream", ["ones", "non-finite"])
@pytest.mark.parametrize("name", list(_norm_ops(juanji)))
def test_normalization_at_non_finite_values_matches_torch_silently(name, upstream):
    """Includes eval-mode batch norm, whose input gradient is scale * g: an inf or nan input
    must not turn it into nan."""
    torch = torch_or_skip()
    _assert_same_silently(torch, name, _norm_ops, MODERATE, B_MODERATE, UPSTREAM[upstream])


def test_normalization_of_overflowing_values_is_silent():
    """At +-1e30 the statistics overflow (values differ from torch's, see MODERATE): no warning."""
    for name, op in _norm_ops(juanji).items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _forward_backward(juanji, op, EXTREMES, B_EXTREMES, UPSTREAM["extreme"])


def test_relu_gradient_is_selected_on_the_compiled_path_too():
    """Above 8192 elements relu runs as a Numba ufunc: the same values and gradients as torch."""
    torch = torch_or_skip()
    values = np.resize(np.asarray(EXTREMES, np.float32), 9000)
    upstream = np.resize(np.asarray(UPSTREAM["extreme"], np.float32), 9000)
    _assert_same_silently(torch, "relu", _core_ops, values, values, upstream)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("scale", [1.0, 1e20, 1e38])
def test_clip_grad_norm_of_overflowing_gradients_matches_torch_silently(norm_type, scale):
    """Huge gradients make the total norm inf (coefficient 0) and inf gradients make it nan."""
    torch = torch_or_skip()
    rng = np.random.default_rng(int(scale) % 1000 + int(norm_type if norm_type != float("inf") else 9))
    grads = [(rng.standard_normal(s) * scale).astype(np.float32) for s in [(3, 4), (5,)]]
    results = []
    for lib in (torch, juanji):
        params = [lib.zeros(g.shape, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g.copy())
        with warnings.catch_warnings():
            warnings.simplefilter("error" if lib is juanji else "ignore")
            total = lib.nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type)
        results.append([float(total)] + [p.grad.numpy() for p in params])
    want, got = results
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, equal_nan=True)
    for j, t in zip(got[1:], want[1:]):
        np.testing.assert_allclose(j, t, rtol=1e-5, atol=1e-30, equal_nan=True)


def _overflow_checks(quiet):
    big = np.float32(1e38)

    @quiet
    def overflow():
        return big * big

    @quiet
    def overflow_then_fail():
        big * big
        raise KeyError("inside")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert overflow() == np.inf
        with pytest.raises(KeyError):
            overflow_then_fail()
        with pytest.raises(RuntimeWarning, match="overflow"):  # the caller's state is back
            big * big
        with np.errstate(over="raise"):
            assert overflow() == np.inf
            with pytest.raises(FloatingPointError):
                big * big


def test_quiet_silences_only_inside_and_restores_the_callers_error_state():
    from juanji.ops.elementwise import quiet
    _overflow_checks(quiet)


def test_quiet_falls_back_to_np_errstate_without_numpy_2_internals(monkeypatch):
    import sys
    from juanji.kernels import errstate
    monkeypatch.setitem(sys.modules, "numpy._core._ufunc_config", None)  # import now fails
    quiet = errstate._make_quiet()
    assert isinstance(quiet, np.errstate)
    _overflow_checks(quiet)
