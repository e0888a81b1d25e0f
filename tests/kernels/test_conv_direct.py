"""The direct convolution loops (``kernels/_conv_direct``, few channels) against torch.

``kernels.conv`` sends 2-d stride-1 convolutions with at most ``DIRECT_MAX_CHANNELS`` channels
to these loops (the weight gradient too when the taps are few); each case here is checked
through ``kernels.conv`` (values and both gradients, float32 and float64, per-side padding,
bias or none, batch split over threads or not) and also with the direct path switched off,
so the im2col path it replaces stays checked on the same shapes.
"""

import numpy as np
import pytest

from juanji.kernels import conv as K
from juanji.kernels.window import Window

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}

# (batch, channels, out_channels, (H, W), (kH, kW), ((lo_h, hi_h), (lo_w, hi_w)))
CASES = [
    (3, 1, 6, (28, 28), (5, 5), ((2, 2), (2, 2))),     # LeNet conv1 (few taps: direct weight grad)
    (2, 6, 16, (14, 14), (5, 5), ((0, 0), (0, 0))),    # LeNet conv2
    (2, 3, 16, (9, 11), (3, 3), ((1, 1), (1, 1))),     # a ResNet stem on an odd plane
    (1, 16, 5, (7, 6), (3, 2), ((0, 2), (1, 0))),      # asymmetric padding, odd output count
    (4, 2, 3, (5, 5), (5, 5), ((0, 0), (0, 0))),       # a 1x1 output plane
    (2, 4, 7, (1, 9), (1, 3), ((0, 0), (2, 1))),       # one row
    (130, 2, 4, (8, 8), (3, 3), ((1, 1), (1, 1))),     # big enough to be split over threads
]


def _torch_reference(x, w, bias, pads, gy):
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    flat = [pads[1][0], pads[1][1], pads[0][0], pads[0][1]]  # F.pad order: last dim first
    ty = TF.conv2d(TF.pad(tx, flat), tw, None if bias is None else torch.tensor(bias))
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    return ty.detach().numpy(), dx.numpy(), dw.numpy()


def _case(case, dtype, seed):
    batch, c, o, spatial, kernel, pads = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c) + spatial).astype(dtype)
    w = rng.standard_normal((o, c) + kernel).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype)
    window = Window(kernel, (1, 1), tuple(p[0] for p in pads), tuple(p[1] for p in pads), (1, 1))
    geom = K.conv_geometry(window, x.shape, o, 1)
    gy = rng.standard_normal(geom.output_shape()).astype(dtype)
    return x, w, bias, geom, gy


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "im2col"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("index", range(len(CASES)))
def test_direct_conv_matches_torch(index, with_bias, dtype, direct, monkeypatch):
    case = CASES[index]
    x, w, bias, geom, gy = _case(case, dtype, seed=index)
    if not direct:
        monkeypatch.setattr(K, "DIRECT_MAX_CHANNELS", 0)
    assert K.direct_applies(geom) == direct
    bias = bias if with_bias else None
    ty, tdx, tdw = _torch_reference(x, w, bias, case[5], gy)
    y = K.conv_forward(x, w, geom, bias=bias)
    assert y.dtype == dtype and y.shape == ty.shape
    np.testing.assert_allclose(y, ty, **TOL[dtype])
    gx, gw = K.conv_backward(gy, x, w, geom)
    np.testing.assert_allclose(gx, tdx, **TOL[dtype])
    np.testing.assert_allclose(gw, tdw, **TOL[dtype])
    np.testing.assert_allclose(K.conv_backward_input(gy, w, geom), tdx, **TOL[dtype])
    np.testing.assert_allclose(K.conv_backward_weight(gy, x, geom), tdw, **TOL[dtype])


def test_direct_rule():
    """Which convolutions the direct loops take (the rest keep im2col, Winograd or depthwise)."""
    def geom(c, o, kernel=(5, 5), stride=(1, 1), groups=1, spatial=(12, 12), dilation=(1, 1)):
        window = Window(kernel, stride, (0, 0), (0, 0), dilation)
        return K.conv_geometry(window, (2, c) + spatial, o, groups)

    assert K.direct_applies(geom(1, 6)) and K.direct_weight_applies(geom(1, 6))
    assert K.direct_applies(geom(6, 16)) and not K.direct_weight_applies(geom(6, 16))
    assert not K.direct_applies(geom(6, 32))                    # too many output channels
    assert not K.direct_applies(geom(32, 6))                    # too many input channels
    assert not K.direct_applies(geom(4, 4, stride=(2, 2)))      # strided
    assert not K.direct_applies(geom(4, 4, dilation=(2, 2)))    # dilated
    assert not K.direct_applies(geom(4, 4, groups=2))           # grouped
    assert not K.direct_applies(geom(4, 4, kernel=(1, 1)))      # pointwise: one product per sample
    assert not K.direct_applies(K.conv_geometry(Window((3,), (1,), (0,), (0,), (1,)), (2, 4, 9), 4, 1))  # 1-d


def test_direct_conv_is_repeatable_bit_for_bit():
    x, w, bias, geom, gy = _case(CASES[0], np.float32, seed=7)
    first = K.conv_backward(gy, x, w, geom)
    second = K.conv_backward(gy, x, w, geom)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
