"""How much arithmetic a layer does: multiply-accumulates (MACs) and floating-point operations (FLOPs).

The convention, exact for every layer listed here (one number per forward pass, for the whole
batch):

- **MACs** count the multiply-accumulates of weighted sums, ``acc += w * x``: the work of
  convolutions and linear layers, where nearly all of a CNN's time goes. Every other layer has 0.
- **FLOPs = 2 * MACs + the element-wise operations**. A multiply-accumulate is two FLOPs (one
  multiply, one add); on top of that each scalar ``+ - * /``, comparison, ``exp``, ``log``,
  ``tanh``, ``erf`` or ``sqrt`` the layer's formula applies counts as one FLOP (a sign change is
  folded into the operation it belongs to). So a layer without bias has ``flops == 2 * macs``,
  and a bias adds one FLOP per output element.

Layer by layer (``N`` the batch, ``out`` the output's spatial size, ``G`` groups, ``k`` the
kernel's element count ``prod(kernel_size)``, ``numel`` the input's element count):

=============================  =========================================  ==============================
layer                          MACs                                       FLOPs besides 2*MACs
=============================  =========================================  ==============================
ConvNd                         N * C_out * prod(out) * (C_in/G) * k       bias: N * C_out * prod(out)
ConvTransposeNd                N * prod(in) * C_in * (C_out/G) * k        bias: N * C_out * prod(out)
Linear                         rows * in_features * out_features          bias: rows * out_features
MaxPoolNd                      0                                          (k - 1) comparisons per output
AvgPoolNd                      0                                          k - 1 adds + 1 divide per output
LPPoolNd                       0                                          k powers, k - 1 adds, 1 root
AdaptiveAvg/MaxPoolNd          0                                          as avg/max pool, window by window
BatchNorm, InstanceNorm, ...   0                                          per element: see ``_norm``
activations                    0                                          per element: ELEMENTWISE_FLOPS
Flatten, Identity, padding     0                                          0 (data movement only)
Dropout                        0                                          0 in eval, 1 multiply in train
=============================  =========================================  ==============================

Two conventions worth knowing, both the usual ones (and torch.utils.flop_counter's):

- A convolution's MACs include the products with padding zeros, and a transposed
  convolution's include those that land in the cropped border: an im2col/GEMM (col2im)
  implementation computes them all.
- Pooling counts the nominal window ``prod(kernel_size)`` for every output, padding included.

What no layer owns is not counted: arithmetic a ``forward`` does itself, such as a residual
block's ``out + identity`` or ``torch.flatten``, is invisible to per-layer hooks.

    >>> from juanji.explain import layer_cost
    >>> from juanji import nn
    >>> layer_cost(nn.Conv2d(1, 6, 5, padding=2), (1, 1, 28, 28))
    Cost(macs=117600, flops=239904)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import nn
from ..kernels.pool import adaptive_windows
from . import windows
from ._layers import (ADAPTIVE_POOL_LAYERS, AVG_POOL_LAYERS, BATCH_NORMS, CONV_LAYERS, CONV_TRANSPOSE_LAYERS,
                      DATA_MOVEMENT_LAYERS, DROPOUT_LAYERS, ELEMENTWISE_FLOPS, GELU_FLOPS, INSTANCE_NORMS,
                      LP_POOL_LAYERS, MAX_POOL_LAYERS, NORM_LAYERS, POINTWISE_LAYERS)
from .windows import spatial_dims, window_of

__all__ = ["Cost", "layer_cost", "ELEMENTWISE_FLOPS", "POINTWISE_LAYERS"]


@dataclass(frozen=True)
class Cost:
    """The arithmetic of one forward pass of one layer (see the module docstring)."""

    macs: int
    flops: int


def _conv(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    n = spatial_dims(layer)
    batch = math.prod(in_shape[:-n - 1])
    kernel = math.prod(window_of(layer).kernel)
    in_spatial, out_spatial = math.prod(in_shape[-n:]), math.prod(out_shape[-n:])
    if isinstance(layer, CONV_TRANSPOSE_LAYERS):
        # every input element meets every tap of its group's weights (scattered, col2im-style)
        macs = batch * in_spatial * layer.in_channels * (layer.out_channels // layer.groups) * kernel
    else:
        # every output element is a dot product over (C_in / G) channels times the kernel
        macs = batch * layer.out_channels * out_spatial * (layer.in_channels // layer.groups) * kernel
    bias_adds = batch * layer.out_channels * out_spatial if layer.bias is not None else 0
    return Cost(macs, 2 * macs + bias_adds)


def _linear(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    rows = math.prod(in_shape[:-1])
    macs = rows * layer.in_features * layer.out_features
    bias_adds = rows * layer.out_features if layer.bias is not None else 0
    return Cost(macs, 2 * macs + bias_adds)


def _pool(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    k = math.prod(window_of(layer).kernel)
    outputs = math.prod(out_shape)
    if isinstance(layer, MAX_POOL_LAYERS):
        per_output = k - 1             # comparisons
    elif isinstance(layer, AVG_POOL_LAYERS):
        per_output = (k - 1) + 1       # adds, then one divide
    else:
        per_output = k + (k - 1) + 1   # x**p for each element, adds, one p-th root
    return Cost(0, outputs * per_output)


def _adaptive_pool(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    n = spatial_dims(layer)
    planes = math.prod(in_shape[:-n])
    # the windows the layer itself uses: o covers [floor(o*n/out), ceil((o+1)*n/out)) per dim
    axes = adaptive_windows(tuple(in_shape[-n:]), tuple(out_shape[-n:])).axes
    window_elements = math.prod(int(axis.count.sum()) for axis in axes)
    outputs = planes * math.prod(out_shape[-n:])
    if "Max" in type(layer).__name__:
        return Cost(0, planes * window_elements - outputs)  # (size - 1) comparisons per window
    return Cost(0, planes * window_elements)                 # (size - 1) adds + 1 divide per window


def _norm(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    """Normalisation, per element: ``(x - mean) / sqrt(var + eps)`` is 2 FLOPs, ``* weight`` and
    ``+ bias`` one each when present; when the statistics are computed from the input (batch norm
    in training, instance/group/layer norm always) ``mean`` and ``var`` add 4 per element (an add
    for the mean; subtract, square, add for the variance). RMSNorm's ``x / sqrt(mean(x**2) + eps)``
    is 3 per element (square, add, divide). Per-channel terms (``sqrt``, ``+ eps``) are not counted."""
    numel = math.prod(in_shape)
    if isinstance(layer, nn.RMSNorm):
        per_element = 3
    else:
        per_element = 2
        if isinstance(layer, BATCH_NORMS + INSTANCE_NORMS):
            computes_stats = layer.training or layer.running_mean is None
        else:
            computes_stats = True
        per_element += 4 if computes_stats else 0
    per_element += sum(getattr(layer, name, None) is not None for name in ("weight", "bias"))
    return Cost(0, numel * per_element)


def _elementwise(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    if isinstance(layer, nn.GELU):
        per_element = GELU_FLOPS[layer.approximate][0]
    else:
        # the nearest listed class, so that a subclass of ReLU costs what ReLU does
        listed = next(cls for cls in type(layer).__mro__ if cls in ELEMENTWISE_FLOPS)
        per_element = ELEMENTWISE_FLOPS[listed][0]
    return Cost(0, math.prod(in_shape) * per_element)


def _dropout(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    return Cost(0, math.prod(in_shape) if layer.training else 0)


def _no_arithmetic(layer, in_shape: tuple, out_shape: tuple) -> Cost:
    return Cost(0, 0)


_COUNTERS = (
    (CONV_LAYERS + CONV_TRANSPOSE_LAYERS, _conv),
    ((nn.Linear,), _linear),
    (MAX_POOL_LAYERS + AVG_POOL_LAYERS + LP_POOL_LAYERS, _pool),
    (ADAPTIVE_POOL_LAYERS, _adaptive_pool),
    (NORM_LAYERS, _norm),
    (tuple(ELEMENTWISE_FLOPS) + (nn.GELU,), _elementwise),
    (DROPOUT_LAYERS, _dropout),
    (DATA_MOVEMENT_LAYERS, _no_arithmetic),
)


def layer_cost(layer, input_shape, output_shape=None) -> Cost | None:
    """MACs and FLOPs of one forward pass of ``layer`` on an input of ``input_shape``.

    ``output_shape`` is the output's shape when already known (``summary`` takes it from the
    forward pass); otherwise it is worked out with :func:`juanji.explain.windows.output_shape`
    (the layers that only move data need none).
    Returns None for a layer this module does not know (a container, a custom layer): its
    cost is the sum of its children's, or unknown.
    """
    in_shape = tuple(int(v) for v in input_shape)
    for layer_types, count in _COUNTERS:
        if isinstance(layer, layer_types):
            if output_shape is None:
                output_shape = windows.output_shape(layer, in_shape) or ()
            return count(layer, in_shape, tuple(int(v) for v in output_shape))
    return None
