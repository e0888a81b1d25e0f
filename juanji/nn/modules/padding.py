"""Padding modules (torch.nn surface): Zero, Constant, Reflection, Replication and Circular padding.

``padding`` is an int (the same on every side) or a tuple of 2, 4 or 6 ints ordered like
``F.pad``: (left, right[, top, bottom[, front, back]]). For a ``*2d`` layer on ``(N, C, H, W)``:

    H_out = H + top + bottom,   W_out = W + left + right
"""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = [
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


def _padding_tuple(name: str, padding, n_spatial: int) -> tuple:
    """An int, or 2*n_spatial ints, as the flat F.pad tuple."""
    size = 2 * n_spatial
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * size
    items = tuple(padding)
    if len(items) != size or not all(isinstance(v, int) for v in items):
        raise ValueError(f"{name}: padding must be an int or a tuple of {size} ints, "
                         f"got {padding!r}")
    return items


class _PadNd(Module):
    mode = "constant"
    n_spatial = 0

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding_tuple(type(self).__name__, padding, self.n_spatial)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``."""

    n_spatial = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``."""

    n_spatial = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``."""

    n_spatial = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros."""

    n_spatial = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros."""

    n_spatial = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros."""

    n_spatial = 3


class ReflectionPad1d(_PadNd):
    """Mirror the last dim without repeating the edge (each pad < the dim's size)."""

    mode, n_spatial = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Mirror the last 2 dims without repeating the edge."""

    mode, n_spatial = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Mirror the last 3 dims without repeating the edge."""

    mode, n_spatial = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Repeat the edge values of the last dim."""

    mode, n_spatial = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Repeat the edge values of the last 2 dims."""

    mode, n_spatial = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Repeat the edge values of the last 3 dims."""

    mode, n_spatial = "replicate", 3


class CircularPad1d(_PadNd):
    """Wrap the last dim around (periodic padding)."""

    mode, n_spatial = "circular", 1


class CircularPad2d(_PadNd):
    """Wrap the last 2 dims around (periodic padding)."""

    mode, n_spatial = "circular", 2


class CircularPad3d(_PadNd):
    """Wrap the last 3 dims around (periodic padding)."""

    mode, n_spatial = "circular", 3
