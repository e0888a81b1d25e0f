"""Coarse-grained threading for the convolution kernels: one slice of the batch per thread.

Why: a convolution is a loop of "gather a chunk of columns (Numba), multiply it (BLAS)".
Letting both steps use every core in turn means two hand-overs between thread pools per
chunk, hundreds per training step; each costs a wake-up, and on a busy machine a wait for
the slowest thread. Splitting the *batch* instead gives each worker thread its own samples,
its own column buffer and a single-threaded BLAS: no hand-overs, caches stay private.
Measured on the 2-core machine, a ResNet-20 training step went from 1.28 s (fine-grained, quiet
machine) to the figures in the issue notes.

Pieces:

- :func:`workers` -- how many threads a batch may be split over (Numba's thread count, which
  ``juanji.set_num_threads`` sets together with BLAS's);
- :func:`map_batch` -- run ``work(start, stop)`` on contiguous batch slices in a persistent
  thread pool, with BLAS single-threaded meanwhile, and return the results in slice order
  (so reductions over the slices add up in a fixed order: bit-for-bit repeatable);
- :func:`set_blas_threads` / :func:`blas_threads` -- the BLAS thread count, through
  threadpoolctl's discovery of the library NumPy loaded and a direct ctypes call (~1 µs; the
  controller's own method costs ~50 µs, too much to pay per convolution).

The Numba loops called inside ``work`` must be compiled ``nogil=True`` and must not be
``parallel=True`` (each worker is already one core's worth of work).
"""

from __future__ import annotations

import ctypes
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

__all__ = ["workers", "map_batch", "set_blas_threads", "blas_threads"]

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()
_in_worker = threading.local()


# ----------------------------------------------------------------------------- BLAS threads
class _Blas:
    """The BLAS library NumPy uses and its get/set-threads functions (found once)."""

    def __init__(self):
        self.get = self.set = None
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # no control: the batch is then never split (see workers())
            return
        import numpy  # noqa: F401  (its BLAS must be loaded before we look for it)
        controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        for lib in controllers:
            if lib.internal_api != "openblas" or "numpy" not in lib.filepath:
                continue
            dll = ctypes.CDLL(lib.filepath)
            for prefix in ("scipy_openblas", "openblas"):
                for suffix in ("64_", "_64_", ""):
                    setter = getattr(dll, f"{prefix}_set_num_threads{suffix}", None)
                    getter = getattr(dll, f"{prefix}_get_num_threads{suffix}", None)
                    if setter is not None and getter is not None:
                        setter.argtypes, setter.restype = [ctypes.c_int], None
                        getter.argtypes, getter.restype = [], ctypes.c_int
                        self.set, self.get = setter, getter
                        return
        # another BLAS (MKL, BLIS, Accelerate): use threadpoolctl's generic (slower) control
        if controllers:
            lib = controllers[0]
            self.set = lib.set_num_threads
            self.get = lambda: lib.num_threads


_blas: _Blas | None = None


def _blas_lib() -> _Blas:
    global _blas
    if _blas is None:
        _blas = _Blas()
    return _blas


def blas_threads() -> int | None:
    """BLAS's current thread count, or None if it cannot be controlled."""
    blas = _blas_lib()
    return None if blas.get is None else int(blas.get())


def set_blas_threads(n: int) -> None:
    """Set BLAS's thread count (no-op if it cannot be controlled)."""
    blas = _blas_lib()
    if blas.set is not None:
        blas.set(int(n))


# ----------------------------------------------------------------------------- batch split
def workers() -> int:
    """Threads a batch may be split over: Numba's thread count, 1 inside a worker, and 1
    when BLAS's threads cannot be controlled (two multi-threaded BLAS calls at once would
    oversubscribe the cores)."""
    if getattr(_in_worker, "active", False) or _blas_lib().set is None:
        return 1
    return numba.get_num_threads()


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="juanji-conv")
            _pool_size = size
        return _pool


def _slices(batch: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous slices of ``range(batch)``, sizes differing by at most one."""
    base, extra = divmod(batch, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def _run_in_worker(work, start, stop):
    _in_worker.active = True
    try:
        return work(start, stop)
    finally:
        _in_worker.active = False


def map_batch(work, batch: int, parts: int) -> list:
    """``[work(start, stop) for each slice]`` over ``parts`` contiguous slices of the batch,
    run concurrently (the calling thread takes the first slice) with BLAS single-threaded.

    The results come back in slice order whatever order the threads finish in.
    """
    slices = _slices(batch, parts)
    if parts <= 1:
        return [work(0, batch)]
    pool = _executor(parts - 1)
    saved = blas_threads()
    set_blas_threads(1)
    try:
        futures = [pool.submit(_run_in_worker, work, start, stop) for start, stop in slices[1:]]
        first = _run_in_worker(work, *slices[0])
        return [first] + [future.result() for future in futures]
    finally:
        if saved is not None:
            set_blas_threads(saved)
