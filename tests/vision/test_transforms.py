"""juanji.vision.transforms against torchvision's documented formulas, Pillow, and torch's own
interpolate / affine_grid / grid_sample where torchvision's tensor path calls them."""

import colorsys
import itertools

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import juanji
from juanji.vision import transforms as T
from juanji.vision.transforms import InterpolationMode
from juanji.vision.transforms import functional as F



def rgb_image(h=6, w=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def chw(arr):
    """An HWC/HW uint8 array as a juanji float tensor [C, H, W] in [0, 1]."""
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return juanji.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)).astype(np.float32) / np.float32(255))


def arr_of(img):
    return np.asarray(img) if isinstance(img, Image.Image) else img.numpy()


# ---------------------------------------------------------------------------------- conversion
@pytest.mark.parametrize("mode, channels", [("L", 1), ("RGB", 3), ("RGBA", 4), ("LA", 2)])
def test_to_tensor_pil_is_chw_divided_by_255(mode, channels):
    arr = np.random.default_rng(0).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    img = Image.fromarray(arr[:, :, 0] if channels == 1 else arr, mode)
    t = T.ToTensor()(img)
    assert t.dtype is juanji.float32 and list(t.shape) == [channels, 5, 7]
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1).astype(np.float32) / np.float32(255))


def test_to_tensor_special_pil_modes_keep_their_values():
    one = Image.fromarray(np.array([[0, 1], [1, 0]], dtype=bool))
    assert T.ToTensor()(one).tolist() == [[[0.0, 1.0], [1.0, 0.0]]]  # '1' -> 0/255 -> 0/1
    ints = Image.fromarray(np.array([[-5, 70000]], dtype=np.int32), "I")
    t = F.to_tensor(ints)
    assert t.dtype is juanji.int32 and t.tolist() == [[[-5, 70000]]]
    floats = Image.fromarray(np.array([[0.25, 3.5]], dtype=np.float32), "F")
    assert F.to_tensor(floats).tolist() == [[[0.25, 3.5]]]


def test_to_tensor_ndarray_hwc_and_hw_and_non_uint8():
    hwc = rgb_image(3, 4)
    np.testing.assert_array_equal(F.to_tensor(hwc).numpy(), hwc.transpose(2, 0, 1) / np.float32(255))
    hw = hwc[:, :, 0]
    assert list(F.to_tensor(hw).shape) == [1, 3, 4]
    floats = np.random.default_rng(0).standard_normal((3, 4, 2))
    t = F.to_tensor(floats)
    assert t.dtype is juanji.float64
    np.testing.assert_array_equal(t.numpy(), floats.transpose(2, 0, 1))  # not scaled


def test_to_tensor_follows_the_default_dtype():
    juanji.set_default_dtype(juanji.float64)
    try:
        assert F.to_tensor(rgb_image(2, 2)).dtype is juanji.float64
    finally:
        juanji.set_default_dtype(juanji.float32)


def test_to_tensor_errors():
    with pytest.raises(TypeError, match="to_tensor: pic should be PIL Image or ndarray. Got <class 'list'>"):
        F.to_tensor([[1, 2]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions"):
        F.to_tensor(np.zeros((1, 2, 3, 4), np.uint8))
    with pytest.raises(TypeError, match="can't convert np.ndarray of type uint16"):
        F.to_tensor(np.zeros((2, 2), np.uint16))


def test_pil_to_tensor_keeps_dtype_and_values():
    arr = rgb_image(4, 5)
    t = T.PILToTensor()(Image.fromarray(arr))
    assert t.dtype is juanji.uint8
    np.testing.assert_array_equal(t.numpy(), arr.transpose(2, 0, 1))
    with pytest.raises(TypeError, match="pil_to_tensor: pic should be PIL Image"):
        F.pil_to_tensor(arr)


# ---------------------------------------------------------------------------------- Normalize
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, mean, std", [
    ((3, 4, 5), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ((1, 6, 2), (0.2860,), (0.3530,)),
    ((2, 3, 4, 4), [0.5, 0.25, 0.1], [0.5, 2.0, 0.3]),
    ((3, 2, 2), 0.5, 0.25),
])
def test_normalize_matches_torch(dtype, shape, mean, std):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random(shape).astype(dtype)
    got = T.Normalize(mean, std)(juanji.from_numpy(x.copy()))
    tdtype = torch.from_numpy(x).dtype
    m = torch.as_tensor(mean, dtype=tdtype)
    s = torch.as_tensor(std, dtype=tdtype)
    if m.ndim == 1:
        m, s = m.view(-1, 1, 1), s.view(-1, 1, 1)
    expected = torch.from_numpy(x).sub(m).div(s).numpy()
    assert got.dtype.np == dtype
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)


def test_normalize_inplace_and_out_of_place():
    x = juanji.from_numpy(np.full((2, 2, 2), 0.75, np.float32))
    out = F.normalize(x, (0.25, 0.5), (0.5, 0.25))
    assert x.tolist()[0][0][0] == 0.75 and out.tolist() == [[[1.0, 1.0]] * 2, [[1.0, 1.0]] * 2]
    same = T.Normalize((0.25, 0.5), (0.5, 0.25), inplace=True)(x)
    assert same is x and x.tolist()[1][1][1] == 1.0


def test_normalize_keeps_the_gradient_path():
    x = juanji.tensor(np.ones((2, 3, 3)), dtype=juanji.float64, requires_grad=True)
    F.normalize(x, (0.1, 0.2), (0.5, 4.0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[:, 0, 0], [2.0, 0.25])


def test_normalize_errors():
    with pytest.raises(TypeError, match="normalize: input tensor should be a float tensor. Got juanji.uint8"):
        F.normalize(juanji.zeros(3, 2, 2, dtype=juanji.uint8), (0.5,), (0.5,))
    with pytest.raises(ValueError, match=r"expected tensor to be a tensor image of size \(..., C, H, W\)"):
        F.normalize(juanji.zeros(2, 2), (0.5,), (0.5,))
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to juanji.float32"):
        F.normalize(juanji.zeros(3, 2, 2), (0.5, 0.5, 0.5), (1.0, 0.0, 1.0))
    with pytest.raises(RuntimeError, match=r"expected mean with 1 or 3 values .* got 2"):
        F.normalize(juanji.zeros(3, 2, 2), (0.5, 0.5), (1.0,))
    with pytest.raises(TypeError, match="normalize: img should be Tensor Image"):
        F.normalize(np.zeros((3, 2, 2)), (0.5,), (0.5,))
    assert repr(T.Normalize((0.5,), (0.25,))) == "Normalize(mean=(0.5,), std=(0.25,))"


# ---------------------------------------------------------------------------------- Resize
@pytest.mark.parametrize("hw, size, expected", [
    ((28, 28), 32, (32, 32)),
    ((20, 30), 10, (10, 15)),     # shorter edge is the height
    ((30, 20), 16, (24, 16)),     # int(16 * 30 / 20)
    ((7, 10), 3, (3, 4)),         # int(4.28...) truncates
    ((20, 30), [10], (10, 15)),
    ((20, 30), (5, 9), (5, 9)),
])
def test_resize_output_size_rule(hw, size, expected):
    img = Image.fromarray(rgb_image(*hw))
    assert F.resize(img, size).size[::-1] == expected
    assert tuple(F.resize(chw(rgb_image(*hw)), size).shape[-2:]) == expected


def test_resize_max_size_caps_the_longer_edge():
    img = Image.fromarray(rgb_image(10, 40))
    assert F.resize(img, 8, max_size=20).size == (20, 5)  # 8 x 32 would exceed 20: (int(20*8/32), 20)
    with pytest.raises(ValueError, match="max_size = 8 must be strictly greater"):
        F.resize(img, 8, max_size=8)
    with pytest.raises(ValueError, match="max_size should only be passed if size specifies the length"):
        F.resize(img, (8, 8), max_size=20)


@pytest.mark.parametrize("interpolation", [InterpolationMode.NEAREST, InterpolationMode.BILINEAR,
                                           InterpolationMode.BICUBIC, InterpolationMode.LANCZOS])
@pytest.mark.parametrize("size", [(5, 9), (13, 3), (20, 20)])
def test_resize_pil_is_pillow_resize(interpolation, size):
    filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "lanczos": Image.LANCZOS}
    img = Image.fromarray(rgb_image(11, 7))
    got = T.Resize(size, interpolation=interpolation)(img)
    expected = img.resize(size[::-1], filters[interpolation.value])
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize("mode, antialias", [("nearest", False), ("nearest-exact", False), ("bilinear", False),
                                             ("bilinear", True), ("bicubic", False), ("bicubic", True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resize_tensor_matches_torch_interpolate(mode, antialias, dtype):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for (h, w), (oh, ow) in itertools.product([(28, 28), (9, 14), (5, 3)], [(14, 14), (32, 20), (4, 11), (1, 2)]):
        x = np.random.default_rng(0).random((2, 3, h, w)).astype(dtype)
        got = F.resize(juanji.from_numpy(x), [oh, ow], InterpolationMode(mode), antialias=antialias)
        kwargs = {} if mode.startswith("nearest") else {"align_corners": False, "antialias": antialias}
        expected = tf.interpolate(torch.from_numpy(x), size=(oh, ow), mode=mode, **kwargs).numpy()
        assert got.dtype.np == dtype
        tol = 2e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got.numpy(), expected, rtol=tol, atol=tol, err_msg=f"{(h, w)} -> {(oh, ow)}")


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(8, 25), (40, 9), (17, 12)])
def test_resize_uint8_tensor_is_torchs_native_uint8_resize(mode, antialias, size):
    """uint8 is resized as torch's own uint8 kernel does it (int16 fixed-point weights, the horizontal pass
    rounded and clamped before the vertical one): equal pixel for pixel; nearest reads pixels."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 256, (3, 17, 12), dtype=np.uint8)
    got = F.resize(juanji.from_numpy(x), list(size), InterpolationMode(mode), antialias=antialias)
    assert got.dtype is juanji.uint8
    kwargs = {} if mode == "nearest" else {"align_corners": False, "antialias": antialias}
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], size=size, mode=mode, **kwargs)[0]
    np.testing.assert_array_equal(got.numpy(), ref.numpy())


def test_resize_same_size_returns_the_input_and_repr_and_errors():
    t = chw(rgb_image(4, 4))
    assert F.resize(t, 4) is t
    assert repr(T.Resize(32)) == "Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)"
    assert repr(T.Resize((3, 4), interpolation=Image.BICUBIC)) == \
        "Resize(size=(3, 4), interpolation=bicubic, max_size=None, antialias=True)"
    with pytest.raises(TypeError, match="Resize: size should be int or sequence"):
        T.Resize(2.5)
    with pytest.raises(ValueError, match="it should have 1 or 2 values"):
        T.Resize((1, 2, 3))
    with pytest.raises(ValueError, match="resize: interpolation lanczos is only available for PIL images"):
        F.resize(t, 2, InterpolationMode.LANCZOS)
    with pytest.raises(TypeError, match="argument interpolation should be an InterpolationMode"):
        F.resize(t, 2, "bilinear")
    with pytest.raises(TypeError, match="resize: img should be PIL Image or Tensor. Got <class 'numpy.ndarray'>"):
        F.resize(rgb_image(), 2)


# ---------------------------------------------------------------------------------- crops
@pytest.mark.parametrize("size, top, left", [((2, 3), 2, 2), ((4, 4), 0, 2), ((5, 7), 0, 0), (1, 2, 3), ((3, 6), 1, 0)])
def test_center_crop_offsets_use_round_half_to_even(size, top, left):
    arr = rgb_image(5, 7)
    h, w = (size, size) if isinstance(size, int) else size
    expected = arr[top:top + h, left:left + w]
    np.testing.assert_array_equal(np.asarray(T.CenterCrop(size)(Image.fromarray(arr))), expected)
    np.testing.assert_array_equal(T.CenterCrop(size)(chw(arr)).numpy(), chw(expected).numpy())


def test_center_crop_larger_than_the_image_pads_with_zeros():
    arr = rgb_image(5, 7)
    expected = np.zeros((8, 9, 3), np.uint8)
    expected[1:6, 1:8] = arr  # left (9-7)//2 = 1, top (8-5)//2 = 1, bottom gets the odd row
    np.testing.assert_array_equal(np.asarray(F.center_crop(Image.fromarray(arr), (8, 9))), expected)
    np.testing.assert_array_equal(F.center_crop(chw(arr), [8, 9]).numpy(), chw(expected).numpy())
    assert repr(T.CenterCrop(10)) == "CenterCrop(size=(10, 10))"


@pytest.mark.parametrize("box", [(1, 2, 3, 4), (-2, -1, 4, 5), (3, 5, 6, 6), (-1, 6, 3, 4)])
def test_crop_outside_the_image_is_zero_for_pil_and_tensor(box):
    arr = rgb_image(5, 7)
    top, left, height, width = box
    padded = np.zeros((20, 20, 3), np.uint8)
    padded[5:10, 5:12] = arr
    expected = padded[top + 5:top + 5 + height, left + 5:left + 5 + width]
    np.testing.assert_array_equal(np.asarray(F.crop(Image.fromarray(arr), *box)), expected)
    np.testing.assert_array_equal(F.crop(chw(arr), *box).numpy(), chw(expected).numpy())


# ---------------------------------------------------------------------------------- Pad
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("padding, ltrb", [(2, (2, 2, 2, 2)), ([1, 3], (1, 3, 1, 3)), ((0, 1, 2, 3), (0, 1, 2, 3)),
                                           ((3, -1, -2, 1), (3, -1, -2, 1)), ([2], (2, 2, 2, 2))])
def test_pad_matches_numpy_pad_for_pil_and_tensor(mode, padding, ltrb):
    arr = rgb_image(5, 6)
    left, top, right, bottom = ltrb
    cropped = arr[max(-top, 0):5 - max(-bottom, 0), max(-left, 0):6 - max(-right, 0)]
    widths = ((max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0)), (0, 0))
    kwargs = {"constant_values": 9} if mode == "constant" else {}
    expected = np.pad(cropped, widths, mode=mode, **kwargs)
    pil = T.Pad(padding, fill=9, padding_mode=mode)(Image.fromarray(arr))
    np.testing.assert_array_equal(np.asarray(pil), expected)
    tensor = T.Pad(padding, fill=9, padding_mode=mode)(juanji.from_numpy(arr.transpose(2, 0, 1).copy()))
    np.testing.assert_array_equal(tensor.numpy(), expected.transpose(2, 0, 1))


def test_pad_fill_per_channel_on_pil_and_the_palette_survives():
    out = np.asarray(F.pad(Image.fromarray(rgb_image(2, 2)), 1, fill=(10, 20, 30)))
    assert out[0, 0].tolist() == [10, 20, 30]
    pal = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    for mode in ("constant", "reflect"):
        padded = F.pad(pal, 1, padding_mode=mode)
        assert padded.mode == "P" and padded.getpalette()[3:6] == [255, 0, 0]


def test_pad_errors_and_repr():
    with pytest.raises(ValueError, match="padding must be an int or a 1, 2, or 4 element tuple, not a 3"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="padding mode should be either constant, edge, reflect or symmetric"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(TypeError, match="got inappropriate padding arg"):
        T.Pad("1")
    with pytest.raises(ValueError, match=r"pad: reflect padding \[3, 3, 3, 3\] must be smaller than the image"):
        F.pad(juanji.zeros(1, 3, 3), 3, padding_mode="reflect")
    assert repr(T.Pad(2)) == "Pad(padding=2, fill=0, padding_mode=constant)"


# ---------------------------------------------------------------------------------- flips
def test_flips_pil_and_tensor():
    arr = rgb_image(3, 4)
    np.testing.assert_array_equal(np.asarray(F.hflip(Image.fromarray(arr))), arr[:, ::-1])
    np.testing.assert_array_equal(np.asarray(F.vflip(Image.fromarray(arr))), arr[::-1])
    batch = juanji.from_numpy(np.random.default_rng(0).random((2, 3, 4, 5)).astype(np.float32))
    np.testing.assert_array_equal(F.hflip(batch).numpy(), batch.numpy()[..., ::-1])
    np.testing.assert_array_equal(F.vflip(batch).numpy(), batch.numpy()[..., ::-1, :])


@pytest.mark.parametrize("cls, flip", [(T.RandomHorizontalFlip, F.hflip), (T.RandomVerticalFlip, F.vflip)])
def test_random_flips_probability_and_seed(cls, flip):
    img = chw(rgb_image(4, 4))
    flipped = flip(img).numpy()
    assert all(np.array_equal(cls(p=1.0)(img).numpy(), flipped) for _ in range(5))
    assert all(cls(p=0.0)(img) is img for _ in range(5))
    juanji.manual_seed(3)
    draws = [cls()(img) is not img for _ in range(400)]
    juanji.manual_seed(3)
    assert draws == [cls()(img) is not img for _ in range(400)]
    assert 0.4 < np.mean(draws) < 0.6
    assert repr(cls(0.3)) == f"{cls.__name__}(p=0.3)"


# ---------------------------------------------------------------------------------- RandomCrop
def test_random_crop_is_a_uniform_window_of_the_padded_image():
    arr = np.arange(36, dtype=np.uint8).reshape(6, 6)
    t = T.RandomCrop(4, padding=1)
    padded = np.pad(arr, 1)
    juanji.manual_seed(0)
    seen = set()
    for _ in range(300):
        out = np.asarray(t(Image.fromarray(arr)))
        matches = [(i, j) for i in range(5) for j in range(5) if np.array_equal(padded[i:i + 4, j:j + 4], out)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {(i, j) for i in range(5) for j in range(5)}
    assert repr(t) == "RandomCrop(size=(4, 4), padding=1)"


def test_random_crop_is_reproducible_and_pads_if_needed():
    img = chw(rgb_image(10, 10))
    juanji.manual_seed(7)
    a = [T.RandomCrop(5)(img).numpy() for _ in range(5)]
    juanji.manual_seed(7)
    b = [T.RandomCrop(5)(img).numpy() for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    small = chw(rgb_image(3, 4))
    out = T.RandomCrop((5, 6), pad_if_needed=True, fill=0.5)(small)
    assert list(out.shape) == [3, 5, 6]
    assert np.isclose(out.numpy(), 0.5).sum() == 3 * (5 * 6 - 3 * 4)
    with pytest.raises(ValueError, match=r"RandomCrop: required crop size \(5, 6\) is larger than input image "
                                         r"size \(3, 4\)"):
        T.RandomCrop((5, 6))(small)


# ---------------------------------------------------------------------------------- RandomResizedCrop
def test_random_resized_crop_params_stay_in_their_ranges():
    img = chw(rgb_image(200, 240))
    juanji.manual_seed(1)
    for _ in range(300):
        i, j, h, w = T.RandomResizedCrop.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        assert 0 <= i <= 200 - h and 0 <= j <= 240 - w and h > 0 and w > 0
        assert 0.08 * 0.97 <= h * w / (200 * 240) <= 1.0
        assert 3 / 4 * 0.95 <= w / h <= 4 / 3 * 1.05


def test_random_resized_crop_output_reproducibility_and_fallback():
    img = Image.fromarray(rgb_image(40, 100))
    juanji.manual_seed(5)
    a = np.asarray(T.RandomResizedCrop(16)(img))
    juanji.manual_seed(5)
    b = np.asarray(T.RandomResizedCrop(16)(img))
    assert a.shape == (16, 16, 3) and np.array_equal(a, b)
    # no box of 2x-3x the area fits: central crop with the aspect ratio clipped to 4/3
    assert T.RandomResizedCrop.get_params(img, (2.0, 3.0), (3 / 4, 4 / 3)) == (0, 23, 40, 53)
    expected = F.resize(F.crop(img, 0, 23, 40, 53), [16, 16])
    np.testing.assert_array_equal(np.asarray(T.RandomResizedCrop(16, scale=(2.0, 3.0))(img)), np.asarray(expected))
    assert repr(T.RandomResizedCrop(224)) == ("RandomResizedCrop(size=(224, 224), scale=(0.08, 1.0), "
                                             "ratio=(0.75, 1.3333), interpolation=bilinear, antialias=True)")


# ---------------------------------------------------------------------------------- rotation
def torch_rotate(x, angle, mode, expand, fill):
    """Rotation with torch's affine_grid/grid_sample, derived from the forward rotation matrix.

    A counter-clockwise turn by a in image coordinates (y down) moves p to [[cos a, sin a], [-sin a, cos a]] p;
    the grid needs the inverse, in coordinates normalised by half the input / output size.
    """
    torch = pytest.importorskip("torch")
    a = np.deg2rad(angle)
    forward = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    inverse = np.linalg.inv(forward)
    h, w = x.shape[-2:]
    # the expanded size is Pillow's (torchvision's rule was written to match it)
    ow, oh = Image.new("L", (w, h)).rotate(angle, expand=True).size if expand else (w, h)
    theta = np.diag([2 / w, 2 / h]) @ inverse @ np.diag([ow / 2, oh / 2])
    theta = torch.tensor(np.hstack([theta, np.zeros((2, 1))])[None], dtype=x.dtype)
    grid = torch.nn.functional.affine_grid(theta, [1, 1, oh, ow], align_corners=False)
    sample = lambda img: torch.nn.functional.grid_sample(img[None], grid, mode=mode, padding_mode="zeros",
                                                        align_corners=False)[0]
    out = sample(x)
    if fill is None:
        return out
    mask = sample(torch.ones_like(x[:1]))
    fill_img = torch.tensor(fill, dtype=x.dtype).view(-1, 1, 1).expand_as(out)
    if mode == "nearest":
        return torch.where(mask < 0.5, fill_img, out)
    return out * mask + (1 - mask) * fill_img


@pytest.mark.parametrize("angle", [17.3, -45.0, 123.0, 200.0])
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("expand", [False, True])
@pytest.mark.parametrize("fill", [None, [0.25, 0.5, 1.0]])
def test_rotate_tensor_matches_torch_grid_sample(angle, mode, expand, fill):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((3, 9, 12))
    got = F.rotate(juanji.from_numpy(x), angle, InterpolationMode(mode), expand=expand, fill=fill).numpy()
    expected = torch_rotate(torch.from_numpy(x), angle, mode, expand, fill).numpy()
    assert got.shape == expected.shape
    # (quarter turns are left out: there every nearest read is an exact tie that rounding noise decides)
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_rotate_by_quarter_turns_is_rot90():
    arr = np.random.default_rng(0).random((2, 6, 6)).astype(np.float32)
    for k in range(4):
        got = F.rotate(juanji.from_numpy(arr), 90.0 * k).numpy()
        np.testing.assert_array_equal(got, np.rot90(arr, k, axes=(1, 2)))
    wide = np.random.default_rng(0).random((1, 4, 6))
    np.testing.assert_array_equal(F.rotate(juanji.from_numpy(wide), 90, expand=True).numpy(),
                                  np.rot90(wide, 1, axes=(1, 2)))
    # without expand the 6x4 turned picture sits in the middle of the 4x6 frame, the side columns empty
    same_frame = F.rotate(juanji.from_numpy(wide), 90.0, InterpolationMode.BILINEAR).numpy()[0]
    np.testing.assert_allclose(same_frame[:, 1:5], np.rot90(wide, 1, axes=(1, 2))[0, 1:5], atol=1e-12)
    np.testing.assert_allclose(same_frame[:, [0, 5]], 0, atol=1e-12)


@pytest.mark.parametrize("angle", [10.0, -33.0, 75.5])
def test_rotate_tensor_agrees_with_pillow_on_almost_every_pixel(angle):
    arr = np.random.default_rng(0).integers(0, 256, (16, 16), dtype=np.uint8)
    pil = np.asarray(F.rotate(Image.fromarray(arr), angle))
    tensor = F.rotate(juanji.from_numpy(arr[None].copy()), angle).numpy()[0]
    assert tensor.dtype == np.uint8
    assert np.mean(pil == tensor) > 0.95


def test_rotate_pil_is_pillow_rotate_with_fill_and_center():
    img = Image.fromarray(rgb_image(9, 11))
    got = F.rotate(img, 30, InterpolationMode.BILINEAR, expand=True, center=None, fill=[1, 2, 3])
    expected = img.rotate(30, Image.BILINEAR, True, None, fillcolor=(1, 2, 3))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    got = F.rotate(img, -20, center=[2, 3], fill=7)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(img.rotate(-20, center=(2, 3), fillcolor=(7, 7, 7))))


def test_random_rotation_angle_range_seed_and_repr():
    juanji.manual_seed(2)
    angles = [T.RandomRotation.get_params([-10.0, 25.0]) for _ in range(500)]
    assert -10.0 <= min(angles) and max(angles) < 25.0 and max(angles) - min(angles) > 30
    img = chw(rgb_image(8, 8))
    juanji.manual_seed(9)
    a = T.RandomRotation(40, fill=0.5)(img).numpy()
    juanji.manual_seed(9)
    assert np.array_equal(a, T.RandomRotation(40, fill=0.5)(img).numpy())
    assert repr(T.RandomRotation(30)) == \
        "RandomRotation(degrees=[-30.0, 30.0], interpolation=nearest, expand=False, fill=0)"
    with pytest.raises(ValueError, match="If degrees is a single number, it must be positive."):
        T.RandomRotation(-3)
    with pytest.raises(ValueError, match=r"rotate: the number of elements in 'fill' cannot broadcast .* \(2 != 3\)"):
        F.rotate(img, 10.0, fill=[1, 2])
    with pytest.raises(ValueError, match="rotate: interpolation mode 'bicubic' is unsupported with Tensor input"):
        F.rotate(img, 10.0, InterpolationMode.BICUBIC)


# ---------------------------------------------------------------------------------- colour
def test_grayscale_pil_is_pillow_l_and_tensor_is_the_luma_formula():
    arr = rgb_image(5, 6)
    img = Image.fromarray(arr)
    np.testing.assert_array_equal(np.asarray(T.Grayscale()(img)), np.asarray(img.convert("L")))
    three = np.asarray(T.Grayscale(3)(img))
    assert three.shape == (5, 6, 3) and (three == np.asarray(img.convert("L"))[:, :, None]).all()

    t = chw(arr)
    r, g, b = t.numpy()
    luma = np.float32(0.2989) * r + np.float32(0.587) * g + np.float32(0.114) * b
    np.testing.assert_allclose(F.rgb_to_grayscale(t).numpy()[0], luma, rtol=1e-6)
    assert list(T.Grayscale(3)(t).shape) == [3, 5, 6]
    u8 = F.rgb_to_grayscale(juanji.from_numpy(arr.transpose(2, 0, 1).copy())).numpy()[0]
    expected = (0.2989 * arr[..., 0].astype(np.float32) + 0.587 * arr[..., 1] + 0.114 * arr[..., 2])
    assert np.abs(u8.astype(int) - np.floor(expected)).max() <= 1  # truncated to uint8
    with pytest.raises(ValueError, match="num_output_channels should be either 1 or 3"):
        F.rgb_to_grayscale(t, 2)
    with pytest.raises(TypeError, match=r"permitted channel values are \[1, 3\], but found 4"):
        F.rgb_to_grayscale(juanji.zeros(4, 2, 2))
    assert repr(T.Grayscale()) == "Grayscale(num_output_channels=1)"


def test_adjust_brightness_contrast_saturation_tensor_formulas():
    t = chw(rgb_image(4, 5))
    x = t.numpy().astype(np.float64)
    grey = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(F.adjust_brightness(t, 1.7).numpy(), np.clip(1.7 * x, 0, 1), atol=1e-6)
    np.testing.assert_allclose(F.adjust_contrast(t, 0.3).numpy(), np.clip(0.3 * x + 0.7 * grey.mean(), 0, 1),
                               atol=1e-6)
    np.testing.assert_allclose(F.adjust_saturation(t, 2.5).numpy(), np.clip(2.5 * x - 1.5 * grey, 0, 1), atol=1e-6)
    assert F.adjust_brightness(t, 1.0).tolist() == t.tolist()
    one = chw(rgb_image(4, 5)[:, :, 0])
    np.testing.assert_array_equal(F.adjust_saturation(one, 3.0).numpy(), one.numpy())


@pytest.mark.parametrize("hue_factor", [-0.5, -0.2, 0.0, 0.13, 0.5])
def test_adjust_hue_tensor_matches_colorsys(hue_factor):
    arr = rgb_image(4, 5, seed=3)
    t = chw(arr)
    got = F.adjust_hue(t, hue_factor).numpy()
    x = t.numpy()
    expected = np.empty_like(x)
    for i, j in itertools.product(range(4), range(5)):
        h, s, v = colorsys.rgb_to_hsv(*x[:, i, j])
        expected[:, i, j] = colorsys.hsv_to_rgb((h + hue_factor) % 1.0, s, v)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_adjust_pil_colour_uses_pillow_and_factor_checks():
    img = Image.fromarray(rgb_image(6, 6))
    np.testing.assert_array_equal(np.asarray(F.adjust_contrast(img, 0.4)),
                                  np.asarray(ImageEnhance.Contrast(img).enhance(0.4)))
    assert np.asarray(F.adjust_brightness(img, 0.0)).max() == 0
    hsv = np.asarray(img.convert("HSV")).astype(int)
    shifted = np.asarray(F.adjust_hue(img, 0.25).convert("HSV")).astype(int)
    # the hue channel moves by int(0.25 * 255) = 63 steps (mod 256), up to Pillow's HSV<->RGB rounding
    diff = (shifted[..., 0] - hsv[..., 0] - 63) % 256
    assert np.all((diff <= 3) | (diff >= 253) | (hsv[..., 1] < 20))
    assert F.adjust_hue(Image.fromarray(rgb_image()[:, :, 0]), 0.3).mode == "L"
    with pytest.raises(ValueError, match=r"adjust_brightness: brightness_factor \(-0.1\) is not non-negative"):
        F.adjust_brightness(img, -0.1)
    with pytest.raises(ValueError, match=r"adjust_hue: hue_factor \(0.6\) is not in \[-0.5, 0.5\]"):
        F.adjust_hue(img, 0.6)


def test_color_jitter_params_ranges_order_and_seed():
    jitter = T.ColorJitter(brightness=0.4, contrast=(0.5, 0.9), saturation=0.2, hue=0.1)
    assert (jitter.brightness, jitter.contrast, jitter.hue) == ((0.6, 1.4), (0.5, 0.9), (-0.1, 0.1))
    juanji.manual_seed(4)
    for _ in range(200):
        order, b, c, s, h = T.ColorJitter.get_params(jitter.brightness, jitter.contrast, jitter.saturation,
                                                     jitter.hue)
        assert sorted(order) == [0, 1, 2, 3]
        assert 0.6 <= b <= 1.4 and 0.5 <= c <= 0.9 and 0.8 <= s <= 1.2 and -0.1 <= h <= 0.1
    img = chw(rgb_image(6, 6))
    juanji.manual_seed(11)
    a = jitter(img).numpy()
    juanji.manual_seed(11)
    assert np.array_equal(a, jitter(img).numpy()) and not np.array_equal(a, img.numpy())
    assert T.ColorJitter()(img) is img
    assert repr(T.ColorJitter(brightness=0.5)) == \
        "ColorJitter(brightness=(0.5, 1.5), contrast=None, saturation=None, hue=None)"
    with pytest.raises(ValueError, match="if brightness is a single number, it must be non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match=r"hue values should be between \(-0.5, 0.5\)"):
        T.ColorJitter(hue=(0.2, 0.7))


# ---------------------------------------------------------------------------------- Compose, Lambda, inputs
def test_compose_lambda_and_reprs():
    t = T.Compose([T.CenterCrop(4), T.ToTensor(), T.Lambda(lambda x: x * 2)])
    out = t(Image.fromarray(np.full((6, 6), 51, np.uint8)))
    assert list(out.shape) == [1, 4, 4] and np.allclose(out.numpy(), 0.4)
    assert repr(t) == "Compose(\n    CenterCrop(size=(4, 4))\n    ToTensor()\n    Lambda()\n)"
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


@pytest.mark.parametrize("transform", [T.CenterCrop(2), T.Pad(1), T.RandomHorizontalFlip(1.0), T.Grayscale(),
                                       T.RandomRotation(5), T.Resize(3)])
def test_arrays_are_refused_with_the_op_name(transform):
    with pytest.raises(TypeError, match="img should be PIL Image or Tensor. Got <class 'numpy.ndarray'>"):
        transform(rgb_image())


def test_augmentation_pipeline_on_the_embedded_sample_is_reproducible():
    from juanji.vision.datasets import FashionMNISTSample
    pipeline = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize((0.286,), (0.353,))])
    ds = FashionMNISTSample(train=False, transform=pipeline)
    juanji.manual_seed(0)
    first = [ds[i][0].numpy() for i in range(8)]
    juanji.manual_seed(0)
    assert all(np.array_equal(a, ds[i][0].numpy()) for i, a in enumerate(first))
    assert first[0].shape == (1, 28, 28) and first[0].dtype == np.float32
