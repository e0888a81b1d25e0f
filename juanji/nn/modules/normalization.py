"""Normalisation modules (torch.nn surface): BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm,
GroupNorm, RMSNorm and LocalResponseNorm.

(torch spreads these over batchnorm.py, instancenorm.py and normalization.py; here they share
one file.) All compute ``(x - mean) / sqrt(var + eps) * weight + bias``; they differ in which
values a mean is taken over (see ``juanji.nn.functional.normalization``).

Batch and instance norm keep, when ``track_running_stats``, the buffers ``running_mean``
(zeros), ``running_var`` (ones) and ``num_batches_tracked`` (an int64 count), under torch's
state_dict keys. In training each forward updates them with

    running = (1 - momentum) * running + momentum * batch_statistic

(``momentum=None``: a cumulative average, ``momentum = 1 / num_batches_tracked``); in eval mode
the running estimates normalise instead of the batch statistics.

    >>> import juanji as torch
    >>> bn = torch.nn.BatchNorm2d(3)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
"""

from __future__ import annotations

import numbers
import warnings

from ... import _dtype as dt
from ... import creation
from ...autograd.grad_mode import no_grad
from ...tensor import tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module
from ..functional._args import shape_text as _shape

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm"]


def _register_affine(module, enabled: bool, shape, bias: bool, device, dtype) -> None:
    """``module.weight`` and ``module.bias`` of ``shape`` (values set by :func:`_reset_affine`),
    or registered as None: not affine at all, or affine without a bias."""
    if enabled:
        module.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            module.bias = Parameter(creation.empty(shape, dtype=dtype, device=device))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module) -> None:
    """The identity transform: weight ones, bias zeros (those that exist)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """What batch norm and instance norm share: the affine parameters and the running buffers."""

    _version = 2
    _layout = ""  # the expected input layouts, for error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _register_affine(self, affine, num_features, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dt.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input) -> None:
        if input.ndim not in self._allowed_dims:
            dims = " or ".join(f"{d}D" for d in self._allowed_dims)
            raise ValueError(f"{type(self).__name__}: expected {dims} input {self._layout}, got "
                             f"{input.ndim}D input {_shape(input)}")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # checkpoints from before num_batches_tracked existed (torch < 0.4.1) load with a count of 0
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                                   else tensor(0, dtype=dt.int64))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


# -- batch norm --------------------------------------------------------------------------------

class _BatchNorm(_NormBase):
    """Batch statistics in training, running estimates in eval (when tracked)."""

    def _check_channels(self, input) -> None:
        if input.ndim >= 2 and input.shape[1] != self.num_features and (
                self.affine or self.track_running_stats):
            raise RuntimeError(f"{type(self).__name__}: expected input with {self.num_features} channels "
                               f"(num_features={self.num_features}), got input {_shape(input)}")

    def forward(self, input):
        self._check_input_dim(input)
        self._check_channels(input)
        momentum, training = self.momentum, self.training
        factor = 0.0 if momentum is None else momentum
        if training and self.track_running_stats:
            tracked = self.num_batches_tracked
            if tracked is not None:
                tracked._data += 1  # (a buffer: counted in place, outside autograd, as add_ under no_grad)
                if momentum is None:  # cumulative moving average
                    factor = 1.0 / float(tracked)
        running_mean, running_var = self.running_mean, self.running_var
        # batch statistics in training, and in eval when no running estimates are kept
        use_batch_stats = training or (running_mean is None and running_var is None)
        # the running estimates are passed when they are updated (training) or used (eval)
        pass_running = not training or self.track_running_stats
        return self._batch_norm(input, running_mean if pass_running else None,
                                running_var if pass_running else None, use_batch_stats, factor)

    def _batch_norm(self, input, running_mean, running_var, use_batch_stats: bool, factor: float):
        """The normalisation itself (SyncBatchNorm swaps in the one across processes)."""
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, use_batch_stats, factor,
                            self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch norm over ``(N, C)`` or ``(N, C, L)``: statistics per channel over N (and L).

    Args:
        num_features: C.
        eps: added to the variance (default 1e-5).
        momentum: running-estimate update weight (default 0.1; None = cumulative average).
        affine: learn ``weight`` (ones) and ``bias`` (zeros) (default True).
        track_running_stats: keep running estimates and use them in eval (default True).
    """

    _allowed_dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over ``(N, C, H, W)``: statistics per channel over N, H, W (see BatchNorm1d)."""

    _allowed_dims = (4,)
    _layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch norm over ``(N, C, D, H, W)``: statistics per channel over N, D, H, W."""

    _allowed_dims = (5,)
    _layout = "(N, C, D, H, W)"


# -- instance norm -----------------------------------------------------------------------------

class _InstanceNorm(_NormBase):
    """Statistics per (sample, channel) over the spatial dims; unbatched input accepted."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False,
                 device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.ndim == self._allowed_dims[0]
        feature_dim = 0 if unbatched else 1
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"{type(self).__name__}: expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: {input.shape[feature_dim]} "
                                 f"(input {_shape(input)})")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                          "warning by not passing in num_features, which is not used because affine=False",
                          stacklevel=2)
        batched = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(batched, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # running stats saved by torch < 0.4 for a layer that no longer tracks them: say so
        version = local_metadata.get("version", None)
        if version is None and not self.track_running_stats:
            keys = [prefix + name for name in ("running_mean", "running_var") if prefix + name in state_dict]
            if keys:
                error_msgs.append(
                    "Unexpected running stats buffer(s) {names} for {klass} with track_running_stats=False. "
                    "If state_dict is a checkpoint saved before 0.4.0, this may be expected because {klass} "
                    "does not track running stats by default since 0.4.0. Please remove these keys from "
                    "state_dict. If the running stats are actually needed, instead set track_running_stats=True "
                    "in {klass} to enable them. See the documentation of {klass} for details.".format(
                        names=" and ".join(f'"{k}"' for k in keys), klass=type(self).__name__))
                for key in keys:
                    state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over ``(N, C, L)`` or ``(C, L)``. Defaults: affine=False,
    track_running_stats=False (unlike BatchNorm)."""

    _allowed_dims = (2, 3)
    _layout = "(C, L) or (N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over ``(N, C, H, W)`` or ``(C, H, W)``."""

    _allowed_dims = (3, 4)
    _layout = "(C, H, W) or (N, C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    _allowed_dims = (4, 5)
    _layout = "(C, D, H, W) or (N, C, D, H, W)"


# -- layer norm, group norm, RMS norm ----------------------------------------------------------

def _as_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(Module):
    """Normalise over the trailing dims ``normalized_shape`` of each sample; ``weight`` (ones)
    and ``bias`` (zeros) have shape ``normalized_shape`` (elementwise affine)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, elementwise_affine, self.normalized_shape, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise each (sample, group of ``num_channels / num_groups`` channels); per-channel
    ``weight`` (ones) and ``bias`` (zeros). GroupNorm(1, C) is layer norm over (C, *spatial) with
    per-channel affine; GroupNorm(C, C) is instance norm with affine."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, affine, num_channels, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing dims ``normalized_shape``."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.empty(self.normalized_shape, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


# -- local response norm -----------------------------------------------------------------------

class LocalResponseNorm(Module):
    """AlexNet's normalisation across channels: ``x_c / (k + alpha/size * sum x_{c'}^2)^beta``
    over ``size`` neighbouring channels (see ``F.local_response_norm``)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
