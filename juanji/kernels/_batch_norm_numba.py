"""Numba loops behind :mod:`juanji.kernels.batch_norm`, over an ``(N, C, L)`` view.

Four steps make up batch norm, forward and backward (see ``batch_norm.py`` for the formulas):
the per-channel statistics, the per-channel affine map, the two per-channel gradient sums and
the closed-form input gradient. Each is written twice:

- *rows* (``L >= SHORT_ROW``): one task per channel (the sums) or per ``(n, c)`` row (the
  element-wise passes). The statistics are gathered in one sweep over memory: each row is
  summed twice while it sits in cache, then the rows are merged with Chan's formula, in
  float64, so float32 inputs lose nothing to cancellation.
- *short rows* (``L < SHORT_ROW``: BatchNorm1d on ``(N, C)``, tiny spatial maps): a channel's
  values are then scattered one short row per sample, so the row loops jump through memory
  and pay loop overhead per row (measured 7x slower than torch on (256, 512)). These walk
  memory in order instead: each task owns a block of channels (the sums) or a sample (the
  element-wise passes) and runs over samples, positions, channels; channels innermost is
  contiguous memory for ``L = 1``, which vectorises. Measured 2.7x (statistics) and 40x
  (affine) faster on (256, 512), one thread; from ``L = 4`` on the row loops win again.

In training the rows' steps also run fused, one task per channel (``forward_channels``: statistics,
constants, affine map; ``backward_channels``: gradient sums, constants, input gradient): the
second sweep over a channel's rows finds them still in cache, and the pass takes one hand-over
between threads instead of two. The same loops and formulas (written out: see the note above
``forward_channels``), so the same values up to the order of the sums. Measured (2 threads,
float32, ms, steps -> fused; forward / backward): (128, 32, 16x16) 0.50 -> 0.42 / 0.61 -> 0.44;
(64, 64, 32x32) 1.40 -> 1.10 / 1.71 -> 1.29; (64, 512, 4x4) 0.42 -> 0.33 / 0.53 -> 0.34
(torch's backward: 0.44, 1.39, 0.32).

Every loop is a serial ``nogil`` driver ``driver(first, last, ...)`` over a task range that
writes disjoint memory; ``_threads.run_tasks`` splits the range over threads (the one
threading model of ``juanji.kernels``; see ``_threads``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["SHORT_ROW", "CHANNEL_BLOCK",
           "stats_channels", "affine_rows", "grad_sums_channels", "input_grad_rows",
           "forward_channels", "backward_channels",
           "stats_blocks", "affine_samples", "grad_sums_blocks", "input_grad_samples",
           "forward_constants", "backward_constants", "update_running", "eval_affine"]

SHORT_ROW = 4        # rows shorter than this use the short-row loops
CHANNEL_BLOCK = 16   # channels per task of the short-row sums

# Reductions may be reassociated (so LLVM vectorises the float64 sums: ~7x faster measured on
# a (32, 64, 32, 32) input) and fused into FMAs; no "no-NaN/no-inf" assumptions, so a NaN in
# the input still shows up in the statistics.
_FAST_SUMS = {"reassoc", "contract", "nsz", "arcp"}


# -- rows ---------------------------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def stats_channels(first, last, x3, mean, var):
    """``mean[c]``, ``var[c]`` (biased, float64) of ``x3[:, c, :]`` for channels ``first..last``.

    Each row gets an exact two-pass mean and sum of squared deviations, and the rows of a
    channel are merged with Chan et al.'s update ``M2 = M2_a + M2_b + delta^2 n_a n_b / (n_a + n_b)``.
    """
    n_batch, _, length = x3.shape
    for c in range(first, last):
        count = 0.0
        running_mean = 0.0
        m2 = 0.0
        for n in range(n_batch):
            total = 0.0
            for i in range(length):
                total += x3[n, c, i]
            row_mean = total / length
            squares = 0.0
            for i in range(length):
                d = x3[n, c, i] - row_mean
                squares += d * d
            merged = count + length
            delta = row_mean - running_mean
            running_mean += delta * length / merged
            m2 += squares + delta * delta * count * length / merged
            count = merged
        mean[c] = running_mean
        var[c] = m2 / count


# The fused sweeps below write out the loops and per-channel formulas of the steps rather than call
# shared njit helpers: a helper's machine code depends on where it was first compiled (Numba compiles a
# callee for the first caller that needs it, under that caller's fastmath flags, and caches it by its
# signature alone; LLVM inlines it only when both are compiled in one process), so a helper shared by a
# fastmath sweep and an exact step made the step's bits depend on the order of first calls and the
# cache's history (seen: the per-channel constants lost their bit-for-bit match with the array
# expressions in one test process of two). These functions call nothing jitted.

@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def forward_channels(first, last, x3, weight, bias, has_weight, has_bias, eps, flat_tolerance,
                     mean, var, invstd, scale, affine_scale, shift, flat, y):
    """The whole training-mode forward of channels ``first..last``: per channel, the statistics (the loop of
    :func:`stats_channels`), the constants (:func:`forward_constants`) and the affine map (as
    :func:`affine_rows`), that last sweep while the channel's rows are still in cache: one pass over memory
    and one hand-over fewer than the three steps, whose values it gives up to the order of the sums."""
    n_batch, _, length = x3.shape
    for c in range(first, last):
        count = 0.0
        running_mean = 0.0
        m2 = 0.0
        for n in range(n_batch):
            total = 0.0
            for i in range(length):
                total += x3[n, c, i]
            row_mean = total / length
            squares = 0.0
            for i in range(length):
                d = x3[n, c, i] - row_mean
                squares += d * d
            merged = count + length
            delta = row_mean - running_mean
            running_mean += delta * length / merged
            m2 += squares + delta * delta * count * length / merged
            count = merged
        m = running_mean
        v = m2 / count
        mean[c] = m
        # the constants of forward_constants
        is_flat = flat_tolerance >= 0.0 and v <= flat_tolerance * (v + m * m)
        flat[c] = is_flat
        if is_flat:
            v = 0.0
        var[c] = v
        inv = 1.0 / np.sqrt(v + eps)
        invstd[c] = inv
        sc = np.float64(weight[c]) * inv if has_weight else inv
        scale[c] = sc
        b = np.float64(bias[c]) if has_bias else 0.0
        a = sc
        if is_flat:
            a = 0.0
        else:
            b = b - m * sc
        affine_scale[c] = a
        shift[c] = b
        for n in range(n_batch):
            for i in range(length):
                y[n, c, i] = x3[n, c, i] * a + b


@njit(cache=True, nogil=True)
def affine_rows(first, last, x3, scale, shift, y):
    """``y[n, c, :] = x3[n, c, :] * scale[c] + shift[c]`` for rows ``first..last`` (row = n*C + c)."""
    channels, length = x3.shape[1], x3.shape[2]
    for row in range(first, last):
        n = row // channels
        c = row % channels
        a = scale[c]
        b = shift[c]
        for i in range(length):
            y[n, c, i] = x3[n, c, i] * a + b


@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def affine_rows_as_forward(first, last, x3, scale, shift, y):
    """:func:`affine_rows` compiled with :func:`forward_channels`' flags, so that the map gives the same
    bits as that loop's last sweep (which may fuse ``x * a + b`` into one multiply-add): batch norm's
    output made again in backward (``autograd/recompute.py``). (Its own source, not ``njit`` applied twice
    to one Python function: Numba's disk cache keys a function by its source location and signature, not
    its flags, so the two would load each other's code.)"""
    channels, length = x3.shape[1], x3.shape[2]
    for row in range(first, last):
        n = row // channels
        c = row % channels
        a = scale[c]
        b = shift[c]
        for i in range(length):
            y[n, c, i] = x3[n, c, i] * a + b


@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def affine_relu_rows_as_forward(first, last, x3, scale, shift, y):
    """``relu`` of :func:`affine_rows_as_forward` in the same sweep: the output of batch norm then ReLU
    (``kernels/pointwise.relu``'s rule: 0 where the value is <= 0, NaN kept), each value rounded to the
    array's type before the comparison, as the two forward passes did."""
    channels, length = x3.shape[1], x3.shape[2]
    for row in range(first, last):
        n = row // channels
        c = row % channels
        a = scale[c]
        b = shift[c]
        for i in range(length):
            y[n, c, i] = x3[n, c, i] * a + b
            v = y[n, c, i]
            y[n, c, i] = 0.0 if v <= 0 else v


@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def affine_clamp_rows_as_forward(first, last, x3, scale, shift, bounds, y):
    """``hardtanh`` (``kernels/pointwise.hardtanh``: ``bounds[0]`` below it, ``bounds[1]`` above it, NaN
    kept) of :func:`affine_rows_as_forward` in the same sweep: batch norm then ReLU6 or hardtanh, each
    value rounded to the array's type before it is compared with the bounds (given in that type)."""
    channels, length = x3.shape[1], x3.shape[2]
    lo = bounds[0]
    hi = bounds[1]
    for row in range(first, last):
        n = row // channels
        c = row % channels
        a = scale[c]
        b = shift[c]
        for i in range(length):
            y[n, c, i] = x3[n, c, i] * a + b
            v = y[n, c, i]
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            y[n, c, i] = v


@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def grad_sums_channels(first, last, g3, x3, mean, sum_g, sum_g_centered):
    """``sum(g)`` and ``sum(g * (x - mean))`` (float64) of channels ``first..last``."""
    n_batch, _, length = g3.shape
    for c in range(first, last):
        m = mean[c]
        total = 0.0
        centered = 0.0
        for n in range(n_batch):
            for i in range(length):
                gv = g3[n, c, i]
                total += gv
                centered += gv * (x3[n, c, i] - m)
        sum_g[c] = total
        sum_g_centered[c] = centered


@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def backward_channels(first, last, g3, x3, mean, flat, has_flat, scale, invstd, count, k_x, k_0, grad_w, grad_b,
                      dx):
    """The whole training-mode backward of channels ``first..last``: per channel, the gradient sums (the loop
    of :func:`grad_sums_channels`), its constants (:func:`backward_constants`: ``k_x``, ``k_0``, the weight and
    bias gradients) and its input gradient (as :func:`input_grad_rows` with ``k_g = scale``), that last sweep
    while the channel's rows are still in cache: one pass over memory and one hand-over fewer than the three
    steps, whose values it gives up to the order of the sums."""
    n_batch, _, length = g3.shape
    for c in range(first, last):
        m = mean[c]
        total = 0.0
        centered = 0.0
        for n in range(n_batch):
            for i in range(length):
                gv = g3[n, c, i]
                total += gv
                centered += gv * (x3[n, c, i] - m)
        if has_flat and flat[c]:
            centered = 0.0
        kx = -scale[c] * invstd[c] * invstd[c] * centered / count  # the constants of backward_constants
        k0 = -scale[c] * total / count - m * kx
        k_x[c] = kx
        k_0[c] = k0
        grad_w[c] = centered * invstd[c]
        grad_b[c] = total
        a = scale[c]
        for n in range(n_batch):
            for i in range(length):
                dx[n, c, i] = g3[n, c, i] * a + x3[n, c, i] * kx + k0


@njit(cache=True, nogil=True)
def input_grad_rows(first, last, g3, x3, k_g, k_x, k_0, dx):
    """``dx = g * k_g[c] + x * k_x[c] + k_0[c]`` for rows ``first..last`` (row = n*C + c)."""
    channels, length = g3.shape[1], g3.shape[2]
    for row in range(first, last):
        n = row // channels
        c = row % channels
        a = k_g[c]
        b = k_x[c]
        d = k_0[c]
        for i in range(length):
            dx[n, c, i] = g3[n, c, i] * a + x3[n, c, i] * b + d


# -- short rows ---------------------------------------------------------------------------------

@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def stats_blocks(first, last, x3, mean, var):
    """Statistics of the channel blocks ``first..last`` (two passes: mean, then deviations)."""
    n_batch, channels, length = x3.shape
    count = n_batch * length
    for block in range(first, last):
        c0 = block * CHANNEL_BLOCK
        c1 = min(c0 + CHANNEL_BLOCK, channels)
        for c in range(c0, c1):
            mean[c] = 0.0
            var[c] = 0.0
        for n in range(n_batch):
            for i in range(length):
                for c in range(c0, c1):
                    mean[c] += x3[n, c, i]
        for c in range(c0, c1):
            mean[c] /= count
        for n in range(n_batch):
            for i in range(length):
                for c in range(c0, c1):
                    d = x3[n, c, i] - mean[c]
                    var[c] += d * d
        for c in range(c0, c1):
            var[c] /= count


@njit(cache=True, nogil=True)
def affine_samples(first, last, x3, scale, shift, y):
    """The affine map of samples ``first..last``."""
    channels, length = x3.shape[1], x3.shape[2]
    for n in range(first, last):
        for i in range(length):
            for c in range(channels):
                y[n, c, i] = x3[n, c, i] * scale[c] + shift[c]


@njit(cache=True, nogil=True, fastmath=_FAST_SUMS)
def grad_sums_blocks(first, last, g3, x3, mean, sum_g, sum_g_centered):
    """The gradient sums of the channel blocks ``first..last``."""
    n_batch, channels, length = g3.shape
    for block in range(first, last):
        c0 = block * CHANNEL_BLOCK
        c1 = min(c0 + CHANNEL_BLOCK, channels)
        for c in range(c0, c1):
            sum_g[c] = 0.0
            sum_g_centered[c] = 0.0
        for n in range(n_batch):
            for i in range(length):
                for c in range(c0, c1):
                    gv = g3[n, c, i]
                    sum_g[c] += gv
                    sum_g_centered[c] += gv * (x3[n, c, i] - mean[c])


@njit(cache=True, nogil=True)
def input_grad_samples(first, last, g3, x3, k_g, k_x, k_0, dx):
    """The input gradient of samples ``first..last``."""
    channels, length = g3.shape[1], g3.shape[2]
    for n in range(first, last):
        for i in range(length):
            for c in range(channels):
                dx[n, c, i] = g3[n, c, i] * k_g[c] + x3[n, c, i] * k_x[c] + k_0[c]


# -- per-channel constants ------------------------------------------------------------------------
# The few float64 operations per channel between the passes above (batch norm's formulas, see
# ``juanji/ops/normalization.py``): as NumPy expressions on vectors of C values they were a dozen
# array operations of ~1 us each per call, more than the passes themselves for a small layer. Each
# value is computed here by the same IEEE operations in the same order as those expressions (no
# fastmath), so the results are the same bits.

@njit(cache=True, nogil=True)
def forward_constants(mean, var, weight, bias, has_weight, has_bias, eps, flat_tolerance,
                      invstd, scale, affine_scale, shift, flat):
    """Per channel: ``flat`` (if ``flat_tolerance >= 0``: ``var <= flat_tolerance * (var + mean^2)``,
    and then ``var = 0`` in place), ``invstd = 1 / sqrt(var + eps)``, ``scale = weight * invstd``,
    ``shift = bias - mean * scale`` (``bias`` on a flat channel) and the scale of the affine pass
    (0 on a flat channel). Returns whether any channel is flat."""
    any_flat = False
    for c in range(mean.shape[0]):
        m = mean[c]
        v = var[c]
        is_flat = flat_tolerance >= 0.0 and v <= flat_tolerance * (v + m * m)
        flat[c] = is_flat
        if is_flat:
            v = 0.0
            var[c] = 0.0
            any_flat = True
        inv = 1.0 / np.sqrt(v + eps)
        invstd[c] = inv
        s = np.float64(weight[c]) * inv if has_weight else inv
        scale[c] = s
        b = np.float64(bias[c]) if has_bias else 0.0
        if is_flat:
            affine_scale[c] = 0.0
            shift[c] = b
        else:
            affine_scale[c] = s
            shift[c] = b - m * s
    return any_flat


@njit(cache=True, nogil=True)
def eval_affine(x3, mean, var, weight, bias, has_weight, has_bias, eps, scale, shift, y):
    """Batch norm in evaluation mode in one call: per channel the constants of :func:`forward_constants`
    (no flat test: running estimates) from ``mean``/``var`` taken to float64, stored in ``scale``/``shift``
    of ``x3``'s type (rounded as ``astype`` rounds), then the map of :func:`affine_rows` (the order of
    :func:`affine_samples` for short rows): the same operations on the same values, so the same bits as
    ``forward_constants`` followed by ``channel_affine(..., rounded=True)``, in one call instead of a dozen
    (for a small array the Python around those cost more than the arithmetic)."""
    channels = mean.shape[0]
    for c in range(channels):
        inv = 1.0 / np.sqrt(np.float64(var[c]) + eps)
        s = np.float64(weight[c]) * inv if has_weight else inv
        b = np.float64(bias[c]) if has_bias else 0.0
        scale[c] = s
        shift[c] = b - np.float64(mean[c]) * s
    n_batch, length = x3.shape[0], x3.shape[2]
    if length < SHORT_ROW:
        for n in range(n_batch):
            for i in range(length):
                for c in range(channels):
                    y[n, c, i] = x3[n, c, i] * scale[c] + shift[c]
    else:
        for n in range(n_batch):
            for c in range(channels):
                a = scale[c]
                b = shift[c]
                for i in range(length):
                    y[n, c, i] = x3[n, c, i] * a + b


@njit(cache=True, nogil=True)
def backward_constants(sum_g, sum_g_centered, flat, has_flat, scale, invstd, mean, count, k_x, k_0, grad_w, grad_b):
    """Per channel: ``sum_g_centered = 0`` on a flat channel (with ``has_flat``; in place); the weight and bias
    gradients ``sum_g_centered * invstd`` and ``sum_g`` in their dtype; and the input gradient's
    constants with batch statistics, ``k_x = -scale * invstd^2 * sum_g_centered / M`` and
    ``k_0 = -scale * sum_g / M - mean * k_x`` (``count`` = M)."""
    for c in range(sum_g.shape[0]):
        if has_flat and flat[c]:
            sum_g_centered[c] = 0.0
        sgc = sum_g_centered[c]
        grad_w[c] = sgc * invstd[c]
        grad_b[c] = sum_g[c]
        kx = -scale[c] * invstd[c] * invstd[c] * sgc / count
        k_x[c] = kx
        k_0[c] = -scale[c] * sum_g[c] / count - mean[c] * kx


@njit(cache=True, nogil=True)
def update_running(running, keep, momentum, statistic, factor):
    """``running = keep * running + momentum * (statistic * factor)`` in place, with ``keep`` of the
    buffer's dtype (``1 - momentum`` rounded to it, as NumPy does with a Python float): the product
    ``keep * running`` in that dtype, the sum in float64, then rounded to the buffer."""
    for c in range(running.shape[0]):
        kept = keep * running[c]
        running[c] = np.float64(kept) + momentum * (statistic[c] * factor)
