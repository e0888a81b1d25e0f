"""Resizing image arrays ``[..., H, W]`` the way ``torch.nn.functional.interpolate`` does.

Every mode is separable: a resize is a pass along the width, then one along the height. A pass is
described by a weight matrix W [out, in] (``out = W @ img`` along that axis) whose rows say how much
each input pixel contributes to one output pixel; a row is non-zero on a short window only (2-4 taps
up to a few times the downscale factor), so the pass is applied as a gather of those taps and a
weighted sum — O(out * taps) per line, where a dense product would be O(out * in). The weights are
built once per (size, mode) and cached. The nearest modes read one pixel per output pixel: a plain
gather.

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

__all__ = ["resize_weights", "resize_taps", "resize_array", "resize_taps_int16", "resize_axis_uint8"]


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
    return _dense(np.clip(taps, 0, in_size - 1), tap_weights, in_size)


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
    return _dense(np.clip(taps, 0, in_size - 1), tap_weights, in_size)


def _dense(taps, tap_weights, in_size):
    """The [out, in] matrix of the taps, weights of repeated (clamped) indices added up."""
    out_size = taps.shape[0]
    flat = (np.arange(out_size)[:, None] * in_size + taps).ravel()
    return np.bincount(flat, tap_weights.ravel(), minlength=out_size * in_size).reshape(out_size, in_size)


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


@functools.lru_cache(maxsize=64)
def resize_taps(in_size: int, out_size: int, mode: str, antialias: bool):
    """``(index, weights)``, both [out, k]: row i of ``resize_weights`` as its k-wide window of
    non-zero entries (index clipped to the image, weight 0 past the window's end)."""
    dense = resize_weights(in_size, out_size, mode, antialias)
    nonzero = dense != 0
    first = np.argmax(nonzero, axis=1)
    last = in_size - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    span = np.maximum(last - first + 1, 1)
    k = int(span.max()) if out_size else 1
    steps = np.arange(k)[None, :]
    index = np.minimum(first[:, None] + steps, in_size - 1)
    weights = np.where(steps < span[:, None], dense[np.arange(out_size)[:, None], index], 0.0)
    index.setflags(write=False)
    weights.setflags(write=False)
    return index, weights


def _apply_taps(arr, axis: int, index, weights):
    """``W @ arr`` along ``axis`` (-1 or -2) from the taps: for each of the k taps, gather one input per
    output and add it in with its weight (k passes over the output; no [..., out, k] temporary)."""
    xp = xp_of(arr)
    index = xp.asarray(index)
    weights = xp.asarray(weights, dtype=arr.dtype if arr.dtype.kind == "f" else np.float64)
    if axis == -2:
        weights = weights[:, :, None]
    acc = None
    for j in range(index.shape[1]):
        term = xp.take(arr, index[:, j], axis=axis) * weights[:, j]
        acc = term if acc is None else acc + term
    return acc


def resize_array(arr, size, mode: str, antialias: bool):
    """Resize the last two axes of a float array to ``size = (out_h, out_w)``."""
    xp = xp_of(arr)
    out_h, out_w = size
    in_h, in_w = arr.shape[-2:]
    if mode in ("nearest", "nearest-exact"):
        # a plain gather: no arithmetic
        exact = mode == "nearest-exact"
        rows = xp.asarray(nearest_indices(in_h, out_h, exact))
        cols = xp.asarray(nearest_indices(in_w, out_w, exact))
        return xp.take(xp.take(arr, rows, axis=-2), cols, axis=-1)
    out = _apply_taps(arr, -1, *resize_taps(in_w, out_w, mode, antialias))
    return _apply_taps(out, -2, *resize_taps(in_h, out_h, mode, antialias))


@functools.lru_cache(maxsize=64)
def resize_taps_int16(in_size: int, out_size: int, mode: str, antialias: bool):
    """The taps as torch's native uint8 kernel (Pillow's) uses them: the weights scaled by ``2^p`` and
    rounded half away from zero to int16, ``p`` the largest precision (< 22) that keeps twice the
    largest weight below 2^15. Returns (index, weights as exact integers in float64, p)."""
    index, weights = resize_taps(in_size, out_size, mode, antialias)
    largest = float(weights.max())
    precision = 0
    while precision < 22 and int(0.5 + largest * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = np.trunc(weights * float(1 << precision) + np.sign(weights) * 0.5)
    scaled.setflags(write=False)
    return index, scaled, precision


def resize_axis_uint8(arr, axis: int, out_size: int, mode: str, antialias: bool):
    """One axis of a uint8 array resampled in fixed point: ``(sum(w_int * x) + 2^(p-1)) >> p`` clamped to
    0..255 (the sums are exact in float64: |w| < 2^15, x <= 255, a few taps)."""
    xp = xp_of(arr)
    in_size = arr.shape[axis]
    if in_size == out_size:
        return arr
    index, weights, precision = resize_taps_int16(in_size, out_size, mode, antialias)
    acc = _apply_taps(arr.astype(np.float64), axis, index, weights)
    out = xp.floor((acc + float(1 << (precision - 1))) / float(1 << precision)) if precision else acc
    return xp.clip(out, 0, 255).astype(np.uint8)
