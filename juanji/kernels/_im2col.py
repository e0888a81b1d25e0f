"""im2col and col2im: the one implementation (Numba, NumPy arrays) behind the convolutions
and ``F.unfold``/``F.fold`` (the portable array version for other backends is ``_conv_slices``;
depthwise convolutions use their own direct loops, ``_conv_depthwise``).

All loops see the 3-d ("lifted", see ``_conv_geometry``) form: arrays are ``(N, C, D, H, W)``
channels-first, as the user holds them, and the geometry is ``ConvGeometry.dims``. The matrix
products are done by BLAS (NumPy's ``matmul``) in ``conv.py``; these loops only move data so
that one large product can do the arithmetic.

Where a column lives: entry ``(row, b, pos)`` (row = ``(c, kz, ky, kx)``, sample ``b`` of the
chunk, output position ``pos``) is at ``row * row_stride + b * sample_stride + pos`` of a flat
array. The convolution's chunk matrix ``cols (C*K, count*L)`` has ``row_stride = count*L`` and
``sample_stride = L``; ``F.unfold``'s output ``(N, C*K, L)`` has ``row_stride = L`` and
``sample_stride = C*K*L``. One loop serves both.

Why channels-first columns ``cols[(c, kz, ky, kx), (b, oz, oy, ox)]``: a run of ``ox`` is a
run of ``x`` along its last axis (contiguous at stride 1), so im2col and col2im are
vectorised copies and adds with no transposition anywhere; ``w (O, C*K) @ cols`` then gives
the output already in ``(O, positions)`` order, which is the ``(N, O, ...)`` layout of one
sample. (A channels-last layout feeds BLAS a slightly better shape but needs layout
transposes that cost more than they save: measured.)
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from . import _dims
from ._threads import run_tasks

__all__ = ["im2col", "col2im", "gather_table", "scatter_table"]

# Functions only other Numba functions call are compiled without the wrappers that let Python call
# them (unboxing each argument): less code for LLVM to optimise and emit when the cache is empty.
_INTERNAL = dict(no_cpython_wrapper=True, no_cfunc_wrapper=True)


@njit(cache=True, **_INTERNAL)
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


@njit(cache=True, inline="always")
def _fill_zero(flat, start, count):
    """``flat[start:start+count] = 0`` as a plain loop (vectorised by LLVM).

    The loops below index flat (1-d) views with unsigned integers: Numba then emits no
    negative-index wrap-around test per element, so the copies compile to vector moves.
    (Slice assignment between array views was 1.5-2x slower here: it builds two views and
    checks them for overlap on every run of a few dozen values; measured.)
    """
    for i in range(count):
        flat[uint64(start + i)] = 0.0


@njit(cache=True, inline="always")
def _zero_outside(flat, start, lo, hi, total):
    """Zero the parts of the segment ``flat[start:start+total]`` before ``lo`` and from ``hi``
    on: the output positions whose input lies in the padding."""
    _fill_zero(flat, start, lo)
    _fill_zero(flat, start + hi, total - hi)


@njit(cache=True, inline="always")
def _copy_run(dst, dst_start, src, src_start, count):
    """``dst[dst_start:dst_start+count] = src[src_start:src_start+count]`` (flat arrays)."""
    for i in range(count):
        dst[uint64(dst_start + i)] = src[uint64(src_start + i)]


@njit(cache=True, inline="always")
def _add_run(dst, dst_start, src, src_start, count):
    """``dst[dst_start:dst_start+count] += src[src_start:src_start+count]`` (flat arrays)."""
    for i in range(count):
        dst[uint64(dst_start + i)] += src[uint64(src_start + i)]


@njit(cache=True, **_INTERNAL)
def _tap_table(x_shape, dims):
    """Per tap ``t`` (scan order ``(kz, ky, kx)``) of the kernel: ``(kz, ky, kx, z0, z1, y0, y1, x0, x1)``,
    the tap and its valid output ranges (:func:`_valid_outputs`) over an input of shape ``x_shape``:
    computed once per call of a driver rather than once per row (their divisions were a third of a
    16x16 row's cost)."""
    out_d, out_h, out_w = _dims.out_size(dims)
    k_d, k_h, k_w = _dims.kernel(dims)
    s_d, s_h, s_w = _dims.stride(dims)
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    depth, height, width = x_shape[2], x_shape[3], x_shape[4]
    table = np.empty((k_d * k_h * k_w, 9), np.int64)
    t = 0
    for kz in range(k_d):
        z0, z1 = _valid_outputs(kz * d_d, s_d, lo_d, depth, out_d)
        for ky in range(k_h):
            y0, y1 = _valid_outputs(ky * d_h, s_h, lo_h, height, out_h)
            for kx in range(k_w):
                x0, x1 = _valid_outputs(kx * d_w, s_w, lo_w, width, out_w)
                table[t, 0], table[t, 1], table[t, 2] = kz, ky, kx
                table[t, 3], table[t, 4], table[t, 5], table[t, 6], table[t, 7], table[t, 8] = z0, z1, y0, y1, x0, x1
                t += 1
    return table


@njit(cache=True, **_INTERNAL)
def _im2col_task(row, x, flat_x, taps_table, n0, count, flat_cols, dims, row_stride, sample_stride):
    """One row of :func:`im2col`: tap ``(kz, ky, kx)`` of one input channel, for every
    sample of the chunk, written front to back.

    Writing each row in order (rather than one sample's K scattered row pieces at a time)
    lets the stores stream: 3-7x faster on small planes such as ResNet's 8x8 and 16x16
    (measured). Each sample's input plane is read once per tap; it stays in cache.

    Fast path: at stride 1 along H and W with as many output columns as input columns (a
    'same'-padded convolution, the usual ResNet/VGG layer), the output rows of one tap read
    consecutive input rows at one offset, so the whole valid block of a depth slice is ONE
    contiguous run of the input plane: it is copied in one go and the few positions that
    wrapped around a row edge (which lie in the left/right padding) are zeroed afterwards.
    Otherwise every output row is copied on its own.
    """
    out_d, out_h, out_w = _dims.out_size(dims)
    k_d, k_h, k_w = _dims.kernel(dims)
    s_d, s_h, s_w = _dims.stride(dims)
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    depth, height, width = x.shape[2], x.shape[3], x.shape[4]
    area = out_h * out_w
    length = out_d * area
    taps = k_d * k_h * k_w
    c, tap = row // taps, row % taps
    kz, ky, kx = taps_table[tap, 0], taps_table[tap, 1], taps_table[tap, 2]
    z0, z1 = taps_table[tap, 3], taps_table[tap, 4]
    y0, y1 = taps_table[tap, 5], taps_table[tap, 6]
    x0, x1 = taps_table[tap, 7], taps_table[tap, 8]
    start = kx * d_w - lo_w  # input column of output column 0 for this tap
    volume = depth * height * width
    runs_join = s_w == 1 and s_h == 1 and out_w == width
    for b in range(count):
        plane = ((n0 + b) * x.shape[1] + c) * volume
        base = row * row_stride + b * sample_stride
        if z1 == z0 or y1 == y0 or x1 == x0:  # the tap sees only padding
            _fill_zero(flat_cols, base, length)
            continue
        _zero_outside(flat_cols, base, z0 * area, z1 * area, length)
        for oz in range(z0, z1):
            iz = oz * s_d + kz * d_d - lo_d
            t = base + oz * area
            if runs_join:
                # input index of output (oy, ox) = row0 + oy*width + ox
                row0 = plane + (iz * height + ky * d_h - lo_h) * width + start
                first, last = y0 * out_w + x0, (y1 - 1) * out_w + x1
                _zero_outside(flat_cols, t, first, last, area)
                _copy_run(flat_cols, t + first, flat_x, row0 + first, last - first)
                gap = out_w - x1 + x0
                if gap == 1:  # re-zero the column that wrapped past a row edge (a 3x3 'same' layer's)
                    for oy in range(y0, y1 - 1):
                        flat_cols[uint64(t + oy * out_w + x1)] = 0.0
                elif gap > 1:  # ... or the columns
                    for oy in range(y0, y1 - 1):
                        _fill_zero(flat_cols, t + oy * out_w + x1, gap)
                continue
            _zero_outside(flat_cols, t, y0 * out_w, y1 * out_w, area)
            for oy in range(y0, y1):
                iy = oy * s_h + ky * d_h - lo_h
                u = t + oy * out_w
                src = plane + (iz * height + iy) * width + start
                _zero_outside(flat_cols, u, x0, x1, out_w)
                if s_w == 1:
                    _copy_run(flat_cols, u + x0, flat_x, src + x0, x1 - x0)
                else:
                    for ox in range(x0, x1):
                        flat_cols[uint64(u + ox)] = flat_x[uint64(src + ox * s_w)]


@njit(cache=True, **_INTERNAL)
def _col2im_task(task, flat_g, gx, flat_gx, taps_table, n0, dims, row_stride, sample_stride, start_values,
                 use_start):
    """One (sample, channel) plane of :func:`col2im`; tasks write disjoint planes. The plane starts
    from ``start_values[c]`` if ``use_start``, else from zero."""
    out_d, out_h, out_w = _dims.out_size(dims)
    k_d, k_h, k_w = _dims.kernel(dims)
    s_d, s_h, s_w = _dims.stride(dims)
    d_d, d_h, d_w = _dims.dilation(dims)
    lo_d, lo_h, lo_w = _dims.pad_lo(dims)
    channels = gx.shape[1]
    depth, height, width = gx.shape[2], gx.shape[3], gx.shape[4]
    taps = k_d * k_h * k_w
    area = out_h * out_w
    b = task // channels
    c = task % channels
    volume = depth * height * width
    plane = ((n0 + b) * channels + c) * volume
    if use_start:
        value = start_values[c]
        for i in range(volume):
            flat_gx[uint64(plane + i)] = value
    else:
        _fill_zero(flat_gx, plane, volume)
    for kz in range(k_d):
        for ky in range(k_h):
            for kx in range(k_w):
                tap = (kz * k_h + ky) * k_w + kx
                row = c * taps + tap
                z0, z1 = taps_table[tap, 3], taps_table[tap, 4]
                y0, y1 = taps_table[tap, 5], taps_table[tap, 6]
                x0, x1 = taps_table[tap, 7], taps_table[tap, 8]
                start = kx * d_w - lo_w
                base = row * row_stride + b * sample_stride
                for oz in range(z0, z1):
                    iz = oz * s_d + kz * d_d - lo_d
                    for oy in range(y0, y1):
                        iy = oy * s_h + ky * d_h - lo_h
                        u = base + oz * area + oy * out_w
                        dst = plane + (iz * height + iy) * width + start
                        if s_w == 1:
                            _add_run(flat_gx, dst + x0, flat_g, u + x0, x1 - x0)
                        else:
                            for ox in range(x0, x1):
                                flat_gx[uint64(dst + ox * s_w)] += flat_g[uint64(u + ox)]


# -- drivers: a task range on the calling thread; _threads.run_tasks splits it over threads ------
# (One per task function, written out: Numba cannot cache a driver that takes the task
# function as an argument, and caching matters, since compiling these loops takes seconds.)

@njit(cache=True, nogil=True)
def _im2col_rows(first, last, x, n0, count, cols, dims, row_stride, sample_stride):
    flat_x = x.reshape(-1)  # (once: a reshape per row cost a quarter of copying a 16x16 row)
    taps_table = _tap_table(x.shape, dims)
    for row in range(first, last):
        _im2col_task(row, x, flat_x, taps_table, n0, count, cols, dims, row_stride, sample_stride)


@njit(cache=True, nogil=True)
def _col2im_planes(first, last, gcols, gx, n0, dims, row_stride, sample_stride, start_values, use_start):
    flat_gx = gx.reshape(-1)  # (once per call, not per plane: see _im2col_rows)
    taps_table = _tap_table(gx.shape, dims)
    for plane in range(first, last):
        _col2im_task(plane, gcols, gx, flat_gx, taps_table, n0, dims, row_stride, sample_stride, start_values,
                     use_start)


def im2col(x, n0: int, count: int, cols, dims, row_stride: int, sample_stride: int, channels=None) -> None:
    """Gather the windows of samples ``n0 .. n0+count`` of ``x (N, C, D, H, W)`` into the flat
    array ``cols`` (layout: see the module docstring):

    ``cols[row * row_stride + b * sample_stride + (oz*oH + oy)*oW + ox]
    = x[n0+b, c, oz*s_d + kz*d_d - lo_d, oy*s_h + ky*d_h - lo_h, ox*s_w + kx*d_w - lo_w]``,
    ``row = (c*Kd + kz)*Kh*Kw + ky*Kw + kx``, zero where that index falls in the padding.
    ``dims`` is ``ConvGeometry.dims``. One task per row (channel, tap); inside a thread that
    owns a slice of the batch it all runs on that thread. ``channels=(c0, c1)``: only the rows of
    those channels, on the calling thread (a caller that shares out the channels itself).
    """
    taps = int(dims[3] * dims[4] * dims[5])
    if channels is not None:
        _im2col_rows(channels[0] * taps, channels[1] * taps, x, n0, count, cols, dims, row_stride, sample_stride)
        return
    rows = x.shape[1] * taps
    run_tasks(_im2col_rows, rows, rows * count * int(dims[0] * dims[1] * dims[2]),
              x, n0, count, cols, dims, row_stride, sample_stride)


def col2im(gcols, gx, n0: int, count: int, dims, row_stride: int, sample_stride: int, start=None) -> None:
    """The adjoint of :func:`im2col`: ``gx[n0+b, c]`` (overwritten) is the sum over taps and
    output positions of the column entries ``(row, b, pos)`` of channel ``c``, each added at
    the input index ``pos*s + tap*d - lo`` it was read from (padding positions dropped), plus
    ``start[c]`` if given (a transposed convolution's bias, added without a pass of its own).
    One ``(b, c)`` plane per task: tasks write disjoint planes, so the additions need no locks.
    """
    use_start = start is not None
    start_values = start if use_start else np.zeros(1, gx.dtype)
    run_tasks(_col2im_planes, count * gx.shape[1], gcols.size,
              gcols, gx, n0, dims, row_stride, sample_stride, start_values, use_start)


# -- small planes: by a table of input positions --------------------------------------------------
# For an output plane of a few dozen positions (ResNet's 8x8 and 4x4 stages at small batches) the
# loops above pay their set-up per run of a handful of values; a table ``index[tap, pos]`` of the
# flat input position each (tap, output position) reads, -1 in the padding, built once per
# geometry (``conv._tap_index``), makes both directions one plain loop. (The earlier NumPy version,
# ``np.take`` from a zero-padded copy and one indexed add per tap, took 0.15 / 0.28 ms for 512
# channels on a 4x4 plane, about as long as the product it fed.)

@njit(cache=True, nogil=True)
def _gather_table_channels(first, last, x, n0, count, index, cols, row_stride, sample_stride):
    taps, length = index.shape
    for c in range(first, last):
        for b in range(count):
            src = x[n0 + b, c]
            for t in range(taps):
                base = (c * taps + t) * row_stride + b * sample_stride
                for p in range(length):
                    i = index[t, p]
                    cols[base + p] = src[i] if i >= 0 else 0.0


@njit(cache=True, nogil=True)
def _scatter_table_channels(first, last, gcols, gx, n0, count, index, row_stride, sample_stride, start_values,
                            use_start):
    taps, length = index.shape
    for c in range(first, last):
        start = start_values[c] if use_start else 0.0
        for b in range(count):
            dst = gx[n0 + b, c]
            for i in range(dst.size):
                dst[i] = start
            for t in range(taps):
                base = (c * taps + t) * row_stride + b * sample_stride
                for p in range(length):
                    i = index[t, p]
                    if i >= 0:
                        dst[i] += gcols[base + p]


def gather_table(x3, n0: int, count: int, index, cols, row_stride: int, sample_stride: int, channels=None) -> None:
    """:func:`im2col` by a table: ``x3 (N, C, V)`` the input with its planes flattened, ``index (K, L)``
    the flat position in a plane that tap ``t`` of output position ``p`` reads (-1: padding, zero).
    ``channels=(c0, c1)``: only those channels' rows, on the calling thread."""
    if channels is not None:
        _gather_table_channels(channels[0], channels[1], x3, n0, count, index, cols, row_stride, sample_stride)
        return
    run_tasks(_gather_table_channels, x3.shape[1], x3.shape[1] * index.size * count,
              x3, n0, count, index, cols, row_stride, sample_stride)


def scatter_table(gcols, gx3, n0: int, count: int, index, row_stride: int, sample_stride: int, start=None) -> None:
    """The adjoint of :func:`gather_table` (as :func:`col2im`): ``gx3[n0+b, c]`` overwritten with
    ``start[c]`` (if given) plus every column entry added at the position it was read from, in the
    order (tap, position)."""
    use_start = start is not None
    start_values = start if use_start else np.zeros(1, gx3.dtype)
    run_tasks(_scatter_table_channels, gx3.shape[1], gx3.shape[1] * index.size * count,
              gcols, gx3, n0, count, index, row_stride, sample_stride, start_values, use_start)
