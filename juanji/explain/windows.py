"""The window geometry of sliding-window layers, and the output shapes it gives.

Convolutions, transposed convolutions, max/avg/LP pooling and the padding layers all slide a
(dilated) window over each spatial dim. ``window_of(layer)`` reads a layer's arguments into one
canonical :class:`Window` (one entry per spatial dim), so the shape, FLOP and receptive-field
arithmetic of ``juanji.explain`` has one place to look, whatever form (int, tuple, ``'same'``)
the layer was built with. Output sizes come from ``juanji.kernels.sizes``, the very functions
the layers call, so an explanation and the layer it explains cannot disagree:

    out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1           (ceil with ceil_mode)
    transposed: out = (n-1)*s - lo - hi + d*(k-1) + output_padding + 1

A padding layer (``ZeroPad2d``, ``ReflectionPad2d``, ...) is a window of size 1 with padding:
``out = n + lo + hi``.

    >>> from juanji.explain import output_shape, window_of
    >>> from juanji import nn
    >>> window_of(nn.MaxPool2d(3, stride=2, padding=1))
    Window(kernel=(3, 3), stride=(2, 2), pad_lo=(1, 1), pad_hi=(1, 1), dilation=(1, 1), ceil_mode=False, transposed=False, output_padding=(0, 0))
    >>> output_shape(nn.Conv2d(1, 6, 5, padding=2), (8, 1, 28, 28))
    (8, 6, 28, 28)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import nn
from ..kernels.sizes import same_padding, transposed_output_size, window_output_size

__all__ = ["Window", "window_of", "spatial_dims", "output_spatial", "output_shape", "CONV_LAYERS",
           "CONV_TRANSPOSE_LAYERS", "MAX_POOL_LAYERS", "AVG_POOL_LAYERS", "LP_POOL_LAYERS", "PAD_LAYERS",
           "ADAPTIVE_POOL_LAYERS"]

CONV_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
CONV_TRANSPOSE_LAYERS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
MAX_POOL_LAYERS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
AVG_POOL_LAYERS = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
LP_POOL_LAYERS = (nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)
ADAPTIVE_POOL_LAYERS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                        nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
PAD_LAYERS = (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d,
              nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d,
              nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d,
              nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d)
_WINDOWED = CONV_LAYERS + CONV_TRANSPOSE_LAYERS + MAX_POOL_LAYERS + AVG_POOL_LAYERS + LP_POOL_LAYERS + PAD_LAYERS


@dataclass(frozen=True)
class Window:
    """One sliding window, per spatial dim: kernel ``k``, stride ``s``, padding before/after
    (``pad_lo``/``pad_hi``), dilation ``d``; ``transposed`` for ConvTranspose layers."""

    kernel: tuple
    stride: tuple
    pad_lo: tuple
    pad_hi: tuple
    dilation: tuple
    ceil_mode: bool = False
    transposed: bool = False
    output_padding: tuple = ()

    @property
    def effective_kernel(self) -> tuple:
        """``k_eff = d*(k-1) + 1``: the span a dilated kernel covers."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))


def spatial_dims(layer) -> int:
    """How many trailing dims a ``...1d/2d/3d`` layer slides over (from its class name)."""
    name = type(layer).__name__
    if name[-2:] in ("1d", "2d", "3d"):
        return int(name[-2])
    raise TypeError(f"spatial_dims: {name} is not a 1d/2d/3d layer")


def _tuple(value, n: int) -> tuple:
    """An int or a sequence (of 1 or n ints) as an n-tuple of ints."""
    if isinstance(value, int):
        return (value,) * n
    items = tuple(int(v) for v in value)
    return items * n if len(items) == 1 else items


def _stride(layer) -> object:
    """A pooling layer's stride: None or an empty sequence means "the kernel size" (torch's rule)."""
    stride = layer.stride
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        return layer.kernel_size
    return stride


def window_of(layer) -> Window | None:
    """The :class:`Window` of a convolution, pooling or padding layer; None for other layers."""
    if not isinstance(layer, _WINDOWED):
        return None
    n = spatial_dims(layer)
    if isinstance(layer, PAD_LAYERS):
        # F.pad order: (left, right) of the last dim first, then the dim before it, ...
        flat = layer.padding
        lo = tuple(flat[2 * (n - 1 - i)] for i in range(n))
        hi = tuple(flat[2 * (n - 1 - i) + 1] for i in range(n))
        ones = (1,) * n
        return Window(ones, ones, lo, hi, ones)
    kernel = _tuple(layer.kernel_size, n)
    stride = _tuple(_stride(layer), n)
    dilation = _tuple(getattr(layer, "dilation", 1), n)
    padding = getattr(layer, "padding", 0)
    if padding == "same":
        pairs = [same_padding(k, d) for k, d in zip(kernel, dilation)]
        lo, hi = tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    elif padding == "valid":
        lo = hi = (0,) * n
    else:
        lo = hi = _tuple(padding, n)
    if isinstance(layer, CONV_TRANSPOSE_LAYERS):
        return Window(kernel, stride, lo, hi, dilation, transposed=True,
                      output_padding=_tuple(layer.output_padding, n))
    return Window(kernel, stride, lo, hi, dilation, ceil_mode=bool(getattr(layer, "ceil_mode", False)),
                  output_padding=(0,) * n)


def output_spatial(window: Window, spatial: tuple) -> tuple:
    """The spatial size a window gives for an input of spatial size ``spatial``."""
    if window.transposed:
        return tuple(transposed_output_size(n, k, s, lo, hi, d, op) for n, k, s, lo, hi, d, op in zip(
            spatial, window.kernel, window.stride, window.pad_lo, window.pad_hi, window.dilation,
            window.output_padding))
    return tuple(window_output_size(n, k, s, lo, hi, d, window.ceil_mode) for n, k, s, lo, hi, d in zip(
        spatial, window.kernel, window.stride, window.pad_lo, window.pad_hi, window.dilation))


def _adaptive_size(requested, spatial: tuple) -> tuple:
    """An adaptive pool's output size; None entries keep the input's size."""
    n = len(spatial)
    sizes = (requested,) * n if isinstance(requested, int) or requested is None else tuple(requested)
    sizes = sizes * n if len(sizes) == 1 else sizes
    return tuple(size if out is None else int(out) for out, size in zip(sizes, spatial))


def output_shape(layer, input_shape) -> tuple | None:
    """The output shape of ``layer`` on an input of ``input_shape``, by arithmetic alone.

    Known for sliding-window layers (through ``juanji.kernels.sizes``), adaptive pools, Linear,
    Flatten and shape-keeping layers (activations, normalisation, dropout, Identity); None for
    the rest, whose shape ``summary`` takes from the forward pass.
    """
    from .flops import POINTWISE_LAYERS  # the shape-keeping layers are listed with their costs

    shape = tuple(int(v) for v in input_shape)
    window = window_of(layer)
    if window is not None:
        n = spatial_dims(layer)
        channels = shape[-n - 1]
        if isinstance(layer, CONV_LAYERS + CONV_TRANSPOSE_LAYERS):
            channels = layer.out_channels
        return shape[:-n - 1] + (channels,) + output_spatial(window, shape[-n:])
    if isinstance(layer, ADAPTIVE_POOL_LAYERS):
        n = spatial_dims(layer)
        return shape[:-n] + _adaptive_size(layer.output_size, shape[-n:])
    if isinstance(layer, nn.Linear):
        return shape[:-1] + (layer.out_features,)
    if isinstance(layer, nn.Flatten):
        start, end = layer.start_dim % len(shape), layer.end_dim % len(shape)
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
    if isinstance(layer, POINTWISE_LAYERS):
        return shape
    return None
