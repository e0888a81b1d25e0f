"""Element-wise kernels NumPy does slowly: relu and hardtanh with their gradients (erf and the
other special functions are in ``special.py``).

    relu(x)         = max(x, 0)              (NaN stays NaN, as in torch)
    relu_grad(g, y) = 0 where y <= 0, else g (so NaN passes the gradient, and an infinite g
                      never meets a 0 factor: torch's threshold_backward selects, it does not multiply)
    hardtanh(x, lo, hi)         = min(max(x, lo), hi)   (NaN stays NaN)
    hardtanh_grad(g, y, lo, hi) = 0 where y <= lo or y >= hi, else g: read off the *output*, which
                      is lo or hi exactly where x was outside (lo, hi) and x itself inside (NaN inside,
                      as torch has it), so the Op keeps y (which the next layer keeps anyway) and no
                      mask of its own

On NumPy float32/float64 arrays these are Numba loops, split over the threads when large
(``_threads.run_tasks``), compiled on first use, one at a time, and cached on disk; their
outputs come from ``workspace``. Other arrays use array expressions.
"""

from __future__ import annotations

import math

import numpy as np

from juanji.backend import xp_of

from . import _simd, workspace
from ._threads import run_tasks, workers, worth_parallel
from .errstate import quiet

__all__ = ["relu", "relu_grad", "hardtanh", "hardtanh_grad", "add", "concatenate"]

# On float32 and a CPU with AVX-512 every one of these is a loop on 512-bit vectors (``_simd``:
# ``vclamp`` for hardtanh, ``vkeep`` for relu and its gradient, ``vkeep_inside`` for hardtanh's), which runs
# as fast as a copy; measured on 147K values (MobileNetV2's ReLU6 at batch 1) hardtanh 68 -> 18 us
# and its gradient 95 -> 31 us against the 256-bit loops, on 8 MiB relu 0.62 -> 0.39 ms and its
# gradient 0.81 -> 0.54 ms (two threads). Otherwise relu's forward is NumPy's maximum into workspace
# memory (0.62 ms on 8 MiB against 1.03 ms for a 256-bit Numba loop), in one slice per thread when
# large, and the rest are the loops below: the selection torch makes costs NumPy a where(),
# 1.5-2.5x slower even at 16 values (measured on NumPy 2.4).

# the compiled comparisons raise the FP 'invalid' flag on NaN input; torch is silent (``quiet``: all
# of NumPy's floating-point warnings off, set once per call through NumPy's error-state variable: an
# np.errstate decorator cost ~3 us a call here, as much as a small ReLU)
_quiet = quiet

_ufuncs: dict = {}


def _compiled(name: str):
    """The Numba function ``name``, compiled (or loaded from the disk cache) on first use, one at
    a time: a model without ReLU6 does not pay for hardtanh at start-up."""
    found = _ufuncs.get(name)
    if found is None:
        found = _ufuncs[name] = _BUILDERS[name]()
    return found


# Each loop is a range driver, ``loop(first, last, *arrays)`` over flat contiguous arrays, so that
# ``_threads.run_tasks`` can split a large array over the threads (memory-bound as they are, two
# cores still stream more bytes: relu's backward over 8 MiB 1.40 -> 0.98 ms on two threads).

def _build_relu_grad():
    from numba import njit

    @njit(cache=True, nogil=True)
    def relu_grad_range(first, last, g, y, out):
        # views from ``first``, indexed from 0: an index Numba cannot prove non-negative gets
        # NumPy's negative-index wrap-around on every access, and LLVM then leaves the loop scalar
        # (on AVX2, 301K float32 values: 2.41 -> 0.08 ms, measured)
        g, y, out = g[first:last], y[first:last], out[first:last]
        for i in range(out.size):
            out[i] = 0.0 if y[i] <= 0 else g[i]
    return relu_grad_range


def _build_relu_grad_simd():
    # float32 on 512-bit vectors (``_simd.vkeep``): the loop above stays at 256 bits and runs at
    # ~20 GB/s; this one streams as fast as a copy (8 MiB: 1.26 -> 0.90 ms on one thread, measured)
    from numba import njit

    # (the intrinsics are read as attributes of the module global ``_simd``: imported into the
    # builder they would be closure variables, and Numba does not cache a function that has any,
    # so every process compiled these again, ~0.1 s and ~2-9 MiB each)
    @njit(cache=True, nogil=True)
    def relu_grad_simd_range(first, last, g, y, out):
        i = first
        while i + 16 <= last:
            _simd.vstore(out, i, _simd.vkeep(_simd.vload(y, i), _simd.vload(g, i)))
            i += 16
        while i < last:
            out[i] = 0.0 if y[i] <= 0 else g[i]
            i += 1
    return relu_grad_simd_range


def _build_hardtanh():
    # plain loops, not ufuncs: a ufunc broadcasting the two scalar bounds runs its generic
    # strided loop, slower than NumPy's clip (measured); these vectorise
    from numba import njit

    @njit(cache=True, nogil=True)
    def hardtanh_range(first, last, x, lo, hi, out):
        x, out = x[first:last], out[first:last]  # (indices from 0: see relu_grad_range)
        for i in range(out.size):
            v = x[i]
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            out[i] = v  # NaN: neither comparison holds, it passes
    return hardtanh_range


def _build_hardtanh_grad():
    from numba import njit

    @njit(cache=True, nogil=True)
    def hardtanh_grad_range(first, last, g, y, lo, hi, out):
        g, y, out = g[first:last], y[first:last], out[first:last]  # (indices from 0: see relu_grad_range)
        for i in range(out.size):
            v = y[i]
            out[i] = 0.0 if (v <= lo or v >= hi) else g[i]
    return hardtanh_grad_range


def _build_hardtanh_simd():
    # float32 on 512-bit vectors: the branchy loop above does not vectorise (147K values: 68 us
    # against 17 for NumPy's clip, which does not keep NaN the way torch does)
    from numba import njit

    @njit(cache=True, nogil=True)
    def hardtanh_simd_range(first, last, x, bounds, out):
        lo, hi = _simd.vbcast(bounds, 0), _simd.vbcast(bounds, 1)
        i = first
        while i + 16 <= last:
            _simd.vstore(out, i, _simd.vclamp(_simd.vload(x, i), lo, hi))
            i += 16
        while i < last:
            v = x[i]
            if v < bounds[0]:
                v = bounds[0]
            elif v > bounds[1]:
                v = bounds[1]
            out[i] = v
            i += 1
    return hardtanh_simd_range


def _build_hardtanh_grad_simd():
    from numba import njit

    @njit(cache=True, nogil=True)
    def hardtanh_grad_simd_range(first, last, g, y, bounds, out):
        lo, hi = _simd.vbcast(bounds, 0), _simd.vbcast(bounds, 1)
        i = first
        while i + 16 <= last:
            _simd.vstore(out, i, _simd.vkeep_inside(_simd.vload(y, i), _simd.vload(g, i), lo, hi))
            i += 16
        while i < last:
            v = y[i]
            out[i] = 0.0 if (v <= bounds[0] or v >= bounds[1]) else g[i]
            i += 1
    return hardtanh_grad_simd_range


_BUILDERS = {"relu_grad": _build_relu_grad, "relu_grad_simd": _build_relu_grad_simd,
             "hardtanh_simd": _build_hardtanh_simd, "hardtanh_grad_simd": _build_hardtanh_grad_simd, "hardtanh": _build_hardtanh,
             "hardtanh_grad": _build_hardtanh_grad}


def _compiles(x) -> bool:
    """The ufuncs exist for NumPy float32/float64 arrays."""
    return x.dtype.kind == "f" and x.dtype.itemsize >= 4 and xp_of(x) is np


def _vectors(a) -> bool:
    """Whether the 512-bit loops take ``a``: float32 on a CPU with AVX-512."""
    return _simd.takes(a.dtype)


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


def _run(name: str, like, *args, out=None):
    """``out`` shaped like ``like`` (from ``workspace`` unless given: a C-contiguous array the loop may
    write while it reads ``args`` from it, element by element), filled by the loop ``name`` over its
    elements, split over the threads when large; ``args`` come before ``out``."""
    if out is None:
        out = workspace.empty(like.shape, like.dtype)  # (ascontiguousarray makes a 0-d array 1-d)
    size = out.size
    run_tasks(_compiled(name), size, size, *args, out.reshape(-1))
    return out


def _maximum_range(first, last, x, zero, out):
    np.maximum(x[first:last], zero, out=out[first:last])


def writes_in_place(x) -> bool:
    """Whether :func:`relu` and :func:`hardtanh` can write their result over ``x`` itself (``out=x``):
    a writeable, C-contiguous float32/float64 NumPy array (each element is read before it is written)."""
    return (isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64) and x.flags.c_contiguous
            and x.flags.writeable)


# Up to this many values (C-contiguous NumPy floats) relu and its gradient are one NumPy call: the Numba
# loop's dispatch, its work array and the split test around it cost more than the arithmetic (a 16 x 16
# relu 4.5 -> 3.1 us a call through Tensor.relu, measured). The same values: ``np.maximum(x, 0)`` keeps
# NaN and gives +0.0 for -0.0 as the loop does; the gradient selects as the loop does.
SMALL_ELEMENTS = 1 << 12


def _small(a) -> bool:
    return a.__class__ is np.ndarray and a.size <= SMALL_ELEMENTS and a.dtype.kind == "f" and a.flags.c_contiguous


@_quiet
def relu(x, out=None):
    """``max(x, 0)``, NaN kept; float32/float64 through the compiled loop (a large array in one slice per
    thread), other floats through ``np.maximum`` (which propagates NaN), in slices when large.
    ``out``: ``x`` itself, when :func:`writes_in_place` (an in-place relu outside autograd)."""
    if _small(x):
        return np.maximum(x, x.dtype.type(0), out=out)
    if isinstance(x, np.ndarray) and _compiles(x):
        # relu(x) = relu_grad(x, x): 0 where x <= 0 (so -0.0 gives +0.0, as NumPy's maximum did), else x;
        # the loop beats np.maximum 3-4x (AVX2 machine, float32: 262K values 216 -> 61 us, 4.8M 3.3 -> 2.2 ms)
        name = "relu_grad_simd" if _vectors(x) else "relu_grad"
        if out is None:
            return _run(name, x, _flat(x), _flat(x))
        _run(name, x, _flat(x), _flat(x), out=out.reshape(-1))
        return out
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        out = workspace.empty(x.shape, x.dtype) if out is None else out
        if x.flags.c_contiguous and worth_parallel(x.size) and workers() > 1:
            run_tasks(_maximum_range, x.size, x.size, x.reshape(-1), x.dtype.type(0), out.reshape(-1))
            return out
        return np.maximum(x, x.dtype.type(0), out=out)
    return xp_of(x).maximum(x, 0)


@_quiet
def relu_grad(g, y):
    """0 where ``y <= 0``, else ``g``."""
    if _small(g) and _small(y) and g.dtype == y.dtype and g.shape == y.shape:
        return np.where(y <= 0, g.dtype.type(0), g)
    if _compiles(g) and g.dtype == y.dtype and g.shape == y.shape:
        name = "relu_grad_simd" if _vectors(g) else "relu_grad"
        return _run(name, g, _flat(g), _flat(y))
    return xp_of(g).where(y <= 0, g.dtype.type(0), g)


@_quiet
def hardtanh(x, lo, hi, out=None):
    """``min(max(x, lo), hi)``, NaN kept. ``out``: ``x`` itself, when :func:`writes_in_place`."""
    if _compiles(x):
        t = x.dtype.type
        flat_out = None if out is None else out.reshape(-1)
        if _vectors(x):
            result = _run("hardtanh_simd", x, _flat(x), np.array([lo, hi], np.float32), out=flat_out)
        else:
            result = _run("hardtanh", x, _flat(x), t(lo), t(hi), out=flat_out)
        return result if out is None else out
    xp = xp_of(x)
    return xp.where(x != x, x, xp.clip(x, lo, hi)).astype(x.dtype, copy=False)


@_quiet
def hardtanh_grad(g, y, lo, hi):
    """0 where ``y <= lo`` or ``y >= hi`` (``y`` the output), else ``g``."""
    if _compiles(g) and g.dtype == y.dtype and g.shape == y.shape:
        t = g.dtype.type
        if _vectors(g):
            return _run("hardtanh_grad_simd", g, _flat(g), _flat(y), np.array([lo, hi], np.float32))
        return _run("hardtanh_grad", g, _flat(g), _flat(y), t(lo), t(hi))
    return xp_of(g).where((y <= lo) | (y >= hi), g.dtype.type(0), g)


def _add_range(first, last, a, b, out):
    np.add(a[first:last], b[first:last], out=out[first:last])


def add(a, b):
    """``a + b``; for two large NumPy arrays of one floating dtype, into memory from ``workspace``
    (residual additions and the engine's gradient sums are a training step's other large arrays),
    in one slice per thread when both are contiguous and of one shape (8 MiB: 0.58 -> 0.40 ms on
    two threads, measured)."""
    if (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
            and a.dtype.kind == "f"):
        shape = a.shape if a.shape == b.shape else np.broadcast_shapes(a.shape, b.shape)
        if math.prod(shape) * a.dtype.itemsize >= workspace.MIN_BYTES:
            out = workspace.empty(shape, a.dtype)
            if (a.shape == b.shape and a.flags.c_contiguous and b.flags.c_contiguous and worth_parallel(a.size)
                    and workers() > 1):
                run_tasks(_add_range, a.size, a.size, a.reshape(-1), b.reshape(-1), out.reshape(-1))
                return out
            return np.add(a, b, out=out)
    return a + b


def concatenate(arrays, axis: int):
    """``np.concatenate(arrays, axis)``; for NumPy arrays of one dtype and matching shapes with a large
    result, into memory from ``workspace``, one slice assignment per array. A DenseNet concatenates its
    growing feature maps at every layer: ``np.concatenate`` takes fresh pages for each large result, one
    page fault per 4 KiB on first touch (batch 1, 2 threads, 224 + 32 channels on 32x32: 80 -> 35 us;
    DenseNet-121's 58 a forward)."""
    first = arrays[0]
    if not all(a.__class__ is np.ndarray and a.dtype == first.dtype and a.ndim == first.ndim for a in arrays):
        return xp_of(first).concatenate(arrays, axis=axis)
    if not -first.ndim <= axis < first.ndim:
        return np.concatenate(arrays, axis=axis)  # (its error: a 0-d array, an axis out of range)
    axis %= first.ndim
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    if math.prod(shape) * first.dtype.itemsize < workspace.MIN_BYTES or any(
            a.shape[:axis] != first.shape[:axis] or a.shape[axis + 1:] != first.shape[axis + 1:] for a in arrays):
        return np.concatenate(arrays, axis=axis)  # (which also says what does not fit)
    out = workspace.empty(tuple(shape), first.dtype)
    index = [slice(None)] * len(shape)
    start = 0
    for a in arrays:
        index[axis] = slice(start, start + a.shape[axis])
        out[tuple(index)] = a
        start += a.shape[axis]
    return out
