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
from dataclasses import replace

from ... import creation
from .. import functional as F
from .. import init
from ..functional import _args
from ..functional import conv as conv_functions
from ..parameter import Parameter
from ._window import KeepsWindow

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


class _ConvNd(KeepsWindow):
    """What every convolution layer shares: argument checks, the kept Window (see
    ``_window.py``: built from ``kernel_size``, ``stride``, ``padding``, ``dilation``,
    ``output_padding``), parameters, init and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None):
        super().__init__()
        name, n = type(self).__name__, self.n_spatial
        self._check(in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                    output_padding, groups, padding_mode)
        window = _args.conv_window(name, n, kernel_size, stride, padding, dilation, transposed=transposed,
                                   output_padding=output_padding, at_construction=True)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = window.kernel
        self.stride = window.stride
        self.padding = padding if isinstance(padding, str) else window.pad_lo
        self.dilation = window.dilation
        self.transposed = transposed
        self.output_padding = window.output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's argument for the non-zero padding modes: (lo, hi) pairs, last dim first
        self._reversed_padding_repeated_twice = [amount for pair in reversed(window.padding_pairs)
                                                 for amount in pair]
        if transposed:
            shape = (in_channels, out_channels // groups, *window.kernel)
        else:
            shape = (out_channels, in_channels // groups, *window.kernel)
        self.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self._keep_window(window)

    def _check(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
               output_padding, groups, padding_mode) -> None:
        """What torch's constructor checks itself (``ValueError``); the window's arguments are
        checked when the Window is built. (The lazy layers override this: their in_channels
        comes with the first input.)"""
        _args.conv_layer_arguments(type(self).__name__, in_channels, out_channels, groups, padding_mode,
                                   transposed)

    def _window_arguments(self) -> tuple:
        return (self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding)

    def _window_for(self, weight):
        """The kept Window, or, for a weight of another kernel size than the layer's (torch takes
        the kernel from the weight), a Window built for it."""
        window = self._window()
        if tuple(weight.shape[2:]) != window.kernel:
            return self._make_window(self._op, (tuple(weight.shape[2:]),) + self._window_arguments()[1:], False)
        return window

    def _make_window(self, op, arguments, at_construction):
        kernel, stride, padding, dilation, output_padding = arguments
        return _args.conv_window(op, self.n_spatial, kernel, stride, padding, dilation, transposed=self.transposed,
                                 output_padding=output_padding, at_construction=at_construction)

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
        window = self._window_for(weight)
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv_functions.convolution(self._op, padded, weight, bias, window.unpadded(), self.groups)
        return conv_functions.convolution(self._op, input, weight, bias, window, self.groups)

    def forward(self, input):
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_Conv):
    """1-d convolution over ``(N, C_in, L)``: ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``."""

    n_spatial = 1
    _op = "conv1d"


class Conv2d(_Conv):
    """2-d convolution over ``(N, C_in, H, W)``, each spatial dim as in Conv1d."""

    n_spatial = 2
    _op = "conv2d"


class Conv3d(_Conv):
    """3-d convolution over ``(N, C_in, D, H, W)``, each spatial dim as in Conv1d."""

    n_spatial = 3
    _op = "conv3d"


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

    def forward(self, input, output_size=None):
        window = self._window_for(self.weight)
        if output_size is not None:
            output_padding = _args.transposed_output_padding(type(self).__name__, window, input, output_size)
            window = replace(window, output_padding=output_padding)
        return conv_functions.conv_transpose(self._op, input, self.weight, self.bias, window, self.groups)


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution: ``L_out = (L-1)s - 2p + d(k-1) + output_padding + 1``."""

    n_spatial = 1
    _op = "conv_transpose1d"


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution, each spatial dim as in ConvTranspose1d."""

    n_spatial = 2
    _op = "conv_transpose2d"


class ConvTranspose3d(_ConvTranspose):
    """3-d transposed convolution, each spatial dim as in ConvTranspose1d."""

    n_spatial = 3
    _op = "conv_transpose3d"
