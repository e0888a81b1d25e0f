"""Batch norm's one-call training forward and backward (``kernels.batch_norm.channel_forward`` and
``channel_backward``: one Numba sweep per channel for rows of ``SHORT_ROW`` or more values) against their
three steps run one after another (statistics, constants, affine map; gradient sums, constants, input
gradient), which short rows and other backends still take: the same values up to the order of the float64
sums (a few ulps), the same flat channels, the same dtypes. Values against torch: tests/nn/test_normalization.py."""

import numpy as np
import pytest

from juanji.kernels import _batch_norm_numba as loops
from juanji.kernels import batch_norm as K


def _close(a, b):
    """Equal up to a few ulps of float64 sums (a flat mask exactly; float32 results then to the last bit or
    one ulp)."""
    if a.dtype == np.bool_:
        assert np.array_equal(a, b)
        return
    tol = 1e-12 if a.dtype == np.float64 else 2e-7
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max(initial=0.0))))


def _steps(g3, x3, mean, flat, scale, invstd):
    count = x3.shape[0] * x3.shape[2]
    sum_g, sum_gc = K.channel_grad_sums(g3, x3, mean)
    grad_w, grad_b, k_x, k_0 = K.backward_constants(sum_g, sum_gc, flat, scale, invstd, mean, count, x3.dtype)
    return K.channel_input_grad(g3, x3, scale, k_x, k_0), grad_w, grad_b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 3, 4), (2, 5, 9), (8, 64, 64), (3, 7, 1), (4, 6, 3), (64, 16, 1024),
                                   (5, 33, 16)])
@pytest.mark.parametrize("with_flat", [False, True])
def test_one_sweep_backward_is_the_three_steps(dtype, shape, with_flat):
    rng = np.random.default_rng(sum(shape))
    x3 = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    g3 = rng.standard_normal(shape).astype(dtype)
    mean = x3.astype(np.float64).mean((0, 2))
    invstd = 1.0 / np.sqrt(x3.astype(np.float64).var((0, 2)) + 1e-5)
    scale = invstd * rng.normal(size=shape[1])
    flat = (np.arange(shape[1]) % 3 == 1) if with_flat else None
    got = K.channel_backward(g3, x3, mean, flat, scale, invstd)
    want = _steps(g3, x3, mean, flat, scale, invstd)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        _close(a, b)
    if with_flat:
        assert np.all(got[1][flat] == 0)


def test_long_rows_take_the_one_sweep(monkeypatch):
    calls = []
    real = loops.backward_channels
    monkeypatch.setattr(loops, "backward_channels", lambda *a: calls.append(a[0:2]) or real(*a))
    x3 = np.ones((2, 3, loops.SHORT_ROW), np.float32)
    K.channel_backward(x3, x3, np.ones(3), None, np.ones(3), np.ones(3))
    assert calls
    calls.clear()
    short = np.ones((2, 3, loops.SHORT_ROW - 1), np.float32)
    K.channel_backward(short, short, np.ones(3), None, np.ones(3), np.ones(3))
    assert not calls


def _forward_steps(x3, weight, bias, eps, tolerance):
    mean, var = K.channel_stats(x3)
    var, invstd, scale, affine_scale, shift, flat = K.forward_constants(mean, var, weight, bias, eps, tolerance)
    return K.channel_affine(x3, affine_scale, shift), mean, var, invstd, scale, flat


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 3, 4), (2, 5, 9), (8, 64, 64), (3, 7, 1), (4, 6, 3), (64, 16, 1024),
                                   (5, 33, 16), (0, 4, 8)])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("with_flat", [False, True])
def test_one_sweep_forward_is_the_three_steps(dtype, shape, affine, with_flat):
    rng = np.random.default_rng(sum(shape) + 1)
    x3 = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    if with_flat:
        x3[:, 1::3] = 7.25  # constant planes: flat channels
    weight = rng.normal(size=shape[1]).astype(dtype) if affine else None
    bias = rng.normal(size=shape[1]).astype(dtype) if affine else None
    tolerance = (8 * np.finfo(dtype).eps) ** 2
    got = K.channel_forward(x3, weight, bias, 1e-5, tolerance)
    want = _forward_steps(x3, weight, bias, 1e-5, tolerance)
    for a, b in zip(got, want):
        if b is None:
            assert a is None
            continue
        assert a.dtype == b.dtype and a.shape == b.shape
        _close(a, b)
    if with_flat and shape[0] and shape[1] > 1:
        assert got[5] is not None and got[5][1]
