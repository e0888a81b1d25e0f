"""Batch-norm kernels on arrays: per-channel statistics, the affine map and the gradient sums.

Every function takes an ``(N, C, L)`` array (:func:`as_ncl` makes one from ``(N, C, *spatial)``)
and per-channel float64 vectors, and returns arrays of the same backend. Per channel ``c``
over ``M = N * L`` values:

    mean_c = sum(x) / M            var_c = sum((x - mean_c)^2) / M          (biased)
    affine:      y = x * scale_c + shift_c
    grad sums:   sum_g_c = sum(g),  sum_gc_c = sum(g * (x - mean_c))
    input grad:  dx = g * k_g[c] + x * k_x[c] + k_0[c]

(the Op in ``juanji/ops/normalization.py`` folds batch norm's formulas into those constants).

Implementations, chosen once per call by the array's backend (the only backend choice here):
NumPy arrays run the Numba loops of ``_batch_norm_numba`` (row loops, or short-row loops for
``L < SHORT_ROW``), split over threads by ``_threads.run_tasks`` above ``PARALLEL_MIN_ELEMENTS``
values; other backends (CuPy) run the same four steps as array expressions.
"""

from __future__ import annotations

import numpy as np

from juanji.backend import xp_of

from . import _batch_norm_numba as loops
from . import workspace
from ._threads import PARALLEL_MIN_ELEMENTS, run_tasks

__all__ = ["as_ncl", "channel_stats", "channel_affine", "channel_grad_sums", "channel_input_grad",
           "channel_forward", "channel_affine_again", "channel_backward", "forward_constants", "backward_constants",
           "update_running", "eval_applies", "eval_forward",
           "PARALLEL_MIN_ELEMENTS"]


def as_ncl(x):
    """A contiguous ``(N, C, L)`` view of an ``(N, C, *spatial)`` array (L = 1 for ``(N, C)``)."""
    xp = xp_of(x)
    length = 1
    for n in x.shape[2:]:
        length *= n
    return xp.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], length)


# -- NumPy: the Numba loops -----------------------------------------------------------------------

class _NumbaLoops:
    """The four steps on NumPy arrays. Each runs a task range of one of the loops (channels or
    channel blocks for the sums, rows or samples for the element-wise passes)."""

    @staticmethod
    def _sums_tasks(x3):
        """(driver-kind, task count): channels, or blocks of channels for short rows."""
        channels = x3.shape[1]
        if x3.shape[2] < loops.SHORT_ROW:
            return True, -(-channels // loops.CHANNEL_BLOCK)
        return False, channels

    @staticmethod
    def _pass_tasks(x3):
        """(driver-kind, task count): (n, c) rows, or samples for short rows."""
        if x3.shape[2] < loops.SHORT_ROW:
            return True, x3.shape[0]
        return False, x3.shape[0] * x3.shape[1]

    @classmethod
    def stats(cls, x3):
        mean, var = np.zeros(x3.shape[1]), np.zeros(x3.shape[1])
        short, tasks = cls._sums_tasks(x3)
        run_tasks(loops.stats_blocks if short else loops.stats_channels, tasks, x3.size, x3, mean, var)
        return mean, var

    @classmethod
    def affine(cls, x3, scale, shift, rounded=False):
        if rounded:
            scale, shift = scale.astype(x3.dtype, copy=False), shift.astype(x3.dtype, copy=False)
        y = workspace.empty(x3.shape, x3.dtype)
        short, tasks = cls._pass_tasks(x3)
        run_tasks(loops.affine_samples if short else loops.affine_rows, tasks, x3.size, x3, scale, shift, y)
        return y

    @classmethod
    def grad_sums(cls, g3, x3, mean):
        sum_g, sum_g_centered = np.zeros(x3.shape[1]), np.zeros(x3.shape[1])
        short, tasks = cls._sums_tasks(x3)
        run_tasks(loops.grad_sums_blocks if short else loops.grad_sums_channels, tasks, x3.size,
                  g3, x3, mean, sum_g, sum_g_centered)
        return sum_g, sum_g_centered

    @classmethod
    def input_grad(cls, g3, x3, k_g, k_x, k_0):
        dx = workspace.empty(g3.shape, g3.dtype)
        short, tasks = cls._pass_tasks(x3)
        run_tasks(loops.input_grad_samples if short else loops.input_grad_rows, tasks, x3.size,
                  g3, x3, k_g, k_x, k_0, dx)
        return dx


# -- other backends: array expressions ------------------------------------------------------------

def _per_channel(v, dtype):
    return v.astype(dtype)[None, :, None]


class _ArrayExpressions:
    """The four steps as array expressions, for any array module (CuPy)."""

    @staticmethod
    def stats(x3):
        xp = xp_of(x3)
        mean = x3.mean(axis=(0, 2), dtype=xp.float64)
        centered = x3 - mean[None, :, None].astype(x3.dtype)
        var = (centered * centered).mean(axis=(0, 2), dtype=xp.float64)
        return mean, var

    @staticmethod
    def affine(x3, scale, shift, rounded=False):
        return x3 * _per_channel(scale, x3.dtype) + _per_channel(shift, x3.dtype)

    @staticmethod
    def grad_sums(g3, x3, mean):
        xp = xp_of(g3)
        sum_g = g3.sum(axis=(0, 2), dtype=xp.float64)
        sum_g_centered = (g3 * (x3 - _per_channel(mean, x3.dtype))).sum(axis=(0, 2), dtype=xp.float64)
        return sum_g, sum_g_centered

    @staticmethod
    def input_grad(g3, x3, k_g, k_x, k_0):
        dt = g3.dtype
        return g3 * _per_channel(k_g, dt) + x3 * _per_channel(k_x, dt) + _per_channel(k_0, dt)


def implementation(x3):
    """The loops for ``x3``'s backend: Numba loops for NumPy arrays, array expressions otherwise."""
    return _NumbaLoops if isinstance(x3, np.ndarray) else _ArrayExpressions


# -- the interface --------------------------------------------------------------------------------

def channel_stats(x3):
    """Per-channel ``(mean, biased variance)``, float64, of ``x3 (N, C, L)``; zeros if empty."""
    if x3.size == 0:
        xp = xp_of(x3)
        return xp.zeros(x3.shape[1]), xp.zeros(x3.shape[1])
    return implementation(x3).stats(x3)


def channel_affine(x3, scale, shift, rounded: bool = False):
    """``y = x3 * scale[c] + shift[c]`` (``scale``, ``shift`` float64 per channel), x3's dtype.

    ``rounded``: with the constants rounded to x3's dtype first, the arithmetic in that dtype (as torch
    maps a float32 input with float constants in evaluation, and as the array expressions always do):
    batch norm in evaluation. Otherwise each float32 value goes through a float64 multiply-add, the
    training loop's arithmetic, which the other callers must match (the short-row training pass and
    SyncBatchNorm against the one-process loop). Measured: 64 channels of 32x32, one sample, the loop
    11.0 -> 5.6 us (half the vector width and a conversion each way for float64)."""
    if x3.size == 0:
        return xp_of(x3).empty_like(x3)
    return implementation(x3).affine(x3, scale, shift, rounded)


def channel_grad_sums(g3, x3, mean):
    """Per channel ``(sum(g), sum(g * (x - mean)))`` in float64."""
    return implementation(x3).grad_sums(g3, x3, mean)


def channel_input_grad(g3, x3, k_g, k_x, k_0):
    """``dx = g * k_g[c] + x * k_x[c] + k_0[c]`` in g's dtype."""
    return implementation(x3).input_grad(g3, x3, k_g, k_x, k_0)


# -- per-channel constants (float64 vectors of C values) ---------------------------------------------
# Each has the two implementations of the passes above: Numba loops for NumPy arrays (one call instead
# of a dozen vector operations of ~1 us each, the same IEEE operations in the same order, so the same
# bits: tests/kernels/test_batch_norm_constants.py holds one against the other) and array expressions.

_NO_VALUES = np.zeros(1, np.float64)  # stands for a weight or bias that is None
_NO_FLAT = np.zeros(1, np.bool_)  # stands for flat = None (never read)


def _forward_constants_loops(mean, var, weight, bias, eps, flat_tolerance):
    channels = mean.shape[0]
    invstd, scale, affine_scale, shift = (np.empty(channels) for _ in range(4))
    flat = np.empty(channels, np.bool_)
    var = np.array(var, np.float64)  # (its own copy: flat channels are set to 0 in it)
    any_flat = loops.forward_constants(mean, var, _NO_VALUES if weight is None else weight,
                                       _NO_VALUES if bias is None else bias, weight is not None,
                                       bias is not None, float(eps),
                                       -1.0 if flat_tolerance is None else float(flat_tolerance),
                                       invstd, scale, affine_scale, shift, flat)
    return var, invstd, scale, affine_scale, shift, (flat if any_flat else None)


def _forward_constants_arrays(mean, var, weight, bias, eps, flat_tolerance):
    xp = xp_of(mean)
    flat = None
    if flat_tolerance is not None:
        flat = var <= flat_tolerance * (var + mean * mean)
        var = xp.where(flat, 0.0, var)
    invstd = 1.0 / xp.sqrt(var + eps)
    scale = invstd if weight is None else weight.astype(xp.float64) * invstd
    bias64 = xp.zeros_like(mean) if bias is None else bias.astype(xp.float64)
    shift = bias64 - mean * scale
    affine_scale = scale
    if flat is not None and bool(flat.any()):  # xhat = 0 there: y = b exactly
        shift = xp.where(flat, bias64, shift)
        affine_scale = xp.where(flat, 0.0, scale)
    else:
        flat = None
    return var, invstd, scale, affine_scale, shift, flat


def forward_constants(mean, var, weight, bias, eps, flat_tolerance):
    """Batch norm's per-channel constants from float64 ``mean`` and ``var`` (biased): returns
    ``(var, invstd, scale, affine_scale, shift, flat)``.

    With ``flat_tolerance`` not None, a channel with ``var <= flat_tolerance * (var + mean^2)`` is
    *flat* (a constant plane up to rounding): its variance becomes 0 and its affine map ``y = bias``;
    ``flat`` is then the boolean mask, or None when no channel is flat (or no tolerance was given).
    ``invstd = 1 / sqrt(var + eps)``, ``scale = weight * invstd`` (``invstd`` without a weight),
    ``shift = bias - mean * scale``; ``affine_scale`` is ``scale`` with 0 on flat channels.
    """
    numpy = isinstance(mean, np.ndarray)
    return (_forward_constants_loops if numpy else _forward_constants_arrays)(mean, var, weight, bias, eps,
                                                                              flat_tolerance)


def _backward_constants_loops(sum_g, sum_g_centered, flat, scale, invstd, mean, count, dtype):
    channels = sum_g.shape[0]
    k_x, k_0 = np.empty(channels), np.empty(channels)
    grad_w, grad_b = np.empty(channels, dtype), np.empty(channels, dtype)
    sum_g_centered = np.array(sum_g_centered, np.float64)  # (its own copy: zeroed on flat channels)
    loops.backward_constants(sum_g, sum_g_centered, _NO_FLAT if flat is None else flat, flat is not None,
                             scale, invstd, mean, count, k_x, k_0, grad_w, grad_b)
    return grad_w, grad_b, k_x, k_0


def _backward_constants_arrays(sum_g, sum_g_centered, flat, scale, invstd, mean, count, dtype):
    xp = xp_of(sum_g)
    if flat is not None:
        sum_g_centered = xp.where(flat, 0.0, sum_g_centered)
    k_x = -scale * invstd * invstd * sum_g_centered / count
    k_0 = -scale * sum_g / count - mean * k_x
    return (sum_g_centered * invstd).astype(dtype), sum_g.astype(dtype), k_x, k_0


def backward_constants(sum_g, sum_g_centered, flat, scale, invstd, mean, count, dtype):
    """From the gradient sums: ``(grad_w, grad_b, k_x, k_0)``, the first two in ``dtype``:
    ``sum_g_centered`` is taken as 0 on ``flat`` channels (a constant plane has ``xhat = 0``),
    ``grad_w = sum_g_centered * invstd``, ``grad_b = sum_g``, and the input gradient's constants with
    batch statistics ``k_x = -scale * invstd^2 * sum_g_centered / M``, ``k_0 = -scale * sum_g / M -
    mean * k_x`` (``count`` = M)."""
    numpy = isinstance(sum_g, np.ndarray)
    return (_backward_constants_loops if numpy else _backward_constants_arrays)(
        sum_g, sum_g_centered, flat, scale, invstd, mean, count, dtype)


def channel_forward(x3, weight, bias, eps, flat_tolerance):
    """The training-mode forward of batch norm in one call: ``(y3, mean, var, invstd, scale, flat,
    affine_scale, shift)``,
    the values of :func:`channel_stats`, then :func:`forward_constants` and :func:`channel_affine` with
    ``affine_scale`` and ``shift`` (up to the order of the sums), which it runs for short rows, empty
    arrays and other backends.

    For NumPy arrays with rows of ``SHORT_ROW`` or more values it is one Numba loop per channel
    (``_batch_norm_numba.forward_channels``) that maps the channel while its rows are still in cache
    from the statistics.
    """
    if _forward_sweeps_fused(x3):
        channels = x3.shape[1]
        mean, var, invstd, scale, affine_scale, shift = (np.empty(channels) for _ in range(6))
        flat = np.empty(channels, np.bool_)
        y3 = workspace.empty(x3.shape, x3.dtype)
        run_tasks(loops.forward_channels, channels, x3.size, x3, _NO_VALUES if weight is None else weight,
                  _NO_VALUES if bias is None else bias, weight is not None, bias is not None, float(eps),
                  -1.0 if flat_tolerance is None else float(flat_tolerance),
                  mean, var, invstd, scale, affine_scale, shift, flat, y3)
        return y3, mean, var, invstd, scale, (flat if flat.any() else None), affine_scale, shift  # (var 0 on flat)
    mean, var = channel_stats(x3)
    var, invstd, scale, affine_scale, shift, flat = forward_constants(mean, var, weight, bias, eps, flat_tolerance)
    return channel_affine(x3, affine_scale, shift), mean, var, invstd, scale, flat, affine_scale, shift


def eval_applies(x3, mean, var) -> bool:
    """Whether :func:`eval_forward` takes this evaluation-mode batch norm: NumPy float32/float64 arrays
    small enough that the two-step path would run on one thread anyway (``PARALLEL_MIN_ELEMENTS``)."""
    return (isinstance(x3, np.ndarray) and isinstance(mean, np.ndarray) and isinstance(var, np.ndarray)
            and x3.dtype in _FLOATS and 0 < x3.size < PARALLEL_MIN_ELEMENTS)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def eval_forward(x3, mean, var, weight, bias, eps):
    """Evaluation-mode batch norm, when nothing needs its gradient: ``y3`` = :func:`channel_affine` of
    ``x3`` with the :func:`forward_constants` of the running estimates ``mean``/``var``, rounded to
    ``x3``'s type, as one Numba call (``_batch_norm_numba.eval_affine``; the same bits)."""
    channels = x3.shape[1]
    scale, shift = np.empty(channels, x3.dtype), np.empty(channels, x3.dtype)
    y = workspace.empty(x3.shape, x3.dtype)
    loops.eval_affine(x3, mean, var, _NO_VALUES if weight is None else weight, _NO_VALUES if bias is None else bias,
                      weight is not None, bias is not None, float(eps), scale, shift, y)
    return y


def _forward_sweeps_fused(x3) -> bool:
    """Whether :func:`channel_forward` maps ``x3`` in its one-loop-per-channel sweep."""
    return isinstance(x3, np.ndarray) and x3.shape[2] >= loops.SHORT_ROW and x3.size > 0


def channel_affine_again(x3, affine_scale, shift, training: bool, activation=None):
    """Batch norm's output once more, the same bits as the forward made it: ``x3 * affine_scale[c] +
    shift[c]`` with the loop :func:`channel_forward` used in training (whose flags may fuse the
    multiply-add), or :func:`channel_affine` (evaluation: with the constants ``rounded`` as the forward
    had them; short rows, other backends).

    ``activation``: ``"relu"`` or the bounds ``(lo, hi)`` of a hardtanh (ReLU6: ``(0, 6)``) to apply in
    the same sweep, with the rules of ``pointwise.relu`` and ``pointwise.hardtanh``; only on the training
    loop (NumPy arrays): otherwise the answer is None and the caller applies it."""
    if training and _forward_sweeps_fused(x3):
        y = workspace.empty(x3.shape, x3.dtype)
        tasks = x3.shape[0] * x3.shape[1]
        if activation is None:
            run_tasks(loops.affine_rows_as_forward, tasks, x3.size, x3, affine_scale, shift, y)
        elif activation == "relu":
            run_tasks(loops.affine_relu_rows_as_forward, tasks, x3.size, x3, affine_scale, shift, y)
        else:
            bounds = np.array(activation, x3.dtype)
            run_tasks(loops.affine_clamp_rows_as_forward, tasks, x3.size, x3, affine_scale, shift, bounds, y)
        return y
    return None if activation is not None else channel_affine(x3, affine_scale, shift, rounded=not training)


def channel_backward(g3, x3, mean, flat, scale, invstd):
    """The training-mode backward of batch norm in one call: ``(dx, grad_w, grad_b)`` of ``g3``
    against ``x3`` (both ``(N, C, L)``), the last two in ``x3``'s dtype; the values of
    :func:`channel_grad_sums`, then :func:`backward_constants` and :func:`channel_input_grad` with
    ``k_g = scale`` (up to the order of the sums), which it runs for short rows and other backends.

    For NumPy arrays with rows of ``SHORT_ROW`` or more values it is one Numba loop per channel
    (``_batch_norm_numba.backward_channels``) that sweeps the channel's input gradient while its
    rows are still in cache from the sums: one pass over memory and one thread hand-over fewer.
    Measured (2 threads, float32, ms, three calls against this one): (128, 32, 16x16) 0.61 -> 0.44,
    (128, 64, 8x8) 0.40 -> 0.30, (64, 512, 4x4) 0.53 -> 0.34, (8, 960, 4x4) 0.14 -> 0.08.
    """
    dtype = x3.dtype
    count = x3.shape[0] * x3.shape[2]
    if isinstance(g3, np.ndarray) and isinstance(x3, np.ndarray) and x3.shape[2] >= loops.SHORT_ROW:
        channels = x3.shape[1]
        k_x, k_0 = np.empty(channels), np.empty(channels)
        grad_w, grad_b = np.empty(channels, dtype), np.empty(channels, dtype)
        dx = workspace.empty(g3.shape, g3.dtype)
        run_tasks(loops.backward_channels, channels, x3.size, g3, x3, mean, _NO_FLAT if flat is None else flat,
                  flat is not None, scale, invstd, count, k_x, k_0, grad_w, grad_b, dx)
        return dx, grad_w, grad_b
    sum_g, sum_g_centered = channel_grad_sums(g3, x3, mean)
    grad_w, grad_b, k_x, k_0 = backward_constants(sum_g, sum_g_centered, flat, scale, invstd, mean, count, dtype)
    return channel_input_grad(g3, x3, scale, k_x, k_0), grad_w, grad_b


def _update_running_arrays(running, statistic, momentum, factor=1.0):
    stat = statistic if factor == 1.0 else statistic * factor
    running[...] = (1.0 - momentum) * running + momentum * stat


def update_running(running, statistic, momentum, factor=1.0):
    """``running = (1 - momentum) * running + momentum * statistic * factor`` in place, with NumPy's
    rounding for a buffer of its dtype and float64 statistics (the same bits as that expression)."""
    if (isinstance(running, np.ndarray) and isinstance(statistic, np.ndarray) and running.ndim == 1
            and statistic.dtype == np.float64 and running.dtype.kind == "f"):
        keep = running.dtype.type(1.0 - momentum)
        loops.update_running(running, keep, float(momentum), statistic, float(factor))
        return
    _update_running_arrays(running, statistic, momentum, factor)
