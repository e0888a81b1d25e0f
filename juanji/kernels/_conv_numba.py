"""Numba loops behind the NumPy convolution: layout changes, im2col and col2im.

All loops see the 3-d ("lifted", see ``_conv_geometry``) form: arrays are
``(N, C, D, H, W)`` channels-first as the user holds them, or ``(N, D, H, W, C)``
channels-last inside the kernels. The matrix products themselves are done by BLAS
(NumPy's ``matmul``) in ``conv.py``; these loops only move data so that one large
product can do the arithmetic.

Why channels-last inside: an im2col row (one output position) is then a run of
``kernel_volume`` contiguous copies of ``C`` channels, and the product
``cols (rows, K*C) @ weight.T (K*C, O)`` has the long dimension first, which OpenBLAS
runs faster than the channels-first ``weight @ cols`` orientation (measured: ~20%).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["pad_to_channels_last", "im2col", "col2im_to_channels_first", "rows_to_channels_first",
           "channels_first_to_rows", "depthwise_forward", "depthwise_backward_input",
           "depthwise_backward_weight"]

_TILE = 32  # transpose tile: 32 x 32 floats stay in L1 while they are turned around


@njit(cache=True, parallel=True)
def pad_to_channels_last(x, n0, dst, lo_d, lo_h, lo_w):
    """``dst[b, lo_d+z, lo_h+y, lo_w+x, c] = x[n0+b, c, z, y, x]`` for ``b < dst.shape[0]``.

    ``dst`` is the zero-padded channels-last copy of a chunk of the batch; its border is
    never written, so a buffer zeroed once can be reused for every chunk.
    """
    nb = dst.shape[0]
    channels, depth, height, width = x.shape[1], x.shape[2], x.shape[3], x.shape[4]
    for task in prange(nb * depth * height):
        b = task // (depth * height)
        z = (task // height) % depth
        y = task % height
        for c in range(channels):
            for i in range(width):
                dst[b, lo_d + z, lo_h + y, lo_w + i, c] = x[n0 + b, c, z, y, i]


@njit(cache=True, parallel=True)
def im2col(xp, cols, out_d, out_h, out_w, k_d, k_h, k_w, s_d, s_h, s_w, d_d, d_h, d_w, groups):
    """Gather every window of the padded channels-last ``xp`` into one row of ``cols``.

    Row ``r = ((b*out_d + oz)*out_h + oy)*out_w + ox`` holds, group by group, the window
    in the order (kz, ky, kx, c): ``cols[r, ((g*Kd + kz)*Kh + ky)*Kw + kx)*Cg + c]
    = xp[b, oz*s_d + kz*d_d, oy*s_h + ky*d_h, ox*s_w + kx*d_w, g*Cg + c]``.
    """
    nb = xp.shape[0]
    cg = xp.shape[4] // groups
    for task in prange(nb * out_d * out_h):
        b = task // (out_d * out_h)
        oz = (task // out_h) % out_d
        oy = task % out_h
        row = task * out_w
        for ox in range(out_w):
            col = 0
            for g in range(groups):
                c0 = g * cg
                for kz in range(k_d):
                    iz = oz * s_d + kz * d_d
                    for ky in range(k_h):
                        iy = oy * s_h + ky * d_h
                        for kx in range(k_w):
                            ix = ox * s_w + kx * d_w
                            for c in range(cg):
                                cols[row, col + c] = xp[b, iz, iy, ix, c0 + c]
                            col += cg
            row += 1


@njit(cache=True)
def _taps(i, lo, k, s, d, out_n, taps_k, taps_o):
    """Kernel taps reaching input index ``i``: all ``(kk, o)`` with ``o*s + kk*d == i + lo``.

    Fills ``taps_k``/``taps_o`` and returns how many there are.
    """
    count = 0
    p = i + lo
    for kk in range(k):
        t = p - kk * d
        if t < 0:
            break  # t only decreases as kk grows
        if t % s == 0:
            o = t // s
            if o < out_n:
                taps_k[count] = kk
                taps_o[count] = o
                count += 1
    return count


@njit(cache=True, parallel=True)
def col2im_to_channels_first(gcols, gx, n0, out_d, out_h, out_w, k_d, k_h, k_w, s_d, s_h, s_w,
                             d_d, d_h, d_w, lo_d, lo_h, lo_w, groups):
    """The adjoint of :func:`im2col` (scatter-add), written as a gather so it needs no locks.

    Each input position sums the column entries of every window that covered it:
    ``gx[n0+b, c, z, y, x] = sum over taps (kz, oz), (ky, oy), (kx, ox) of
    gcols[row(b, oz, oy, ox), col(g, kz, ky, kx, c)]``, with padding positions dropped.
    One row ``(b, z, y)`` per task: tasks write disjoint outputs, so they run in parallel.
    The row is summed channels-last in a small buffer, then written channels-first.
    """
    nb = gcols.shape[0] // (out_d * out_h * out_w)
    channels, depth, height, width = gx.shape[1], gx.shape[2], gx.shape[3], gx.shape[4]
    cg = channels // groups
    for task in prange(nb * depth * height):
        b = task // (depth * height)
        z = (task // height) % depth
        y = task % height
        tz_k = np.empty(k_d, np.int64)
        tz_o = np.empty(k_d, np.int64)
        ty_k = np.empty(k_h, np.int64)
        ty_o = np.empty(k_h, np.int64)
        tx_k = np.empty(k_w, np.int64)
        tx_o = np.empty(k_w, np.int64)
        acc = np.zeros((width, channels), gcols.dtype)
        nz = _taps(z, lo_d, k_d, s_d, d_d, out_d, tz_k, tz_o)
        ny = _taps(y, lo_h, k_h, s_h, d_h, out_h, ty_k, ty_o)
        for i in range(width):
            nx = _taps(i, lo_w, k_w, s_w, d_w, out_w, tx_k, tx_o)
            for a in range(nz):
                for bb in range(ny):
                    row_zy = (b * out_d + tz_o[a]) * out_h + ty_o[bb]
                    k_zy = tz_k[a] * k_h + ty_k[bb]
                    for cc in range(nx):
                        row = row_zy * out_w + tx_o[cc]
                        k_zyx = k_zy * k_w + tx_k[cc]
                        for g in range(groups):
                            col = (g * k_d * k_h * k_w + k_zyx) * cg
                            for c in range(cg):
                                acc[i, g * cg + c] += gcols[row, col + c]
        for c in range(channels):
            for i in range(width):
                gx[n0 + b, c, z, y, i] = acc[i, c]


@njit(cache=True, parallel=True)
def rows_to_channels_first(rows, dst, n0, bias, use_bias):
    """``dst[n0+b, o, l] = rows[b*L + l, o] (+ bias[o])``: a GEMM result back to (N, O, L).

    Tiled so that reads and writes both stay in cache lines already loaded.
    """
    channels = rows.shape[1]
    length = dst.shape[2]
    nb = rows.shape[0] // length
    l_tiles = (length + _TILE - 1) // _TILE
    for task in prange(nb * l_tiles):
        b = task // l_tiles
        l0 = (task % l_tiles) * _TILE
        l1 = min(l0 + _TILE, length)
        for o in range(channels):
            add = bias[o] if use_bias else 0.0
            for i in range(l0, l1):
                dst[n0 + b, o, i] = rows[b * length + i, o] + add


@njit(cache=True, parallel=True)
def channels_first_to_rows(src, n0, rows):
    """``rows[b*L + l, c] = src[n0+b, c, l]``: a (N, C, L) chunk as a (rows, C) matrix."""
    channels = src.shape[1]
    length = src.shape[2]
    nb = rows.shape[0] // length
    l_tiles = (length + _TILE - 1) // _TILE
    for task in prange(nb * l_tiles):
        b = task // l_tiles
        l0 = (task % l_tiles) * _TILE
        l1 = min(l0 + _TILE, length)
        for i in range(l0, l1):
            for c in range(channels):
                rows[b * length + i, c] = src[n0 + b, c, i]


# ---------------------------------------------------------------------------------------
# Depthwise convolution (groups == in_channels): each output channel reads one input
# channel, so im2col + GEMM would be thousands of 1-row products. Direct loops win here.
# Output channel o reads input channel o // multiplier.
# ---------------------------------------------------------------------------------------

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
