"""Numerics at the edges of float32, as torch's (issue 11, item 4).

- std/var of float32 values near 1e20: the squares pass float32's range; torch accumulates in
  double and its std stays finite. Ours too, values and gradients, across scales 1e-25..1e36.
- the 100-layer experiment: the activations' std turns inf only when the activations overflow.
- a constant image through a convolution and a train-mode BatchNorm gives the bias, not the
  convolution's rounding noise amplified by 1/sqrt(eps); real (if small) variation is untouched.
- cumsum of a million float32 values (torch's CPU accumulator is double), layer/group norm of
  values near 1e20, and the other reductions (sum, mean, logsumexp, softmax, norm) at extreme
  scales, against torch.
"""

import numpy as np
import pytest

import juanji

torch = pytest.importorskip("torch")

SCALES = [1e-25, 1e-20, 1e-10, 1.0, 1e10, 1e19, 1e20, 1e25, 1e30, 1e36]


def _pair(values, requires_grad=False):
    return (juanji.tensor(values, requires_grad=requires_grad),
            torch.tensor(values, requires_grad=requires_grad))


@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("op", ["std", "var"])
def test_std_and_var_of_float32_at_any_scale_match_torch(op, scale, dim):
    x = (np.random.default_rng(0).standard_normal((16, 40)) * scale).astype(np.float32)
    j, t = _pair(x, requires_grad=True)
    yj, yt = getattr(j, op)(dim), getattr(t, op)(dim)
    want = yt.detach().numpy()
    np.testing.assert_array_equal(np.isfinite(yj.detach().numpy()), np.isfinite(want))
    np.testing.assert_allclose(yj.detach().numpy(), want, rtol=2e-6, atol=0)
    if op == "std":  # a finite std has a finite gradient
        upstream = np.ones(want.shape, np.float32)
        yj.backward(juanji.tensor(upstream))
        yt.backward(torch.tensor(upstream))
        want_grad = t.grad.numpy()  # (x - mean cancels near the mean: an absolute floor from the largest)
        np.testing.assert_allclose(j.grad.numpy(), want_grad, rtol=1e-5, atol=1e-5 * np.abs(want_grad).max())


def test_std_of_1e20_float32_values_was_inf_before_and_float64_agrees():
    """The case the issue met: the float32 answer equals float64's rounded (the test fails on a
    float32 sum of squares, which is inf here)."""
    x = (np.random.default_rng(1).standard_normal(1000) * 1e20).astype(np.float32)
    assert not np.isfinite((x * x).sum())  # what a plain float32 two-pass computes
    got = juanji.tensor(x).std().item()
    np.testing.assert_allclose(got, x.astype(np.float64).std(ddof=1), rtol=1e-6)


def test_the_100_layer_experiment_std_stays_finite_while_the_activations_do():
    """A 100-layer ReLU MLP with N(0, 1) weights (the initialisation chapter's failure case): the
    std of the activations turns inf exactly when float64 says the true std passes float32's
    range (the float32 sum of squares overflowed ~16 layers earlier), and not before torch's."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((64, 64)).astype(np.float32)
    first_inf = {}
    for name, lib in (("juanji", juanji), ("torch", torch)):
        a = lib.tensor(h)
        first_inf[name] = None
        layers = np.random.default_rng(1)
        for layer in range(100):
            w = lib.tensor(layers.standard_normal((64, 64)).astype(np.float32))
            a = lib.relu(a @ w)
            finite = np.isfinite(a.std().item())
            if name == "juanji":
                with np.errstate(over="ignore", invalid="ignore"):
                    truth = np.float32(a.numpy().astype(np.float64).std(ddof=1))
                assert finite == bool(np.isfinite(truth)), layer
            if first_inf[name] is None and not finite:
                first_inf[name] = layer
    assert first_inf["torch"] is not None and first_inf["torch"] > 20
    assert first_inf["juanji"] >= first_inf["torch"]


# ---------------------------------------------------------------------------- constant planes
def _conv_then_batch_norm(lib, x, conv_weight, conv_bias, bn_weight, bn_bias):
    xt = lib.tensor(x, requires_grad=True)
    w = lib.tensor(conv_weight, requires_grad=True)
    gamma = lib.tensor(bn_weight, requires_grad=True)
    beta = lib.tensor(bn_bias, requires_grad=True)
    y = lib.nn.functional.conv2d(xt, w, lib.tensor(conv_bias))
    out = lib.nn.functional.batch_norm(y, None, None, gamma, beta, training=True)
    return out, (xt, w, gamma, beta)


@pytest.mark.parametrize("side,channels", [(8, 16), (5, 128), (10, 3)])
def test_a_constant_image_through_conv_and_train_batch_norm_gives_the_bias(side, channels):
    """torch's convolution gives identical windows identical values, so the plane is constant and
    batch norm returns the bias; juanji's GEMM may round positions differently (a few eps), which
    batch norm must not amplify. Gradients as torch's for the constant plane."""
    rng = np.random.default_rng(side)
    x = np.ones((2, channels, side, side), np.float32)
    cw = (rng.standard_normal((32, channels, 3, 3)) * 0.1).astype(np.float32)
    cb = rng.standard_normal(32).astype(np.float32)
    gamma = rng.uniform(0.5, 1.5, 32).astype(np.float32)
    beta = rng.standard_normal(32).astype(np.float32)
    upstream = rng.standard_normal((2, 32, side - 2, side - 2)).astype(np.float32)
    results = {}
    for name, lib in (("juanji", juanji), ("torch", torch)):
        out, leaves = _conv_then_batch_norm(lib, x, cw, cb, gamma, beta)
        out.backward(lib.tensor(upstream))
        results[name] = [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]
    out_j, out_t = results["juanji"][0], results["torch"][0]
    np.testing.assert_array_equal(out_j, np.broadcast_to(beta[None, :, None, None], out_j.shape))
    np.testing.assert_allclose(out_j, out_t, atol=1e-4)  # torch's own affine rounding is ~1e-5
    # The gradients reaching the convolution, dy = w invstd (g - mean(g)), are ~300 |g|; summed over
    # positions they cancel (the conv weight's exactly: x = 1): both frameworks leave rounding noise
    # there, so an absolute bound against the float64 values (the weight's is 0): the two float32
    # noises may have opposite signs. The batch-norm parameters' gradients are exact.
    out64, leaves64 = _conv_then_batch_norm(torch, *(a.astype(np.float64) for a in (x, cw, cb, gamma, beta)))
    out64.backward(torch.tensor(upstream.astype(np.float64)))
    for what, gj, gt, exact in zip(("x", "conv weight"), results["juanji"][1:3], results["torch"][1:3],
                                   (leaves64[0].grad.numpy(), leaves64[1].grad.numpy())):
        np.testing.assert_allclose(gt, exact, atol=2e-3, err_msg=f"torch's {what}")
        # (plus 1e-5 of the largest value: the 16- and 32-channel 3x3 layers' gradients run by Winograd
        # F(4,3), whose float32 rounding is ~1e-5 of the values, not ~1e-7; x's reach ~500 here)
        np.testing.assert_allclose(gj, exact, atol=max(2e-3, 1e-5 * np.abs(exact).max()), err_msg=what)
    for what, gj, gt in zip(("bn weight", "bn bias"), results["juanji"][3:], results["torch"][3:]):
        np.testing.assert_allclose(gj, gt, rtol=1e-5, atol=1e-4, err_msg=what)


@pytest.mark.parametrize("relative_spread", [1e-4, 1e-5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nearly_constant_but_real_plane_is_normalised_as_torch_does(relative_spread, dtype):
    """Variation well above rounding (1e-5 of the values: ~100 float32 eps) is data: normalised."""
    rng = np.random.default_rng(0)
    x = (3.0 + relative_spread * 3.0 * rng.standard_normal((4, 3, 5, 5))).astype(dtype)
    upstream = rng.standard_normal(x.shape).astype(dtype)
    got = {}
    for name, lib in (("juanji", juanji), ("torch", torch)):
        xt = lib.tensor(x, requires_grad=True)
        out = lib.nn.functional.batch_norm(xt, None, None, training=True, eps=1e-12)
        out.backward(lib.tensor(upstream))
        got[name] = out.detach().numpy(), xt.grad.numpy()
    assert np.abs(got["torch"][0]).max() > 1  # normalised to unit variance, not to the bias
    # (float32 holds 3 + 3e-5 z to ~1 % of its spread: the mean's rounding shifts xhat by that much)
    tolerance = 4 * np.finfo(dtype).eps / relative_spread
    np.testing.assert_allclose(got["juanji"][0], got["torch"][0], rtol=tolerance, atol=tolerance)


# ---------------------------------------------------------------------------- other reductions
def test_cumsum_of_a_million_float32_values_keeps_torchs_precision():
    x = (1.1 + 1e-3 * np.random.default_rng(0).standard_normal(1_000_000)).astype(np.float32)
    truth = np.cumsum(x.astype(np.float64))
    j, t = _pair(x, requires_grad=True)
    got, want = j.cumsum(0), t.cumsum(0)
    np.testing.assert_allclose(got.detach().numpy(), truth, rtol=1e-6)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(j.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("scale", [1e-20, 1e20, 1e30])
@pytest.mark.parametrize("op", ["layer_norm", "group_norm"])
def test_row_norms_of_values_near_1e20_stay_finite(op, scale):
    """torch gives nan (layer norm) or 0 (group norm) where float32 squares overflow; the
    normalised values are well defined (float64 gives them), and juanji gives those."""
    x = (np.random.default_rng(0).standard_normal((4, 8, 6)) * scale).astype(np.float32)
    xj = juanji.tensor(x, requires_grad=True)
    F = juanji.nn.functional
    out = F.layer_norm(xj, (8, 6)) if op == "layer_norm" else F.group_norm(xj, 4)
    rows = x.astype(np.float64).reshape(4 if op == "layer_norm" else 16, -1)
    want = (rows - rows.mean(1, keepdims=True)) / np.sqrt(rows.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out.detach().numpy().reshape(want.shape), want, rtol=1e-4, atol=1e-5)
    out.backward(juanji.ones_like(out))
    assert np.isfinite(xj.grad.numpy()).all()


def _reductions(lib):
    F = lib.nn.functional
    return {
        "sum": lambda t: t.sum(), "sum(1)": lambda t: t.sum(1), "mean": lambda t: t.mean(),
        "mean(0)": lambda t: t.mean(0), "logsumexp(1)": lambda t: lib.logsumexp(t, 1),
        "logsumexp(0)": lambda t: lib.logsumexp(t, 0), "softmax": lambda t: F.softmax(t, 1),
        "log_softmax": lambda t: F.log_softmax(t, 1), "norm": lambda t: lib.norm(t),
        "norm(1)": lambda t: lib.norm(t, dim=1), "norm(p=3)": lambda t: lib.norm(t, p=3),
        "vector_norm(inf)": lambda t: lib.linalg.vector_norm(t, float("inf")),
        "matrix_norm": lambda t: lib.linalg.matrix_norm(t), "logcumsumexp": lambda t: lib.logcumsumexp(t, 1),
        "normalize": lambda t: F.normalize(t, dim=1),
    }


@pytest.mark.parametrize("scale", [1e-30, 1e-20, 1e20, 1e30, 1e37])
@pytest.mark.parametrize("name", list(_reductions(juanji)))
def test_reductions_at_extreme_float32_scales_match_torch(name, scale):
    x = (np.random.default_rng(0).standard_normal((64, 128)) * scale).astype(np.float32)
    got = _reductions(juanji)[name](juanji.tensor(x)).numpy()
    want = _reductions(torch)[name](torch.tensor(x)).numpy()
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    finite = np.abs(want[np.isfinite(want)])  # (sums of signed values cancel: a floor from the largest)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5 * finite.max() if finite.size else 0)


def test_softmax_and_logsumexp_of_logits_at_float32s_limits_match_torch():
    x = np.array([[1e30, 1e30, -1e30], [3e38, -3e38, 0.0], [-1e38, -1e38, -1e38]], np.float32)
    for name in ("logsumexp(1)", "softmax", "log_softmax"):
        got = _reductions(juanji)[name](juanji.tensor(x)).numpy()
        want = _reductions(torch)[name](torch.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)


# ---------------------------------------------------------------------------- item 4(e)
@pytest.mark.parametrize("args", [(3, 4.0, 3), (3.0, 4, 3), (3.5, 4, 3), (4, 6.5, 3, 1, 0, 1, 2), (4, 6, 3, 1, 0, 1, 2.0)])
def test_a_non_integer_channel_count_raises_torchs_error_type(args):
    with pytest.raises(Exception) as want:
        torch.nn.Conv2d(*args)
    with pytest.raises(want.type):
        juanji.nn.Conv2d(*args)


def test_a_shape_1_tensor_loads_into_a_0_dim_buffer_as_torch_does():
    """Old checkpoints stored num_batches_tracked as shape [1]."""
    for lib in (juanji, torch):
        bn = lib.nn.BatchNorm2d(3)
        state = bn.state_dict()
        state["num_batches_tracked"] = lib.tensor([5])
        bn.load_state_dict(state)
        assert tuple(bn.num_batches_tracked.shape) == () and int(bn.num_batches_tracked) == 5
