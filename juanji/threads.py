"""torch.set_num_threads / get_num_threads: how many threads juanji's kernels use.

One number sets Numba's loops, the convolution worker threads (juanji/kernels/_threads.py) and
NumPy's BLAS together.
"""

from __future__ import annotations

import builtins

import numpy as np

from .kernels._threads import max_threads, set_blas_threads, set_threads, workers

__all__ = ["set_num_threads", "get_num_threads"]


def set_num_threads(n) -> None:
    """torch.set_num_threads: how many threads juanji's kernels use (Numba's loops, the
    convolution worker threads) and NumPy's BLAS. At most Numba's launched thread count
    (``NUMBA_NUM_THREADS``, by default the number of cores)."""
    if isinstance(n, builtins.bool) or not isinstance(n, (builtins.int, np.integer)):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    n = min(builtins.int(n), max_threads())
    set_threads(n)
    set_blas_threads(n)


def get_num_threads() -> int:
    """torch.get_num_threads: the thread count set by :func:`set_num_threads` (Numba's)."""
    return workers()
