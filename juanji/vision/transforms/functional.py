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
import sys
import warnings

import numpy as np
from PIL import Image

from ... import _dtype
from ...backend import xp_of
from ...tensor import Tensor, from_numpy
from . import _pil, _tensor, _tensor_color, _warp
from ._args import PADDING_MODES, padding_ltrb, resized_output_size
from ._interpolation import InterpolationMode, pil_filter, to_interpolation_mode

__all__ = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels", "to_tensor",
           "pil_to_tensor", "to_pil_image", "convert_image_dtype", "normalize", "resize", "crop", "center_crop",
           "resized_crop", "pad", "hflip", "vflip", "rotate", "rgb_to_grayscale", "to_grayscale",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "adjust_gamma",
           "adjust_sharpness", "affine", "autocontrast", "equalize", "erase", "five_crop", "gaussian_blur", "invert",
           "perspective", "posterize", "solarize", "ten_crop", "elastic_transform"]



# ---------------------------------------------------------------------------------- helpers
def _is_pil(img) -> bool:
    return isinstance(img, Image.Image)


def _is_tensor(img) -> bool:
    return isinstance(img, Tensor)


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


def _wrap(arr) -> Tensor:
    return Tensor._from_array(arr)


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
def to_tensor(pic) -> Tensor:
    """PIL image or HWC ndarray -> CHW tensor; uint8 data becomes float in [0, 1] (``x / 255``).

    Other dtypes (PIL modes 'I', 'I;16', 'F'; non-uint8 arrays) keep their values and dtype.
    """
    is_array = isinstance(pic, np.ndarray)
    if not (_is_pil(pic) or is_array):
        raise TypeError(f"to_tensor: pic should be PIL Image or ndarray. Got {type(pic)}")
    if is_array:
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        hwc = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        hwc = _pil_array(pic)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        float_dtype = _dtype.get_default_dtype().np
        return _wrap(chw.astype(float_dtype) / float_dtype.type(255))
    return from_numpy(chw)  # refuses, with a clear error, dtypes juanji has no tensor for


_PIL_MODE_DTYPES = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}


def _pil_array(pic) -> np.ndarray:
    """The pixels of a PIL image as an [H, W, C] array (mode '1' scaled to 0/255)."""
    arr = np.array(pic, dtype=_PIL_MODE_DTYPES.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        arr = arr * np.uint8(255)
    width, height = pic.size
    return arr.reshape(height, width, len(pic.getbands()))


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> CHW tensor of the same values and dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be PIL Image. Got {type(pic)}")
    arr = np.asarray(pic).copy()
    width, height = pic.size
    arr = arr.reshape(height, width, len(pic.getbands()))
    return _wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))


_ONE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16" if sys.byteorder == "little" else "I;16B",
                      np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
_MODES_BY_CHANNELS = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}


def to_pil_image(pic, mode=None):
    """CHW tensor or HWC ndarray -> PIL image; floats are scaled by 255 and cast to uint8 (``mode='F'`` keeps them).

    Without ``mode``: 1 channel gives 'L' (uint8), 'I;16' (int16), 'I' (int32) or 'F' (float32);
    2 channels 'LA', 3 'RGB', 4 'RGBA' (uint8). A given ``mode`` reinterprets the bytes (e.g. 'HSV').
    """
    if isinstance(pic, Tensor):
        arr = pic.detach()._host()
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        arr = pic
    else:
        raise TypeError(f"to_pil_image: pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"to_pil_image: pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    channels = arr.shape[-1]
    if channels > 4:
        raise ValueError(f"to_pil_image: pic should not have > 4 channels. Got {channels} channels.")
    if arr.dtype.kind == "f" and mode != "F":
        arr = (arr * 255).astype(np.uint8)
    if channels == 1:
        arr = arr[:, :, 0]
        expected = _ONE_CHANNEL_MODES.get(arr.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"to_pil_image: incorrect mode ({mode}) supplied for input type {arr.dtype}. "
                             f"Should be {expected}")
        mode = expected
    else:
        permitted = _MODES_BY_CHANNELS[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"to_pil_image: only modes {permitted} are supported for {channels}-channel inputs")
        if mode is None and arr.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"to_pil_image: input type {arr.dtype} is not supported")
    height, width = arr.shape[:2]
    # frombuffer reads the bytes in the given mode (so 'HSV' data stays HSV, 'I;16' stays 16-bit)
    return Image.frombuffer(mode, (width, height), np.ascontiguousarray(arr).tobytes(), "raw", mode, 0, 1)


def convert_image_dtype(image, dtype=_dtype.float32) -> Tensor:
    """Convert a tensor image to ``dtype``, moving the value range along (see ``_tensor.to_dtype``)."""
    if not _is_tensor(image):
        raise TypeError(f"convert_image_dtype: input img should be Tensor Image, got {type(image)}")
    return _wrap(_tensor.to_dtype(image._data, _dtype.to_dtype(dtype).np, scale=True))


def normalize(tensor, mean, std, inplace: bool = False) -> Tensor:
    """``out[c] = (tensor[c] - mean[c]) / std[c]`` for a float tensor image [..., C, H, W]."""
    if not _is_tensor(tensor):
        raise TypeError(f"normalize: img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"normalize: input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("normalize: expected tensor to be a tensor image of size (..., C, H, W). "
                         f"Got tensor.size() = {tensor.size()}")
    np_dtype = tensor.dtype.np
    mean_arr = np.asarray(mean.numpy() if _is_tensor(mean) else mean, dtype=np_dtype)
    std_arr = np.asarray(std.numpy() if _is_tensor(std) else std, dtype=np_dtype)
    if (std_arr == 0).any():
        raise ValueError(f"normalize: std evaluated to zero after conversion to {tensor.dtype}, "
                         "leading to division by zero.")
    channels = tensor.shape[-3]
    for name, arr in (("mean", mean_arr), ("std", std_arr)):
        if arr.ndim > 1 or arr.size not in (1, channels):
            raise RuntimeError(f"normalize: expected {name} with 1 or {channels} values (one per channel of "
                               f"the tensor {list(tensor.shape)}), got {arr.size}")
    xp = xp_of(tensor._data)  # the statistics go where the image is (NumPy or CuPy)
    mean_arr = xp.asarray(mean_arr.reshape(-1, 1, 1))
    std_arr = xp.asarray(std_arr.reshape(-1, 1, 1))
    if inplace:
        if tensor.requires_grad:
            raise RuntimeError("normalize: inplace=True on a tensor that requires grad; use inplace=False")
        tensor._data -= mean_arr
        tensor._data /= std_arr
        return tensor
    if tensor.requires_grad:  # keep the graph: Tensor arithmetic
        return (tensor - _wrap(mean_arr)) / _wrap(std_arr)
    return _wrap((tensor._data - mean_arr) / std_arr)


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
# (imported last: v2's modules import the v1 functions above).
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
