"""Pooling modules (torch.nn surface): MaxPool, AvgPool, LPPool, MaxUnpool and the adaptive pools.

Each family is one base class holding the arguments (checked at construction, so a bad layer
fails where it is built) and calling ``nn.functional``; the 1d/2d/3d classes only fix the
number of spatial dims. Shapes: ``(N, C, *spatial)`` or ``(C, *spatial)`` in and out.
"""

from __future__ import annotations

from .. import functional as F
from ..functional import _args
from ..functional import pool as pool_functions
from ._window import KeepsWindow
from .module import Module

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
]


class _MaxPoolNd(KeepsWindow):
    """Max over sliding windows; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        self._keep_window()

    def _window_arguments(self) -> tuple:
        return self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode

    def _make_window(self, op, arguments, at_construction):
        return _args.pool_window(op, self.n_spatial, *arguments)

    def forward(self, input):
        return pool_functions.max_pool(self._op, input, self._window(), self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max pooling over a ``(N, C, L)`` input: ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``."""

    n_spatial = 1
    _op = "max_pool1d"


class MaxPool2d(_MaxPoolNd):
    """Max pooling over a ``(N, C, H, W)`` input, each spatial dim as in MaxPool1d."""

    n_spatial = 2
    _op = "max_pool2d"


class MaxPool3d(_MaxPoolNd):
    """Max pooling over a ``(N, C, D, H, W)`` input, each spatial dim as in MaxPool1d."""

    n_spatial = 3
    _op = "max_pool3d"


class _AvgPoolNd(KeepsWindow):
    """Mean over sliding windows; see ``F.avg_pool2d`` for the divisor rules."""

    divisor_override = None

    def _window_arguments(self) -> tuple:
        return self.kernel_size, self.stride, self.padding, self.ceil_mode

    def _make_window(self, op, arguments, at_construction):
        kernel_size, stride, padding, ceil_mode = arguments
        return _args.pool_window(op, self.n_spatial, kernel_size, stride, padding, 1, ceil_mode)

    def forward(self, input):
        return pool_functions.avg_pool(self._op, input, self._window(), self.count_include_pad,
                                       self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Average pooling over a ``(N, C, L)`` input (no divisor_override, as in torch)."""

    n_spatial = 1
    _op = "avg_pool1d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        window = _args.pool_window("AvgPool1d", 1, kernel_size, stride, padding, 1, ceil_mode)
        # torch stores AvgPool1d's arguments as 1-tuples
        self.kernel_size = window.kernel
        self.stride = window.stride
        self.padding = window.pad_lo
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self._keep_window(window)


class _AvgPool23d(_AvgPoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        _args.divisor_override(type(self).__name__, divisor_override)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        self._keep_window()


class AvgPool2d(_AvgPool23d):
    """Average pooling over a ``(N, C, H, W)`` input."""

    n_spatial = 2
    _op = "avg_pool2d"


class AvgPool3d(_AvgPool23d):
    """Average pooling over a ``(N, C, D, H, W)`` input."""

    n_spatial = 3
    _op = "avg_pool3d"


class _LPPoolNd(KeepsWindow):
    """Power-average pooling ``(sum_window x^p)^(1/p)``."""

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode
        self._keep_window()

    def _window_arguments(self) -> tuple:
        return self.kernel_size, self.stride, self.ceil_mode

    def _make_window(self, op, arguments, at_construction):
        kernel_size, stride, ceil_mode = arguments
        return _args.pool_window(op, self.n_spatial, kernel_size, stride, 0, 1, ceil_mode)

    def forward(self, input):
        return pool_functions.lp_pool(self._op, input, float(self.norm_type), self._window())

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    n_spatial = 1
    _op = "lp_pool1d"


class LPPool2d(_LPPoolNd):
    n_spatial = 2
    _op = "lp_pool2d"


class LPPool3d(_LPPoolNd):
    n_spatial = 3
    _op = "lp_pool3d"


class _MaxUnpoolNd(KeepsWindow):
    """Partial inverse of max pooling: ``forward(input, indices, output_size=None)``."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        window = _args.unpool_window(type(self).__name__, self.n_spatial, kernel_size, stride, padding)
        self.kernel_size = window.kernel
        self.stride = window.stride
        self.padding = window.pad_lo
        self._keep_window(window)

    def _window_arguments(self) -> tuple:
        return self.kernel_size, self.stride, self.padding

    def _make_window(self, op, arguments, at_construction):
        return _args.unpool_window(op, self.n_spatial, *arguments)

    def forward(self, input, indices, output_size=None):
        return pool_functions.max_unpool(self._op, input, indices, self._window(), output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    n_spatial = 1
    _op = "max_unpool1d"


class MaxUnpool2d(_MaxUnpoolNd):
    n_spatial = 2
    _op = "max_unpool2d"


class MaxUnpool3d(_MaxUnpoolNd):
    n_spatial = 3
    _op = "max_unpool3d"


class _AdaptiveAvgPoolNd(Module):
    """Mean over windows chosen to give ``output_size`` (None entries keep the input size)."""

    _function = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return type(self)._function(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    _function = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    _function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    _function = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPoolNd(Module):
    """Max over windows chosen to give ``output_size``; optionally also the indices."""

    _function = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return type(self)._function(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    _function = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    _function = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    _function = staticmethod(F.adaptive_max_pool3d)
