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
- :func:`map_slices` -- run ``work(start, stop)`` on contiguous slices of ``range(total)`` on
  persistent worker threads (optionally with BLAS single-threaded meanwhile) and return the
  results in slice order (so reductions over the slices add up in a fixed order: bit-for-bit
  repeatable). The hand-over polls flags (:class:`_Hand`, ``_spin``) instead of sleeping on a
  lock: waking a sleeping thread costs 60-70 us on the 2-core machine, a polled hand-over
  about 20 us, so a split pays from far smaller loops (a no-op ``map_slices`` 76-97 -> 29 us;
  ResNet-18 forward+backward at batch 1 71 -> 56 ms);
- :func:`run_tasks` -- a serial Numba driver ``driver(first, last, *args)`` over its task
  range, split over the threads when the loop is large enough (:func:`worth_parallel`);
- :func:`split_gemm` -- a matrix product's row or column slices as *native* slices: BLAS calls the
  worker starts from its polling loop without taking the GIL (``_native_tasks``), so that the hand-over
  costs microseconds where a Python slice costs the worker's wait for the GIL (~40 us on the 2-core
  machine: the GIL's waiter sleeps);
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

__all__ = ["workers", "map_slices", "run_tasks", "split_gemm", "worth_parallel", "worth_parallel_macs", "PARALLEL_MIN_ELEMENTS",
           "PARALLEL_MIN_MACS",
           "set_blas_threads", "blas_threads"]

# Handing a slice to the other thread and waiting for it cost 55-90 us on the 2-core machine when
# both sides slept on locks (measured: a no-op ``map_slices`` took 83-92 us, two bare lock
# hand-overs 56 us; most of it the operating system waking a sleeping thread, twice); with the
# polled hand-over (:class:`_Hand`) 20-30 us. The thresholds below date from the locks. Work is split only when one thread would
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
        self.gemm = {}  # dtype char -> address of the ILP64 cblas_?gemm (native slices), if found
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
                        self._find_gemm(dll)
                        return
        # another BLAS (MKL, BLIS, Accelerate): use threadpoolctl's generic (slower) control
        if controllers:
            lib = controllers[0]
            self.set = lib.set_num_threads
            self.get = lambda: lib.num_threads


    def _find_gemm(self, dll) -> None:
        """The addresses of ``cblas_sgemm``/``cblas_dgemm`` with 64-bit sizes (``scipy_cblas_sgemm64_`` in
        the OpenBLAS of NumPy's wheels), for :func:`split_gemm`; none if the library names them otherwise."""
        for char, name in (("f", "sgemm"), ("d", "dgemm")):
            for symbol in (f"scipy_cblas_{name}64_", f"cblas_{name}64_"):
                function = getattr(dll, symbol, None)
                if function is not None:
                    self.gemm[char] = ctypes.cast(function, ctypes.c_void_p).value
                    break


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


def _count_reader():
    """A function giving Numba's thread count for the calling thread. ``numba.get_num_threads`` takes
    two locks to check that the threads were launched (~2 us, and the dispatch of a convolution asked
    it a few times per call); once they are, its threading layer's own reader answers the same in
    ~0.2 us (``numba.np.ufunc.parallel._get_num_threads``), used where it agrees with the public one."""
    count = numba.get_num_threads()  # (launches Numba's threads if need be)
    try:
        from numba.np.ufunc import parallel
        reader = parallel._get_num_threads
        if reader() == count:
            return reader
    except Exception:  # pragma: no cover - another Numba
        pass
    return numba.get_num_threads


_read_count = None


def workers() -> int:
    """Threads work may be split over: Numba's thread count, and 1 inside a worker."""
    global _read_count
    if getattr(_in_worker, "active", False):
        return 1
    if _read_count is None:
        _read_count = _count_reader()
    return _read_count()


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
    global _pool, _pool_size, _hand, _lock
    _pool, _pool_size, _hand = None, 0, None
    _lock = threading.Lock()  # (held by another thread of the parent at the fork, it would stay held)


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


# NumPy's error state (what np.errstate sets) is a context variable in NumPy >= 2: handing its value
# to a worker costs a set and a reset (~0.3 us), against ~1 us for np.geterr() and ~2 us for an
# np.errstate block, paid at every split loop (hundreds a training step at small batches). With an
# older NumPy the state travels as np.geterr()'s dict.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _numpy_errors
except ImportError:  # pragma: no cover - NumPy < 2
    _numpy_errors = None


def _error_state():
    """The calling thread's NumPy error state, for :func:`_run_in_worker`."""
    return np.geterr() if _numpy_errors is None else _numpy_errors.get()


def _run_in_worker(work, start, stop, errors):
    """``work(start, stop)`` under the caller's NumPy error state ``errors`` (:func:`_error_state`, or
    np.geterr()'s dict; it is per thread: without this a worker would warn where the caller, e.g. a
    backward pass run quietly, does not)."""
    _in_worker.active = True
    try:
        if _numpy_errors is not None and not isinstance(errors, dict):
            token = _numpy_errors.set(errors)
            try:
                return work(start, stop)
            finally:
                _numpy_errors.reset(token)
        with np.errstate(**errors):
            return work(start, stop)
    finally:
        _in_worker.active = False


def _run_here(work, start, stop):
    """``work(start, stop)`` on the calling thread as a slice of a split loop (its own error state)."""
    _in_worker.active = True
    try:
        return work(start, stop)
    finally:
        _in_worker.active = False


# ----------------------------------------------------------------------------- polling hand-over
# How long an idle worker polls for its next slice before it sleeps, and how long the caller polls
# for a worker's result before it sleeps (``_spin``: a poll is a ``pause`` or, every 16th, a
# ``sched_yield``; 2^13 polls measured ~0.1 ms on the 2-core machine, so the idle budget is ~0.4 ms
# and the result budget ~1 ms). A training step hands work over every 0.1-2 ms; a worker that has
# slept costs a 60-70 us wake-up, one that polls 1-20 us (a no-op ``map_slices`` 76-97 -> 29 us).
# The idle budget, by measurement (quiet machine, 3 interleaved rounds, time new/old):
# - 2^13 polls against the lock-based pool: LeNet b256 training 0.81, ResNet-20 0.93, ResNet-18
#   batch 1 forward+backward 0.94, MobileNetV2 batch 1 inference 0.95;
# - 2^15 against 2^13 (issue 9's note, second session): ResNet-18 at batch 1, whose layers hand over
#   every 0.1-0.4 ms, found its worker asleep at 41 of 48 hand-overs a step, 7 after; ResNet-18
#   inference at batch 1 0.92, VGG-11 0.89, VGG-11 forward+backward 0.96, ResNet-18 batch 2 0.98,
#   MobileNetV2 batch 1 and 2 0.99 / 1.02, ResNet-20 and LeNet training 1.00; with another process
#   keeping one core busy 1.01-1.02 (LeNet b256, ResNet-20, ResNet-18 inference). (A first trial of
#   a longer budget, ~0.33 ms, had made MobileNetV2's batch-1 inference 4 % slower; in the second,
#   MobileNetV2 moved by -1 to +5 % between two runs of 3 rounds.)
# The ``sched_yield`` matters under load: with another process keeping one core busy, polls
# without it made LeNet b256 training 1.58x slower than the locks, with it 0.92x.
IDLE_SPINS = 1 << 15
RESULT_SPINS = 1 << 16
_ROW = 24  # int64 flags per worker: posted at 0, claimed at 4, done at 8, caller asleep at 16
# (``_native_tasks``: the worker's last slice number at 12, the slice's kind at 20)
# Workers also run native slices (``_native_tasks``: a row range of a BLAS product, or some products of a
# stack, started from their polling loop without the GIL); see :func:`split_gemm`.
NATIVE_SLICES = True


class _Hand:
    """Persistent worker threads fed through polled flags (``_spin``), for :func:`map_slices`.

    Worker ``k`` polls ``state[k*_ROW]`` (its slice's sequence number) without the GIL and claims
    a new number by a compare-and-exchange on ``state[k*_ROW + 4]``; the caller posts a slice,
    publishes the number, runs its own slice, then claims the worker's slice itself if it still
    can (and runs it), else polls ``state[k*_ROW + 8]`` until the worker has published the number
    there. Either side sleeps after its poll
    budget (a semaphore for the worker, an event for the caller, each told by a flag), so an idle
    process uses no CPU. One caller at a time (``busy``); another thread's call meanwhile takes
    the thread pool's path.
    """

    def __init__(self, size: int):
        from . import _spin
        self.spin = _spin
        self.size = size
        self.state = np.zeros(size * _ROW, np.int64)
        self.seq = np.zeros(size, np.int64)  # (an array: ``_native_tasks.split_gemm_rows`` posts too)
        self.tasks = [None] * size
        self.results = [None] * size
        self.asleep = [False] * size
        self.wake = [threading.Semaphore(0) for _ in range(size)]
        self.finished = [threading.Event() for _ in range(size)]
        self.busy = threading.Lock()
        self.closed = False
        from . import _native_tasks
        self.native = _native_tasks if NATIVE_SLICES else None
        self.desc = np.zeros((size, _native_tasks.DESC_WIDTH), np.int64)  # native slices (``_native_tasks``)
        self.own = np.zeros((1, _native_tasks.DESC_WIDTH), np.int64)  # the caller's own rows
        self.keep = None  # the arrays of the native slices in flight
        loop = self._loop if self.native is None else self._loop_native
        for k in range(size):
            threading.Thread(target=loop, args=(k,), name=f"juanji-hand-{k}", daemon=True).start()

    def _loop(self, k: int):
        spin, state, base = self.spin, self.state, k * _ROW
        last = 0
        got = spin.wait_claim(state, base, last, IDLE_SPINS)
        while True:
            if got == last:  # nothing posted within the poll budget: sleep until post() wakes us
                self.asleep[k] = True
                got = spin.wait_claim(state, base, last, 1)
                if got == last:
                    self.wake[k].acquire()
                    got = spin.wait_claim(state, base, last, 1)
                self.asleep[k] = False
                continue
            if got == spin.CALLER_ASLEEP:  # our last slice is done and the caller sleeps: wake it
                self.finished[k].set()
                got = spin.wait_claim(state, base, last, IDLE_SPINS)
                continue
            if got < 0:  # the caller took this slice back (see collect)
                last = -got
                got = spin.wait_claim(state, base, last, IDLE_SPINS)
                continue
            last = got
            if self.closed:
                return
            self._run_slice(k)
            got = spin.finish_and_wait(state, base + 8, last, base + 16, base, IDLE_SPINS)

    def _run_slice(self, k: int):
        """Run the Python slice posted to worker ``k``: its result, or its error, into ``results[k]``. (The
        slice's closure goes with this call's frame: kept until the next slice, it would keep that call's
        arrays, and the arena blocks under them, alive while the worker waits.)"""
        work, start, stop, errors = self.tasks[k]
        self.tasks[k] = None
        try:
            self.results[k] = (True, _run_in_worker(work, start, stop, errors))
        except BaseException as error:  # re-raised in the caller, as Future.result() does
            self.results[k] = (False, error)

    def _loop_native(self, k: int):
        """:meth:`_loop` whose polling also runs native slices (``_native_tasks.wait_claim_native``)
        without coming back to Python; it returns for Python slices, sleep and waking a sleeping caller."""
        native, state, base, desc = self.native, self.state, k * _ROW, self.desc
        last = 0
        got = native.wait_claim_native(state, base, last, IDLE_SPINS, desc, k)
        while True:
            last = int(state[base + native.LAST])
            if got == native.TIMED_OUT:  # nothing posted within the poll budget: sleep until post() wakes us
                self.asleep[k] = True
                got = native.wait_claim_native(state, base, last, 1, desc, k)
                if got == native.TIMED_OUT:
                    self.wake[k].acquire()
                    self.asleep[k] = False
                    # (awake: the full poll budget again, or every native slice after this one would
                    # find the worker asleep)
                    got = native.wait_claim_native(state, base, int(state[base + native.LAST]), IDLE_SPINS, desc, k)
                self.asleep[k] = False
                continue
            if got == self.spin.CALLER_ASLEEP:  # our last slice is done and the caller sleeps: wake it
                self.finished[k].set()
                got = native.wait_claim_native(state, base, last, IDLE_SPINS, desc, k)
                continue
            if self.closed:  # (a Python slice, number ``got`` == ``last``)
                return
            self._run_slice(k)
            got = native.finish_and_wait_native(state, base + 8, last, base + 16, base, IDLE_SPINS, desc, k)

    def post_native(self, k: int):
        """Post ``desc[k]`` (written by the caller) as worker ``k``'s next slice, a native one."""
        self.state[k * _ROW + self.native.KIND] = 1
        self.seq[k] += 1
        self.spin.publish(self.state, k * _ROW, self.seq[k])
        if self.asleep[k]:
            self.wake[k].release()

    def collect_native(self, k: int) -> None:
        """Wait for worker ``k``'s native slice, or run it here if the worker has not claimed it yet."""
        state, base, seq = self.state, k * _ROW, self.seq[k]
        if self.spin.claim(state, base + 4, seq - 1, seq):
            self.native.run_gemm(self.desc[k])
            return
        self._wait_done(k, seq)

    def _wait_done(self, k: int, seq) -> None:
        """Poll until worker ``k`` has published slice ``seq`` done, then sleep for it (the flag at +16 asks
        the worker to wake this thread). (The done flag holds the number of the worker's last slice, not
        necessarily ``seq - 1``: the caller may have taken that one back, so the poll waits for ``seq`` itself.)"""
        state, base = self.state, k * _ROW
        if not self.spin.wait_for(state, base + 8, seq, RESULT_SPINS):
            self.finished[k].clear()
            self.spin.publish(state, base + 16, 1)
            while not self.spin.wait_for(state, base + 8, seq, 1):
                self.finished[k].wait(0.01)
            self.spin.publish(state, base + 16, 0)

    def post(self, k: int, work, start, stop, errors):
        self.tasks[k] = (work, start, stop, errors)
        self.state[k * _ROW + 20] = 0  # a Python slice (``_native_tasks.KIND``)
        self.seq[k] += 1
        self.spin.publish(self.state, k * _ROW, self.seq[k])
        if self.asleep[k]:
            self.wake[k].release()

    def collect(self, k: int):
        """Slice ``k``'s result: computed here if the worker has not claimed the slice yet (its
        core busy, or still waking), else polled for (then slept for) until the worker is done."""
        state, base, seq = self.state, k * _ROW, self.seq[k]
        if self.spin.claim(state, base + 4, seq - 1, seq):
            work, start, stop, _ = self.tasks[k]
            self.tasks[k] = None
            return _run_here(work, start, stop)
        self._wait_done(k, seq)
        ok, value = self.results[k]
        self.results[k] = None
        if not ok:
            raise value
        return value

    def close(self):
        self.closed = True
        for k in range(self.size):
            self.state[k * _ROW + 20] = 0  # (a Python slice: the worker returns to its loop and ends)
            self.seq[k] += 1
            self.spin.publish(self.state, k * _ROW, self.seq[k])
            self.wake[k].release()


_hand: _Hand | None = None


def _hand_for(size: int) -> _Hand | None:
    """The polled workers for ``size`` extra threads, started on first use; ``None`` when another
    thread is using them (the caller then takes the thread pool)."""
    global _hand
    with _lock:
        if _hand is None or _hand.size != size:
            if _hand is not None:
                if not _hand.busy.acquire(blocking=False):
                    return None
                _hand.close()
                _hand.busy.release()
            _hand = _Hand(size)
        hand = _hand
    return hand if hand.busy.acquire(blocking=False) else None


def map_slices(work, total: int, parts: int, single_threaded_blas: bool = True) -> list:
    """``[work(start, stop) for each slice]`` over ``parts`` contiguous slices of
    ``range(total)``, run concurrently (the calling thread takes the first slice), with BLAS
    single-threaded meanwhile if asked (workers that call BLAS themselves).

    The results come back in slice order whatever order the threads finish in. The slices go to
    polled workers (:class:`_Hand`); a second thread calling at the same time uses a thread pool.
    """
    if parts <= 1:
        return [work(0, total)]
    slices = _slices(total, parts)
    saved = blas_threads() if single_threaded_blas else None
    if saved is not None:
        set_blas_threads(1)
    try:
        errors = _error_state()
        hand = _hand_for(parts - 1)
        if hand is None:
            pool = _executor(parts - 1)
            futures = [pool.submit(_run_in_worker, work, start, stop, errors) for start, stop in slices[1:]]
            first = _run_here(work, *slices[0])
            return [first] + [future.result() for future in futures]
        try:
            for k, (start, stop) in enumerate(slices[1:]):
                hand.post(k, work, start, stop, errors)
            try:
                first = _run_here(work, *slices[0])
            finally:  # the workers' slices finish before the caller's error surfaces
                rest = []
                failure = None
                for k in range(parts - 1):
                    try:
                        rest.append(hand.collect(k))
                    except BaseException as error:
                        failure = failure or error
            if failure is not None:
                raise failure
            return [first] + rest
        finally:
            hand.busy.release()
    finally:
        if saved is not None:
            set_blas_threads(saved)


def split_gemm(a, b, out, parts: int, by_columns: bool = False) -> bool:
    """``out = a @ b`` for float32/float64 NumPy arrays of one dtype in ``parts`` slices, each a native slice
    (``_native_tasks``: the worker calls BLAS from its polling loop, without the GIL, as the caller does
    for its own slice), BLAS single-threaded meanwhile. Two kinds of product:

    - C-contiguous matrices, split by rows (or ``by_columns`` by columns);
    - stacks ``a (S, M, K) @ b (S, K, N) -> out (S, M, N)`` (``b`` may be ``(K, N)``, the same for every
      product) whose matrices have rows of contiguous values, split by whole products: each product then
      runs as it would alone (BLAS packs each matrix once, where a split by rows packs ``b`` in every
      thread), so the result does not depend on the thread count.

    False (nothing done) where that cannot run: no such BLAS function found, native slices off, or the
    workers busy with another thread's call. The slices are fixed by the shapes and the thread count, so a
    product repeats bit for bit from run to run."""
    address = _blas_lib().gemm.get(a.dtype.char)
    if address is None or parts <= 1 or not NATIVE_SLICES:
        return False
    stacked = a.ndim == 3
    if stacked and b.ndim == 2:
        b = b[None]
    hand = _hand_for(parts - 1)
    if hand is None:
        return False
    try:
        native = hand.native
        if native is None:
            return False
        saved = blas_threads()
        if saved != 1:
            set_blas_threads(1)
        try:
            code = 0 if a.dtype == np.float32 else 1
            # (the arrays stay referenced by the Hand until their slices are done, whatever interrupts this)
            hand.keep = (a, b, out)
            if not any(hand.asleep[:parts - 1]):  # (a sleeping worker needs its semaphore: the path below)
                if stacked:
                    left = native.split_gemm_stack(hand.state, hand.seq, hand.desc, hand.own, a, b, out, address, code,
                                                   parts, _ROW, RESULT_SPINS)
                else:
                    left = native.split_gemm_rows(hand.state, hand.seq, hand.desc, hand.own, a, b, out, address, code,
                                                  parts, _ROW, RESULT_SPINS, by_columns)
                for j in range(left - 1 if left else parts - 1, parts - 1):
                    hand.collect_native(j)
                hand.keep = None
                return True
            slices = _slices(a.shape[0] if stacked else b.shape[1] if by_columns else a.shape[0], parts)

            def describe(row, start, stop):
                if stacked:
                    native.stack_slice(row, a, b, out, address, code, start, stop)
                else:
                    native.matrix_slice(row, a, b, out, address, code, start, stop, by_columns)
            posted = 0
            try:
                for j, (start, stop) in enumerate(slices[1:]):
                    describe(hand.desc[j], start, stop)
                    hand.post_native(j)
                    posted += 1
                describe(hand.own[0], *slices[0])
                native.run_gemm(hand.own[0])
            finally:  # every posted slice is done (here or by its worker) before the arrays may go
                for j in range(posted):
                    hand.collect_native(j)
            hand.keep = None
        finally:
            if saved is not None and saved != 1:
                set_blas_threads(saved)
        return True
    finally:
        hand.busy.release()


def run_tasks(driver, n_tasks: int, elements: int, *args) -> None:
    """``driver(0, n_tasks, *args)``, split into one task slice per thread when the loop
    touches at least ``PARALLEL_MIN_ELEMENTS`` values. The tasks must write disjoint memory."""
    parts = min(workers(), n_tasks) if worth_parallel(elements) else 1
    if parts <= 1:
        driver(0, n_tasks, *args)
    else:
        map_slices(lambda first, last: driver(first, last, *args), n_tasks, parts,
                   single_threaded_blas=False)
