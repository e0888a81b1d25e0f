"""Resampling functions (torch.nn.functional surface): interpolate, unfold/fold, pixel shuffle.

interpolate
    Resize the spatial dims of a ``(N, C, *spatial)`` input (1 to 3 spatial dims) to ``size``
    or by ``scale_factor`` (output size ``floor(n * scale_factor)``). Modes: ``nearest``,
    ``nearest-exact``, ``area`` (adaptive average pooling), and the interpolating
    ``linear`` (3D input), ``bilinear``/``bicubic`` (4D), ``trilinear`` (5D). With
    ``align_corners=True`` the corner pixels' centres of input and output coincide:
    ``src = o * (n-1)/(out-1)``; otherwise ``src = (o + 0.5) * n/out - 0.5``. A scale_factor is
    used for the coordinates as given unless ``recompute_scale_factor=True``.
    ``antialias=True`` (bilinear/bicubic, 4D input) resamples as Pillow does: when shrinking,
    the kernel is widened by the shrink factor so that every input pixel contributes.

unfold / fold
    ``unfold`` (im2col) turns every ``kh x kw`` block of a ``(N, C, H, W)`` input into a column
    of a ``(N, C*kh*kw, L)`` output; ``fold`` (col2im) adds such columns back into a
    ``(N, C, *output_size)`` image. ``L = prod_d floor((n_d + 2p_d - d_d(k_d-1) - 1)/s_d + 1)``.

pixel_shuffle / pixel_unshuffle
    ``(*, C*r^2, H, W) <-> (*, C, H*r, W*r)``.

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> F.interpolate(juanji.tensor([[[1., 2.]]]), scale_factor=2, mode="linear").tolist()
    [[[1.0, 1.25, 1.75, 2.0]]]
"""

from __future__ import annotations

import math

from ...kernels import resample as kernels
from ...kernels.conv import conv_geometry
from ...ops.conv import Fold, Unfold
from ...ops.resample import Interpolate, PixelShuffle, PixelUnshuffle
from . import _args
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "unfold", "fold",
           "pixel_shuffle", "pixel_unshuffle"]

_INTERPOLATING = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_NEAREST = ("nearest", "nearest-exact", "area")



# -- interpolate -------------------------------------------------------------------------------

def _interpolate_sizes(input, size, scale_factor, recompute_scale_factor, mode):
    """(output sizes, scales passed to the coordinate rule or None per dim)."""
    dim = len(input.shape) - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dim
        if len(sizes) != dim:
            raise ValueError(
                f"interpolate: size must have one entry per spatial dim: input with spatial dims "
                f"{spatial} (shape {_args.shape_text(input)}), got size {size!r}")
        if not all(_args.is_int(v) for v in sizes):
            raise TypeError(f"interpolate: size must be ints, got {size!r}")
        return [int(v) for v in sizes], [None] * dim
    factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * dim
    if len(factors) != dim:
        raise ValueError(
            f"interpolate: scale_factor must have one entry per spatial dim: input with spatial "
            f"dims {spatial} (shape {_args.shape_text(input)}), got scale_factor {scale_factor!r}")
    factors = [float(f) for f in factors]
    sizes = [math.floor(n * f) for n, f in zip(spatial, factors)]
    # area mode always works from the integer size, like an explicit size
    if recompute_scale_factor or mode == "area":
        return sizes, [None] * dim
    return sizes, factors


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``input`` (``(N, C, *spatial)``, 1-3 spatial dims); see the module doc."""
    known = _NEAREST + tuple(_INTERPOLATING)
    if mode in _NEAREST:
        if align_corners is not None:
            raise ValueError("interpolate: align_corners can only be set with the interpolating "
                             f"modes linear | bilinear | bicubic | trilinear, got mode={mode!r}")
    elif mode in _INTERPOLATING:
        align_corners = bool(align_corners) if align_corners is not None else False
    else:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}, expected one of "
                                  f"{' | '.join(known)}")
    ndim = len(input.shape)
    if antialias and not (mode in ("bilinear", "bicubic") and ndim == 4):
        raise ValueError("interpolate: the anti-alias option is restricted to bilinear and bicubic modes and "
                         f"requires a 4-D tensor as input, got mode={mode!r} and an input of shape {_args.shape_text(input)}")
    if ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"interpolate: expected a 3D, 4D or 5D (N, C, *spatial) input, got input of shape "
            f"{_args.shape_text(input)} (mode {mode!r})")
    if mode in _INTERPOLATING and ndim != _INTERPOLATING[mode]:
        raise NotImplementedError(f"interpolate: got {ndim}D input, but {mode} mode needs "
                                  f"{_INTERPOLATING[mode]}D input")
    if mode in _INTERPOLATING and input._data.dtype.kind != "f":
        raise NotImplementedError(f"interpolate: {mode} mode needs a floating-point input, got "
                                  f"{input._data.dtype}")
    sizes, scales = _interpolate_sizes(input, size, scale_factor, recompute_scale_factor, mode)
    spatial = tuple(input.shape[2:])
    if any(n <= 0 for n in spatial) or any(o <= 0 for o in sizes):
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, got "
                           f"input spatial size {spatial} and output size {tuple(sizes)}")
    if mode == "area":
        pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[ndim - 3]
        return pool(input, tuple(sizes))
    axis_mode = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    dtype = input._data.dtype
    named = Interpolate.variant(_upsample_node_name(mode, ndim - 2, antialias))
    if antialias:
        taps = tuple(kernels.antialias_taps(n, o, axis_mode, align_corners, s, dtype)
                     for n, o, s in zip(spatial, sizes, scales))
        return named.apply(input, taps=taps)
    shortcuts = mode == "nearest" and ndim == 4  # torch's upsample_nearest2d quirk
    taps = tuple(kernels.interpolation_taps(n, o, axis_mode, align_corners, s, dtype, shortcuts)
                 for n, o, s in zip(spatial, sizes, scales))
    return named.apply(input, taps=taps)


# torch's upsampling kernels, one per mode and number of spatial dims, each its own node
_UPSAMPLE_NODE = {"nearest": "Nearest", "nearest-exact": "NearestExact", "linear": "Linear",
                  "bilinear": "Bilinear", "bicubic": "Bicubic", "trilinear": "Trilinear"}


def _upsample_node_name(mode: str, n_spatial: int, antialias: bool) -> str:
    """torch's node name for ``interpolate(mode=...)``: ``UpsampleBilinear2DBackward0``,
    ``UpsampleNearestExact3DBackward0``, ``UpsampleBicubic2DAaBackward0`` (anti-aliased), ..."""
    return f"Upsample{_UPSAMPLE_NODE[mode]}{n_spatial}D{'Aa' if antialias else ''}Backward0"


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- unfold / fold -----------------------------------------------------------------------------

def unfold_blocks(op: str, input, window):
    """``unfold`` over a validated 2-d ``window`` (``_args.block_window``): F.unfold's and
    nn.Unfold's path. The Op gets the window's geometry over this input: unfold is a
    convolution with an identity weight of ``C*kh*kw`` output channels."""
    ndim = len(input.shape)
    if ndim not in (3, 4) or any(n == 0 for n in input.shape[ndim - 3:]):
        raise RuntimeError(f"{op}: expected a 3D (C, H, W) or 4D (N, C, H, W) input with "
                           f"non-zero channel and spatial sizes, got input of shape {_args.shape_text(input)}")
    size = tuple(input.shape[-2:])
    blocks = window.output_spatial(size)
    if min(blocks) < 1:
        raise RuntimeError(
            f"{op}: input of spatial size {size} with kernel_size={window.kernel}, dilation={window.dilation}, "
            f"padding={window.pad_lo}, stride={window.stride} gives {blocks} blocks; each must be at least one")
    batched = input if ndim == 4 else input.unsqueeze(0)
    channels = batched.shape[1]
    geometry = conv_geometry(window, batched.shape, channels * window.kernel[0] * window.kernel[1])
    cols = Unfold.apply(batched, geometry=geometry)
    return cols if ndim == 4 else cols.squeeze(0)


def fold_blocks(op: str, input, output_size, window):
    """``fold`` into ``output_size`` (validated, 2 ints) over a validated 2-d ``window``."""
    ndim = len(input.shape)
    if ndim not in (2, 3) or any(n == 0 for n in input.shape[ndim - 2:]):
        raise RuntimeError(f"{op}: expected a 2D (C*kh*kw, L) or 3D (N, C*kh*kw, L) input with "
                           f"non-zero sizes, got input of shape {_args.shape_text(input)}")
    rows, length = input.shape[-2], input.shape[-1]
    taps = window.kernel[0] * window.kernel[1]
    if rows % taps:
        raise RuntimeError(f"{op}: expected input.size({ndim - 2}) to be divisible by the product "
                           f"of kernel_size {window.kernel}, got input of shape {_args.shape_text(input)}")
    blocks = window.output_spatial(output_size)
    if blocks[0] < 1 or blocks[1] < 1 or blocks[0] * blocks[1] != length:
        raise RuntimeError(
            f"{op}: output_size={output_size}, kernel_size={window.kernel}, dilation={window.dilation}, "
            f"padding={window.pad_lo}, stride={window.stride} give {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]} blocks, but the input has {length} "
            f"(input of shape {_args.shape_text(input)})")
    batched = input if ndim == 3 else input.unsqueeze(0)
    geometry = conv_geometry(window, (batched.shape[0], rows // taps) + tuple(output_size), rows)
    out = Fold.apply(batched, geometry=geometry)
    return out if ndim == 3 else out.squeeze(0)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: every block of a ``(N, C, H, W)`` (or ``(C, H, W)``) input as a column.

    Output ``(N, C*kh*kw, L)``; row ``c*kh*kw + i*kw + j`` holds tap ``(i, j)`` of channel ``c``.
    """
    window = _args.block_window("unfold", kernel_size, dilation, padding, stride)
    return unfold_blocks("unfold", input, window)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: add the columns of a ``(N, C*kh*kw, L)`` (or ``(C*kh*kw, L)``) input into images.

    Overlapping blocks are summed, so ``fold(unfold(x))`` multiplies each pixel by the number of
    blocks that cover it.
    """
    output_size = _args.int_tuple("fold", "output_size", output_size, 2)
    window = _args.block_window("fold", kernel_size, dilation, padding, stride)
    return fold_blocks("fold", input, output_size, window)


# -- pixel shuffle -----------------------------------------------------------------------------

def pixel_shuffle(input, upscale_factor):
    """``(*, C*r^2, H, W) -> (*, C, H*r, W*r)``: ``y[c, h*r+i, w*r+j] = x[c*r*r + i*r + j, h, w]``."""
    r = int(upscale_factor)
    if len(input.shape) < 3:
        raise RuntimeError(f"pixel_shuffle: expected an input with at least 3 dims (*, C, H, W), "
                           f"got input of shape {_args.shape_text(input)}")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle: upscale_factor must be positive, got {upscale_factor}")
    if input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected the channel dim (size {input.shape[-3]}) to "
                           f"be divisible by upscale_factor**2 = {r * r}, got input of shape "
                           f"{_args.shape_text(input)}")
    return PixelShuffle.apply(input, factor=r)


def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H*r, W*r) -> (*, C*r^2, H, W)``, the inverse of :func:`pixel_shuffle`."""
    r = int(downscale_factor)
    if len(input.shape) < 3:
        raise RuntimeError(f"pixel_unshuffle: expected an input with at least 3 dims (*, C, H, W), "
                           f"got input of shape {_args.shape_text(input)}")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle: downscale_factor must be positive, got "
                           f"{downscale_factor}")
    for axis, name in ((-2, "height"), (-1, "width")):
        if input.shape[axis] % r:
            raise RuntimeError(f"pixel_unshuffle: expected the {name} (size {input.shape[axis]}) "
                               f"to be divisible by downscale_factor={r}, got input of shape "
                               f"{_args.shape_text(input)}")
    return PixelUnshuffle.apply(input, factor=r)
