"""More image operations on arrays ``[..., C, H, W]``: the photometric ones of AutoAugment and friends
(sharpness, posterize, solarize, autocontrast, equalize, invert, gamma), channel permutation, Gaussian
blur and erasing. Same conventions as ``_tensor``: float images in [0, 1], integer images in
[0, max]; float work is done in the image's precision (float32 for integer images) and rounded back.
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import xp_of
from ._tensor import blend, max_value, to_dtype, value_bits

__all__ = ["invert", "posterize", "solarize", "smoothed_interior", "adjust_sharpness", "autocontrast", "equalize",
           "adjust_gamma", "permute_channels", "gaussian_kernel1d", "gaussian_blur", "erase"]


def invert(img):
    """``max - x``: ``1 - x`` for floats, all value bits flipped for integers."""
    if img.dtype.kind == "f":
        return img.dtype.type(1) - img
    return img ^ img.dtype.type((1 << value_bits(img.dtype)) - 1)


def posterize(img, bits: int):
    """Keep the ``bits`` highest value bits: integers are masked, floats quantised to ``2^bits`` levels
    (``floor(x * 2^bits)`` clamped to [0, 2^bits - 1], times ``1 / 2^bits``)."""
    xp = xp_of(img)
    if img.dtype.kind == "f":
        levels = 1 << bits
        quantised = xp.clip(xp.floor(img * img.dtype.type(levels)), 0, levels - 1)
        return quantised * img.dtype.type(1.0 / levels)
    total = value_bits(img.dtype)
    if bits >= total:
        return img
    return img & img.dtype.type(((1 << bits) - 1) << (total - bits))


def solarize(img, threshold: float):
    """Invert the pixels at or above ``threshold``."""
    return xp_of(img).where(img >= threshold, invert(img), img)


def _work(dtype):
    return np.dtype(dtype).type if np.dtype(dtype).kind == "f" else np.float32


def smoothed_interior(img):
    """The 3x3 average of the interior pixels [..., H-2, W-2], weights 1/13 around and 5/13 in the
    middle (Pillow's SMOOTH kernel), in float (float32 for integer images, then rounded)."""
    work = _work(img.dtype)
    values = img.astype(work, copy=False)
    h, w = img.shape[-2:]
    weights = np.full((3, 3), 1.0 / 13.0, dtype=work)
    weights[1, 1] = 5.0 / 13.0
    blurred = 0
    for dy in range(3):
        for dx in range(3):
            blurred = blurred + values[..., dy:dy + h - 2, dx:dx + w - 2] * weights[dy, dx]
    return blurred if img.dtype.kind == "f" else xp_of(img).rint(blurred)


def adjust_sharpness(img, factor: float, v1: bool = False):
    """Blend with a smoothed copy: the interior pixels get ``blurred + factor * (x - blurred)`` (see
    ``smoothed_interior``); the border rows and columns stay as they are. v2 computes
    ``x + (1 - factor) * (blurred - x)`` with one fused multiply-add; ``v1=True`` is transforms v1's
    ``factor * x + (1 - factor) * blurred`` (``blend``), which rounds differently for integer images."""
    xp = xp_of(img)
    h, w = img.shape[-2:]
    if img.size == 0 or h <= 2 or w <= 2:
        return img
    blurred = smoothed_interior(img)
    if v1:
        degenerate = img.copy()
        degenerate[..., 1:-1, 1:-1] = blurred.astype(img.dtype)
        return blend(img, degenerate, factor)
    work = _work(img.dtype)
    out = img.astype(work, copy=True)
    view = out[..., 1:-1, 1:-1]
    # torch: view.add_(blurred - view, alpha=1 - factor), one fused multiply-add (exact through float64)
    difference = (blurred - view).astype(np.float64)
    view[...] = (difference * np.float64(work(1.0 - factor)) + view.astype(np.float64)).astype(work)
    out = xp.clip(out, 0, max_value(img.dtype))
    return out if img.dtype.kind == "f" else out.astype(img.dtype)


def autocontrast(img, v1: bool = False):
    """Stretch each channel to the full range: ``(x - min) * max_value / (max - min)`` (unchanged where
    a channel is flat). v2 divides by ``(max - min) / max_value``; ``v1=True`` multiplies by
    ``max_value / (max - min)`` as transforms v1 does (the last bit differs)."""
    xp = xp_of(img)
    if img.size == 0:
        return img
    bound = max_value(img.dtype)
    values = img if img.dtype.kind == "f" else img.astype(np.float32)
    lo = values.min(axis=(-2, -1), keepdims=True)
    hi = values.max(axis=(-2, -1), keepdims=True)
    flat = hi == lo
    lo = xp.where(flat, 0, lo).astype(values.dtype)
    if v1:
        # torch evaluates number / tensor as reciprocal(tensor) * number
        reciprocal = (values.dtype.type(1) / (hi - lo + flat)).astype(values.dtype)
        scale = xp.where(flat, 1, reciprocal * values.dtype.type(bound)).astype(values.dtype)
        return xp.clip((values - lo) * scale, 0, bound).astype(img.dtype)
    inv_scale = xp.where(flat, 1, (hi - lo) * values.dtype.type(1.0 / bound)).astype(values.dtype)
    return xp.clip((values - lo) / inv_scale, 0, bound).astype(img.dtype)


def equalize(img):
    """Histogram equalisation of each channel (Pillow's ImageOps.equalize): a lookup table from the
    cumulative histogram, ``lut[v] = (cum[v - 1] + step // 2) // step`` with ``step = (n - count of the
    last used value) // 255``; a channel with step 0 is left as it is. Done on uint8 values (other
    dtypes are converted there and back)."""
    xp = xp_of(img)
    if img.size == 0:
        return img
    values = to_dtype(img, np.uint8, scale=True)
    planes = values.reshape(-1, values.shape[-2] * values.shape[-1])
    count, pixels = planes.shape
    offsets = (xp.arange(count) * 256)[:, None]
    hist = xp.bincount((planes.astype(np.int64) + offsets).ravel(), minlength=count * 256).reshape(count, 256)
    cumulative = xp.cumsum(hist, axis=-1)
    last = xp.argmax(cumulative, axis=-1)                 # the last value that occurs
    step = (pixels - hist[xp.arange(count), last]) // 255
    lut = (cumulative[:, :-1] + (step // 2)[:, None]) // xp.maximum(step, 1)[:, None]
    lut = xp.concatenate([xp.zeros((count, 1), dtype=lut.dtype), xp.clip(lut, 0, 255)], axis=1).astype(np.uint8)
    mapped = xp.take_along_axis(lut, planes.astype(np.int64), axis=1)
    out = xp.where((step != 0)[:, None], mapped, planes).reshape(values.shape)
    return to_dtype(out, img.dtype, scale=True)


def adjust_gamma(img, gamma: float, gain: float = 1.0):
    """``gain * x ** gamma`` on values scaled to [0, 1] (clamped when gain != 1), back in the image's dtype."""
    xp = xp_of(img)
    values = img.astype(img.dtype) if img.dtype.kind == "f" else to_dtype(img, np.float32, scale=True)
    out = values ** values.dtype.type(gamma)
    if gain != 1.0:
        out = xp.clip(out * values.dtype.type(gain), 0.0, 1.0)
    return to_dtype(out, img.dtype, scale=True)


def permute_channels(img, permutation):
    """Channel ``k`` of the output is channel ``permutation[k]`` of the input."""
    return xp_of(img).ascontiguousarray(img[..., list(permutation), :, :])


def gaussian_kernel1d(size: int, sigma: float, dtype):
    """torchvision's kernel: the softmax of ``-(x / sigma)^2`` over ``x = linspace(-l, l, size)``,
    ``l = (size - 1) / (2 sqrt 2)`` — a normalised exp(-d^2 / (2 sigma^2)) over pixel offsets d."""
    limit = (size - 1) / (2.0 * math.sqrt(2.0))
    x = np.linspace(-limit, limit, size).astype(dtype)
    logits = -((x / dtype.type(sigma)) ** 2)
    weights = np.exp(logits - logits.max())
    return (weights / weights.sum()).astype(dtype)


def gaussian_blur(img, kernel_size, sigma):
    """Blur with a Gaussian of ``kernel_size = (kx, ky)`` (odd) and ``sigma = (sx, sy)``, reflecting the
    border; separable (a row pass and a column pass). Integer images are rounded back."""
    xp = xp_of(img)
    if img.size == 0:
        return img
    work = np.dtype(_work(img.dtype))
    kx, ky = kernel_size
    wx = gaussian_kernel1d(kx, sigma[0], work)
    wy = gaussian_kernel1d(ky, sigma[1], work)
    values = img.astype(work, copy=False)
    pad = [(0, 0)] * (img.ndim - 2) + [(ky // 2, ky // 2), (kx // 2, kx // 2)]
    padded = xp.pad(values, pad, mode="reflect")
    h, w = img.shape[-2:]
    rows = sum(padded[..., :, i:i + w] * wx[i] for i in range(kx))
    out = sum(rows[..., j:j + h, :] * wy[j] for j in range(ky))
    return out.astype(img.dtype, copy=False) if img.dtype.kind == "f" else xp.rint(out).astype(img.dtype)


def erase(img, i: int, j: int, h: int, w: int, value, inplace: bool = False):
    """Set the box of ``h x w`` at row ``i``, column ``j`` to ``value`` (broadcast over it)."""
    out = img if inplace else img.copy()
    out[..., i:i + h, j:j + w] = value
    return out
