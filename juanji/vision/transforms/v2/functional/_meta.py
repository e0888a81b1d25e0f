"""Sizes of inputs and the bounding-box formats: ``get_size``, ``get_dimensions``, ``convert_bounding_box_format``,
``clamp_bounding_boxes``.

Box formats, for a box from (x1, y1) to (x2, y2):  XYXY = (x1, y1, x2, y2);  XYWH = (x1, y1, x2 - x1, y2 - y1);
CXCYWH = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1). Integer boxes stay integer (to the centre: a
floor division; from it: float32, truncated), as in torchvision.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as _PILImage

from .....tensor import Tensor
from .... import tv_tensors
from ..._pil import get_dimensions as _pil_dimensions
from ._utils import dispatch, is_pure_tensor, plain, register_internal

__all__ = ["get_dimensions", "get_dimensions_image", "get_dimensions_video", "get_num_channels",
           "get_num_channels_image", "get_num_channels_video", "get_size", "get_size_image", "get_size_video",
           "get_size_mask", "get_size_bounding_boxes", "get_num_frames", "get_num_frames_video", "get_image_size",
           "get_image_num_channels", "convert_bounding_box_format", "clamp_bounding_boxes"]

BoundingBoxFormat = tv_tensors.BoundingBoxFormat


# ---------------------------------------------------------------------------------- sizes
def get_dimensions(inpt) -> list[int]:
    """``[channels, height, width]`` of an image or video (PIL or tensor)."""
    return dispatch(get_dimensions, inpt)


@register_internal(get_dimensions, Tensor, tv_tensors.Image, wrap=False)
def get_dimensions_image(image) -> list[int]:
    shape = image.shape
    if len(shape) > 2:
        return list(shape[-3:])
    if len(shape) == 2:
        return [1] + list(shape)
    raise TypeError(f"get_dimensions: input tensor should have at least two dimensions, but got {len(shape)}")


register_internal(get_dimensions, _PILImage.Image, wrap=False)(_pil_dimensions)


@register_internal(get_dimensions, tv_tensors.Video, wrap=False)
def get_dimensions_video(video) -> list[int]:
    return get_dimensions_image(video)


def get_num_channels(inpt) -> int:
    return dispatch(get_num_channels, inpt)


@register_internal(get_num_channels, Tensor, tv_tensors.Image, wrap=False)
def get_num_channels_image(image) -> int:
    return get_dimensions_image(image)[0]


register_internal(get_num_channels, _PILImage.Image, wrap=False)(lambda image: len(image.getbands()))


@register_internal(get_num_channels, tv_tensors.Video, wrap=False)
def get_num_channels_video(video) -> int:
    return get_num_channels_image(video)


get_image_num_channels = get_num_channels


def get_size(inpt) -> list[int]:
    """``[height, width]`` of an image, video, mask (its last two dims) or boxes (their canvas)."""
    return dispatch(get_size, inpt)


@register_internal(get_size, Tensor, tv_tensors.Image, wrap=False)
def get_size_image(image) -> list[int]:
    if image.ndim < 2:
        raise TypeError(f"get_size: input tensor should have at least two dimensions, but got {image.ndim}")
    return list(image.shape[-2:])


register_internal(get_size, _PILImage.Image, wrap=False)(lambda image: [image.height, image.width])


@register_internal(get_size, tv_tensors.Video, wrap=False)
def get_size_video(video) -> list[int]:
    return get_size_image(video)


@register_internal(get_size, tv_tensors.Mask, wrap=False)
def get_size_mask(mask) -> list[int]:
    return list(mask.shape[-2:])


@register_internal(get_size, tv_tensors.BoundingBoxes, wrap=False)
def get_size_bounding_boxes(bounding_boxes) -> list[int]:
    return list(bounding_boxes.canvas_size)


def get_image_size(inpt) -> list[int]:
    """``[width, height]`` (torchvision's older name and order)."""
    height, width = get_size(inpt)
    return [width, height]


def get_num_frames(inpt) -> int:
    return dispatch(get_num_frames, inpt)


@register_internal(get_num_frames, Tensor, tv_tensors.Video, wrap=False)
def get_num_frames_video(video) -> int:
    return video.shape[-4]


# ---------------------------------------------------------------------------------- box formats
def _check_axis_aligned(format, where: str) -> None:
    if tv_tensors.is_rotated_bounding_format(format):
        raise NotImplementedError(f"{where}: rotated bounding boxes ({format}) are not supported by juanji")


def _halve(values):
    """``values / 2`` for float boxes, floor division for integer ones (torchvision's arithmetic)."""
    if values.dtype.kind == "f":
        return values / values.dtype.type(2)
    return np.floor_divide(values, 2)


def to_xyxy(boxes: np.ndarray, format) -> np.ndarray:
    """Boxes [..., 4] in ``format`` -> XYXY (a new array, same dtype): x2 = x1 + w; from the centre,
    x1 = cx - w / 2, then x2 = x1 + w (integer boxes: computed in float32, truncated back)."""
    out = boxes.copy()
    if format == BoundingBoxFormat.XYWH:
        out[..., 2:] += out[..., :2]
    elif format == BoundingBoxFormat.CXCYWH:
        work = out if out.dtype.kind == "f" else out.astype(np.float32)
        work[..., :2] -= work[..., 2:] / work.dtype.type(2)
        work[..., 2:] += work[..., :2]
        out = work.astype(boxes.dtype, copy=False)
    return out


def from_xyxy(boxes: np.ndarray, format) -> np.ndarray:
    """XYXY boxes [..., 4] -> ``format`` (a new array, same dtype): w = x2 - x1; cx = (2 x1 + w) / 2
    (floor division for integers)."""
    out = boxes.copy()
    if format in (BoundingBoxFormat.XYWH, BoundingBoxFormat.CXCYWH):
        out[..., 2:] -= out[..., :2]
    if format == BoundingBoxFormat.CXCYWH:
        out[..., :2] = _halve(out[..., :2] * 2 + out[..., 2:])
    return out


def _convert_array(boxes: np.ndarray, old, new) -> np.ndarray:
    if old == new:
        return boxes.copy()
    return from_xyxy(to_xyxy(boxes, old), new)


def convert_bounding_box_format(inpt, old_format=None, new_format=None, inplace: bool = False):
    """Boxes from ``old_format`` to ``new_format`` (names or BoundingBoxFormat). For BoundingBoxes the old
    format is theirs (passing it is an error) and the result carries the new one."""
    if new_format is None:
        raise TypeError("convert_bounding_box_format() missing 1 required argument: 'new_format'")
    new_format = tv_tensors._box_format(new_format)
    _check_axis_aligned(new_format, "convert_bounding_box_format")
    if is_pure_tensor(inpt):
        if old_format is None:
            raise ValueError("For pure tensor inputs, `old_format` has to be passed.")
        old_format = tv_tensors._box_format(old_format)
        _check_axis_aligned(old_format, "convert_bounding_box_format")
        return Tensor._from_array(_convert_array(inpt._data, old_format, new_format))
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if old_format is not None:
            raise ValueError("For bounding box tv_tensor inputs, `old_format` must not be passed.")
        _check_axis_aligned(inpt.format, "convert_bounding_box_format")
        out = Tensor._from_array(_convert_array(inpt._data, inpt.format, new_format))
        return tv_tensors.wrap(out, like=inpt, format=new_format)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got {type(inpt)} instead.")


def clamp_boxes_array(boxes: np.ndarray, format, canvas_size, clamping_mode="soft") -> np.ndarray:
    """Clamp boxes to the canvas (x to [0, W], y to [0, H]) through XYXY; None mode leaves them."""
    if clamping_mode is None:
        return boxes.copy()
    integer = boxes.dtype.kind != "f"
    xyxy = to_xyxy(boxes.astype(np.float32) if integer else boxes, format)
    height, width = canvas_size
    np.clip(xyxy[..., 0::2], 0, width, out=xyxy[..., 0::2])
    np.clip(xyxy[..., 1::2], 0, height, out=xyxy[..., 1::2])
    out = from_xyxy(xyxy, format)
    return out.astype(boxes.dtype) if integer else out


def clamp_bounding_boxes(inpt, format=None, canvas_size=None, clamping_mode="auto"):
    """Clamp boxes to their canvas. Plain tensors need ``format``, ``canvas_size`` and a mode; BoundingBoxes
    use their own (``clamping_mode='auto'`` takes the boxes' mode)."""
    if clamping_mode is not None and clamping_mode not in ("soft", "hard", "auto"):
        raise ValueError(f"clamping_mode must be soft, hard, auto or None, got {clamping_mode}")
    if is_pure_tensor(inpt):
        if format is None or canvas_size is None or clamping_mode == "auto":
            raise ValueError("For pure tensor inputs, `format`, `canvas_size` and `clamping_mode` have to be passed.")
        format = tv_tensors._box_format(format)
        _check_axis_aligned(format, "clamp_bounding_boxes")
        return Tensor._from_array(clamp_boxes_array(inpt._data, format, canvas_size, clamping_mode))
    if isinstance(inpt, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("For bounding box tv_tensor inputs, `format` and `canvas_size` must not be passed.")
        mode = inpt.clamping_mode if clamping_mode == "auto" else clamping_mode
        out = clamp_boxes_array(plain(inpt)._data, inpt.format, inpt.canvas_size, mode)
        return tv_tensors.wrap(Tensor._from_array(out), like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a bounding box tv_tensor, but got {type(inpt)} instead.")
