"""Loss functions (torch.nn.functional surface).

Each function checks shapes, dtypes and arguments (errors name the loss, what it expected and
what it got), then calls one fused primitive from ``juanji.ops.loss``, where the formulas and
gradients are written.

``reduction``: 'none' (one loss per element or sample), 'sum', or 'mean' (the default). The
deprecated ``size_average``/``reduce`` arguments still work and override it, as in torch.

Shapes (C classes, N samples, optional extra dims d1, d2, ... e.g. the pixels of a
segmentation map):

    mse / l1 / smooth_l1 / huber / kl_div   input and target of the same (broadcastable) shape
    binary_cross_entropy(_with_logits)      input and target of the same shape
    nll_loss / cross_entropy                input (C), (N, C) or (N, C, d1, ...);
                                            target of class indices (), (N) or (N, d1, ...),
                                            or (cross_entropy) class probabilities shaped like input

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> logits = juanji.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> round(F.cross_entropy(logits, juanji.tensor([0, 1])).item(), 4)
    0.1269
"""

from __future__ import annotations

import warnings

import numpy as np

from ... import _dtype as dt
from ...ops import loss as ops
from .activation import _check_floating, _check_tensor, _shape

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "kl_div"]

_REDUCTIONS = ("none", "mean", "sum")


# -- argument checking ---------------------------------------------------------------------------

def _size(t) -> str:
    return f"juanji.Size({list(t.shape)})"


def _reduction(op: str, size_average, reduce, reduction: str, allowed=_REDUCTIONS) -> str:
    """The reduction to use: the deprecated size_average/reduce pair wins when given (torch's rule)."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                      f"{'none' if reduce is False else 'mean' if size_average is not False else 'sum'}' "
                      "instead.", stacklevel=3)
        if reduce is False:
            return "none"
        return "mean" if size_average is not False else "sum"
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (expected one of {names})")
    return reduction


def _common_float(op: str, *tensors):
    """Cast the given tensors (None skipped) to their promoted dtype, which must be floating."""
    present = [t for t in tensors if t is not None]
    common = present[0].dtype
    for t in present[1:]:
        common = dt.promote_types(common, t.dtype)
    if not common.is_floating_point:
        names = " and ".join(t.dtype.name for t in present)
        raise NotImplementedError(f"{op}: expected floating-point tensors, got {names}")
    return [None if t is None else t._cast(common) for t in tensors]


def _warn_broadcast(op: str, input, target) -> None:
    """torch warns (and broadcasts) when a regression target is shaped unlike the input."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_size(target)}) that is different to the input size "
                      f"({_size(input)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=4)
        try:
            np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise RuntimeError(f"{op}: the target {_shape(target)} cannot be broadcast to the input "
                               f"{_shape(input)}") from None


def _constant(op: str, value, arg: str, dtype):
    """A weight-like argument torch does not differentiate: its array, cast to ``dtype``."""
    if value is None:
        return None
    _check_tensor(op, value, arg)
    if value.requires_grad:
        raise RuntimeError(f"{op}: the loss is not differentiable with respect to {arg}; pass a {arg} "
                           "that does not require grad (e.g. weight.detach())")
    return value._data.astype(dtype.np, copy=False)


def _check_broadcasts_to(op: str, value, arg: str, shape) -> None:
    try:
        ok = np.broadcast_shapes(tuple(value.shape), tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{op}: expected {arg} that broadcasts to the input {list(shape)}, got {arg} "
                           f"{_shape(value)}")


# -- regression ----------------------------------------------------------------------------------

def _pointwise(op: str, primitive, input, target, reduction, weight, weighted_mean, **params):
    """Shared body of the regression losses: checks, then the primitive, then an optional weight."""
    _check_tensor(op, input)
    _check_tensor(op, target, "target")
    _warn_broadcast(op, input, target)
    input, target = _common_float(op, input, target)
    if weight is None:
        return primitive.apply(input, target, reduction=reduction, **params)
    _check_tensor(op, weight, "weight")
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weights and input must have the same size, got weight {_shape(weight)} "
                         f"and input {_shape(input)}")
    loss = primitive.apply(input, target, reduction="none", **params) * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    # torch divides by the total weight for mse/l1 but takes a plain mean for huber
    return loss.sum() / weight.sum() if weighted_mean else loss.mean()


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Squared error (x - y)^2, reduced; ``weight`` (shaped like input) scales each element and
    'mean' then divides by sum(weight)."""
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    return _pointwise("mse_loss", ops.MseLoss, input, target, reduction, weight, weighted_mean=True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Absolute error |x - y|, reduced; ``weight`` as in :func:`mse_loss`."""
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    return _pointwise("l1_loss", ops.L1Loss, input, target, reduction, weight, weighted_mean=True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 (x - y)^2 / beta where |x - y| < beta, |x - y| - beta/2 elsewhere (beta = 0: L1)."""
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got beta={beta}")
    if beta == 0:
        return _pointwise("smooth_l1_loss", ops.L1Loss, input, target, reduction, None, True)
    return _pointwise("smooth_l1_loss", ops.SmoothL1Loss, input, target, reduction, None, True, beta=beta)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 (x - y)^2 where |x - y| < delta, delta (|x - y| - delta/2) elsewhere;
    with ``weight``, 'mean' is the plain mean of the weighted losses (torch's rule)."""
    reduction = _reduction("huber_loss", None, None, reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got delta={delta}")
    return _pointwise("huber_loss", ops.HuberLoss, input, target, reduction, weight, weighted_mean=False,
                      delta=delta)


# -- binary classification ---------------------------------------------------------------------

def _check_unit_interval(op: str, values, arg: str) -> None:
    arr = values._data
    if arr.size and not bool(((arr >= 0) & (arr <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of {arg} should be between 0 and 1, got values in "
                           f"[{float(arr.min()):g}, {float(arr.max()):g}]")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1], each log clamped at -100.
    ``weight`` broadcasts against the input."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_floating(op, input)
    _check_tensor(op, target, "target")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: using a target size ({_size(target)}) that is different to the input size "
                         f"({_size(input)}) is deprecated. Please ensure they have the same size.")
    if target.dtype is not input.dtype:
        raise RuntimeError(f"{op}: expected a target of the input's dtype {input.dtype.name}, got "
                           f"{target.dtype.name}")
    _check_unit_interval(op, input, "input")
    _check_unit_interval(op, target, "target")
    if weight is not None:
        _check_tensor(op, weight, "weight")
        _check_broadcasts_to(op, weight, "weight", input.shape)
    w = _constant(op, weight, "weight", input.dtype)
    return ops.BinaryCrossEntropy.apply(input, target, w, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross entropy of sigmoid(x), computed from the logits x without overflow:
    -w (p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), p = ``pos_weight`` (per class,
    broadcast along the last dim) weighing the positive examples."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_tensor(op, input)
    _check_tensor(op, target, "target")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target size ({_size(target)}) must be the same as input size ({_size(input)})")
    input, target = _common_float(op, input, target)
    for arg, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is not None:
            _check_tensor(op, value, arg)
            _check_broadcasts_to(op, value, arg, input.shape)
    w = _constant(op, weight, "weight", input.dtype)
    p = _constant(op, pos_weight, "pos_weight", input.dtype)
    return ops.BinaryCrossEntropyWithLogits.apply(input, target, w, p, reduction=reduction)


# -- classification over C classes -----------------------------------------------------------------

def _check_class_input(op: str, input) -> None:
    _check_floating(op, input)
    if input.ndim == 0:
        raise RuntimeError(f"{op}: expected input of shape (C), (N, C) or (N, C, d1, ...), got a 0-d input")


def _check_indices(op: str, input, target, ignore_index: int, probabilities_allowed: bool) -> None:
    """Target of class indices: integer, shaped like the input without its class dim, in range."""
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if not target.dtype.is_floating_point and target.dtype not in (dt.int64, dt.uint8):
        raise RuntimeError(f"{op}: expected a target of class indices of dtype int64 (or uint8), got "
                           f"{target.dtype.name}")
    if target.dtype.is_floating_point:
        also = (f" or class probabilities (a floating-point target of shape {list(input.shape)})"
                if probabilities_allowed else "")
        raise RuntimeError(f"{op}: expected class indices (an int64 target of shape {list(expected)}){also}, "
                           f"got a {target.dtype.name} target {_shape(target)}")
    if tuple(target.shape) != expected:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ValueError(f"{op}: expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}) (input {_shape(input)}, target {_shape(target)})")
        raise RuntimeError(f"{op}: expected a target of class indices of shape {list(expected)} for input "
                           f"{_shape(input)}, got target {_shape(target)}")
    n_classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    t = target._data
    out_of_range = ((t < 0) | (t >= n_classes)) & (t != ignore_index)
    if out_of_range.any():
        bad = int(t[out_of_range].reshape(-1)[0])
        raise IndexError(f"{op}: target {bad} is out of bounds for {n_classes} classes")


def _check_class_weight(op: str, input, weight, differentiable: bool = False):
    """A weight of one entry per class (dim 1, or dim 0 of an unbatched input)."""
    if weight is None:
        return None
    _check_tensor(op, weight, "weight")
    n_classes = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(f"{op}: expected a weight with one entry per class ({n_classes}), got weight "
                           f"{_shape(weight)}")
    if not differentiable and weight.dtype is not input.dtype:
        raise RuntimeError(f"{op}: expected a weight of the input's dtype {input.dtype.name}, got "
                           f"{weight.dtype.name}")
    return weight


def _batched(input, target):
    """An unbatched (C,) input with a 0-d target as a batch of one: (1, C) and (1,)."""
    if input.ndim == 1:
        return input.reshape(1, input.shape[0]), target.reshape(1), True
    return input, target, False


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """-w[y_n] x[n, y_n] for log-probabilities x (e.g. from log_softmax) and class indices y;
    targets equal to ``ignore_index`` count for nothing; 'mean' divides by sum_n w[y_n]."""
    op = "nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_class_input(op, input)
    _check_tensor(op, target, "target")
    _check_indices(op, input, target, ignore_index, probabilities_allowed=False)
    weight = _check_class_weight(op, input, weight)
    w = _constant(op, weight, "weight", input.dtype)
    x, t, unbatched = _batched(input, target)
    loss = ops.NllLoss.apply(x, t._data, w, reduction=reduction, ignore_index=ignore_index)
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross entropy of logits x against class indices or class probabilities y:
    nll_loss(log_softmax(x, dim=1), y) for indices, -sum_c w_c y_c log_softmax(x)_c for
    probabilities. ``label_smoothing`` e mixes the target with the uniform distribution:
    (1 - e) y + e / C."""
    op = "cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_class_input(op, input)
    _check_tensor(op, target, "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if tuple(target.shape) == tuple(input.shape):
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    _check_indices(op, input, target, ignore_index, probabilities_allowed=True)
    weight = _check_class_weight(op, input, weight)
    w = _constant(op, weight, "weight", input.dtype)
    x, t, unbatched = _batched(input, target)
    loss = ops.CrossEntropy.apply(x, t._data, w, reduction=reduction, ignore_index=ignore_index,
                                  label_smoothing=float(label_smoothing))
    return loss.reshape(()) if unbatched and reduction == "none" else loss


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    op = "cross_entropy"
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"{op}: a target shaped like the input {_shape(input)} holds class probabilities "
                           f"and must be floating-point, got {target.dtype.name} (class indices have shape "
                           f"{list(input.shape[:1]) + list(input.shape[2:]) if input.ndim >= 2 else []})")
    _check_class_weight(op, input, weight, differentiable=True)
    input, target, weight = _common_float(op, input, target, weight)
    x, t, unbatched = input, target, False
    if input.ndim == 1:
        x, t, unbatched = input.reshape(1, -1), target.reshape(1, -1), True
    loss = ops.CrossEntropyProbabilities.apply(x, t, weight, reduction=reduction,
                                               label_smoothing=float(label_smoothing))
    return loss.reshape(()) if unbatched and reduction == "none" else loss


# -- distributions ------------------------------------------------------------------------------

def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence y (log y - x) with x = log q the input's log-probabilities
    (``log_target``: y given as log y). 'batchmean' (sum / batch size) is the true KL divergence;
    'mean' divides by every element and is kept for compatibility (with torch's warning)."""
    op = "kl_div"
    legacy = size_average is not None or reduce is not None
    reduction = _reduction(op, size_average, reduce, reduction, allowed=_REDUCTIONS + ("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    _check_tensor(op, input)
    _check_tensor(op, target, "target")
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
    except ValueError:
        raise RuntimeError(f"{op}: the target {_shape(target)} cannot be broadcast to the input "
                           f"{_shape(input)}") from None
    input, target = _common_float(op, input, target)
    inner = "sum" if reduction == "batchmean" else reduction
    loss = ops.KlDiv.apply(input, target, reduction=inner, log_target=bool(log_target))
    if reduction == "batchmean" and input.ndim != 0:
        loss = loss / input.shape[0]
    return loss
