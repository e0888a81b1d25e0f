"""NumPy's floating-point warnings, switched off where torch computes inf and nan silently.

``quiet`` is a decorator: the function runs with NumPy's floating-point warnings off (log(0),
1/0, sqrt(-1), an overflowing product give inf/nan without a RuntimeWarning, as in torch). The
elementwise Ops, the linear and normalisation Ops and the autograd engine (once per backward
pass) use it.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["quiet"]


def _make_quiet():
    """Build ``quiet``, the decorator that runs a function with NumPy's floating-point warnings
    off (torch computes inf and nan silently: log(0), 1/0, sqrt(-1), an overflowing product).

    It does what ``@np.errstate(all="ignore")`` does, but builds the error state once, not at
    every call: np.errstate costs 1-2 us a call, as much as a small op itself, and setting
    NumPy's error-state context variable costs a third of that. NumPy >= 2 keeps the state in
    that (private) context variable; with another NumPy the decorator is np.errstate itself.
    """
    try:
        from numpy._core._multiarray_umath import _make_extobj
        from numpy._core._ufunc_config import _extobj_contextvar
        silent = _make_extobj(all="ignore")
    except (ImportError, TypeError):
        return np.errstate(all="ignore")

    def quiet(function):
        @functools.wraps(function)
        def run_quietly(*args, **kwargs):
            token = _extobj_contextvar.set(silent)
            try:
                return function(*args, **kwargs)
            finally:
                _extobj_contextvar.reset(token)
        return run_quietly

    return quiet


# Only the ops that can produce inf/nan pay for the switch; negation, abs, comparisons and
# selections never raise a floating-point flag, so they skip it.
quiet = _make_quiet()
