"""The shape-bound geometry of an N-d convolution (or unfold), lifted to three spatial dims.

A :class:`~juanji.kernels.window.Window` says how a kernel slides; a :class:`ConvGeometry`
is that window over one input shape: every size the kernels need, computed once. It is built
by :func:`conv_geometry` and cached by (window, input shape, output channels, groups), so a
layer that sees the same shape step after step builds it once, and one object goes to the
forward and to both backward kernels.

Conv1d, Conv2d and Conv3d share one set of kernels. Rather than write every loop three
times, a 1-d or 2-d problem is lifted to 3-d by putting size-1 spatial dims in front:
a length-``W`` signal becomes a ``1 x 1 x W`` volume with a ``1 x 1 x k`` kernel, stride 1,
dilation 1 and no padding on the added dims. The extra loops run once, so they cost nothing.

Notation (per spatial dim): ``n`` input size, ``k`` kernel size, ``s`` stride, ``d`` dilation,
``lo``/``hi`` zero padding before/after, ``out`` the number of output positions:

    out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1      (see juanji/kernels/sizes.py)

The Numba loops take the geometry as one int64 array, :attr:`ConvGeometry.dims`, in one layout
(read it with the accessors of ``_dims.py``):

    out_d, out_h, out_w, k_d, k_h, k_w, s_d, s_h, s_w, d_d, d_h, d_w, lo_d, lo_h, lo_w, hi_d, hi_h, hi_w
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from math import prod

import numpy as np

from .sizes import window_output_size
from .window import Window

__all__ = ["ConvGeometry", "conv_geometry"]


@dataclass(frozen=True, eq=False)
class ConvGeometry:
    """Everything a kernel needs to know about one convolution, in 3-d form.

    ``batch``, ``channels`` (C, input), ``out_channels`` (O), ``groups`` (G) and, per spatial
    dim (depth, height, width): ``in_size``, ``kernel``, ``stride``, ``dilation``, ``pad_lo``,
    ``pad_hi`` and ``out_size``. ``ndim`` remembers how many spatial dims the caller had;
    ``window`` is the Window it was built from; ``dims`` the int64 array of the Numba loops.
    """

    window: Window
    ndim: int
    batch: int
    channels: int
    out_channels: int
    groups: int
    in_size: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pad_lo: tuple
    pad_hi: tuple
    out_size: tuple
    dims: np.ndarray

    # -- derived sizes -------------------------------------------------------------------
    @cached_property
    def channels_per_group(self) -> int:
        return self.channels // self.groups

    @cached_property
    def out_channels_per_group(self) -> int:
        return self.out_channels // self.groups

    @cached_property
    def kernel_volume(self) -> int:
        return prod(self.kernel)

    @cached_property
    def out_volume(self) -> int:
        return prod(self.out_size)

    @cached_property
    def in_volume(self) -> int:
        return prod(self.in_size)

    @cached_property
    def macs(self) -> int:
        """Multiply-adds of the convolution (forward, whole batch)."""
        return self.batch * self.out_volume * self.out_channels * self.channels_per_group * self.kernel_volume

    @cached_property
    def padded_size(self) -> tuple:
        return tuple(n + lo + hi for n, lo, hi in zip(self.in_size, self.pad_lo, self.pad_hi))

    @cached_property
    def is_pointwise(self) -> bool:
        """A 1x1 convolution with stride 1 and no padding is one matrix product per sample."""
        return (self.kernel == (1, 1, 1) and self.stride == (1, 1, 1)
                and self.pad_lo == (0, 0, 0) and self.pad_hi == (0, 0, 0))

    @cached_property
    def is_depthwise(self) -> bool:
        """Each output channel reads exactly one input channel (groups == in_channels)."""
        return self.channels_per_group == 1 and self.groups > 1

    # -- the user's shapes (un-lifted) ---------------------------------------------------
    # (every kernel call asks for these, several times: each is built once per geometry; the
    # derived sizes above too, as cached properties of the frozen instance)
    def input_shape(self) -> tuple:
        return self._shapes["input"]

    def output_shape(self) -> tuple:
        return self._shapes["output"]

    def weight_shape(self) -> tuple:
        return self._shapes["weight"]

    def lifted(self, shape_kind: str, batch: int | None = None) -> tuple:
        """A 5-d shape: ``'input'`` (N, C, D, H, W), ``'output'`` or ``'weight'``."""
        if batch is None or batch == self.batch or shape_kind == "weight":
            return self._shapes["lifted " + shape_kind]
        if shape_kind == "input":
            return (batch, self.channels) + self.in_size
        return (batch, self.out_channels) + self.out_size

    @cached_property
    def _shapes(self) -> dict:
        lift = 3 - self.ndim
        return {"input": (self.batch, self.channels) + self.in_size[lift:],
                "output": (self.batch, self.out_channels) + self.out_size[lift:],
                "weight": (self.out_channels, self.channels_per_group) + self.kernel[lift:],
                "lifted input": (self.batch, self.channels) + self.in_size,
                "lifted output": (self.batch, self.out_channels) + self.out_size,
                "lifted weight": (self.out_channels, self.channels_per_group) + self.kernel}


@lru_cache(maxsize=1024)
def _build(window: Window, input_shape: tuple, out_channels: int, groups: int) -> ConvGeometry:
    ndim = window.ndim
    lift = 3 - ndim  # how many size-1 dims to put in front
    ones, zeros = (1,) * lift, (0,) * lift
    in_size = ones + tuple(input_shape[2:])
    kernel = ones + tuple(window.kernel)
    stride = ones + tuple(window.stride)
    dilation = ones + tuple(window.dilation)
    pad_lo = zeros + tuple(window.pad_lo)
    pad_hi = zeros + tuple(window.pad_hi)
    # the convolution's rule (for a transposed convolution this is its adjoint's geometry)
    out_size = tuple(window_output_size(n, k, s, lo, hi, d)
                     for n, k, s, lo, hi, d in zip(in_size, kernel, stride, pad_lo, pad_hi, dilation))
    dims = np.array(out_size + kernel + stride + dilation + pad_lo + pad_hi, dtype=np.int64)
    dims.setflags(write=False)
    return ConvGeometry(window=window, ndim=ndim, batch=input_shape[0], channels=input_shape[1],
                        out_channels=out_channels, groups=groups, in_size=in_size, kernel=kernel,
                        stride=stride, dilation=dilation, pad_lo=pad_lo, pad_hi=pad_hi,
                        out_size=out_size, dims=dims)


def conv_geometry(window: Window, input_shape, out_channels: int, groups: int = 1) -> ConvGeometry:
    """The geometry of ``window`` sliding over an input ``(N, C, *spatial)`` with ``out_channels``
    output channels in ``groups`` groups (the weight is ``(out_channels, C/groups, *window.kernel)``).

    For a transposed convolution pass the geometry of the convolution it is the adjoint of: the
    window over the *output* shape, with ``out_channels`` = the transposed input's channels.
    Built once per distinct argument set (an LRU cache), so every step of a training loop, and
    the forward and both backward kernels of one step, share one object.
    """
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != window.ndim + 2 or window.ndim not in (1, 2, 3):
        raise ValueError(f"conv kernel: input {shape} does not match a window over {window.ndim} "
                         "spatial dims (1 to 3 supported)")
    return _build(window, shape, int(out_channels), int(groups))
