"""Element-wise kernels NumPy does slowly: relu and its gradient (erf and the other special
functions are in ``special.py``).

    relu(x)         = max(x, 0)              (NaN stays NaN, as in torch)
    relu_grad(g, y) = 0 where y <= 0, else g (so NaN passes the gradient, and an infinite g
                      never meets a 0 factor: torch's threshold_backward selects, it does not multiply)

On NumPy float32/float64 arrays these are Numba ufuncs (serial: an element-wise loop is
memory-bound, and NumPy's own ufuncs are single-threaded too), compiled on first use and cached
on disk; other arrays use array expressions.
"""

from __future__ import annotations

import numpy as np

from juanji.backend import xp_of

__all__ = ["relu", "relu_grad"]

# Above this many elements relu's forward runs as a compiled Numba ufunc: NumPy's maximum is
# 3-5x slower on large activations; below it NumPy's lower call cost wins. The backward runs
# compiled at every size: the selection torch makes costs NumPy a where(), 1.5-2.5x slower
# than the ufunc even at 16 values (measured on NumPy 2.4).
NUMBA_RELU_MIN_SIZE = 8192

# the compiled comparisons raise the FP 'invalid' flag on NaN input; torch is silent
_quiet = np.errstate(invalid="ignore")

_ufuncs: dict = {}


def _compiled(name: str):
    """The Numba ufunc ``name`` ('relu', 'relu_grad'), compiled on first use."""
    if not _ufuncs:
        from numba import vectorize

        @vectorize(["float32(float32)", "float64(float64)"], cache=True)
        def relu_ufunc(v):
            if v != v:  # NaN passes through, as in torch
                return v
            return v if v > 0 else 0.0

        @vectorize(["float32(float32, float32)", "float64(float64, float64)"], cache=True)
        def relu_grad_ufunc(g, y):
            return 0.0 if y <= 0 else g

        _ufuncs.update(relu=relu_ufunc, relu_grad=relu_grad_ufunc)
    return _ufuncs[name]


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
