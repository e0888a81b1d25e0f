"""im2col/col2im by an index table for small output planes (``kernels.conv``,
``SMALL_PLANE_POSITIONS``): values and both gradients against torch, 1-d to 3-d, strided,
dilated, padded on one side, grouped, one sample or several; and the same results as the im2col
loops. Then the products with few columns (``NARROW_MAX_POSITIONS``, ``gemm.matmul_narrow``)."""

import numpy as np
import pytest

from juanji.kernels import conv as K
from juanji.kernels.window import Window

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# (input shape (1, C, *S), out_channels, kernel, stride, dilation, pad_lo, pad_hi, groups)
CASES = [
    ((1, 8, 4, 4), 6, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1),
    ((1, 6, 9, 7), 4, (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), 1),
    ((1, 4, 8, 8), 4, (3, 3), (1, 1), (2, 2), (2, 2), (2, 2), 2),
    ((1, 3, 5, 6), 5, (2, 4), (1, 2), (1, 1), (0, 2), (1, 0), 1),
    ((1, 4, 11), 3, (3,), (2,), (1,), (1,), (1,), 1),
    ((1, 2, 3, 4, 4), 3, (2, 3, 3), (1, 1, 1), (1, 1, 1), (0, 1, 1), (1, 1, 1), 1),
    ((3, 8, 4, 4), 6, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1),
    ((2, 6, 8, 8), 4, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
    ((4, 4, 5, 5), 4, (1, 1), (2, 2), (1, 1), (0, 0), (0, 0), 2),
]


def _torch_conv(x, w, case):
    _, _, kernel, stride, dilation, lo, hi, groups = case
    pads = []
    for l, h in reversed(list(zip(lo, hi))):
        pads += [l, h]
    fn = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[len(kernel)]
    return fn(TF.pad(x, pads), w, None, stride, 0, dilation, groups)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(CASES)))
def test_small_plane_columns_match_torch(index, dtype, monkeypatch):
    case = CASES[index]
    shape, out_c, kernel, stride, dilation, lo, hi, groups = case
    rng = np.random.default_rng(index)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_c, shape[1] // groups) + kernel).astype(dtype)
    geom = K.conv_geometry(Window(kernel, stride, lo, hi, dilation), shape, out_c, groups)
    assert geom.out_volume <= K.SMALL_PLANE_POSITIONS
    monkeypatch.setattr(K, "DIRECT_MAX_CHANNELS", 0)   # im2col, not the direct loops
    monkeypatch.setattr(K, "VECTOR_MAX_CHANNELS", 0)
    monkeypatch.setattr(K, "winograd_tile", lambda g, d: 0)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = _torch_conv(tx, tw, case)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    y = K.conv_forward(x, w, geom)
    np.testing.assert_allclose(y, ty.detach().numpy(), **tol)
    gx, gw = K.conv_backward(gy, x, w, geom)
    np.testing.assert_allclose(gx, dx.numpy(), **tol)
    np.testing.assert_allclose(gw, dw.numpy(), **tol)
    monkeypatch.setattr(K, "SMALL_PLANE_POSITIONS", 0)  # the im2col loops on the same case
    np.testing.assert_allclose(K.conv_forward(x, w, geom), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(K.conv_backward(gy, x, w, geom)[0], gx, rtol=1e-12, atol=1e-12)


# (batch, in, out, size, kernel, stride, padding): products of 4 to 64 columns
NARROW = [(1, 64, 48, 4, 3, 1, 1), (1, 64, 40, 2, 3, 1, 1), (2, 48, 24, 2, 3, 1, 1), (2, 40, 24, 4, 3, 1, 1), (3, 24, 20, 2, 3, 1, 1), (2, 64, 32, 8, 1, 2, 0),
          (1, 48, 40, 8, 3, 1, 1), (4, 20, 36, 6, 3, 2, 1), (1, 32, 16, 7, 2, 1, 0),
          # pointwise: one sample's 8x8 plane (which one product per sample took before), 4x4, two samples
          (1, 96, 64, 8, 1, 1, 0), (1, 160, 96, 4, 1, 1, 0), (2, 64, 48, 4, 1, 1, 0)]


def _im2col_case(case, monkeypatch, seed, **switches):
    """A float32 case ``(batch, in, out, size, kernel, stride, padding)`` on the im2col path (no direct
    loops, no Winograd; ``switches``: more attributes of ``kernels.conv`` to set): ``(x, w, geom, gy, y,
    dx, dw, calls)`` with torch's output and gradients for the output gradient ``gy``, and the list
    that records the ``b``-shape of every ``gemm.matmul_narrow`` call."""
    from juanji.kernels import gemm
    n, c, o, size, k, s, p = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    geom = K.conv_geometry(Window((k, k), (s, s), (p, p), (p, p), (1, 1)), x.shape, o, 1)
    monkeypatch.setattr(K, "DIRECT_MAX_CHANNELS", 0)
    monkeypatch.setattr(K, "VECTOR_MAX_CHANNELS", 0)
    monkeypatch.setattr(K, "winograd_tile", lambda g, d: 0)
    for name, value in switches.items():
        monkeypatch.setattr(K, name, value)
    calls = []
    narrow = gemm.matmul_narrow
    monkeypatch.setattr(gemm, "matmul_narrow", lambda *a: calls.append(a[1].shape) or narrow(*a))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = TF.conv2d(tx, tw, None, s, p)
    gy = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    dx, dw = (t.numpy() for t in torch.autograd.grad(ty, (tx, tw), torch.tensor(gy)))
    return x, w, geom, gy, ty.detach().numpy(), dx, dw, calls


@pytest.mark.parametrize("case", NARROW, ids=str)
def test_narrow_products_match_torch_and_blas(case, monkeypatch):
    """float32 forward and both gradients with the few-column products against torch, and against
    the same convolution through BLAS; the 512-bit loops must have run (where the CPU has them)."""
    from juanji.kernels import _simd
    n, c, o = case[:3]
    x, w, geom, gy, ty, dx, dw, calls = _im2col_case(
        case, monkeypatch, n * c + o, direct_forward_applies=lambda g, d=None: False,
        FEW_OUT_INPUT=False, FEW_OUT_WEIGHT=False)  # (the few-output-channel products: tests below)
    y = K.conv_forward(x, w, geom)
    gx, gw = K.conv_backward(gy, x, w, geom)
    width = n * geom.out_volume
    if _simd.AVAILABLE:
        assert len(calls) == (width >= K.NARROW_MIN_POSITIONS) + (width <= K.NARROW_WEIGHT_MAX_POSITIONS)
    elif _simd.HALVES:  # (AVX2: the forward product only, up to 32 columns)
        assert len(calls) == (K.NARROW_MIN_POSITIONS <= width <= K.NARROW_HALF_MAX_POSITIONS)
    tol = dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y, ty, **tol)
    np.testing.assert_allclose(gx, dx, **tol)
    np.testing.assert_allclose(gw, dw, **tol)
    monkeypatch.setattr(K, "_narrow", lambda g, d, weight=False: False)
    np.testing.assert_allclose(K.conv_forward(x, w, geom), y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.conv_backward(gy, x, w, geom)[1], gw, rtol=1e-5, atol=1e-6)


# (batch, in, out, size, kernel, stride, padding): im2col weight gradients of 16 to 64 output channels
# over many positions, which take the few-column loops transposed (``FEW_OUT_WEIGHT``)
FEW_OUT = [(4, 16, 32, 32, 3, 2, 1), (2, 32, 64, 32, 3, 2, 1), (3, 16, 48, 20, 5, 1, 2), (2, 8, 16, 32, 1, 2, 0)]


def _few_out_case(case, monkeypatch, seed):
    """A FEW_OUT case on the im2col path (:func:`_im2col_case`, strided layers not split into phases)."""
    return _im2col_case(case, monkeypatch, seed, gradient_tile=lambda g, d: 0, _stride_phases=lambda g, d: False,
                        direct_input_grad_applies=lambda g, d=None: False)


@pytest.mark.parametrize("case", FEW_OUT, ids=str)
def test_few_output_channels_weight_gradient_matches_torch(case, monkeypatch):
    """The transposed weight gradient ``cols @ gy.T`` of layers with 16-64 output channels on the
    few-column loops (``FEW_OUT_WEIGHT``), against torch, then with the switch off (BLAS)."""
    from juanji.kernels import _simd
    x, w, geom, gy, _, dx, dw, calls = _few_out_case(case, monkeypatch, sum(case[:3]) + case[4])
    gw = K.conv_backward_weight(gy, x, geom)
    if _simd.AVAILABLE:
        assert calls and all(shape[1] == case[2] for shape in calls)  # (positions, out channels): gy transposed
    np.testing.assert_allclose(gw, dw, rtol=1e-4, atol=1e-4)
    monkeypatch.setattr(K, "FEW_OUT_WEIGHT", False)
    calls.clear()
    np.testing.assert_allclose(K.conv_backward_weight(gy, x, geom), dw, rtol=1e-4, atol=1e-4)
    assert not calls


@pytest.mark.parametrize("case", FEW_OUT[:3], ids=str)
def test_few_output_channels_input_gradient_matches_torch(case, monkeypatch):
    """The input gradient's product ``w.T @ gy`` of those layers (inner side: the output channels) on the
    few-column loops (``FEW_OUT_INPUT``), against torch, then with the switch off (BLAS)."""
    from juanji.kernels import _simd
    x, w, geom, gy, _, dx, dw, calls = _few_out_case(case, monkeypatch, case[0] * case[2] + case[4])
    gx = K.conv_backward_input(gy, w, geom)
    if _simd.AVAILABLE:
        assert calls and all(shape[0] == case[2] for shape in calls)  # (out channels, positions): gy's columns
    np.testing.assert_allclose(gx, dx, rtol=1e-4, atol=1e-4)
    monkeypatch.setattr(K, "FEW_OUT_INPUT", False)
    calls.clear()
    np.testing.assert_allclose(K.conv_backward_input(gy, w, geom), dx, rtol=1e-4, atol=1e-4)
    assert not calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("shape,out_c", [((1, 128, 4, 4), 32),    # 16 positions: the few-column loops
                                         ((1, 96, 8, 8), 576),     # 64: one product per sample
                                         ((1, 160, 2, 2), 128),    # 4: BLAS, through the columns' road
                                         ((1, 7, 5, 3), 3),        # small, odd sizes
                                         ((1, 24, 9), 40),         # 1-d
                                         ((1, 16, 2, 3, 3), 8)])   # 3-d
def test_pointwise_sample_is_the_im2col_road_bit_for_bit_and_matches_torch(shape, out_c, bias, dtype):
    """One sample's ungrouped pointwise convolution (``_pointwise_sample``, taken before the dispatch):
    the same bits as the im2col road it shortcuts (``_im2col_forward``), and torch's values, for a
    contiguous input and a strided one."""
    rng = np.random.default_rng(sum(shape) + out_c)
    ndim = len(shape) - 2
    geom = K.conv_geometry(Window((1,) * ndim, (1,) * ndim, (0,) * ndim, (0,) * ndim, (1,) * ndim), shape, out_c, 1)
    w = rng.standard_normal((out_c, shape[1]) + (1,) * ndim).astype(dtype)
    b = rng.standard_normal(out_c).astype(dtype) if bias else None
    wide = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype)
    for x in (np.ascontiguousarray(wide[..., ::2]), wide[..., ::2]):
        y = K.conv_forward(x, w, geom, bias=b)
        assert y.shape == geom.output_shape() and y.dtype == dtype
        road = np.empty(geom.lifted("output"), dtype)
        bias_arr, use_bias = K._bias_args(b, dtype)
        K._im2col_forward(K._lift(x, geom, "input"), K._lift(w, geom, "weight"), road, geom, bias_arr, use_bias)
        np.testing.assert_array_equal(y, road.reshape(y.shape))
        fn = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[ndim]
        want = fn(torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b)).numpy()
        np.testing.assert_allclose(y, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=(1e-5 if dtype == np.float32 else 1e-12) * np.abs(want).max())
