"""Reading a convolution's geometry inside the Numba loops: the one layout of ``ConvGeometry.dims``.

    dims = (out_d, out_h, out_w, k_d, k_h, k_w, s_d, s_h, s_w, d_d, d_h, d_w,
            lo_d, lo_h, lo_w, hi_d, hi_h, hi_w)                     (int64, lifted to 3-d)

Each accessor returns one (depth, height, width) triple; they are inlined, so reading the
geometry costs nothing in the loops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["out_size", "kernel", "stride", "dilation", "pad_lo", "pad_hi", "tap_offsets"]


@njit(cache=True, inline="always")
def out_size(dims):
    return dims[0], dims[1], dims[2]


@njit(cache=True, inline="always")
def kernel(dims):
    return dims[3], dims[4], dims[5]


@njit(cache=True, inline="always")
def stride(dims):
    return dims[6], dims[7], dims[8]


@njit(cache=True, inline="always")
def dilation(dims):
    return dims[9], dims[10], dims[11]


@njit(cache=True, inline="always")
def pad_lo(dims):
    return dims[12], dims[13], dims[14]


@njit(cache=True, inline="always")
def pad_hi(dims):
    return dims[15], dims[16], dims[17]


@njit(cache=True)
def tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, stride_z, stride_y):
    """The flat offset of each kernel tap ``(kz, ky, kx)`` (scan order) on a grid whose planes and
    rows are ``stride_z`` and ``stride_y`` values long, with dilations ``d``."""
    offsets = np.empty(k_d * k_h * k_w, np.int64)
    t = 0
    for kz in range(k_d):
        for ky in range(k_h):
            for kx in range(k_w):
                offsets[t] = kz * d_d * stride_z + ky * d_h * stride_y + kx * d_w
                t += 1
    return offsets
