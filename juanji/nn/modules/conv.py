"""Convolution modules (torch.nn surface): Conv1d/2d/3d and ConvTranspose1d/2d/3d.

One base class, ``_ConvNd``, checks the arguments when the layer is built (so a bad layer
fails where it is written, not at its first batch), holds the weight and bias, and sets up
padding modes; the 1d/2d/3d classes only fix the number of spatial dims. The arithmetic is
all in ``nn.functional`` (see ``juanji/nn/functional/conv.py`` for the formulas).

Shapes (``G`` = groups):

    ConvNd           weight (C_out, C_in/G, *kernel)     (N, C_in, *in) -> (N, C_out, *out)
    ConvTransposeNd  weight (C_in, C_out/G, *kernel)     (N, C_in, *in) -> (N, C_out, *out)

Default initialisation (torch's): ``kaiming_uniform_(weight, a=sqrt(5))``, which is
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = weight.shape[1] * prod(kernel)``, and the
bias from the same range.

    >>> import juanji as torch
    >>> from juanji import nn
    >>> nn.Conv2d(1, 6, 5, padding=2)(torch.randn(8, 1, 28, 28)).shape
    juanji.Size([8, 6, 28, 28])
"""

from __future__ import annotations

import math

from ... import creation
from .. import functional as F
from .. import init
from ..functional.conv import _ntuple, same_or_valid_padding
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: argument checks, parameters, init and repr."""

    n_spatial = 0
    _function = None

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        name, n = type(self).__name__, self.n_spatial
        kernel_size = _ntuple(name, "kernel_size", kernel_size, n)
        stride = _ntuple(name, "stride", stride, n)
        dilation = _ntuple(name, "dilation", dilation, n)
        output_padding = _ntuple(name, "output_padding", output_padding, n)
        self._check(in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                    output_padding, groups, padding_mode)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding if isinstance(padding, str) else _ntuple(name, "padding", padding, n)
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's argument for the non-zero padding modes: (lo, hi) pairs, last dim first
        pairs = (same_or_valid_padding(name, padding, kernel_size, stride, dilation)
                 if isinstance(padding, str) else tuple((p, p) for p in self.padding))
        self._reversed_padding_repeated_twice = [amount for pair in reversed(pairs) for amount in pair]
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _check(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
               output_padding, groups, padding_mode):
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {arg}={value!r}")
        if in_channels % groups != 0:
            raise ValueError(f"{name}: in_channels must be divisible by groups, got in_channels={in_channels} "
                             f"and groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"{name}: out_channels must be divisible by groups, got out_channels={out_channels} "
                             f"and groups={groups}")
        for arg, values in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
            if any(v <= 0 for v in values):
                raise ValueError(f"{name}: {arg} must be positive, got {arg}={values}")
        if isinstance(padding, str):
            if transposed:
                raise ValueError(f"{name}: padding must be an int or a tuple of ints, got {padding!r}")
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, expected 'valid' or 'same'")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions, "
                                 f"got stride={stride}")
        elif any(p < 0 for p in _ntuple(name, "padding", padding, self.n_spatial)):
            raise ValueError(f"{name}: padding must be non-negative, got padding={padding}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, "
                             f"but got padding_mode={padding_mode!r}")
        if transposed:
            if padding_mode != "zeros":
                raise ValueError(f'{name}: only "zeros" padding mode is supported, got {padding_mode!r}')
            if any(p < 0 or p >= max(s, d) for p, s, d in zip(output_padding, stride, dilation)):
                raise ValueError(f"{name}: output_padding must be non-negative and smaller than either stride "
                                 f"or dilation, got output_padding={output_padding}, stride={stride}, "
                                 f"dilation={dilation}")

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a=sqrt(5) gives gain sqrt(1/3), so bound = 1/sqrt(fan_in)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"]
        if self.padding != (0,) * len(self.padding):  # a padding string is always shown
            parts.append(f"padding={self.padding}")
        if self.dilation != (1,) * len(self.dilation):
            parts.append(f"dilation={self.dilation}")
        if self.output_padding != (0,) * len(self.output_padding):
            parts.append(f"output_padding={self.output_padding}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode}")
        return ", ".join(parts)


class _Conv(_ConvNd):
    """Convolution layers: ``padding_mode`` other than 'zeros' pads with ``F.pad`` first."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, False,
                         0, groups, bias, padding_mode, device, dtype)

    def _conv_forward(self, input, weight, bias):
        conv = type(self)._function
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-d convolution over ``(N, C_in, L)``: ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``."""

    n_spatial = 1
    _function = staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-d convolution over ``(N, C_in, H, W)``, each spatial dim as in Conv1d."""

    n_spatial = 2
    _function = staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-d convolution over ``(N, C_in, D, H, W)``, each spatial dim as in Conv1d."""

    n_spatial = 3
    _function = staticmethod(F.conv3d)


class _ConvTranspose(_ConvNd):
    """Transposed convolution layers; ``forward(input, output_size=None)``.

    ``output_size`` picks one of the ``stride`` output sizes that map back to the input's size
    (``out = (n-1)*s - 2p + d*(k-1) + 1 + extra`` with ``0 <= extra < s``) and so replaces
    ``output_padding``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, True,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        n = self.n_spatial
        name = type(self).__name__
        non_spatial = 2 if input.dim() == n + 2 else 1
        output_size = [int(v) for v in output_size]
        if len(output_size) == non_spatial + n:
            output_size = output_size[non_spatial:]
        if len(output_size) != n:
            raise ValueError(f"{name}: for {input.dim()}D input, output_size must have {n} or {non_spatial + n} "
                             f"elements (got {len(output_size)})")
        spatial = tuple(input.shape[-n:])
        smallest = [(size - 1) * s - 2 * p + d * (k - 1) + 1 for size, s, p, d, k
                    in zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        if any(not low <= size <= high for size, low, high in zip(output_size, smallest, largest)):
            raise ValueError(f"{name}: requested an output size of {output_size}, but valid sizes range from "
                             f"{smallest} to {largest} (for an input of {list(spatial)})")
        return tuple(size - low for size, low in zip(output_size, smallest))

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return type(self)._function(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution: ``L_out = (L-1)s - 2p + d(k-1) + output_padding + 1``."""

    n_spatial = 1
    _function = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution, each spatial dim as in ConvTranspose1d."""

    n_spatial = 2
    _function = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """3-d transposed convolution, each spatial dim as in ConvTranspose1d."""

    n_spatial = 3
    _function = staticmethod(F.conv_transpose3d)
