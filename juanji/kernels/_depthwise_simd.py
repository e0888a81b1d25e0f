"""Depthwise convolution on 512-bit vectors (float32 on an AVX-512 CPU, ``_simd``).

The layout generalises ``_conv_depthwise``'s stride-1 one: one (sample, channel) volume,
zero-padded to ``(Pd, Ph, Pw)``, is cut into its ``s_d*s_h*s_w`` phases (padded position
``(z, y, x)`` goes to phase ``(z % s_d, y % s_h, x % s_w)`` at ``(z // s_d, y // s_h, x // s_w)``;
each phase a block of ``Qd*Qh*Qw`` values, ``Q = ceil(P / s)``), laid end to end in a flat grid.
Output position ``(oz, oy, ox)`` is put at ``j = (oz*Qh + oy)*Qw + ox``; tap ``k`` (dilation
``d``) reads padded position ``o*s + k*d``, that is phase ``(k*d) % s`` at ``o + (k*d) // s``,
so every tap is one flat offset ``off[t]`` and ``y[j] = bias + sum_t w[t] * grid[j + off[t]]``.
At stride 1 there is one phase and this is ``_conv_depthwise``'s grid. What is new is the inner
loop: 64 consecutive positions are four vectors of accumulators that stay in registers while
every tap is added (one weight broadcast and four loads per tap), then stored once. One
multiplier only (one output channel per input channel, MobileNet's case); other depthwise
layers keep ``_conv_depthwise``.

- forward:          ``y[j] = bias + sum_t w[t] * grid[j + off[t]]``;
- input gradient:   phase by phase, ``gx_phase[u] = sum_(t in phase) w[t] * gy[u - shift[t]]`` with
  ``shift[t]`` the tap's offset inside its phase: the same correlation, over the output gradient
  spread on the ``Q`` grid (and zero-padded in front by the largest shift), taps reversed;
- weight gradient:  ``gw[t] = sum_b sum_j gy_b[j] * grid_b[j + off[t]]``, one 16-lane sum per tap
  over every sample of the channel, added up at the end (a fixed order: the same bits on every run).

Each loop reads up to 63 positions past the last output; the grids carry that much zero slack.
"""

from __future__ import annotations

import numpy as np
from numba import int64, njit, uint64

from . import _dims
from ._simd import takes_halves, vadd, vbcast, vfma, vload, vstore, vsum, vzero

__all__ = ["applies", "forward_range", "backward_input_range", "backward_weight_range"]

SLACK = 64


def applies(x, w) -> bool:
    """float32, one output channel per input channel, on a CPU with AVX-512 (or AVX2: ``_simd.takes_halves``)."""
    return takes_halves(x.dtype) and takes_halves(w.dtype) and w.shape[0] == x.shape[1]


@njit(cache=True, nogil=True)
def _correlate(source, offsets, first, taps, w, first_w, out, out_at, extent, bias, channel):
    """``out[out_at + j] = bias[channel] + sum_(t < taps) w[first_w + t] * source[j + offsets[first + t]]``
    for ``j < extent`` (rounded up to 64), four vectors of accumulators at a time."""
    for p0 in range(0, extent, 64):
        a0 = vbcast(bias, channel)
        a1, a2, a3 = a0, a0, a0
        for t in range(taps):
            weight = vbcast(w, first_w + t)
            q = p0 + offsets[first + t]
            a0 = vfma(vload(source, q), weight, a0)
            a1 = vfma(vload(source, q + 16), weight, a1)
            a2 = vfma(vload(source, q + 32), weight, a2)
            a3 = vfma(vload(source, q + 48), weight, a3)
        at = out_at + p0
        vstore(out, at, a0)
        vstore(out, at + 16, a1)
        vstore(out, at + 32, a2)
        vstore(out, at + 48, a3)


@njit(cache=True, nogil=True)
def _layout(in_shape, kernel_shape, dims):
    """``(q, phase_volume, off, phase, shift)`` of an input of lifted shape ``in_shape``: the phase
    sizes ``Q`` per dim, the block size ``Qd*Qh*Qw``, and per tap (scan order) its flat offset, its
    phase and its offset inside the phase."""
    s = _dims.stride(dims)
    d = _dims.dilation(dims)
    lo = _dims.pad_lo(dims)
    hi = _dims.pad_hi(dims)
    q = np.empty(3, np.int64)
    for i in range(3):
        padded = in_shape[2 + i] + lo[i] + hi[i]
        q[i] = (padded + s[i] - 1) // s[i]
    volume = q[0] * q[1] * q[2]
    k_d, k_h, k_w = kernel_shape[2], kernel_shape[3], kernel_shape[4]
    taps = k_d * k_h * k_w
    off = np.empty(taps, np.int64)
    phase = np.empty(taps, np.int64)
    shift = np.empty(taps, np.int64)
    t = 0
    for kz in range(k_d):
        for ky in range(k_h):
            for kx in range(k_w):
                pz, py, px = kz * d[0], ky * d[1], kx * d[2]
                phase[t] = ((pz % s[0]) * s[1] + py % s[1]) * s[2] + px % s[2]
                shift[t] = ((pz // s[0]) * q[1] + py // s[1]) * q[2] + px // s[2]
                off[t] = phase[t] * volume + shift[t]
                t += 1
    return q, volume, off, phase, shift


@njit(cache=True, nogil=True)
def _placement(in_shape, dims, q, volume):
    """Where each input row starts in the phase grid (``rows[z*H + y]``) and, per column phase
    ``ax``, its first column, its start in the grid relative to the row, and its length
    (``columns[ax] = (x0, at, count)``): computed once, so that :func:`_move` divides nothing."""
    s = _dims.stride(dims)
    lo = _dims.pad_lo(dims)
    depth, height, width = in_shape[2], in_shape[3], in_shape[4]
    rows = np.empty(depth * height, np.int64)
    for z in range(depth):
        pz = z + lo[0]
        for y in range(height):
            py = y + lo[1]
            rows[z * height + y] = (((pz % s[0]) * s[1] + py % s[1]) * s[2] * volume
                                    + ((pz // s[0]) * q[1] + py // s[1]) * q[2])
    columns = np.empty((s[2], 3), np.int64)
    for ax in range(s[2]):
        x0 = (ax - lo[2]) % s[2]
        columns[ax, 0] = x0
        columns[ax, 1] = ax * volume + (x0 + lo[2]) // s[2]
        columns[ax, 2] = (width - x0 + s[2] - 1) // s[2] if x0 < width else 0
    return rows, columns


@njit(cache=True, nogil=True)
def _move(flat, at0, width, grid, rows, columns, into_grid):
    """Between the plane ``(D, H, width)`` at ``flat[at0:]`` and its place in the phase grid
    (:func:`_placement`): ``grid[...] = plane`` when ``into_grid`` (the padding positions stay as they
    are: zero), else ``plane = grid[...]``. A row goes column phase by column phase (a run of stride
    ``s_w`` in the plane, contiguous in the grid). Unsigned indices: no wrap-around test per element
    (see :func:`_rows`)."""
    step = uint64(columns.shape[0])
    for r in range(rows.shape[0]):
        source = at0 + r * width
        for ax in range(step):
            first, at, count = uint64(source + columns[ax, 0]), uint64(rows[r] + columns[ax, 1]), uint64(columns[ax, 2])
            if into_grid:
                for i in range(count):
                    grid[at + i] = flat[first + i * step]
            else:
                for i in range(count):
                    flat[first + i * step] = grid[at + i]


@njit(cache=True, nogil=True)
def _rows(source, s0, s_pitch, target, t0, t_pitch, count, width):
    """``count`` rows of ``width`` values from ``source`` to ``target`` (1-d contiguous float32, apart):
    row ``r`` from ``source[s0 + r*s_pitch:][:width]`` to ``target[t0 + r*t_pitch:][:width]``.

    A row of 16 or more values moves in 16-lane vectors, the last one overlapping the one before
    when the width is no multiple of 16. (Numba's element loop, ``target[t + i] = source[s + i]``,
    checks each signed index for wrap-around and stays scalar: a 32x32 plane took 0.7 us each way,
    most of a forward pass's 1.9 us. One call per plane, not per row: a call per row cost 0.3 us a
    plane of its own.)"""
    full = width - width % 16
    for r in range(count):
        s = s0 + r * s_pitch
        t = t0 + r * t_pitch
        for i in range(0, full, 16):
            vstore(target, t + i, vload(source, s + i))
        if full == 0:  # (unsigned indices: no wrap-around checks, so LLVM vectorises this loop)
            ut, us = uint64(t), uint64(s)
            for i in range(uint64(width)):
                target[ut + i] = source[us + i]
        elif full < width:
            vstore(target, t + width - 16, vload(source, s + width - 16))


@njit(cache=True, nogil=True)
def _move_plain(flat, at, depth, height, width, grid, lo_d, lo_h, lo_w, q_h, q_w, into_grid):
    """:func:`_move` at stride 1 (one phase: the padded grid itself) for the plane ``(depth, height,
    width)`` at ``flat[at:]``, row by contiguous row (:func:`_rows`); 3-4x faster than the general
    loop on small planes (which reads its placement tables per row)."""
    for z in range(depth):
        base = ((lo_d + z) * q_h + lo_h) * q_w + lo_w
        row = at + z * height * width
        if into_grid:
            _rows(flat, row, width, grid, base, q_w, height, width)
        else:
            _rows(grid, base, q_w, flat, row, width, height, width)


@njit(cache=True, nogil=True)
def _spread_into(flat, at, out_d, out_h, out_w, ext, first, q_h, q_w):
    """``ext[first + (oz*Qh + oy)*Qw + ox] = plane[oz, oy, ox]`` for the plane ``(out_d, out_h,
    out_w)`` at ``flat[at:]`` (every other position untouched: zero)."""
    for oz in range(out_d):
        _rows(flat, at + oz * out_h * out_w, out_w, ext, first + oz * q_h * q_w, q_w, out_h, out_w)


@njit(cache=True, nogil=True)
def forward_range(first, last, x, w, y, dims, bias):
    """Tasks ``first .. last`` (one (sample, channel) volume each) of the forward pass;
    ``bias`` (C,) float32 (zeros for none)."""
    channels = x.shape[1]
    out_d, out_h, out_w = y.shape[2], y.shape[3], y.shape[4]
    q, volume, off, _, _ = _layout(x.shape, w.shape, dims)
    q_h, q_w = q[1], q[2]  # scalars: a store into an array may not alias them
    s = _dims.stride(dims)
    extent = ((out_d - 1) * q_h + out_h - 1) * q_w + out_w
    grid = np.zeros(s[0] * s[1] * s[2] * volume + SLACK, np.float32)
    out = np.empty(extent + SLACK, np.float32)
    flat_w = w.reshape(-1)
    taps = off.shape[0]
    rows, columns = _placement(x.shape, dims, q, volume)
    plain = s[0] == 1 and s[1] == 1 and s[2] == 1
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    depth, height, width = x.shape[2], x.shape[3], x.shape[4]
    flat_x, flat_y = x.reshape(-1), y.reshape(-1)
    for task in range(first, last):
        c = task % channels
        if plain:
            _move_plain(flat_x, task * depth * height * width, depth, height, width, grid, lo_d, lo_h, lo_w,
                        q_h, q_w, True)
        else:
            _move(flat_x, task * depth * height * width, width, grid, rows, columns, True)
        # (int64(0), not 0: from a constant Numba would compile _correlate once more, for it)
        _correlate(grid, off, int64(0), taps, flat_w, c * taps, out, int64(0), extent, bias, c)
        at = task * out_d * out_h * out_w
        for oz in range(out_d):
            _rows(out, oz * q_h * q_w, q_w, flat_y, at + oz * out_h * out_w, out_w, out_h, out_w)


@njit(cache=True, nogil=True)
def backward_input_range(first, last, gy, w, gx, dims):
    """Tasks ``first .. last`` (one (sample, channel) volume each) of the input gradient."""
    channels = gx.shape[1]
    q, volume, _, phase, shift = _layout(gx.shape, w.shape, dims)
    q_h, q_w = q[1], q[2]
    s = _dims.stride(dims)
    phases = s[0] * s[1] * s[2]
    taps = phase.shape[0]
    largest = 0
    for t in range(taps):
        largest = max(largest, shift[t])
    # the taps grouped by phase, each reversed against the largest shift, and their weights alike
    order = np.argsort(phase, kind="mergesort")
    start = np.zeros(phases + 1, np.int64)
    for t in range(taps):
        start[phase[t] + 1] += 1
    for p in range(phases):
        start[p + 1] += start[p]
    reverse = np.empty(taps, np.int64)
    for i in range(taps):
        reverse[i] = largest - shift[order[i]]
    weights = w.reshape(-1)
    flat_w = np.empty(w.size, np.float32)
    for c in range(channels):
        for i in range(taps):
            flat_w[c * taps + i] = weights[c * taps + order[i]]
    ext = np.zeros(largest + volume + SLACK, np.float32)  # zeros before the spread gradient, and after
    grid = np.empty(phases * volume + SLACK, np.float32)
    zero = np.zeros(1, np.float32)
    rows, columns = _placement(gx.shape, dims, q, volume)
    plain = phases == 1
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    depth, height, width = gx.shape[2], gx.shape[3], gx.shape[4]
    flat_gy, flat_gx = gy.reshape(-1), gx.reshape(-1)
    for task in range(first, last):
        c = task % channels
        _spread_into(flat_gy, task * out_d * out_h * out_w, out_d, out_h, out_w, ext, largest, q_h, q_w)
        # phase p: grid[p*V + u] = sum_(t in p) w[t] * ext[largest + u - shift[t]]
        for p in range(phases):
            _correlate(ext, reverse, start[p], start[p + 1] - start[p], flat_w, c * taps + start[p],
                       grid, p * volume, volume, zero, int64(0))
        if plain:
            _move_plain(flat_gx, task * depth * height * width, depth, height, width, grid, lo_d, lo_h, lo_w,
                        q_h, q_w, False)
        else:
            _move(flat_gx, task * depth * height * width, width, grid, rows, columns, False)


@njit(cache=True, nogil=True)
def backward_weight_range(first, last, gy, x, gw, dims):
    """Tasks ``first .. last`` (one channel each, over every sample) of the weight gradient."""
    samples = x.shape[0]
    out_d, out_h, out_w = gy.shape[2], gy.shape[3], gy.shape[4]
    q, volume, off, _, _ = _layout(x.shape, gw.shape, dims)
    q_h, q_w = q[1], q[2]
    s = _dims.stride(dims)
    taps = off.shape[0]
    extent = ((out_d - 1) * q_h + out_h - 1) * q_w + out_w
    grid = np.zeros(s[0] * s[1] * s[2] * volume + SLACK, np.float32)
    ext = np.zeros(extent + SLACK, np.float32)
    lanes = np.empty(taps * 16, np.float32)
    rows, columns = _placement(x.shape, dims, q, volume)
    plain = s[0] == 1 and s[1] == 1 and s[2] == 1
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    channels = x.shape[1]
    depth, height, width = x.shape[2], x.shape[3], x.shape[4]
    flat_x, flat_gy = x.reshape(-1), gy.reshape(-1)
    for c in range(first, last):
        for t in range(taps):
            vstore(lanes, t * 16, vzero())
        for b in range(samples):
            task = b * channels + c
            if plain:
                _move_plain(flat_x, task * depth * height * width, depth, height, width, grid, lo_d, lo_h, lo_w,
                            q_h, q_w, True)
            else:
                _move(flat_x, task * depth * height * width, width, grid, rows, columns, True)
            _spread_into(flat_gy, task * out_d * out_h * out_w, out_d, out_h, out_w, ext, int64(0), q_h, q_w)
            for t in range(taps):
                at = off[t]
                a0, a1 = vzero(), vzero()
                for p0 in range(0, extent, 32):
                    a0 = vfma(vload(ext, p0), vload(grid, p0 + at), a0)
                    a1 = vfma(vload(ext, p0 + 16), vload(grid, p0 + at + 16), a1)
                vstore(lanes, t * 16, vadd(vload(lanes, t * 16), vadd(a0, a1)))
        flat = gw.reshape(-1)
        for t in range(taps):
            flat[c * taps + t] = vsum(vload(lanes, t * 16))
