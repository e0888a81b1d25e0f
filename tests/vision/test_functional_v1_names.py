"""The transforms.functional (v1) operations that share their implementation with v2 — and the two whose
v1 arithmetic differs (adjust_sharpness, autocontrast) — against torchvision's v1 functional, on tensors
and PIL images."""

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.vision.transforms import InterpolationMode
from juanji.vision.transforms import functional as F

RNG = np.random.default_rng(7)
IMG8 = RNG.integers(0, 256, (3, 17, 23), dtype=np.uint8)
IMGF = RNG.random((3, 17, 23)).astype(np.float32)
CORNERS, MOVED = [[0, 0], [22, 0], [22, 16], [0, 16]], [[2, 1], [20, 3], [21, 15], [1, 14]]

CASES = [("affine", [20.0, [3, -2], 1.2, [10.0, 5.0]], {}), ("affine", [-7.0, [1, 1], 0.9, 4.0], {"fill": [9, 8, 7]}),
         ("rotate", [33.0], {"interpolation": "bilinear", "fill": [1, 2, 3]}), ("adjust_sharpness", [1.8], {}),
         ("adjust_sharpness", [0.2], {}), ("adjust_gamma", [0.7], {}), ("adjust_gamma", [1.5, 0.8], {}),
         ("autocontrast", [], {}), ("invert", [], {}), ("gaussian_blur", [[5, 3]], {}),
         ("gaussian_blur", [3, [0.5, 1.5]], {}), ("perspective", [CORNERS, MOVED], {})]
UINT8_CASES = [("equalize", [], {}), ("posterize", [3], {}), ("solarize", [100], {})]


def _kwargs(module, kwargs):
    out = dict(kwargs)
    if "interpolation" in out:
        out["interpolation"] = module.InterpolationMode(out["interpolation"])
    return out


@pytest.mark.parametrize("name, args, kwargs", CASES + UINT8_CASES, ids=[c[0] for c in CASES + UINT8_CASES])
@pytest.mark.parametrize("kind", ["uint8", "float32", "pil"])
def test_v1_functional_matches_torchvision(tv, name, args, kwargs, kind):
    import torch
    from torchvision.transforms import functional as T1
    if kind == "float32" and (name, args, kwargs) in UINT8_CASES:
        pytest.skip("a uint8 operation")
    if kind == "pil":
        picture = Image.fromarray(IMG8.transpose(1, 2, 0))
        got = getattr(F, name)(picture, *args, **_kwargs(F, kwargs))
        want = getattr(T1, name)(picture, *args, **_kwargs(T1, kwargs))
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
        return
    arr = IMG8 if kind == "uint8" else IMGF
    got = getattr(F, name)(juanji.from_numpy(arr.copy()), *args, **_kwargs(F, kwargs)).numpy()
    want = getattr(T1, name)(torch.from_numpy(arr.copy()), *args, **_kwargs(T1, kwargs)).numpy()
    assert got.dtype == want.dtype
    if kind == "uint8":
        np.testing.assert_array_equal(got, want)
    elif name in ("rotate", "affine", "perspective"):  # float32 coordinate rounding: see test_v2_functional
        np.testing.assert_allclose(got, want, atol=2e-5)
    else:
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_five_and_ten_crop_and_erase_by_hand():
    x = juanji.from_numpy(np.arange(36, dtype=np.float32).reshape(1, 6, 6))
    tl, tr, bl, br, center = F.five_crop(x, 2)
    assert tl.tolist() == [[[0, 1], [6, 7]]] and br.tolist() == [[[28, 29], [34, 35]]]
    assert center.tolist() == [[[14, 15], [20, 21]]]
    ten = F.ten_crop(x, [2, 2])
    assert len(ten) == 10 and ten[5].tolist() == [[[5, 4], [11, 10]]]   # the mirrored image's top-left
    erased = F.erase(x, 1, 2, 2, 3, juanji.tensor(-1.0))
    assert erased.numpy()[0, 1:3, 2:5].tolist() == [[-1.0] * 3] * 2 and x.numpy()[0, 1, 2] == 8.0
    assert InterpolationMode("nearest") is InterpolationMode.NEAREST
