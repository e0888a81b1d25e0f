"""The window of a sliding-window layer, in the one canonical form every layer below the user uses.

Convolutions (and transposed ones), max/avg/LP pooling, max unpooling, unfold/fold and the
padding layers all slide a (dilated) window over each spatial dim. The user's arguments (an int
or a tuple, ``padding='same'``, ``stride=None`` for pools) are checked and turned into a
:class:`Window` once, by ``juanji/nn/functional/_args.py``: a Module does it when it is built
and keeps the result, a functional call does it per call. From there the Window is the only
form: the Ops carry it (or the shape-bound geometry built from it, see ``_conv_geometry.py``
and ``pool.py``) into every kernel, and ``juanji.explain`` reads shapes, FLOPs and receptive
fields from the layer's own Window.

Per spatial dim: kernel ``k``, stride ``s``, padding ``lo`` before and ``hi`` after, dilation
``d``; the output size (``juanji/kernels/sizes.py``, the only home of the rule):

    out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1            (ceil with ceil_mode)
    transposed: out = (n-1)*s - lo - hi + d*(k-1) + output_padding + 1

A padding layer is a window of size 1 with padding: ``out = n + lo + hi``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .sizes import transposed_output_size, window_output_size

__all__ = ["Window"]


@dataclass(frozen=True)
class Window:
    """One sliding window, per spatial dim: kernel ``k``, stride ``s``, padding before/after
    (``pad_lo``/``pad_hi``), dilation ``d``; ``ceil_mode`` (pooling); ``transposed`` and
    ``output_padding`` for transposed convolutions. Frozen and hashable: equal arguments give
    equal windows, which share the geometry cached for them."""

    kernel: tuple
    stride: tuple
    pad_lo: tuple
    pad_hi: tuple
    dilation: tuple
    ceil_mode: bool = False
    transposed: bool = False
    output_padding: tuple = ()

    @property
    def ndim(self) -> int:
        """How many spatial dims the window slides over."""
        return len(self.kernel)

    @property
    def effective_kernel(self) -> tuple:
        """``k_eff = d*(k-1) + 1``: the span a dilated kernel covers."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def padding_pairs(self) -> tuple:
        """``((lo, hi), ...)`` per spatial dim."""
        return tuple(zip(self.pad_lo, self.pad_hi))

    def unpadded(self) -> "Window":
        """The same window without padding (a layer that pads with ``F.pad`` first)."""
        zeros = (0,) * self.ndim
        return replace(self, pad_lo=zeros, pad_hi=zeros)

    def output_spatial(self, spatial) -> tuple:
        """The spatial size the window gives on an input of spatial size ``spatial``."""
        output_padding = self.output_padding or (0,) * self.ndim
        if self.transposed:
            return tuple(transposed_output_size(n, k, s, lo, hi, d, op) for n, k, s, lo, hi, d, op in zip(
                spatial, self.kernel, self.stride, self.pad_lo, self.pad_hi, self.dilation, output_padding))
        return tuple(window_output_size(n, k, s, lo, hi, d, self.ceil_mode) for n, k, s, lo, hi, d in zip(
            spatial, self.kernel, self.stride, self.pad_lo, self.pad_hi, self.dilation))
