"""Geometric functionals of transforms.v2: one function per operation, one kernel per input type.

Images (plain tensors, ``Image``, ``Video``, PIL) are resampled with the chosen interpolation; masks
always with nearest (labels must not be blended) and a fill of 0 unless given; bounding boxes have
their corners moved (then the enclosing axis-aligned box is taken and clamped to the new canvas).
A transform applies the same parameters to every input of a sample, so an image and its mask and
boxes stay aligned.

    F.rotate(img, 30)                     F.rotate(mask, 30)          # same turn, nearest
    F.resize(boxes, [64, 64])             # boxes scaled by 64/W, 64/H; canvas_size becomes (64, 64)
"""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np
from PIL import Image as _PILImage

from .....tensor import Tensor
from .... import tv_tensors
from ..._args import padding_ltrb, resized_output_size
from ..._interpolation import InterpolationMode, pil_filter, to_interpolation_mode
from ... import _pil, _tensor, _warp
from ._meta import clamp_boxes_array, from_xyxy, to_xyxy
from ._utils import dispatch, plain, register_internal

__all__ = [
    "horizontal_flip", "horizontal_flip_image", "horizontal_flip_mask", "horizontal_flip_bounding_boxes",
    "horizontal_flip_video", "hflip", "vertical_flip", "vertical_flip_image", "vertical_flip_mask",
    "vertical_flip_bounding_boxes", "vertical_flip_video", "vflip",
    "resize", "resize_image", "resize_mask", "resize_bounding_boxes", "resize_video",
    "crop", "crop_image", "crop_mask", "crop_bounding_boxes", "crop_video",
    "center_crop", "center_crop_image", "center_crop_mask", "center_crop_bounding_boxes", "center_crop_video",
    "resized_crop", "resized_crop_image", "resized_crop_mask", "resized_crop_bounding_boxes", "resized_crop_video",
    "pad", "pad_image", "pad_mask", "pad_bounding_boxes", "pad_video",
    "rotate", "rotate_image", "rotate_mask", "rotate_bounding_boxes", "rotate_video",
    "affine", "affine_image", "affine_mask", "affine_bounding_boxes", "affine_video",
    "perspective", "perspective_image", "perspective_mask", "perspective_bounding_boxes", "perspective_video",
    "five_crop", "five_crop_image", "five_crop_video", "ten_crop", "ten_crop_image", "ten_crop_video",
    "elastic", "elastic_transform", "elastic_image", "elastic_mask", "elastic_bounding_boxes", "elastic_video",
]

Image, Video, Mask, BoundingBoxes = tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, tv_tensors.BoundingBoxes
NEAREST_MODES = (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT)


def _t(arr) -> Tensor:
    return Tensor._from_array(arr)


def _as_3d(mask):
    """Masks [H, W] go through the image kernels as [1, H, W]."""
    return (mask.unsqueeze(0), True) if mask.ndim < 3 else (mask, False)


def _mask_kernel(image_kernel, mask, *args, **kwargs):
    mask, squeeze = _as_3d(mask)
    out = image_kernel(mask, *args, **kwargs)
    return out.squeeze(0) if squeeze else out


def _box_dispatcher(box_kernel):
    """The BoundingBoxes entry of a functional: call ``box_kernel`` on the plain boxes with their
    format, canvas and clamping mode (and the arguments it takes: fill, interpolation ... are for
    images); wrap the result with the new canvas size."""
    accepted = set(inspect.signature(box_kernel).parameters) - {"bounding_boxes", "format", "canvas_size"}

    def run(inpt, *args, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        out = box_kernel(plain(inpt), inpt.format, inpt.canvas_size, *args, clamping_mode=inpt.clamping_mode,
                         **kwargs)
        boxes, canvas = out if isinstance(out, tuple) else (out, inpt.canvas_size)
        return tv_tensors.wrap(boxes, like=inpt, canvas_size=canvas)
    return run


def _box_kernel_input(boxes, format):
    """Float XYXY array of the boxes (float32 for integer boxes), and what to cast back to."""
    arr = boxes._data
    work = arr if arr.dtype.kind == "f" else arr.astype(np.float32)
    return to_xyxy(work, tv_tensors._box_format(format)), arr.dtype


def _box_kernel_output(xyxy, format, dtype, canvas_size, clamping_mode) -> Tensor:
    format = tv_tensors._box_format(format)
    out = from_xyxy(clamp_boxes_array(xyxy, tv_tensors.BoundingBoxFormat.XYXY, canvas_size, clamping_mode), format)
    return _t(out.astype(dtype))


# ---------------------------------------------------------------------------------- flips
def horizontal_flip(inpt):
    """Mirror left-right."""
    return dispatch(horizontal_flip, inpt)


@register_internal(horizontal_flip, Tensor, Image, Video, Mask)
def horizontal_flip_image(image):
    return _t(_tensor.hflip(image._data))


horizontal_flip_mask = horizontal_flip_video = horizontal_flip_image
register_internal(horizontal_flip, _PILImage.Image)(_pil.hflip)


def _mirror_boxes(bounding_boxes, format, extent, first: int):
    """Coordinate -> extent - coordinate for columns ``first`` and ``first + 2`` of XYXY (x: 0, y: 1);
    the two corners swap roles."""
    xyxy, dtype = _box_kernel_input(bounding_boxes, format)
    xyxy[..., [first, first + 2]] = extent - xyxy[..., [first + 2, first]]
    return _t(from_xyxy(xyxy, tv_tensors._box_format(format)).astype(dtype))


def horizontal_flip_bounding_boxes(bounding_boxes, format, canvas_size, clamping_mode="soft"):
    """x -> W - x."""
    return _mirror_boxes(bounding_boxes, format, canvas_size[1], 0)


register_internal(horizontal_flip, BoundingBoxes, wrap=False)(_box_dispatcher(horizontal_flip_bounding_boxes))


def vertical_flip(inpt):
    """Mirror top-bottom."""
    return dispatch(vertical_flip, inpt)


@register_internal(vertical_flip, Tensor, Image, Video, Mask)
def vertical_flip_image(image):
    return _t(_tensor.vflip(image._data))


vertical_flip_mask = vertical_flip_video = vertical_flip_image
register_internal(vertical_flip, _PILImage.Image)(_pil.vflip)


def vertical_flip_bounding_boxes(bounding_boxes, format, canvas_size, clamping_mode="soft"):
    """y -> H - y."""
    return _mirror_boxes(bounding_boxes, format, canvas_size[0], 1)


register_internal(vertical_flip, BoundingBoxes, wrap=False)(_box_dispatcher(vertical_flip_bounding_boxes))
hflip, vflip = horizontal_flip, vertical_flip
_vertical_flip = vertical_flip  # ten_crop's argument of that name hides the function


# ---------------------------------------------------------------------------------- resize
def _size_list(size, where="resize"):
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return [int(size)]
    if isinstance(size, (list, tuple)) and len(size) in (1, 2):
        return [int(s) for s in size]
    raise ValueError(f"{where}: size can be an integer, a sequence of one or two integers, or None, but got {size} "
                     "instead.")


def _output_size(height, width, size, max_size, where="resize"):
    size = _size_list(size, where)
    if max_size is not None and size is not None and len(size) != 1:
        raise ValueError(f"{where}: max_size should only be passed if size is None or specifies the length of the "
                         "smaller edge, i.e. size should be an int or a sequence of length 1")
    out = resized_output_size(height, width, size, max_size, where=where)
    if min(out) <= 0:
        raise ValueError(f"{where}: the output size {out} of an image {height}x{width} has an empty side")
    return out


def resize(inpt, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: [h, w], or one number for the shorter edge (aspect ratio kept, then
    ``max_size`` caps the longer edge), or None with ``max_size`` for the longer edge."""
    return dispatch(resize, inpt, size, interpolation=interpolation, max_size=max_size, antialias=antialias)


@register_internal(resize, Tensor, Image, Video)
def resize_image(image, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    mode = to_interpolation_mode(interpolation, "resize", allow_names=True)
    height, width = image.shape[-2:]
    new = _output_size(height, width, size, max_size)
    if new == [height, width] or image.numel() == 0:
        return image if new == [height, width] else _t(image._data.reshape(image.shape[:-2] + tuple(new)))
    if mode.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"resize: interpolation {mode.value} is only available for PIL images; tensors take "
                         "nearest, nearest-exact, bilinear or bicubic")
    return _t(_tensor.resize(image._data, new, mode.value, bool(antialias)))


@register_internal(resize, _PILImage.Image)
def _resize_image_pil(image, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    if antialias is False:
        warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
    mode = to_interpolation_mode(interpolation, "resize", allow_names=True)
    new = _output_size(image.height, image.width, size, max_size)
    if new == [image.height, image.width]:
        return image
    return _pil.resize(image, new, pil_filter(mode))


@register_internal(resize, Mask)
def resize_mask(mask, size, interpolation=InterpolationMode.NEAREST, max_size=None, antialias=True):
    mode = to_interpolation_mode(interpolation, "resize", allow_names=True)
    mode = mode if mode in NEAREST_MODES else InterpolationMode.NEAREST
    return _mask_kernel(resize_image, mask, size, interpolation=mode, max_size=max_size)


resize_video = resize_image


def resize_bounding_boxes(bounding_boxes, canvas_size, size, max_size=None, format="XYXY", clamping_mode="soft"):
    """Scale x by new_W / W and y by new_H / H; returns (boxes, new canvas_size)."""
    height, width = canvas_size
    new_h, new_w = _output_size(height, width, size, max_size)
    if (new_h, new_w) == (height, width):
        return bounding_boxes, tuple(canvas_size)
    arr = bounding_boxes._data
    ratios = np.array([new_w / width, new_h / height] * 2, dtype=np.float32)  # torch makes them float32
    scaled = (arr if arr.dtype.kind == "f" else arr.astype(np.float32)) * ratios
    return _t(scaled.astype(arr.dtype)), (new_h, new_w)


def _resize_boxes_dispatch(inpt, size, max_size=None, **kwargs):
    out, canvas = resize_bounding_boxes(plain(inpt), inpt.canvas_size, size, max_size=max_size, format=inpt.format)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


register_internal(resize, BoundingBoxes, wrap=False)(_resize_boxes_dispatch)


# ---------------------------------------------------------------------------------- crops
def crop(inpt, top: int, left: int, height: int, width: int):
    """The ``height x width`` box at (top, left); parts outside the image are 0."""
    return dispatch(crop, inpt, top, left, height, width)


@register_internal(crop, Tensor, Image, Video)
def crop_image(image, top: int, left: int, height: int, width: int):
    return _t(_tensor.crop(image._data, int(top), int(left), int(height), int(width)))


register_internal(crop, _PILImage.Image)(_pil.crop)
crop_video = crop_image


@register_internal(crop, Mask)
def crop_mask(mask, top: int, left: int, height: int, width: int):
    return _mask_kernel(crop_image, mask, top, left, height, width)


def crop_bounding_boxes(bounding_boxes, format, top: int, left: int, height: int, width: int,
                        clamping_mode="soft"):
    """Shift by (-left, -top) and clamp to the new canvas (height, width); returns (boxes, canvas_size)."""
    xyxy, dtype = _box_kernel_input(bounding_boxes, format)
    xyxy -= np.array([left, top, left, top], dtype=xyxy.dtype)
    canvas = (int(height), int(width))
    return _box_kernel_output(xyxy, format, dtype, canvas, clamping_mode), canvas


def _crop_boxes_dispatch(inpt, top, left, height, width):
    out, canvas = crop_bounding_boxes(plain(inpt), inpt.format, top, left, height, width,
                                      clamping_mode=inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


register_internal(crop, BoundingBoxes, wrap=False)(_crop_boxes_dispatch)


def _crop_size(output_size, where="center_crop"):
    if isinstance(output_size, numbers.Number):
        return [int(output_size)] * 2
    if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        return [int(output_size[0])] * 2
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        return [int(output_size[0]), int(output_size[1])]
    raise ValueError(f"{where}: please provide only two dimensions (h, w) for size, got {output_size}")


def _center_crop_plan(crop_h, crop_w, height, width):
    """(padding [l, t, r, b] or None, top, left): pad a smaller image with zeros, then take the middle
    box at round((H - h) / 2), round((W - w) / 2) (Python's round)."""
    padding = None
    if crop_h > height or crop_w > width:
        padding = [(crop_w - width) // 2 if crop_w > width else 0, (crop_h - height) // 2 if crop_h > height else 0,
                   (crop_w - width + 1) // 2 if crop_w > width else 0,
                   (crop_h - height + 1) // 2 if crop_h > height else 0]
        height += padding[1] + padding[3]
        width += padding[0] + padding[2]
    return padding, int(round((height - crop_h) / 2.0)), int(round((width - crop_w) / 2.0))


def center_crop(inpt, output_size):
    """The central box of ``output_size`` (int or (h, w)); a smaller input is padded with zeros first."""
    return dispatch(center_crop, inpt, output_size)


@register_internal(center_crop, Tensor, Image, Video)
def center_crop_image(image, output_size):
    crop_h, crop_w = _crop_size(output_size)
    padding, top, left = _center_crop_plan(crop_h, crop_w, *image.shape[-2:])
    arr = image._data
    if padding is not None:
        arr = _tensor.pad(arr, padding, 0, "constant")
    return _t(_tensor.crop(arr, top, left, crop_h, crop_w))


@register_internal(center_crop, _PILImage.Image)
def _center_crop_image_pil(image, output_size):
    crop_h, crop_w = _crop_size(output_size)
    padding, top, left = _center_crop_plan(crop_h, crop_w, image.height, image.width)
    if padding is not None:
        image = _pil.pad(image, padding, 0, "constant")
    return _pil.crop(image, top, left, crop_h, crop_w)


center_crop_video = center_crop_image


@register_internal(center_crop, Mask)
def center_crop_mask(mask, output_size):
    return _mask_kernel(center_crop_image, mask, output_size)


def center_crop_bounding_boxes(bounding_boxes, format, canvas_size, output_size, clamping_mode="soft"):
    crop_h, crop_w = _crop_size(output_size)
    height, width = canvas_size
    # the crop box in the unpadded canvas: the padding shifts the anchor left/up
    padding, top, left = _center_crop_plan(crop_h, crop_w, height, width)
    if padding is not None:
        top, left = top - padding[1], left - padding[0]
    return crop_bounding_boxes(bounding_boxes, format, top, left, crop_h, crop_w, clamping_mode=clamping_mode)


register_internal(center_crop, BoundingBoxes, wrap=False)(_box_dispatcher(center_crop_bounding_boxes))


def resized_crop(inpt, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """``resize(crop(inpt, top, left, height, width), size)``."""
    return dispatch(resized_crop, inpt, top, left, height, width, size, interpolation=interpolation,
                    antialias=antialias)


@register_internal(resized_crop, Tensor, Image, Video)
def resized_crop_image(image, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                       antialias=True):
    return resize_image(crop_image(image, top, left, height, width), size, interpolation=interpolation,
                        antialias=antialias)


@register_internal(resized_crop, _PILImage.Image)
def _resized_crop_image_pil(image, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                            antialias=True):
    return _resize_image_pil(_pil.crop(image, top, left, height, width), size, interpolation=interpolation,
                             antialias=antialias)


resized_crop_video = resized_crop_image


@register_internal(resized_crop, Mask)
def resized_crop_mask(mask, top, left, height, width, size, interpolation=InterpolationMode.NEAREST,
                      antialias=True):
    return resize_mask(crop_mask(mask, top, left, height, width), size, interpolation=interpolation)


def resized_crop_bounding_boxes(bounding_boxes, format, top, left, height, width, size, clamping_mode="soft"):
    boxes, canvas = crop_bounding_boxes(bounding_boxes, format, top, left, height, width,
                                        clamping_mode=clamping_mode)
    return resize_bounding_boxes(boxes, canvas, size, format=format, clamping_mode=clamping_mode)


def _resized_crop_boxes_dispatch(inpt, top, left, height, width, size, **kwargs):
    out, canvas = resized_crop_bounding_boxes(plain(inpt), inpt.format, top, left, height, width, size,
                                              clamping_mode=inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


register_internal(resized_crop, BoundingBoxes, wrap=False)(_resized_crop_boxes_dispatch)


# ---------------------------------------------------------------------------------- pad
def pad(inpt, padding, fill=None, padding_mode: str = "constant"):
    """Pad the borders: int, (left/right, top/bottom) or (left, top, right, bottom); negative values crop.
    Modes: constant (``fill``: one value, or one per channel), edge, reflect, symmetric."""
    return dispatch(pad, inpt, padding, fill=fill, padding_mode=padding_mode)


def _check_padding_mode(padding_mode):
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"`padding_mode` should be either `'constant'`, `'edge'`, `'reflect'` or `'symmetric'`, "
                         f"but got `'{padding_mode}'`.")


@register_internal(pad, Tensor, Image, Video)
def pad_image(image, padding, fill=None, padding_mode: str = "constant"):
    ltrb = padding_ltrb(padding, "pad")
    _check_padding_mode(padding_mode)
    fill = 0 if fill is None else fill
    if isinstance(fill, (list, tuple)) and len(fill) == 1:
        fill = fill[0]
    arr = image._data
    if padding_mode == "reflect":
        height, width = arr.shape[-2:]
        if max(ltrb[0], ltrb[2]) >= width or max(ltrb[1], ltrb[3]) >= height:
            raise ValueError(f"pad: reflect padding {ltrb} must be smaller than the image size {height}x{width}")
    if isinstance(fill, numbers.Number):
        return _t(_tensor.pad(arr, ltrb, fill, padding_mode))
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported if fill is not scalar")
    out = _tensor.pad(arr, ltrb, 0, "constant")
    values = np.asarray(fill).astype(arr.dtype).reshape(-1, 1, 1)
    left, top, right, bottom = (max(p, 0) for p in ltrb)
    if top:
        out[..., :top, :] = values
    if left:
        out[..., :, :left] = values
    if bottom:
        out[..., -bottom:, :] = values
    if right:
        out[..., :, -right:] = values
    return _t(out)


@register_internal(pad, _PILImage.Image)
def _pad_image_pil(image, padding, fill=None, padding_mode: str = "constant"):
    _check_padding_mode(padding_mode)
    return _pil.pad(image, padding_ltrb(padding, "pad"), fill, padding_mode)


pad_video = pad_image


@register_internal(pad, Mask)
def pad_mask(mask, padding, fill=None, padding_mode: str = "constant"):
    if isinstance(fill, (list, tuple)):
        raise ValueError("pad: non-scalar fill value is not supported for masks")
    return _mask_kernel(pad_image, mask, padding, fill=0 if fill is None else fill, padding_mode=padding_mode)


def pad_bounding_boxes(bounding_boxes, format, canvas_size, padding, padding_mode="constant", clamping_mode="soft"):
    """Shift by (left, top); the canvas grows by the padding. Returns (boxes, canvas_size)."""
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with bounding boxes")
    left, top, right, bottom = padding_ltrb(padding, "pad")
    xyxy, dtype = _box_kernel_input(bounding_boxes, format)
    xyxy += np.array([left, top, left, top], dtype=xyxy.dtype)
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    return _box_kernel_output(xyxy, format, dtype, canvas, clamping_mode), canvas


register_internal(pad, BoundingBoxes, wrap=False)(_box_dispatcher(pad_bounding_boxes))


# ---------------------------------------------------------------------------------- rotate / affine
def _grid_mode(interpolation, where):
    mode = to_interpolation_mode(interpolation, where, allow_names=True)
    if mode.value not in ("nearest", "bilinear"):
        raise ValueError(f"{where}: interpolation mode '{mode.value}' is unsupported with Tensor input "
                         "(nearest or bilinear)")
    return mode.value


def _grid_fill(fill, channels, where):
    if fill is None:
        return None
    if isinstance(fill, (list, tuple)):
        if len(fill) > 1 and len(fill) != channels:
            raise ValueError(f"{where}: the number of elements in 'fill' cannot broadcast to match the number of "
                             f"channels of the image ({len(fill)} != {channels})")
        return [float(v) for v in fill]
    if not isinstance(fill, numbers.Number):
        raise ValueError(f"{where}: argument fill should be either int, float, tuple or list, got {fill!r}")
    return float(fill)


def _channels(arr):
    return arr.shape[-3] if arr.ndim >= 3 else 1


def rotate(inpt, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
           fill=None):
    """Turn counter-clockwise by ``angle`` degrees about ``center`` (x, y; default the middle); ``expand``
    makes the output large enough for the whole turned input."""
    return dispatch(rotate, inpt, angle, interpolation=interpolation, expand=expand, center=center, fill=fill)


def _check_angle(angle, where):
    if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
        raise TypeError(f"{where}: argument angle should be int or float, got {type(angle).__name__}")


@register_internal(rotate, Tensor, Image, Video)
def rotate_image(image, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    _check_angle(angle, "rotate")
    mode = _grid_mode(interpolation, "rotate")
    arr = image._data
    return _t(_warp.rotate(arr, float(angle), mode, bool(expand), center, _grid_fill(fill, _channels(arr), "rotate")))


@register_internal(rotate, _PILImage.Image)
def _rotate_image_pil(image, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=None):
    _check_angle(angle, "rotate")
    mode = to_interpolation_mode(interpolation, "rotate", allow_names=True)
    return _pil.rotate(image, float(angle), pil_filter(mode), expand, center, fill)


rotate_video = rotate_image


@register_internal(rotate, Mask)
def rotate_mask(mask, angle, expand=False, center=None, fill=None, **kwargs):
    return _mask_kernel(rotate_image, mask, angle, interpolation=InterpolationMode.NEAREST, expand=expand,
                        center=center, fill=fill)


def _affine_args(angle, translate, scale, shear, center, where="affine"):
    """torchvision's checks and normal forms: angle float, translate [tx, ty], shear [sx, sy], center or None."""
    _check_angle(angle, where)
    if not isinstance(translate, (list, tuple)):
        raise TypeError(f"{where}: argument translate should be a sequence")
    if len(translate) != 2:
        raise ValueError(f"{where}: argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError(f"{where}: argument scale should be positive")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    elif isinstance(shear, (list, tuple)):
        shear = [shear[0], shear[0]] if len(shear) == 1 else list(shear)
        if len(shear) != 2:
            raise ValueError(f"{where}: shear should be a sequence containing two values. Got {shear}")
    else:
        raise TypeError(f"{where}: shear should be either a single value or a sequence of two values")
    if center is not None:
        if not isinstance(center, (list, tuple)):
            raise TypeError(f"{where}: argument center should be a sequence")
        center = [float(c) for c in center]
    return float(angle), [float(t) for t in translate], [float(s) for s in shear], center


def affine(inpt, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None, center=None):
    """Rotate by ``angle`` degrees (clockwise), scale, shear by ``shear`` degrees (x, y) and translate
    by ``translate`` pixels, about ``center`` (default the middle)."""
    return dispatch(affine, inpt, angle, translate, scale, shear, interpolation=interpolation, fill=fill,
                    center=center)


@register_internal(affine, Tensor, Image, Video)
def affine_image(image, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None,
                 center=None):
    angle, translate, shear, center = _affine_args(angle, translate, scale, shear, center)
    mode = _grid_mode(interpolation, "affine")
    arr = image._data
    height, width = arr.shape[-2:]
    offset = [0.0, 0.0] if center is None else [center[0] - width * 0.5, center[1] - height * 0.5]
    matrix = _warp.affine_matrix(offset, angle, translate, float(scale), shear)
    return _t(_warp.affine(arr, matrix, mode, _grid_fill(fill, _channels(arr), "affine")))


@register_internal(affine, _PILImage.Image)
def _affine_image_pil(image, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST, fill=None,
                      center=None):
    angle, translate, shear, center = _affine_args(angle, translate, scale, shear, center)
    mode = to_interpolation_mode(interpolation, "affine", allow_names=True)
    if center is None:
        center = [image.width * 0.5, image.height * 0.5]
    matrix = _warp.affine_matrix(center, angle, translate, float(scale), shear)
    return _pil.affine(image, matrix, pil_filter(mode), fill)


affine_video = affine_image


@register_internal(affine, Mask)
def affine_mask(mask, angle, translate, scale, shear, fill=None, center=None, **kwargs):
    return _mask_kernel(affine_image, mask, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
                        fill=fill, center=center)


def _affine_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear, center, expand,
                  clamping_mode):
    """Move the four corners of each box by the forward affine map and take their bounding box; with
    ``expand`` shift into the enlarged canvas. Returns (boxes, canvas_size)."""
    if bounding_boxes.numel() == 0:
        return bounding_boxes, tuple(canvas_size)
    angle, translate, shear, center = _affine_args(angle, translate, scale, shear, center)
    height, width = canvas_size
    if center is None:
        center = [width * 0.5, height * 0.5]
    xyxy, dtype = _box_kernel_input(bounding_boxes, format)
    forward = np.asarray(_warp.affine_matrix(center, angle, translate, float(scale), shear, inverted=False),
                         dtype=xyxy.dtype).reshape(2, 3)
    corners = xyxy.reshape(-1, 4)[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]           # [N, 4, 2]
    moved = corners @ forward[:, :2].T + forward[:, 2]
    out = np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1)
    if expand:
        # The canvas and the shift the image kernel uses (the centred matrix; centre to centre), so that
        # boxes and image agree. torchvision derives both from the uncentred matrix and the moved
        # frame's corner, and its canvas_size differs from the image's by a pixel at most angles.
        offset = [center[0] - width * 0.5, center[1] - height * 0.5]
        inverse = _warp.affine_matrix(offset, angle, translate, float(scale), shear)
        new_w, new_h = _warp.expanded_size(inverse, width, height)
        out += np.array([(new_w - width) / 2, (new_h - height) / 2] * 2, dtype=out.dtype)
        canvas_size = (new_h, new_w)
    out = out.reshape(xyxy.shape)
    return _box_kernel_output(out, format, dtype, canvas_size, clamping_mode), tuple(canvas_size)


def affine_bounding_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear, center=None,
                          clamping_mode="soft"):
    return _affine_boxes(bounding_boxes, format, canvas_size, angle, translate, scale, shear, center, False,
                         clamping_mode)[0]


def _affine_boxes_dispatch(inpt, angle, translate, scale, shear, center=None, **kwargs):
    out = affine_bounding_boxes(plain(inpt), inpt.format, inpt.canvas_size, angle, translate, scale, shear,
                                center=center, clamping_mode=inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt)


register_internal(affine, BoundingBoxes, wrap=False)(_affine_boxes_dispatch)


def rotate_bounding_boxes(bounding_boxes, format, canvas_size, angle, expand=False, center=None,
                          clamping_mode="soft"):
    """Returns (boxes, canvas_size)."""
    return _affine_boxes(bounding_boxes, format, canvas_size, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], center, expand,
                         clamping_mode)


def _rotate_boxes_dispatch(inpt, angle, expand=False, center=None, **kwargs):
    out, canvas = rotate_bounding_boxes(plain(inpt), inpt.format, inpt.canvas_size, angle, expand=expand,
                                        center=center, clamping_mode=inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


register_internal(rotate, BoundingBoxes, wrap=False)(_rotate_boxes_dispatch)


# ---------------------------------------------------------------------------------- perspective
def _perspective_coefficients(startpoints, endpoints, coefficients):
    if coefficients is not None:
        if startpoints is not None and endpoints is not None:
            raise ValueError("The startpoints/endpoints and the coefficients shouldn't be defined concurrently.")
        if len(coefficients) != 8:
            raise ValueError("Argument coefficients should have 8 float values")
        return [float(c) for c in coefficients]
    if startpoints is not None and endpoints is not None:
        if len(startpoints) != 4 or len(endpoints) != 4:
            raise ValueError(f"Please provide exactly four corners, got {len(startpoints)} startpoints and "
                             f"{len(endpoints)} endpoints.")
        return _warp.perspective_coefficients(startpoints, endpoints)
    raise ValueError("Either the startpoints/endpoints or the coefficients must have non `None` values.")


def perspective(inpt, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None,
                coefficients=None):
    """Warp so that the four ``startpoints`` (corners [x, y]: top-left, top-right, bottom-right,
    bottom-left) land on the ``endpoints``."""
    return dispatch(perspective, inpt, startpoints, endpoints, interpolation=interpolation, fill=fill,
                    coefficients=coefficients)


@register_internal(perspective, Tensor, Image, Video)
def perspective_image(image, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None,
                      coefficients=None):
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    mode = _grid_mode(interpolation, "perspective")
    arr = image._data
    return _t(_warp.perspective(arr, coeffs, mode, _grid_fill(fill, _channels(arr), "perspective")))


@register_internal(perspective, _PILImage.Image)
def _perspective_image_pil(image, startpoints, endpoints, interpolation=InterpolationMode.BILINEAR, fill=None,
                           coefficients=None):
    coeffs = _perspective_coefficients(startpoints, endpoints, coefficients)
    mode = to_interpolation_mode(interpolation, "perspective", allow_names=True)
    return _pil.perspective(image, coeffs, pil_filter(mode), fill)


perspective_video = perspective_image


@register_internal(perspective, Mask)
def perspective_mask(mask, startpoints, endpoints, fill=None, coefficients=None, **kwargs):
    return _mask_kernel(perspective_image, mask, startpoints, endpoints, interpolation=InterpolationMode.NEAREST,
                        fill=fill, coefficients=coefficients)


def perspective_bounding_boxes(bounding_boxes, format, canvas_size, startpoints, endpoints, coefficients=None,
                               clamping_mode="soft"):
    """Map each box's corners forward (the inverse of the sampling homography) and take their bounding box."""
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    a, b, c, d, e, f, g, h = _perspective_coefficients(startpoints, endpoints, coefficients)
    inverse = np.linalg.inv(np.array([[a, b, c], [d, e, f], [g, h, 1.0]], dtype=np.float64))
    xyxy, dtype = _box_kernel_input(bounding_boxes, format)
    corners = xyxy.reshape(-1, 4)[:, [[0, 1], [2, 1], [2, 3], [0, 3]]].astype(np.float64)
    homogeneous = np.concatenate([corners, np.ones(corners.shape[:-1] + (1,))], axis=-1) @ inverse.T
    moved = (homogeneous[..., :2] / homogeneous[..., 2:]).astype(xyxy.dtype)
    out = np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1).reshape(xyxy.shape)
    return _box_kernel_output(out, format, dtype, canvas_size, clamping_mode)


def _perspective_boxes_dispatch(inpt, startpoints, endpoints, coefficients=None, **kwargs):
    out = perspective_bounding_boxes(plain(inpt), inpt.format, inpt.canvas_size, startpoints, endpoints,
                                     coefficients=coefficients, clamping_mode=inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt)


register_internal(perspective, BoundingBoxes, wrap=False)(_perspective_boxes_dispatch)


# ---------------------------------------------------------------------------------- five / ten crops
def _five_boxes(size, height, width):
    crop_h, crop_w = _crop_size(size, "five_crop")
    if crop_w > width or crop_h > height:
        raise ValueError(f"Requested crop size {size} is bigger than input size {(height, width)}")
    return crop_h, crop_w, [(0, 0), (0, width - crop_w), (height - crop_h, 0), (height - crop_h, width - crop_w)]


def five_crop(inpt, size):
    """The four corner crops and the central crop of ``size``: (top-left, top-right, bottom-left,
    bottom-right, center)."""
    return dispatch(five_crop, inpt, size)


@register_internal(five_crop, Tensor, Image, Video, wrap=False)
def five_crop_image(image, size):
    crop_h, crop_w, corners = _five_boxes(size, *image.shape[-2:])
    crops = [crop_image(plain(image), top, left, crop_h, crop_w) for top, left in corners]
    crops.append(center_crop_image(plain(image), [crop_h, crop_w]))
    if isinstance(image, tv_tensors.TVTensor):
        crops = [tv_tensors.wrap(c, like=image) for c in crops]
    return tuple(crops)


@register_internal(five_crop, _PILImage.Image)
def _five_crop_image_pil(image, size):
    crop_h, crop_w, corners = _five_boxes(size, image.height, image.width)
    crops = [_pil.crop(image, top, left, crop_h, crop_w) for top, left in corners]
    return tuple(crops) + (_center_crop_image_pil(image, [crop_h, crop_w]),)


five_crop_video = five_crop_image


def ten_crop(inpt, size, vertical_flip: bool = False):
    """``five_crop`` of the input and of its mirror image (left-right, or top-bottom with ``vertical_flip``)."""
    return dispatch(ten_crop, inpt, size, vertical_flip=vertical_flip)


@register_internal(ten_crop, Tensor, Image, Video, _PILImage.Image, wrap=False)
def ten_crop_image(image, size, vertical_flip: bool = False):
    flipped = _vertical_flip(image) if vertical_flip else horizontal_flip(image)
    return five_crop(image, size) + five_crop(flipped, size)


ten_crop_video = ten_crop_image


# ---------------------------------------------------------------------------------- elastic
def elastic(inpt, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Move every pixel by ``displacement`` [1, H, W, 2] (x, y offsets in grid units: 2 / size per pixel),
    as drawn by ``ElasticTransform`` (smoothed random fields)."""
    return dispatch(elastic, inpt, displacement, interpolation=interpolation, fill=fill)


elastic_transform = elastic


def _displacement_array(displacement, height, width):
    if not isinstance(displacement, Tensor):
        raise TypeError("Argument displacement should be a Tensor")
    if tuple(displacement.shape) != (1, height, width, 2):
        raise ValueError(f"Argument displacement shape should be {(1, height, width, 2)}, but given "
                         f"{tuple(displacement.shape)}")
    return displacement._data


@register_internal(elastic, Tensor, Image, Video)
def elastic_image(image, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    arr = image._data
    shift = _displacement_array(displacement, *arr.shape[-2:])
    mode = _grid_mode(interpolation, "elastic")
    return _t(_warp.displace(arr, shift, mode, _grid_fill(fill, _channels(arr), "elastic")))


@register_internal(elastic, _PILImage.Image)
def _elastic_image_pil(image, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    from ._type_conversion import pil_to_tensor, to_pil_image
    out = elastic_image(pil_to_tensor(image), displacement, interpolation=interpolation, fill=fill)
    return to_pil_image(out, mode=image.mode)


elastic_video = elastic_image


@register_internal(elastic, Mask)
def elastic_mask(mask, displacement, fill=None, **kwargs):
    return _mask_kernel(elastic_image, mask, displacement, interpolation=InterpolationMode.NEAREST, fill=fill)


def elastic_bounding_boxes(bounding_boxes, format, canvas_size, displacement, clamping_mode="soft"):
    """Move each corner by the inverse of the displacement read at its pixel (rounded up), as torchvision
    approximates it, and take the enclosing box."""
    height, width = canvas_size
    shift = _displacement_array(displacement, height, width)
    if bounding_boxes.numel() == 0:
        return bounding_boxes
    xyxy, dtype = _box_kernel_input(bounding_boxes, format)
    work = xyxy.dtype.type
    xs = _warp.linspace_like_torch((-width + 1) / width, (width - 1) / width, width, work)[None, :]
    ys = _warp.linspace_like_torch((-height + 1) / height, (height - 1) / height, height, work)[:, None]
    inverse = np.stack([np.broadcast_to(xs, (height, width)), np.broadcast_to(ys, (height, width))], axis=-1)
    inverse = inverse - shift[0].astype(work)
    corners = np.ceil(xyxy.reshape(-1, 4)[:, [[0, 1], [2, 1], [2, 3], [0, 3]]].reshape(-1, 2)).astype(np.int64)
    ix, iy = np.clip(corners[:, 0], 0, width - 1), np.clip(corners[:, 1], 0, height - 1)
    size = np.array([width, height], dtype=work)
    moved = ((inverse[iy, ix] + work(1)) * (work(0.5) * size) - work(0.5)).reshape(-1, 4, 2)
    out = np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=1).reshape(xyxy.shape)
    return _box_kernel_output(out, format, dtype, canvas_size, clamping_mode)


def _elastic_boxes_dispatch(inpt, displacement, **kwargs):
    out = elastic_bounding_boxes(plain(inpt), inpt.format, inpt.canvas_size, displacement,
                                 clamping_mode=inpt.clamping_mode)
    return tv_tensors.wrap(out, like=inpt)


register_internal(elastic, BoundingBoxes, wrap=False)(_elastic_boxes_dispatch)
