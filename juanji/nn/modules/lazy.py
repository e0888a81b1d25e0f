"""Lazy modules: layers that learn their input size from the first batch.

``nn.LazyLinear(10)`` is a ``Linear`` whose ``in_features`` is not given: until the first
forward its ``weight`` and ``bias`` are :class:`UninitializedParameter` s (no shape, no values).
The first call reads the size from the input, gives the parameters their shapes, initialises
them as the ordinary layer would (from juanji's generator), and the module *becomes* the
ordinary layer: its class is swapped to ``Linear`` (``cls_to_become``), so it prints, saves and
runs exactly like one.

    layer          inferred from the first input                  becomes
    LazyLinear     in_features  = input.shape[-1]                 Linear
    LazyConvNd     in_channels  = input.shape[1] (0 if unbatched)  ConvNd
    LazyConvTransposeNd  in_channels, the same                    ConvTransposeNd
    LazyBatchNormNd      num_features = input.shape[1]            BatchNormNd
    LazyInstanceNormNd   num_features = the channel dim            InstanceNormNd

Until then the parameters are the same objects they will stay (they are filled in place), so
an optimiser may be built before the first forward, as in torch. Anything that needs their
values or shape (``numel()``, ``init.*``, arithmetic) raises a ValueError saying so, and
``.shape`` a RuntimeError, as in torch. ``state_dict()`` holds the uninitialized parameters
themselves; ``load_state_dict`` of an initialized state gives them their shapes (and the first
forward then keeps the loaded values).

    >>> import juanji as torch
    >>> from juanji import nn
    >>> net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    >>> net[0].weight
    <UninitializedParameter>
    >>> net(torch.rand(2, 20)).shape
    juanji.Size([2, 10])
    >>> net[0]
    Linear(in_features=20, out_features=256, bias=True)

Deliberate differences from torch: a lazy convolution checks ``out_channels`` and ``groups``
when it is built (torch fails at the first forward); a lazy batch or instance norm checks the
input's rank before reading its channel count (so an unbatched instance-norm input gives its
channel dim, where torch reads dim 1); and a lazy convolution or norm loaded from a state_dict
before its first batch takes ``in_channels``/``num_features`` from the loaded tensors (torch
leaves them 0, which makes its instance norm refuse every input).
"""

from __future__ import annotations

import itertools

from ... import _dtype as dt
from ...autograd.grad_mode import no_grad
from ...tensor import tensor
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d,
                            InstanceNorm3d, _BatchNorm, _InstanceNorm)
from ..functional._args import shape_text as _shape_text

# (as torch.nn: LazyModuleMixin is reached through this module, not juanji.nn; the uninitialized
# tensors live in juanji.nn.parameter, as in torch, and are re-exported here and by juanji.nn)
__all__ = ["UninitializedParameter", "UninitializedBuffer",
           "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


# -- the mixin -------------------------------------------------------------------------------

def _run_lazy_load_hook(module, *args):
    """Module's load_state_dict pre-hooks get the module first; the lazy hook is a method."""
    module._lazy_load_hook(*args)


class LazyModuleMixin:
    """Makes a layer lazy: mixed in before the layer's class (``class LazyLinear(LazyModuleMixin,
    Linear)``), it runs ``initialize_parameters(*inputs)`` before the first forward, then turns
    the module into ``cls_to_become``.

    A subclass's ``__init__`` builds the ordinary layer with a size of 0 and then replaces the
    parameters it cannot shape yet by :class:`UninitializedParameter` s; its
    ``initialize_parameters`` materializes them from the input and calls ``reset_parameters``.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self.register_load_state_dict_pre_hook(_run_lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Give the uninitialized parameters their shapes from the inputs and initialise them."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer of this module (not its children) is still uninitialized."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        """The forward pre-hook: initialise from the first inputs, drop the hooks, change class."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        del module._initialize_hook
        del module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                        error_msgs) -> None:
        """Before loading: an initialized entry gives an uninitialized parameter its shape (the
        values are then copied in as usual, and the first forward keeps them)."""
        for name, current in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if current is not None and key in state_dict and is_lazy(current) and not is_lazy(state_dict[key]):
                with no_grad():
                    current.materialize(state_dict[key].shape)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # An uninitialized entry loaded into a still uninitialized tensor leaves it as it is: there
        # is nothing to copy, and no shape to compare (the base Module would ask for one).
        still_lazy = {}
        for name, current in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if current is not None and is_lazy(current) and is_lazy(state_dict.get(key)):
                still_lazy[key] = state_dict.pop(key)
        try:
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)
        finally:
            state_dict.update(still_lazy)
        for key in still_lazy:  # it was there, so it is not missing
            if key in missing_keys:
                missing_keys.remove(key)

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        # an uninitialized tensor goes in as itself (there is no data to detach)
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if (keep_vars or is_lazy(param)) else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if (keep_vars or is_lazy(buf)) else buf.detach()

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with `DataParallel`. Run a dummy "
                           "forward pass to correctly initialize the modules")


def _dims(input) -> int:
    return len(input.shape) if hasattr(input, "shape") else 0


# -- LazyLinear ------------------------------------------------------------------------------

class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is inferred from ``input.shape[-1]``; weight and
    bias are then drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) as Linear's.

    Args:
        out_features: size of each output's last dim.
        bias: learn an additive bias (default True).
    """

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__(0, 0, False)  # bias=False: no tensor that would be replaced at once
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        """in_features = input.shape[-1]; materialize and initialise weight and bias."""
        if _dims(input) == 0:
            raise RuntimeError(f"{type(self).__name__}: expected an input with at least 1 dimension (its last one "
                               "is in_features), got a 0-dimensional input")
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # parameters loaded from a state_dict: check the input against them
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"{type(self).__name__}: the in_features inferred from input "
                                     f"{_shape_text(input)}: {input.shape[-1]} is not equal to in_features from "
                                     f"self.weight {_shape_text(self.weight)}: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


# -- lazy convolutions -----------------------------------------------------------------------

class _LazyConvXdMixin(LazyModuleMixin):
    """in_channels from the input's channel dim (dim 1 of a batch, dim 0 of one sample)."""

    def _check(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
               output_padding, groups, padding_mode):
        # in_channels (0 here) comes with the first input; check everything else as the layer
        # does, with groups standing in for in_channels (a positive multiple of groups)
        if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
            raise ValueError(f"{type(self).__name__}: groups must be a positive integer, got groups={groups!r}")
        super()._check(groups, out_channels, kernel_size, stride, padding, dilation, transposed,
                       output_padding, groups, padding_mode)

    def _become_lazy(self, bias, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        """in_channels from the input; materialize and initialise weight and bias."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError(f"{type(self).__name__}: in_channels must be divisible by groups, got "
                                 f"in_channels={self.in_channels} (input {_shape_text(input)}) and "
                                 f"groups={self.groups}")
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
            else:
                shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
            with no_grad():
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()
        elif self.in_channels == 0:  # weights loaded from a state_dict: they tell the size
            self.in_channels = self.weight.shape[0] if self.transposed else self.weight.shape[1] * self.groups

    def _get_in_channels(self, input) -> int:
        unbatched = self.n_spatial + 1
        if _dims(input) not in (unbatched, unbatched + 1):
            got = _shape_text(input) if hasattr(input, "shape") else type(input).__name__
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {got}")
        return input.shape[1] if len(input.shape) == unbatched + 1 else input.shape[0]


class _LazyConv(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                         device, dtype)
        self._become_lazy(bias, device, dtype)


class _LazyConvTranspose(_LazyConvXdMixin):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(0, out_channels, kernel_size, stride, padding, output_padding, groups, False, dilation,
                         padding_mode, device, dtype)
        self._become_lazy(bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """A :class:`Conv1d` whose ``in_channels`` is inferred from the input's channel dim."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A :class:`Conv2d` whose ``in_channels`` is inferred from the input's channel dim."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A :class:`Conv3d` whose ``in_channels`` is inferred from the input's channel dim."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A :class:`ConvTranspose1d` whose ``in_channels`` is inferred from the input's channel dim."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A :class:`ConvTranspose2d` whose ``in_channels`` is inferred from the input's channel dim."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A :class:`ConvTranspose3d` whose ``in_channels`` is inferred from the input's channel dim."""

    cls_to_become = ConvTranspose3d


# -- lazy batch and instance norm ------------------------------------------------------------

class _LazyNormBase(LazyModuleMixin):
    """num_features from the input's channel dim; weight (ones), bias (zeros), running_mean
    (zeros) and running_var (ones) take that length. Defaults as torch's lazy norms: affine and
    track_running_stats True (also for instance norm, whose eager defaults are False)."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None,
                 *, bias=True):
        # affine, bias and track_running_stats False: no tensors that would be replaced at once
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=dt.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _feature_dim(self, input) -> int:
        return 1

    def initialize_parameters(self, input) -> None:
        """num_features from the input's channel dim; materialize and initialise."""
        if self.has_uninitialized_params():
            self._check_input_dim(input)  # before reading a channel count from it
            self.num_features = input.shape[self._feature_dim(input)]
            with no_grad():
                for value in self._per_feature_tensors():
                    value.materialize((self.num_features,))
                self.reset_parameters()
        elif self.num_features == 0:  # tensors loaded from a state_dict: they tell the size
            self.num_features = next((len(t) for t in self._per_feature_tensors()), 0)

    def _per_feature_tensors(self) -> list:
        """weight, bias, running_mean and running_var, those that exist."""
        tensors = (self.weight, self.bias, self.running_mean, self.running_var)
        return [t for t in tensors if t is not None]


class _LazyInstanceNorm(_LazyNormBase):
    def _feature_dim(self, input) -> int:
        return 0 if len(input.shape) == self._allowed_dims[0] else 1  # unbatched: (C, *spatial)


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """A :class:`BatchNorm1d` whose ``num_features`` is inferred from ``input.shape[1]``."""

    cls_to_become = BatchNorm1d
    _allowed_dims, _layout = BatchNorm1d._allowed_dims, BatchNorm1d._layout


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A :class:`BatchNorm2d` whose ``num_features`` is inferred from ``input.shape[1]``."""

    cls_to_become = BatchNorm2d
    _allowed_dims, _layout = BatchNorm2d._allowed_dims, BatchNorm2d._layout


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A :class:`BatchNorm3d` whose ``num_features`` is inferred from ``input.shape[1]``."""

    cls_to_become = BatchNorm3d
    _allowed_dims, _layout = BatchNorm3d._allowed_dims, BatchNorm3d._layout


class LazyInstanceNorm1d(_LazyInstanceNorm, _InstanceNorm):
    """An :class:`InstanceNorm1d` whose ``num_features`` is inferred from the input's channel dim."""

    cls_to_become = InstanceNorm1d
    _allowed_dims, _layout = InstanceNorm1d._allowed_dims, InstanceNorm1d._layout


class LazyInstanceNorm2d(_LazyInstanceNorm, _InstanceNorm):
    """An :class:`InstanceNorm2d` whose ``num_features`` is inferred from the input's channel dim."""

    cls_to_become = InstanceNorm2d
    _allowed_dims, _layout = InstanceNorm2d._allowed_dims, InstanceNorm2d._layout


class LazyInstanceNorm3d(_LazyInstanceNorm, _InstanceNorm):
    """An :class:`InstanceNorm3d` whose ``num_features`` is inferred from the input's channel dim."""

    cls_to_become = InstanceNorm3d
    _allowed_dims, _layout = InstanceNorm3d._allowed_dims, InstanceNorm3d._layout
