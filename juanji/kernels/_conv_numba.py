"""Numba loops behind the NumPy convolution: im2col, col2im and direct depthwise loops.

All loops see the 3-d ("lifted", see ``_conv_geometry``) form: arrays are ``(N, C, D, H, W)``
channels-first, as the user holds them. The matrix products are done by BLAS (NumPy's
``matmul``) in ``conv.py``; these loops only move data so that one large product can do the
arithmetic.

Why channels-first columns ``cols[(c, kz, ky, kx), (b, oz, oy, ox)]``: a run of ``ox`` is a
run of ``x`` along its last axis (contiguous at stride 1), so im2col and col2im are
vectorised copies and adds with no transposition anywhere; ``w (O, C*K) @ cols`` then gives
the output already in ``(O, positions)`` order, which is the ``(N, O, ...)`` layout of one
sample. (A channels-last layout feeds BLAS a slightly better shape but needs layout
transposes that cost more than they save: measured.)
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["im2col", "col2im", "depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]


@njit(cache=True)
def _valid_outputs(offset, s, lo, n, out_n):
    """Output positions ``[o0, o1)`` whose input index ``o*s + offset - lo`` lies in ``[0, n)``."""
    first = lo - offset  # need o*s >= first
    o0 = 0 if first <= 0 else (first + s - 1) // s
    last = n - 1 + lo - offset  # need o*s <= last
    if last < 0:
        return 0, 0
    o1 = min(out_n, last // s + 1)
    if o1 < o0:
        o1 = o0
    return o0, o1


@njit(cache=True, parallel=True)
def im2col(x, n0, cols, out_d, out_h, out_w, k_d, k_h, k_w, s_d, s_h, s_w, d_d, d_h, d_w,
           lo_d, lo_h, lo_w):
    """Gather the windows of samples ``n0 ..`` of ``x`` into ``cols (C*K, nb*L)``.

    ``cols[(c*Kd + kz)*Kh*Kw + ky*Kw + kx, b*L + (oz*oH + oy)*oW + ox]
    = x[n0+b, c, oz*s_d + kz*d_d - lo_d, oy*s_h + ky*d_h - lo_h, ox*s_w + kx*d_w - lo_w]``,
    zero where that index falls in the padding. One (channel, sample) pair per task, so a
    task reads one input plane (which stays in cache) and writes K row segments.
    """
    channels, depth, height, width = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    taps = k_d * k_h * k_w
    length = out_d * out_h * out_w
    nb = cols.shape[1] // length
    for task in prange(channels * nb):
        c = task // nb
        b = task % nb
        volume = x[n0 + b, c]
        for kz in range(k_d):
            for ky in range(k_h):
                for kx in range(k_w):
                    row = c * taps + (kz * k_h + ky) * k_w + kx
                    x0, x1 = _valid_outputs(kx * d_w, s_w, lo_w, width, out_w)
                    start = kx * d_w - lo_w  # input index of output position 0 for this tap
                    for oz in range(out_d):
                        iz = oz * s_d + kz * d_d - lo_d
                        for oy in range(out_h):
                            iy = oy * s_h + ky * d_h - lo_h
                            col = b * length + (oz * out_h + oy) * out_w
                            target = cols[row, col:col + out_w]
                            if iz < 0 or iz >= depth or iy < 0 or iy >= height or x1 == x0:
                                target[:] = 0.0
                                continue
                            target[:x0] = 0.0
                            target[x1:] = 0.0
                            line = volume[iz, iy]
                            # a plain slice at stride 1 compiles to a vectorised copy; a slice
                            # with a run-time step would not, so that case gets its own branch
                            if s_w == 1:
                                target[x0:x1] = line[x0 + start:x1 + start]
                            else:
                                target[x0:x1] = line[x0 * s_w + start:(x1 - 1) * s_w + start + 1:s_w]


@njit(cache=True, parallel=True)
def col2im(gcols, gx, n0, out_d, out_h, out_w, k_d, k_h, k_w, s_d, s_h, s_w, d_d, d_h, d_w,
           lo_d, lo_h, lo_w):
    """The adjoint of :func:`im2col`: add every column entry back where it was read from.

    ``gx[n0+b, c]`` is the sum over taps and output positions of ``gcols[(c, tap), (b, pos)]``
    at input index ``pos*s + tap*d - lo`` (padding positions dropped). One ``(b, c)`` plane
    per task: tasks write disjoint planes, so the additions need no locks.
    """
    channels = gx.shape[1]
    depth, height, width = gx.shape[2], gx.shape[3], gx.shape[4]
    taps = k_d * k_h * k_w
    length = out_d * out_h * out_w
    nb = gcols.shape[1] // length
    for task in prange(nb * channels):
        b = task // channels
        c = task % channels
        plane = gx[n0 + b, c]
        plane[:] = 0.0
        for kz in range(k_d):
            for ky in range(k_h):
                for kx in range(k_w):
                    row = c * taps + (kz * k_h + ky) * k_w + kx
                    x0, x1 = _valid_outputs(kx * d_w, s_w, lo_w, width, out_w)
                    if x1 == x0:
                        continue
                    start = kx * d_w - lo_w
                    for oz in range(out_d):
                        iz = oz * s_d + kz * d_d - lo_d
                        if iz < 0 or iz >= depth:
                            continue
                        for oy in range(out_h):
                            iy = oy * s_h + ky * d_h - lo_h
                            if iy < 0 or iy >= height:
                                continue
                            col = b * length + (oz * out_h + oy) * out_w
                            line = plane[iz, iy]
                            values = gcols[row, col + x0:col + x1]
                            if s_w == 1:  # contiguous: a loop Numba vectorises
                                target = line[x0 + start:x1 + start]
                                for i in range(x1 - x0):
                                    target[i] += values[i]
                            else:
                                for i in range(x1 - x0):
                                    line[(x0 + i) * s_w + start] += values[i]


@njit(cache=True)
def _valid_taps(o, s, d, lo, k, n):
    """Range [k0, k1) of kernel taps whose input index o*s + kk*d - lo lies in [0, n)."""
    start = o * s - lo
    k0 = 0
    if start < 0:
        k0 = (-start + d - 1) // d
    k1 = k
    last = n - 1 - start  # need kk*d <= last
    if last < 0:
        return 0, 0
    k1 = min(k, last // d + 1)
    if k1 < k0:
        k1 = k0
    return k0, k1


@njit(cache=True, parallel=True)
def depthwise_forward(x, w, y, s_d, s_h, s_w, d_d, d_h, d_w, lo_d, lo_h, lo_w, bias, use_bias):
    """``y[b, o, oz, oy, ox] = sum_k w[o, 0, k] * x[b, o // m, oz*s + k*d - lo]`` (+ bias)."""
    nb, channels, depth, height, width = x.shape
    out_channels = w.shape[0]
    mult = out_channels // channels
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = y.shape[2], y.shape[3], y.shape[4]
    for task in prange(nb * out_channels):
        b = task // out_channels
        o = task % out_channels
        c = o // mult
        add = bias[o] if use_bias else 0.0
        for oz in range(out_d):
            z0, z1 = _valid_taps(oz, s_d, d_d, lo_d, k_d, depth)
            for oy in range(out_h):
                y0, y1 = _valid_taps(oy, s_h, d_h, lo_h, k_h, height)
                for ox in range(out_w):
                    x0, x1 = _valid_taps(ox, s_w, d_w, lo_w, k_w, width)
                    acc = 0.0
                    for kz in range(z0, z1):
                        iz = oz * s_d + kz * d_d - lo_d
                        for ky in range(y0, y1):
                            iy = oy * s_h + ky * d_h - lo_h
                            for kx in range(x0, x1):
                                acc += w[o, 0, kz, ky, kx] * x[b, c, iz, iy, ox * s_w + kx * d_w - lo_w]
                    y[b, o, oz, oy, ox] = acc + add


@njit(cache=True, parallel=True)
def depthwise_backward_input(gy, w, gx, s_d, s_h, s_w, d_d, d_h, d_w, lo_d, lo_h, lo_w):
    """``gx[b, c, i] = sum over o in c's outputs, taps (k, o_pos) of w[o, 0, k] * gy[b, o, o_pos]``.

    One (sample, input channel) plane per task, so no two tasks write the same place.
    """
    nb, channels, depth, height, width = gx.shape
    out_channels = w.shape[0]
    mult = out_channels // channels
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    for task in prange(nb * channels):
        b = task // channels
        c = task % channels
        gx[b, c] = 0.0
        for m in range(mult):
            o = c * mult + m
            for oz in range(out_d):
                z0, z1 = _valid_taps(oz, s_d, d_d, lo_d, k_d, depth)
                for oy in range(out_h):
                    y0, y1 = _valid_taps(oy, s_h, d_h, lo_h, k_h, height)
                    for ox in range(out_w):
                        x0, x1 = _valid_taps(ox, s_w, d_w, lo_w, k_w, width)
                        g = gy[b, o, oz, oy, ox]
                        for kz in range(z0, z1):
                            iz = oz * s_d + kz * d_d - lo_d
                            for ky in range(y0, y1):
                                iy = oy * s_h + ky * d_h - lo_h
                                for kx in range(x0, x1):
                                    gx[b, c, iz, iy, ox * s_w + kx * d_w - lo_w] += w[o, 0, kz, ky, kx] * g


@njit(cache=True, parallel=True)
def depthwise_backward_weight(gy, x, gw, s_d, s_h, s_w, d_d, d_h, d_w, lo_d, lo_h, lo_w):
    """``gw[o, 0, k] = sum_b sum_pos gy[b, o, pos] * x[b, o // m, pos*s + k*d - lo]``.

    One output channel per task: each task owns its slice of ``gw``.
    """
    nb, channels, depth, height, width = x.shape
    out_channels = gw.shape[0]
    mult = out_channels // channels
    k_d, k_h, k_w = gw.shape[2], gw.shape[3], gw.shape[4]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    for o in prange(out_channels):
        c = o // mult
        acc = np.zeros((k_d, k_h, k_w), np.float64)
        for b in range(nb):
            for oz in range(out_d):
                z0, z1 = _valid_taps(oz, s_d, d_d, lo_d, k_d, depth)
                for oy in range(out_h):
                    y0, y1 = _valid_taps(oy, s_h, d_h, lo_h, k_h, height)
                    for ox in range(out_w):
                        x0, x1 = _valid_taps(ox, s_w, d_w, lo_w, k_w, width)
                        g = gy[b, o, oz, oy, ox]
                        for kz in range(z0, z1):
                            iz = oz * s_d + kz * d_d - lo_d
                            for ky in range(y0, y1):
                                iy = oy * s_h + ky * d_h - lo_h
                                for kx in range(x0, x1):
                                    acc[kz, ky, kx] += g * x[b, c, iz, iy, ox * s_w + kx * d_w - lo_w]
        for kz in range(k_d):
            for ky in range(k_h):
                for kx in range(k_w):
                    gw[o, 0, kz, ky, kx] = acc[kz, ky, kx]
