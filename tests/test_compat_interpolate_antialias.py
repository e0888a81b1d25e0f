"""``F.interpolate(..., antialias=True)`` (bilinear/bicubic, Pillow's resampling) against torch:
values and gradients over a grid of sizes, modes, align_corners and dtypes, scale factors,
juanji's own float64 gradcheck, and torch's error for the modes it does not cover."""

import itertools

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import compare_with_torch
from tests.test_compat_support import torch_or_skip

F = juanji.nn.functional

SHAPES = [(2, 3, 7, 9), (1, 2, 32, 30), (1, 1, 5, 5)]
SIZES = [(3, 4), (5, 5), (16, 40), (1, 2), (31, 3)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode, align_corners", list(itertools.product(["bilinear", "bicubic"], [False, True])))
@pytest.mark.parametrize("shape, size", list(itertools.product(SHAPES, SIZES)))
def test_antialiased_resize_matches_torch(shape, size, mode, align_corners, dtype):
    torch = torch_or_skip()
    x = np.random.default_rng(sum(shape) + sum(size)).standard_normal(shape).astype(dtype)
    # float32 weights are normalised sums of a few terms: a few ulps of an O(1) output
    tolerance = dict(rtol=1e-5, atol=5e-6) if dtype == "float32" else {}

    def resize(lib):
        return lambda t: lib.nn.functional.interpolate(t, size=size, mode=mode, align_corners=align_corners,
                                                       antialias=True)

    compare_with_torch(resize(juanji), resize(torch), [x], **tolerance)


@pytest.mark.parametrize("scale_factor", [0.5, 0.3, 1.7, 2.0, (0.25, 3)])
@pytest.mark.parametrize("recompute_scale_factor", [None, True])
def test_antialiased_scale_factors_match_torch(scale_factor, recompute_scale_factor):
    torch = torch_or_skip()
    x = np.random.default_rng(1).standard_normal((1, 2, 13, 11)).astype(np.float32)

    def resize(lib):
        return lambda t: lib.nn.functional.interpolate(t, scale_factor=scale_factor, mode="bilinear", antialias=True,
                                                       recompute_scale_factor=recompute_scale_factor)

    compare_with_torch(resize(juanji), resize(torch), [x], rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_antialiased_resize_gradcheck(mode):
    x = juanji.tensor(np.random.default_rng(2).standard_normal((1, 2, 9, 7)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, size=(4, 10), mode=mode, antialias=True), (x,))


def test_rows_average_when_shrinking_by_an_integer_factor():
    """Shrinking 4x with the widened triangle: each output is a weighted mean of the inputs
    under it, so a constant image stays constant and a ramp's mean is kept."""
    ramp = juanji.arange(16.0).reshape(1, 1, 1, 16).expand(1, 1, 4, 16)
    y = F.interpolate(ramp, size=(4, 4), mode="bilinear", antialias=True)
    assert y.mean().item() == pytest.approx(7.5)
    flat = F.interpolate(juanji.full((1, 1, 12, 12), 3.0), size=(5, 3), mode="bicubic", antialias=True)
    np.testing.assert_allclose(flat.numpy(), 3.0, rtol=1e-6)


@pytest.mark.parametrize("mode, shape", [("nearest", (1, 1, 4, 4)), ("area", (1, 1, 4, 4)),
                                         ("linear", (1, 1, 4)), ("trilinear", (1, 1, 4, 4, 4)),
                                         ("bilinear", (1, 4, 4))])
def test_antialias_outside_bilinear_and_bicubic_4d_is_torchs_value_error(mode, shape):
    torch = torch_or_skip()
    for lib in (juanji, torch):
        with pytest.raises(ValueError, match="[Aa]nti-alias option is restricted to bilinear"):
            lib.nn.functional.interpolate(lib.ones(shape), size=(2,) * (len(shape) - 2), mode=mode, antialias=True)
