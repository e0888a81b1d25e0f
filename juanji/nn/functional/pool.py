"""Pooling functions (torch.nn.functional surface): max, average, LP, adaptive, max unpooling.

One implementation serves 1d, 2d and 3d: the ``*1d/*2d/*3d`` names only say how many trailing
dims are spatial. Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``.

Output length along a spatial dim of size ``n`` (kernel ``k``, stride ``s``, padding ``p``,
dilation ``d``; see ``juanji.kernels.sizes.window_output_size``):

    out = floor((n + 2p - d*(k-1) - 1) / s) + 1        (ceil with ceil_mode, but a last window
                                                        must start inside the input or left padding)

Adaptive pools choose their windows from the output size: window ``o`` of ``out`` covers
``[floor(o*n/out), ceil((o+1)*n/out))``.

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> x = juanji.arange(16.).reshape(1, 1, 4, 4)
    >>> F.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
"""

from __future__ import annotations

import numpy as np

from ...kernels import pool as kernels
from ...ops.pool import AvgPool, MaxPool, MaxUnpool
from . import _args

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
]


def _check_floating(op: str, input, also_int64: bool = False) -> None:
    """Average pools need a floating-point input (torch's avg_pool also takes int64)."""
    kind = input._data.dtype
    if kind.kind == "f" or (also_int64 and kind == np.int64):
        return
    raise RuntimeError(f"{op}: not implemented for {kind} input; expected a floating-point "
                       f"tensor{' (or int64)' if also_int64 else ''}")


def _sliding(op, input, window):
    """The windows of ``window`` over the input (built once per input size, cached), with the
    output size checked."""
    spatial = tuple(input.shape[-window.ndim:])
    windows = kernels.pool_windows(window, spatial)
    if any(o < 1 for o in windows.out_spatial):
        raise RuntimeError(
            f"{op}: output size is too small: input of spatial size {spatial} with "
            f"kernel_size={window.kernel}, stride={window.stride}, padding={window.pad_lo}, "
            f"dilation={window.dilation} gives {windows.out_spatial}")
    return windows


# -- the calls behind the functions and the Modules (each over a validated Window) --------------

def max_pool(op: str, input, window, return_indices=False):
    """Max pooling over ``window`` (``_args.pool_window``): F.max_pool*d's and MaxPool*d's path."""
    _args.pool_input(op, input, window.ndim)
    windows = _sliding(op, input, window)
    return MaxPool.apply(input, windows=windows, return_indices=bool(return_indices))


def avg_pool(op: str, input, window, count_include_pad=True, divisor_override=None):
    """Average pooling over ``window``: F.avg_pool*d's and AvgPool*d's path."""
    _args.pool_input(op, input, window.ndim)
    _check_floating(op, input, also_int64=True)
    windows = _sliding(op, input, window)
    divisor = kernels.avg_pool_divisor(windows, bool(count_include_pad), divisor_override,
                                       dtype=input._data.dtype)
    return AvgPool.apply(input, windows=windows, divisor=divisor)


def lp_pool(op: str, input, norm_type, window):
    """(sum over the window of x^p)^(1/p), computed as torch does: from an average pool.

        y = (sign(a) * relu(|a|) * prod(kernel))^(1/p),   a = avg_pool(x^p, kernel, stride)

    The sign/relu pair makes the gradient zero where the window sum is zero. (Errors of the
    pooling inside name it, ``max_pool2d``/``avg_pool2d``, as torch's do.)
    """
    n = window.ndim
    if norm_type == float("inf"):
        return max_pool(f"max_pool{n}d", input.abs(), window)
    if norm_type == -float("inf"):
        return -max_pool(f"max_pool{n}d", -input.abs(), window)
    if norm_type == 0:
        raise ZeroDivisionError(f"{op}: norm_type must not be 0 (the result is a 1/norm_type power)")
    a = avg_pool(f"avg_pool{n}d", input.pow(norm_type), window)
    return (a.sign() * a.abs().relu()).mul(int(np.prod(window.kernel))).pow(1.0 / norm_type)


def max_unpool(op: str, input, indices, window, output_size=None):
    """Max unpooling over ``window`` (``_args.unpool_window``): F.max_unpool*d's and
    MaxUnpool*d's path. The output size is the transposed size of the window (or
    ``output_size``, within ``stride`` of it)."""
    n = window.ndim
    ndim = len(input.shape)
    if ndim not in (n + 1, n + 2):
        layout = _args.LAYOUT[n]
        raise RuntimeError(f"{op}: expected a {n + 1}D (C, {layout}) or {n + 2}D (N, C, {layout}) "
                           f"input, got input of shape {_args.shape_text(input)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: expected indices of the input's shape {_args.shape_text(input)}, "
                           f"got indices of shape {_args.shape_text(indices)}")
    if indices._data.dtype != np.int64:
        raise RuntimeError(f"{op}: expected int64 indices (as max_pool returns), "
                           f"got {indices.dtype}")
    out = _args.unpool_output_size(op, window, tuple(input.shape[-n:]), output_size)
    plane = int(np.prod(out))
    idx = indices._data
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        bad = int(idx.max()) if int(idx.max()) >= plane else int(idx.min())
        raise RuntimeError(f"{op}: found an invalid max index {bad} (output planes are of size "
                           f"{'x'.join(str(v) for v in out)})")
    return MaxUnpool.apply(input, indices, out_spatial=out)


# -- max pooling -------------------------------------------------------------------------------

def _max_pool(op, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _args.pool_input(op, input, n)
    window = _args.pool_window(op, n, kernel_size, stride, padding, dilation, ceil_mode)
    return max_pool(op, input, window, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of length ``kernel_size`` of a ``(N, C, L)`` or ``(C, L)`` input.

    Padding is implicit -inf (never chosen). With ``return_indices`` also returns, for each
    output, the position of its maximum in the input row (the first one on ties).
    """
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over ``kh x kw`` windows of a ``(N, C, H, W)`` or ``(C, H, W)`` input.

    Indices (``return_indices``) are flat positions ``h*W + w`` inside each input plane.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over ``kd x kh x kw`` windows; indices are ``(d*H + h)*W + w`` inside each volume."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# -- average pooling ---------------------------------------------------------------------------

def _avg_pool(op, n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    _args.pool_input(op, input, n)
    _check_floating(op, input, also_int64=True)
    window = _args.pool_window(op, n, kernel_size, stride, padding, 1, ceil_mode)
    _args.divisor_override(op, divisor_override)
    return avg_pool(op, input, window, count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over windows of a ``(N, C, L)`` or ``(C, L)`` input.

    Each window sum is divided by the window's length clipped to the padded input
    (``count_include_pad=True``) or to the input itself (``False``). A ceil_mode window hanging
    past the right padding does not count the overhang. (torch's avg_pool1d has no
    divisor_override.)
    """
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over ``kh x kw`` windows; ``divisor_override`` replaces every divisor."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over ``kd x kh x kw`` windows; ``divisor_override`` replaces every divisor."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


# -- adaptive pooling --------------------------------------------------------------------------

def _adaptive_windows(op, n, input, output_size):
    _args.pool_input(op, input, n)
    _check_floating(op, input)
    spatial = tuple(input.shape[-n:])
    return kernels.adaptive_windows(spatial, _args.adaptive_output_size(op, n, spatial, output_size))


def _adaptive_node_name(kind: str, n: int, out_spatial) -> str:
    """torch's node for an adaptive pool (``kind``: "AdaptiveAvgPool" or "AdaptiveMaxPool").

    torch computes the 1-d pools as 2-d ones on an unsqueezed input (the last node is a
    squeeze), and an adaptive *average* pool to a single value per plane as a mean.
    """
    if n == 1:
        return "SqueezeBackward1"
    if kind == "AdaptiveAvgPool" and all(size == 1 for size in out_spatial):
        return "MeanBackward1"
    return f"{kind}{n}DBackward0"


def _adaptive_avg(op, n, input, output_size):
    windows = _adaptive_windows(op, n, input, output_size)
    divisor = kernels.adaptive_avg_divisor(windows, dtype=input._data.dtype)
    named = AvgPool.variant(_adaptive_node_name("AdaptiveAvgPool", n, windows.out_spatial))
    return named.apply(input, windows=windows, divisor=divisor)


def adaptive_avg_pool1d(input, output_size):
    """Mean over ``output_size`` windows that tile the input (uneven sizes allowed)."""
    if output_size is None:
        raise TypeError("adaptive_avg_pool1d: output_size must be an int, got None")
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Mean over windows chosen to give ``output_size`` (an int, or (oh, ow) with None = keep)."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Mean over windows chosen to give ``output_size`` (int or (od, oh, ow), None = keep)."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(op, n, input, output_size, return_indices):
    windows = _adaptive_windows(op, n, input, output_size)
    named = MaxPool.variant(_adaptive_node_name("AdaptiveMaxPool", n, windows.out_spatial))
    return named.apply(input, windows=windows, return_indices=bool(return_indices))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over ``output_size`` windows that tile the input; indices as in max_pool1d."""
    if output_size is None:
        raise TypeError("adaptive_max_pool1d: output_size must be an int, got None")
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over windows chosen to give ``output_size``; indices as in max_pool2d."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over windows chosen to give ``output_size``; indices as in max_pool3d."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


# -- max unpooling -----------------------------------------------------------------------------

def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    return max_unpool(op, input, indices, _args.unpool_window(op, n, kernel_size, stride, padding), output_size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: each value goes back to its index, zeros elsewhere.

    Default output length ``(L-1)*stride + kernel_size - 2*padding``; ``output_size`` may pick
    any length strictly within ``stride`` of it (to undo a pooling that dropped a remainder).
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d (see :func:`max_unpool1d` for the output size rule)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool3d (see :func:`max_unpool1d` for the output size rule)."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


# -- power-average (LP) pooling ----------------------------------------------------------------

def _lp_pool(op, n, input, norm_type, kernel_size, stride, ceil_mode):
    window = _args.pool_window(op, n, kernel_size, stride, 0, 1, ceil_mode)
    return lp_pool(op, input, norm_type, window)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: ``(sum_window x^p)^(1/p)`` over windows of length kernel_size."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over ``kh x kw`` windows (p = inf is max pooling of |x|)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over ``kd x kh x kw`` windows."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)
