"""Depthwise convolution at stride 1 on 512-bit vectors (float32 on an AVX-512 CPU, ``_simd``).

The layout is ``_conv_depthwise``'s: one (sample, channel) plane zero-padded into a flat grid
``xpad`` of ``Pd*Ph*Pw`` values, output position ``j`` put at flat index
``j = oz*Ph*Pw + oy*Pw + ox`` of the same grid, and tap ``t`` read at ``xpad[j + off[t]]``
(``off`` from ``_dims.tap_offsets``: dilation and 3-d included). What changes is the
inner loop: 64 consecutive positions are four vectors of accumulators that stay in registers
while every tap is added (one weight broadcast and four loads per tap), then stored once,
instead of one pass over a memory accumulator per tap. One multiplier only (one output channel
per input channel, MobileNet's case); other depthwise layers keep ``_conv_depthwise``.

- forward:          ``y[j] = bias + sum_t w[t] * xpad[j + off[t]]``;
- input gradient:   the same correlation of the output gradient, spread onto the grid and shifted
  by ``off[-1]``, with the taps reversed: ``gpad[i] = sum_t w[t] * ext[i - off[t]]``;
- weight gradient:  ``gw[t] = sum_b sum_j gy_b[j] * xpad_b[j + off[t]]``, one 16-lane sum per
  tap over every sample of the channel, added up at the end (a fixed order: the same bits on
  every run).

Each loop reads up to 63 positions past the last output; the grids carry that much zero slack.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _dims
from ._simd import AVAILABLE, vadd, vbcast, vfma, vload, vstore, vsum, vzero

__all__ = ["applies", "forward_range", "backward_input_range", "backward_weight_range"]

SLACK = 64


def applies(x, w) -> bool:
    """float32, one output channel per input channel, on an AVX-512 CPU (stride 1 is the caller's test)."""
    return AVAILABLE and x.dtype == np.float32 and w.dtype == np.float32 and w.shape[0] == x.shape[1]


@njit(cache=True, nogil=True)
def _correlate(source, offsets, w, first_tap, out, extent, bias, channel):
    """``out[j] = bias[channel] + sum_t w[first_tap + t] * source[j + offsets[t]]`` for ``j < extent``
    (rounded up to 64), four vectors of accumulators at a time."""
    taps = offsets.shape[0]
    for p0 in range(0, extent, 64):
        a0 = vbcast(bias, channel)
        a1, a2, a3 = a0, a0, a0
        for t in range(taps):
            weight = vbcast(w, first_tap + t)
            q = p0 + offsets[t]
            a0 = vfma(vload(source, q), weight, a0)
            a1 = vfma(vload(source, q + 16), weight, a1)
            a2 = vfma(vload(source, q + 32), weight, a2)
            a3 = vfma(vload(source, q + 48), weight, a3)
        vstore(out, p0, a0)
        vstore(out, p0 + 16, a1)
        vstore(out, p0 + 32, a2)
        vstore(out, p0 + 48, a3)


@njit(cache=True, nogil=True, inline="always")
def _grid(x_shape, dims):
    """``(pd, ph, pw)`` of the padded grid of an input of lifted shape ``x_shape``."""
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    hi_d, hi_h, hi_w = _dims.pad_hi(dims)
    return x_shape[2] + lo_d + hi_d, x_shape[3] + lo_h + hi_h, x_shape[4] + lo_w + hi_w


@njit(cache=True, nogil=True)
def _pad_into(plane, grid, lo_d, lo_h, lo_w, ph, pw):
    """Copy ``plane (D, H, W)`` into the interior of the flat grid (its border stays as it is: zero)."""
    depth, height, width = plane.shape
    for z in range(depth):
        for y in range(height):
            base = ((lo_d + z) * ph + lo_h + y) * pw + lo_w
            for x in range(width):
                grid[base + x] = plane[z, y, x]


@njit(cache=True, nogil=True)
def _spread_into(plane, ext, first, ph, pw):
    """``ext[first + oz*Ph*Pw + oy*Pw + ox] = plane[oz, oy, ox]`` (every other position untouched: zero)."""
    out_d, out_h, out_w = plane.shape
    for oz in range(out_d):
        for oy in range(out_h):
            base = first + (oz * ph + oy) * pw
            for ox in range(out_w):
                ext[base + ox] = plane[oz, oy, ox]


@njit(cache=True, nogil=True)
def forward_range(first, last, x, w, y, dims, bias):
    """Tasks ``first .. last`` (one (sample, channel) plane each) of the forward pass;
    ``bias`` (C,) float32 (zeros for none)."""
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    channels = x.shape[1]
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    out_d, out_h, out_w = y.shape[2], y.shape[3], y.shape[4]
    pd, ph, pw = _grid(x.shape, dims)
    offsets = _dims.tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, ph * pw, pw)
    extent = (out_d - 1) * ph * pw + (out_h - 1) * pw + out_w
    grid = np.zeros(pd * ph * pw + SLACK, np.float32)
    out = np.empty(extent + SLACK, np.float32)
    flat_w = w.reshape(-1)
    taps = offsets.shape[0]
    for task in range(first, last):
        b, c = task // channels, task % channels
        _pad_into(x[b, c], grid, lo_d, lo_h, lo_w, ph, pw)
        _correlate(grid, offsets, flat_w, c * taps, out, extent, bias, c)
        for oz in range(out_d):
            for oy in range(out_h):
                base = (oz * ph + oy) * pw
                for ox in range(out_w):
                    y[b, c, oz, oy, ox] = out[base + ox]


@njit(cache=True, nogil=True)
def backward_input_range(first, last, gy, w, gx, dims):
    """Tasks ``first .. last`` (one (sample, channel) plane each) of the input gradient."""
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    channels, depth, height, width = gx.shape[1], gx.shape[2], gx.shape[3], gx.shape[4]
    k_d, k_h, k_w = w.shape[2], w.shape[3], w.shape[4]
    pd, ph, pw = _grid(gx.shape, dims)
    offsets = _dims.tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, ph * pw, pw)
    taps = offsets.shape[0]
    shift = offsets[taps - 1]  # the largest offset
    reverse = np.empty(taps, np.int64)
    flat_w = np.empty(w.size, np.float32)  # each channel's taps reversed, to pair with ``reverse``
    weights = w.reshape(-1)
    for t in range(taps):
        reverse[t] = shift - offsets[taps - 1 - t]
    for c in range(channels):
        for t in range(taps):
            flat_w[c * taps + t] = weights[c * taps + taps - 1 - t]
    volume = pd * ph * pw
    ext = np.zeros(shift + volume + SLACK, np.float32)  # zeros before the spread gradient, and after
    grid = np.empty(volume + SLACK, np.float32)
    zero = np.zeros(1, np.float32)
    for task in range(first, last):
        b, c = task // channels, task % channels
        _spread_into(gy[b, c], ext, shift, ph, pw)
        # grid[i] = sum_t w[t] * ext[shift + i - off[t]] = sum_t' w[taps-1-t'] * ext[i + reverse[t']]
        _correlate(ext, reverse, flat_w, c * taps, grid, volume, zero, 0)
        for z in range(depth):
            for yy in range(height):
                base = ((lo_d + z) * ph + lo_h + yy) * pw + lo_w
                for xx in range(width):
                    gx[b, c, z, yy, xx] = grid[base + xx]


@njit(cache=True, nogil=True)
def backward_weight_range(first, last, gy, x, gw, dims):
    """Tasks ``first .. last`` (one channel each, over every sample) of the weight gradient."""
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    samples = x.shape[0]
    k_d, k_h, k_w = gw.shape[2], gw.shape[3], gw.shape[4]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    pd, ph, pw = _grid(x.shape, dims)
    offsets = _dims.tap_offsets(k_d, k_h, k_w, d_d, d_h, d_w, ph * pw, pw)
    taps = offsets.shape[0]
    extent = (out_d - 1) * ph * pw + (out_h - 1) * pw + out_w
    grid = np.zeros(pd * ph * pw + SLACK, np.float32)
    ext = np.zeros(extent + SLACK, np.float32)
    lanes = np.empty(taps * 16, np.float32)
    for c in range(first, last):
        for t in range(taps):
            vstore(lanes, t * 16, vzero())
        for b in range(samples):
            _pad_into(x[b, c], grid, lo_d, lo_h, lo_w, ph, pw)
            _spread_into(gy[b, c], ext, 0, ph, pw)
            for t in range(taps):
                q = offsets[t]
                a0, a1 = vzero(), vzero()
                for p0 in range(0, extent, 32):
                    a0 = vfma(vload(ext, p0), vload(grid, p0 + q), a0)
                    a1 = vfma(vload(ext, p0 + 16), vload(grid, p0 + q + 16), a1)
                vstore(lanes, t * 16, vadd(vload(lanes, t * 16), vadd(a0, a1)))
        flat = gw.reshape(-1)
        for t in range(taps):
            flat[c * taps + t] = vsum(vload(lanes, t * 16))
