"""Normalisation primitives: batch norm (one fused Op), row normalisation (layer/group norm)
and local response normalisation.

Notation: ``x`` input, ``g`` the gradient arriving at the output, ``M`` the number of values
each statistic is taken over, ``eps`` the variance offset.

Batch norm, per channel ``c`` over the batch and all spatial positions (``M = N * L``)::

    mean_c = sum(x) / M            var_c = sum((x - mean_c)^2) / M       (biased)
    xhat   = (x - mean_c) * invstd_c,      invstd_c = 1 / sqrt(var_c + eps)
    y      = w_c * xhat + b_c     =  x * scale_c + shift_c

    db_c = sum(g)                  dw_c = sum(g * xhat)
    dx   = w_c * invstd_c * (g - db_c / M - xhat * dw_c / M)      (batch statistics)
    dx   = w_c * invstd_c * g                                     (running statistics: constants)

Row normalisation (layer norm, group norm) is the same on each row of an ``(R, K)`` view, without
the affine part (the functional layer applies ``weight``/``bias``, whose shapes differ)::

    xhat = (x - mean_row) * invstd_row
    dx   = invstd_row * (g - mean_row(g) - xhat * mean_row(g * xhat))

Local response normalisation (torch's form: the *average* of squares over ``size`` channels,
the window for channel c covering channels ``c - size//2 .. c + (size-1)//2``, zero outside)::

    s_c = k + alpha * (1/size) * sum_{c' in window(c)} x_{c'}^2,     y_c = x_c * s_c^(-beta)
    dx_j = g_j * s_j^(-beta) - (2 alpha beta / size) * x_j * sum_{c: j in window(c)} g_c * y_c / s_c

On the CPU, batch norm runs as Numba loops over channels: the statistics are gathered in one
sweep over memory (each ``(n, c)`` row is summed twice while it sits in cache, then the rows are
merged with Chan's formula, in float64, so float32 inputs lose nothing to cancellation), and the
affine output and the input gradient are one pass each. Rows shorter than 4 values
(BatchNorm1d on ``(N, C)``) use loops that walk memory in order instead. Other backends use
array expressions.
"""

from __future__ import annotations

from contextlib import contextmanager

import numba
import numpy as np
from numba import njit, prange

from ..autograd.function import Op
from ..backend import xp_of
from .elementwise import quiet

__all__ = ["BatchNorm", "RowNormalize", "LocalResponseNorm", "batch_norm_stats"]

# (@quiet: statistics of overflowing activations in a diverging run are inf, and inf - inf or
# inf * 0 is nan; torch computes that silently, NumPy would warn. The Numba loops never warn;
# the array expressions around them, the row statistics and LRN's window sums would.)


# -- Numba loops over an (N, C, L) view -------------------------------------------------------

# Reductions may be reassociated (so LLVM vectorises the float64 sums: ~7x faster measured on
# a (32, 64, 32, 32) input) and fused into FMAs; no "no-NaN/no-inf" assumptions, so a NaN in
# the input still shows up in the statistics.
_FAST_SUMS = {"reassoc", "contract", "nsz", "arcp"}

# Below this many elements a parallel region costs more than it saves (waking the second
# thread takes longer than the work, and far longer on a loaded machine), so run on one thread.
PARALLEL_MIN_ELEMENTS = 1 << 16


@contextmanager
def _threads_for(n_elements: int):
    """Run the enclosed Numba call on one thread when the array is small."""
    if n_elements >= PARALLEL_MIN_ELEMENTS:
        yield
        return
    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(saved)


@njit(cache=True, parallel=True, fastmath=_FAST_SUMS)
def _channel_stats(x3):
    """Per-channel mean and biased variance (float64) of ``x3[N, C, L]``.

    Each row ``x3[n, c, :]`` gets an exact two-pass mean and sum of squared deviations (the row
    is small enough to stay in cache), and the rows of a channel are merged with Chan et al.'s
    pairwise update ``M2 = M2_a + M2_b + delta^2 * n_a * n_b / (n_a + n_b)``.
    """
    n_batch, channels, length = x3.shape
    mean = np.zeros(channels)
    var = np.zeros(channels)
    for c in prange(channels):
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
    return mean, var


@njit(cache=True, parallel=True)
def _channel_affine(x3, scale, shift):
    """``y[n, c, i] = x3[n, c, i] * scale[c] + shift[c]`` in one pass, parallel over rows."""
    n_batch, channels, length = x3.shape
    y = np.empty_like(x3)
    for row in prange(n_batch * channels):
        n = row // channels
        c = row % channels
        a = scale[c]
        b = shift[c]
        for i in range(length):
            y[n, c, i] = x3[n, c, i] * a + b
    return y


@njit(cache=True, parallel=True, fastmath=_FAST_SUMS)
def _channel_grad_sums(g3, x3, mean):
    """Per channel ``sum(g)`` and ``sum(g * (x - mean))`` (float64), one pass over both."""
    n_batch, channels, length = g3.shape
    sum_g = np.zeros(channels)
    sum_g_centered = np.zeros(channels)
    for c in prange(channels):
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
    return sum_g, sum_g_centered


@njit(cache=True, parallel=True)
def _channel_input_grad(g3, x3, k_g, k_x, k_0):
    """``dx[n, c, i] = g * k_g[c] + x * k_x[c] + k_0[c]``: the closed-form batch-norm input
    gradient with its per-channel constants folded in, one pass."""
    n_batch, channels, length = g3.shape
    dx = np.empty_like(g3)
    for row in prange(n_batch * channels):
        n = row // channels
        c = row % channels
        a = k_g[c]
        b = k_x[c]
        d = k_0[c]
        for i in range(length):
            dx[n, c, i] = g3[n, c, i] * a + x3[n, c, i] * b + d
    return dx


# -- the same four loops for short rows (BatchNorm1d on (N, C), tiny spatial maps) -------------
#
# With L small, a channel's values are scattered one short row per sample, so the loops above
# (one channel, or one row, per iteration) jump through memory and pay loop overhead per row:
# measured 7x slower than torch on (256, 512); these loops make the statistics 2.7x and the
# affine pass 40x faster there (one thread). From L = 4 on the row loops win again (L = 4:
# statistics 100 vs 200 us on (64, 256, 4)). These walk memory in order instead: each thread
# owns a block of channels and runs over samples, channels, positions; statistics take two
# passes (mean, then squared deviations), still accumulated in float64. Channels are the
# innermost loop: for L = 1 that is contiguous memory, which vectorises.

SHORT_ROW = 4       # rows shorter than this use the loops below
_CHANNEL_BLOCK = 16  # channels per parallel task


@njit(cache=True, parallel=True, fastmath=_FAST_SUMS)
def _channel_stats_short_rows(x3):
    n_batch, channels, length = x3.shape
    mean = np.zeros(channels)
    var = np.zeros(channels)
    count = n_batch * length
    for block in prange((channels + _CHANNEL_BLOCK - 1) // _CHANNEL_BLOCK):
        first = block * _CHANNEL_BLOCK
        last = min(first + _CHANNEL_BLOCK, channels)
        for n in range(n_batch):
            for i in range(length):
                for c in range(first, last):
                    mean[c] += x3[n, c, i]
        for c in range(first, last):
            mean[c] /= count
        for n in range(n_batch):
            for i in range(length):
                for c in range(first, last):
                    d = x3[n, c, i] - mean[c]
                    var[c] += d * d
        for c in range(first, last):
            var[c] /= count
    return mean, var


@njit(cache=True, parallel=True)
def _channel_affine_short_rows(x3, scale, shift):
    n_batch, channels, length = x3.shape
    y = np.empty_like(x3)
    for n in prange(n_batch):
        for i in range(length):
            for c in range(channels):
                y[n, c, i] = x3[n, c, i] * scale[c] + shift[c]
    return y


@njit(cache=True, parallel=True, fastmath=_FAST_SUMS)
def _channel_grad_sums_short_rows(g3, x3, mean):
    n_batch, channels, length = g3.shape
    sum_g = np.zeros(channels)
    sum_g_centered = np.zeros(channels)
    for block in prange((channels + _CHANNEL_BLOCK - 1) // _CHANNEL_BLOCK):
        first = block * _CHANNEL_BLOCK
        last = min(first + _CHANNEL_BLOCK, channels)
        for n in range(n_batch):
            for i in range(length):
                for c in range(first, last):
                    gv = g3[n, c, i]
                    sum_g[c] += gv
                    sum_g_centered[c] += gv * (x3[n, c, i] - mean[c])
    return sum_g, sum_g_centered


@njit(cache=True, parallel=True)
def _channel_input_grad_short_rows(g3, x3, k_g, k_x, k_0):
    n_batch, channels, length = g3.shape
    dx = np.empty_like(g3)
    for n in prange(n_batch):
        for i in range(length):
            for c in range(channels):
                dx[n, c, i] = g3[n, c, i] * k_g[c] + x3[n, c, i] * k_x[c] + k_0[c]
    return dx


# -- the same four steps as array expressions (CuPy, or any non-NumPy backend) ----------------

def _channel_stats_xp(x3):
    xp = xp_of(x3)
    mean = x3.mean(axis=(0, 2), dtype=xp.float64)
    centered = x3 - mean[None, :, None].astype(x3.dtype)
    var = (centered * centered).mean(axis=(0, 2), dtype=xp.float64)
    return mean, var


def _per_channel(v, dtype):
    return v.astype(dtype)[None, :, None]


def _channel_affine_xp(x3, scale, shift):
    return x3 * _per_channel(scale, x3.dtype) + _per_channel(shift, x3.dtype)


def _channel_grad_sums_xp(g3, x3, mean):
    xp = xp_of(g3)
    sum_g = g3.sum(axis=(0, 2), dtype=xp.float64)
    sum_g_centered = (g3 * (x3 - _per_channel(mean, x3.dtype))).sum(axis=(0, 2), dtype=xp.float64)
    return sum_g, sum_g_centered


def _channel_input_grad_xp(g3, x3, k_g, k_x, k_0):
    dt = g3.dtype
    return g3 * _per_channel(k_g, dt) + x3 * _per_channel(k_x, dt) + _per_channel(k_0, dt)


def _kernels(x3):
    """The four batch-norm loops for an ``(N, C, L)`` array: its backend, and its row length."""
    if xp_of(x3) is np:
        if x3.shape[2] < SHORT_ROW:
            return (_channel_stats_short_rows, _channel_affine_short_rows, _channel_grad_sums_short_rows,
                    _channel_input_grad_short_rows)
        return _channel_stats, _channel_affine, _channel_grad_sums, _channel_input_grad
    return _channel_stats_xp, _channel_affine_xp, _channel_grad_sums_xp, _channel_input_grad_xp


def _as_ncl(x):
    """A contiguous ``(N, C, L)`` view of an ``(N, C, *spatial)`` array (L = 1 for ``(N, C)``)."""
    xp = xp_of(x)
    length = 1
    for n in x.shape[2:]:
        length *= n
    return xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], length)


def batch_norm_stats(x):
    """Per-channel (mean, biased variance) in float64 of an ``(N, C, *spatial)`` array."""
    x3 = _as_ncl(x)
    if x3.size == 0:
        xp = xp_of(x)
        return xp.zeros(x.shape[1]), xp.zeros(x.shape[1])
    with _threads_for(x3.size):
        return _kernels(x3)[0](x3)


# -- the Ops ----------------------------------------------------------------------------------

class BatchNorm(Op):
    """Batch normalisation over dim 1 of ``(N, C, *spatial)``, forward and backward fused.

    ``forward(x, weight, bias, mean=None, var=None, eps=1e-5)``: with ``mean``/``var`` None the
    batch statistics are computed (training); otherwise the given arrays (running estimates)
    are used as constants. ``weight``/``bias`` may be None (1 and 0). Returns
    ``(y, mean, var)``: the statistics used (float64; the variance biased), which the
    functional layer folds into the running estimates.
    """

    node_name = "NativeBatchNormBackward0"  # torch's, in training and evaluation alike

    @quiet
    def forward(self, x, weight, bias, mean=None, var=None, eps=1e-5):
        x3 = _as_ncl(x)
        stats, affine, _, _ = _kernels(x3)
        channels = x.shape[1]
        xp = xp_of(x)
        self.use_batch_stats = mean is None
        if self.use_batch_stats:
            if x3.size == 0:  # nothing to average: the running estimates stay as they are
                mean, var = xp.zeros(channels), xp.zeros(channels)
            else:
                with _threads_for(x3.size):
                    mean, var = stats(x3)
        else:
            mean, var = mean.astype(xp.float64), var.astype(xp.float64)
        invstd = 1.0 / xp.sqrt(var + eps)
        scale = invstd if weight is None else weight.astype(xp.float64) * invstd
        shift = -mean * scale if bias is None else bias.astype(xp.float64) - mean * scale
        with _threads_for(x3.size):
            y3 = affine(x3, scale, shift) if x3.size else xp.empty_like(x3)
        if any(self.needs_input_grad):
            self.x3, self.mean, self.invstd, self.scale = x3, mean, invstd, scale
            self.in_shape = x.shape
        return y3.reshape(x.shape), mean, var

    @quiet
    def backward(self, grad):
        xp = xp_of(grad)
        x3, mean, invstd, scale = self.x3, self.mean, self.invstd, self.scale
        _, affine, grad_sums, input_grad = _kernels(x3)
        dtype = x3.dtype
        g3 = _as_ncl(grad)
        count = x3.shape[0] * x3.shape[2]
        needs_x, needs_w, needs_b = self.needs_input_grad
        if count == 0:
            zeros = xp.zeros(x3.shape[1], dtype=dtype)
            return (xp.zeros(self.in_shape, dtype=dtype) if needs_x else None,
                    zeros if needs_w else None, zeros if needs_b else None)
        if self.use_batch_stats or needs_w or needs_b:
            with _threads_for(x3.size):
                sum_g, sum_g_centered = grad_sums(g3, x3, mean)
        # (with running statistics and no parameter gradient wanted, dx = scale * g needs no sums)
        grad_w = (sum_g_centered * invstd).astype(dtype) if needs_w else None
        grad_b = sum_g.astype(dtype) if needs_b else None
        grad_x = None
        if needs_x:
            with _threads_for(x3.size):
                if self.use_batch_stats:
                    # dx = scale * (g - sum_g/M - (x - mean) * invstd^2 * sum_g_centered/M)
                    k_x = -scale * invstd * invstd * sum_g_centered / count
                    k_0 = -scale * sum_g / count - mean * k_x
                    grad_x = input_grad(g3, x3, scale, k_x, k_0)
                else:
                    # dx = scale * g: x does not enter (an inf or nan in x must not make 0 * inf)
                    grad_x = affine(g3, scale, xp.zeros_like(scale))
            grad_x = grad_x.reshape(self.in_shape)
        return grad_x, grad_w, grad_b


class RowNormalize(Op):
    """Each row of a 2-d ``(R, K)`` array to mean 0 and (biased) variance 1: the core of layer
    norm and group norm. ``forward(x, eps)`` returns ``xhat``."""

    @quiet
    def forward(self, x, eps=1e-5):
        xp = xp_of(x)
        mean = x.mean(axis=1, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=1, keepdims=True)
        invstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        xhat = centered * invstd
        if self.needs_input_grad[0]:
            self.xhat, self.invstd = xhat, invstd
        return xhat

    @quiet
    def backward(self, grad):
        xhat = self.xhat
        projected = (grad * xhat).mean(axis=1, keepdims=True)
        grad_x = grad - grad.mean(axis=1, keepdims=True)
        grad_x -= xhat * projected
        grad_x *= self.invstd
        return (grad_x,)


def _window_sum(values, size, before, after):
    """Sum over a window of ``size`` channels (dim 1) after padding ``before``/``after`` zeros."""
    xp = xp_of(values)
    width = [(0, 0)] * values.ndim
    width[1] = (before, after)
    padded = xp.pad(values, width)
    channels = values.shape[1]
    total = padded[:, 0:channels].copy()
    for offset in range(1, size):
        total += padded[:, offset:offset + channels]
    return total


class LocalResponseNorm(Op):
    """``y = x * (k + alpha * mean_window(x^2))^(-beta)`` across channels (dim 1)."""

    node_name = "DivBackward0"  # torch computes it as x / (k + ...)^beta

    @quiet
    def forward(self, x, size, alpha, beta, k):
        front, back = size // 2, (size - 1) // 2
        dtype = x.dtype.type
        s = _window_sum(x * x, size, front, back)
        s *= dtype(alpha / size)
        s += dtype(k)
        y = x * s ** dtype(-beta)
        if self.needs_input_grad[0]:
            self.x, self.s, self.y = x, s, y
            self.params = (size, alpha, beta, front, back)
        return y

    @quiet
    def backward(self, grad):
        size, alpha, beta, front, back = self.params
        dtype = grad.dtype.type
        x, s, y = self.x, self.s, self.y
        # channel j feeds the windows of channels j - back .. j + front
        through_s = _window_sum(grad * y / s, size, back, front)
        grad_x = grad * s ** dtype(-beta)
        grad_x -= dtype(2.0 * alpha * beta / size) * x * through_s
        return (grad_x,)
