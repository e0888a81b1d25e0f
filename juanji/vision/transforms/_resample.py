"""Resizing image arrays ``[..., H, W]`` the way ``torch.nn.functional.interpolate`` does.

Every mode is separable, so a resize is two matrix products: ``out = Wy @ img @ Wx.T`` with
``Wy`` of shape [out_h, in_h] and ``Wx`` of shape [out_w, in_w]. Each row of a weight matrix
says how much each input pixel contributes to one output pixel. Building the rows is O(out * taps)
and cached per size, the products are BLAS calls, and there is no per-pixel Python. The nearest
modes read one pixel per output pixel, so they are a plain gather instead.

Rows, with ``scale = in / out`` and output pixel ``i``:

- nearest:        the pixel ``min(floor(i * scale), in - 1)`` (torch's legacy rule, in float32)
- nearest-exact:  the pixel ``min(floor((i + 0.5) * scale), in - 1)``
- bilinear / bicubic without antialias: the source point ``(i + 0.5) * scale - 0.5``, its 2 or 4
  neighbours, weights of the triangle / cubic (a = -0.75) kernel, indices clamped to the image
- antialias (bilinear / bicubic, Pillow's algorithm, as torch's ``antialias=True``): the kernel
  (triangle, or cubic with a = -0.5) is stretched by ``max(scale, 1)``, centred on
  ``(i + 0.5) * scale``, and the weights of each row are normalised to sum to 1.
"""

from __future__ import annotations

import functools

import numpy as np

from ...backend import xp_of

__all__ = ["resize_weights", "resize_array", "resize_weights_int16", "resize_axis_uint8"]


def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _cubic(x, a):
    """Keys' cubic convolution kernel with parameter ``a``."""
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def nearest_indices(in_size: int, out_size: int, exact: bool) -> np.ndarray:
    """The input pixel read by each output pixel (nearest / nearest-exact)."""
    # torch computes these indices in float32; float64 would pick a different pixel at exact ties
    scale = np.float32(in_size) / np.float32(out_size)
    positions = np.arange(out_size, dtype=np.float32)
    if exact:
        positions += np.float32(0.5)
    return np.minimum(np.floor(positions * scale).astype(np.int64), in_size - 1)


def _nearest_rows(in_size, out_size, exact):
    weights = np.zeros((out_size, in_size))
    weights[np.arange(out_size), nearest_indices(in_size, out_size, exact)] = 1.0
    return weights


def _interpolating_rows(in_size, out_size, cubic):
    """Plain bilinear/bicubic (align_corners=False): taps around the source point, clamped indices."""
    scale = in_size / out_size
    src = (np.arange(out_size) + 0.5) * scale - 0.5
    if not cubic:
        src = np.maximum(src, 0.0)  # torch clamps the linear source point at the left edge
    base = np.floor(src)
    frac = src - base
    offsets = np.arange(-1, 3) if cubic else np.arange(0, 2)
    taps = base[:, None].astype(np.int64) + offsets[None, :]
    distance = frac[:, None] - offsets[None, :]
    tap_weights = _cubic(distance, -0.75) if cubic else _triangle(distance)
    weights = np.zeros((out_size, in_size))
    rows = np.repeat(np.arange(out_size), len(offsets))
    np.add.at(weights, (rows, np.clip(taps, 0, in_size - 1).ravel()), tap_weights.ravel())
    return weights


def _antialias_rows(in_size, out_size, cubic):
    """Pillow's resampling: a kernel widened by the downscale factor, each row normalised."""
    scale = in_size / out_size
    support = (2.0 if cubic else 1.0) * max(scale, 1.0)
    inv_scale = 1.0 / scale if scale >= 1.0 else 1.0
    centers = scale * (np.arange(out_size) + 0.5)
    # int() of the C++ code truncates toward zero; the max with 0 makes that a floor here
    starts = np.maximum(np.trunc(centers - support + 0.5), 0).astype(np.int64)
    stops = np.minimum(np.trunc(centers + support + 0.5), in_size).astype(np.int64)
    width = int(np.max(stops - starts)) if out_size else 0
    taps = starts[:, None] + np.arange(width)[None, :]
    x = (taps - centers[:, None] + 0.5) * inv_scale
    tap_weights = _cubic(x, -0.5) if cubic else _triangle(x)
    tap_weights = np.where(taps < stops[:, None], tap_weights, 0.0)
    totals = tap_weights.sum(axis=1, keepdims=True)
    tap_weights = np.divide(tap_weights, totals, out=np.zeros_like(tap_weights), where=totals != 0)
    weights = np.zeros((out_size, in_size))
    rows = np.repeat(np.arange(out_size), width)
    np.add.at(weights, (rows, np.clip(taps, 0, in_size - 1).ravel()), tap_weights.ravel())
    return weights


@functools.lru_cache(maxsize=64)
def resize_weights(in_size: int, out_size: int, mode: str, antialias: bool) -> np.ndarray:
    """The [out_size, in_size] float64 matrix that resamples one axis (cached: a pipeline resizes
    images of the same size again and again; the array is read-only because it is shared)."""
    if mode in ("nearest", "nearest-exact"):
        weights = _nearest_rows(in_size, out_size, exact=mode == "nearest-exact")
    elif antialias:
        weights = _antialias_rows(in_size, out_size, mode == "bicubic")
    else:
        weights = _interpolating_rows(in_size, out_size, mode == "bicubic")
    weights.setflags(write=False)
    return weights


def resize_array(arr, size, mode: str, antialias: bool):
    """Resize the last two axes of a float array to ``size = (out_h, out_w)``."""
    xp = xp_of(arr)
    out_h, out_w = size
    in_h, in_w = arr.shape[-2:]
    if mode in ("nearest", "nearest-exact"):
        # a plain gather: no arithmetic, so no need for the matrix products
        exact = mode == "nearest-exact"
        rows = xp.asarray(nearest_indices(in_h, out_h, exact))
        cols = xp.asarray(nearest_indices(in_w, out_w, exact))
        return xp.take(xp.take(arr, rows, axis=-2), cols, axis=-1)
    wy = xp.asarray(resize_weights(in_h, out_h, mode, antialias), dtype=arr.dtype)
    wx = xp.asarray(resize_weights(in_w, out_w, mode, antialias), dtype=arr.dtype)
    # (Wy @ img) @ Wx.T, batched over the leading axes by matmul's broadcasting
    return xp.matmul(xp.matmul(wy, arr), wx.T)


@functools.lru_cache(maxsize=64)
def resize_weights_int16(in_size: int, out_size: int, mode: str, antialias: bool):
    """The weights as torch's native uint8 kernel (Pillow's) uses them: scaled by ``2^p`` and rounded
    half away from zero to int16, ``p`` the largest precision (< 22) that keeps twice the largest
    weight below 2^15. Returned as a float64 matrix (exact integers) and ``p``."""
    weights = resize_weights(in_size, out_size, mode, antialias)
    largest = float(weights.max())
    precision = 0
    while precision < 22 and int(0.5 + largest * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = np.trunc(weights * float(1 << precision) + np.sign(weights) * 0.5)
    scaled.setflags(write=False)
    return scaled, precision


def resize_axis_uint8(arr, axis: int, out_size: int, mode: str, antialias: bool):
    """One axis of a uint8 array resampled in fixed point: ``(sum(w_int * x) + 2^(p-1)) >> p`` clamped to
    0..255 (the sums are exact in float64: |w| < 2^15, x <= 255, a few taps)."""
    xp = xp_of(arr)
    in_size = arr.shape[axis]
    if in_size == out_size:
        return arr
    weights, precision = resize_weights_int16(in_size, out_size, mode, antialias)
    weights = xp.asarray(weights)
    values = arr.astype(np.float64)
    acc = xp.matmul(values, weights.T) if axis == -1 else xp.matmul(weights, values)
    out = xp.floor((acc + float(1 << (precision - 1))) / float(1 << precision)) if precision else acc
    return xp.clip(out, 0, 255).astype(np.uint8)
