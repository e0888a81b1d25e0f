"""Loss primitives: forward and backward fused per loss, so a training step's loss is one node.

Notation: ``x`` input, ``t`` target, ``w`` weight, ``d = x - t``, ``g`` the incoming gradient.
``reduction`` is 'none' (per element), 'sum', or 'mean' (sum / count). Each backward scales by
``g`` (per element for 'none'; a scalar for 'sum'; ``g / count`` for 'mean').

    mse                 l = d^2                                 dl/dx = 2d
    l1                  l = |d|                                 dl/dx = sign(d)
    smooth_l1 (beta)    l = d^2 / (2 beta) if |d| < beta        dl/dx = d / beta
                          = |d| - beta/2 otherwise                    = sign(d)
    huber (delta)       l = d^2 / 2 if |d| < delta              dl/dx = d
                          = delta (|d| - delta/2) otherwise           = delta sign(d)
    bce                 l = -w (t log x + (1-t) log(1-x)),  each log clamped at -100
    bce_with_logits     l = w ((1-t) x + (1 + (p-1) t) softplus(-x)),  p = pos_weight
    nll                 l_n = -w_{t_n} x[n, t_n],  mean divides by sum_n w_{t_n}
    cross_entropy       nll of log_softmax(x) with label smoothing (see CrossEntropy)
    kl_div              l = t (log t - x)  or, with log_target, exp(t) (t - x)

In every loss the target's gradient is the one torch defines (the weights are constants).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of
from .activation import _quiet, sigmoid_array, softplus_array
from .softmax import log_softmax_array

__all__ = ["MseLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BinaryCrossEntropy",
           "BinaryCrossEntropyWithLogits", "NllLoss", "CrossEntropy", "CrossEntropyProbabilities",
           "KlDiv"]


def _reduce(loss, reduction):
    """Apply the reduction; 'sum' and 'mean' give a 0-d array of the loss's dtype."""
    if reduction == "none":
        return loss
    xp = xp_of(loss)
    # the mean of nothing is nan, and a diverging run's sum overflows to inf, silently as in torch
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        total = loss.sum() if reduction == "sum" else loss.mean()
    return xp.asarray(total, dtype=loss.dtype)


def _scale(g, reduction, count):
    """The factor each element's derivative is multiplied by: g, or g / count for 'mean'."""
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return g / g.dtype.type(count)
    return g


# -- regression losses: a function of d = x - t ------------------------------------------------

class _PointwiseLoss(Op):
    """Base of the losses that depend on ``d = x - t`` only: dl/dt = -dl/dx.

    Huge or infinite differences (a diverging run) give inf or nan silently, as in torch."""

    @_quiet
    def forward(self, x, t, reduction, **params):
        self.d, self.reduction, self.params = x - t, reduction, params
        return _reduce(self.pointwise(self.d, **params), reduction)

    @_quiet
    def backward(self, g):
        d = self.d
        gx = _scale(g, self.reduction, d.size) * self.derivative(d, **self.params)
        need_x, need_t = self.needs_input_grad
        return (gx if need_x else None), (-gx if need_t else None)


class MseLoss(_PointwiseLoss):
    """l = (x - t)^2;  dl/dx = 2 (x - t)."""

    def pointwise(self, d):
        return d * d

    def derivative(self, d):
        return 2 * d


class L1Loss(_PointwiseLoss):
    """l = |x - t|;  dl/dx = sign(x - t) (0 where x == t)."""

    @staticmethod
    def node_name_for(x, t, reduction, **params):
        # torch computes l1_loss as abs(x - t) then its reduction
        return {"mean": "MeanBackward0", "sum": "SumBackward0"}.get(reduction, "AbsBackward0")

    def pointwise(self, d):
        return abs(d)

    def derivative(self, d):
        return xp_of(d).sign(d)


class SmoothL1Loss(_PointwiseLoss):
    """l = d^2 / (2 beta) where |d| < beta, |d| - beta/2 elsewhere;  dl/dx = clip(d / beta, -1, 1).

    beta = 0 is plain L1 (the functional layer routes it there)."""

    def pointwise(self, d, beta):
        xp, a = xp_of(d), abs(d)
        return xp.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta).astype(d.dtype, copy=False)

    def derivative(self, d, beta):
        return xp_of(d).clip(d / beta, -1, 1)


class HuberLoss(_PointwiseLoss):
    """l = d^2 / 2 where |d| < delta, delta (|d| - delta/2) elsewhere;  dl/dx = clip(d, -delta, delta)."""

    def pointwise(self, d, delta):
        xp, a = xp_of(d), abs(d)
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(d.dtype, copy=False)

    def derivative(self, d, delta):
        return xp_of(d).clip(d, -delta, delta)


# -- binary cross entropy ------------------------------------------------------------------------

class BinaryCrossEntropy(Op):
    """l = -w (t log x + (1 - t) log(1 - x)), each log clamped below at -100 (torch's rule, so a
    confident mistake costs 100, not inf).

    dl/dx = w (x - t) / max(x (1 - x), 1e-12);   dl/dt = w (log(1 - x) - log x) = -w logit(x).
    """

    def forward(self, x, t, w, reduction):
        xp = xp_of(x)
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        loss = -(t * log_x + (1 - t) * log_1mx)
        if w is not None:
            loss = loss * w
        self.x, self.t, self.w, self.reduction, self.count = x, t, w, reduction, loss.size
        return _reduce(loss, reduction)

    def backward(self, g):
        xp, x = xp_of(g), self.x
        scale = _scale(g, self.reduction, self.count)
        if self.w is not None:
            scale = scale * self.w
        need_x, need_t = self.needs_input_grad[:2]
        gx = gt = None
        if need_x:
            gx = scale * (x - self.t) / xp.maximum(x * (1 - x), x.dtype.type(1e-12))
        if need_t:
            with np.errstate(divide="ignore"):
                gt = scale * (xp.log1p(-x) - xp.log(x))
        return gx, gt, None


class BinaryCrossEntropyWithLogits(Op):
    """BCE on logits: l = w ((1 - t) x + c softplus(-x)),  c = 1 + (p - 1) t  (p = pos_weight,
    c = 1 without it), which is -w (p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) computed
    without ever forming log(0).

    dl/dx = w ((1 - t) - c sigmoid(-x));   dl/dt = w (-x + (p - 1) softplus(-x)).
    """

    @_quiet
    def forward(self, x, t, w, pos_weight, reduction):
        softplus_neg = softplus_array(-x)  # softplus(-x) = -log sigmoid(x), stable both ways
        coefficient = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        loss = (1 - t) * x + coefficient * softplus_neg
        if w is not None:
            loss = loss * w
        self.x, self.t, self.w, self.pos_weight = x, t, w, pos_weight
        self.softplus_neg, self.coefficient, self.reduction = softplus_neg, coefficient, reduction
        self.count = loss.size
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @_quiet
    def backward(self, g):
        x, t = self.x, self.t
        scale = _scale(g, self.reduction, self.count)
        if self.w is not None:
            scale = scale * self.w
        need_x, need_t = self.needs_input_grad[:2]
        gx = gt = None
        if need_x:
            gx = scale * ((1 - t) - self.coefficient * sigmoid_array(-x))
        if need_t:
            dt = -x if self.pos_weight is None else -x + (self.pos_weight - 1) * self.softplus_neg
            gt = scale * dt
        return gx, gt, None, None


# -- classification losses over a class dim (dim 1 of (N, C, *d)) ------------------------------

def _target_weights(target, weight, ignore_index, dtype):
    """The positions kept (target != ignore_index), the target with ignored positions replaced
    by class 0 (safe to index with), and each position's class weight ``w_{t_n}`` (0 if ignored)."""
    xp = xp_of(target)
    kept = target != ignore_index
    safe = xp.where(kept, target, 0)
    if weight is None:
        w_t = kept.astype(dtype)
    else:
        w_t = weight[safe]
        w_t *= kept
    return kept, safe, w_t


def _weighted_mean_scale(g, w_t):
    """g / sum(w_t), the 'mean' factor of the class losses; 0 when every target is ignored
    (the loss is then nan, 0/0, but nothing depends on the input: torch's zero gradient)."""
    total = w_t.sum()
    return g / total if total != 0 else g * 0


def _pick_target_class(values, safe):
    """``values[n, t_n, *d]`` for every position (class dim 1): an (N, *d) array."""
    xp = xp_of(values)
    if values.ndim == 2:  # the common (N, C) case: plain fancy indexing is the cheapest
        return values[xp.arange(values.shape[0]), safe]
    return xp.take_along_axis(values, safe[:, None], axis=1)[:, 0]


def _add_to_target_class(values, safe, amounts):
    """``values[n, t_n, *d] += amounts[n, *d]`` in place (one target per position: no clashes)."""
    xp = xp_of(values)
    if values.ndim == 2:
        values[xp.arange(values.shape[0]), safe] += amounts
        return
    picked = xp.take_along_axis(values, safe[:, None], axis=1)
    picked += amounts[:, None]
    xp.put_along_axis(values, safe[:, None], picked, axis=1)


def _class_axis_shape(ndim):
    """Shape that lines a (C,) vector up with dim 1 of an (N, C, *d) array."""
    shape = [1] * ndim
    shape[1] = -1
    return shape


def _class_loss_node_name(x, reduction, label_smoothing) -> str:
    """torch's node for nll_loss / cross_entropy with class indices: NllLossBackward0 for (N, C)
    input, NllLoss2DBackward0 for (N, C, H, W) (and other shapes, viewed as one, unless unreduced);
    with label smoothing, the sum of its two terms."""
    if label_smoothing > 0:
        return "AddBackward0"
    if x.ndim <= 2:
        return "NllLossBackward0"
    if x.ndim != 4 and reduction == "none":
        return "ViewBackward0"
    return "NllLoss2DBackward0"


class NllLoss(Op):
    """Negative log likelihood of class indices: l_n = -w_{t_n} x[n, t_n] (0 where t_n is ignored).

    'mean' divides the sum by sum_n w_{t_n} (the weighted count), not by N.
    dl/dx[n, c] = -w_{t_n} [c == t_n].  Input (N, C, *d), target (N, *d) of int64.
    """

    @staticmethod
    def node_name_for(x, target, weight, reduction, ignore_index, label_smoothing=0.0):
        return _class_loss_node_name(x, reduction, label_smoothing)

    def forward(self, x, target, weight, reduction, ignore_index):
        xp = xp_of(x)
        _, safe, w_t = _target_weights(target, weight, ignore_index, x.dtype)
        loss = -w_t * _pick_target_class(x, safe)
        self.safe, self.w_t, self.shape, self.reduction = safe, w_t, x.shape, reduction
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: 0/0 = nan
                return xp.asarray(loss.sum() / w_t.sum(), dtype=x.dtype)
        return _reduce(loss, reduction)

    def backward(self, g):
        xp = xp_of(g)
        scale = self.w_t * (_weighted_mean_scale(g, self.w_t) if self.reduction == "mean" else g)
        gx = xp.zeros(self.shape, g.dtype)
        _add_to_target_class(gx, self.safe, -scale)
        return gx, None, None


class CrossEntropy(Op):
    """Cross entropy of logits and class indices, log_softmax and NLL fused, with label smoothing.

    With p = softmax(x) over dim 1, C classes, smoothing e and class weights w (all 1 if none):

        l_n = (1 - e) w_{t_n} (-log p[n, t_n])  +  e/C sum_c w_c (-log p[n, c])     (0 if ignored)

    'mean' divides by D = sum over kept n of w_{t_n}. Writing a_c = (1 - e) w_{t_n} [c == t_n] +
    e/C w_c, the gradient is dl_n/dx[n, c] = p_c sum(a) - a_c.
    """

    node_name_for = NllLoss.node_name_for  # torch's cross_entropy is log_softmax then nll_loss

    def forward(self, x, target, weight, reduction, ignore_index, label_smoothing):
        xp = xp_of(x)
        n_classes = x.shape[1]
        log_p = log_softmax_array(x, axis=1)
        kept, safe, w_t = _target_weights(target, weight, ignore_index, x.dtype)
        loss = -(1 - label_smoothing) * w_t * _pick_target_class(log_p, safe)
        if label_smoothing > 0:
            weighted = log_p if weight is None else log_p * weight.reshape(_class_axis_shape(x.ndim))
            smooth = -weighted.sum(axis=1)
            smooth *= kept
            loss += (label_smoothing / n_classes) * smooth
        self.log_p, self.safe, self.w_t, self.kept = log_p, safe, w_t, kept
        self.weight, self.reduction, self.smoothing = weight, reduction, label_smoothing
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                return xp.asarray(loss.sum() / w_t.sum(), dtype=x.dtype)
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    def backward(self, g):
        xp = xp_of(g)
        log_p, e = self.log_p, self.smoothing
        n_classes = log_p.shape[1]
        scale = _weighted_mean_scale(g, self.w_t) if self.reduction == "mean" else g
        total_weight = n_classes if self.weight is None else self.weight.sum()
        a_sum = ((1 - e) * self.w_t + (e / n_classes) * total_weight * self.kept) * scale
        gx = xp.exp(log_p)
        gx *= a_sum[:, None]
        _add_to_target_class(gx, self.safe, -(1 - e) * self.w_t * scale)
        if e > 0:
            smooth = (e / n_classes) * (scale * self.kept)[:, None]
            if self.weight is not None:
                smooth = smooth * self.weight.reshape(_class_axis_shape(log_p.ndim))
            gx -= smooth
        return gx.astype(g.dtype, copy=False), None, None


class CrossEntropyProbabilities(Op):
    """Cross entropy of logits and class probabilities t (same shape as x), smoothing e:

        t' = (1 - e) t + e/C,     l_n = -sum_c w_c t'_c log p_c,    p = softmax(x) over dim 1

    'mean' divides by the number of positions N*d1*..., whatever the weights.
    dl/dx = p sum_c(w t') - w t';   dl/dt = -(1 - e) w log p;   dl/dw_c = -sum_n t'_nc log p_nc.
    """

    @staticmethod
    def node_name_for(x, target, weight, reduction, label_smoothing):
        return "DivBackward1" if reduction == "mean" else "NegBackward0"  # torch's last steps

    def forward(self, x, target, weight, reduction, label_smoothing):
        n_classes = x.shape[1]
        log_p = log_softmax_array(x, axis=1)
        t = target if label_smoothing == 0 else target * (1 - label_smoothing) + label_smoothing / n_classes
        w = None if weight is None else weight.reshape(_class_axis_shape(x.ndim))
        weighted_t = t if w is None else t * w
        loss = -(weighted_t * log_p).sum(axis=1)
        self.log_p, self.t, self.w, self.weighted_t = log_p, t, w, weighted_t
        self.reduction, self.smoothing = reduction, label_smoothing
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    def backward(self, g):
        xp, log_p = xp_of(g), self.log_p
        count = log_p.size // log_p.shape[1]
        scale = _scale(g, self.reduction, count)
        scale = scale[:, None] if self.reduction == "none" else scale
        need_x, need_t, need_w = self.needs_input_grad
        gx = gt = gw = None
        if need_x:
            gx = xp.exp(log_p)
            gx *= self.weighted_t.sum(axis=1, keepdims=True)
            gx -= self.weighted_t
            gx *= scale
        if need_t:
            gt = -(1 - self.smoothing) * scale * log_p
            if self.w is not None:
                gt = gt * self.w
        if need_w:
            per_class = -(scale * self.t * log_p)
            gw = per_class.sum(axis=(0,) + tuple(range(2, log_p.ndim)))
        return gx, gt, gw


# -- Kullback-Leibler divergence -----------------------------------------------------------------

class KlDiv(Op):
    """Pointwise KL divergence with x = log q:

        l = t (log t - x)   (0 where t == 0)    dl/dx = -t          dl/dt = log t + 1 - x
        log_target:  l = exp(t) (t - x)          dl/dx = -exp(t)     dl/dt = exp(t) (t - x + 1)

    The functional layer turns 'batchmean' into 'sum' divided by the batch size. Infinite
    log-probabilities (log 0) give inf or nan silently, as in torch.
    """

    @staticmethod
    def node_name_for(x, t, reduction, log_target):
        if reduction == "none":  # torch's last step: t * (log t - x), or exp(t) * (t - x)
            return "MulBackward0" if log_target else "SubBackward0"
        return "MeanBackward0" if reduction == "mean" else "SumBackward0"

    @_quiet
    def forward(self, x, t, reduction, log_target):
        xp = xp_of(x)
        if log_target:
            self.exp_t = xp.exp(t)
            loss = self.exp_t * (t - x)
        else:
            t_log_t = xp.where(t == 0, 0, t * xp.log(xp.where(t == 0, 1, t)))
            loss = t_log_t - t * x
        self.x, self.t, self.reduction, self.log_target = x, t, reduction, log_target
        self.count = loss.size
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @_quiet
    def backward(self, g):
        xp, x, t = xp_of(g), self.x, self.t
        scale = _scale(g, self.reduction, self.count)
        need_x, need_t = self.needs_input_grad
        gx = gt = None
        if self.log_target:
            if need_x:
                gx = -scale * self.exp_t
            if need_t:
                gt = scale * self.exp_t * (t - x + 1)
        else:
            if need_x:
                gx = -scale * t
            if need_t:
                gt = scale * (xp.log(t) + 1 - x)
        return gx, gt
