"""Dilated convolutions as undilated ones over the input's phases (``kernels._phases``,
``kernels.conv._dilation_phases``): the split/merge layout, and values and every gradient
(input, weight, bias) against torch for convolutions and transposed convolutions, float32 (the
route Winograd takes) and float64 (the same route forced), with cases that must take the route
and cases that must not."""

import numpy as np
import pytest

from juanji.kernels import _phases
from juanji.kernels import _simd
from juanji.kernels import conv as K
from juanji.kernels.window import Window
from tests.helpers import conv_matches_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("factors", [(1, 2, 2), (1, 3, 1), (2, 1, 3), (1, 1, 4)])
def test_split_layout_and_merge_inverse(factors):
    rng = np.random.default_rng(sum(factors))
    fd, fh, fw = factors
    x = rng.standard_normal((3, 2, 2 * fd, 3 * fh, 5 * fw))
    parts = _phases.split(x, factors)
    n, c, d, h, w = x.shape
    expected = x.reshape(n, c, d // fd, fd, h // fh, fh, w // fw, fw).transpose(0, 3, 5, 7, 1, 2, 4, 6)
    np.testing.assert_array_equal(parts, expected.reshape(parts.shape))
    np.testing.assert_array_equal(_phases.merge(parts, x.shape, factors), x)


def test_split_refuses_sizes_the_factors_do_not_divide():
    with pytest.raises(ValueError, match="phase split"):
        _phases.split(np.zeros((1, 1, 1, 5, 4)), (1, 2, 2))


# (input shape, weight shape, keyword arguments, transposed, takes the phase route in float32)
CASES = [
    ((3, 32, 16, 16), (32, 32, 3, 3), dict(padding=2, dilation=2), False, True),
    ((2, 40, 12, 18), (36, 40, 3, 3), dict(padding=(3, 6), dilation=(3, 6)), False, True),
    ((2, 32, 12, 12), (48, 32, 3, 3), dict(padding=(0, 4), dilation=(2, 4)), False, True),
    ((2, 40, 8, 8), (40, 32, 3, 3), dict(padding=2, dilation=2), True, True),
    ((2, 32, 15, 16), (32, 32, 3, 3), dict(padding=2, dilation=2), False, False),   # 15 % 2
    ((2, 32, 16, 16), (32, 32, 3, 3), dict(padding=1, dilation=2), False, False),   # padding 1 % 2
    ((2, 32, 16, 16), (32, 32, 3, 3), dict(padding=2, dilation=2, stride=2), False, False),
    # few channels: the phases only where they run on the 512-bit direct loops (float32, AVX-512)
    ((2, 8, 16, 16), (8, 8, 3, 3), dict(padding=2, dilation=2), False, "direct"),
]


def _geometry(x_shape, w_shape, kwargs, transposed):
    """The kernels' geometry of the case (for a transposed one: of its adjoint convolution)."""
    s, p, d = (kwargs.get(k, 1 if k != "padding" else 0) for k in ("stride", "padding", "dilation"))
    pair = lambda v: v if isinstance(v, tuple) else (v, v)
    window = Window(w_shape[2:], pair(s), pair(p), pair(p), pair(d))
    if transposed:
        out = tuple((n - 1) * si - 2 * pi + di * (k - 1) + 1 for n, k, si, pi, di in
                    zip(x_shape[2:], w_shape[2:], pair(s), pair(p), pair(d)))
        return K.conv_geometry(window, (x_shape[0], w_shape[1]) + out, x_shape[1])
    return K.conv_geometry(window, x_shape, w_shape[0])


def _force_phase_winograd(geom, dtype):
    """``winograd_tile`` that also picks Winograd in float64 (to check the route exactly)."""
    plain = geom.ndim == 2 and geom.groups == 1 and geom.kernel == (1, 3, 3) and geom.stride == (1, 1, 1) \
        and geom.dilation == (1, 1, 1) and min(geom.channels, geom.out_channels) >= 32
    return 4 if plain else 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(CASES)))
def test_dilated_convolution_matches_torch(index, dtype, monkeypatch):
    x_shape, w_shape, kwargs, transposed, phased = CASES[index]
    if dtype == np.float64:
        monkeypatch.setattr(K, "winograd_tile", _force_phase_winograd)
    geom = _geometry(x_shape, w_shape, kwargs, transposed)
    if phased == "direct":
        phased = _simd.takes_halves(np.float32) and dtype == np.float32
    assert (K._dilation_phases(geom, np.dtype(dtype)) is not None) == phased
    conv_matches_torch(x_shape, w_shape, kwargs, transposed, dtype, index)


def test_each_gradient_alone_matches_both_at_once():
    """``conv_backward_input`` / ``conv_backward_weight`` on the route give what ``conv_backward`` gives."""
    x_shape, w_shape, kwargs, _, _ = CASES[0]
    geom = _geometry(x_shape, w_shape, kwargs, False)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    gy = rng.standard_normal(geom.output_shape()).astype(np.float32)
    gx, gw = K.conv_backward(gy, x, w, geom)
    np.testing.assert_array_equal(K.conv_backward_input(gy, w, geom), gx)
    np.testing.assert_array_equal(K.conv_backward_weight(gy, x, geom), gw)


def test_phase_route_gradients_are_the_adjoints_of_its_forward(monkeypatch):
    """Torch-free: on the route (forced in float64), <conv(x, w), gy> = <x, grad x> = <w, grad w>."""
    monkeypatch.setattr(K, "winograd_tile", _force_phase_winograd)
    x_shape, w_shape, kwargs, _, _ = CASES[1]
    geom = _geometry(x_shape, w_shape, kwargs, False)
    assert K._dilation_phases(geom, np.dtype(np.float64)) is not None
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    gy = rng.standard_normal(geom.output_shape())
    inner = np.vdot(K.conv_forward(x, w, geom), gy)
    gx, gw = K.conv_backward(gy, x, w, geom)
    assert np.isclose(np.vdot(x, gx), inner, rtol=1e-10)
    assert np.isclose(np.vdot(w, gw), inner, rtol=1e-10)
