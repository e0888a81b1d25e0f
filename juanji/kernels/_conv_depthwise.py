"""Depthwise convolution (groups == in_channels) as direct Numba loops.

Each output channel ``o`` reads one input channel ``c = o // m`` (``m`` output channels per
input channel), so im2col + GEMM would be thousands of one-row matrix products. Direct loops
win here; they are written so that the innermost loop is a long contiguous multiply-add,
which Numba/LLVM turns into SIMD code.

Stride 1 (the common case): the input plane is copied once into a zero-padded buffer and
flattened. Output position ``(oz, oy, ox)`` is then put at flat index
``j = oz*Hp*Wp + oy*Wp + ox`` of the same padded grid, and kernel tap ``(kz, ky, kx)`` reads
``xpad_flat[j + off]`` with ``off = kz*d_d*Hp*Wp + ky*d_h*Wp + kx*d_w``. So one tap is one
contiguous loop over all of ``j`` (about a whole plane long):

    y_ext[j] += w[o, tap] * xpad_flat[j + off]        for every tap

and the positions of ``j`` with ``ox >= oW`` or ``oy >= oH`` are computed and thrown away
(a few percent more arithmetic for loops many times faster than row-by-row ones).
The gradients are the same loops transposed (input) and turned into dot products (weight).

Other strides fall back to row-by-row loops over the unpadded input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _depthwise_simd, _dims
from ._im2col import _valid_outputs
from ._threads import run_tasks

__all__ = ["depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]


# -- stride 1: flat padded planes ---------------------------------------------------------------

@njit(cache=True)
def _pad_plane(volume, xpad, lo_d, lo_h, lo_w):
    """Copy ``volume (D, H, W)`` into the interior of the zeroed padded grid ``xpad``."""
    depth, height, width = volume.shape
    for z in range(depth):
        for y in range(height):
            xpad[lo_d + z, lo_h + y, lo_w:lo_w + width] = volume[z, y]


@njit(cache=True)
def _forward_stride1_task(task, x, w, y, dims, bias, use_bias):
    """One (sample, input channel) pair: all ``m`` output channels that read it."""
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    hi_d, hi_h, hi_w = _dims.pad_hi(dims)
    channels, depth, height, width = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    mult = w.shape[0] // channels
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = y.shape[2], y.shape[3], y.shape[4]
    pd, ph, pw = depth + lo_d + hi_d, height + lo_h + hi_h, width + lo_w + hi_w
    offsets = _dims.tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, ph * pw, pw)
    n_ext = (out_d - 1) * ph * pw + (out_h - 1) * pw + out_w
    b = task // channels
    c = task % channels
    xpad = np.zeros((pd, ph, pw), x.dtype)
    _pad_plane(x[b, c], xpad, lo_d, lo_h, lo_w)
    flat = xpad.reshape(-1)
    acc = np.empty(n_ext, x.dtype)
    for m in range(mult):
        o = c * mult + m
        acc[:] = bias[o] if use_bias else 0.0
        taps = w[o, 0].reshape(-1)
        for t in range(offsets.shape[0]):
            weight = taps[t]
            window = flat[offsets[t]:offsets[t] + n_ext]
            for j in range(n_ext):
                acc[j] += weight * window[j]
        for oz in range(out_d):
            for oy in range(out_h):
                j0 = oz * ph * pw + oy * pw
                y[b, o, oz, oy, :] = acc[j0:j0 + out_w]


@njit(cache=True)
def _spread_grad(gy_plane, ext, ph, pw):
    """Put ``gy_plane (oD, oH, oW)`` on the flat padded grid ``ext`` (zeros elsewhere)."""
    out_d, out_h, out_w = gy_plane.shape
    ext[:] = 0.0
    for oz in range(out_d):
        for oy in range(out_h):
            j0 = oz * ph * pw + oy * pw
            ext[j0:j0 + out_w] = gy_plane[oz, oy]


@njit(cache=True)
def _backward_input_stride1_task(task, gy, w, gx, dims):
    """One (sample, input channel) plane of the input gradient."""
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    hi_d, hi_h, hi_w = _dims.pad_hi(dims)
    channels, depth, height, width = gx.shape[1], gx.shape[2], gx.shape[3], gx.shape[4]
    mult = w.shape[0] // channels
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    pd, ph, pw = depth + lo_d + hi_d, height + lo_h + hi_h, width + lo_w + hi_w
    offsets = _dims.tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, ph * pw, pw)
    n_ext = (out_d - 1) * ph * pw + (out_h - 1) * pw + out_w
    b = task // channels
    c = task % channels
    gpad = np.zeros((pd, ph, pw), gx.dtype)
    flat = gpad.reshape(-1)
    ext = np.empty(n_ext, gx.dtype)
    for m in range(mult):
        o = c * mult + m
        _spread_grad(gy[b, o], ext, ph, pw)
        taps = w[o, 0].reshape(-1)
        for t in range(offsets.shape[0]):
            weight = taps[t]
            window = flat[offsets[t]:offsets[t] + n_ext]
            for j in range(n_ext):
                window[j] += weight * ext[j]
    for z in range(depth):
        for yy in range(height):
            gx[b, c, z, yy, :] = gpad[lo_d + z, lo_h + yy, lo_w:lo_w + width]


@njit(cache=True, fastmath={"reassoc"})
def _dot(a, b):
    """``sum(a * b)``; reassociation lets LLVM vectorise the sum (order differs, not NaN rules)."""
    total = 0.0
    for j in range(a.shape[0]):
        total += a[j] * b[j]
    return total


@njit(cache=True)
def _backward_weight_stride1_task(o, gy, x, gw, dims):
    """The kernel gradient of output channel ``o`` (all its taps)."""
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    hi_d, hi_h, hi_w = _dims.pad_hi(dims)
    nb, channels, depth, height, width = x.shape
    mult = gw.shape[0] // channels
    k_d, k_h, k_w = gw.shape[2], gw.shape[3], gw.shape[4]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    pd, ph, pw = depth + lo_d + hi_d, height + lo_h + hi_h, width + lo_w + hi_w
    offsets = _dims.tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, ph * pw, pw)
    n_ext = (out_d - 1) * ph * pw + (out_h - 1) * pw + out_w
    c = o // mult
    xpad = np.zeros((pd, ph, pw), x.dtype)
    flat = xpad.reshape(-1)
    ext = np.empty(n_ext, x.dtype)
    sums = np.zeros(offsets.shape[0], np.float64)
    for b in range(nb):
        _pad_plane(x[b, c], xpad, lo_d, lo_h, lo_w)
        _spread_grad(gy[b, o], ext, ph, pw)
        for t in range(offsets.shape[0]):
            sums[t] += _dot(ext, flat[offsets[t]:offsets[t] + n_ext])
    taps = gw[o, 0].reshape(-1)
    for t in range(offsets.shape[0]):
        taps[t] = sums[t]


# -- any stride: row by row --------------------------------------------------------------------

@njit(cache=True)
def _axpy_row(alpha, source, target, x0, x1, s, start):
    """``target[o] += alpha * source[o*s + start]`` for ``o`` in ``[x0, x1)``."""
    for o in range(x0, x1):
        target[o] += alpha * source[o * s + start]


@njit(cache=True)
def _forward_rows_task(task, x, w, y, dims, bias, use_bias):
    """One (sample, output channel) plane of the output, row by row."""
    s_d, s_h, s_w = _dims.stride(dims)
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    channels, depth, height, width = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    out_channels = w.shape[0]
    mult = out_channels // channels
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = y.shape[2], y.shape[3], y.shape[4]
    b = task // out_channels
    o = task % out_channels
    c = o // mult
    out = y[b, o]
    out[:] = bias[o] if use_bias else 0.0
    for kz in range(k_d):
        for ky in range(k_h):
            for kx in range(k_w):
                weight = w[o, 0, kz, ky, kx]
                x0, x1 = _valid_outputs(kx * d_w, s_w, lo_w, width, out_w)
                start = kx * d_w - lo_w
                for oz in range(out_d):
                    iz = oz * s_d + kz * d_d - lo_d
                    if iz < 0 or iz >= depth:
                        continue
                    for oy in range(out_h):
                        iy = oy * s_h + ky * d_h - lo_h
                        if 0 <= iy < height:
                            _axpy_row(weight, x[b, c, iz, iy], out[oz, oy], x0, x1, s_w, start)


@njit(cache=True)
def _backward_input_rows_task(task, gy, w, gx, dims):
    """One (sample, input channel) plane of the input gradient, row by row."""
    s_d, s_h, s_w = _dims.stride(dims)
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    channels, depth, height, width = gx.shape[1], gx.shape[2], gx.shape[3], gx.shape[4]
    mult = w.shape[0] // channels
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    b = task // channels
    c = task % channels
    plane = gx[b, c]
    plane[:] = 0.0
    for m in range(mult):
        o = c * mult + m
        for kz in range(k_d):
            for ky in range(k_h):
                for kx in range(k_w):
                    weight = w[o, 0, kz, ky, kx]
                    x0, x1 = _valid_outputs(kx * d_w, s_w, lo_w, width, out_w)
                    start = kx * d_w - lo_w
                    for oz in range(out_d):
                        iz = oz * s_d + kz * d_d - lo_d
                        if iz < 0 or iz >= depth:
                            continue
                        for oy in range(out_h):
                            iy = oy * s_h + ky * d_h - lo_h
                            if 0 <= iy < height:
                                row, source = plane[iz, iy], gy[b, o, oz, oy]
                                for ox in range(x0, x1):
                                    row[ox * s_w + start] += weight * source[ox]


@njit(cache=True)
def _backward_weight_rows_task(task, gy, x, gw, dims):
    """One (output channel, tap) entry of the kernel gradient."""
    s_d, s_h, s_w = _dims.stride(dims)
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    nb, channels, depth, height, width = x.shape
    mult = gw.shape[0] // channels
    k_d, k_h, k_w = gw.shape[2], gw.shape[3], gw.shape[4]
    taps = k_d * k_h * k_w
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    o = task // taps
    kz = (task // (k_h * k_w)) % k_d
    ky = (task // k_w) % k_h
    kx = task % k_w
    c = o // mult
    x0, x1 = _valid_outputs(kx * d_w, s_w, lo_w, width, out_w)
    start = kx * d_w - lo_w
    total = 0.0
    for b in range(nb):
        for oz in range(out_d):
            iz = oz * s_d + kz * d_d - lo_d
            if iz < 0 or iz >= depth:
                continue
            for oy in range(out_h):
                iy = oy * s_h + ky * d_h - lo_h
                if 0 <= iy < height:
                    row, source = x[b, c, iz, iy], gy[b, o, oz, oy]
                    for ox in range(x0, x1):
                        total += source[ox] * row[ox * s_w + start]
    gw[o, 0, kz, ky, kx] = total


# -- drivers: a task range on the calling thread; _threads.run_tasks splits it over threads ------
# (One per task function, written out: Numba cannot cache a driver that takes the task
# function as an argument.)

@njit(cache=True, nogil=True)
def _forward_stride1_range(first, last, x, w, y, dims, bias, use_bias):
    for t in range(first, last):
        _forward_stride1_task(t, x, w, y, dims, bias, use_bias)


@njit(cache=True, nogil=True)
def _backward_input_stride1_range(first, last, gy, w, gx, dims):
    for t in range(first, last):
        _backward_input_stride1_task(t, gy, w, gx, dims)


@njit(cache=True, nogil=True)
def _backward_weight_stride1_range(first, last, gy, x, gw, dims):
    for t in range(first, last):
        _backward_weight_stride1_task(t, gy, x, gw, dims)


@njit(cache=True, nogil=True)
def _forward_rows_range(first, last, x, w, y, dims, bias, use_bias):
    for t in range(first, last):
        _forward_rows_task(t, x, w, y, dims, bias, use_bias)


@njit(cache=True, nogil=True)
def _backward_input_rows_range(first, last, gy, w, gx, dims):
    for t in range(first, last):
        _backward_input_rows_task(t, gy, w, gx, dims)


@njit(cache=True, nogil=True)
def _backward_weight_rows_range(first, last, gy, x, gw, dims):
    for t in range(first, last):
        _backward_weight_rows_task(t, gy, x, gw, dims)


# -- entry points (lifted 5-d arrays; dims = ConvGeometry.dims) --------------------------------

def _stride_one(dims) -> bool:
    return bool(dims[6] == 1 and dims[7] == 1 and dims[8] == 1)


def depthwise_forward(x, w, y, dims, bias, use_bias):
    """``y[b, o, pos] = sum_k w[o, 0, k] * x[b, o // m, pos*s + k*d - lo]`` (+ bias[o])."""
    work = y.size * w[0].size
    if _depthwise_simd.applies(x, w):  # 512-bit loops, one plane per task, any stride
        bias = np.ascontiguousarray(bias, np.float32) if use_bias else np.zeros(w.shape[0], np.float32)
        run_tasks(_depthwise_simd.forward_range, x.shape[0] * x.shape[1], work, np.ascontiguousarray(x),
                  np.ascontiguousarray(w), y, dims, bias)
    elif _stride_one(dims):  # one task per (sample, input channel)
        run_tasks(_forward_stride1_range, x.shape[0] * x.shape[1], work, x, w, y, dims, bias, use_bias)
    else:  # one task per (sample, output channel)
        run_tasks(_forward_rows_range, x.shape[0] * w.shape[0], work, x, w, y, dims, bias, use_bias)


def depthwise_backward_input(gy, w, gx, dims):
    """``gx[b, c, i] = sum over c's output channels o and taps k with pos*s + k*d - lo = i of
    w[o, 0, k] * gy[b, o, pos]``; one (sample, input channel) plane per task."""
    work, n_tasks = gy.size * w[0].size, gx.shape[0] * gx.shape[1]
    if _depthwise_simd.applies(gx, w):
        run_tasks(_depthwise_simd.backward_input_range, n_tasks, work, np.ascontiguousarray(gy),
                  np.ascontiguousarray(w), gx, dims)
        return
    driver = _backward_input_stride1_range if _stride_one(dims) else _backward_input_rows_range
    run_tasks(driver, n_tasks, work, gy, w, gx, dims)


def depthwise_backward_weight(gy, x, gw, dims):
    """``gw[o, 0, k] = sum_b sum_pos gy[b, o, pos] * x[b, o // m, pos*s + k*d - lo]``."""
    work = gy.size * gw[0].size
    if _depthwise_simd.applies(x, gw):  # one task per channel
        run_tasks(_depthwise_simd.backward_weight_range, gw.shape[0], work, np.ascontiguousarray(gy),
                  np.ascontiguousarray(x), gw, dims)
    elif _stride_one(dims):  # one task per output channel
        run_tasks(_backward_weight_stride1_range, gw.shape[0], work, gy, x, gw, dims)
    else:  # one task per (output channel, tap)
        run_tasks(_backward_weight_rows_range, gw.size, work, gy, x, gw, dims)
