"""Batch norm's per-channel constants (``kernels.batch_norm.forward_constants``, ``backward_constants``,
``update_running``): the Numba loops that NumPy arrays take and the array expressions other backends
(CuPy) take give the same bits as the NumPy expressions the Op used to evaluate, written out here as
the reference: float32 and float64, flat channels, no weight or bias, running estimates in either dtype."""

import numpy as np
import pytest

from juanji.kernels import batch_norm as K
from juanji.ops.normalization import FLAT_ULPS, _flat_tolerance


def _reference_forward(mean, var, weight, bias, eps, dtype, flat_check):
    """The Op's expressions before the loops: ``(var, invstd, scale, affine_scale, shift, flat)``."""
    flat = None
    if flat_check:
        eps_dtype = np.finfo(dtype).eps
        flat = var <= (FLAT_ULPS * eps_dtype) ** 2 * (var + mean * mean)
        var = np.where(flat, 0.0, var)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = invstd if weight is None else weight.astype(np.float64) * invstd
    bias64 = np.zeros_like(mean) if bias is None else bias.astype(np.float64)
    shift = bias64 - mean * scale
    affine_scale = scale
    if flat is not None and flat.any():
        shift = np.where(flat, bias64, shift)
        affine_scale = np.where(flat, 0.0, scale)
    else:
        flat = None
    return var, invstd, scale, affine_scale, shift, flat


def _channels(rng, channels, flat_every=0):
    mean = rng.normal(size=channels) * 3
    var = rng.random(channels) * 2 + 1e-3
    if flat_every:
        var[::flat_every] = (mean[::flat_every] * 1e-15) ** 2  # rounding noise of a constant plane
    return mean, var


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("flat_every", [0, 3])
@pytest.mark.parametrize("batch_stats", [True, False])
def test_forward_constants_match_the_array_expressions_bit_for_bit(dtype, affine, flat_every, batch_stats):
    rng = np.random.default_rng(flat_every + 7 * affine)
    channels = 37
    mean, var = _channels(rng, channels, flat_every)
    weight = rng.normal(size=channels).astype(dtype) if affine else None
    bias = rng.normal(size=channels).astype(dtype) if affine else None
    tolerance = _flat_tolerance(np.dtype(dtype)) if batch_stats else None
    expected = _reference_forward(mean, var.copy(), weight, bias, 1e-5, dtype, batch_stats)
    given = var.copy()
    got = K.forward_constants(mean, given, weight, bias, 1e-5, tolerance)
    arrays = K._forward_constants_arrays(mean, var.copy(), weight, bias, 1e-5, tolerance)  # (CuPy's way)
    assert np.array_equal(given, var)  # the caller's variance is left as it was
    for result in (got, arrays):
        for e, g in zip(expected[:5], result[:5]):
            assert g.dtype == np.float64 and np.array_equal(e, g)
        if expected[5] is None:
            assert result[5] is None
        else:
            assert np.array_equal(expected[5], result[5])
        assert (result[5] is not None) == bool(flat_every and batch_stats)


def test_flat_tolerance_is_the_squared_ulps():
    assert _flat_tolerance(np.dtype(np.float32)) == (FLAT_ULPS * 2.0 ** -23) ** 2
    assert _flat_tolerance(np.dtype(np.float64)) == (FLAT_ULPS * 2.0 ** -52) ** 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_flat", [False, True])
def test_backward_constants_match_the_array_expressions_bit_for_bit(dtype, with_flat):
    rng = np.random.default_rng(3)
    channels = 29
    sum_g, sum_gc = rng.normal(size=channels) * 50, rng.normal(size=channels) * 20
    scale, invstd, mean = rng.normal(size=channels), rng.random(channels) + 0.5, rng.normal(size=channels)
    flat = (np.arange(channels) % 4 == 1) if with_flat else None
    count = 7 * 33
    centered = np.where(flat, 0.0, sum_gc) if with_flat else sum_gc
    k_x = -scale * invstd * invstd * centered / count
    k_0 = -scale * sum_g / count - mean * k_x
    given = sum_gc.copy()
    for implementation in (K.backward_constants, K._backward_constants_arrays):
        grad_w, grad_b, got_kx, got_k0 = implementation(sum_g, given, flat, scale, invstd, mean, count,
                                                        np.dtype(dtype))
        assert grad_w.dtype == dtype and grad_b.dtype == dtype
        assert np.array_equal(grad_w, (centered * invstd).astype(dtype))
        assert np.array_equal(grad_b, sum_g.astype(dtype))
        assert np.array_equal(got_kx, k_x) and np.array_equal(got_k0, k_0)
        assert np.array_equal(given, sum_gc)  # the caller's sums are left as they were


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.01, 1.0, 0.3333333])
@pytest.mark.parametrize("factor", [1.0, 64 / 63])
def test_update_running_matches_numpys_rounding(dtype, momentum, factor):
    rng = np.random.default_rng(5)
    running = (rng.normal(size=300) * 10).astype(dtype)
    statistic = rng.normal(size=300) * 10
    expected = running.copy()
    expected[...] = (1.0 - momentum) * expected + momentum * (statistic * factor)
    arrays = running.copy()
    K._update_running_arrays(arrays, statistic, momentum, factor)
    K.update_running(running, statistic, momentum, factor)
    assert running.dtype == dtype and np.array_equal(running, expected) and np.array_equal(arrays, expected)


def test_update_running_of_other_arrays_falls_back_to_the_expression():
    running = np.ones((2, 3), np.float32)  # not 1-d: the expression
    K.update_running(running, np.full((2, 3), 3.0), 0.5)
    assert np.array_equal(running, np.full((2, 3), 2.0, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stats_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 5, 7, 3), (3, 4, 2), (6, 3), (2, 17, 1, 1), (1, 8, 4, 4)])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("contiguous", [True, False])
def test_eval_forward_is_the_two_step_path_bit_for_bit(dtype, stats_dtype, shape, affine, contiguous):
    """Evaluation mode in one call (``eval_forward``) against ``forward_constants`` + ``channel_affine``
    (rounded), the path it replaces for small arrays: rows of every length (short rows take the other
    loop order), a weight without a bias, neither, running estimates of either dtype, a strided input."""
    rng = np.random.default_rng(sum(shape) + len(affine))
    channels = shape[1]
    x = rng.normal(size=shape).astype(dtype) * 4 + 1
    if not contiguous:
        x = np.ascontiguousarray(np.swapaxes(x, 0, -1)).swapaxes(0, -1)  # the same values, strided
    mean = (rng.normal(size=channels) * 2).astype(stats_dtype)
    var = (rng.random(channels) * 3 + 1e-2).astype(stats_dtype)
    weight = rng.normal(size=channels).astype(dtype) if affine != "none" else None
    bias = rng.normal(size=channels).astype(dtype) if affine == "both" else None
    x3 = K.as_ncl(x)
    assert K.eval_applies(x3, mean, var)
    _, _, _, affine_scale, shift, _ = K.forward_constants(mean.astype(np.float64), var.astype(np.float64), weight,
                                                          bias, 1e-5, None)
    expected = K.channel_affine(x3, affine_scale, shift, rounded=True)
    got = K.eval_forward(x3, mean, var, weight, bias, 1e-5)
    assert got.dtype == dtype and got.shape == x3.shape
    np.testing.assert_array_equal(got, expected)


def test_eval_forward_leaves_large_and_foreign_arrays_to_the_two_step_path():
    mean = var = np.ones(4)
    assert not K.eval_applies(np.zeros((K.PARALLEL_MIN_ELEMENTS // 4, 4, 1), np.float32), mean, var)
    assert not K.eval_applies(np.zeros((0, 4, 3), np.float32), mean, var)
    assert not K.eval_applies(np.zeros((2, 4, 3), np.float16), mean, var)
    assert not K.eval_applies([[[0.0]]], mean, var)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_in_evaluation_without_a_node_is_the_ops_result(dtype, affine):
    """``F.batch_norm`` in evaluation mode with nothing to record (no_grad, or no tensor that requires grad)
    returns the kernel's tensor without an Op (``ops.normalization.batch_norm_eval``): the same bits as the
    Op's result, no node; a weight that requires grad under grad mode, or a tracer listening, takes the Op
    (its node, its gradient), with the same values. Against torch too."""
    import juanji
    from juanji.autograd import function as _function
    from juanji.ops import normalization as ops
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = juanji.tensor(rng.standard_normal((2, 5, 3, 4)).astype(dtype))
    mean = juanji.tensor(rng.standard_normal(5).astype(dtype))
    var = juanji.tensor(rng.uniform(0.5, 2.0, 5).astype(dtype))
    weight = juanji.tensor(rng.standard_normal(5).astype(dtype), requires_grad=True) if affine else None
    bias = juanji.tensor(rng.standard_normal(5).astype(dtype), requires_grad=True) if affine else None
    F = juanji.nn.functional
    with juanji.no_grad():
        fast = F.batch_norm(x, mean, var, weight, bias, False, 0.1, 1e-5)
        node, _, _ = ops.BatchNorm.apply(x, weight, bias, mean=mean._data, var=var._data, eps=1e-5)
    assert fast.grad_fn is None and not fast.requires_grad
    np.testing.assert_array_equal(fast.numpy(), node.numpy())
    seen = []
    previous = _function._trace_hook
    _function._trace_hook = lambda op, inputs, params, result: seen.append(type(op).__name__)
    try:
        with juanji.no_grad():
            traced = F.batch_norm(x, mean, var, weight, bias, False, 0.1, 1e-5)
    finally:
        _function._trace_hook = previous
    assert seen == ["NativeBatchNormBackward0"]
    np.testing.assert_array_equal(traced.numpy(), fast.numpy())
    recorded = F.batch_norm(x, mean, var, weight, bias, False, 0.1, 1e-5)
    if affine:
        assert recorded.grad_fn is not None
        recorded.sum().backward()
        assert weight.grad is not None and bias.grad is not None
    else:
        assert recorded.grad_fn is None
    np.testing.assert_array_equal(recorded.detach().numpy(), fast.numpy())
    want = torch.nn.functional.batch_norm(torch.tensor(x.numpy()), torch.tensor(mean.numpy()), torch.tensor(var.numpy()),
                                          None if weight is None else torch.tensor(weight.detach().numpy()),
                                          None if bias is None else torch.tensor(bias.detach().numpy()), False, 0.1, 1e-5)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fast.numpy(), want.numpy(), rtol=tol, atol=tol)
