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

A channel whose values agree to float32 (or float64) rounding, ``std_c <= FLAT_ULPS * eps *
rms_c``, is a constant plane that arrived with rounding noise (a convolution of a constant image
sums in a different order at different positions): its noise would be amplified by up to
``1/sqrt(eps)`` (1e-3 where torch, whose convolution gives identical windows identical values,
gives the bias). Such a channel is normalised as the constant it is: ``var_c = 0, xhat = 0``,
so ``y = b_c``, ``dw_c = 0`` and ``dx = w_c * invstd_c * (g - db_c / M)``, torch's answers for an
exactly constant plane.

The batch-norm loops (statistics, affine map, gradient sums) are kernels in
``juanji/kernels/batch_norm.py``; this file only combines them into the formulas above.
"""

from __future__ import annotations

import numpy as np

from ..autograd import function as _function, recompute
from ..autograd.function import Op
from ..autograd.grad_mode import _state
from ..backend import xp_of
from ..kernels import batch_norm as kernels
from .elementwise import quiet

__all__ = ["BatchNorm", "RowNormalize", "LocalResponseNorm", "batch_norm_stats", "batch_norm_eval"]

# (@quiet: statistics of overflowing activations in a diverging run are inf, and inf - inf or
# inf * 0 is nan; torch computes that silently, NumPy would warn. The Numba loops never warn;
# the array expressions around them, the row statistics and LRN's window sums would.)


def batch_norm_stats(x):
    """Per-channel (mean, biased variance) in float64 of an ``(N, C, *spatial)`` array."""
    return kernels.channel_stats(kernels.as_ncl(x))


# Relative spread (in units of the dtype's eps) below which a channel counts as constant: conv
# rounding noise measured on constant images is 0-10 eps; real data varies by far more.
FLAT_ULPS = 64


def _flat_tolerance(dtype) -> float:
    """``t`` such that a channel with ``var <= t * (var + mean^2)`` counts as constant (see above):
    its standard deviation is within ``FLAT_ULPS`` roundings of its values."""
    tolerance = _FLAT_TOLERANCE.get(dtype)
    if tolerance is None:
        tolerance = _FLAT_TOLERANCE[dtype] = float((FLAT_ULPS * float(np.finfo(dtype).eps)) ** 2)
    return tolerance


_FLAT_TOLERANCE = {}


# -- the Ops ----------------------------------------------------------------------------------

def batch_norm_eval(x, weight, bias, mean, var, eps):
    """Evaluation-mode batch norm of the tensor ``x`` with the running estimates ``mean``/``var`` (arrays) when
    nothing wants a gradient and no tracer (``juanji.compile``, ONNX export) listens: the tensor of
    ``kernels.eval_forward``, what :class:`BatchNorm` computes then (the same bits), without the Op's node,
    its three result tensors and the statistics' float64 copies (~15 us of a 40-us call at batch 1); None
    where that does not apply (the caller applies the Op)."""
    if _function._trace_hook is not None or (_state.enabled and (
            x.requires_grad or (weight is not None and weight.requires_grad)
            or (bias is not None and bias.requires_grad))):
        return None
    data = x._data
    x3 = kernels.as_ncl(data)
    if not kernels.eval_applies(x3, mean, var):
        return None
    y3 = kernels.eval_forward(x3, mean, var, None if weight is None else weight._data,
                              None if bias is None else bias._data, eps)
    return x._from_array(y3.reshape(data.shape))


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
        x3 = kernels.as_ncl(x)
        self.use_batch_stats = mean is None
        if self.use_batch_stats:  # statistics, constants and affine map in one sweep (short rows: in steps)
            # (an empty batch gives zeros: the running estimates then stay as they are)
            y3, mean, var, invstd, scale, flat, affine_scale, shift = kernels.channel_forward(
                x3, weight, bias, eps, _flat_tolerance(x3.dtype))
        elif not (self.needs_input_grad[0] or self.needs_input_grad[1] or self.needs_input_grad[2]) \
                and kernels.eval_applies(x3, mean, var):  # evaluation, nothing to keep: one call
            y3 = kernels.eval_forward(x3, mean, var, weight, bias, eps)
            return y3.reshape(x.shape), mean.astype(np.float64), var.astype(np.float64)
        else:
            xp = xp_of(x)
            mean, var = mean.astype(xp.float64), var.astype(xp.float64)
            var, invstd, scale, affine_scale, shift, flat = kernels.forward_constants(mean, var, weight, bias, eps,
                                                                                      None)
            y3 = kernels.channel_affine(x3, affine_scale, shift, rounded=True)
        y = y3.reshape(x.shape)
        if self.needs_input_grad[0] or self.needs_input_grad[1] or self.needs_input_grad[2]:
            self.x3, self.mean, self.invstd, self.scale, self.flat = x3, mean, invstd, scale, flat
            self.in_shape = x.shape
            self.output = _Output(x3, affine_scale, shift, self.use_batch_stats, x.shape)
            recompute.register(y, self.output)  # y can be made again from what this Op keeps
        return y, mean, var

    @quiet
    def backward(self, grad):
        self.output.drop()  # every Op that used the output has run its backward
        xp = xp_of(grad)
        x3, mean, invstd, scale = self.x3, self.mean, self.invstd, self.scale
        dtype = x3.dtype
        g3 = kernels.as_ncl(grad)
        count = x3.shape[0] * x3.shape[2]
        needs_x, needs_w, needs_b = self.needs_input_grad
        if count == 0:
            zeros = xp.zeros(x3.shape[1], dtype=dtype)
            return (xp.zeros(self.in_shape, dtype=dtype) if needs_x else None,
                    zeros if needs_w else None, zeros if needs_b else None)
        grad_x = grad_w = grad_b = None
        if self.use_batch_stats and needs_x:  # all three in one sweep per channel (the steps below in one)
            grad_x, grad_w, grad_b = kernels.channel_backward(g3, x3, mean, self.flat, scale, invstd)
            return grad_x.reshape(self.in_shape), (grad_w if needs_w else None), (grad_b if needs_b else None)
        if self.use_batch_stats or needs_w or needs_b:
            sum_g, sum_g_centered = kernels.channel_grad_sums(g3, x3, mean)
            grad_w, grad_b, k_x, k_0 = kernels.backward_constants(sum_g, sum_g_centered, self.flat, scale, invstd,
                                                                  mean, count, dtype)
            grad_w, grad_b = (grad_w if needs_w else None), (grad_b if needs_b else None)
        if needs_x:
            if self.use_batch_stats:
                # dx = scale * (g - sum_g/M - (x - mean) * invstd^2 * sum_g_centered/M)
                grad_x = kernels.channel_input_grad(g3, x3, scale, k_x, k_0)
            else:
                # (with running statistics and no parameter gradient wanted, dx = scale * g needs no sums)
                # dx = scale * g: x does not enter (an inf or nan in x must not make 0 * inf)
                grad_x = kernels.channel_affine(g3, scale, xp.zeros_like(scale))
            grad_x = grad_x.reshape(self.in_shape)
        return grad_x, grad_w, grad_b


class _Output(recompute.Recipe):
    """Batch norm's output ``y = x3 * affine_scale + shift``, made again from the input that the Op
    keeps for its own backward (``autograd/recompute.py``). It holds that input itself, not the Op: a
    recipe saved by an Op outside this graph (a convolution of ``y.detach()``) outlives it."""

    __slots__ = ("x3", "affine_scale", "shift", "training", "shape")

    def __init__(self, x3, affine_scale, shift, training, shape):
        super().__init__()
        self.x3, self.affine_scale, self.shift, self.training, self.shape = x3, affine_scale, shift, training, shape

    def make(self):
        return kernels.channel_affine_again(self.x3, self.affine_scale, self.shift, self.training).reshape(self.shape)

    def make_activated(self, activation):
        """``relu(y)`` (``activation`` "relu") or ``hardtanh(y, lo, hi)`` (``(lo, hi)``) in one sweep where
        the kernels have one, else None."""
        z = kernels.channel_affine_again(self.x3, self.affine_scale, self.shift, self.training, activation)
        return None if z is None else z.reshape(self.shape)


class RowNormalize(Op):
    """Each row of a 2-d ``(R, K)`` array to mean 0 and (biased) variance 1: the core of layer
    norm and group norm. ``forward(x, eps)`` returns ``xhat``."""

    @quiet
    def forward(self, x, eps=1e-5):
        centered, invstd = _row_statistics(x, eps)
        xhat = (centered * invstd).astype(x.dtype, copy=False)
        if self.needs_input_grad[0]:
            self.xhat, self.invstd = xhat, invstd.astype(x.dtype, copy=False)
        return xhat

    @quiet
    def backward(self, grad):
        xhat = self.xhat
        projected = (grad * xhat).mean(axis=1, keepdims=True)
        grad_x = grad - grad.mean(axis=1, keepdims=True)
        grad_x -= xhat * projected
        grad_x *= self.invstd
        return (grad_x,)


def _row_statistics(x, eps):
    """``(x - mean_row, invstd_row)`` of a 2-d array, in its dtype; rows whose variance overflowed
    float32 (values near 1e20) are taken in float64, as torch accumulates, so xhat stays finite
    until the values themselves overflow."""
    xp = xp_of(x)
    centered = x - x.mean(axis=1, keepdims=True)
    var = (centered * centered).mean(axis=1, keepdims=True)
    if x.dtype.itemsize < 8 and not bool(xp.isfinite(var).all()):
        wide = x.astype(xp.float64)
        centered = wide - wide.mean(axis=1, keepdims=True)
        var = (centered * centered).mean(axis=1, keepdims=True)
        return centered, 1.0 / xp.sqrt(var + eps)
    return centered, 1.0 / xp.sqrt(var + x.dtype.type(eps))


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
