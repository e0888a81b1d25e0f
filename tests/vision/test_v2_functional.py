"""transforms.v2.functional against the real torchvision.transforms.v2.functional, input type by input type:
tensor images (uint8 and float32), PIL images, masks and bounding boxes, with fixed parameters.

Tolerances, measured: float32 warps (rotate/affine/perspective, bilinear) and resizes differ by a few
1e-6 where the arithmetic rounds in another order; everything else, uint8 resizes included, is exact.
"""

import warnings

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.vision import tv_tensors
from juanji.vision.transforms.v2 import functional as F

RNG = np.random.default_rng(0)
IMG8 = RNG.integers(0, 256, (3, 17, 23), dtype=np.uint8)
IMGF = RNG.random((3, 17, 23)).astype(np.float32)
MASK = RNG.integers(0, 6, (17, 23)).astype(np.uint8)
BOXES = np.array([[1.5, 2.0, 10.0, 12.5], [0.0, 0.0, 23.0, 17.0], [15.0, 3.0, 22.0, 9.0]], np.float32)
CORNERS = [[0, 0], [22, 0], [22, 16], [0, 16]]
MOVED = [[2, 1], [20, 3], [21, 15], [1, 14]]

# (functional name, args, kwargs)
GEOMETRY = [
    ("horizontal_flip", [], {}), ("vertical_flip", [], {}),
    ("resize", [[9, 31]], {}), ("resize", [10], {"antialias": False}),
    ("resize", [[40, 50]], {"interpolation": "bicubic"}),
    ("resize", [[8, 8]], {"interpolation": "nearest"}), ("resize", [None], {"max_size": 12}),
    ("resize", [[7, 30]], {"interpolation": "nearest-exact"}),
    ("crop", [-3, 5, 20, 10], {}), ("crop", [2, 3, 10, 12], {}), ("center_crop", [[30, 11]], {}),
    ("center_crop", [8], {}), ("resized_crop", [2, 3, 10, 12, [20, 20]], {}),
    ("pad", [[1, 2, 3, 4]], {"fill": 7}), ("pad", [3], {"padding_mode": "reflect"}),
    ("pad", [[2, 5]], {"padding_mode": "symmetric"}), ("pad", [[-2, 3]], {"padding_mode": "edge"}),
    ("rotate", [30.0], {}), ("rotate", [30.0], {"interpolation": "bilinear"}), ("rotate", [17.0], {"expand": True}),
    ("rotate", [90.0], {}), ("rotate", [-45.0], {"center": [3, 4], "interpolation": "bilinear", "fill": 5}),
    ("rotate", [200.0], {"expand": True, "fill": 3}),
    ("affine", [20.0, [3, -2], 1.2, [10.0, 5.0]], {}),
    ("affine", [20.0, [3, -2], 0.8, [10.0, 5.0]], {"interpolation": "bilinear", "fill": 7}),
    ("affine", [0.0, [0, 0], 1.0, [25.0, 0.0]], {"center": [0, 0]}), ("affine", [-10.0, [5, 5], 1.0, 12.0], {}),
    ("perspective", [CORNERS, MOVED], {}), ("perspective", [CORNERS, MOVED], {"interpolation": "nearest", "fill": 3}),
]
COLOR = [
    ("adjust_brightness", [1.3], {}), ("adjust_contrast", [0.6], {}), ("adjust_saturation", [1.7], {}),
    ("adjust_hue", [0.2], {}), ("adjust_hue", [-0.45], {}), ("adjust_gamma", [0.7, 1.1], {}),
    ("adjust_gamma", [2.0], {}),
    ("adjust_sharpness", [1.8], {}), ("adjust_sharpness", [0.3], {}), ("invert", [], {}), ("autocontrast", [], {}),
    ("equalize", [], {}), ("rgb_to_grayscale", [], {}), ("rgb_to_grayscale", [3], {}),
    ("permute_channels", [[2, 0, 1]], {}), ("gaussian_blur", [[5, 3], [1.5, 0.8]], {}), ("gaussian_blur", [7], {}),
]
UINT8_ONLY = [("posterize", [3], {}), ("solarize", [128], {})]
FLOAT_ONLY = [("solarize", [0.5], {}), ("posterize", [2], {})]


def _ids(cases):
    return [f"{name}-{i}" for i, (name, _, _) in enumerate(cases)]


def tv_kwargs(tv, kwargs):
    out = dict(kwargs)
    if isinstance(out.get("interpolation"), str):
        out["interpolation"] = tv.transforms.v2.InterpolationMode(out["interpolation"])
    return out


def compare(got, want, atol=3e-6):
    assert got.shape == tuple(want.shape), (got.shape, want.shape)
    assert got.dtype == want.dtype
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, atol=atol, rtol=0)
    else:
        np.testing.assert_array_equal(got, want)


# The warps (rotate, affine, perspective) sample at coordinates that torchvision computes with torch's
# float32 kernels, whose last bit depends on the CPU's code path (the same torch build gives other
# roundings on an AMD EPYC than on a Xeon): a float32 coordinate differs by a few ulps of the image size,
# which moves a bilinear value by up to ~1e-5 on these images (values up to 7 with the fill), and a
# pixel centre that lands within that rounding of the boundary between two source pixels picks either
# under nearest. So the warps are compared to 2e-5, and nearest warps allow at most 1 % of the pixels
# to differ (each a value of the input or the fill, which the callers check).
WARPS = ("rotate", "affine", "perspective")
WARP_ATOL = 2e-5
WARP_NEAREST_SHARE = 0.01


def compare_warp(name, got, want):
    if name not in WARPS:
        return compare(got, want)
    assert got.shape == tuple(want.shape), (got.shape, want.shape)
    assert got.dtype == want.dtype
    if got.dtype.kind == "f":
        close = np.isclose(got, want, atol=WARP_ATOL, rtol=0)
    else:
        close = got == want
    differ = np.count_nonzero(~close)
    assert differ <= WARP_NEAREST_SHARE * got.size, (
        f"{name}: {differ} of {got.size} values differ from torchvision beyond float32 coordinate rounding")
    if got.dtype.kind == "f":  # off the rounding ties, bilinear values agree to WARP_ATOL
        np.testing.assert_allclose(got[close], want[close], atol=WARP_ATOL, rtol=0)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("name, args, kwargs", GEOMETRY + COLOR, ids=_ids(GEOMETRY + COLOR))
def test_tensor_images_match_torchvision(tv, name, args, kwargs, dtype):
    import torch
    arr = IMG8 if dtype == "uint8" else IMGF
    got = getattr(F, name)(juanji.from_numpy(arr.copy()), *args, **kwargs)
    want = getattr(tv.transforms.v2.functional, name)(torch.from_numpy(arr.copy()), *args, **tv_kwargs(tv, kwargs))
    compare_warp(name, got.numpy(), want.numpy())


@pytest.mark.parametrize("name, args, kwargs, arr",
                         [c + (IMG8,) for c in UINT8_ONLY] + [c + (IMGF,) for c in FLOAT_ONLY],
                         ids=_ids(UINT8_ONLY + FLOAT_ONLY))
def test_dtype_specific_colour_ops_match_torchvision(tv, name, args, kwargs, arr):
    import torch
    got = getattr(F, name)(juanji.from_numpy(arr.copy()), *args, **kwargs)
    want = getattr(tv.transforms.v2.functional, name)(torch.from_numpy(arr.copy()), *args, **kwargs)
    compare(got.numpy(), want.numpy())


PIL_CASES = [c for c in GEOMETRY + COLOR + UINT8_ONLY if c[0] not in ("permute_channels",)]


@pytest.mark.parametrize("name, args, kwargs", PIL_CASES, ids=_ids(PIL_CASES))
def test_pil_images_match_torchvision(tv, name, args, kwargs):
    picture = Image.fromarray(IMG8.transpose(1, 2, 0))
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        got = getattr(F, name)(picture, *args, **kwargs)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        want = getattr(tv.transforms.v2.functional, name)(picture, *args, **tv_kwargs(tv, kwargs))
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert isinstance(got, Image.Image) and got.mode == want.mode
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


MASK_CASES = [c for c in GEOMETRY if c[0] != "perspective" or "fill" not in c[2]]


@pytest.mark.parametrize("name, args, kwargs", MASK_CASES, ids=_ids(MASK_CASES))
@pytest.mark.parametrize("shape", ["2d", "3d"])
def test_masks_are_moved_with_nearest_as_torchvision(tv, name, args, kwargs, shape):
    import torch
    arr = MASK if shape == "2d" else np.stack([MASK, MASK[::-1]])
    kwargs = {k: v for k, v in kwargs.items() if k not in ("interpolation", "antialias")}  # masks: always nearest
    got = getattr(F, name)(tv_tensors.Mask(arr.copy()), *args, **kwargs)
    want = getattr(tv.transforms.v2.functional, name)(tv.tv_tensors.Mask(torch.from_numpy(arr.copy())), *args,
                                                     **kwargs)
    assert type(got) is tv_tensors.Mask
    compare_warp(name, got.numpy(), want.numpy())
    assert set(np.unique(got.numpy())) <= set(np.unique(arr)) | {0, kwargs.get("fill", 0)}   # no blended labels


def test_colour_functionals_pass_masks_through_in_transforms_but_refuse_them_directly():
    from juanji.vision.transforms import v2
    mask = tv_tensors.Mask(MASK.copy())
    assert v2.ColorJitter(brightness=0.5)(mask) is mask
    with pytest.raises(TypeError, match=r"adjust_brightness\(\) supports inputs of type"):
        F.adjust_brightness(mask, 1.5)


BOX_CASES = [c for c in GEOMETRY if c[0] != "pad" or "padding_mode" not in c[2]]


@pytest.mark.parametrize("name, args, kwargs", BOX_CASES, ids=_ids(BOX_CASES))
@pytest.mark.parametrize("box_format", ["XYXY", "XYWH", "CXCYWH"])
def test_bounding_boxes_match_torchvision(tv, name, args, kwargs, box_format):
    import torch
    xyxy = BOXES.copy()
    theirs_xyxy = tv.tv_tensors.BoundingBoxes(torch.from_numpy(xyxy), format="XYXY", canvas_size=(17, 23))
    theirs_in = tv.transforms.v2.functional.convert_bounding_box_format(theirs_xyxy, new_format=box_format)
    ours_in = tv_tensors.BoundingBoxes(theirs_in.numpy().copy(), format=box_format, canvas_size=(17, 23))
    kwargs = {k: v for k, v in kwargs.items() if k not in ("interpolation", "antialias", "fill")}
    got = getattr(F, name)(ours_in, *args, **kwargs)
    want = getattr(tv.transforms.v2.functional, name)(theirs_in, *args, **kwargs)
    assert type(got) is tv_tensors.BoundingBoxes and got.format.value == want.format.value
    if kwargs.get("expand"):
        # torchvision's expanded canvas for boxes differs from its image's by a pixel at most angles;
        # ours is the image's (the boxes move with the image: centre to centre)
        image_size = F.rotate(juanji.zeros(1, 17, 23), *args, **kwargs).shape[-2:]
        assert got.canvas_size == tuple(image_size)
        assert np.abs(np.array(got.canvas_size) - np.array(want.canvas_size)).max() <= 1
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1.0)
        return
    assert got.canvas_size == tuple(want.canvas_size)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


@pytest.mark.parametrize("old", ["XYXY", "XYWH", "CXCYWH"])
@pytest.mark.parametrize("new", ["XYXY", "XYWH", "CXCYWH"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_box_format_conversion_and_clamping_match_torchvision(tv, old, new, dtype):
    import torch
    boxes = np.array([[1, 2, 9, 13], [-3, 4, 30, 20], [5, 5, 6, 8]], dtype=dtype)
    got = F.convert_bounding_box_format(juanji.from_numpy(boxes.copy()), old_format=old, new_format=new)
    want = tv.transforms.v2.functional.convert_bounding_box_format(torch.from_numpy(boxes.copy()), old_format=old,
                                                                    new_format=new)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = F.clamp_bounding_boxes(juanji.from_numpy(boxes.copy()), format=old, canvas_size=(17, 23),
                                 clamping_mode="soft")
    want = tv.transforms.v2.functional.clamp_bounding_boxes(torch.from_numpy(boxes.copy()), format=old,
                                                            canvas_size=(17, 23), clamping_mode="soft")
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_box_geometry_by_hand():
    boxes = tv_tensors.BoundingBoxes([[2, 3, 8, 7]], format="XYXY", canvas_size=(10, 20))
    assert F.horizontal_flip(boxes).tolist() == [[12, 3, 18, 7]]
    low = tv_tensors.BoundingBoxes([[2, 1, 8, 4]], format="XYXY", canvas_size=(10, 20))
    assert F.vertical_flip(low).tolist() == [[2, 6, 8, 9]]
    as_xywh = F.convert_bounding_box_format(low, new_format="XYWH")
    assert as_xywh.tolist() == [[2, 1, 6, 3]] and F.horizontal_flip(as_xywh).tolist() == [[12, 1, 6, 3]]
    cropped = F.crop(boxes, 1, 4, 5, 5)
    assert cropped.tolist() == [[0, 2, 4, 5]] and cropped.canvas_size == (5, 5)      # clamped to the new canvas
    padded = F.pad(boxes, [1, 2])
    assert padded.tolist() == [[3, 5, 9, 9]] and padded.canvas_size == (14, 22)
    resized = F.resize(boxes, [20, 10])
    assert resized.tolist() == [[1, 6, 4, 14]] and resized.canvas_size == (20, 10)
    turned = F.rotate(tv_tensors.BoundingBoxes([[0.0, 0.0, 4.0, 2.0]], format="XYXY", canvas_size=(10, 10)), 90,
                      center=[0, 0], expand=False)
    np.testing.assert_allclose(turned.numpy(), [[0, 0, 2, 0]], atol=1e-5)   # rotated up out of the canvas, clamped


@pytest.mark.parametrize("kind", ["tensor", "pil"])
def test_five_and_ten_crops_match_torchvision(tv, kind):
    import torch
    if kind == "pil":
        ours_in = theirs_in = Image.fromarray(IMG8.transpose(1, 2, 0))
        as_array = np.asarray
    else:
        ours_in, theirs_in = juanji.from_numpy(IMG8.copy()), torch.from_numpy(IMG8.copy())
        as_array = lambda x: x.numpy()  # noqa: E731
    for name, kwargs in (("five_crop", {}), ("ten_crop", {}), ("ten_crop", {"vertical_flip": True})):
        got = getattr(F, name)(ours_in, [9, 11], **kwargs)
        want = getattr(tv.transforms.v2.functional, name)(theirs_in, [9, 11], **kwargs)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(as_array(a), as_array(b))


@pytest.mark.parametrize("dtype, target, scale", [("uint8", "float32", True), ("float32", "uint8", True),
                                                 ("uint8", "int32", True), ("int32", "uint8", True),
                                                 ("float64", "float32", True), ("uint8", "float64", False)])
def test_to_dtype_matches_torchvision(tv, dtype, target, scale):
    import torch
    arr = (RNG.random((3, 5, 6)) * (255 if dtype == "uint8" else 1)).astype(dtype)
    if dtype == "int32":
        arr = RNG.integers(0, 2 ** 31 - 1, (3, 5, 6)).astype(np.int32)
    got = F.to_dtype(juanji.from_numpy(arr.copy()), getattr(juanji, target), scale=scale)
    want = tv.transforms.v2.functional.to_dtype(torch.from_numpy(arr.copy()), getattr(torch, target), scale=scale)
    compare(got.numpy(), want.numpy(), atol=0)
    mask = tv_tensors.Mask(np.array([[0, 3]], np.uint8))
    assert F.to_dtype(mask, juanji.int64, scale=True).tolist() == [[0, 3]]   # masks never scale


def test_erase_normalize_and_sanitize_match_torchvision(tv):
    import torch
    value = RNG.random((3, 1, 1)).astype(np.float32)
    got = F.erase(juanji.from_numpy(IMGF.copy()), 2, 3, 5, 6, juanji.from_numpy(value))
    want = tv.transforms.v2.functional.erase(torch.from_numpy(IMGF.copy()), 2, 3, 5, 6, torch.from_numpy(value))
    compare(got.numpy(), want.numpy(), atol=0)
    got = F.normalize(juanji.from_numpy(IMGF.copy()), [0.4, 0.5, 0.6], [0.2, 0.3, 0.1])
    want = tv.transforms.v2.functional.normalize(torch.from_numpy(IMGF.copy()), [0.4, 0.5, 0.6], [0.2, 0.3, 0.1])
    compare(got.numpy(), want.numpy(), atol=1e-6)
    boxes = np.array([[0, 0, 5, 5], [3, 3, 3.5, 9], [-1, 0, 4, 4], [10, 10, 30, 12], [2, 2, 4, 4]], np.float32)
    ours, valid = F.sanitize_bounding_boxes(tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(17, 23)))
    theirs, their_valid = tv.transforms.v2.functional.sanitize_bounding_boxes(
        tv.tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="XYXY", canvas_size=(17, 23)))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert valid.tolist() == their_valid.tolist()


def test_sizes_and_image_conversion():
    picture = Image.fromarray(IMG8.transpose(1, 2, 0))
    assert F.get_size(picture) == [17, 23] and F.get_dimensions(picture) == [3, 17, 23]
    assert F.get_size(tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(4, 5))) == [4, 5]
    assert F.get_size(tv_tensors.Mask(MASK)) == [17, 23] and F.get_num_channels(juanji.zeros(2, 3, 4)) == 2
    image = F.to_image(picture)
    assert type(image) is tv_tensors.Image and image.dtype is juanji.uint8
    np.testing.assert_array_equal(image.numpy(), IMG8)
    np.testing.assert_array_equal(F.to_image(IMG8.transpose(1, 2, 0)).numpy(), IMG8)


def test_bad_arguments_are_one_clear_line():
    image = juanji.from_numpy(IMGF.copy())
    with pytest.raises(ValueError, match="interpolation mode 'bicubic' is unsupported with Tensor input"):
        F.rotate(image, 10, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"the number of elements in 'fill' cannot broadcast .* \(2 != 3\)"):
        F.affine(image, 10, [0, 0], 1.0, 0.0, fill=[1, 2])
    with pytest.raises(ValueError, match="argument scale should be positive"):
        F.affine(image, 10, [0, 0], 0.0, 0.0)
    with pytest.raises(TypeError, match="bits must be a positive integer in the range"):
        F.posterize(juanji.from_numpy(IMG8.copy()), 9)
    with pytest.raises(ValueError, match="hue_factor .* is not in"):
        F.adjust_hue(image, 0.7)
    with pytest.raises(ValueError, match="Padding mode 'edge' is not supported with bounding boxes"):
        F.pad(tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(4, 5)), 2, padding_mode="edge")
    with pytest.raises(TypeError, match=r"resize\(\) supports inputs of type .* but got <class 'list'>"):
        F.resize([1, 2], 4)


@pytest.mark.parametrize("kind", ["uint8", "float32", "pil", "mask", "boxes"])
def test_elastic_with_the_same_displacement_matches_torchvision(tv, kind):
    import torch
    # its own generator: the module's RNG depends on which tests ran before in this worker, and an
    # 8-bit PIL image compared exactly must not depend on that draw
    displacement = (np.random.default_rng(11).random((1, 17, 23, 2)).astype(np.float32) - 0.5) * 0.3
    ours_d, theirs_d = juanji.from_numpy(displacement.copy()), torch.from_numpy(displacement.copy())
    TF = tv.transforms.v2.functional
    if kind in ("uint8", "float32"):
        arr = IMG8 if kind == "uint8" else IMGF
        for kwargs in ({}, {"interpolation": "nearest", "fill": 5}):
            got = F.elastic(juanji.from_numpy(arr.copy()), ours_d, **kwargs)
            want = TF.elastic(torch.from_numpy(arr.copy()), theirs_d, **tv_kwargs(tv, kwargs))
            compare(got.numpy(), want.numpy())
    elif kind == "pil":
        picture = Image.fromarray(IMG8.transpose(1, 2, 0))
        np.testing.assert_array_equal(np.asarray(F.elastic(picture, ours_d)), np.asarray(TF.elastic(picture, theirs_d)))
    elif kind == "mask":
        got = F.elastic(tv_tensors.Mask(MASK.copy()), ours_d)
        want = TF.elastic(tv.tv_tensors.Mask(torch.from_numpy(MASK.copy())), theirs_d)
        assert type(got) is tv_tensors.Mask
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    else:
        got = F.elastic(tv_tensors.BoundingBoxes(BOXES.copy(), format="XYXY", canvas_size=(17, 23)), ours_d)
        want = TF.elastic(tv.tv_tensors.BoundingBoxes(torch.from_numpy(BOXES.copy()), format="XYXY",
                                                      canvas_size=(17, 23)), theirs_d)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


POINTS = np.array([[1.5, 2.0], [10.0, 12.5], [0.0, 0.0], [22.0, 16.0], [15.0, 3.0]], np.float32)
POINT_CASES = [c for c in GEOMETRY if c[0] != "pad" or "padding_mode" not in c[2]]


@pytest.mark.parametrize("name, args, kwargs", POINT_CASES, ids=_ids(POINT_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_keypoints_match_torchvision(tv, name, args, kwargs, dtype):
    import torch
    points = POINTS.astype(dtype)
    kwargs = {k: v for k, v in kwargs.items() if k not in ("interpolation", "antialias", "fill")}
    got = getattr(F, name)(tv_tensors.KeyPoints(points.copy(), canvas_size=(17, 23)), *args, **kwargs)
    want = getattr(tv.transforms.v2.functional, name)(
        tv.tv_tensors.KeyPoints(torch.from_numpy(points.copy()), canvas_size=(17, 23)), *args, **kwargs)
    assert type(got) is tv_tensors.KeyPoints and got.dtype.name == str(want.dtype).split(".")[-1]
    if kwargs.get("expand"):   # our expanded canvas is the image's (see the boxes' test)
        image_size = F.rotate(juanji.zeros(1, 17, 23), *args, **kwargs).shape[-2:]
        assert got.canvas_size == tuple(image_size)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1.0)
        return
    assert got.canvas_size == tuple(want.canvas_size)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


def test_keypoint_elastic_clamp_and_sanitize_match_torchvision(tv):
    import torch
    TF = tv.transforms.v2.functional
    displacement = (RNG.random((1, 17, 23, 2)).astype(np.float32) - 0.5) * 0.3
    ours = F.elastic(tv_tensors.KeyPoints(POINTS.copy(), canvas_size=(17, 23)), juanji.from_numpy(displacement))
    theirs = TF.elastic(tv.tv_tensors.KeyPoints(torch.from_numpy(POINTS.copy()), canvas_size=(17, 23)),
                        torch.from_numpy(displacement))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)
    outside = POINTS * 1.5 - 3
    ours = F.clamp_keypoints(juanji.from_numpy(outside.copy()), canvas_size=(17, 23))
    theirs = TF.clamp_keypoints(torch.from_numpy(outside.copy()), canvas_size=(17, 23))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    groups = outside.reshape(5, 1, 2)
    ours, valid = F.sanitize_keypoints(juanji.from_numpy(groups.copy()), canvas_size=(17, 23))
    theirs, their_valid = TF.sanitize_keypoints(torch.from_numpy(groups.copy()), canvas_size=(17, 23))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert valid.tolist() == their_valid.tolist()
