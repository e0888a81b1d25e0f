"""Normalisation functions (torch.nn.functional surface).

Every function normalises some group of values to mean 0 and variance 1 (the *biased*
variance, dividing by the group size), then applies an optional per-feature affine map:

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    batch_norm      groups: one per channel, over the batch and all spatial positions
    instance_norm   groups: one per (sample, channel), over the spatial positions
    layer_norm      groups: one per sample, over the trailing ``normalized_shape`` dims
    group_norm      groups: one per (sample, group of C/G channels)

Batch and instance norm can keep running estimates, updated in training as

    running = (1 - momentum) * running + momentum * batch_statistic

where the variance fed into ``running_var`` is the *unbiased* one (``M / (M - 1)`` times the
biased variance used to normalise). ``local_response_norm`` divides each value by a power of
the mean square of its neighbouring channels (see ``juanji.ops.normalization``).

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> x = juanji.tensor([[1.0, 3.0], [3.0, 5.0]])
    >>> F.batch_norm(x, None, None, training=True).round(decimals=3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
"""

from __future__ import annotations

import math

import numpy as np

from ...autograd.grad_mode import no_grad
from ...backend import xp_of
from ...ops import normalization as ops
from ...ops.elementwise import Add, Mul, quiet
from ...ops.shape import Reshape
from ...kernels.batch_norm import update_running
from ...tensor import Tensor
from ._args import shape_text as _shape

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm", "rms_norm"]


# -- argument checking -------------------------------------------------------------------------


def _check_input(op: str, input, min_dims: int = 0, error=RuntimeError) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{op}: expected a floating-point input, got a {input.dtype.name} "
                                  f"tensor {_shape(input)}")
    if input.ndim < min_dims:
        raise error(f"{op}: expected input with at least {min_dims} dimensions, got {input.ndim} "
                    f"(input {_shape(input)})")


def _check_per_channel(op: str, input, channels: int, **tensors) -> None:
    """weight/bias/running stats: None, or a 1-d tensor of ``channels`` values of input's dtype."""
    for name, t in tensors.items():
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected {name} to be a Tensor or None, got {type(t).__name__}")
        if t.ndim != 1 or t.numel() != channels:
            raise RuntimeError(f"{op}: {name} should contain {channels} elements (one per channel of input "
                               f"{_shape(input)}), got {name} {_shape(t)}")
        if t.dtype is not input.dtype:
            raise RuntimeError(f"{op}: mixed dtype: {name} is {t.dtype.name} but input is {input.dtype.name}; "
                               f"all inputs must share the same dtype")


def _check_more_than_one(op: str, input, per_group: int, what: str) -> None:
    """torch's rule: batch statistics over a single value are meaningless (variance 0)."""
    if per_group == 1:
        raise ValueError(f"{op}: expected more than 1 {what} when training, got input size "
                         f"{list(input.shape)}")


@quiet  # a diverging run overflows the buffer's dtype silently, as in torch
def _update_running(running, statistic, momentum: float, factor: float = 1.0) -> None:
    """``running = (1 - momentum) * running + momentum * statistic * factor``, in place (a buffer)."""
    update_running(running._data, statistic, momentum, factor)


def _per_channel_fit(input, channels: int, *tensors) -> bool:
    """Whether each of ``tensors`` is None or a 1-d tensor of ``channels`` values of input's dtype
    (what :func:`_check_per_channel` checks, in one quick pass; that one then says what is wrong)."""
    shape, dtype = (channels,), input._data.dtype
    for t in tensors:
        if t is not None and not (isinstance(t, Tensor) and t._data.shape == shape and t._data.dtype == dtype):
            return False
    return True


# -- batch norm --------------------------------------------------------------------------------

def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Normalise each channel (dim 1) of ``(N, C, *spatial)`` over the batch and spatial dims.

    With ``training=True`` the batch statistics normalise and, when given, ``running_mean`` and
    ``running_var`` are updated in place with ``momentum`` (unbiased variance). With
    ``training=False`` the running estimates normalise, and must be given.
    """
    op = "batch_norm"
    _check_input(op, input, 2, IndexError)
    channels = input._data.shape[1]
    if not _per_channel_fit(input, channels, running_mean, running_var, weight, bias):
        _check_per_channel(op, input, channels, running_mean=running_mean, running_var=running_var,
                           weight=weight, bias=bias)
    count = input._data.size // channels if channels else 0
    if training:
        _check_more_than_one(op, input, count, "value per channel")
        if eps <= 0.0:
            raise ValueError(f"{op}: eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"{op}: eps must be non-negative, but got {eps}")
    if not training:
        for name, t in (("running_mean", running_mean), ("running_var", running_var)):
            if t is None:
                raise RuntimeError(f"{op}: {name} must be defined in evaluation mode (training=False)")
    if training:
        y, mean, var = ops.BatchNorm.apply(input, weight, bias, eps=eps)
    else:
        y = ops.batch_norm_eval(input, weight, bias, running_mean._data, running_var._data, eps)
        if y is not None:  # (nothing to record: the kernel alone)
            return y
        y, mean, var = ops.BatchNorm.apply(input, weight, bias, mean=running_mean._data,
                                           var=running_var._data, eps=eps)
    if training and count > 0:  # (buffers: written in place, outside autograd)
        if running_mean is not None:
            _update_running(running_mean, mean._data, momentum)
        if running_var is not None:
            _update_running(running_var, var._data, momentum, count / (count - 1))
    return y


# -- instance norm -----------------------------------------------------------------------------

def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) of ``(N, C, *spatial)`` over its spatial positions.

    Computed as batch norm of the input seen as ``(1, N*C, *spatial)`` (torch's method), so the
    running estimates (if given) are updated with the batch average of the per-instance statistics.
    """
    op = "instance_norm"
    _check_input(op, input)
    if use_input_stats:
        _check_more_than_one(op, input, math.prod(input.shape[2:]), "spatial element")
    n_batch, channels = input.shape[0], input.shape[1]
    _check_per_channel(op, input, channels, running_mean=running_mean, running_var=running_var,
                       weight=weight, bias=bias)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(f"{op}: expected running_mean and running_var to be defined when use_input_stats "
                           f"is false")
    if eps < 0.0 or (use_input_stats and eps <= 0.0):
        raise ValueError(f"{op}: eps must be positive, but got {eps}")
    spatial = input.shape[2:]
    as_one_batch = input.reshape((1, n_batch * channels) + tuple(spatial))
    w = weight.repeat(n_batch) if weight is not None else None
    b = bias.repeat(n_batch) if bias is not None else None
    if use_input_stats:
        y, mean, var = ops.BatchNorm.apply(as_one_batch, w, b, eps=eps)
    else:
        xp = xp_of(running_mean._data)
        y, mean, var = ops.BatchNorm.apply(as_one_batch, w, b, mean=xp.tile(running_mean._data, n_batch),
                                           var=xp.tile(running_var._data, n_batch), eps=eps)
    count = math.prod(spatial)
    if use_input_stats and n_batch > 0 and count > 0:
        with no_grad():
            per_instance_mean = mean._data.reshape(n_batch, channels).mean(axis=0)
            unbiased = var._data.reshape(n_batch, channels) * (count / (count - 1))
            if running_mean is not None:
                _update_running(running_mean, per_instance_mean, momentum)
            if running_var is not None:
                _update_running(running_var, unbiased.mean(axis=0), momentum)
    return y.reshape(input.shape)


# -- layer norm and group norm -----------------------------------------------------------------

def _normalize_rows_then_scale(input, rows: int, row_length: int, eps: float, weight, bias, node_name: str):
    """``input`` seen as ``(rows, row_length)``, each row normalised, reshaped back, then
    ``* weight`` and ``+ bias`` (each None, or a Tensor of input's dtype shaped to broadcast).

    torch computes layer and group norm as one fused node (``NativeLayerNormBackward0``,
    ``NativeGroupNormBackward0``); here they are three or four steps, and the last one is named
    ``node_name`` so that ``y.grad_fn`` reads as torch's. (Arguments are checked by the caller,
    so the steps call their Ops directly.)
    """
    y = ops.RowNormalize.apply(input.reshape(rows, row_length), eps=eps)
    steps = [(Reshape, tuple(input.shape))]
    if weight is not None:
        steps.append((Mul, weight))
    if bias is not None:
        steps.append((Add, bias))
    for position, (op, operand) in enumerate(steps, 1):
        if position == len(steps):
            op = op.variant(node_name)
        y = op.apply(y, operand)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dims given by ``normalized_shape``, then ``* weight + bias``
    (both of shape ``normalized_shape``, elementwise)."""
    op = "layer_norm"
    _check_input(op, input)
    if isinstance(normalized_shape, (int, np.integer)) or not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"{op}: normalized_shape must be a tuple or list of ints, got {normalized_shape!r}")
    shape = tuple(int(s) for s in normalized_shape)
    if len(shape) == 0:
        raise RuntimeError(f"{op}: expected normalized_shape to contain at least one element, got []")
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"{op}: given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size {_shape(input)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is None:
            continue
        if tuple(t.shape) != shape:
            raise RuntimeError(f"{op}: expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {_shape(t)} and normalized_shape = {list(shape)}")
        if t.dtype is not input.dtype:
            raise RuntimeError(f"{op}: mixed dtype: {name} is {t.dtype.name} but input is {input.dtype.name}")
    row_length = math.prod(shape)
    rows = input.numel() // row_length if row_length else 0
    return _normalize_rows_then_scale(input, rows, row_length, eps, weight, bias, "NativeLayerNormBackward0")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the C channels into ``num_groups`` groups; normalise each (sample, group) over its
    channels and spatial positions, then ``* weight[c] + bias[c]`` per channel."""
    op = "group_norm"
    _check_input(op, input)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected at least 2 dimensions for input tensor (N, C, *), but received "
                           f"{input.ndim} (input {_shape(input)})")
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups <= 0:
        raise ValueError(f"{op}: num_groups must be a positive int, got {num_groups!r}")
    n_batch, channels = input.shape[0], input.shape[1]
    # torch's check (made before the divisibility one): the input seen as (N*C/G, G, *spatial)
    _check_more_than_one(op, input, n_batch * channels // num_groups * math.prod(input.shape[2:]),
                         "value per channel")
    if channels % num_groups != 0:
        raise RuntimeError(f"{op}: expected number of channels in input to be divisible by num_groups, but "
                           f"got input of shape {_shape(input)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != channels):
            raise RuntimeError(f"{op}: expected {name} to be a vector of size equal to the number of channels "
                               f"in input, but got {name} of shape {_shape(t)} and input of shape {_shape(input)}")
        if t is not None and t.dtype is not input.dtype:
            raise RuntimeError(f"{op}: mixed dtype: {name} is {t.dtype.name} but input is {input.dtype.name}")
    group_size = channels // num_groups * math.prod(input.shape[2:])
    per_channel = (1, channels) + (1,) * (input.ndim - 2)
    weight = weight.reshape(per_channel) if weight is not None else None
    bias = bias.reshape(per_channel) if bias is not None else None
    return _normalize_rows_then_scale(input, n_batch * num_groups, group_size, eps, weight, bias,
                                      "NativeGroupNormBackward0")


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2 over normalized_shape) + eps) * weight``; ``eps`` None means the
    dtype's machine epsilon (torch's default)."""
    op = "rms_norm"
    _check_input(op, input)
    if isinstance(normalized_shape, (int, np.integer)) or not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"{op}: normalized_shape must be a tuple or list of ints, got {normalized_shape!r}")
    shape = tuple(int(s) for s in normalized_shape)
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"{op}: given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size {_shape(input)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"{op}: expected weight to be of same shape as normalized_shape, but got weight of "
                           f"shape {_shape(weight)} and normalized_shape = {list(shape)}")
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


# -- local response norm -----------------------------------------------------------------------

def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x_c / (k + alpha / size * sum_{c'} x_{c'}^2)^beta`` with ``c'`` over the ``size``
    channels ``c - size//2 .. c + (size-1)//2`` (zeros beyond the edges), as in AlexNet."""
    op = "local_response_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"{op}: expected 3D or higher dimensionality input (N, C, *), got {input.ndim} "
                         f"dimensions (input {_shape(input)})")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"{op}: size must be an int, got {size!r}")
    if input.numel() == 0:
        return input
    if size <= 0:
        raise RuntimeError(f"{op}: size should be greater than zero, but got {size}")
    _check_input(op, input)
    return ops.LocalResponseNorm.apply(input, size=int(size), alpha=float(alpha), beta=float(beta),
                                        k=float(k))
