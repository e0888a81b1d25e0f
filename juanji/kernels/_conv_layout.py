"""The data layout of the direct convolution loops (``_conv_direct``): copies in and out.

A chunk of samples is zero-padded into planes ``(Hp, Wp)`` laid end to end per channel,
``xp[c, b*plane + y*Wp + x]`` (``_conv_direct``'s docstring says why); outputs and output
gradients live on the same positions, ``z[o, b*plane + oy*Wp + ox]``. These loops move a chunk
between that layout and the user's ``(N, C, H, W)`` arrays. They are plain Numba loops shared by
the 256-bit loops (``_conv_taps``) and the 512-bit ones (``_conv_simd``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from . import _simd
from ._simd import vtranspose16

__all__ = ["pad_chunk", "fill", "copy_out", "spread", "transpose_into", "transpose"]


# (The copies index flat views with unsigned integers: Numba then emits no negative-index test
# per element and LLVM turns each row into vector moves; see ``_im2col``.)

@njit(cache=True, nogil=True)
def pad_chunk(x, n0, count, xp, lo_h, lo_w, wp, plane):
    """Copy samples ``n0 .. n0+count`` of ``x (N, C, H, W)`` into the interiors of their planes in
    ``xp`` (the borders are zero from the start and are never written)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    flat_x = x.reshape(-1)
    for c in range(channels):
        row = xp[c]
        for b in range(count):
            base = b * plane + lo_h * wp + lo_w
            src = ((n0 + b) * channels + c) * height * width
            for iy in range(height):
                dst = base + iy * wp
                first = src + iy * width
                for ix in range(width):
                    row[uint64(dst + ix)] = flat_x[uint64(first + ix)]
    return 0


@njit(cache=True, nogil=True)
def fill(z, bias, length):
    """``z[o, :length] = bias[o]``."""
    for o in range(z.shape[0]):
        value = bias[o]
        row = z[o]
        for p in range(length):
            row[uint64(p)] = value
    return 0


@njit(cache=True, nogil=True)
def copy_out(z, y, n0, count, wp, plane):
    """``y[n0+b, o, oy, ox] = z[o, b*plane + oy*wp + ox]`` for the real output channels."""
    out_c, out_h, out_w = y.shape[1], y.shape[2], y.shape[3]
    flat_y = y.reshape(-1)
    for b in range(count):
        for o in range(out_c):
            row = z[o]
            dst = ((n0 + b) * out_c + o) * out_h * out_w
            for oy in range(out_h):
                base = b * plane + oy * wp
                first = dst + oy * out_w
                for ox in range(out_w):
                    flat_y[uint64(first + ox)] = row[uint64(base + ox)]
    return 0


@njit(cache=True, nogil=True)
def spread(gy, n0, count, gz, wp, plane):
    """``gz[o, b*plane + oy*wp + ox] = gy[n0+b, o, oy, ox]``; every other position of ``gz`` stays
    zero (it is zero from the start and is never written)."""
    out_c, out_h, out_w = gy.shape[1], gy.shape[2], gy.shape[3]
    flat_gy = gy.reshape(-1)
    for o in range(out_c):
        row = gz[o]
        for b in range(count):
            src = ((n0 + b) * out_c + o) * out_h * out_w
            for oy in range(out_h):
                base = b * plane + oy * wp
                first = src + oy * out_w
                for ox in range(out_w):
                    row[uint64(base + ox)] = flat_gy[uint64(first + ox)]
    return 0


@njit(cache=True, nogil=True)
def transpose_into(src, dst):
    """``dst[j, i] = src[i, j]`` for ``src (M, N)``, into the first ``M`` columns of a C-contiguous
    ``dst (N, >= M)``, in 16 x 16 blocks (both sides stay in cache)."""
    m, n = src.shape
    for i0 in range(0, m, 16):
        i1 = min(i0 + 16, m)
        for j0 in range(0, n, 16):
            j1 = min(j0 + 16, n)
            for j in range(j0, j1):
                row = dst[j]
                for i in range(i0, i1):
                    row[uint64(i)] = src[i, j]
    return 0


@njit(cache=True, nogil=True)
def transpose_into16(src, dst):
    """:func:`transpose_into` for C-contiguous float32 arrays on 512-bit vectors: whole 16 x 16 blocks
    transposed in registers (``_simd.vtranspose16``), the edges one by one."""
    m, n = src.shape
    width = dst.shape[1]
    flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
    m16, n16 = m - m % 16, n - n % 16
    for i0 in range(0, m16, 16):
        for j0 in range(0, n16, 16):
            vtranspose16(flat_src, i0 * n + j0, n, flat_dst, j0 * width + i0, width)
    for i in range(m16):
        for j in range(n16, n):
            flat_dst[uint64(j * width + i)] = flat_src[uint64(i * n + j)]
    for i in range(m16, m):
        for j in range(n):
            flat_dst[uint64(j * width + i)] = flat_src[uint64(i * n + j)]
    return 0


def transpose(src, dst) -> None:
    """``dst[j, i] = src[i, j]`` into the first ``M`` columns of ``dst (N, >= M)``: on 512-bit vectors
    where both are C-contiguous float32 (blocks of 16 x 16 in registers: a (1152, 512) weight gradient
    ~3x faster than one value at a time), else by :func:`transpose_into`; the same values either way."""
    if (_simd.takes_halves(src.dtype) and dst.dtype == np.float32 and src.flags.c_contiguous
            and dst.flags.c_contiguous):
        transpose_into16(src, dst)
    else:
        transpose_into(src, dst)
