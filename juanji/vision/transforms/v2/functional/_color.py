"""Colour functionals of transforms.v2. They act on images and videos (tensors or PIL); masks and
boxes have no colour, and the transforms pass them through unchanged.

Integer images are computed in float32 and cast back, as torchvision does; PIL images go through
Pillow's own ImageEnhance / ImageOps (so PIL and tensor results agree up to Pillow's rounding).
"""

from __future__ import annotations

import numbers

from PIL import Image as _PILImage

from .....tensor import Tensor
from .... import tv_tensors
from ... import _pil, _tensor, _tensor_color
from ._utils import dispatch, register_internal

__all__ = ["rgb_to_grayscale", "rgb_to_grayscale_image", "to_grayscale", "grayscale_to_rgb", "grayscale_to_rgb_image",
           "adjust_brightness", "adjust_brightness_image", "adjust_brightness_video",
           "adjust_contrast", "adjust_contrast_image", "adjust_contrast_video",
           "adjust_saturation", "adjust_saturation_image", "adjust_saturation_video",
           "adjust_hue", "adjust_hue_image", "adjust_hue_video",
           "adjust_gamma", "adjust_gamma_image", "adjust_gamma_video",
           "adjust_sharpness", "adjust_sharpness_image", "adjust_sharpness_video",
           "invert", "invert_image", "invert_video", "posterize", "posterize_image", "posterize_video",
           "solarize", "solarize_image", "solarize_video", "autocontrast", "autocontrast_image", "autocontrast_video",
           "equalize", "equalize_image", "equalize_video", "permute_channels", "permute_channels_image",
           "permute_channels_video"]

IMAGE_TYPES = (Tensor, tv_tensors.Image, tv_tensors.Video)


def _t(arr) -> Tensor:
    return Tensor._from_array(arr)


def _channels_1_or_3(image, where):
    channels = image.shape[-3] if image.ndim >= 3 else 1
    if image.ndim < 3 or channels not in (1, 3):
        raise TypeError(f"{where}: input image tensor permitted channel values are 1 or 3, but found {channels} "
                        f"(shape {list(image.shape)})")


def _non_negative(value, name, where):
    if value < 0:
        raise ValueError(f"{where}: {name} ({value}) is not non-negative.")


# ---------------------------------------------------------------------------------- grey
def rgb_to_grayscale(inpt, num_output_channels: int = 1):
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` as 1 or 3 equal channels."""
    return dispatch(rgb_to_grayscale, inpt, num_output_channels=num_output_channels)


def _check_output_channels(num_output_channels):
    if num_output_channels not in (1, 3):
        raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}.")


@register_internal(rgb_to_grayscale, *IMAGE_TYPES)
def rgb_to_grayscale_image(image, num_output_channels: int = 1):
    _check_output_channels(num_output_channels)
    if image.ndim < 3 or image.shape[-3] not in (1, 3):
        raise TypeError(f"rgb_to_grayscale: expected an image [..., 1 or 3, H, W], got shape {list(image.shape)}")
    return _t(_tensor.rgb_to_grayscale(image._data, num_output_channels))


@register_internal(rgb_to_grayscale, _PILImage.Image)
def _rgb_to_grayscale_image_pil(image, num_output_channels: int = 1):
    _check_output_channels(num_output_channels)
    return _pil.to_grayscale(image, num_output_channels)


to_grayscale = rgb_to_grayscale


def grayscale_to_rgb(inpt):
    """One channel repeated three times (images with 3 channels are returned as they are)."""
    return dispatch(grayscale_to_rgb, inpt)


@register_internal(grayscale_to_rgb, *IMAGE_TYPES)
def grayscale_to_rgb_image(image):
    if image.ndim >= 3 and image.shape[-3] >= 3:
        return image
    return rgb_to_grayscale_image(image if image.ndim >= 3 else image.unsqueeze(0), num_output_channels=3)


register_internal(grayscale_to_rgb, _PILImage.Image)(lambda image: image.convert(mode="RGB"))


# ---------------------------------------------------------------------------------- enhancements
def adjust_brightness(inpt, brightness_factor: float):
    """``factor * x`` clamped to the range (0 black, 1 the original)."""
    return dispatch(adjust_brightness, inpt, brightness_factor=brightness_factor)


@register_internal(adjust_brightness, *IMAGE_TYPES)
def adjust_brightness_image(image, brightness_factor: float):
    _non_negative(brightness_factor, "brightness_factor", "adjust_brightness")
    _channels_1_or_3(image, "adjust_brightness")
    return _t(_tensor.adjust_brightness(image._data, brightness_factor))


register_internal(adjust_brightness, _PILImage.Image)(
    lambda image, brightness_factor: _pil.adjust_brightness(image, brightness_factor))
adjust_brightness_video = adjust_brightness_image


def adjust_contrast(inpt, contrast_factor: float):
    """Blend with the mean grey level: ``f * x + (1 - f) * mean(luma)``."""
    return dispatch(adjust_contrast, inpt, contrast_factor=contrast_factor)


@register_internal(adjust_contrast, *IMAGE_TYPES)
def adjust_contrast_image(image, contrast_factor: float):
    _non_negative(contrast_factor, "contrast_factor", "adjust_contrast")
    _channels_1_or_3(image, "adjust_contrast")
    return _t(_tensor.adjust_contrast(image._data, contrast_factor))


register_internal(adjust_contrast, _PILImage.Image)(
    lambda image, contrast_factor: _pil.adjust_contrast(image, contrast_factor))
adjust_contrast_video = adjust_contrast_image


def adjust_saturation(inpt, saturation_factor: float):
    """Blend with the grey image: ``f * x + (1 - f) * luma`` (0 grey, 2 twice as saturated)."""
    return dispatch(adjust_saturation, inpt, saturation_factor=saturation_factor)


@register_internal(adjust_saturation, *IMAGE_TYPES)
def adjust_saturation_image(image, saturation_factor: float):
    _non_negative(saturation_factor, "saturation_factor", "adjust_saturation")
    _channels_1_or_3(image, "adjust_saturation")
    return _t(_tensor.adjust_saturation(image._data, saturation_factor))


register_internal(adjust_saturation, _PILImage.Image)(
    lambda image, saturation_factor: _pil.adjust_saturation(image, saturation_factor))
adjust_saturation_video = adjust_saturation_image


def adjust_hue(inpt, hue_factor: float):
    """Turn the hue by ``hue_factor`` of the colour circle, in [-0.5, 0.5]."""
    return dispatch(adjust_hue, inpt, hue_factor=hue_factor)


def _check_hue(hue_factor):
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5].")


@register_internal(adjust_hue, *IMAGE_TYPES)
def adjust_hue_image(image, hue_factor: float):
    _check_hue(hue_factor)
    _channels_1_or_3(image, "adjust_hue")
    if image.numel() == 0:
        return image
    return _t(_tensor.adjust_hue(image._data, hue_factor))


@register_internal(adjust_hue, _PILImage.Image)
def _adjust_hue_image_pil(image, hue_factor: float):
    _check_hue(hue_factor)
    return _pil.adjust_hue(image, hue_factor)


adjust_hue_video = adjust_hue_image


def adjust_gamma(inpt, gamma: float, gain: float = 1):
    """``gain * x ** gamma`` on values in [0, 1]."""
    return dispatch(adjust_gamma, inpt, gamma=gamma, gain=gain)


@register_internal(adjust_gamma, *IMAGE_TYPES)
def adjust_gamma_image(image, gamma: float, gain: float = 1.0):
    if gamma < 0:
        raise ValueError("adjust_gamma: gamma should be a non-negative real number")
    return _t(_tensor_color.adjust_gamma(image._data, gamma, gain))


@register_internal(adjust_gamma, _PILImage.Image)
def _adjust_gamma_image_pil(image, gamma: float, gain: float = 1.0):
    if gamma < 0:
        raise ValueError("adjust_gamma: gamma should be a non-negative real number")
    return _pil.adjust_gamma(image, gamma, gain)


adjust_gamma_video = adjust_gamma_image


def adjust_sharpness(inpt, sharpness_factor: float):
    """Blend with a smoothed copy: 0 blurred, 1 the original, 2 sharpened."""
    return dispatch(adjust_sharpness, inpt, sharpness_factor=sharpness_factor)


@register_internal(adjust_sharpness, *IMAGE_TYPES)
def adjust_sharpness_image(image, sharpness_factor: float):
    _channels_1_or_3(image, "adjust_sharpness")
    _non_negative(sharpness_factor, "sharpness_factor", "adjust_sharpness")
    return _t(_tensor_color.adjust_sharpness(image._data, sharpness_factor))


@register_internal(adjust_sharpness, _PILImage.Image)
def _adjust_sharpness_image_pil(image, sharpness_factor: float):
    _non_negative(sharpness_factor, "sharpness_factor", "adjust_sharpness")
    return _pil.adjust_sharpness(image, sharpness_factor)


adjust_sharpness_video = adjust_sharpness_image


# ---------------------------------------------------------------------------------- point operations
def invert(inpt):
    """``max - x``: the negative."""
    return dispatch(invert, inpt)


@register_internal(invert, *IMAGE_TYPES)
def invert_image(image):
    return _t(_tensor_color.invert(image._data))


register_internal(invert, _PILImage.Image)(_pil.invert)
invert_video = invert_image


def posterize(inpt, bits: int):
    """Keep only the ``bits`` highest bits of each value (2^bits levels)."""
    return dispatch(posterize, inpt, bits=bits)


def _check_bits(bits):
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 0 <= bits <= 8:
        raise TypeError(f"posterize: bits must be a positive integer in the range [0, 8], got {bits} instead.")


@register_internal(posterize, *IMAGE_TYPES)
def posterize_image(image, bits: int):
    _check_bits(bits)
    return _t(_tensor_color.posterize(image._data, int(bits)))


@register_internal(posterize, _PILImage.Image)
def _posterize_image_pil(image, bits: int):
    _check_bits(bits)
    return _pil.posterize(image, int(bits))


posterize_video = posterize_image


def solarize(inpt, threshold: float):
    """Invert the values at or above ``threshold``."""
    return dispatch(solarize, inpt, threshold=threshold)


@register_internal(solarize, *IMAGE_TYPES)
def solarize_image(image, threshold: float):
    if threshold > _tensor.max_value(image._data.dtype):
        raise TypeError(f"solarize: threshold should be less or equal the maximum value of the dtype, but got "
                        f"{threshold}")
    return _t(_tensor_color.solarize(image._data, threshold))


register_internal(solarize, _PILImage.Image)(lambda image, threshold: _pil.solarize(image, threshold))
solarize_video = solarize_image


def autocontrast(inpt):
    """Stretch each channel's values to the full range."""
    return dispatch(autocontrast, inpt)


@register_internal(autocontrast, *IMAGE_TYPES)
def autocontrast_image(image):
    _channels_1_or_3(image, "autocontrast")
    return _t(_tensor_color.autocontrast(image._data))


register_internal(autocontrast, _PILImage.Image)(_pil.autocontrast)
autocontrast_video = autocontrast_image


def equalize(inpt):
    """Equalise each channel's histogram."""
    return dispatch(equalize, inpt)


@register_internal(equalize, *IMAGE_TYPES)
def equalize_image(image):
    return _t(_tensor_color.equalize(image._data))


register_internal(equalize, _PILImage.Image)(_pil.equalize)
equalize_video = equalize_image


def permute_channels(inpt, permutation):
    """Output channel k is input channel ``permutation[k]``."""
    return dispatch(permute_channels, inpt, permutation=permutation)


@register_internal(permute_channels, *IMAGE_TYPES)
def permute_channels_image(image, permutation):
    channels = image.shape[-3]
    if len(permutation) != channels:
        raise ValueError(f"Length of permutation does not match number of channels: {len(permutation)} != {channels}")
    return _t(_tensor_color.permute_channels(image._data, permutation))


@register_internal(permute_channels, _PILImage.Image)
def _permute_channels_image_pil(image, permutation):
    from ._type_conversion import pil_to_tensor, to_pil_image
    return to_pil_image(permute_channels_image(pil_to_tensor(image), permutation))


permute_channels_video = permute_channels_image
