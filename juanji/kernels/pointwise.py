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

On NumPy float32/float64 arrays these are Numba code (serial: an element-wise loop is
memory-bound, and NumPy's own ufuncs are single-threaded too), compiled on first use, one at a
time, and cached on disk; other arrays use array expressions.
"""

from __future__ import annotations

import numpy as np

from juanji.backend import xp_of

__all__ = ["relu", "relu_grad", "hardtanh", "hardtanh_grad"]

# Above this many elements relu's forward runs as a compiled Numba ufunc: NumPy's maximum is
# 3-5x slower on large activations; below it NumPy's lower call cost wins. The backward runs
# compiled at every size: the selection torch makes costs NumPy a where(), 1.5-2.5x slower
# than the ufunc even at 16 values (measured on NumPy 2.4).
NUMBA_RELU_MIN_SIZE = 8192

# the compiled comparisons raise the FP 'invalid' flag on NaN input; torch is silent
_quiet = np.errstate(invalid="ignore")

_ufuncs: dict = {}


def _compiled(name: str):
    """The Numba function ``name``, compiled (or loaded from the disk cache) on first use, one at
    a time: a model without ReLU6 does not pay for hardtanh at start-up."""
    found = _ufuncs.get(name)
    if found is None:
        found = _ufuncs[name] = _BUILDERS[name]()
    return found


def _build_relu():
    from numba import vectorize

    @vectorize(["float32(float32)", "float64(float64)"], cache=True)
    def relu_ufunc(v):
        if v != v:  # NaN passes through, as in torch
            return v
        return v if v > 0 else 0.0
    return relu_ufunc


def _build_relu_grad():
    from numba import vectorize

    @vectorize(["float32(float32, float32)", "float64(float64, float64)"], cache=True)
    def relu_grad_ufunc(g, y):
        return 0.0 if y <= 0 else g
    return relu_grad_ufunc


def _build_hardtanh():
    # plain loops, not ufuncs: a ufunc broadcasting the two scalar bounds runs its generic
    # strided loop, slower than NumPy's clip (measured); these vectorise
    from numba import njit

    @njit(cache=True, nogil=True)
    def hardtanh_loop(x, lo, hi, out):
        for i in range(x.size):
            v = x[i]
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            out[i] = v  # NaN: neither comparison holds, it passes
    return hardtanh_loop


def _build_hardtanh_grad():
    from numba import njit

    @njit(cache=True, nogil=True)
    def hardtanh_grad_loop(g, y, lo, hi, out):
        for i in range(g.size):
            v = y[i]
            out[i] = 0.0 if (v <= lo or v >= hi) else g[i]
    return hardtanh_grad_loop


_BUILDERS = {"relu": _build_relu, "relu_grad": _build_relu_grad, "hardtanh": _build_hardtanh,
             "hardtanh_grad": _build_hardtanh_grad}


def _compiles(x) -> bool:
    """The ufuncs exist for NumPy float32/float64 arrays."""
    return x.dtype.kind == "f" and x.dtype.itemsize >= 4 and xp_of(x) is np


@_quiet
def relu(x):
    """``max(x, 0)``, NaN kept."""
    if x.size >= NUMBA_RELU_MIN_SIZE and _compiles(x):
        return _compiled("relu")(x)
    return xp_of(x).maximum(x, 0)  # passes NaN on without a warning


@_quiet
def relu_grad(g, y):
    """0 where ``y <= 0``, else ``g``."""
    if _compiles(g) and g.dtype == y.dtype:
        return _compiled("relu_grad")(g, y)
    return xp_of(g).where(y <= 0, g.dtype.type(0), g)


@_quiet
def hardtanh(x, lo, hi):
    """``min(max(x, lo), hi)``, NaN kept."""
    if _compiles(x):
        t = x.dtype.type
        out = np.empty(x.shape, x.dtype)  # (ascontiguousarray makes a 0-d array 1-d: shape from x)
        _compiled("hardtanh")(np.ascontiguousarray(x).reshape(-1), t(lo), t(hi), out.reshape(-1))
        return out
    xp = xp_of(x)
    return xp.where(x != x, x, xp.clip(x, lo, hi)).astype(x.dtype, copy=False)


@_quiet
def hardtanh_grad(g, y, lo, hi):
    """0 where ``y <= lo`` or ``y >= hi`` (``y`` the output), else ``g``."""
    if _compiles(g) and g.dtype == y.dtype and g.shape == y.shape:
        t = g.dtype.type
        out = np.empty(g.shape, g.dtype)
        _compiled("hardtanh_grad")(np.ascontiguousarray(g).reshape(-1), np.ascontiguousarray(y).reshape(-1), t(lo),
                                   t(hi), out.reshape(-1))
        return out
    return xp_of(g).where((y <= lo) | (y >= hi), g.dtype.type(0), g)
