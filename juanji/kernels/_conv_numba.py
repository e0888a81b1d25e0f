"""Numba loops behind the NumPy convolution: im2col and col2im (depthwise: ``_conv_depthwise``).

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

from numba import njit, prange

__all__ = ["im2col", "col2im", "worth_parallel", "PARALLEL_MIN_ELEMENTS"]

# Loops over fewer values than this run on the calling thread (see ``worth_parallel``).
PARALLEL_MIN_ELEMENTS = 1 << 16


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


@njit(cache=True)
def _im2col_task(task, x, n0, cols, dims):
    """One (channel, sample) pair of :func:`im2col`: reads one input plane (which stays in
    cache) and writes its K row segments."""
    out_d, out_h, out_w, k_d, k_h, k_w = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    s_d, s_h, s_w, d_d, d_h, d_w = dims[6], dims[7], dims[8], dims[9], dims[10], dims[11]
    lo_d, lo_h, lo_w = dims[12], dims[13], dims[14]
    depth, height, width = x.shape[2], x.shape[3], x.shape[4]
    taps = k_d * k_h * k_w
    length = out_d * out_h * out_w
    nb = cols.shape[1] // length
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


@njit(cache=True)
def _col2im_task(task, gcols, gx, n0, dims):
    """One (sample, channel) plane of :func:`col2im`; tasks write disjoint planes."""
    out_d, out_h, out_w, k_d, k_h, k_w = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    s_d, s_h, s_w, d_d, d_h, d_w = dims[6], dims[7], dims[8], dims[9], dims[10], dims[11]
    lo_d, lo_h, lo_w = dims[12], dims[13], dims[14]
    channels = gx.shape[1]
    depth, height, width = gx.shape[2], gx.shape[3], gx.shape[4]
    taps = k_d * k_h * k_w
    length = out_d * out_h * out_w
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


# -- drivers: the same tasks on every core (large problems) or on the calling thread (small) -----
# (One pair per task function, written out: Numba cannot cache a driver that takes the task
# function as an argument, and caching matters, since compiling these loops takes seconds.)

@njit(cache=True, parallel=True)
def _im2col_parallel(x, n0, cols, dims, n_tasks):
    for t in prange(n_tasks):
        _im2col_task(t, x, n0, cols, dims)


@njit(cache=True)
def _im2col_serial(x, n0, cols, dims, n_tasks):
    for t in range(n_tasks):
        _im2col_task(t, x, n0, cols, dims)


@njit(cache=True, parallel=True)
def _col2im_parallel(gcols, gx, n0, dims, n_tasks):
    for t in prange(n_tasks):
        _col2im_task(t, gcols, gx, n0, dims)


@njit(cache=True)
def _col2im_serial(gcols, gx, n0, dims, n_tasks):
    for t in range(n_tasks):
        _col2im_task(t, gcols, gx, n0, dims)


def worth_parallel(elements: int) -> bool:
    """Whether a loop over ``elements`` values pays for waking the thread pool.

    Below this size the wake-up (and, on a busy machine, waiting for every thread to be
    scheduled) costs more than the loop itself; tiny convolutions (tests, tutorials,
    gradient checks) then run on the calling thread alone.
    """
    return elements >= PARALLEL_MIN_ELEMENTS


def im2col(x, n0, cols, dims):
    """Gather the windows of samples ``n0 ..`` of ``x (N, C, D, H, W)`` into ``cols (C*K, nb*L)``.

    ``cols[(c*Kd + kz)*Kh*Kw + ky*Kw + kx, b*L + (oz*oH + oy)*oW + ox]
    = x[n0+b, c, oz*s_d + kz*d_d - lo_d, oy*s_h + ky*d_h - lo_h, ox*s_w + kx*d_w - lo_w]``,
    zero where that index falls in the padding. ``dims`` (an int64 array) = (out_d, out_h, out_w,
    k_d, k_h, k_w, s_d, s_h, s_w, d_d, d_h, d_w, lo_d, lo_h, lo_w).
    """
    n_tasks = x.shape[1] * (cols.shape[1] // (dims[0] * dims[1] * dims[2]))
    driver = _im2col_parallel if worth_parallel(cols.size) else _im2col_serial
    driver(x, n0, cols, dims, n_tasks)


def col2im(gcols, gx, n0, dims):
    """The adjoint of :func:`im2col`: add every column entry back where it was read from.

    ``gx[n0+b, c]`` is the sum over taps and output positions of ``gcols[(c, tap), (b, pos)]``
    at input index ``pos*s + tap*d - lo`` (padding positions dropped). One ``(b, c)`` plane
    per task: tasks write disjoint planes, so the additions need no locks.
    """
    n_tasks = (gcols.shape[1] // (dims[0] * dims[1] * dims[2])) * gx.shape[1]
    driver = _col2im_parallel if worth_parallel(gcols.size) else _col2im_serial
    driver(gcols, gx, n0, dims, n_tasks)
