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
from ._args import shape_text as _shape

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

_LAYOUT = {1: "L", 2: "H, W", 3: "D, H, W"}


# -- argument checking and normalising (shared with the pooling Modules) -----------------------


def _ntuple(value, n: int, op: str, arg: str) -> tuple:
    """An int, or a sequence of 1 or ``n`` ints, as an ``n``-tuple of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(items) == 1:
        items = items * n
    if len(items) != n or not all(isinstance(v, (int, np.integer)) for v in items):
        raise RuntimeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in items)


def _check_input(op: str, input, n: int) -> None:
    """(C, *spatial) or (N, C, *spatial), every dim but the batch non-empty."""
    ndim = len(input.shape)
    ok = ndim in (n + 1, n + 2) and all(size > 0 for size in input.shape[ndim - n - 1:])
    if not ok:
        layout = _LAYOUT[n]
        raise RuntimeError(
            f"{op}: expected a {n + 1}D (C, {layout}) or {n + 2}D (N, C, {layout}) input with "
            f"non-zero channel and spatial sizes, got input of shape {_shape(input)}")


def _check_floating(op: str, input, also_int64: bool = False) -> None:
    """Average pools need a floating-point input (torch's avg_pool also takes int64)."""
    kind = input._data.dtype
    if kind.kind == "f" or (also_int64 and kind == np.int64):
        return
    raise RuntimeError(f"{op}: not implemented for {kind} input; expected a floating-point "
                       f"tensor{' (or int64)' if also_int64 else ''}")


def _check_positive(op: str, arg: str, values: tuple) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: {arg} must be greater than zero, got {arg}={values}")


def _window_args(op, n, kernel_size, stride, padding, dilation):
    """Canonical (kernel, stride, padding, dilation) tuples; stride defaults to the kernel."""
    kernel = _ntuple(kernel_size, n, op, "kernel_size")
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        stride = kernel
    else:
        stride = _ntuple(stride, n, op, "stride")
    padding = _ntuple(padding, n, op, "padding")
    dilation = _ntuple(dilation, n, op, "dilation")
    _check_positive(op, "kernel_size", kernel)
    _check_positive(op, "stride", stride)
    _check_positive(op, "dilation", dilation)
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: padding must be non-negative, got padding={padding}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(f"{op}: padding should be at most half of kernel_size, "
                           f"got padding={padding} and kernel_size={kernel}")
    return kernel, stride, padding, dilation


def _sliding(op, input, n, kernel, stride, padding, dilation, ceil_mode):
    spatial = tuple(input.shape[-n:])
    windows = kernels.sliding_windows(spatial, kernel, stride, padding, dilation, bool(ceil_mode))
    if any(o < 1 for o in windows.out_spatial):
        raise RuntimeError(
            f"{op}: output size is too small: input of spatial size {spatial} with "
            f"kernel_size={kernel}, stride={stride}, padding={padding}, dilation={dilation} "
            f"gives {windows.out_spatial}")
    return windows


# -- max pooling -------------------------------------------------------------------------------

def _max_pool(op, n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_input(op, input, n)
    kernel, stride, padding, dilation = _window_args(op, n, kernel_size, stride, padding, dilation)
    windows = _sliding(op, input, n, kernel, stride, padding, dilation, ceil_mode)
    return MaxPool.apply(input, windows=windows, return_indices=bool(return_indices))


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
    _check_input(op, input, n)
    _check_floating(op, input, also_int64=True)
    kernel, stride, padding, _ = _window_args(op, n, kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor_override must not be zero")
    windows = _sliding(op, input, n, kernel, stride, padding, (1,) * n, ceil_mode)
    divisor = kernels.avg_pool_divisor(windows, kernel, stride, padding, bool(count_include_pad),
                                       divisor_override, dtype=input._data.dtype)
    return AvgPool.apply(input, windows=windows, divisor=divisor)


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

def _adaptive_output_size(op, n, input, output_size) -> tuple:
    """``output_size`` as an n-tuple; None entries keep the input's size."""
    if output_size is None or isinstance(output_size, (int, np.integer)):
        items = (output_size,) * n
    else:
        items = tuple(output_size)
        if len(items) != n:
            raise RuntimeError(f"{op}: output_size must have {n} elements, got {output_size!r}")
    spatial = input.shape[-n:]
    sizes = tuple(int(spatial[i]) if v is None else v for i, v in enumerate(items))
    if not all(isinstance(v, (int, np.integer)) for v in sizes) or any(v < 0 for v in sizes):
        raise RuntimeError(f"{op}: output_size must be non-negative ints (or None), "
                           f"got {output_size!r}")
    return tuple(int(v) for v in sizes)


def _adaptive_windows(op, n, input, output_size):
    _check_input(op, input, n)
    _check_floating(op, input)
    out = _adaptive_output_size(op, n, input, output_size)
    return kernels.adaptive_windows(tuple(input.shape[-n:]), out)


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

def _unpool_output_size(op, n, input, kernel, stride, padding, output_size) -> tuple:
    """The default ``(in-1)*s + k - 2p``, or ``output_size`` if it is within ``stride`` of it."""
    spatial = input.shape[-n:]
    default = tuple((i - 1) * s + k - 2 * p for i, s, k, p in zip(spatial, stride, kernel, padding))
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(int(v) for v in output_size)
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(f"{op}: output_size should have {n} or {n + 2} elements, "
                             f"got {tuple(output_size)}")
        for d in range(n):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < sizes[d] < high:
                raise ValueError(
                    f"{op}: invalid output_size {tuple(output_size)}: dim {d} must be strictly "
                    f"between {low} and {high} (the default is {default[d]})")
    if any(v <= 0 for v in sizes):
        raise ValueError(f"{op}: output size must be positive, got {sizes}")
    return sizes


def _max_unpool(op, n, input, indices, kernel_size, stride, padding, output_size):
    ndim = len(input.shape)
    if ndim not in (n + 1, n + 2):
        layout = _LAYOUT[n]
        raise RuntimeError(f"{op}: expected a {n + 1}D (C, {layout}) or {n + 2}D (N, C, {layout}) "
                           f"input, got input of shape {_shape(input)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: expected indices of the input's shape {_shape(input)}, "
                           f"got indices of shape {_shape(indices)}")
    if indices._data.dtype != np.int64:
        raise RuntimeError(f"{op}: expected int64 indices (as max_pool returns), "
                           f"got {indices.dtype}")
    kernel = _ntuple(kernel_size, n, op, "kernel_size")
    stride = kernel if stride is None else _ntuple(stride, n, op, "stride")
    padding = _ntuple(padding, n, op, "padding")
    out = _unpool_output_size(op, n, input, kernel, stride, padding, output_size)
    plane = int(np.prod(out))
    idx = indices._data
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        bad = int(idx.max()) if int(idx.max()) >= plane else int(idx.min())
        raise RuntimeError(f"{op}: found an invalid max index {bad} (output planes are of size "
                           f"{'x'.join(str(v) for v in out)})")
    return MaxUnpool.apply(input, indices, out_spatial=out)


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

def _lp_pool(op, n, pool_max, pool_avg, input, norm_type, kernel_size, stride, ceil_mode):
    """(sum over the window of x^p)^(1/p), computed as torch does: from an average pool.

        y = (sign(a) * relu(|a|) * prod(kernel))^(1/p),   a = avg_pool(x^p, kernel, stride)

    The sign/relu pair makes the gradient zero where the window sum is zero.
    """
    if norm_type == float("inf"):
        return pool_max(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -pool_max(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == 0:
        raise ZeroDivisionError(f"{op}: norm_type must not be 0 (the result is a 1/norm_type power)")
    from ... import sign
    kernel = _ntuple(kernel_size, n, op, "kernel_size")
    a = pool_avg(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (sign(a) * a.abs().relu()).mul(int(np.prod(kernel))).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: ``(sum_window x^p)^(1/p)`` over windows of length kernel_size."""
    return _lp_pool("lp_pool1d", 1, max_pool1d, avg_pool1d, input, norm_type, kernel_size,
                    stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over ``kh x kw`` windows (p = inf is max pooling of |x|)."""
    return _lp_pool("lp_pool2d", 2, max_pool2d, avg_pool2d, input, norm_type, kernel_size,
                    stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over ``kd x kh x kw`` windows."""
    return _lp_pool("lp_pool3d", 3, max_pool3d, avg_pool3d, input, norm_type, kernel_size,
                    stride, ceil_mode)
