"""The pooling, padding and resampling kernels on plain arrays, against torch as the oracle."""

import itertools

import numpy as np
import pytest

from juanji.kernels import conv as conv_k
from juanji.kernels import pad as pad_k
from juanji.kernels import pool as pool_k
from juanji.kernels import resample as resample_k
from juanji.kernels.sizes import window_output_size
from juanji.kernels.window import Window

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _rng(seed=0):
    return np.random.default_rng(seed)


def _sliding(spatial, k, s, p, d, ceil_mode=False):
    """The windows of a pool (kernel, stride, padding, dilation per dim) over ``spatial``."""
    return pool_k.pool_windows(Window(tuple(k), tuple(s), tuple(p), tuple(p), tuple(d), ceil_mode), tuple(spatial))


def _blocks_geometry(x_shape, k, d, p, s):
    """unfold's geometry: a window over the input, with C*kh*kw output channels."""
    return conv_k.conv_geometry(Window(k, s, p, p, d), x_shape, x_shape[1] * k[0] * k[1])


# -- windows -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n,k,s,p,d", [
    (n, k, s, p, d)
    for n, k, s, d in itertools.product([1, 2, 5, 8], [1, 2, 3], [1, 2, 3], [1, 2])
    for p in range(k // 2 + 1)
    if window_output_size(n, k, s, p, p, d, False) >= 1
])
def test_sliding_windows_cover_exactly_the_in_bounds_taps(n, k, s, p, d):
    for ceil_mode in (False, True):
        axis = _sliding((n,), (k,), (s,), (p,), (d,), ceil_mode).axes[0]
        assert axis.out == window_output_size(n, k, s, p, p, d, ceil_mode)
        for o in range(axis.out):
            expected = [t for t in (o * s - p + j * d for j in range(k)) if 0 <= t < n]
            got = [int(axis.start[o]) + j * d for j in range(int(axis.count[o]))]
            assert got == expected


def test_adaptive_windows_are_torch_floor_ceil_bounds():
    for n, out in [(10, 3), (7, 7), (5, 8), (1, 4), (9, 2)]:
        axis = pool_k.adaptive_windows((n,), (out,)).axes[0]
        for o in range(out):
            assert axis.start[o] == (o * n) // out
            assert axis.start[o] + axis.count[o] == -(-((o + 1) * n) // out)


# -- max pooling -------------------------------------------------------------------------------

MAX_CASES = [  # (spatial, kernel, stride, padding, dilation, ceil_mode)
    ((9,), (3,), (2,), (1,), (1,), True),
    ((8,), (2,), (3,), (0,), (2,), False),
    ((7, 6), (2, 3), (2, 1), (1, 0), (1, 2), True),
    ((6, 6), (3, 3), (2, 2), (1, 1), (2, 1), False),
    ((5, 4, 6), (2, 2, 3), (2, 1, 2), (1, 0, 1), (1, 1, 2), True),
]


def _torch_max(x, spatial, k, s, p, d, ceil_mode):
    fn = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}[len(spatial)]
    return fn(x, k, s, p, d, ceil_mode, return_indices=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool_values_indices_and_gradient_match_torch(case, dtype):
    spatial, k, s, p, d, ceil_mode = case
    x = _rng().standard_normal((2, 3) + spatial).astype(dtype)
    windows = _sliding(spatial, k, s, p, d, ceil_mode)
    y, idx = pool_k.max_pool_forward(x, windows, want_indices=True)
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = _torch_max(tx, spatial, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    g = _rng(1).standard_normal(y.shape).astype(dtype)
    ty.backward(torch.tensor(g))
    gx = pool_k.max_pool_backward(g, idx, spatial)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_ties_pick_the_first_maximum_and_nan_propagates():
    x = _rng().integers(0, 2, size=(2, 2, 7, 7)).astype(np.float32)  # many ties
    x[0, 0, 3, 3] = np.nan
    windows = _sliding((7, 7), (3, 3), (2, 2), (1, 1), (1, 1), True)
    y, idx = pool_k.max_pool_forward(x, windows)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 3, 2, 1, 1, True, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())  # NaNs compare equal in assert_array_equal
    np.testing.assert_array_equal(idx, tidx.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_max_pool_2x2_fast_loop_keeps_the_general_loops_bits_on_special_values(seed, dtype):
    """The 2x2 loop finds the maxima and then the indices from them (first tap equal to the maximum, or
    the last NaN): on windows drawn from NaN, +-inf, +-0.0 and ties, the same bits (signed zeros
    included) and indices as the general loop's one tap at a time, and torch's."""
    rng = _rng(10 + seed)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0], dtype)
    x = special[rng.integers(0, special.size, size=(3, 4, 10, 22))]
    windows = _sliding((10, 22), (2, 2), (2, 2), (0, 0), (1, 1))
    y, idx = pool_k.max_pool_forward(x, windows)
    ad, ah, aw = pool_k._lifted_axes(windows)
    planes = x.reshape((-1, 1, 10, 22))
    y_general = np.empty((planes.shape[0], 1, ah.out, aw.out), dtype)
    idx_general = np.empty(y_general.shape, np.int64)
    pool_k._pool_numba.max_pool_planes(0, planes.shape[0], planes, ad.start, ad.count, ad.step, ah.start,
                                       ah.count, ah.step, aw.start, aw.count, aw.step, True, y_general, idx_general)
    np.testing.assert_array_equal(y.view(np.uint8), y_general.reshape(y.shape).view(np.uint8))
    np.testing.assert_array_equal(idx, idx_general.reshape(idx.shape))
    ty, tidx = TF.max_pool2d(torch.tensor(x), 2, 2, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    y_only, none = pool_k.max_pool_forward(x, windows, want_indices=False)
    assert none is None
    np.testing.assert_array_equal(y_only.view(np.uint8), y.view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spatial", [(8, 6), (7, 9), (2, 2)])
def test_max_pool_2x2_fast_loop_matches_torch_and_the_general_loop(spatial, dtype):
    """A plain 2x2 stride-2 pool takes its own loop (odd sizes: the last row/column is left out,
    every window still full); ties, NaN and -inf follow the general loop's rules exactly."""
    x = _rng(3).integers(0, 3, size=(3, 2) + spatial).astype(dtype)  # many ties
    x[0, 0, 0, 1] = np.nan
    x[1, 1, :2, :2] = -np.inf
    x[2, 0, 0, 0] = np.nan
    x[2, 0, 1, 1] = np.nan
    windows = _sliding(spatial, (2, 2), (2, 2), (0, 0), (1, 1))
    assert pool_k._is_plain_2x2(windows)
    y, idx = pool_k.max_pool_forward(x, windows)
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = TF.max_pool2d(tx, 2, 2, return_indices=True)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    ad, ah, aw = pool_k._lifted_axes(windows)
    planes = x.reshape((-1, 1) + spatial)
    y_general = np.empty((planes.shape[0], 1, ah.out, aw.out), dtype)
    idx_general = np.empty(y_general.shape, np.int64)
    pool_k._pool_numba.max_pool_planes(0, planes.shape[0], planes, ad.start, ad.count, ad.step, ah.start,
                                       ah.count, ah.step, aw.start, aw.count, aw.step, True, y_general, idx_general)
    np.testing.assert_array_equal(y, y_general.reshape(y.shape))
    np.testing.assert_array_equal(idx, idx_general.reshape(idx.shape))
    finite = np.nan_to_num(x, nan=0.0, neginf=0.0)
    y, idx = pool_k.max_pool_forward(finite, windows)
    g = _rng(4).standard_normal(y.shape).astype(dtype)
    tx = torch.tensor(finite, requires_grad=True)
    TF.max_pool2d(tx, 2, 2).backward(torch.tensor(g))
    np.testing.assert_allclose(pool_k.max_pool_backward(g, idx, spatial), tx.grad.numpy(), rtol=1e-12, atol=0)
    assert not pool_k._is_plain_2x2(_sliding((8, 6), (2, 2), (2, 2), (1, 1), (1, 1)))  # padded
    assert not pool_k._is_plain_2x2(_sliding((8, 6), (2, 2), (1, 1), (0, 0), (1, 1)))  # overlapping
    assert not pool_k._is_plain_2x2(_sliding((8,), (2,), (2,), (0,), (1,)))  # 1-d


def test_max_pool_without_indices_returns_none_and_the_same_values():
    x = _rng().standard_normal((3, 10)).astype(np.float32)
    windows = _sliding((10,), (3,), (2,), (0,), (1,))
    y, idx = pool_k.max_pool_forward(x, windows, want_indices=False)
    assert idx is None
    np.testing.assert_array_equal(y, pool_k.max_pool_forward(x, windows)[0])


# -- average pooling ---------------------------------------------------------------------------

AVG_CASES = [  # (spatial, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((9,), (3,), (2,), (1,), True, True, None),
    ((9,), (3,), (2,), (1,), True, False, None),
    ((7, 6), (3, 2), (2, 2), (1, 1), True, True, None),
    ((7, 6), (3, 2), (2, 3), (1, 0), True, False, None),
    ((6, 5), (2, 2), (1, 2), (0, 1), False, True, 3),
    ((5, 4, 6), (2, 3, 2), (2, 1, 2), (1, 1, 0), True, True, None),
    ((5, 4, 6), (2, 3, 2), (2, 1, 2), (1, 1, 0), True, False, 2),
]


def _torch_avg(x, spatial, k, s, p, ceil_mode, cip, div):
    if len(spatial) == 1:
        return TF.avg_pool1d(x, k, s, p, ceil_mode, cip)
    fn = TF.avg_pool2d if len(spatial) == 2 else TF.avg_pool3d
    return fn(x, k, s, p, ceil_mode, cip, div)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool_values_and_gradient_match_torch(case, dtype):
    spatial, k, s, p, ceil_mode, cip, div = case
    x = _rng().standard_normal((2, 3) + spatial).astype(dtype)
    windows = _sliding(spatial, k, s, p, (1,) * len(spatial), ceil_mode)
    divisor = pool_k.avg_pool_divisor(windows, cip, div, dtype=dtype)
    y = pool_k.avg_pool_forward(x, windows, divisor)
    tx = torch.tensor(x, requires_grad=True)
    ty = _torch_avg(tx, spatial, k, s, p, ceil_mode, cip, div)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=tol, atol=tol)
    g = _rng(1).standard_normal(y.shape).astype(dtype)
    ty.backward(torch.tensor(g))
    gx = pool_k.avg_pool_backward(g, windows, divisor)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)
    assert gx.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spatial", [(8, 6), (7, 9), (2, 2)])
@pytest.mark.parametrize("divisor_override", [None, 3])
def test_avg_pool_2x2_fast_loop_matches_torch_and_the_general_loop(monkeypatch, spatial, dtype, divisor_override):
    """A plain 2x2 stride-2 average pool takes its own loops (forward and backward): the same sums in
    the same order, so the general loop's bits (NaN, infinities, signed zeros), and torch's values."""
    x = _rng(5).standard_normal((3, 2) + spatial).astype(dtype)
    x[0, 0, 0, 1] = np.nan
    x[1, 1, :2, :2] = -0.0
    x[2, 0, 0, 0] = np.inf
    windows = _sliding(spatial, (2, 2), (2, 2), (0, 0), (1, 1))
    assert pool_k._is_plain_2x2(windows)
    divisor = pool_k.avg_pool_divisor(windows, True, divisor_override, dtype=dtype)
    y = pool_k.avg_pool_forward(x, windows, divisor)
    g = _rng(6).standard_normal(y.shape).astype(dtype)
    g[0, 0, 0, 0] = -0.0
    gx = pool_k.avg_pool_backward(g, windows, divisor)
    tx = torch.tensor(x, requires_grad=True)
    ty = TF.avg_pool2d(tx, 2, 2, divisor_override=divisor_override)
    ty.backward(torch.tensor(g))
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)
    monkeypatch.setattr(pool_k, "_is_plain_2x2", lambda windows: False)
    general_y = pool_k.avg_pool_forward(x, windows, divisor)
    general_gx = pool_k.avg_pool_backward(g, windows, divisor)
    np.testing.assert_array_equal(y.view(np.uint8), general_y.view(np.uint8))  # bit for bit, zeros' signs too
    np.testing.assert_array_equal(gx.view(np.uint8), general_gx.view(np.uint8))


@pytest.mark.parametrize("spatial,out", [((10,), (3,)), ((7, 5), (3, 4)), ((4, 6, 5), (3, 2, 5)),
                                         ((3, 4), (5, 7))])
def test_adaptive_pools_match_torch(spatial, out):
    x = _rng().standard_normal((2, 3) + spatial)
    windows = pool_k.adaptive_windows(spatial, out)
    n = len(spatial)
    avg = pool_k.avg_pool_forward(x, windows, pool_k.adaptive_avg_divisor(windows, np.float64))
    t_avg = [TF.adaptive_avg_pool1d, TF.adaptive_avg_pool2d, TF.adaptive_avg_pool3d][n - 1]
    np.testing.assert_allclose(avg, t_avg(torch.tensor(x), out).numpy(), rtol=1e-12, atol=1e-12)
    mx, idx = pool_k.max_pool_forward(x, windows)
    t_max = [TF.adaptive_max_pool1d, TF.adaptive_max_pool2d, TF.adaptive_max_pool3d][n - 1]
    ty, tidx = t_max(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(mx, ty.numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())


def test_max_unpool_scatters_to_the_indices_and_gathers_back():
    x = _rng().standard_normal((2, 3, 8, 6)).astype(np.float32)
    ty, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    y = pool_k.max_unpool_forward(ty.numpy(), tidx.numpy(), (8, 6))
    np.testing.assert_array_equal(y, TF.max_unpool2d(ty, tidx, 2).numpy())
    g = _rng(1).standard_normal(y.shape).astype(np.float32)
    gx = pool_k.max_unpool_backward(g, tidx.numpy(), 2)
    np.testing.assert_array_equal(gx, np.take_along_axis(g.reshape(2, 3, -1),
                                                         tidx.numpy().reshape(2, 3, -1), 2)
                                  .reshape(ty.shape))


# -- padding -----------------------------------------------------------------------------------

def _torch_pad_list(pairs):
    flat = []
    for lo, hi in reversed(pairs):
        flat += [lo, hi]
    return flat


PAD_CASES = [  # (spatial, pairs in dim order)
    ((5,), [(2, 3)]), ((5,), [(-2, 3)]), ((5,), [(4, -1)]), ((4, 6), [(1, 2), (3, 0)]),
    ((4, 6), [(-1, 2), (2, -3)]), ((3, 4, 5), [(1, 1), (0, 2), (2, 1)]), ((1,), [(0, 0)]),
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("spatial,pairs", PAD_CASES)
def test_pad_kernels_match_torch(spatial, pairs, mode):
    x = _rng().standard_normal((2, 3) + spatial)
    tx = torch.tensor(x, requires_grad=True)
    try:
        ty = TF.pad(tx, _torch_pad_list(pairs), mode=mode)
    except RuntimeError:
        pytest.skip("torch rejects this padding too")
    if mode == "constant":
        y = pad_k.constant_pad(x, pairs, 0.0)
    else:
        y = pad_k.index_pad(x, pairs, mode)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    g = _rng(1).standard_normal(y.shape)
    ty.backward(torch.tensor(g))
    if mode == "constant":
        gx = pad_k.constant_pad_backward(g, pairs)
    else:
        gx = pad_k.index_pad_backward(g, x.shape, pairs, mode)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n,lo,hi", [(4, 3, 3), (2, 1, 1), (1, 0, 3), (5, -2, 4)])
def test_pad_source_index_formulas(n, lo, hi):
    reflect = pad_k.pad_source_index(n, lo, hi, "reflect") if max(lo, hi) < n else None
    replicate = pad_k.pad_source_index(n, lo, hi, "replicate")
    for o in range(n + lo + hi):
        p = o - lo
        assert replicate[o] == min(max(p, 0), n - 1)
        if reflect is not None:
            assert reflect[o] == (-p if p < 0 else (2 * (n - 1) - p if p > n - 1 else p))


# -- interpolation -----------------------------------------------------------------------------

INTERP_CASES = [  # (mode, n, out, scale_factor, align_corners)
    (mode, n, out, None, ac)
    for mode in ("nearest", "nearest-exact", "linear")
    for n, out in [(4, 9), (7, 3), (5, 5), (1, 3), (6, 1), (3, 7)]
    for ac in ((False, True) if mode == "linear" else (False,))
] + [
    ("nearest", 7, 12, 1.7, False), ("nearest-exact", 7, 12, 1.7, False),
    ("linear", 5, 11, 2.3, False), ("linear", 9, 4, 0.45, False), ("nearest", 3, 30, 10.1, False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,n,out,scale,align_corners", INTERP_CASES)
def test_interpolation_along_one_axis_matches_torch(mode, n, out, scale, align_corners, dtype):
    x = _rng().standard_normal((2, 3, n)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    kwargs = {"align_corners": align_corners} if mode == "linear" else {}
    if scale is None:
        ty = TF.interpolate(tx, size=out, mode=mode, **kwargs)
    else:
        ty = TF.interpolate(tx, scale_factor=scale, mode=mode, **kwargs)
        out = int(n * scale)
    taps = [resample_k.interpolation_taps(n, out, mode, align_corners, scale, dtype)]
    y = resample_k.interpolate_forward(x, taps)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=tol, atol=tol)
    g = _rng(1).standard_normal(y.shape).astype(dtype)
    ty.backward(torch.tensor(g))
    gx = resample_k.interpolate_backward(g, (n,), taps)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("align_corners", [False, True])
def test_bicubic_taps_match_torch(align_corners):
    x = _rng().standard_normal((1, 2, 5, 6))
    taps = [resample_k.interpolation_taps(5, 8, "cubic", align_corners, None, np.float64),
            resample_k.interpolation_taps(6, 4, "cubic", align_corners, None, np.float64)]
    y = resample_k.interpolate_forward(x, taps)
    ty = TF.interpolate(torch.tensor(x), size=(8, 4), mode="bicubic", align_corners=align_corners)
    np.testing.assert_allclose(y, ty.numpy(), rtol=1e-12, atol=1e-12)


# -- unfold / fold / pixel shuffle -------------------------------------------------------------

@pytest.mark.parametrize("size,k,d,p,s", [
    ((5, 5), (2, 2), (1, 1), (0, 0), (1, 1)), ((7, 6), (3, 2), (2, 1), (1, 2), (2, 3)),
    ((4, 9), (1, 3), (1, 2), (0, 1), (1, 2)), ((3, 3), (3, 3), (1, 1), (1, 1), (1, 1)),
])
def test_unfold_and_fold_match_torch_im2col_col2im(size, k, d, p, s):
    x = _rng().standard_normal((2, 3) + size)
    geometry = _blocks_geometry(x.shape, k, d, p, s)
    cols = conv_k.unfold(x, geometry)
    np.testing.assert_array_equal(cols, TF.unfold(torch.tensor(x), k, d, p, s).numpy())
    back = conv_k.fold(cols, geometry)
    np.testing.assert_allclose(back, TF.fold(torch.tensor(cols), size, k, d, p, s).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_pixel_shuffle_and_unshuffle_match_torch_and_invert_each_other():
    x = _rng().standard_normal((2, 4, 18, 3, 5))
    y = resample_k.pixel_shuffle_forward(x, 3)
    np.testing.assert_array_equal(y, TF.pixel_shuffle(torch.tensor(x), 3).numpy())
    z = resample_k.pixel_unshuffle_forward(y, 3)
    np.testing.assert_array_equal(z, x)
    np.testing.assert_array_equal(z, TF.pixel_unshuffle(torch.tensor(y), 3).numpy())
