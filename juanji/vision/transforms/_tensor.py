"""Image operations on arrays shaped ``[..., C, H, W]`` (the data of juanji tensor images).

These are the kernels behind the tensor path of ``transforms.functional``: arrays in, arrays out,
whole-image NumPy (or CuPy) operations, no per-pixel Python. Arguments arrive already checked.
Float images live in [0, 1]; integer (uint8) images in [0, 255]. Operations that compute in
floating point on an integer image round the result back to its dtype, as torchvision does.
"""

from __future__ import annotations

import numpy as np

from ...backend import xp_of
from ._resample import resize_array, resize_axis_uint8

__all__ = ["max_value", "value_bits", "to_dtype", "hflip", "vflip", "crop", "pad", "resize", "rgb_to_grayscale",
           "blend",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "rgb_to_hsv", "hsv_to_rgb"]


def max_value(dtype) -> float:
    """The value of 'white': 1.0 for float images, the dtype's maximum for integer images."""
    dtype = np.dtype(dtype)
    return 1.0 if dtype.kind == "f" else float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def value_bits(dtype) -> int:
    """Bits that carry the value of an integer image: 8 for uint8, 7 for int8, 15 for int16 (not the sign bit)."""
    info = np.iinfo(dtype)
    return info.bits - (1 if info.min < 0 else 0)


def to_dtype(img, dtype, scale: bool):
    """Convert an image array to ``dtype``; with ``scale`` the value range moves along (torchvision's
    ``to_dtype``/``convert_image_dtype``).

    float -> float: cast.  int -> float: ``x * (1 / max_in)``.  float -> int: ``x * (max_out + 1 - 1e-3)``
    truncated (so that 0.9999 still reaches max_out while 1.0 does not overflow).  int -> int: shift by
    the difference of value bits (uint8 -> int32: ``x << 23``).
    """
    dtype = np.dtype(dtype)
    if img.dtype == dtype:
        return img
    if not scale:
        return img.astype(dtype)
    float_in, float_out = img.dtype.kind == "f", dtype.kind == "f"
    if float_in and float_out:
        return img.astype(dtype)
    if float_in:
        unsafe = (np.float32, np.int32), (np.float32, np.int64), (np.float64, np.int64)
        if (img.dtype, dtype) in unsafe:
            raise RuntimeError(f"to_dtype: the conversion from {img.dtype} to {dtype} cannot be performed safely.")
        eps = 1e-3
        return (img * img.dtype.type(max_value(dtype) + 1.0 - eps)).astype(dtype)
    if float_out:
        return img.astype(dtype) * dtype.type(1.0 / max_value(img.dtype))
    shift = value_bits(img.dtype) - value_bits(dtype)
    if shift > 0:
        return (img >> shift).astype(dtype)
    return img.astype(dtype) << dtype.type(-shift)


def _work_dtype(dtype):
    """The scalar type to compute in: a float image's own, float32 for integer images (torchvision's
    cast-in/cast-out)."""
    return np.dtype(dtype).type if np.dtype(dtype).kind == "f" else np.float32


def _cast_back(values, dtype):
    """Round float results to an integer image's dtype (values are already in range)."""
    if np.dtype(dtype).kind in "iu":
        return xp_of(values).round(values).astype(dtype)
    return values.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------- geometry
def hflip(img):
    return xp_of(img).ascontiguousarray(img[..., ::-1])


def vflip(img):
    return xp_of(img).ascontiguousarray(img[..., ::-1, :])


def crop(img, top: int, left: int, height: int, width: int):
    """``img[..., top:top+height, left:left+width]``, with zeros where the box leaves the image."""
    h, w = img.shape[-2:]
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        inside = img[..., max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)]
        padding = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                   max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(inside, padding, fill=0, mode="constant")
    return img[..., top:bottom, left:right].copy()


_NP_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def pad(img, padding, fill=0, mode: str = "constant"):
    """Pad the last two axes by ``padding = [left, top, right, bottom]``; negative values crop."""
    xp = xp_of(img)
    left, top, right, bottom = padding
    # negative padding removes rows/columns first (torchvision's rule)
    h, w = img.shape[-2:]
    img = img[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    left, top, right, bottom = (max(p, 0) for p in (left, top, right, bottom))
    widths = [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        return xp.pad(img, widths, mode="constant", constant_values=fill)
    return xp.pad(img, widths, mode=_NP_PAD_MODES[mode])


def resize(img, size, mode: str, antialias: bool):
    """Resize the last two axes to ``size = (h, w)`` like ``F.interpolate`` (see ``_resample``).

    uint8 images with bilinear or bicubic go the way of torch's native uint8 kernel (Pillow's
    algorithm, which torchvision uses on AVX2 CPUs): int16 fixed-point weights, the horizontal pass
    rounded and clamped to 0..255 before the vertical one (a single float pass would differ by up to
    15 where bicubic overshoots get clamped).
    """
    if mode not in ("bilinear", "bicubic"):
        antialias = False
    if img.dtype == np.uint8 and mode in ("bilinear", "bicubic"):
        wide = resize_axis_uint8(img, -1, size[1], mode, antialias)
        return resize_axis_uint8(wide, -2, size[0], mode, antialias)
    values = resize_array(img.astype(_work_dtype(img.dtype), copy=False), size, mode, antialias)
    if mode == "bicubic" and img.dtype == np.uint8:
        values = xp_of(values).clip(values, 0, 255)  # the cubic kernel overshoots
    return _cast_back(values, img.dtype)


# ---------------------------------------------------------------------------------- colour
def rgb_to_grayscale(img, num_output_channels: int):
    """``L = 0.2989 R + 0.587 G + 0.114 B`` (ITU-R 601-2 luma), kept in the image's dtype (truncated)."""
    xp = xp_of(img)
    if img.shape[-3] == 3:
        work = _work_dtype(img.dtype)
        r, g, b = (img[..., c, :, :].astype(work, copy=False) for c in range(3))
        luma = (work(0.2989) * r + work(0.587) * g + work(0.114) * b).astype(img.dtype)
        luma = luma[..., None, :, :]
    else:
        luma = img.copy()
    if num_output_channels == 3:
        return xp.ascontiguousarray(xp.broadcast_to(luma, luma.shape[:-3] + (3,) + luma.shape[-2:]))
    return luma


def blend(img1, img2, ratio: float):
    """``ratio * img1 + (1 - ratio) * img2``, clamped to the image range, in img1's dtype."""
    xp = xp_of(img1)
    work = _work_dtype(img1.dtype)
    ratio = float(ratio)
    mixed = work(ratio) * img1.astype(work, copy=False) + work(1.0 - ratio) * xp.asarray(img2).astype(work, copy=False)
    mixed = xp.clip(mixed, 0, max_value(img1.dtype))
    # torchvision converts with .to(dtype): truncation for integer images
    return mixed.astype(img1.dtype)


def adjust_brightness(img, factor: float):
    """Blend with black: ``factor * img``."""
    return blend(img, xp_of(img).zeros_like(img), factor)


def adjust_contrast(img, factor: float):
    """Blend with the mean grey level of the image (the mean of its luma)."""
    xp = xp_of(img)
    work = _work_dtype(img.dtype)
    grey = rgb_to_grayscale(img, 1) if img.shape[-3] == 3 else img
    mean = xp.mean(grey.astype(work, copy=False), axis=(-3, -2, -1), keepdims=True)
    return blend(img, mean, factor)


def adjust_saturation(img, factor: float):
    """Blend with the grey version of the image (a one-channel image is returned unchanged)."""
    if img.shape[-3] == 1:
        return img
    return blend(img, rgb_to_grayscale(img, 1), factor)


def rgb_to_hsv(img):
    """RGB in [0, 1] -> HSV in [0, 1] (hue as a fraction of a turn), channel axis -3."""
    xp = xp_of(img)
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    flat = maxc == minc
    chroma = maxc - minc
    ones = xp.ones_like(maxc)
    s = chroma / xp.where(flat, ones, maxc)
    divisor = xp.where(flat, ones, chroma)
    rc, gc, bc = (maxc - r) / divisor, (maxc - g) / divisor, (maxc - b) / divisor
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = xp.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return xp.stack((h, s, maxc), axis=-3).astype(img.dtype, copy=False)


def hsv_to_rgb(img):
    """HSV in [0, 1] -> RGB in [0, 1]: the six sectors of the hue circle."""
    xp = xp_of(img)
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    sector = i.astype(np.int32) % 6
    p = xp.clip(v * (1.0 - s), 0.0, 1.0)
    q = xp.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = xp.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    # sector k: (r, g, b) = (v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q); one gather
    # from the stack (v, p, q, t) by a [3, 6] table of positions
    table = xp.asarray([[0, 2, 1, 1, 3, 0], [3, 0, 0, 2, 1, 1], [1, 1, 3, 0, 0, 2]])
    vpqt = xp.stack((v, p, q, t), axis=-3)
    select = xp.moveaxis(table[:, sector], 0, -3)          # [..., 3, H, W]
    return xp.take_along_axis(vpqt, select, axis=-3).astype(img.dtype, copy=False)


def adjust_hue(img, factor: float):
    """Turn the hue by ``factor`` of a full circle (in HSV space); one-channel images are unchanged."""
    if img.shape[-3] == 1:
        return img
    dtype = img.dtype
    if np.dtype(dtype).kind == "f":
        values = img
    else:  # integer image -> float32 in [0, 1] and back (torchvision's convert_image_dtype)
        values = img.astype(np.float32) / np.float32(max_value(dtype))
    hsv = rgb_to_hsv(values)
    xp = xp_of(img)
    hue = (hsv[..., 0, :, :] + factor) % 1.0
    hsv = xp.stack((hue.astype(hsv.dtype), hsv[..., 1, :, :], hsv[..., 2, :, :]), axis=-3)
    rgb = hsv_to_rgb(hsv)
    if np.dtype(dtype).kind == "f":
        return rgb.astype(dtype, copy=False)
    # convert_image_dtype float -> int: multiply by (max + 1 - eps) and truncate
    eps = 1e-3
    return (rgb * (max_value(dtype) + 1.0 - eps)).astype(dtype)
