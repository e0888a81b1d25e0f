"""torchvision.transforms.functional for juanji: one function per image operation.

Each function takes a PIL image or a juanji tensor image shaped ``[..., C, H, W]`` (float in
[0, 1], or uint8 in [0, 255]) and returns the same kind, as torchvision's do. Arguments are
checked here; the work is done by ``_pil`` (Pillow) or ``_tensor`` (whole-array NumPy).
NumPy arrays are accepted where torchvision accepts them: by ``to_tensor`` (HWC).
Tensor outputs are new tensors without autograd history (except ``normalize``, which keeps it).

Example:
    >>> from juanji.vision.transforms.functional import hflip, to_tensor
    >>> from PIL import Image
    >>> img = Image.new("L", (4, 2), 255)
    >>> to_tensor(hflip(img)).shape
    juanji.Size([1, 2, 4])
"""

from __future__ import annotations

import numbers
import warnings

from ... import _dtype
from ...tensor import Tensor
from . import _pil, _tensor, _tensor_color, _warp
from ._conversion import _is_pil, _is_tensor, _wrap, normalize, pil_to_tensor, to_pil_image, to_tensor
from ._args import PADDING_MODES, padding_ltrb, resized_output_size
from ._interpolation import InterpolationMode, pil_filter, to_interpolation_mode

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
           "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize", "resize", "crop", "center_crop",
           "resized_crop", "pad", "hflip", "vflip", "rotate", "rgb_to_grayscale", "to_grayscale",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "adjust_gamma",
           "adjust_sharpness", "affine", "autocontrast", "equalize", "erase", "five_crop", "gaussian_blur", "invert",
           "perspective", "posterize", "solarize", "ten_crop", "elastic_transform"]



# ---------------------------------------------------------------------------------- helpers
def _check_image(img, where: str) -> None:
    """PIL image, or a tensor with at least the two spatial dims."""
    if _is_pil(img):
        return
    if not _is_tensor(img):
        raise TypeError(f"{where}: img should be PIL Image or Tensor. Got {type(img)}")
    if img.ndim < 2:
        raise TypeError(f"{where}: tensor is not a torch image: expected [..., H, W], got shape {list(img.shape)}")


def _check_channels(img, permitted, where: str) -> None:
    channels = get_dimensions(img)[0]
    if channels not in permitted:
        raise TypeError(f"{where}: input image tensor permitted channel values are {list(permitted)}, "
                        f"but found {channels}")


def _check_color_tensor(img, where: str) -> None:
    if img.ndim < 3:
        raise TypeError(f"{where}: input image tensor should have at least 3 dimensions [..., C, H, W], "
                        f"but found shape {list(img.shape)}")
    _check_channels(img, (1, 3), where)


# ---------------------------------------------------------------------------------- sizes
def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of a PIL image or tensor image (2-d tensors have 1 channel)."""
    _check_image(img, "get_dimensions")
    if _is_pil(img):
        return _pil.get_dimensions(img)
    channels = 1 if img.ndim == 2 else img.shape[-3]
    height, width = img.shape[-2:]
    return [channels, height, width]


def get_image_size(img) -> list[int]:
    """``[width, height]``."""
    _, height, width = get_dimensions(img)
    return [width, height]


def get_image_num_channels(img) -> int:
    return get_dimensions(img)[0]


# ---------------------------------------------------------------------------------- conversion
# (to_tensor, pil_to_tensor, to_pil_image and normalize live in _conversion.py, shared with v2)
def convert_image_dtype(image, dtype=_dtype.float32) -> Tensor:
    """Convert a tensor image to ``dtype``, moving the value range along (see ``_tensor.to_dtype``)."""
    if not _is_tensor(image):
        raise TypeError(f"convert_image_dtype: input img should be Tensor Image, got {type(image)}")
    return _wrap(_tensor.to_dtype(image._data, _dtype.to_dtype(dtype).np, scale=True))


# ---------------------------------------------------------------------------------- geometry
def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to ``size``: (h, w), or an int for the shorter edge (aspect ratio kept)."""
    _check_image(img, "resize")
    interpolation = to_interpolation_mode(interpolation, "resize")
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = [int(size)]
    elif isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"resize: size must be an int or a 1 or 2 element tuple/list, not a {len(size)} "
                             "element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("resize: max_size should only be passed if size specifies the length of the smaller "
                             "edge, i.e. size should be an int or a sequence of length 1")
    else:
        raise TypeError(f"resize: size should be int or sequence. Got {type(size)}")
    _, height, width = get_dimensions(img)
    output_size = resized_output_size(height, width, list(size), max_size, where="resize")
    if min(output_size) <= 0:
        raise ValueError(f"resize: the output size {output_size} of an image {height}x{width} has an empty side")
    if [height, width] == output_size:
        return img
    if _is_pil(img):
        if antialias is False:
            warnings.warn("Anti-alias option is always applied for PIL Image input. Argument antialias is ignored.")
        return _pil.resize(img, output_size, pil_filter(interpolation))
    if interpolation.value not in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        raise ValueError(f"resize: interpolation {interpolation.value} is only available for PIL images; tensors "
                         "take nearest, nearest-exact, bilinear or bicubic")
    return _wrap(_tensor.resize(img._data, output_size, interpolation.value, bool(antialias)))


def crop(img, top: int, left: int, height: int, width: int):
    """The box of ``height x width`` at (top, left); parts outside the image are zero."""
    _check_image(img, "crop")
    if _is_pil(img):
        return _pil.crop(img, top, left, height, width)
    return _wrap(_tensor.crop(img._data, int(top), int(left), int(height), int(width)))


def center_crop(img, output_size):
    """The central box of ``output_size`` (int or (h, w)); a smaller image is first padded with zeros.

    Offsets: ``top = round((H - h) / 2)``, ``left = round((W - w) / 2)`` (Python's round, ties to even).
    """
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, image_height, image_width = get_dimensions(img)
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = pad(img, padding_ltrb, fill=0)
        _, image_height, image_width = get_dimensions(img)
        if crop_width == image_width and crop_height == image_height:
            return img
    top = int(round((image_height - crop_height) / 2.0))
    left = int(round((image_width - crop_width) / 2.0))
    return crop(img, top, left, crop_height, crop_width)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    """``resize(crop(img, top, left, height, width), size)``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad every side: ``padding`` is an int, (left/right, top/bottom) or (left, top, right, bottom).

    Modes: constant (``fill``), edge (repeat the border pixel), reflect (mirror without repeating the
    border: [1,2,3] + 2 -> [3,2,1,2,3,2,1]), symmetric (mirror repeating it: [2,1,1,2,3,3,2]).
    """
    _check_image(img, "pad")
    ltrb = padding_ltrb(padding, "pad")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError(f"pad: got inappropriate fill arg {fill!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"pad: padding mode should be either constant, edge, reflect or symmetric, "
                         f"got {padding_mode!r}")
    if _is_pil(img):
        return _pil.pad(img, ltrb, fill, padding_mode)
    if fill is None:
        fill = 0
    if not isinstance(fill, numbers.Number):
        raise TypeError(f"pad: fill for a tensor image must be a number, got {fill!r}")
    if padding_mode == "reflect":
        height, width = img.shape[-2:]
        if max(ltrb[0], ltrb[2]) >= width or max(ltrb[1], ltrb[3]) >= height:
            raise ValueError(f"pad: reflect padding {ltrb} must be smaller than the image size {height}x{width}")
    return _wrap(_tensor.pad(img._data, ltrb, fill, padding_mode))


def hflip(img):
    """Mirror left-right."""
    _check_image(img, "hflip")
    return _pil.hflip(img) if _is_pil(img) else _wrap(_tensor.hflip(img._data))


def vflip(img):
    """Mirror top-bottom."""
    _check_image(img, "vflip")
    return _pil.vflip(img) if _is_pil(img) else _wrap(_tensor.vflip(img._data))


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
           fill=None):
    """Turn the image counter-clockwise by ``angle`` degrees about ``center`` (x, y; default the middle).

    ``expand=True`` enlarges the output to hold the whole turned image; uncovered pixels get ``fill``.
    """
    _check_image(img, "rotate")
    interpolation = to_interpolation_mode(interpolation, "rotate")
    if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
        raise TypeError(f"rotate: argument angle should be int or float, got {type(angle).__name__}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"rotate: argument center should be a sequence, got {type(center).__name__}")
    if _is_pil(img):
        return _pil.rotate(img, float(angle), pil_filter(interpolation), expand, center, fill)
    if interpolation.value not in ("nearest", "bilinear"):
        raise ValueError(f"rotate: interpolation mode '{interpolation.value}' is unsupported with Tensor input "
                         "(nearest or bilinear)")
    channels = get_dimensions(img)[0]
    if isinstance(fill, (tuple, list)):
        if len(fill) > 1 and len(fill) != channels:
            raise ValueError(f"rotate: the number of elements in 'fill' cannot broadcast to match the number of "
                             f"channels of the image ({len(fill)} != {channels})")
        fill = [float(v) for v in fill]
    elif fill is not None:
        fill = [float(fill)]
    return _wrap(_warp.rotate(img._data, float(angle), interpolation.value, bool(expand), center, fill))


# ---------------------------------------------------------------------------------- colour
def _check_output_channels(num_output_channels: int, where: str) -> None:
    if num_output_channels not in (1, 3):
        raise ValueError(f"{where}: num_output_channels should be either 1 or 3, got {num_output_channels}")


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (Pillow's 'L' for PIL images), as 1 or 3 equal channels."""
    _check_image(img, "rgb_to_grayscale")
    _check_output_channels(num_output_channels, "rgb_to_grayscale")
    if _is_pil(img):
        return _pil.to_grayscale(img, num_output_channels)
    _check_color_tensor(img, "rgb_to_grayscale")
    return _wrap(_tensor.rgb_to_grayscale(img._data, num_output_channels))


def to_grayscale(img, num_output_channels: int = 1):
    """``rgb_to_grayscale`` for PIL images only (torchvision's older name)."""
    if not _is_pil(img):
        raise TypeError(f"to_grayscale: input should be PIL Image. Got {type(img)}")
    return rgb_to_grayscale(img, num_output_channels)


def _check_factor(factor, name: str, where: str) -> None:
    if factor < 0:
        raise ValueError(f"{where}: {name} ({factor}) is not non-negative.")


def adjust_brightness(img, brightness_factor: float):
    """Multiply by ``brightness_factor`` (0 gives black, 1 the original), clamped to the range."""
    _check_image(img, "adjust_brightness")
    _check_factor(brightness_factor, "brightness_factor", "adjust_brightness")
    if _is_pil(img):
        return _pil.adjust_brightness(img, brightness_factor)
    _check_color_tensor(img, "adjust_brightness")
    return _wrap(_tensor.adjust_brightness(img._data, brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey: ``f * img + (1 - f) * mean(luma)`` (0 gives flat grey)."""
    _check_image(img, "adjust_contrast")
    _check_factor(contrast_factor, "contrast_factor", "adjust_contrast")
    if _is_pil(img):
        return _pil.adjust_contrast(img, contrast_factor)
    _check_color_tensor(img, "adjust_contrast")
    return _wrap(_tensor.adjust_contrast(img._data, contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey image: ``f * img + (1 - f) * luma`` (0 gives grey, 2 doubles saturation)."""
    _check_image(img, "adjust_saturation")
    _check_factor(saturation_factor, "saturation_factor", "adjust_saturation")
    if _is_pil(img):
        return _pil.adjust_saturation(img, saturation_factor)
    _check_color_tensor(img, "adjust_saturation")
    return _wrap(_tensor.adjust_saturation(img._data, saturation_factor))


def adjust_hue(img, hue_factor: float):
    """Turn the hue by ``hue_factor`` of the colour circle (in [-0.5, 0.5]) in HSV space."""
    _check_image(img, "adjust_hue")
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if _is_pil(img):
        return _pil.adjust_hue(img, hue_factor)
    _check_color_tensor(img, "adjust_hue")
    return _wrap(_tensor.adjust_hue(img._data, hue_factor))


# The operations v1 and v2 share with the same signature have one implementation, in v2.functional
# (v2 does not import this module: the conversions both need are in _conversion.py).
from .v2.functional import (adjust_gamma, affine, elastic_transform, equalize, erase, five_crop,  # noqa: E402
                            gaussian_blur, invert, perspective, posterize, solarize, ten_crop)
from .v2.functional import adjust_sharpness as _adjust_sharpness_v2, autocontrast as _autocontrast_v2  # noqa: E402


def adjust_sharpness(img, sharpness_factor: float):
    """Blend with a smoothed copy (0 blurred, 1 the original, 2 sharpened); on tensors v1's arithmetic,
    ``f * img + (1 - f) * smoothed`` truncated for uint8 (v2 rounds its fused form differently)."""
    if not _is_tensor(img):
        return _adjust_sharpness_v2(img, sharpness_factor)
    _check_color_tensor(img, "adjust_sharpness")
    _check_factor(sharpness_factor, "sharpness_factor", "adjust_sharpness")
    return _wrap(_tensor_color.adjust_sharpness(img._data, sharpness_factor, v1=True))


def autocontrast(img):
    """Stretch each channel to the full range; on tensors v1's ``(x - min) * (max_value / (max - min))``."""
    if not _is_tensor(img):
        return _autocontrast_v2(img)
    _check_color_tensor(img, "autocontrast")
    return _wrap(_tensor_color.autocontrast(img._data, v1=True))
