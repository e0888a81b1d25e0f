"""Stride-2 convolutions with even kernels as stride-1 ones over the input's four phases taken as
channels (``kernels._phases.stride_split``, ``kernels.conv._stride_phases``): the split's layout,
the rule, and values and every gradient (input, weight, bias) against torch for convolutions and
transposed convolutions (whose input gradient is such a convolution), float32 on the route and
float64 (which keeps im2col), with cases that must take the route and cases that must not."""

import numpy as np
import pytest

from juanji.kernels import _phases
from juanji.kernels import _simd
from juanji.kernels import conv as K
from juanji.kernels.window import Window
from tests.helpers import conv_matches_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("shape,lo,rows_cols", [
    ((2, 3, 8, 8), (1, 1), (5, 5)),
    ((1, 2, 7, 9), (2, 1), (6, 6)),   # odd sizes, more padding above than at the left
    ((2, 1, 6, 5), (0, 0), (3, 2)),   # no padding, phase planes that stop short of the input's end
    ((1, 2, 4, 4), (3, 0), (6, 3)),   # phase planes past the input's end: zeros
    ((2, 3, 5, 21), (1, 1), (4, 12)),  # wide rows: the de-interleaving loop between the tested edges
    ((1, 2, 3, 20), (0, 3), (3, 13)),  # odd left padding: the edge columns on both sides
    ((1, 1, 2, 1), (1, 2), (3, 3)),    # a one-column input: no inner columns
])
def test_stride_split_layout(shape, lo, rows_cols):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    rows, cols = rows_cols
    out = _phases.stride_split(x, lo[0], lo[1], rows, cols)
    n, c, h, w = shape
    padded = np.zeros((n, c, 2 * rows + lo[0] + h, 2 * cols + lo[1] + w), np.float32)
    padded[:, :, lo[0]:lo[0] + h, lo[1]:lo[1] + w] = x
    for py in range(2):
        for px in range(2):
            want = padded[:, :, py:py + 2 * rows:2, px:px + 2 * cols:2]
            np.testing.assert_array_equal(out[:, (py * 2 + px) * c:(py * 2 + px + 1) * c], want)


# (input shape, weight shape, keyword arguments, transposed, takes the route in float32)
CASES = [
    ((3, 32, 32, 32), (64, 32, 4, 4), dict(stride=2, padding=1), False, True),      # DCGAN's discriminator
    ((2, 3, 35, 33), (16, 3, 4, 6), dict(stride=2, padding=(2, 1)), False, True),   # odd sizes, a 4x6 kernel
    ((1, 8, 34, 36), (24, 8, 4, 4), dict(stride=2), False, True),                   # batch 1: blocks of channels
    ((2, 16, 40, 40), (32, 16, 6, 6), dict(stride=2, padding=2), False, True),
    ((2, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1), True, True),       # DCGAN's generator
    ((2, 16, 16, 16), (16, 8, 4, 4), dict(stride=2, padding=1, output_padding=1), True, True),
    ((3, 8, 17, 16), (8, 12, 4, 6), dict(stride=2, padding=(1, 2), output_padding=1), True, True),
    ((2, 32, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1), False, False),     # an 8x8 output plane
    ((2, 64, 32, 32), (64, 64, 4, 4), dict(stride=2, padding=1), False, False),     # 64 input channels
    ((2, 32, 32, 32), (128, 32, 4, 4), dict(stride=2, padding=1), False, False),    # 128 output channels
    ((2, 16, 32, 32), (32, 16, 3, 3), dict(stride=2, padding=1), False, False),     # an odd kernel
    ((2, 16, 32, 32), (32, 16, 2, 2), dict(stride=2), False, False),                # 2x2: a 1x1 phase kernel
    ((2, 16, 32, 32), (32, 16, 4, 4), dict(stride=2, padding=1, dilation=2), False, False),
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


def _geometry(x_shape, w_shape, kwargs, transposed):
    """The kernels' geometry of the case (for a transposed one: of its adjoint convolution)."""
    s, p, d = (_pair(kwargs.get(k, 0 if k == "padding" else 1)) for k in ("stride", "padding", "dilation"))
    window = Window(w_shape[2:], s, p, p, d)
    if transposed:
        extra = _pair(kwargs.get("output_padding", 0))
        out = tuple((n - 1) * si - 2 * pi + di * (k - 1) + 1 + e
                    for n, k, si, pi, di, e in zip(x_shape[2:], w_shape[2:], s, p, d, extra))
        return K.conv_geometry(window, (x_shape[0], w_shape[1]) + out, x_shape[1])
    return K.conv_geometry(window, x_shape, w_shape[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(CASES)))
def test_stride_two_convolution_matches_torch(index, dtype):
    x_shape, w_shape, kwargs, transposed, routed = CASES[index]
    geom = _geometry(x_shape, w_shape, kwargs, transposed)
    routed = routed and _simd.takes_halves(np.float32) and dtype == np.float32
    assert K._stride_phases(geom, np.dtype(dtype)) == routed
    assert K._im2col_path(geom, np.dtype(dtype)) == (not routed)  # (the weight gradient is im2col's either way)
    conv_matches_torch(x_shape, w_shape, kwargs, transposed, dtype, index)


@pytest.mark.skipif(not _simd.takes_halves(np.float32), reason="the route runs on the 512-bit loops (AVX-512 or AVX2)")
@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_the_route_and_im2col_agree(index, monkeypatch):
    """Torch-free: the forward on the route and on im2col (the rule switched off) within float32
    rounding of the sums, in every position (the phases' planes hold each tap once)."""
    x_shape, w_shape, kwargs, _, _ = CASES[index]
    geom = _geometry(x_shape, w_shape, kwargs, False)
    rng = np.random.default_rng(100 + index)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    assert K._stride_phases(geom, np.dtype(np.float32))
    routed = K.conv_forward(x, w, geom, bias=b)
    monkeypatch.setattr(K, "STRIDE_PHASES_MAX_CHANNELS", 0)
    assert not K._stride_phases(geom, np.dtype(np.float32))
    plain = K.conv_forward(x, w, geom, bias=b)
    scale = np.abs(x).max() * np.abs(w).sum(axis=(1, 2, 3)).max()  # a bound on any partial sum
    np.testing.assert_allclose(routed, plain, rtol=0, atol=4e-7 * scale)


@pytest.mark.skipif(not _simd.takes_halves(np.float32), reason="the route runs on the 512-bit loops (AVX-512 or AVX2)")
@pytest.mark.parametrize("index", [4, 5, 6])
def test_transposed_gradients_share_one_split(index, monkeypatch):
    """Torch-free: from ``STRIDE_PHASES_SHARED_MIN_BATCH`` samples both gradients of a transposed
    convolution on the route come from one split of its output gradient, and equal those computed
    apart (input gradient on the route, weight gradient by im2col of the output gradient) within
    float32 rounding of the sums; at batch 1 they are computed apart."""
    x_shape, w_shape, kwargs, transposed, routed = CASES[index]
    assert transposed and routed
    geom = _geometry(x_shape, w_shape, kwargs, True)
    rng = np.random.default_rng(200 + index)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    gy = rng.standard_normal(geom.input_shape()).astype(np.float32)
    calls = []
    shared = K._stride_phase_transpose_backward
    monkeypatch.setattr(K, "_stride_phase_transpose_backward", lambda *a: calls.append(1) or shared(*a))
    gx, gw = K.conv_transpose_backward(gy, x, w, geom)
    assert calls == [1]
    monkeypatch.setattr(K, "STRIDE_PHASES_SHARED_MIN_BATCH", x_shape[0] + 1)
    gx_apart, gw_apart = K.conv_transpose_backward(gy, x, w, geom)
    assert calls == [1]
    np.testing.assert_array_equal(gx, gx_apart)  # the same loops on the same phases
    scale = np.abs(gy).max() * np.abs(x).max() * x_shape[0] * np.prod(x_shape[2:])  # a bound on any partial sum
    np.testing.assert_allclose(gw, gw_apart, rtol=0, atol=4e-7 * scale)
    one = K.conv_geometry(geom.window, (1,) + geom.input_shape()[1:], geom.out_channels)
    K.conv_transpose_backward(gy[:1], x[:1], w, one)
    assert calls == [1]
