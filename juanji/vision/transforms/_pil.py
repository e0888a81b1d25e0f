"""Image operations on PIL images: the PIL path of ``transforms.functional``.

Pillow does the resampling, rotation and colour enhancement itself (so results are Pillow's,
as with torchvision); padding modes other than constant go through ``numpy.pad``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

__all__ = ["get_dimensions", "hflip", "vflip", "crop", "pad", "resize", "rotate", "affine", "perspective",
           "to_grayscale", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "adjust_sharpness", "adjust_gamma", "invert", "posterize", "solarize", "autocontrast", "equalize",
           "parse_fill"]


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]``."""
    width, height = img.size
    return [len(img.getbands()), height, width]


def hflip(img):
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def crop(img, top: int, left: int, height: int, width: int):
    """Pillow fills the part of the box outside the image with zeros."""
    return img.crop((left, top, left + width, top + height))


def parse_fill(fill, img, where: str):
    """One fill value per band, as ints unless the image is float ('F'); a single value is repeated."""
    bands = len(img.getbands())
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and bands > 1:
        fill = (fill,) * bands
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * bands
        elif len(fill) != bands:
            raise ValueError(f"{where}: the number of elements in 'fill' does not match the number of channels "
                             f"of the image ({len(fill)} != {bands})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(v) for v in fill) if isinstance(fill, tuple) else int(fill)
    return fill


def pad(img, padding, fill, mode: str):
    """``padding = [left, top, right, bottom]``; negative values crop."""
    left, top, right, bottom = padding
    if mode == "constant":
        # ImageOps.expand keeps a palette image's palette, and pastes at a negative offset to crop
        return ImageOps.expand(img, border=(left, top, right, bottom), fill=parse_fill(fill, img, "pad"))
    if min(padding) < 0:
        width, height = img.size
        img = img.crop((max(-left, 0), max(-top, 0), width - max(-right, 0), height - max(-bottom, 0)))
        left, top, right, bottom = (max(p, 0) for p in padding)
    arr = np.asarray(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
    out = Image.fromarray(np.pad(arr, widths, mode=mode))
    if img.mode == "P":  # the padded indices keep meaning the same colours
        out.putpalette(img.getpalette())
    return out


def resize(img, size, resample):
    """``size = (h, w)``."""
    height, width = size
    return img.resize((width, height), resample)


def rotate(img, angle: float, resample, expand: bool, center, fill):
    return img.rotate(angle, resample, expand, center, fillcolor=parse_fill(fill, img, "rotate"))


def affine(img, inverse_matrix, resample, fill):
    """Pillow's AFFINE transform: each output pixel reads the input at ``inverse_matrix`` (x, y, 1)."""
    return img.transform(img.size, Image.Transform.AFFINE, inverse_matrix, resample,
                         fillcolor=parse_fill(fill, img, "affine"))


def perspective(img, coefficients, resample, fill):
    """Pillow's PERSPECTIVE transform with the 8 output -> input coefficients."""
    return img.transform(img.size, Image.Transform.PERSPECTIVE, coefficients, resample,
                         fillcolor=parse_fill(fill, img, "perspective"))


def to_grayscale(img, num_output_channels: int):
    """Pillow's 'L' conversion (``L = R * 299/1000 + G * 587/1000 + B * 114/1000``), repeated for 3 channels."""
    grey = img.convert("L")
    if num_output_channels == 3:
        arr = np.asarray(grey)
        return Image.fromarray(np.dstack([arr, arr, arr]), "RGB")
    return grey


def adjust_brightness(img, factor: float):
    return ImageEnhance.Brightness(img).enhance(factor)


def adjust_contrast(img, factor: float):
    return ImageEnhance.Contrast(img).enhance(factor)


def adjust_saturation(img, factor: float):
    return ImageEnhance.Color(img).enhance(factor)


def adjust_hue(img, factor: float):
    """Shift Pillow's 8-bit hue channel by ``int(factor * 255)`` with wrap-around; grey modes unchanged."""
    if img.mode in {"L", "1", "I", "F"}:
        return img
    mode = img.mode
    h, s, v = img.convert("HSV").split()
    shift = int(factor * 255)  # truncation toward zero, as np.int32() does
    hue = ((np.asarray(h).astype(np.int32) + shift) % 256).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(hue, "L"), s, v)).convert(mode)


def adjust_sharpness(img, factor: float):
    return ImageEnhance.Sharpness(img).enhance(factor)


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    """A lookup table ``int((256 - 1e-3) * gain * (v / 255) ** gamma)`` applied in RGB, as torchvision's."""
    mode = img.mode
    table = [int((255 + 1 - 1e-3) * gain * pow(v / 255.0, gamma)) for v in range(256)] * 3
    return img.convert("RGB").point(table).convert(mode)


def invert(img):
    return ImageOps.invert(img)


def posterize(img, bits: int):
    return ImageOps.posterize(img, bits)


def solarize(img, threshold: float):
    return ImageOps.solarize(img, threshold)


def autocontrast(img):
    return ImageOps.autocontrast(img)


def equalize(img):
    return ImageOps.equalize(img)
