"""Resampling kernels on arrays: interpolation and pixel shuffle (unfold/fold are im2col/col2im,
in ``conv.py``).

Interpolation
-------------
Every interpolation mode PyTorch's ``F.interpolate`` offers here is *separable*: resizing a
``(N, C, *spatial)`` array is one 1-d resize per spatial dim, and each 1-d resize from ``n``
to ``out`` positions is a sparse linear map

    y[..., o, ...] = sum_t  w[o, t] * x[..., idx[o, t], ...]

with ``T`` taps per output (nearest: 1, linear: 2, cubic: 4). :func:`interpolation_taps`
builds ``idx`` and ``w`` with PyTorch's coordinate rules; :func:`resample_axis` applies the
map along one axis and :func:`resample_axis_backward` applies its transpose (the gradient).
Source coordinates (``s`` = the scale, input/output unless a scale_factor is passed through):

    align_corners=True     src = o * (n-1)/(out-1)
    align_corners=False    src = (o + 0.5) * s - 0.5       (clamped at 0 except for cubic)
    nearest                src = min(floor(o * s), n-1)                  (float32 arithmetic)
    nearest-exact          src = min(floor((o + 0.5) * s), n-1)

With ``antialias=True`` (bilinear/bicubic, as Pillow resamples) :func:`antialias_taps` widens the
kernel instead when shrinking, so every input pixel contributes: output ``o`` is centred at
``c = (o + 0.5) * s``, the kernel (triangle, or Keys cubic with a = -0.5) is stretched by
``max(s, 1)`` over the inputs ``[c - support, c + support)``, and each row of weights is
normalised to sum to 1. Same ``(idx, w)`` form, with as many taps as the widest window.

pixel shuffle
-------------
``(*, C*r*r, H, W) -> (*, C, H*r, W*r)`` with ``y[c, h*r + i, w*r + j] = x[c*r*r + i*r + j, h, w]``;
pixel unshuffle is the inverse, and each is the other's gradient.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._threads import run_tasks

__all__ = [
    "interpolation_taps", "antialias_taps", "resample_axis", "resample_axis_backward", "interpolate_forward",
    "interpolate_backward", "pixel_shuffle_forward",
    "pixel_unshuffle_forward",
]


# -- interpolation: the taps of one axis -------------------------------------------------------

_CUBIC_A = -0.75  # PyTorch's (and Keys') cubic convolution parameter


def _cubic_weights(t):
    """Keys cubic convolution weights of the 4 taps at offsets -1, 0, 1, 2 from floor(src)."""
    a = _CUBIC_A

    def near(z):  # |z| <= 1
        return ((a + 2) * z - (a + 3)) * z * z + 1

    def far(z):  # 1 < |z| < 2
        return ((a * z - 5 * a) * z + 8 * a) * z - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def _linear_scale(n, out, align_corners, scale, real):
    """PyTorch's ``area_pixel_compute_scale`` in the compute precision ``real``."""
    if align_corners:
        return real(n - 1) / real(out - 1) if out > 1 else real(0)
    if scale is not None and scale > 0:
        return real(1.0 / scale)
    return real(n) / real(out)


def _nearest_scale(n, out, scale):
    """PyTorch's nearest-neighbour scale: always float32, 1/scale_factor when one is passed."""
    if scale is not None and scale > 0:
        return np.float32(1.0 / scale)
    return np.float32(n) / np.float32(out)


def interpolation_taps(n: int, out: int, mode: str, align_corners: bool = False,
                       scale: float | None = None, dtype=np.float32,
                       nearest_shortcuts: bool = False):
    """``(idx, w)``, each of shape ``(out, T)``, for a 1-d resize from ``n`` to ``out``.

    ``scale`` is the scale_factor PyTorch passes through to its kernel (None when the output
    size is given or recomputed); the source coordinate then uses ``1/scale`` instead of
    ``n/out``. Coordinates are computed in float32 for float32 data, as PyTorch does, so the
    chosen neighbours agree with it.

    ``nearest_shortcuts``: PyTorch's 2-d nearest kernel (only that one) copies when
    ``out == n`` and halves the index when ``out == 2n``, whatever the scale_factor says.
    """
    o = np.arange(out, dtype=np.int64)
    if mode == "nearest" and nearest_shortcuts and out in (n, 2 * n):
        idx = o if out == n else o >> 1
        return idx[:, None], np.ones((out, 1), dtype=dtype)
    if mode in ("nearest", "nearest-exact"):
        s = _nearest_scale(n, out, scale)
        if mode == "nearest":
            src = np.floor(o.astype(np.float32) * s)
        else:  # (o + 0.5) is formed in double, the product rounded to float, then floored
            src = np.floor(((o + 0.5) * np.float64(s)).astype(np.float32))
        idx = np.minimum(src.astype(np.int64), n - 1)
        return idx[:, None], np.ones((out, 1), dtype=dtype)

    real = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    if mode == "linear":
        if out == n:  # PyTorch copies when the size does not change
            return np.stack([o, o], axis=1), np.stack(
                [np.ones(out, dtype), np.zeros(out, dtype)], axis=1)
        s = _linear_scale(n, out, align_corners, scale, real)
        of = o.astype(real)
        src = of * s if align_corners else np.maximum((of + real(0.5)) * s - real(0.5), real(0))
        i0 = np.minimum(np.floor(src).astype(np.int64), n - 1)
        lam = np.clip(src - i0.astype(real), 0, 1)
        i1 = i0 + (i0 < n - 1)
        return np.stack([i0, i1], axis=1), np.stack([1 - lam, lam], axis=1).astype(dtype)

    if mode == "cubic":
        s = _linear_scale(n, out, align_corners, scale, real)
        of = o.astype(real)
        src = of * s if align_corners else (of + real(0.5)) * s - real(0.5)
        base = np.floor(src)
        t = (src - base).astype(real)
        taps = base.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
        return np.clip(taps, 0, n - 1), _cubic_weights(t).astype(dtype)

    raise ValueError(f"interpolation_taps: unknown mode {mode!r}")


def _antialias_filter(x, cubic, real):
    """The antialiasing kernels on distances ``x`` (in the stretched coordinate), in ``real``."""
    x = np.abs(x.astype(real))
    if not cubic:
        return np.where(x < 1, real(1) - x, real(0)).astype(real)
    a = real(-0.5)  # Pillow's (and torch's antialias) cubic; plain bicubic uses -0.75
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, real(0))).astype(real)


def antialias_taps(n: int, out: int, mode: str, align_corners: bool = False, scale: float | None = None,
                   dtype=np.float32):
    """``(idx, w)`` of an antialiased 1-d resize from ``n`` to ``out`` (``mode`` 'linear' or 'cubic').

    With ``s`` the scale (torch's ``area_pixel_compute_scale``), ``support = h * max(s, 1)``
    (``h`` = 1 for the triangle, 2 for the cubic) and ``c = s * (o + 0.5)``, output ``o`` reads
    the inputs ``i`` in ``[trunc(c - support + 0.5), trunc(c + support + 0.5))`` (clipped to the
    input) with weights ``k((i - c + 0.5) / max(s, 1))`` divided by their sum. The arithmetic
    follows torch's kernel (float32 where it keeps float32), so the windows agree with it.
    Rows have ``2 ceil(support) + 1`` taps; the unused ones carry weight 0.
    """
    real = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    cubic = mode == "cubic"
    s = _linear_scale(n, out, align_corners, scale, real)
    half_width = 2.0 if cubic else 1.0
    support = real(half_width * s) if s >= 1.0 else real(half_width)
    max_taps = int(math.ceil(support)) * 2 + 1
    invscale = real(1.0 / s) if s >= 1.0 else real(1.0)
    center = (float(s) * (np.arange(out) + 0.5)).astype(real)
    start = np.maximum(np.trunc(center.astype(np.float64) - support + 0.5).astype(np.int64), 0)
    stop = np.minimum(np.trunc(center.astype(np.float64) + support + 0.5).astype(np.int64), n)
    count = np.clip(stop - start, 0, max_taps)
    taps = start[:, None] + np.arange(max_taps)[None, :]
    distance = ((taps.astype(real) - center[:, None]).astype(np.float64) + 0.5) * float(invscale)
    w = _antialias_filter(distance, cubic, real)
    w[np.arange(max_taps)[None, :] >= count[:, None]] = 0
    total = w.sum(axis=1, keepdims=True, dtype=real)
    np.divide(w, total, out=w, where=total != 0)
    return np.clip(taps, 0, n - 1), w.astype(dtype)


# -- interpolation: applying the taps ----------------------------------------------------------

@njit(cache=True, nogil=True)
def _gather_rows(first, last, x3, idx, w, y):
    """y[r, o, s] = sum_t w[o, t] * x3[r, idx[o, t], s] for tasks ``ro = r*out + o`` in
    ``first..last`` (y zeroed by the caller); tasks write disjoint rows of y."""
    out, taps = idx.shape
    inner = x3.shape[2]
    for ro in range(first, last):
        r = ro // out
        o = ro % out
        for t in range(taps):
            i = idx[o, t]
            wt = w[o, t]
            for s in range(inner):
                y[r, o, s] += wt * x3[r, i, s]


@njit(cache=True, nogil=True)
def _scatter_rows(first, last, g3, idx, w, gx):
    """gx[r, idx[o, t], s] += w[o, t] * g3[r, o, s] for rows ``r`` in ``first..last`` (gx zeroed
    by the caller); one task per r, since outputs o of one row may share an input."""
    out, taps = idx.shape
    inner = g3.shape[2]
    for r in range(first, last):
        for o in range(out):
            for t in range(taps):
                i = idx[o, t]
                wt = w[o, t]
                for s in range(inner):
                    gx[r, i, s] += wt * g3[r, o, s]


def _three_way(shape, axis):
    rows = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return rows, shape[axis], inner


def resample_axis(x, axis, idx, w):
    """Apply the 1-d map ``(idx, w)`` along ``axis`` of ``x``."""
    if idx.shape[1] == 1 and np.all(w == 1):  # nearest: a plain gather, exact for any dtype
        return np.take(x, idx[:, 0], axis=axis)
    rows, n, inner = _three_way(x.shape, axis)
    y = np.zeros((rows, idx.shape[0], inner), dtype=x.dtype)
    run_tasks(_gather_rows, rows * idx.shape[0], y.size * idx.shape[1],
              np.ascontiguousarray(x).reshape(rows, n, inner), idx, w.astype(x.dtype), y)
    return y.reshape(x.shape[:axis] + (idx.shape[0],) + x.shape[axis + 1:])


def resample_axis_backward(grad_y, axis, idx, w, n):
    """Transpose of :func:`resample_axis`: gradient w.r.t. an input of length ``n`` along ``axis``."""
    rows, out, inner = _three_way(grad_y.shape, axis)
    gx = np.zeros((rows, n, inner), dtype=grad_y.dtype)
    run_tasks(_scatter_rows, rows, grad_y.size * idx.shape[1],
              np.ascontiguousarray(grad_y).reshape(rows, out, inner), idx, w.astype(grad_y.dtype), gx)
    return gx.reshape(grad_y.shape[:axis] + (n,) + grad_y.shape[axis + 1:])


def interpolate_forward(x, taps):
    """Resize the trailing ``len(taps)`` dims; ``taps[d] = (idx, w)`` for spatial dim ``d``.

    The last dim is resized first (PyTorch's kernels also combine along the width innermost).
    """
    first = x.ndim - len(taps)
    y = x
    for d in reversed(range(len(taps))):
        idx, w = taps[d]
        y = resample_axis(y, first + d, idx, w)
    return y


def interpolate_backward(grad_y, in_spatial, taps):
    """Gradient of :func:`interpolate_forward`: the transposed maps in the reverse order."""
    first = grad_y.ndim - len(taps)
    g = grad_y
    for d in range(len(taps)):
        idx, w = taps[d]
        g = resample_axis_backward(g, first + d, idx, w, in_spatial[d])
    return g


# -- pixel shuffle -----------------------------------------------------------------------------

def pixel_shuffle_forward(x, r: int):
    """``(*, C*r*r, H, W) -> (*, C, H*r, W*r)``."""
    *batch, crr, h, w = x.shape
    c = crr // (r * r)
    nb = len(batch)
    y = x.reshape(*batch, c, r, r, h, w)
    order = tuple(range(nb)) + tuple(nb + a for a in (0, 3, 1, 4, 2))  # c, h, i, w, j
    return np.ascontiguousarray(y.transpose(order)).reshape(*batch, c, h * r, w * r)


def pixel_unshuffle_forward(x, r: int):
    """``(*, C, H*r, W*r) -> (*, C*r*r, H, W)``, the inverse of :func:`pixel_shuffle_forward`."""
    *batch, c, hr, wr = x.shape
    h, w = hr // r, wr // r
    nb = len(batch)
    y = x.reshape(*batch, c, h, r, w, r)
    order = tuple(range(nb)) + tuple(nb + a for a in (0, 2, 4, 1, 3))  # c, i, j, h, w
    return np.ascontiguousarray(y.transpose(order)).reshape(*batch, c * r * r, h, w)
