"""Matrix products on juanji's threads: BLAS single-threaded, large products split by rows.

Why not let OpenBLAS use its own threads: after a multi-threaded call its worker threads keep
spinning for a while (OpenBLAS's ``THREAD_TIMEOUT``, about 0.1 s) waiting for the next call. The
next convolution or pooling loop then runs its batch slices on juanji's threads (``_threads``)
on cores that the spinning BLAS threads still hold. Measured on the 2-core machine: a LeNet
training step at batch 256 took 23.8 ms with 2 threads against 21.2 ms with 1, because its three
small linear layers woke OpenBLAS's threads; with every BLAS call single-threaded it took 15.7 ms.
So juanji calls BLAS only single-threaded and does the splitting itself, like its convolutions:

    a (..., M, K) @ b (..., K, N):  rows  M0..M1 of the result on one thread, M1..M2 on the next, ...

(by columns ``N`` when there are fewer rows than threads). The split is fixed by the shapes and
the thread count, so a product repeats bit for bit from run to run. Products under
``PARALLEL_MIN_FLOPS`` run on the calling thread alone (waking a thread costs more).

Other arrays (CuPy, integers, mixed dtypes, 1-d operands) go to ``a @ b`` unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from ._threads import blas_threads, map_slices, set_blas_threads, workers

__all__ = ["matmul", "PARALLEL_MIN_FLOPS"]

PARALLEL_MIN_FLOPS = 1 << 24  # ~0.1-0.2 ms on one thread: past the hand-over's cost (see _threads)


def _plain(a, b) -> bool:
    """Whether ``a @ b`` is a float32/float64 NumPy product of two matrices (or stacks)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim >= 2 and b.ndim >= 2
            and a.dtype == b.dtype and a.dtype in (np.float32, np.float64))


def _single(a, b, out):
    """``np.matmul(a, b, out=out)`` with BLAS on this thread only."""
    saved = blas_threads()
    if saved is not None and saved != 1:
        set_blas_threads(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        if saved is not None and saved != 1:
            set_blas_threads(saved)


def matmul(a, b, out=None):
    """``a @ b`` (``out`` optional, as ``np.matmul``), split over juanji's threads when large."""
    if not _plain(a, b):
        return a @ b if out is None else np.matmul(a, b, out=out)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if out is None:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        out = np.empty(batch + (m, n), a.dtype)
    flops = 2 * m * k * n * math.prod(out.shape[:-2])
    parts = workers() if flops >= PARALLEL_MIN_FLOPS else 1
    if parts <= 1 or blas_threads() is None:
        return _single(a, b, out)
    if m >= parts:
        map_slices(lambda s, e: np.matmul(a[..., s:e, :], b, out=out[..., s:e, :]), m, min(parts, m))
    elif n >= parts:
        map_slices(lambda s, e: np.matmul(a, b[..., :, s:e], out=out[..., :, s:e]), n, min(parts, n))
    else:
        return _single(a, b, out)
    return out
