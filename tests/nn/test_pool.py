"""Pooling functions and modules against torch: values, input gradients, indices, errors, reprs."""

import functools
import importlib.util
import pathlib

import numpy as np
import pytest

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from juanji.kernels.sizes import window_output_size
from tests.helpers import both_raise, compare_values_and_grads

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
DTYPES = [np.float32, np.float64]
_compare = functools.partial(compare_values_and_grads, tolerances=TOL)


def _input(rng, batch, channels, spatial, dtype):
    shape = ((batch,) if batch else ()) + (channels,) + tuple(spatial)
    return rng.standard_normal(shape).astype(dtype)


def _window_grid(n_configs, seed, dilation=True):
    """Random valid (n_spatial, batch, channels, spatial, kernel, stride, padding, dilation, ceil)."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < n_configs:
        n = int(rng.integers(1, 4))
        spatial = tuple(int(v) for v in rng.integers(1, 12 if n < 3 else 7, size=n))
        kernel = tuple(int(rng.integers(1, min(s, 7) + 1)) for s in spatial)
        stride = tuple(int(v) for v in rng.integers(1, 4, size=n))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        dil = tuple(int(v) for v in rng.integers(1, 3, size=n)) if dilation else (1,) * n
        ceil = bool(rng.integers(0, 2))
        if any(window_output_size(s, k, st, p, p, d, ceil) < 1
               for s, k, st, p, d in zip(spatial, kernel, stride, padding, dil)):
            continue
        batch = int(rng.integers(0, 5))  # 0: unbatched input
        channels = int(rng.integers(1, 9))
        configs.append((n, batch, channels, spatial, kernel, stride, padding, dil, ceil))
    return configs


MAX_FN = {1: (F.max_pool1d, TF.max_pool1d), 2: (F.max_pool2d, TF.max_pool2d),
          3: (F.max_pool3d, TF.max_pool3d)}
AVG_FN = {1: (F.avg_pool1d, TF.avg_pool1d), 2: (F.avg_pool2d, TF.avg_pool2d),
          3: (F.avg_pool3d, TF.avg_pool3d)}


# -- max pooling -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", _window_grid(30, seed=0))
def test_max_pool_matches_torch_with_indices(config, dtype):
    n, batch, channels, spatial, kernel, stride, padding, dil, ceil = config
    x = _input(np.random.default_rng(0), batch, channels, spatial, dtype)
    j_fn, t_fn = MAX_FN[n]
    _compare(lambda t: j_fn(t, kernel, stride, padding, dil, ceil, return_indices=True),
             lambda t: t_fn(t, kernel, stride, padding, dil, ceil, return_indices=True), x, dtype)


def test_max_pool_ties_take_the_first_maximum_and_send_it_the_gradient():
    x = np.random.default_rng(0).integers(0, 3, size=(2, 3, 9, 8)).astype(np.float32)
    _compare(lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True),
             lambda t: TF.max_pool2d(t, 3, 2, 1, ceil_mode=True, return_indices=True),
             x, np.float32)
    # overlapping windows sharing one maximum add their gradients there
    _compare(lambda t: F.max_pool1d(t, 3, 1), lambda t: TF.max_pool1d(t, 3, 1),
             np.array([[[0., 5., 1., 1., 0.]]]), np.float64)


def test_ceil_mode_drops_a_last_window_that_would_start_in_the_right_padding():
    # e.g. n=5, k=2, s=2, p=1: ceil((5 + 2 - 2)/2) + 1 = 4 windows, but the 4th would start at
    # 3*2 - 1 = 5, past the input, so torch keeps 3
    for n, k, s, p in [(5, 2, 2, 1), (4, 2, 3, 1), (5, 3, 3, 1), (3, 2, 3, 0), (4, 4, 3, 2)]:
        naive_ceil = -(-(n + 2 * p - k) // s) + 1
        assert window_output_size(n, k, s, p, p, 1, ceil_mode=True) == naive_ceil - 1
        x = np.random.default_rng(n).standard_normal((1, 2, n))
        ty = TF.max_pool1d(torch.tensor(x), k, s, p, ceil_mode=True)
        jy = F.max_pool1d(juanji.tensor(x), k, s, p, ceil_mode=True)
        assert jy.shape[-1] == ty.shape[-1]
        np.testing.assert_allclose(jy.numpy(), ty.numpy())
        ta = TF.avg_pool1d(torch.tensor(x), k, s, p, ceil_mode=True)
        ja = F.avg_pool1d(juanji.tensor(x), k, s, p, ceil_mode=True)
        np.testing.assert_allclose(ja.numpy(), ta.numpy(), rtol=1e-12)


def test_max_pool_indices_do_not_require_grad_and_the_output_does():
    x = juanji.randn(1, 2, 6, 6, requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert y.requires_grad and not idx.requires_grad
    y2, idx2 = F.max_pool2d_with_indices(x, 2)
    np.testing.assert_array_equal(idx.numpy(), idx2.numpy())
    with juanji.no_grad():
        assert not F.max_pool2d(x, 2).requires_grad


def test_max_pool_propagates_nan_like_torch():
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6)).astype(np.float32)
    x[0, 0, 2, 3] = np.nan
    jy, jidx = F.max_pool2d(juanji.tensor(x), 3, 1, 1, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 3, 1, 1, return_indices=True)
    np.testing.assert_array_equal(jy.numpy(), ty.numpy())
    np.testing.assert_array_equal(jidx.numpy(), tidx.numpy())


# -- average pooling ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", _window_grid(30, seed=1, dilation=False))
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_matches_torch(config, count_include_pad, dtype):
    n, batch, channels, spatial, kernel, stride, padding, _, ceil = config
    x = _input(np.random.default_rng(0), batch, channels, spatial, dtype)
    j_fn, t_fn = AVG_FN[n]
    _compare(lambda t: j_fn(t, kernel, stride, padding, ceil, count_include_pad),
             lambda t: t_fn(t, kernel, stride, padding, ceil, count_include_pad), x, dtype)


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("divisor", [1, 3, -2])
def test_avg_pool_divisor_override_matches_torch(n, divisor):
    x = np.random.default_rng(0).standard_normal((2, 3) + (7,) * n)
    j_fn, t_fn = AVG_FN[n]
    _compare(lambda t: j_fn(t, 3, 2, 1, True, False, divisor),
             lambda t: t_fn(t, 3, 2, 1, True, False, divisor), x, np.float64)


# -- adaptive pooling --------------------------------------------------------------------------

ADAPTIVE_CASES = [
    (1, (10,), 3), (1, (7,), 7), (1, (5,), 8), (2, (9, 7), (4, 3)), (2, (6, 6), (None, 4)),
    (2, (5, 11), 1), (2, (3, 4), (6, 9)), (3, (5, 6, 7), (2, 3, 4)), (3, (4, 5, 3), (None, 2, None)),
]
ADAPTIVE_FN = {
    ("avg", 1): (F.adaptive_avg_pool1d, TF.adaptive_avg_pool1d),
    ("avg", 2): (F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d),
    ("avg", 3): (F.adaptive_avg_pool3d, TF.adaptive_avg_pool3d),
    ("max", 1): (F.adaptive_max_pool1d, TF.adaptive_max_pool1d),
    ("max", 2): (F.adaptive_max_pool2d, TF.adaptive_max_pool2d),
    ("max", 3): (F.adaptive_max_pool3d, TF.adaptive_max_pool3d),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("n,spatial,out", ADAPTIVE_CASES)
@pytest.mark.parametrize("batch", [0, 3])
def test_adaptive_pools_match_torch(n, spatial, out, kind, batch, dtype):
    x = _input(np.random.default_rng(0), batch, 4, spatial, dtype)
    j_fn, t_fn = ADAPTIVE_FN[(kind, n)]
    if kind == "max":
        _compare(lambda t: j_fn(t, out, return_indices=True),
                 lambda t: t_fn(t, out, return_indices=True), x, dtype)
    else:
        _compare(lambda t: j_fn(t, out), lambda t: t_fn(t, out), x, dtype)


# -- LP pooling --------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", [1.0, 2, 3.5, float("inf")])
@pytest.mark.parametrize("n,spatial,kernel,stride,ceil", [
    (1, (9,), 3, None, False), (1, (10,), 4, 3, True), (2, (7, 8), (2, 3), (2, 1), True),
    (2, (6, 6), 2, None, False), (3, (5, 4, 6), 2, (1, 2, 2), False),
])
def test_lp_pool_matches_torch(n, spatial, kernel, stride, ceil, norm_type):
    x = np.abs(np.random.default_rng(0).standard_normal((2, 3) + spatial)) + 0.1
    j_fn = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}[n]
    t_fn = {1: TF.lp_pool1d, 2: TF.lp_pool2d, 3: TF.lp_pool3d}[n]
    _compare(lambda t: j_fn(t, norm_type, kernel, stride, ceil),
             lambda t: t_fn(t, norm_type, kernel, stride, ceil), x, np.float64)


# -- max unpooling -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,spatial,kernel,stride,padding,output_size", [
    (1, (9,), 2, None, 0, None), (1, (9,), 2, None, 0, (9,)), (1, (10,), 3, 2, 1, (1, 1, 10)),
    (2, (8, 6), 2, None, 0, None), (2, (9, 7), 2, 2, 0, (9, 7)), (2, (9, 9), 3, 2, 1, (9, 10)),
    (3, (5, 6, 4), 2, None, 0, (5, 6, 4)), (3, (4, 4, 4), 2, 1, 0, None),
])
def test_max_unpool_matches_torch(n, spatial, kernel, stride, padding, output_size, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3) + spatial).astype(dtype)
    t_pool = MAX_FN[n][1]
    pooled, idx = t_pool(torch.tensor(x), kernel, stride, padding, return_indices=True)
    j_fn = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[n]
    t_fn = {1: TF.max_unpool1d, 2: TF.max_unpool2d, 3: TF.max_unpool3d}[n]
    jidx = juanji.tensor(idx.numpy())
    _compare(lambda t: j_fn(t, jidx, kernel, stride, padding, output_size),
             lambda t: t_fn(t, idx, kernel, stride, padding, output_size),
             pooled.numpy(), dtype)


def test_max_unpool_inverts_max_pool_at_the_maxima():
    x = juanji.rand(2, 3, 8, 8) + 0.1  # positive, so the zeros unpooling adds never win
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    back = F.max_unpool2d(y, idx, 2)
    again = F.max_pool2d(back, 2)
    np.testing.assert_array_equal(again.numpy(), y.numpy())


# -- gradcheck (torch-free, float64, distinct values so no max is tied) ------------------------

def _distinct(shape, seed=0):
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))) * 0.1 - 1.0
    return juanji.tensor(values.reshape(shape), requires_grad=True)


@pytest.mark.parametrize("fn,shape", [
    (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), (1, 2, 5, 5)),
    (lambda t: F.max_pool1d(t, 2, 1, 1, dilation=2), (2, 2, 6)),
    (lambda t: F.max_pool3d(t, 2, 1), (1, 2, 3, 3, 4)),
    (lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 5, 6)),
    (lambda t: F.avg_pool3d(t, 2, 1, 1, divisor_override=3), (1, 1, 3, 3, 4)),
    (lambda t: F.adaptive_avg_pool2d(t, (3, 2)), (1, 2, 5, 5)),
    (lambda t: F.adaptive_max_pool1d(t, 4), (2, 2, 7)),
    (lambda t: F.lp_pool2d(t.abs() + 0.5, 2, 2), (1, 2, 4, 5)),
], ids=["max2d", "max1d_dilated", "max3d", "avg2d", "avg3d_divisor", "adaptive_avg2d",
        "adaptive_max1d", "lp2d"])
def test_pool_gradcheck(fn, shape):
    assert gradcheck(fn, (_distinct(shape),))


def test_max_unpool_gradcheck():
    x = _distinct((1, 2, 3, 3))
    idx = F.max_pool2d(juanji.randn(1, 2, 6, 6), 2, return_indices=True)[1]
    assert gradcheck(lambda t: F.max_unpool2d(t, idx, 2), (x,))


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args,match", [
    (((8, 8), 9), r"max_pool2d: output size is too small.*\(8, 8\).*kernel_size=\(9, 9\)"),
    (((8, 8), 3, 1, 2), r"max_pool2d: padding should be at most half of kernel_size.*\(2, 2\)"),
    (((8, 8), 2, 1, -1), r"max_pool2d: padding must be non-negative"),
    (((8, 8), 0), r"max_pool2d: kernel_size must be greater than zero.*\(0, 0\)"),
    (((8, 8), 2, 0), r"max_pool2d: stride must be greater than zero"),
    (((8, 8), 2, 2, 0, 0), r"max_pool2d: dilation must be greater than zero"),
    (((8, 8), (2, 2, 2)), r"max_pool2d: kernel_size must be an int or a tuple of 2 ints"),
])
def test_max_pool_bad_arguments_raise_clear_errors(args, match):
    shape, *rest = args
    x = np.zeros((1, 3) + shape, dtype=np.float32)
    both_raise(lambda: F.max_pool2d(juanji.tensor(x), *rest),
               lambda: TF.max_pool2d(torch.tensor(x), *rest), RuntimeError, match)


@pytest.mark.parametrize("fn,shape,match", [
    ("max_pool2d", (8, 8), r"max_pool2d: expected a 3D \(C, H, W\) or 4D \(N, C, H, W\) input.*"
                           r"got input of shape \[8, 8\]"),
    ("max_pool2d", (1, 2, 3, 8, 8), r"max_pool2d: expected .*got input of shape \[1, 2, 3, 8, 8\]"),
    ("max_pool1d", (1, 2, 3, 8), r"max_pool1d: expected a 2D \(C, L\) or 3D \(N, C, L\) input"),
    ("max_pool3d", (2, 8, 8), r"max_pool3d: expected a 4D \(C, D, H, W\) or 5D"),
    ("max_pool2d", (2, 0, 8, 8), r"max_pool2d: expected .*non-zero channel and spatial sizes"),
    ("avg_pool2d", (8, 8), r"avg_pool2d: expected a 3D"),
    ("avg_pool1d", (1, 2, 3, 8), r"avg_pool1d: expected a 2D"),
    ("adaptive_avg_pool2d", (8, 8), r"adaptive_avg_pool2d: expected a 3D"),
    ("adaptive_max_pool2d", (1, 2, 0, 4), r"adaptive_max_pool2d: expected .*\[1, 2, 0, 4\]"),
])
def test_pools_reject_inputs_of_the_wrong_rank(fn, shape, match):
    x = np.zeros(shape, dtype=np.float32)
    both_raise(lambda: getattr(F, fn)(juanji.tensor(x), 2),
               lambda: getattr(TF, fn)(torch.tensor(x), 2), RuntimeError, match)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8])
def test_integer_inputs_pool_where_torch_does_and_fail_clearly_elsewhere(dtype):
    x = np.arange(-8, 28).reshape(1, 1, 6, 6).astype(dtype)
    jy, jidx = F.max_pool2d(juanji.tensor(x), 2, return_indices=True)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(jy.numpy(), ty.numpy())
    np.testing.assert_array_equal(jidx.numpy(), tidx.numpy())
    assert jy.numpy().dtype == dtype
    if dtype == np.int64:  # torch's avg_pool takes int64 and truncates like C++ division
        np.testing.assert_array_equal(F.avg_pool2d(juanji.tensor(x), 3, 2, 1).numpy(),
                                      TF.avg_pool2d(torch.tensor(x), 3, 2, 1).numpy())
    else:
        both_raise(lambda: F.avg_pool2d(juanji.tensor(x), 3),
                   lambda: TF.avg_pool2d(torch.tensor(x), 3), RuntimeError,
                   r"avg_pool2d: not implemented for .* input; expected a floating-point")
    both_raise(lambda: F.adaptive_avg_pool2d(juanji.tensor(x), 3),
               lambda: TF.adaptive_avg_pool2d(torch.tensor(x), 3), RuntimeError,
               r"adaptive_avg_pool2d: not implemented for")


def test_avg_pool_rejects_a_zero_divisor_and_avg_pool1d_has_no_divisor_override():
    x = np.zeros((1, 2, 8, 8), dtype=np.float32)
    both_raise(lambda: F.avg_pool2d(juanji.tensor(x), 2, divisor_override=0),
               lambda: TF.avg_pool2d(torch.tensor(x), 2, divisor_override=0),
               RuntimeError, "avg_pool2d: divisor_override must not be zero")
    with pytest.raises(TypeError):
        F.avg_pool1d(juanji.zeros(1, 2, 8), 2, divisor_override=3)


def test_adaptive_pool_rejects_negative_output_sizes_and_accepts_zero():
    x = np.zeros((1, 2, 8, 8), dtype=np.float32)
    both_raise(lambda: F.adaptive_avg_pool2d(juanji.tensor(x), -1),
               lambda: TF.adaptive_avg_pool2d(torch.tensor(x), -1), RuntimeError,
               r"adaptive_avg_pool2d: output_size must be non-negative")
    both_raise(lambda: F.adaptive_max_pool2d(juanji.tensor(x), (2, 2, 2)),
               lambda: TF.adaptive_max_pool2d(torch.tensor(x), (2, 2, 2)), RuntimeError,
               r"adaptive_max_pool2d: output_size must have 2 elements")
    assert F.adaptive_avg_pool2d(juanji.tensor(x), 0).shape == (1, 2, 0, 0)


def test_max_unpool_rejects_output_sizes_that_do_not_fit_and_bad_indices():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    jy, jidx = juanji.tensor(ty.numpy()), juanji.tensor(tidx.numpy())
    both_raise(lambda: F.max_unpool2d(jy, jidx, 2, output_size=(10, 9)),
               lambda: TF.max_unpool2d(ty, tidx, 2, output_size=(10, 9)), ValueError,
               r"max_unpool2d: invalid output_size \(10, 9\): dim 0 must be strictly between "
               r"6 and 10")
    both_raise(lambda: F.max_unpool2d(jy, jidx, 2, output_size=(9,)),
               lambda: TF.max_unpool2d(ty, tidx, 2, output_size=(9,)), ValueError,
               r"max_unpool2d: output_size should have 2 or 4 elements")
    both_raise(lambda: F.max_unpool2d(jy, jidx * 10, 2),
               lambda: TF.max_unpool2d(ty, tidx * 10, 2), RuntimeError,
               r"max_unpool2d: found an invalid max index \d+ \(output planes are of size 8x8\)")
    both_raise(lambda: F.max_unpool2d(jy, jidx[:, :, :2], 2),
               lambda: TF.max_unpool2d(ty, tidx[:, :, :2], 2), RuntimeError,
               r"max_unpool2d: expected indices of the input's shape \[2, 3, 4, 4\]")
    both_raise(lambda: F.max_unpool2d(jy, jidx.float(), 2),
               lambda: TF.max_unpool2d(ty, tidx.float(), 2), RuntimeError,
               r"max_unpool2d: expected int64 indices")
    both_raise(lambda: F.max_unpool2d(jy[0, 0], jidx[0, 0], 2),
               lambda: TF.max_unpool2d(ty[0, 0], tidx[0, 0], 2), RuntimeError,
               r"max_unpool2d: expected a 3D \(C, H, W\) or 4D")


# -- modules -----------------------------------------------------------------------------------

MODULES = [  # (name, constructor args, kwargs, input shape)
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 10)),
    ("MaxPool2d", (3,), {}, (2, 3, 9, 9)),
    ("MaxPool2d", ((2, 3),), {"stride": 1, "dilation": (2, 1), "return_indices": True}, (2, 3, 8, 7)),
    ("MaxPool3d", (2,), {"padding": 1}, (1, 2, 5, 4, 6)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 10)),
    ("AvgPool2d", (3,), {"stride": 2, "ceil_mode": True, "divisor_override": 4}, (2, 3, 8, 9)),
    ("AvgPool3d", (2,), {"stride": (1, 2, 2)}, (1, 2, 5, 4, 6)),
    ("LPPool1d", (2, 3), {}, (2, 3, 10)),
    ("LPPool2d", (1.5, (2, 3)), {"stride": 1, "ceil_mode": True}, (2, 3, 7, 8)),
    ("LPPool3d", (2, 2), {}, (1, 2, 4, 4, 6)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((None, 3),), {}, (2, 3, 7, 8)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 5, 4, 6)),
    ("AdaptiveMaxPool1d", (4,), {"return_indices": True}, (2, 3, 10)),
    ("AdaptiveMaxPool2d", ((3, 5),), {}, (2, 3, 7, 8)),
    ("AdaptiveMaxPool3d", ((2, None, 3),), {}, (1, 2, 5, 4, 6)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES)
def test_pool_modules_match_torch_and_print_like_torch(name, args, kwargs, shape):
    j_module = getattr(nn, name)(*args, **kwargs)
    t_module = getattr(torch.nn, name)(*args, **kwargs)
    assert j_module.extra_repr() == t_module.extra_repr()
    x = np.random.default_rng(0).standard_normal(shape)
    if name.startswith("LP"):
        x = np.abs(x) + 0.1
    _compare(j_module, t_module, x, np.float64)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_modules_match_torch(n):
    shape = (2, 3) + (6, 8, 4)[:n]
    x = np.random.default_rng(0).standard_normal(shape)
    t_pool = getattr(torch.nn, f"MaxPool{n}d")(2, return_indices=True)
    pooled, idx = t_pool(torch.tensor(x))
    j_unpool = getattr(nn, f"MaxUnpool{n}d")(2)
    t_unpool = getattr(torch.nn, f"MaxUnpool{n}d")(2)
    assert j_unpool.extra_repr() == t_unpool.extra_repr()
    jidx = juanji.tensor(idx.numpy())
    _compare(lambda t: j_unpool(t, jidx, output_size=shape),
             lambda t: t_unpool(t, idx, output_size=shape), pooled.numpy(), np.float64)


def test_pool_modules_check_their_arguments_when_built():
    with pytest.raises(RuntimeError, match=r"MaxPool2d: padding should be at most half"):
        nn.MaxPool2d(3, padding=2)
    with pytest.raises(RuntimeError, match=r"AvgPool2d: divisor_override must not be zero"):
        nn.AvgPool2d(2, divisor_override=0)
    with pytest.raises(RuntimeError, match=r"MaxPool1d: kernel_size must be greater than zero"):
        nn.MaxPool1d(0)


# -- the d2l example ---------------------------------------------------------------------------

def _load_example():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "pool2d_by_hand.py"
    spec = importlib.util.spec_from_file_location("pool2d_by_hand", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mode,function", [("max", F.max_pool2d), ("avg", F.avg_pool2d)])
@pytest.mark.parametrize("pool_size", [(2, 2), (3, 2), (1, 4)])
def test_pool2d_by_hand_example_matches_the_library(mode, function, pool_size):
    example = _load_example()
    x = juanji.randn(6, 7)
    by_hand = example.pool2d(x, pool_size, mode=mode)
    library = function(x.reshape(1, 1, 6, 7), pool_size, stride=1)[0, 0]
    np.testing.assert_allclose(by_hand.numpy(), library.numpy(), rtol=1e-6, atol=1e-6)
