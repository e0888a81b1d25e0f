"""torchvision.utils for juanji: image grids, saving, and drawing boxes, masks and keypoints on images.

    grid = make_grid(batch, nrow=8, padding=2)             # [B, C, H, W] -> one [C, H', W'] picture
    save_image(batch, "samples.png", nrow=4)               # the same grid, written as an image file
    drawn = draw_bounding_boxes(img_uint8, boxes_xyxy, labels=["cat", "dog"], colors="red")
    drawn = draw_segmentation_masks(img_uint8, masks_bool, alpha=0.6)

Images are tensors [C, H, W], uint8 in [0, 255] or float in [0, 1]. Pillow draws the boxes, text
and keypoints (as torchvision does, so the pixels are the same); the rest is NumPy. Every result
is a new tensor without autograd history.
"""

from __future__ import annotations

import math
import pathlib
import warnings

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from ..tensor import Tensor
from .transforms._tensor import to_dtype

__all__ = ["make_grid", "save_image", "draw_bounding_boxes", "draw_segmentation_masks", "draw_keypoints"]


def _array(x, where: str) -> np.ndarray:
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: Tensor expected, got {type(x)}")
    return x._host()


def _wrap(arr) -> Tensor:
    return Tensor._from_array(np.ascontiguousarray(arr))


# ---------------------------------------------------------------------------------- grids
def _as_batch(tensor) -> np.ndarray:
    """A tensor or list of tensors as a [B, C, H, W] array; one channel becomes three (grey -> RGB)."""
    if isinstance(tensor, (list, tuple)):
        for t in tensor:
            if not isinstance(t, Tensor):
                raise TypeError(f"make_grid: tensor or list of tensors expected, got a list containing {type(t)}")
        shapes = {tuple(t.shape) for t in tensor}
        if len(shapes) != 1:
            raise RuntimeError(f"make_grid: all images of the list must have the same shape, got {sorted(shapes)}")
        batch = np.stack([t._host() for t in tensor])
    elif isinstance(tensor, Tensor):
        batch = tensor._host()
    else:
        raise TypeError(f"make_grid: tensor or list of tensors expected, got {type(tensor)}")
    if batch.ndim == 2:      # one image H x W
        batch = batch[None]
    if batch.ndim == 3:      # one image C x H x W
        if batch.shape[0] == 1:
            batch = np.concatenate([batch] * 3, axis=0)
        batch = batch[None]
    if batch.ndim != 4:
        raise ValueError(f"make_grid: expected images [B, C, H, W], [C, H, W] or [H, W], got shape {list(batch.shape)}")
    if batch.shape[1] == 1:
        batch = np.concatenate([batch] * 3, axis=1)
    return batch


def _normalize(batch, value_range, scale_each: bool) -> np.ndarray:
    """Shift and scale to [0, 1]: clamp to (low, high), then ``(x - low) / max(high - low, 1e-5)``;
    (low, high) is ``value_range`` or the min and max of the batch (of each image with scale_each)."""
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified. min and max are numbers")
    batch = batch.copy()
    parts = list(batch) if scale_each else [batch]  # views: each part is normalised in place
    for part in parts:
        low, high = value_range if value_range is not None else (float(part.min()), float(part.max()))
        np.clip(part, low, high, out=part)
        part -= part.dtype.type(low)
        part /= part.dtype.type(max(high - low, 1e-5))
    return batch


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False, value_range=None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Lay a batch of images out in a grid: ``nrow`` images per row, ``padding`` pixels of
    ``pad_value`` around each.

    For B images of C x H x W the grid is C x (rows * (H + padding) + padding) x
    (cols * (W + padding) + padding) with cols = min(nrow, B), rows = ceil(B / cols); a batch of one
    image is returned as that image. Grey images become three equal channels. ``normalize`` maps
    values to [0, 1] first (see ``value_range`` and ``scale_each``).
    """
    batch = _as_batch(tensor)
    if normalize is True:
        if batch.dtype.kind != "f":
            raise RuntimeError(f"make_grid: normalize=True needs a float tensor, got {batch.dtype}")
        batch = _normalize(batch, value_range, scale_each)
    if batch.shape[0] == 1:
        return _wrap(batch[0].copy())
    count, channels, h, w = batch.shape
    cols = min(nrow, count)
    rows = int(math.ceil(count / cols))
    cell_h, cell_w = h + padding, w + padding
    grid = np.full((channels, rows * cell_h + padding, cols * cell_w + padding), pad_value, dtype=batch.dtype)
    for k in range(count):
        y, x = divmod(k, cols)
        top, left = y * cell_h + padding, x * cell_w + padding
        grid[:, top:top + h, left:left + w] = batch[k]
    return _wrap(grid)


def save_image(tensor, fp, format=None, **kwargs) -> None:
    """Write ``make_grid(tensor, **kwargs)`` to ``fp`` (a path or a file object; ``format`` names the
    file type when the name has no extension). Values in [0, 1] become ``uint8(clamp(x * 255 + 0.5))``."""
    if isinstance(fp, pathlib.PurePath):
        fp = str(fp)
    grid = make_grid(tensor, **kwargs)._data
    if grid.dtype.kind != "f":
        grid = grid.astype(np.float32)
    # + 0.5 before the truncating cast rounds to the nearest integer
    scaled = np.clip(grid * grid.dtype.type(255) + grid.dtype.type(0.5), 0, 255)
    hwc = scaled.transpose(1, 2, 0).astype(np.uint8)
    Image.fromarray(np.ascontiguousarray(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc)).save(fp, format=format)


# ---------------------------------------------------------------------------------- drawing
def _palette(count: int) -> list[tuple[int, int, int]]:
    """torchvision's default colours: object i gets ``(i * (2^25 - 1, 2^15 - 1, 2^21 - 1)) mod 255``."""
    palette = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1], dtype=np.int64)
    return [tuple(int(v) for v in (i * palette) % 255) for i in range(count)]


def _parse_colors(colors, count: int, float_image: bool = False) -> list[tuple]:
    """One RGB triple per object from None (the palette), one colour, or a list of colours
    (names like "red" / "#FF00FF" or (r, g, b) tuples); scaled to [0, 1] for float images."""
    if colors is None:
        if float_image:  # torchvision divides its palette's int64 tensors, which gives float32 values
            return [tuple(float(np.float32(v) / np.float32(255)) for v in c) for c in _palette(count)]
        colors = _palette(count)
    elif isinstance(colors, list):
        if len(colors) < count:
            raise ValueError(f"Number of colors must be equal or larger than the number of objects, but got "
                             f"{len(colors)} < {count}.")
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(f"colors must be a tuple or a string, or a list thereof, but got {colors}.")
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"If passed as tuple, colors should be an RGB triplet, but got {colors}.")
    else:
        colors = [colors] * count
    colors = [ImageColor.getrgb(c) if isinstance(c, str) else tuple(c) for c in colors]
    if float_image:
        colors = [tuple(v / 255 for v in c) for c in colors]
    return colors


def _check_drawable(image, where: str, channels=(3,)) -> np.ndarray:
    arr = _array(image, where)
    if not (arr.dtype == np.uint8 or arr.dtype.kind == "f"):
        raise ValueError(f"{where}: the image dtype must be uint8 or float, got {image.dtype}")
    if arr.ndim != 3:
        raise ValueError(f"{where}: pass individual images [C, H, W], not batches (got shape {list(arr.shape)})")
    if arr.shape[0] not in channels:
        raise ValueError(f"{where}: only {' and '.join(map(str, channels))}-channel images are supported, "
                         f"got {arr.shape[0]} channels")
    return arr


def _to_pil_rgb(arr) -> Image.Image:
    """An RGB [3, H, W] array (uint8, or float in [0, 1]) as a PIL image."""
    if arr.dtype.kind == "f":
        arr = to_dtype(arr, np.uint8, scale=True)
    return Image.fromarray(np.ascontiguousarray(arr.transpose(1, 2, 0)), "RGB")


def _from_pil_rgb(picture, dtype) -> Tensor:
    out = np.ascontiguousarray(np.asarray(picture)[:, :, :3].transpose(2, 0, 1))
    if np.dtype(dtype).kind == "f":
        out = to_dtype(out, dtype, scale=True)
    return _wrap(out)


def draw_bounding_boxes(image, boxes, labels=None, colors=None, fill: bool = False, width: int = 1, font=None,
                        font_size=None, label_colors=None, label_background_colors=None,
                        fill_labels: bool = False) -> Tensor:
    """Draw boxes ``[N, 4]`` given as (xmin, ymin, xmax, ymax) pixels on a [C, H, W] image (C = 1 or 3).

    The box outline is ``width`` pixels (Pillow's rectangle, coordinates truncated to int); with
    ``fill`` the inside is blended with the colour at alpha 100/255. Each label is written at
    (xmin + width + 1, ymin + width + 1) in ``font`` (a TrueType file; Pillow's default font if None).
    Returns a uint8 RGB image, or a float one in [0, 1] for a float input.
    """
    where = "draw_bounding_boxes"
    arr = _check_drawable(image, where, channels=(1, 3))
    box_arr = _array(boxes, where)
    if box_arr.ndim != 2 or box_arr.shape[-1] != 4:
        raise ValueError(f"{where}: expected boxes [N, 4] in (xmin, ymin, xmax, ymax) format, got shape "
                         f"{list(box_arr.shape)} (rotated [N, 8] boxes are not supported by juanji)")
    if (box_arr[:, 0] > box_arr[:, 2]).any() or (box_arr[:, 1] > box_arr[:, 3]).any():
        raise ValueError("Boxes need to be in (xmin, ymin, xmax, ymax) format. Use torchvision.ops.box_convert "
                         "to convert them")
    count = box_arr.shape[0]
    if count == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn")
        return image
    if labels is None:
        labels = [None] * count
    elif len(labels) != count:
        raise ValueError(f"Number of boxes ({count}) and labels ({len(labels)}) mismatch. Please specify labels "
                         "for each box.")
    colors = _parse_colors(colors, count)
    if label_colors or fill_labels:
        label_colors = _parse_colors(label_colors if label_colors else "black", count)
    else:
        label_colors = list(colors)
    if fill_labels and label_background_colors:
        label_background_colors = _parse_colors(label_background_colors, count)
    else:
        label_background_colors = list(colors)
    if font is None:
        if font_size is not None:
            warnings.warn("Argument 'font_size' will be ignored since 'font' is not set.")
        text_font = ImageFont.load_default()
    else:
        text_font = ImageFont.truetype(font=font, size=font_size or 10)

    if arr.shape[0] == 1:
        arr = np.concatenate([arr] * 3, axis=0)
    picture = _to_pil_rgb(arr)
    draw = ImageDraw.Draw(picture, "RGBA" if fill else None)
    corners = box_arr.astype(np.int64).tolist()
    for box, color, label, label_color, background in zip(corners, colors, labels, label_colors,
                                                          label_background_colors):
        draw.rectangle(box, width=width, outline=color, fill=color + (100,) if fill else None)
        if label is not None:
            box_margin = 1
            margin = width + box_margin
            at = (box[0] + margin, box[1] + margin)
            if fill_labels:
                left, top, right, bottom = draw.textbbox(at, label, font=text_font)
                draw.rectangle((left - box_margin, top - box_margin, right + box_margin, bottom + box_margin),
                               fill=background)
            draw.text(at, label, fill=label_color, font=text_font)
    return _from_pil_rgb(picture, arr.dtype)


def draw_segmentation_masks(image, masks, alpha: float = 0.8, colors=None) -> Tensor:
    """Paint boolean masks ``[N, H, W]`` (or one ``[H, W]``) over an RGB image [3, H, W].

    Each mask's pixels take its colour (pixels under two or more masks become black), then
    ``out = image * (1 - alpha) + painted * alpha``, cast back to the image's dtype (truncated for uint8).
    """
    where = "draw_segmentation_masks"
    arr = _check_drawable(image, where)
    mask_arr = _array(masks, where)
    if mask_arr.ndim == 2:
        mask_arr = mask_arr[None]
    if mask_arr.ndim != 3:
        raise ValueError(f"{where}: masks must be of shape (H, W) or (batch_size, H, W), got {list(mask_arr.shape)}")
    if mask_arr.dtype != np.bool_:
        raise ValueError(f"{where}: the masks must be of dtype bool. Got {masks.dtype}")
    if mask_arr.shape[-2:] != arr.shape[-2:]:
        raise ValueError(f"{where}: the image {list(arr.shape)} and the masks {list(mask_arr.shape)} must have the "
                         "same height and width")
    count = mask_arr.shape[0]
    if count == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn")
        return image
    float_image = arr.dtype.kind == "f"
    palette = np.array(_parse_colors(colors, count, float_image), dtype=arr.dtype)
    painted = arr.copy()
    for mask, color in zip(mask_arr, palette):
        painted[:, mask] = color[:, None]
    painted[:, mask_arr.sum(axis=0) > 1] = 0
    # torch: uint8 * float -> float32 (the default dtype); a float image keeps its dtype
    work = arr.dtype.type if float_image else np.float32
    out = arr.astype(work) * work(1 - alpha) + painted.astype(work) * work(alpha)
    return _wrap(out.astype(arr.dtype))


def draw_keypoints(image, keypoints, connectivity=None, colors=None, radius: int = 2, width: int = 3,
                   visibility=None) -> Tensor:
    """Draw keypoints ``[num_instances, K, 2]`` (x, y) as filled circles of ``radius`` and the
    ``connectivity`` pairs as lines of ``width``, on an RGB image [3, H, W]; invisible points
    (``visibility`` [num_instances, K] False) and their connections are skipped."""
    where = "draw_keypoints"
    arr = _check_drawable(image, where)
    points = _array(keypoints, where)
    if points.ndim != 3:
        raise ValueError(f"{where}: keypoints must be of shape (num_instances, K, 2), got {list(points.shape)}")
    if visibility is None:
        visible = np.ones(points.shape[:-1], dtype=bool)
    else:
        visible = _array(visibility, where).astype(bool)
        if visible.ndim == 3:
            visible = visible.squeeze(-1)
        if visible.ndim != 2:
            raise ValueError(f"{where}: visibility must be of shape (num_instances, K). Got ndim={visible.ndim}")
        if visible.shape != points.shape[:-1]:
            raise ValueError(f"{where}: keypoints and visibility must have the same dimensionality for num_instances "
                             f"and K. Got visibility {list(visible.shape)} and keypoints {list(points.shape)}")
    picture = _to_pil_rgb(arr)
    draw = ImageDraw.Draw(picture)
    for instance, seen in zip(points.astype(np.int64).tolist(), visible.tolist()):
        for (x, y), shown in zip(instance, seen):
            if shown:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors, outline=None, width=0)
        for a, b in connectivity or ():
            if seen[a] and seen[b]:
                draw.line((tuple(instance[a]), tuple(instance[b])), width=width)
    return _from_pil_rgb(picture, arr.dtype)
