"""The window geometry of sliding-window layers, and the output shapes it gives.

Convolutions, transposed convolutions, max/avg/LP pooling and the padding layers all slide a
(dilated) window over each spatial dim. ``window_of(layer)`` is the layer's own
:class:`~juanji.kernels.window.Window`, the very object it hands to its kernels (checked and
built by ``juanji/nn/functional/_args.py`` when the layer was), so the shape, FLOP and
receptive-field arithmetic of ``juanji.explain`` has one place to look, whatever form (int,
tuple, ``'same'``) the layer was built with. Output sizes come from ``juanji.kernels.sizes``
through ``Window.output_spatial``, the rule the layers use, so an explanation and the layer it
explains cannot disagree:

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

from .. import nn
from ..kernels.window import Window
from ..nn.functional import _args
from ._layers import (ADAPTIVE_POOL_LAYERS, AVG_POOL_LAYERS, CONV_LAYERS, CONV_TRANSPOSE_LAYERS, LP_POOL_LAYERS,
                      MAX_POOL_LAYERS, PAD_LAYERS, POINTWISE_LAYERS, WINDOWED_LAYERS)

__all__ = ["Window", "window_of", "spatial_dims", "output_spatial", "output_shape", "CONV_LAYERS",
           "CONV_TRANSPOSE_LAYERS", "MAX_POOL_LAYERS", "AVG_POOL_LAYERS", "LP_POOL_LAYERS", "PAD_LAYERS",
           "ADAPTIVE_POOL_LAYERS"]


def spatial_dims(layer) -> int:
    """How many trailing dims a ``...1d/2d/3d`` layer slides over (from its class name)."""
    name = type(layer).__name__
    if name[-2:] in ("1d", "2d", "3d"):
        return int(name[-2])
    raise TypeError(f"spatial_dims: {name} is not a 1d/2d/3d layer")


def window_of(layer) -> Window | None:
    """The :class:`Window` of a convolution, pooling or padding layer; None for other layers.

    A convolution or pool returns the Window it keeps and computes with; a padding layer is a
    window of size 1 with its padding.
    """
    if not isinstance(layer, WINDOWED_LAYERS):
        return None
    if isinstance(layer, PAD_LAYERS):
        return _args.pad_window(layer.padding, spatial_dims(layer))
    return layer._window()


def output_spatial(window: Window, spatial: tuple) -> tuple:
    """The spatial size a window gives for an input of spatial size ``spatial``."""
    return window.output_spatial(tuple(spatial))


def output_shape(layer, input_shape) -> tuple | None:
    """The output shape of ``layer`` on an input of ``input_shape``, by arithmetic alone.

    Known for sliding-window layers (through ``juanji.kernels.sizes``), adaptive pools, Linear,
    Flatten and shape-keeping layers (activations, normalisation, dropout, Identity); None for
    the rest, whose shape ``summary`` takes from the forward pass.
    """
    shape = tuple(int(v) for v in input_shape)
    window = window_of(layer)
    if window is not None:
        n = spatial_dims(layer)
        channels = shape[-n - 1]
        if isinstance(layer, CONV_LAYERS + CONV_TRANSPOSE_LAYERS):
            channels = layer.out_channels
        return shape[:-n - 1] + (channels,) + window.output_spatial(shape[-n:])
    if isinstance(layer, ADAPTIVE_POOL_LAYERS):
        n = spatial_dims(layer)
        # the rule the layer itself applies (None entries keep the input's size)
        return shape[:-n] + _args.adaptive_output_size(type(layer).__name__, n, shape[-n:], layer.output_size)
    if isinstance(layer, nn.Linear):
        return shape[:-1] + (layer.out_features,)
    if isinstance(layer, nn.Flatten):
        start, end = layer.start_dim % len(shape), layer.end_dim % len(shape)
        return shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
    if isinstance(layer, POINTWISE_LAYERS):
        return shape
    return None
