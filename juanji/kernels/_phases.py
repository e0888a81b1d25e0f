"""Polyphase split and merge of a volume: the data movement behind the dilated convolutions.

A dilation ``d`` along an axis makes a kernel read every ``d``-th input value. At stride 1 the
output positions ``o = d*a + r`` (phase ``r``) then read only the input positions of the same
phase, ``i = o + k*d - lo = d*(a + k - lo/d) + r`` when ``d`` divides ``lo``: the dilated
convolution of a volume is an *undilated* convolution of each of its phases (padding ``lo/d``,
``hi/d``), and the phases can travel as extra samples of one batch. That undilated problem gets
the fast 3x3 algorithms (Winograd) that a dilated window cannot use (``conv._dilation_phases``).

With factors ``(fd, fh, fw)`` per spatial dim of the lifted ``(N, C, D, H, W)`` array:

    split(x)[((n*fd + pz)*fh + py)*fw + px, c, a, b, e] = x[n, c, a*fd + pz, b*fh + py, e*fw + px]

and :func:`merge` is its inverse. One ``(sample, channel)`` plane per task.
"""

from __future__ import annotations

import numpy as np
from numba import int64, njit, uint64

from . import workspace
from ._threads import run_tasks

__all__ = ["split", "merge"]


@njit(cache=True, nogil=True)
def _move_planes(first, last, whole, parts, factors, to_parts):
    """Tasks ``first .. last`` (one ``(n, c)`` plane each) of :func:`split` (``to_parts``: ``whole``
    into ``parts``) or of :func:`merge` (``parts`` into ``whole``); one loop for both, so that the
    index rule is written once."""
    fd, fh, fw = factors[0], factors[1], factors[2]
    channels, depth, height, width = whole.shape[1], whole.shape[2], whole.shape[3], whole.shape[4]
    phase_volume = (depth // fd) * (height // fh) * (width // fw)
    ph, pw = height // fh, width // fw
    flat_whole, flat_parts = whole.reshape(-1), parts.reshape(-1)
    for task in range(first, last):
        n, c = task // channels, task % channels
        for z in range(depth):
            a, pz = z // fd, z % fd
            for y in range(height):
                b, py = y // fh, y % fh
                row = ((n * channels + c) * depth + z) * height * width + y * width
                for px in range(fw):
                    sample = ((n * fd + pz) * fh + py) * fw + px
                    part = (sample * channels + c) * phase_volume + (a * ph + b) * pw
                    if to_parts:
                        for e in range(pw):
                            flat_parts[uint64(part + e)] = flat_whole[uint64(row + e * fw + px)]
                    else:
                        for e in range(pw):
                            flat_whole[uint64(row + e * fw + px)] = flat_parts[uint64(part + e)]


def _check(shape, factors) -> None:
    if len(shape) != 5 or any(n % f for n, f in zip(shape[2:], factors)):
        raise ValueError(f"phase split: a 5-d array whose spatial sizes the factors {tuple(factors)} divide "
                         f"was expected, got shape {tuple(shape)}")


def split(x5, factors):
    """The phases of the lifted array ``x5 (N, C, D, H, W)`` as ``(N*fd*fh*fw, C, D/fd, H/fh, W/fw)``
    (a new array from the workspace pool; layout in the module docstring)."""
    f = np.asarray(factors, dtype=np.int64)
    _check(x5.shape, f)
    x5 = np.ascontiguousarray(x5)
    n, c = x5.shape[:2]
    out = workspace.empty((n * int(f.prod()), c) + tuple(s // int(k) for s, k in zip(x5.shape[2:], f)), x5.dtype)
    run_tasks(_move_planes, n * c, x5.size, x5, out, f, True)
    return out


def merge(parts, shape, factors):
    """The inverse of :func:`split`: the lifted array of ``shape (N, C, D, H, W)`` whose phases are ``parts``."""
    f = np.asarray(factors, dtype=np.int64)
    _check(shape, f)
    expected = (shape[0] * int(f.prod()), shape[1]) + tuple(s // int(k) for s, k in zip(shape[2:], f))
    if tuple(parts.shape) != expected:
        raise ValueError(f"phase merge: parts of shape {expected} were expected, got {tuple(parts.shape)}")
    parts = np.ascontiguousarray(parts)
    out = workspace.empty(tuple(shape), parts.dtype)
    run_tasks(_move_planes, shape[0] * shape[1], parts.size, out, parts, f, False)
    return out


# ----------------------------------------------------------------------------- stride phases
# A convolution at stride 2 is a stride-1 one over the four phases of its zero-padded input, taken
# as channels: with ``xp`` the padded input and ``s = py*2 + px``,
#
#     y[n, o, a, b] = sum_(c, i, j) w[o, c, i, j] xp[n, c, 2a + i, 2b + j]
#                   = sum_(s, c, di, dj) w[o, c, 2di + py, 2dj + px] xs[n, s*C + c, a + di, b + dj]
#
# with ``xs[n, s*C + c, a, b] = xp[n, c, 2a + py, 2b + px]`` (``conv._stride_phases``).

@njit(cache=True, inline="always")
def _edge_columns(flat_x, flat_out, start, line0, line1, b0, b1, lo_w, width):
    """Columns ``b0 .. b1`` of both column phases of one row of :func:`_stride_planes`, each source
    tested against the row's ends (zero outside)."""
    for b in range(b0, b1):
        for px in range(2):
            col = 2 * b + px - lo_w
            inside = 0 <= col < width
            flat_out[uint64((line1 if px else line0) + b)] = flat_x[uint64(start + 2 * b + px)] if inside else 0.0


@njit(cache=True, nogil=True)
def _stride_planes(first, last, x, out, lo_h, lo_w):
    """Tasks ``first .. last`` (one ``(n, c)`` plane of ``x (N, C, H, W)`` each) of
    :func:`stride_split`: ``out[n, (py*2 + px)*C + c, a, b] = x[n, c, 2a + py - lo_h, 2b + px - lo_w]``,
    zero where that falls outside ``x``.

    One input row feeds the rows of both column phases, and over the columns where both read inside
    the row the loop de-interleaves it (``x[2b]``, ``x[2b + 1]``: vector shuffles) with no test per
    value; only the few columns at the edges are tested. Measured (2 threads; (64, 32, 32, 32) padded by
    1 to 17 x 17 phases): 1.1-1.9 ms with the test on every value, 0.48 this way; (64, 64, 32, 32)
    6.0-7.1 -> 1.2."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    rows, cols = out.shape[2], out.shape[3]
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    plane = rows * cols
    # columns b whose two sources 2b - lo_w and 2b + 1 - lo_w both lie in 0 .. width-1
    inner_lo = min(cols, (lo_w + 1) // 2)
    inner_hi = max(inner_lo, min(cols, (width + lo_w - 1) // 2))
    for task in range(first, last):
        n, c = task // channels, task % channels
        src = (n * channels + c) * height * width
        for py in range(2):
            even = ((n * 4 + py * 2) * channels + c) * plane  # phase (py, 0); phase (py, 1) one C later
            odd = even + channels * plane
            for a in range(rows):
                row = 2 * a + py - lo_h
                line0, line1 = even + a * cols, odd + a * cols
                if row < 0 or row >= height:
                    for b in range(cols):
                        flat_out[uint64(line0 + b)] = 0.0
                        flat_out[uint64(line1 + b)] = 0.0
                    continue
                start = src + row * width - lo_w  # the input value of column 2b + px is start + 2b + px
                for b in range(inner_lo, inner_hi):
                    flat_out[uint64(line0 + b)] = flat_x[uint64(start + 2 * b)]
                    flat_out[uint64(line1 + b)] = flat_x[uint64(start + 2 * b + 1)]
                _edge_columns(flat_x, flat_out, start, line0, line1, int64(0), inner_lo, lo_w, width)
                _edge_columns(flat_x, flat_out, start, line0, line1, inner_hi, cols, lo_w, width)


def stride_split(x, lo_h: int, lo_w: int, rows: int, cols: int):
    """The four stride-2 phases of ``x (N, C, H, W)`` zero-padded by ``lo_h, lo_w`` before (and as
    much as ``rows x cols`` phase planes need after), as channels: ``(N, 4*C, rows, cols)``."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    out = workspace.empty((n, 4 * c, rows, cols), x.dtype)
    run_tasks(_stride_planes, n * c, out.size, x, out, lo_h, lo_w)
    return out
