"""juanji.vision.utils against the real torchvision.utils (pixels equal), plus NumPy/PIL expectations
that need no torchvision."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.vision import utils


def batch(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)


def both(torch, arr):
    return juanji.from_numpy(arr.copy()), torch.from_numpy(arr.copy())


# ---------------------------------------------------------------------------------- make_grid
GRID_CASES = [
    ((5, 3, 4, 6), {}),
    ((5, 3, 4, 6), {"nrow": 2, "padding": 1, "pad_value": 0.5}),
    ((1, 3, 4, 6), {}),
    ((7, 1, 3, 3), {"nrow": 3}),
    ((3, 4, 5), {}),                        # one image, 3-d
    ((1, 5, 5), {}),                        # one grey image -> 3 channels
    ((5, 5), {}),                           # 2-d
    ((6, 3, 4, 4), {"normalize": True}),
    ((6, 3, 4, 4), {"normalize": True, "scale_each": True}),
    ((6, 3, 4, 4), {"normalize": True, "value_range": (0.2, 0.7)}),
    ((6, 3, 4, 4), {"normalize": True, "value_range": (0.2, 0.7), "scale_each": True, "padding": 0}),
    ((4, 3, 2, 2), {"nrow": 10}),
]


@pytest.mark.parametrize("shape, kwargs", GRID_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_make_grid_matches_torchvision(tv, shape, kwargs, dtype):
    import torch
    arr = (batch(shape, dtype) * 3 - 1).astype(dtype)
    ours, theirs = both(torch, arr)
    got = utils.make_grid(ours, **kwargs)
    want = tv.utils.make_grid(theirs, **kwargs)
    assert got.dtype.name == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_make_grid_uint8_and_list_input_match_torchvision(tv):
    import torch
    arr = batch((3, 3, 5, 4), np.uint8)
    got = utils.make_grid([juanji.from_numpy(a.copy()) for a in arr], nrow=2, pad_value=255)
    want = tv.utils.make_grid([torch.from_numpy(a.copy()) for a in arr], nrow=2, pad_value=255)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_make_grid_layout_by_hand():
    arr = np.stack([np.full((1, 2, 3), k, np.float32) for k in range(1, 6)])   # 5 images, 1 channel
    grid = utils.make_grid(juanji.from_numpy(arr), nrow=3, padding=1, pad_value=-1).numpy()
    # 3 columns x 2 rows of 2x3 cells with 1-pixel borders; grey repeated on 3 channels
    assert grid.shape == (3, 2 * 3 + 1, 3 * 4 + 1)
    assert (grid[0] == grid[2]).all()
    assert grid[0, 1, 1] == 1 and grid[0, 1, 5] == 2 and grid[0, 1, 9] == 3 and grid[0, 4, 1] == 4
    assert grid[0, 4, 5] == 5 and (grid[0, 4:6, 9:12] == -1).all()   # the missing 6th cell is padding
    assert (grid[:, 0] == -1).all() and (grid[:, :, 4] == -1).all()


def test_make_grid_bad_input_says_what():
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        utils.make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="list containing"):
        utils.make_grid([juanji.zeros(3, 4, 4), np.zeros((3, 4, 4))])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        utils.make_grid(juanji.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1])
    with pytest.raises(ValueError, match=r"expected images \[B, C, H, W\]"):
        utils.make_grid(juanji.zeros(1, 2, 3, 4, 4))


def test_make_grid_does_not_change_its_input_or_record_a_graph():
    x = juanji.rand(4, 3, 5, 5, requires_grad=True)
    before = x.detach().numpy().copy()
    grid = utils.make_grid(x, normalize=True)
    np.testing.assert_array_equal(x.detach().numpy(), before)
    assert not grid.requires_grad and grid.grad_fn is None


# ---------------------------------------------------------------------------------- save_image
@pytest.mark.parametrize("shape, kwargs", [((4, 3, 5, 6), {"nrow": 2}), ((1, 8, 8), {}), ((3, 6, 6), {}),
                                           ((2, 3, 4, 4), {"normalize": True})])
def test_save_image_writes_torchvisions_pixels(tv, tmp_path, shape, kwargs):
    import torch
    arr = batch(shape, np.float32, seed=3) * 1.2 - 0.1    # some values outside [0, 1]: clamped
    ours, theirs = both(torch, arr)
    utils.save_image(ours, tmp_path / "ours.png", **kwargs)
    tv.utils.save_image(theirs, str(tmp_path / "theirs.png"), **kwargs)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "ours.png")),
                                  np.asarray(Image.open(tmp_path / "theirs.png")))


def test_save_image_rounds_to_nearest_and_takes_file_objects():
    x = juanji.tensor([[[0.0, 0.5 / 255, 1.5 / 255, 1.0, 2.0, -1.0]]])
    buffer = io.BytesIO()
    utils.save_image(x, buffer, format="png")
    buffer.seek(0)
    pixels = np.asarray(Image.open(buffer))
    assert pixels.shape == (1, 6, 3)
    assert pixels[0, :, 0].tolist() == [0, 1, 2, 255, 255, 0]


# ---------------------------------------------------------------------------------- boxes
BOXES = np.array([[1, 2, 20, 15], [5, 5, 9, 30], [0, 0, 39, 31], [10.7, 3.2, 25.9, 8.8]], np.float32)


@pytest.mark.parametrize("kwargs", [
    {},
    {"colors": "red", "width": 3},
    {"colors": ["blue", (0, 255, 0), "#FF00FF", "yellow"], "fill": True},
    {"labels": ["cat", "dog", "a", "b"]},
    {"labels": ["cat", "dog", "a", "b"], "fill_labels": True, "width": 2},
    {"labels": ["cat", "dog", "a", "b"], "fill_labels": True, "label_colors": "white",
     "label_background_colors": ["black", "blue", "red", "green"]},
])
@pytest.mark.parametrize("image_kind", ["uint8-rgb", "float-rgb", "uint8-grey"])
def test_draw_bounding_boxes_matches_torchvision(tv, kwargs, image_kind):
    import torch
    channels = 1 if image_kind.endswith("grey") else 3
    arr = batch((channels, 32, 40), np.uint8 if image_kind.startswith("uint8") else np.float32, seed=1)
    ours, theirs = both(torch, arr)
    got = utils.draw_bounding_boxes(ours, juanji.from_numpy(BOXES.copy()), **kwargs)
    want = tv.utils.draw_bounding_boxes(theirs, torch.from_numpy(BOXES.copy()), **kwargs)
    assert got.dtype.name == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_draw_bounding_boxes_outline_by_hand():
    img = juanji.zeros(3, 10, 12, dtype=juanji.uint8)
    out = utils.draw_bounding_boxes(img, juanji.tensor([[2, 3, 8, 7]]), colors=(255, 0, 0)).numpy()
    red = out[0] == 255
    # the outline of x 2..8, y 3..7 and nothing else
    expected = np.zeros((10, 12), bool)
    expected[3, 2:9] = expected[7, 2:9] = True
    expected[3:8, 2] = expected[3:8, 8] = True
    np.testing.assert_array_equal(red, expected)
    assert (out[1:] == 0).all()


def test_draw_bounding_boxes_errors():
    img = juanji.zeros(3, 10, 10, dtype=juanji.uint8)
    with pytest.raises(ValueError, match=r"\(xmin, ymin, xmax, ymax\)"):
        utils.draw_bounding_boxes(img, juanji.tensor([[5, 5, 2, 8]]))
    with pytest.raises(ValueError, match="mismatch"):
        utils.draw_bounding_boxes(img, juanji.tensor([[1, 1, 2, 2]]), labels=["a", "b"])
    with pytest.raises(ValueError, match="not batches"):
        utils.draw_bounding_boxes(juanji.zeros(1, 3, 10, 10, dtype=juanji.uint8), juanji.tensor([[1, 1, 2, 2]]))
    with pytest.raises(ValueError, match="dtype must be uint8 or float"):
        utils.draw_bounding_boxes(img.int(), juanji.tensor([[1, 1, 2, 2]]))
    with pytest.raises(ValueError, match="Number of colors"):
        utils.draw_bounding_boxes(img, juanji.tensor([[1, 1, 2, 2], [1, 1, 3, 3]]), colors=["red"])
    with pytest.warns(UserWarning, match="No box was drawn"):
        assert utils.draw_bounding_boxes(img, juanji.zeros(0, 4)) is img


# ---------------------------------------------------------------------------------- masks
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("kwargs", [{}, {"alpha": 0.3}, {"colors": ["red", (10, 200, 30), "#00FFFF"]},
                                    {"colors": "green", "alpha": 1.0}])
def test_draw_segmentation_masks_matches_torchvision(tv, dtype, kwargs):
    import torch
    arr = batch((3, 12, 14), dtype, seed=2)
    rng = np.random.default_rng(4)
    masks = rng.random((3, 12, 14)) > 0.6          # overlaps included: those pixels turn black
    ours, theirs = both(torch, arr)
    got = utils.draw_segmentation_masks(ours, juanji.from_numpy(masks.copy()), **kwargs)
    want = tv.utils.draw_segmentation_masks(theirs, torch.from_numpy(masks.copy()), **kwargs)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol if dtype != np.uint8 else 0)


def test_draw_segmentation_masks_blend_by_hand():
    img = juanji.full((3, 2, 2), 100, dtype=juanji.uint8)
    mask = juanji.tensor([[True, False], [False, False]])
    out = utils.draw_segmentation_masks(img, mask, alpha=0.5, colors=(200, 0, 50)).numpy()
    assert out[:, 0, 0].tolist() == [150, 50, 75]
    assert (out[:, 1, 1] == 100).all()


def test_draw_segmentation_masks_errors():
    img = juanji.zeros(3, 4, 4, dtype=juanji.uint8)
    with pytest.raises(ValueError, match="dtype bool"):
        utils.draw_segmentation_masks(img, juanji.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="same height and width"):
        utils.draw_segmentation_masks(img, juanji.zeros(1, 3, 4, dtype=juanji.bool))
    with pytest.raises(ValueError, match="3-channel"):
        utils.draw_segmentation_masks(juanji.zeros(1, 4, 4), juanji.zeros(1, 4, 4, dtype=juanji.bool))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert utils.draw_segmentation_masks(img, juanji.zeros(0, 4, 4, dtype=juanji.bool)) is img
    assert "No mask was drawn" in str(caught[0].message)


# ---------------------------------------------------------------------------------- keypoints
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_draw_keypoints_matches_torchvision(tv, dtype):
    import torch
    arr = batch((3, 30, 30), dtype, seed=5)
    points = np.array([[[3, 4], [20, 25], [10, 10]], [[28, 2], [15, 15], [1, 27]]], np.float32)
    visible = np.array([[True, True, False], [True, True, True]])
    kwargs = {"connectivity": [(0, 1), (1, 2)], "colors": "blue", "radius": 3, "width": 2}
    ours, theirs = both(torch, arr)
    got = utils.draw_keypoints(ours, juanji.from_numpy(points), visibility=juanji.from_numpy(visible), **kwargs)
    want = tv.utils.draw_keypoints(theirs, torch.from_numpy(points), visibility=torch.from_numpy(visible), **kwargs)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
