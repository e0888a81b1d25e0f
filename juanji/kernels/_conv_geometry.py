"""The shape bookkeeping of an N-d convolution, normalised to three spatial dims.

Conv1d, Conv2d and Conv3d share one set of kernels. Rather than write every loop three
times, a 1-d or 2-d problem is lifted to 3-d by putting size-1 spatial dims in front:
a length-``W`` signal becomes a ``1 x 1 x W`` volume with a ``1 x 1 x k`` kernel, stride 1,
dilation 1 and no padding on the added dims. The extra loops run once, so they cost nothing.

Notation (per spatial dim): ``n`` input size, ``k`` kernel size, ``s`` stride, ``d`` dilation,
``lo``/``hi`` zero padding before/after, ``out`` the number of output positions:

    out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1      (see juanji/kernels/sizes.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .sizes import window_output_size

__all__ = ["ConvGeometry", "normalize_padding"]


def normalize_padding(padding, ndim: int) -> tuple[tuple[int, int], ...]:
    """Padding as one ``(lo, hi)`` pair per spatial dim.

    Accepts an int (same on every side), a sequence of ints (symmetric per dim) or a
    sequence of ``(lo, hi)`` pairs.
    """
    if isinstance(padding, int):
        return ((padding, padding),) * ndim
    pairs = []
    for p in padding:
        if isinstance(p, int):
            pairs.append((p, p))
        else:
            lo, hi = p
            pairs.append((int(lo), int(hi)))
    if len(pairs) != ndim:
        raise ValueError(f"conv kernel: expected padding for {ndim} spatial dims, got {padding!r}")
    return tuple(pairs)


def _as_tuple(value, ndim: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * ndim
    value = tuple(int(v) for v in value)
    if len(value) != ndim:
        raise ValueError(f"conv kernel: expected {ndim} values, got {value!r}")
    return value


@dataclass(frozen=True)
class ConvGeometry:
    """Everything a kernel needs to know about one convolution, in 3-d form.

    ``batch``, ``channels`` (C, input), ``out_channels`` (O), ``groups`` (G) and, per spatial
    dim (depth, height, width): ``in_size``, ``kernel``, ``stride``, ``dilation``, ``pad_lo``,
    ``pad_hi`` and ``out_size``. ``ndim`` remembers how many spatial dims the caller had.
    """

    ndim: int
    batch: int
    channels: int
    out_channels: int
    groups: int
    in_size: tuple[int, int, int]
    kernel: tuple[int, int, int]
    stride: tuple[int, int, int]
    dilation: tuple[int, int, int]
    pad_lo: tuple[int, int, int]
    pad_hi: tuple[int, int, int]
    out_size: tuple[int, int, int]

    @classmethod
    def create(cls, input_shape, weight_shape, stride, padding, dilation, groups) -> "ConvGeometry":
        """Build from an input shape ``(N, C, *spatial)`` and a weight ``(O, C/G, *kernel)``."""
        ndim = len(input_shape) - 2
        if ndim not in (1, 2, 3) or len(weight_shape) != ndim + 2:
            raise ValueError(f"conv kernel: input {tuple(input_shape)} and weight {tuple(weight_shape)} "
                             "must both have 1 to 3 spatial dims")
        lift = 3 - ndim  # how many size-1 dims to put in front
        stride = (1,) * lift + _as_tuple(stride, ndim)
        dilation = (1,) * lift + _as_tuple(dilation, ndim)
        pads = ((0, 0),) * lift + normalize_padding(padding, ndim)
        in_size = (1,) * lift + tuple(int(n) for n in input_shape[2:])
        kernel = (1,) * lift + tuple(int(k) for k in weight_shape[2:])
        out_size = tuple(
            window_output_size(n, k, s, lo, hi, d)
            for n, k, s, (lo, hi), d in zip(in_size, kernel, stride, pads, dilation))
        return cls(ndim=ndim, batch=int(input_shape[0]), channels=int(input_shape[1]),
                   out_channels=int(weight_shape[0]), groups=int(groups), in_size=in_size,
                   kernel=kernel, stride=stride, dilation=dilation,
                   pad_lo=tuple(p[0] for p in pads), pad_hi=tuple(p[1] for p in pads),
                   out_size=out_size)

    # -- derived sizes -------------------------------------------------------------------
    @property
    def channels_per_group(self) -> int:
        return self.channels // self.groups

    @property
    def out_channels_per_group(self) -> int:
        return self.out_channels // self.groups

    @property
    def kernel_volume(self) -> int:
        return prod(self.kernel)

    @property
    def out_volume(self) -> int:
        return prod(self.out_size)

    @property
    def in_volume(self) -> int:
        return prod(self.in_size)

    @property
    def padded_size(self) -> tuple[int, int, int]:
        return tuple(n + lo + hi for n, lo, hi in zip(self.in_size, self.pad_lo, self.pad_hi))

    @property
    def is_pointwise(self) -> bool:
        """A 1x1 convolution with stride 1 and no padding is one matrix product per sample."""
        return (self.kernel == (1, 1, 1) and self.stride == (1, 1, 1)
                and self.pad_lo == (0, 0, 0) and self.pad_hi == (0, 0, 0))

    @property
    def is_depthwise(self) -> bool:
        """Each output channel reads exactly one input channel (groups == in_channels)."""
        return self.channels_per_group == 1 and self.groups > 1

    # -- the user's shapes (un-lifted) ---------------------------------------------------
    def input_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels) + self.in_size[3 - self.ndim:]

    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.out_channels) + self.out_size[3 - self.ndim:]

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.channels_per_group) + self.kernel[3 - self.ndim:]

    def lifted(self, shape_kind: str, batch: int | None = None) -> tuple[int, ...]:
        """A 5-d shape: ``'input'`` (N, C, D, H, W), ``'output'`` or ``'weight'``."""
        if shape_kind == "input":
            return (self.batch if batch is None else batch, self.channels) + self.in_size
        if shape_kind == "output":
            return (self.batch if batch is None else batch, self.out_channels) + self.out_size
        return (self.out_channels, self.channels_per_group) + self.kernel
