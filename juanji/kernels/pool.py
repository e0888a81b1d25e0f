"""Pooling kernels on arrays: max, average and adaptive pooling over 1, 2 or 3 spatial dims.

Notation: ``x`` has shape ``(*batch, *spatial)`` with ``len(spatial)`` = 1, 2 or 3 (the batch
part is ``(N, C)`` or ``(C,)``). Along one spatial dim of length ``n`` a pooling layer places
``out`` windows; window ``o`` covers the taps

    t_j = o*s - pad + j*d,   j = 0 .. k-1          (regular: kernel k, stride s, dilation d)
    t   = floor(o*n/out) .. ceil((o+1)*n/out) - 1  (adaptive)

A :class:`Windows` is the shape-bound geometry of a pool: a layer's
:class:`~juanji.kernels.window.Window` (or an adaptive pool's output size) over one input
size, holding per spatial dim the first in-bounds tap and the number of in-bounds taps of every
window; the Numba loops in ``_pool_numba`` then need no padding, no ceil_mode and no special
case for adaptive pools. :func:`pool_windows` and :func:`adaptive_windows` build it once per
(window, input size) and cache it, as do the divisor functions; the Ops carry it from the
forward to the backward kernel. The output length of regular windows comes from
:func:`juanji.kernels.sizes.window_output_size` (torch's ceil_mode rule), nowhere else.

Average pooling divides each window's sum by PyTorch's divisor (see :func:`avg_pool_divisor`).
Max pooling returns, with the values, the flat index of each maximum inside its input plane
(``(d*H + h)*W + w``), which is what ``return_indices`` gives and MaxUnpool consumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import _pool_numba
from . import workspace
from ._threads import run_tasks
from .sizes import window_output_size
from .window import Window

__all__ = [
    "AxisWindows", "Windows", "pool_windows", "adaptive_windows", "avg_pool_divisor",
    "adaptive_avg_divisor",
    "max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
    "max_unpool_forward", "max_unpool_backward",
]


@dataclass(frozen=True)
class AxisWindows:
    """The windows along one spatial dim: first in-bounds tap, number of in-bounds taps, step."""

    start: np.ndarray  # int64, one per output position
    count: np.ndarray  # int64, one per output position
    step: int = 1      # distance between taps (dilation)

    @property
    def out(self) -> int:
        return int(self.start.shape[0])


@dataclass(frozen=True, eq=False)
class Windows:
    """Windows along every spatial dim, plus the spatial shape of the input they slide over and
    the layer's Window they come from (None for an adaptive pool)."""

    axes: tuple        # AxisWindows per spatial dim
    in_spatial: tuple  # input spatial shape
    window: Window | None = None

    @property
    def out_spatial(self) -> tuple:
        return tuple(a.out for a in self.axes)


def _read_only(*arrays):
    for array in arrays:
        array.setflags(write=False)


def _axis_sliding(n: int, k: int, s: int, pad: int, d: int, ceil_mode: bool) -> AxisWindows:
    out = window_output_size(n, k, s, pad, pad, d, ceil_mode)
    first = np.arange(out, dtype=np.int64) * s - pad          # first tap, maybe in the padding
    # skip taps before the input: the first j with first + j*d >= 0
    skip = np.where(first < 0, (-first + d - 1) // d, 0)
    skip = np.minimum(skip, k)
    start = first + skip * d
    # last j with first + j*d <= n - 1 (floor division of a possibly negative number is exact)
    last = np.minimum(k - 1, (n - 1 - first) // d)
    count = np.maximum(last - skip + 1, 0).astype(np.int64)
    _read_only(start, count)
    return AxisWindows(start, count, d)


@lru_cache(maxsize=512)
def pool_windows(window: Window, in_spatial: tuple) -> Windows:
    """The windows of a max/avg pool with ``window`` over an input of spatial size ``in_spatial``
    (built once per pair and cached; the pools' padding is symmetric, ``pad_lo``)."""
    axes = tuple(_axis_sliding(n, k, s, p, d, window.ceil_mode) for n, k, s, p, d in zip(
        in_spatial, window.kernel, window.stride, window.pad_lo, window.dilation))
    return Windows(axes, tuple(in_spatial), window)


def _axis_adaptive(n: int, out: int) -> AxisWindows:
    o = np.arange(out, dtype=np.int64)
    start = (o * n) // out
    end = -((-(o + 1) * n) // out)   # ceil((o+1)*n/out)
    count = end - start
    _read_only(start, count)
    return AxisWindows(start, count, 1)


@lru_cache(maxsize=512)
def adaptive_windows(in_spatial: tuple, out_spatial: tuple) -> Windows:
    """Adaptive windows: start = floor(o*n/out), end = ceil((o+1)*n/out) along each dim
    (built once per pair of sizes and cached)."""
    axes = tuple(_axis_adaptive(n, o) for n, o in zip(in_spatial, out_spatial))
    return Windows(axes, tuple(in_spatial))


def _axis_divisor(n: int, k: int, s: int, pad: int, out: int, count_include_pad: bool):
    """PyTorch's average-pool divisor factor along one dim.

    With count_include_pad the window is clipped to the padded input (taps past the right
    padding, possible with ceil_mode, do not count); without, it is clipped to the input.
    """
    lo = np.arange(out, dtype=np.int64) * s - pad
    hi = np.minimum(lo + k, n + pad)
    if not count_include_pad:
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, n)
    return hi - lo


@lru_cache(maxsize=512)
def avg_pool_divisor(windows: Windows, count_include_pad=True, divisor_override=None,
                     dtype=np.float32) -> np.ndarray:
    """The divisor of every output position (shape ``windows.out_spatial``) of an average pool
    over regular ``windows`` (read-only; built once and cached).

        divisor = divisor_override                               if given
                = prod_dims (min(lo+k, n+pad) - lo)              count_include_pad
                = prod_dims (min(lo+k, n) - max(lo, 0))          otherwise,   lo = o*s - pad
    """
    out_spatial, window = windows.out_spatial, windows.window
    if divisor_override is not None:
        divisor = np.full(out_spatial, divisor_override, dtype=dtype)
    else:
        divisor = np.ones((), dtype=np.int64)
        for n, k, s, p, out in zip(windows.in_spatial, window.kernel, window.stride, window.pad_lo, out_spatial):
            factor = _axis_divisor(n, k, s, p, out, count_include_pad)
            divisor = np.multiply.outer(divisor, factor)
        divisor = divisor.astype(dtype)
    _read_only(divisor)
    return divisor


@lru_cache(maxsize=512)
def adaptive_avg_divisor(windows: Windows, dtype=np.float32) -> np.ndarray:
    """The divisor of an adaptive average pool: the number of taps of each window (read-only;
    built once and cached)."""
    divisor = np.ones((), dtype=np.int64)
    for axis in windows.axes:
        divisor = np.multiply.outer(divisor, axis.count)
    divisor = divisor.astype(dtype)
    _read_only(divisor)
    return divisor


# -- lifting to the (planes, D, H, W) layout of the Numba loops ---------------------------------

_ONE_WINDOW = AxisWindows(np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64), 1)


def _as_planes(x: np.ndarray, n_spatial: int) -> np.ndarray:
    """View ``(*batch, *spatial)`` as ``(planes, D, H, W)`` (missing dims of size 1)."""
    spatial = x.shape[x.ndim - n_spatial:]
    planes = int(np.prod(x.shape[:x.ndim - n_spatial], dtype=np.int64))
    lifted = (1,) * (3 - n_spatial) + tuple(spatial)
    return np.ascontiguousarray(x).reshape((planes,) + lifted)


def _lifted_axes(windows: Windows) -> tuple:
    return (_ONE_WINDOW,) * (3 - len(windows.axes)) + tuple(windows.axes)


def _lifted_divisor(divisor: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(divisor.reshape((1,) * (3 - divisor.ndim) + divisor.shape))


def _check_numpy(x) -> None:
    if not isinstance(x, np.ndarray):
        raise NotImplementedError(f"pooling kernels run on NumPy arrays, got {type(x).__name__}")


@lru_cache(maxsize=256)
def _is_plain_2x2(windows: Windows) -> bool:
    """Whether every window is a full 2x2 block at stride 2 of a 2-d input (the case of the max and
    average pools' own 2x2 loops); checked once per (cached) Windows."""
    if len(windows.axes) != 2:
        return False
    for axis in windows.axes:
        full = np.arange(axis.out, dtype=np.int64) * 2
        if axis.step != 1 or not (np.array_equal(axis.start, full) and np.all(axis.count == 2)):
            return False
    return True


# -- max pooling -------------------------------------------------------------------------------

def max_pool_forward(x: np.ndarray, windows: Windows, want_indices: bool = True):
    """Max over each window. Returns ``(y, indices)``; ``indices`` is None unless wanted.

    ``indices[..., o]`` is the flat position of the maximum inside its input plane.
    """
    _check_numpy(x)
    n_spatial = len(windows.axes)
    batch = x.shape[:x.ndim - n_spatial]
    ad, ah, aw = _lifted_axes(windows)
    planes = _as_planes(x, n_spatial)
    lifted_out = (planes.shape[0], ad.out, ah.out, aw.out)
    y = workspace.empty(lifted_out, x.dtype)
    idx = workspace.empty(lifted_out if want_indices else (0, 0, 0, 0), np.int64)
    if _is_plain_2x2(windows):
        run_tasks(_pool_numba.max_pool_2x2_planes, planes.shape[0], planes.size + y.size,
                  planes, want_indices, y, idx)
    else:
        run_tasks(_pool_numba.max_pool_planes, planes.shape[0], planes.size + y.size,
                  planes, ad.start, ad.count, ad.step, ah.start, ah.count, ah.step,
                  aw.start, aw.count, aw.step, want_indices, y, idx)
    out_shape = batch + windows.out_spatial
    return y.reshape(out_shape), (idx.reshape(out_shape) if want_indices else None)


def max_pool_backward(grad_y: np.ndarray, indices: np.ndarray, in_spatial) -> np.ndarray:
    """Each output's gradient goes to the input element it took its maximum from (summed)."""
    _check_numpy(grad_y)
    n_spatial = len(in_spatial)
    batch = grad_y.shape[:grad_y.ndim - n_spatial]
    planes = int(np.prod(batch, dtype=np.int64))
    plane_size = int(np.prod(in_spatial, dtype=np.int64))
    grad_x = workspace.empty((planes, plane_size), grad_y.dtype)  # zeroed plane by plane by the loop
    run_tasks(_pool_numba.scatter_add_planes, planes, grad_x.size + grad_y.size,
              np.ascontiguousarray(grad_y).reshape(planes, -1),
              np.ascontiguousarray(indices).reshape(planes, -1), grad_x)
    return grad_x.reshape(batch + tuple(in_spatial))


# -- average pooling ---------------------------------------------------------------------------

def avg_pool_forward(x: np.ndarray, windows: Windows, divisor: np.ndarray) -> np.ndarray:
    """Sum of the in-bounds taps of each window divided by ``divisor`` (steps must be 1)."""
    _check_numpy(x)
    n_spatial = len(windows.axes)
    batch = x.shape[:x.ndim - n_spatial]
    ad, ah, aw = _lifted_axes(windows)
    planes = _as_planes(x, n_spatial)
    y = workspace.empty((planes.shape[0], ad.out, ah.out, aw.out), x.dtype)
    lifted_divisor = _lifted_divisor(divisor.astype(x.dtype, copy=False))
    if _is_plain_2x2(windows):
        run_tasks(_pool_numba.sum_pool_2x2_planes, planes.shape[0], planes.size + y.size, planes, lifted_divisor, y)
    else:
        run_tasks(_pool_numba.sum_pool_planes, planes.shape[0], planes.size + y.size,
                  planes, ad.start, ad.count, ah.start, ah.count, aw.start, aw.count, lifted_divisor, y)
    return y.reshape(batch + windows.out_spatial)


def avg_pool_backward(grad_y: np.ndarray, windows: Windows, divisor: np.ndarray) -> np.ndarray:
    """Each output's gradient, divided by its divisor, is added to every in-bounds tap."""
    _check_numpy(grad_y)
    n_spatial = len(windows.axes)
    batch = grad_y.shape[:grad_y.ndim - n_spatial]
    ad, ah, aw = _lifted_axes(windows)
    lifted_in = (1,) * (3 - n_spatial) + tuple(windows.in_spatial)
    planes = _as_planes(grad_y, n_spatial)
    grad_x = workspace.zeros((planes.shape[0],) + lifted_in, grad_y.dtype)
    lifted_divisor = _lifted_divisor(divisor.astype(grad_y.dtype, copy=False))
    if _is_plain_2x2(windows):
        run_tasks(_pool_numba.sum_pool_2x2_planes_backward, planes.shape[0], planes.size + grad_x.size,
                  planes, lifted_divisor, grad_x)
    else:
        run_tasks(_pool_numba.sum_pool_planes_backward, planes.shape[0], planes.size + grad_x.size,
                  planes, ad.start, ad.count, ah.start, ah.count, aw.start, aw.count, lifted_divisor, grad_x)
    return grad_x.reshape(batch + tuple(windows.in_spatial))


# -- max unpooling -----------------------------------------------------------------------------

def max_unpool_forward(x: np.ndarray, indices: np.ndarray, out_spatial) -> np.ndarray:
    """Zeros of spatial shape ``out_spatial`` with ``x[..., o]`` written at ``indices[..., o]``.

    Indices are flat positions inside each output plane and must lie in ``[0, prod(out_spatial))``
    (checked by the caller). When two outputs share an index, the later one (in memory order) wins.
    """
    n_spatial = len(out_spatial)
    batch = x.shape[:x.ndim - n_spatial]
    planes = int(np.prod(batch, dtype=np.int64))
    plane_size = int(np.prod(out_spatial, dtype=np.int64))
    y = np.zeros((planes, plane_size), dtype=x.dtype)
    np.put_along_axis(y, np.ascontiguousarray(indices).reshape(planes, -1),
                      np.ascontiguousarray(x).reshape(planes, -1), axis=1)
    return y.reshape(batch + tuple(out_spatial))


def max_unpool_backward(grad_y: np.ndarray, indices: np.ndarray, n_spatial: int) -> np.ndarray:
    """grad_x[..., o] = grad_y[..., indices[..., o]] (a gather within each plane)."""
    batch = grad_y.shape[:grad_y.ndim - n_spatial]
    planes = int(np.prod(batch, dtype=np.int64))
    flat = np.ascontiguousarray(grad_y).reshape(planes, -1)
    grad_x = np.take_along_axis(flat, np.ascontiguousarray(indices).reshape(planes, -1), axis=1)
    return grad_x.reshape(indices.shape)
