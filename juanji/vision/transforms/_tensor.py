"""Image operations on arrays shaped ``[..., C, H, W]`` (the data of juanji tensor images).

These are the kernels behind the tensor path of ``transforms.functional``: arrays in, arrays out,
whole-image NumPy (or CuPy) operations, no per-pixel Python. Arguments arrive already checked.
Float images live in [0, 1]; integer (uint8) images in [0, 255]. Operations that compute in
floating point on an integer image round the result back to its dtype, as torchvision does.
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import xp_of
from ._resample import resize_array

__all__ = ["max_value", "to_dtype", "hflip", "vflip", "crop", "pad", "resize", "rotate", "rgb_to_grayscale", "blend",
           "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue", "rgb_to_hsv", "hsv_to_rgb"]


def max_value(dtype) -> float:
    """The value of 'white': 1.0 for float images, the dtype's maximum for integer images."""
    dtype = np.dtype(dtype)
    return 1.0 if dtype.kind == "f" else float(np.iinfo(dtype).max) if dtype.kind in "iu" else 1.0


def _value_bits(dtype) -> int:
    """Bits that carry the value of an integer image (the sign bit does not)."""
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
        if (img.dtype == np.float32 and dtype in (np.int32, np.int64)) or (img.dtype == np.float64 and dtype == np.int64):
            raise RuntimeError(f"to_dtype: the conversion from {img.dtype} to {dtype} cannot be performed safely.")
        eps = 1e-3
        return (img * img.dtype.type(max_value(dtype) + 1.0 - eps)).astype(dtype)
    if float_out:
        return img.astype(dtype) * dtype.type(1.0 / max_value(img.dtype))
    shift = _value_bits(img.dtype) - _value_bits(dtype)
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
    """Resize the last two axes to ``size = (h, w)`` like ``F.interpolate`` (see ``_resample``)."""
    if mode not in ("bilinear", "bicubic"):
        antialias = False
    values = resize_array(img.astype(_work_dtype(img.dtype), copy=False), size, mode, antialias)
    if mode == "bicubic" and img.dtype == np.uint8:
        values = xp_of(values).clip(values, 0, 255)  # the cubic kernel overshoots
    return _cast_back(values, img.dtype)


def rotation_matrix(angle: float, center_offset) -> list[float]:
    """The inverse rotation (output -> input) about ``center_offset`` (relative to the image centre).

    Coordinates are pixel centres measured from the image centre, y pointing down; a positive
    ``angle`` turns the picture counter-clockwise, as Pillow's and torchvision's rotate do.
    """
    rot = math.radians(-angle)
    cx, cy = center_offset
    m = [math.cos(rot), math.sin(rot), 0.0, -math.sin(rot), math.cos(rot), 0.0]
    m[2] += m[0] * -cx + m[1] * -cy + cx
    m[5] += m[3] * -cx + m[4] * -cy + cy
    return m


def expanded_size(matrix, w: int, h: int) -> tuple[int, int]:
    """The (width, height) that holds the whole turned image: Pillow's rule, as torchvision computes it.

    The turned corners are measured from the top-left corner of the input (hence the shift by half
    the size), the box is ceil(max) - floor(min) after cutting the precision to 1e-4 so that
    rounding noise like 5.0000001 does not add a pixel. In float32, as torchvision does.
    """
    corners = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    moved = corners @ np.asarray(matrix, dtype=np.float32).reshape(2, 3).T
    shift = np.array([0.5 * w, 0.5 * h], dtype=np.float32)
    tol = np.float32(1e-4)
    hi = np.ceil(np.trunc((moved.max(axis=0) + shift) / tol) * tol)
    lo = np.floor(np.trunc((moved.min(axis=0) + shift) / tol) * tol)
    size = hi - lo
    return int(size[0]), int(size[1])


def rotate(img, angle: float, mode: str, expand: bool, center, fill):
    """Turn the image by ``angle`` degrees, sampling the input at the inversely mapped pixel centres.

    With output pixel centre (x, y) measured from the output centre, the input point is
    ``M @ (x, y, 1)`` (the inverse rotation), read at pixel ``(x_in + (w - 1) / 2, y_in + (h - 1) / 2)``
    with nearest (round half to even) or bilinear sampling; outside the image the value is 0, and
    where ``fill`` is given the output is blended with it by the sampled coverage (nearest: pixels
    with coverage < 0.5 become ``fill``), which is torchvision's grid_sample recipe.
    """
    xp = xp_of(img)
    h, w = img.shape[-2:]
    offset = (0.0, 0.0) if center is None else (center[0] - 0.5 * w, center[1] - 0.5 * h)
    matrix = rotation_matrix(angle, offset)
    out_w, out_h = expanded_size(matrix, w, h) if expand else (w, h)
    work = _work_dtype(img.dtype)
    values = img.astype(work, copy=False)

    # input coordinates of every output pixel centre, computed in the image's float precision
    m = np.asarray(matrix, dtype=work)
    xs = (np.arange(out_w, dtype=work) - work(out_w * 0.5) + work(0.5))
    ys = (np.arange(out_h, dtype=work) - work(out_h * 0.5) + work(0.5))
    gx = xs[None, :] * m[0] + ys[:, None] * m[1] + m[2] + work((w - 1) * 0.5)
    gy = xs[None, :] * m[3] + ys[:, None] * m[4] + m[5] + work((h - 1) * 0.5)
    gx, gy = xp.asarray(gx), xp.asarray(gy)

    # read through flat indices: one np.take per tap is much faster than 2-d fancy indexing
    flat = values.reshape(values.shape[:-2] + (h * w,))
    if mode == "nearest":
        out, inside = _read(xp, flat, xp.rint(gx).astype(np.int64), xp.rint(gy).astype(np.int64), w, h)
        out = out * inside
        if fill is not None:
            out = xp.where(inside, out, _fill_column(xp, fill, img, work))
    else:
        out, coverage = _bilinear_sample(xp, flat, gx, gy, w, h, work)
        if fill is not None:
            out = out * coverage + (1.0 - coverage) * _fill_column(xp, fill, img, work)
    return _cast_back(out, img.dtype)


def _read(xp, flat, ix, iy, w, h):
    """``flat[..., iy * w + ix]`` where (ix, iy) is inside the image (index 0 elsewhere), and the mask."""
    inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    return xp.take(flat, xp.where(inside, iy * w + ix, 0), axis=-1), inside


def _fill_column(xp, fill, img, work):
    """The fill value(s) shaped to broadcast over [..., C, H, W]."""
    values = xp.asarray(fill if isinstance(fill, (list, tuple)) else [fill], dtype=work)
    if img.ndim >= 3:
        return values.reshape(-1, 1, 1)
    return values.reshape(())


def _bilinear_sample(xp, flat, gx, gy, w, h, work):
    """Bilinear reads at (gx, gy) with zeros outside, and the coverage (the same read of an all-ones image)."""
    x0, y0 = xp.floor(gx), xp.floor(gy)
    fx, fy = (gx - x0).astype(work), (gy - y0).astype(work)
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    out = 0
    coverage = 0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            corner, inside = _read(xp, flat, x0 + dx, y0 + dy, w, h)
            weight = wx * wy * inside
            out = out + corner * weight
            coverage = coverage + weight
    return out, coverage


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
    table = {0: (v, t, p), 1: (q, v, p), 2: (p, v, t), 3: (p, q, v), 4: (t, p, v), 5: (v, p, q)}
    r, g, b = xp.zeros_like(v), xp.zeros_like(v), xp.zeros_like(v)
    for k, (rk, gk, bk) in table.items():
        here = sector == k
        r, g, b = xp.where(here, rk, r), xp.where(here, gk, g), xp.where(here, bk, b)
    return xp.stack((r, g, b), axis=-3).astype(img.dtype, copy=False)


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
