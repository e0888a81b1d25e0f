"""transforms.v2 classes: one set of parameters per call for a whole sample (image + mask + boxes), the
transform step against torchvision's with the same parameters, the random draws by their distributions,
repeatability from juanji's generator, and the same transform on a tensor and on a PIL image."""

import numpy as np
import pytest

import juanji
from juanji.vision import tv_tensors
from juanji.vision.transforms import v2
from juanji.vision.transforms.v2 import functional as F

H, W = 24, 32


def scene(seed=0):
    """A uint8 image with a bright rectangle, the mask of that rectangle (label 3; background 0)
    and its box; the mask is a function of the image, which the geometric tests use."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 100, (3, H, W), dtype=np.uint8)
    image[:, 5:15, 8:20] = rng.integers(180, 256, (3, 10, 12), dtype=np.uint8)
    mask = np.zeros((H, W), np.uint8)
    mask[5:15, 8:20] = 3
    boxes = np.array([[8, 5, 20, 15]], np.float32)
    return (tv_tensors.Image(image), tv_tensors.Mask(mask),
            tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(H, W)))


def mask_of(image):
    """The label map that ``scene`` draws: 3 where the image is bright in every channel."""
    return np.where((image.numpy() >= 180).all(axis=0), 3, 0).astype(np.uint8)


def recorded(transform):
    """Record the parameters of each call (make_params is wrapped)."""
    calls = []
    original = transform.make_params

    def make_params(flat_inputs):
        params = original(flat_inputs)
        calls.append(params)
        return params

    transform.make_params = make_params
    return calls


# ---------------------------------------------------------------------------------- joint transforms
GEOMETRIC = [
    lambda: v2.RandomHorizontalFlip(p=1.0), lambda: v2.RandomVerticalFlip(p=1.0),
    lambda: v2.RandomCrop(16, padding=4), lambda: v2.RandomCrop((30, 40), pad_if_needed=True),
    lambda: v2.CenterCrop(20), lambda: v2.Pad([3, 1, 2, 5]), lambda: v2.RandomZoomOut(p=1.0, side_range=(1.0, 2.0)),
    lambda: v2.RandomRotation(40, interpolation="nearest"),
    lambda: v2.RandomRotation(30, interpolation="nearest", expand=True),
    lambda: v2.RandomAffine(25, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=(-10, 10, -5, 5)),
    lambda: v2.RandomResizedCrop((20, 28), interpolation="nearest"),
    lambda: v2.Resize((40, 50), interpolation="nearest"),
    lambda: v2.RandomPerspective(0.4, p=1.0, interpolation="nearest"),
    lambda: v2.ElasticTransform(alpha=20.0, sigma=3.0, interpolation="nearest"),
]


@pytest.mark.parametrize("make", GEOMETRIC, ids=range(len(GEOMETRIC)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_image_and_mask_move_together(make, seed):
    """With nearest interpolation on the image too, the transformed mask is exactly the mask of the
    transformed image: both saw the same parameters."""
    image, mask, _ = scene(seed)
    juanji.manual_seed(seed)
    out_image, out_mask = make()(image, mask)
    assert type(out_image) is tv_tensors.Image and type(out_mask) is tv_tensors.Mask
    assert out_mask.shape[-2:] == out_image.shape[-2:]
    np.testing.assert_array_equal(out_mask.numpy(), mask_of(out_image))


@pytest.mark.parametrize("make", [lambda: v2.RandomRotation(40, interpolation="bilinear"),
                                  lambda: v2.RandomResizedCrop(20), lambda: v2.Resize(50),
                                  lambda: v2.RandomAffine(30, scale=(0.7, 1.3), interpolation="bilinear")])
def test_masks_are_resampled_with_nearest_whatever_the_image_interpolation(make):
    image, mask, _ = scene()
    mask = tv_tensors.Mask(np.random.default_rng(0).integers(0, 7, (H, W)).astype(np.uint8) * 10)
    juanji.manual_seed(3)
    _, out_mask = make()(image, mask)
    assert set(np.unique(out_mask.numpy())) <= set(np.unique(mask.numpy()))     # no label was blended


@pytest.mark.parametrize("make", [lambda: v2.ColorJitter(0.5, 0.5, 0.5, 0.2), lambda: v2.RandomInvert(p=1.0),
                                  lambda: v2.Normalize([0.5] * 3, [0.2] * 3), lambda: v2.GaussianBlur(5),
                                  lambda: v2.RandomGrayscale(p=1.0), lambda: v2.RandomPosterize(2, p=1.0),
                                  lambda: v2.RandomEqualize(p=1.0), lambda: v2.RandomPhotometricDistort(p=1.0)])
def test_colour_transforms_leave_masks_and_boxes_alone(make):
    image, mask, boxes = scene()
    if "Normalize" in repr(make()) or "GaussianBlur" in repr(make()):
        image = F.to_dtype(image, juanji.float32, scale=True)
    juanji.manual_seed(0)
    out_image, out_mask, out_boxes = make()(image, mask, boxes)
    assert out_mask is mask and out_boxes is boxes
    assert type(out_image) is tv_tensors.Image


@pytest.mark.parametrize("make", [lambda: v2.RandomHorizontalFlip(p=1.0), lambda: v2.RandomCrop(16, padding=2),
                                  lambda: v2.Pad(4), lambda: v2.Resize((48, 64), interpolation="nearest"),
                                  lambda: v2.RandomResizedCrop(20, scale=(0.5, 1.0), interpolation="nearest"),
                                  lambda: v2.RandomZoomOut(p=1.0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_boxes_follow_the_object(make, seed):
    """After axis-aligned transforms the box is still the bounding box of the bright object's pixels
    (clipped to the canvas, to within the resampling of a pixel)."""
    image, mask, boxes = scene()
    juanji.manual_seed(seed)
    out_image, out_mask, out_boxes = make()(image, mask, boxes)
    assert out_boxes.canvas_size == tuple(out_image.shape[-2:])
    ys, xs = np.nonzero(out_mask.numpy())
    if len(xs) == 0:
        return  # the crop missed the object
    expected = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    np.testing.assert_allclose(out_boxes.numpy()[0], expected, atol=1.0)


def test_boxes_enclose_the_rotated_object():
    image, mask, boxes = scene()
    juanji.manual_seed(4)
    out_image, out_mask, out_boxes = v2.RandomRotation((20, 35), expand=True)(image, mask, boxes)
    ys, xs = np.nonzero(out_mask.numpy())
    x1, y1, x2, y2 = out_boxes.numpy()[0]
    assert x1 <= xs.min() + 0.5 and y1 <= ys.min() + 0.5 and x2 >= xs.max() + 0.5 and y2 >= ys.max() + 0.5
    assert out_boxes.canvas_size == tuple(out_image.shape[-2:])


def test_structure_of_the_sample_is_kept_and_labels_pass_through():
    image, mask, boxes = scene()
    labels = juanji.tensor([7])
    sample = {"image": image, "target": {"masks": mask, "boxes": boxes, "labels": labels, "name": "x"}}
    out = v2.RandomHorizontalFlip(p=1.0)(sample)
    assert set(out) == {"image", "target"} and set(out["target"]) == {"masks", "boxes", "labels", "name"}
    assert out["target"]["labels"] is labels and out["target"]["name"] == "x"
    image_out, (mask_out, labels_out) = v2.RandomHorizontalFlip(p=1.0)(image, (mask, labels))
    assert labels_out is labels and type(mask_out) is tv_tensors.Mask


def test_plain_tensors_after_an_image_are_data_not_images():
    """torchvision's rule: the first plain tensor is the image only when the sample has no explicit one."""
    x = juanji.rand(3, 8, 8)
    y = juanji.rand(3, 8, 8)
    a, b = v2.RandomHorizontalFlip(p=1.0)(x, y)
    np.testing.assert_array_equal(a.numpy(), x.numpy()[..., ::-1])
    assert b is y
    image = tv_tensors.Image(juanji.rand(3, 8, 8))
    c, d = v2.RandomHorizontalFlip(p=1.0)(image, x)
    assert d is x and type(c) is tv_tensors.Image


def test_different_sizes_in_one_sample_are_refused():
    image, _, _ = scene()
    with pytest.raises(ValueError, match="Found multiple HxW dimensions in the sample"):
        v2.RandomCrop(10)(image, tv_tensors.Mask(np.zeros((5, 5), np.uint8)))


# ---------------------------------------------------------------------------------- same params as torchvision
def _tv_value(tv, value):
    import torch
    if isinstance(value, juanji.Tensor):
        return torch.from_numpy(value.numpy().copy())
    return value


TRANSFORM_STEPS = [
    ("RandomResizedCrop", {"size": 20}, {"top": 2, "left": 3, "height": 15, "width": 20}),
    ("RandomCrop", {"size": 16, "padding": 4, "fill": 7}, {"needs_crop": True, "top": 5, "left": 9, "height": 16,
                                                          "width": 16, "needs_pad": True, "padding": [4, 4, 4, 4]}),
    ("RandomRotation", {"degrees": 30, "fill": 9}, {"angle": 17.5}),
    ("RandomAffine", {"degrees": 30, "fill": 2}, {"angle": -12.0, "translate": (3, -2), "scale": 1.1,
                                                  "shear": (5.0, -4.0)}),
    ("RandomZoomOut", {"fill": 4}, {"padding": [3, 1, 5, 2]}),
    ("ColorJitter", {"brightness": 0.5}, {"fn_idx": [3, 1, 0, 2], "brightness_factor": 1.3, "contrast_factor": 0.7,
                                          "saturation_factor": 1.5, "hue_factor": 0.1}),
    ("RandomErasing", {}, {"i": 2, "j": 4, "h": 5, "w": 6, "v": juanji.full((3, 1, 1), 0.25)}),
    ("GaussianBlur", {"kernel_size": 5}, {"sigma": [1.3, 1.3]}),
    ("RandomPhotometricDistort", {}, {"brightness_factor": 1.1, "contrast_factor": 0.8, "saturation_factor": None,
                                      "hue_factor": -0.03, "contrast_before": False, "channel_permutation": [2, 0, 1]}),
]


@pytest.mark.parametrize("name, init, params", TRANSFORM_STEPS, ids=[t[0] for t in TRANSFORM_STEPS])
@pytest.mark.parametrize("kind", ["image", "mask", "boxes"])
def test_transform_step_matches_torchvision_with_the_same_parameters(tv, name, init, params, kind):
    import torch
    image, mask, boxes = scene()
    image = F.to_dtype(image, juanji.float32, scale=True)
    ours_in = {"image": image, "mask": mask, "boxes": boxes}[kind]
    if kind == "image":
        theirs_in = tv.tv_tensors.Image(torch.from_numpy(image.numpy().copy()))
    elif kind == "mask":
        theirs_in = tv.tv_tensors.Mask(torch.from_numpy(mask.numpy().copy()))
    else:
        theirs_in = tv.tv_tensors.BoundingBoxes(torch.from_numpy(boxes.numpy().copy()), format="XYXY",
                                                canvas_size=(H, W))
    ours = getattr(v2, name)(**init)
    theirs = getattr(tv.transforms.v2, name)(**init)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # RandomErasing warns that it passes masks and boxes through
        got = ours.transform(ours_in, dict(params))
        want = theirs.transform(theirs_in, {k: _tv_value(tv, v) for k, v in params.items()})
    assert type(got).__name__ == type(want).__name__
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=3e-6)
    if kind == "boxes":
        assert got.canvas_size == tuple(want.canvas_size)


REPRS = [("Resize", {"size": 32}), ("RandomResizedCrop", {"size": 224}), ("RandomCrop", {"size": 16, "padding": 4}),
         ("RandomRotation", {"degrees": 10}), ("ColorJitter", {"brightness": 0.2, "hue": 0.1}),
         ("Normalize", {"mean": [0.5], "std": [0.2]}), ("RandomErasing", {"p": 0.3}), ("Pad", {"padding": 2}),
         ("RandomHorizontalFlip", {}), ("AutoAugment", {}), ("RandAugment", {"num_ops": 3}), ("TrivialAugmentWide", {}),
         ("GaussianBlur", {"kernel_size": 3}), ("CenterCrop", {"size": 10}), ("RandomAffine", {"degrees": 5})]


@pytest.mark.parametrize("name, init", REPRS, ids=[r[0] for r in REPRS])
def test_repr_is_torchvisions(tv, name, init):
    assert repr(getattr(v2, name)(**init)) == repr(getattr(tv.transforms.v2, name)(**init))


def test_compose_repr_and_nesting(tv):
    ours = v2.Compose([v2.ToImage(), v2.RandomHorizontalFlip(), v2.ToDtype(juanji.float32, scale=True)])
    import torch
    theirs = tv.transforms.v2.Compose([tv.transforms.v2.ToImage(), tv.transforms.v2.RandomHorizontalFlip(),
                                       tv.transforms.v2.ToDtype(torch.float32, scale=True)])
    assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------------------------- random draws
def _draws(transform, image, n):
    calls = recorded(transform)
    for _ in range(n):
        transform(image)
    return calls


def test_random_resized_crop_draws_area_and_ratio_as_specified():
    juanji.manual_seed(0)
    image = tv_tensors.Image(juanji.zeros(3, 200, 200, dtype=juanji.uint8))
    calls = _draws(v2.RandomResizedCrop(10, scale=(0.2, 0.6), ratio=(0.5, 2.0)), image, 400)
    areas = np.array([c["height"] * c["width"] / 40000 for c in calls])
    ratios = np.array([c["width"] / c["height"] for c in calls])
    assert 0.19 < areas.min() and areas.max() < 0.61 and abs(areas.mean() - 0.4) < 0.02
    assert 0.49 < ratios.min() and ratios.max() < 2.05 and abs(np.log(ratios).mean()) < 0.06


def test_random_apply_probability_and_flip():
    juanji.manual_seed(1)
    x = tv_tensors.Image(juanji.arange(6.0).reshape(1, 2, 3))
    flips = sum(v2.RandomHorizontalFlip(p=0.3)(x)[0, 0, 0].item() == 2.0 for _ in range(2000))
    assert abs(flips / 2000 - 0.3) < 0.03


def test_rotation_affine_and_jitter_parameters_stay_in_their_ranges():
    juanji.manual_seed(2)
    image = tv_tensors.Image(juanji.zeros(3, 20, 30))
    angles = np.array([c["angle"] for c in _draws(v2.RandomRotation((-10, 25)), image, 500)])
    assert angles.min() >= -10 and angles.max() <= 25 and abs(angles.mean() - 7.5) < 1.0
    affine = _draws(v2.RandomAffine(0, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=(-5, 5, 2, 3)), image, 300)
    assert all(abs(c["translate"][0]) <= 3 and abs(c["translate"][1]) <= 4 for c in affine)
    assert all(0.9 <= c["scale"] <= 1.1 and -5 <= c["shear"][0] <= 5 and 2 <= c["shear"][1] <= 3 for c in affine)
    jitter = _draws(v2.ColorJitter(brightness=0.4, hue=0.1), image, 300)
    assert all(0.6 <= c["brightness_factor"] <= 1.4 and -0.1 <= c["hue_factor"] <= 0.1 for c in jitter)
    assert all(c["contrast_factor"] is None and sorted(c["fn_idx"]) == [0, 1, 2, 3] for c in jitter)


def test_random_crop_positions_are_uniform():
    juanji.manual_seed(3)
    image = tv_tensors.Image(juanji.zeros(1, 10, 10))
    tops = np.array([c["top"] for c in _draws(v2.RandomCrop(6), image, 2000)])
    assert set(tops) == set(range(5)) and np.bincount(tops).min() > 330


def test_random_erasing_boxes_and_values():
    juanji.manual_seed(4)
    image = tv_tensors.Image(juanji.ones(3, 40, 40))
    calls = _draws(v2.RandomErasing(p=1.0, scale=(0.1, 0.2), value="random"), image, 200)
    areas = np.array([c["h"] * c["w"] / 1600 for c in calls])
    assert 0.08 < areas.min() and areas.max() < 0.23
    erased = v2.RandomErasing(p=1.0, value=(0.1, 0.2, 0.3))(image)
    zeros = (erased.numpy() != 1).all(axis=0)
    assert zeros.any() and np.allclose(erased.numpy()[:, zeros], np.array([[0.1], [0.2], [0.3]]))


def test_mixup_and_cutmix_mix_images_and_labels_by_the_same_weight():
    juanji.manual_seed(5)
    x = juanji.rand(4, 3, 10, 10)
    y = juanji.tensor([0, 2, 1, 2])
    calls = recorded(mixup := v2.MixUp(alpha=1.0, num_classes=3))
    mx, my = mixup(x, y)
    lam = calls[0]["lam"]
    rolled = np.roll(x.numpy(), 1, axis=0)
    np.testing.assert_allclose(mx.numpy(), lam * x.numpy() + (1 - lam) * rolled, atol=1e-6)
    one_hot = np.eye(3)[[0, 2, 1, 2]]
    np.testing.assert_allclose(my.numpy(), lam * one_hot + (1 - lam) * np.roll(one_hot, 1, axis=0), atol=1e-6)
    lams = [recorded_lam for recorded_lam in (v2.MixUp(num_classes=3).make_params([]) ["lam"] for _ in range(2000))]
    assert abs(np.mean(lams) - 0.5) < 0.02 and abs(np.var(lams) - 1 / 12) < 0.01    # Beta(1, 1) = U(0, 1)
    calls = recorded(cutmix := v2.CutMix(alpha=1.0, num_classes=3))
    cx, cy = cutmix(x, y)
    x1, y1, x2, y2 = calls[0]["box"]
    pasted = np.zeros((10, 10), bool)
    pasted[y1:y2, x1:x2] = True
    np.testing.assert_array_equal(cx.numpy()[..., pasted], rolled[..., pasted])
    np.testing.assert_array_equal(cx.numpy()[..., ~pasted], x.numpy()[..., ~pasted])
    lam = calls[0]["lam_adjusted"]
    assert lam == pytest.approx(1 - pasted.mean())
    np.testing.assert_allclose(cy.numpy(), lam * one_hot + (1 - lam) * np.roll(one_hot, 1, axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="num_classes must be passed"):
        v2.MixUp()(x, y)
    with pytest.raises(ValueError, match="does not support PIL images, bounding boxes, keypoints and masks"):
        v2.CutMix(num_classes=3)(tv_tensors.Mask(juanji.zeros(4, 10, 10)), y)


# ---------------------------------------------------------------------------------- auto augment
@pytest.mark.parametrize("make", [lambda: v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET),
                                  lambda: v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10),
                                  lambda: v2.AutoAugment(v2.AutoAugmentPolicy.SVHN), lambda: v2.RandAugment(),
                                  lambda: v2.TrivialAugmentWide(), lambda: v2.AugMix()])
@pytest.mark.parametrize("kind", ["uint8", "pil", "float"])
def test_auto_augment_family_runs_repeatably_on_every_image_kind(make, kind):
    image, _, _ = scene()
    if kind == "pil":
        image = F.to_pil_image(image)
    elif kind == "float":
        image = F.to_dtype(image, juanji.float32, scale=True)
    outputs = []
    for _ in range(2):
        juanji.manual_seed(11)
        outputs.append([np.asarray(make()(image)) if kind == "pil" else make()(image).numpy() for _ in range(5)])
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, np.asarray(image) if kind == "pil" else image.numpy()) for a in outputs[0])


@pytest.mark.parametrize("op, magnitude", [("ShearX", 0.2), ("ShearY", -0.3), ("TranslateX", 7.0), ("TranslateY", -5.0),
                                           ("Rotate", 20.0), ("Brightness", 0.4), ("Color", -0.5), ("Contrast", 0.3),
                                           ("Sharpness", 0.6), ("Posterize", 4.0), ("Solarize", 0.4),
                                           ("AutoContrast", 0.0), ("Equalize", 0.0), ("Invert", 0.0)])
@pytest.mark.parametrize("kind", ["uint8", "pil"])
def test_each_auto_augment_operation_matches_torchvision(tv, op, magnitude, kind):
    import torch
    image, _, _ = scene()
    ours_in = image if kind == "uint8" else F.to_pil_image(image)
    theirs_in = torch.from_numpy(image.numpy().copy()) if kind == "uint8" else F.to_pil_image(image)
    ours = v2.RandAugment(fill=[10, 20, 30])._apply(ours_in, op, magnitude)
    theirs = tv.transforms.v2.RandAugment(fill=[10, 20, 30])._apply_image_or_video_transform(
        theirs_in, op, magnitude, interpolation=tv.transforms.v2.InterpolationMode.NEAREST,
        fill={"others": [10.0, 20.0, 30.0]})
    np.testing.assert_array_equal(np.asarray(ours) if kind == "pil" else ours.numpy(),
                                  np.asarray(theirs) if kind == "pil" else theirs.numpy())


def test_magnitude_tables_are_torchvisions(tv):
    for name in ("AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"):
        ours, theirs = getattr(v2, name)._AUGMENTATION_SPACE, getattr(tv.transforms.v2, name)._AUGMENTATION_SPACE
        assert list(ours) == list(theirs), name
        for op, (levels_fn, signed) in theirs.items():
            their_levels = levels_fn(31, 20, 30)
            our_fn, our_signed = ours[op]
            assert our_signed == signed
            if their_levels is None:
                assert our_fn is None
            else:
                np.testing.assert_array_equal(our_fn(31, 20, 30), their_levels.numpy())


def test_auto_augment_refuses_masks_and_two_images():
    image, mask, _ = scene()
    with pytest.raises(TypeError, match="Inputs of type Mask are not supported by AutoAugment"):
        v2.AutoAugment()(image, mask)
    with pytest.raises(TypeError, match="only properly defined for a single image"):
        v2.RandAugment()(image, tv_tensors.Image(image.clone()))


# ---------------------------------------------------------------------------------- tensor vs PIL
PIL_VS_TENSOR = [
    # (transform factory, how many of the uint8 values may differ, by at most)
    (lambda: v2.RandomHorizontalFlip(p=1.0), 0.0, 0), (lambda: v2.RandomCrop(20, padding=3), 0.0, 0),
    (lambda: v2.CenterCrop(30), 0.0, 0), (lambda: v2.Pad(3, padding_mode="reflect"), 0.0, 0),
    (lambda: v2.RandomRotation(90), 0.0, 0), (lambda: v2.RandomInvert(p=1.0), 0.0, 0),
    (lambda: v2.RandomPosterize(3, p=1.0), 0.0, 0), (lambda: v2.RandomSolarize(128, p=1.0), 0.0, 0),
    (lambda: v2.RandomEqualize(p=1.0), 0.0, 0), (lambda: v2.RandomAutocontrast(p=1.0), 0.0, 0),
    (lambda: v2.Grayscale(3), 0.6, 1),
    (lambda: v2.Resize((17, 19)), 0.01, 1), (lambda: v2.RandomResizedCrop(28, antialias=True), 0.08, 1),
    (lambda: v2.RandomRotation(33), 0.02, 255), (lambda: v2.RandomAffine(20, scale=(0.9, 1.1)), 0.03, 255),
    (lambda: v2.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5), 0.5, 2),
    (lambda: v2.ColorJitter(hue=0.2), 1.0, 12), (lambda: v2.RandomAdjustSharpness(2.0, p=1.0), 0.1, 1),
]


@pytest.mark.parametrize("make, fraction, largest", PIL_VS_TENSOR, ids=range(len(PIL_VS_TENSOR)))
def test_the_same_transform_gives_the_same_pixels_on_a_tensor_and_a_pil_image(make, fraction, largest):
    """Same seed, same parameters; the PIL path is Pillow's, the tensor path torch's arithmetic. Measured
    differences: none for exact operations; grey: torch truncates the luma, Pillow rounds (1 in half
    the pixels); resizes: Pillow's 22-bit weights vs torch's 16-bit ones (1 in under 8 %); Pillow's
    8-bit rounding (<= 2) for enhancements; nearest-neighbour ties at a few rotated pixels; hue
    through Pillow's 8-bit HSV (up to 12)."""
    image, _, _ = scene(5)
    juanji.manual_seed(21)
    from_tensor = make()(image).numpy()
    juanji.manual_seed(21)
    from_pil = np.asarray(make()(F.to_pil_image(image))).transpose(2, 0, 1)
    assert from_tensor.shape == from_pil.shape
    difference = np.abs(from_tensor.astype(int) - from_pil.astype(int))
    assert np.mean(difference > 0) <= fraction and difference.max() <= largest


# ---------------------------------------------------------------------------------- conversions and errors
def test_to_image_to_dtype_to_pure_tensor_pipeline():
    image, mask, _ = scene()
    pipeline = v2.Compose([v2.ToImage(), v2.ToDtype({tv_tensors.Image: juanji.float32, tv_tensors.Mask: juanji.int64,
                                                     "others": None}, scale=True), v2.ToPureTensor()])
    x, m = pipeline(F.to_pil_image(image), mask)
    assert type(x) is juanji.Tensor and x.dtype is juanji.float32 and float(x.max()) <= 1.0
    assert type(m) is juanji.Tensor and m.dtype is juanji.int64 and set(np.unique(m.numpy())) == {0, 3}
    np.testing.assert_allclose(x.numpy(), image.numpy() / 255.0, atol=1e-6)


def test_containers_choose_and_order_with_the_generator():
    x = tv_tensors.Image(juanji.arange(12.0).reshape(1, 3, 4))
    juanji.manual_seed(0)
    picks = [v2.RandomChoice([v2.RandomHorizontalFlip(1.0), v2.RandomVerticalFlip(1.0)], p=[3, 1])(x)[0, 0, 0].item()
             for _ in range(800)]
    assert abs(np.mean(np.array(picks) == 3.0) - 0.75) < 0.05
    out = v2.RandomOrder([v2.RandomHorizontalFlip(1.0), v2.RandomVerticalFlip(1.0)])(x)
    np.testing.assert_array_equal(out.numpy(), x.numpy()[:, ::-1, ::-1])
    assert v2.RandomApply([v2.RandomHorizontalFlip(1.0)], p=0.0)(x) is x


def test_bad_arguments_say_what():
    with pytest.raises(ValueError, match="`p` should be a floating point value in the interval"):
        v2.RandomHorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match="If degrees is a single number, it must be positive"):
        v2.RandomRotation(-3)
    with pytest.raises(ValueError, match="translation values should be between 0 and 1"):
        v2.RandomAffine(0, translate=(0.2, 1.5))
    with pytest.raises(TypeError, match="Got inappropriate fill arg"):
        v2.Pad(2, fill="red")
    with pytest.raises(ValueError, match="Required crop size"):
        v2.RandomCrop(50)(tv_tensors.Image(juanji.zeros(3, 10, 10)))
    with pytest.raises(ValueError, match="Pass at least one transform"):
        v2.Compose([])
    with pytest.raises(TypeError, match="No image or video was found in the sample"):
        v2.RandomErasing(p=1.0)(tv_tensors.Mask(juanji.zeros(5, 5)))


def test_elastic_transform_field_is_smooth_and_scaled():
    juanji.manual_seed(8)
    image = tv_tensors.Image(juanji.zeros(1, 40, 60))
    calls = recorded(t := v2.ElasticTransform(alpha=30.0, sigma=4.0))
    t(image)
    field = calls[0]["displacement"].numpy()[0]
    assert field.shape == (40, 60, 2)
    pixels_x = field[..., 0] * 60 / 2           # grid units -> pixels
    assert 0.2 < np.abs(pixels_x).max() < 30.0
    # neighbouring displacements are close (blurred noise), unlike raw uniform noise
    assert np.abs(np.diff(field[..., 0], axis=1)).mean() < 0.3 * np.abs(field[..., 0]).mean()   # raw noise: ~1.3


def test_random_iou_crop_keeps_boxes_whose_centre_is_inside_and_meets_the_overlap(tv):
    import torch
    juanji.manual_seed(9)
    image, mask, _ = scene()
    boxes = tv_tensors.BoundingBoxes([[8, 5, 20, 15], [0, 0, 4, 4], [25, 18, 31, 23]], format="XYXY",
                                     canvas_size=(H, W))
    t = v2.RandomIoUCrop(sampler_options=[0.3])
    calls = recorded(t)
    out_image, out_mask, out_boxes = t(image, mask, boxes)
    p = calls[0]
    assert out_image.shape[-2:] == (p["height"], p["width"]) == out_mask.shape[-2:]
    assert out_boxes.canvas_size == (p["height"], p["width"])
    zeroed = (out_boxes.numpy() == 0).all(axis=1)
    assert zeroed.tolist() == (~p["is_within_crop_area"]).tolist()
    # the same crop parameters in torchvision's transform step give the same boxes
    theirs = tv.transforms.v2.RandomIoUCrop().transform(
        tv.tv_tensors.BoundingBoxes(torch.from_numpy(boxes.numpy().copy()), format="XYXY", canvas_size=(H, W)),
        {**p, "is_within_crop_area": torch.from_numpy(p["is_within_crop_area"])})
    np.testing.assert_allclose(out_boxes.numpy(), theirs.numpy())
    assert v2.RandomIoUCrop(sampler_options=[1.0])(image, boxes)[1] is boxes
    with pytest.raises(TypeError, match="requires input sample to contain tensor or PIL images and bounding boxes"):
        v2.RandomIoUCrop()(image)


@pytest.mark.parametrize("make", [lambda: v2.RandomHorizontalFlip(p=1.0), lambda: v2.RandomVerticalFlip(p=1.0),
                                  lambda: v2.RandomCrop(20, padding=3), lambda: v2.Pad([2, 4]),
                                  lambda: v2.CenterCrop(18)])
def test_keypoints_stay_on_the_object(make):
    """Points on pixels of the object are still on the object's pixels afterwards (pixel-exact moves)."""
    image, mask, _ = scene()
    points = tv_tensors.KeyPoints([[8, 5], [19, 14], [12, 9]], canvas_size=(H, W))
    juanji.manual_seed(6)
    _, out_mask, out_points = make()(image, mask, points)
    assert type(out_points) is tv_tensors.KeyPoints and out_points.canvas_size == tuple(out_mask.shape[-2:])
    for x, y in out_points.numpy().astype(int):
        if 0 <= x < out_mask.shape[-1] and 0 <= y < out_mask.shape[-2]:
            assert out_mask.numpy()[y, x] == 3


def test_clamp_and_sanitize_keypoints_transforms():
    points = tv_tensors.KeyPoints([[[1, 1], [5, 5]], [[-2, 3], [4, 4]], [[3, 9], [1, 1]]], canvas_size=(8, 8))
    labels = juanji.tensor([10, 11, 12])
    kept, kept_labels = v2.SanitizeKeyPoints(labels_getter="default")(points, labels)
    assert kept.tolist() == [[[1, 1], [5, 5]]] and kept_labels.tolist() == [10]
    clamped = v2.ClampKeyPoints()(points)
    assert clamped.numpy().min() >= 0 and clamped.numpy().max() <= 7 and clamped.tolist()[1][0] == [0, 3]
    with pytest.raises(TypeError, match="Inputs of type KeyPoints are not supported by RandAugment"):
        v2.RandAugment()(tv_tensors.Image(juanji.zeros(3, 8, 8, dtype=juanji.uint8)), points)
