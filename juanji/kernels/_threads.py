"""The one threading model of juanji's kernels: contiguous slices of the work, one per thread.

Every Numba loop in ``juanji/kernels/`` (convolution, pooling, batch norm, interpolation) is
compiled serial and ``nogil=True``; parallelism comes from running it on slices of its task
range in a few Python threads (which the released GIL lets run at once). One mechanism for
every kernel, and it composes: a thread that owns a slice of the batch runs its inner loops on
itself. No kernel uses Numba's ``parallel=True``, so juanji never starts an OpenMP team and
needs no OpenMP setting (``OMP_WAIT_POLICY``): it sets none, and changes no environment variable.

Why slices of the *batch* for im2col + GEMM convolutions: a convolution is a loop of "gather a chunk of columns (Numba), multiply it (BLAS)".
Letting both steps use every core in turn means two hand-overs between thread pools per
chunk, hundreds per training step; each costs a wake-up, and on a busy machine a wait for
the slowest thread. Splitting the *batch* instead gives each worker thread its own samples,
its own column buffer and a single-threaded BLAS: no hand-overs, caches stay private.
Measured on the 2-core machine, a ResNet-20 training step went from 1.28 s (fine-grained, quiet
machine) to 1.0-1.2 s, against torch's 0.75-0.84 s in the same runs.

Pieces:

- :func:`workers` -- how many threads work may be split over (Numba's thread count, which
  ``juanji.set_num_threads`` sets together with BLAS's; 1 inside a worker);
- :func:`map_slices` -- run ``work(start, stop)`` on contiguous slices of ``range(total)`` in
  a persistent thread pool (optionally with BLAS single-threaded meanwhile) and return the
  results in slice order (so reductions over the slices add up in a fixed order: bit-for-bit
  repeatable);
- :func:`run_tasks` -- a serial Numba driver ``driver(first, last, *args)`` over its task
  range, split over the threads when the loop is large enough (:func:`worth_parallel`);
- :func:`set_blas_threads` / :func:`blas_threads` -- the BLAS thread count, through
  threadpoolctl's discovery of the library NumPy loaded and a direct ctypes call (~1 µs; the
  controller's own method costs ~50 µs, too much to pay per convolution).

The Numba loops called inside ``work`` must be compiled ``nogil=True`` and must not be
``parallel=True`` (each worker is already one core's worth of work; and see above).
"""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["workers", "map_slices", "run_tasks", "worth_parallel", "worth_parallel_macs", "PARALLEL_MIN_ELEMENTS",
           "PARALLEL_MIN_MACS",
           "set_blas_threads", "blas_threads"]

# Handing a slice to the other thread and waiting for it costs 55-90 us on the 2-core machine
# (measured: a no-op ``map_slices`` takes 83-92 us, two bare lock hand-overs 56 us; most of it is
# the operating system waking a sleeping thread, twice). Work is split only when one thread would
# take well over that: memory-bound loops from ~0.5 M values (~0.3 ms at ~2 GB/s), convolutions
# from ~8 M multiply-adds (~0.15-0.3 ms at 25-60 GFLOP/s per thread). See ``worth_parallel``.
PARALLEL_MIN_ELEMENTS = 1 << 19
PARALLEL_MIN_MACS = 1 << 23

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
            ThreadpoolController = _import_threadpoolctl()
        except ImportError:  # no control: the batch is then never split (see batch_workers())
            return
        # (NumPy, imported at the top of this module, has loaded its BLAS: threadpoolctl finds it)
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


def _import_threadpoolctl():
    """threadpoolctl's controller class, importing it without its side effect on the process:
    on import it sets ``KMP_DUPLICATE_LIB_OK`` in ``os.environ`` (for Intel OpenMP, which
    juanji does not load). juanji changes no environment variable, so the value is put back."""
    saved = os.environ.get("KMP_DUPLICATE_LIB_OK")
    try:
        from threadpoolctl import ThreadpoolController
    finally:
        if saved is None:
            os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
        else:
            os.environ["KMP_DUPLICATE_LIB_OK"] = saved
    return ThreadpoolController


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


def max_threads() -> int:
    """The most threads the kernels can use: Numba's launched count (``NUMBA_NUM_THREADS``)."""
    return numba.config.NUMBA_NUM_THREADS


def set_threads(n: int) -> None:
    """The kernels' thread count: Numba's loops and the convolution worker threads (``workers``)."""
    numba.set_num_threads(n)


def set_blas_threads(n: int) -> None:
    """Set BLAS's thread count (no-op if it cannot be controlled)."""
    blas = _blas_lib()
    if blas.set is not None:
        blas.set(int(n))


# ----------------------------------------------------------------------------- slices
def worth_parallel(elements: int) -> bool:
    """Whether a loop over ``elements`` values pays for handing work to other threads.

    Below this size the hand-over (and, on a busy machine, waiting for every thread to be
    scheduled) costs more than the loop itself; tiny convolutions (tests, tutorials,
    gradient checks) then run on the calling thread alone.
    """
    return elements >= PARALLEL_MIN_ELEMENTS


def worth_parallel_macs(macs: int) -> bool:
    """Whether a computation of ``macs`` multiply-adds (a convolution) pays for a second thread."""
    return macs >= PARALLEL_MIN_MACS


def workers() -> int:
    """Threads work may be split over: Numba's thread count, and 1 inside a worker."""
    if getattr(_in_worker, "active", False):
        return 1
    return numba.get_num_threads()


def batch_workers() -> int:
    """Threads a *batch* may be split over: :func:`workers`, but 1 when BLAS's threads cannot
    be controlled (several multi-threaded BLAS calls at once would oversubscribe the cores)."""
    return 1 if _blas_lib().set is None else workers()


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="juanji-conv")
            _pool_size = size
        return _pool


def _forget_pool_after_fork():
    """A forked child (a DataLoader worker) has none of the parent's threads: it must not
    queue work for them, so it starts its own pool when it needs one."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _slices(batch: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous slices of ``range(batch)``, sizes differing by at most one."""
    base, extra = divmod(batch, parts)
    bounds, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


def _run_in_worker(work, start, stop, errors):
    """``work(start, stop)`` under the caller's NumPy error state (it is per thread: without
    this a worker would warn where the caller, e.g. a backward pass run quietly, does not)."""
    _in_worker.active = True
    try:
        with np.errstate(**errors):
            return work(start, stop)
    finally:
        _in_worker.active = False


def map_slices(work, total: int, parts: int, single_threaded_blas: bool = True) -> list:
    """``[work(start, stop) for each slice]`` over ``parts`` contiguous slices of
    ``range(total)``, run concurrently (the calling thread takes the first slice), with BLAS
    single-threaded meanwhile if asked (workers that call BLAS themselves).

    The results come back in slice order whatever order the threads finish in.
    """
    if parts <= 1:
        return [work(0, total)]
    slices = _slices(total, parts)
    pool = _executor(parts - 1)
    saved = blas_threads() if single_threaded_blas else None
    if saved is not None:
        set_blas_threads(1)
    try:
        errors = np.geterr()
        futures = [pool.submit(_run_in_worker, work, start, stop, errors) for start, stop in slices[1:]]
        first = _run_in_worker(work, *slices[0], errors)
        return [first] + [future.result() for future in futures]
    finally:
        if saved is not None:
            set_blas_threads(saved)


def run_tasks(driver, n_tasks: int, elements: int, *args) -> None:
    """``driver(0, n_tasks, *args)``, split into one task slice per thread when the loop
    touches at least ``PARALLEL_MIN_ELEMENTS`` values. The tasks must write disjoint memory."""
    parts = min(workers(), n_tasks) if worth_parallel(elements) else 1
    if parts <= 1:
        driver(0, n_tasks, *args)
    else:
        map_slices(lambda first, last: driver(first, last, *args), n_tasks, parts,
                   single_threaded_blas=False)
