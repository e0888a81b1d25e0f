"""How far apart the machine's two CPUs are: the round trip of a cache line between two threads.

On the project's 2-vCPU virtual machine the hypervisor does not always place the two virtual CPUs
close together. Most of the time a cache line written by one thread reaches the other and comes
back in 50-60 ns; for stretches of tens of seconds to minutes it takes 300-2,000 ns (the two vCPUs
on hosts' cores that share no cache). Single-thread speed is the same in both states (a dependent
multiply-add chain and a streaming sum, measured alongside), but every value one thread writes and
the other reads costs ~10x more, and a two-thread training step slows down: MobileNetV2 forward +
backward at batch 8 took 79 ms in juanji (its one-thread time is 107-113 ms) and 142-150 ms in
those stretches; torch's took 80-95 ms and 103-110 ms. That was the "slow processes" of earlier
benchmark runs, which moved table rows across their goals in both directions.

``round_trip_ns()`` measures it (two threads, each flipping a shared counter when it sees the
other's value, 20,000 times; the smallest of three tries, so that one descheduled moment does not
count): the benchmark worker measures it (in a process of its own) before its first case and after
each, and ``run.py`` treats a case whose reading before or after crosses ``--max-round-trip`` like
one measured under foreign load (done again, and marked if it stays so). Both frameworks are held
to the same rule.

The probe is its own small Numba function (this runner imports neither framework); the counter is
read and written with atomic instructions so that the compiler keeps every read. (Those two
intrinsics repeat the ones in ``juanji/kernels/_spin.py`` on purpose: importing that module would
import juanji into the runner and into the probe's process.)
"""

from __future__ import annotations

import threading
import time

__all__ = ["round_trip_ns"]

try:
    from numba import njit, types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - numba is a runtime dependency of juanji
    njit = None


def _pointer(context, builder, array_type, array, index):
    return builder.gep(context.make_array(array_type)(context, builder, array).data, [index])


if njit is not None:
    @intrinsic
    def _load(typingctx, array, index):
        def codegen(context, builder, signature, args):
            return builder.load_atomic(_pointer(context, builder, signature.args[0], *args), "seq_cst", 8)
        return types.int64(array, types.intp), codegen

    @intrinsic
    def _store(typingctx, array, index, value):
        def codegen(context, builder, signature, args):
            builder.store_atomic(args[2], _pointer(context, builder, signature.args[0], args[0], args[1]),
                                 "seq_cst", 8)
            return context.get_dummy_value()
        return types.void(array, types.intp, types.int64), codegen

    @njit(nogil=True, cache=True)
    def _ping_pong(counter, me, trips):
        """Thread ``me`` (0 or 1) waits for ``counter[0] == 2k + me`` and writes ``2k + me + 1``."""
        for k in range(trips):
            want = 2 * k + me
            while _load(counter, 0) != want:
                pass
            _store(counter, 0, want + 1)
        return 0


def round_trip_ns(trips: int = 20_000, tries: int = 3) -> float | None:
    """Nanoseconds for a cache line to go from one thread to the other and back (the least of
    ``tries``), or None where Numba is missing."""
    import numpy as np

    if njit is None:
        return None
    ping_pong = _ping_pong
    counter = np.zeros(16, np.int64)
    ping_pong(counter, 0, 1)  # compiled (or loaded) before timing
    best = None
    for _ in range(tries):
        counter[0] = 0
        other = threading.Thread(target=ping_pong, args=(counter, 1, trips), daemon=True)
        other.start()
        start = time.perf_counter()
        ping_pong(counter, 0, trips)
        elapsed = time.perf_counter() - start
        other.join()
        per_trip = elapsed / trips * 1e9
        best = per_trip if best is None else min(best, per_trip)
    return best


if __name__ == "__main__":
    import sys
    trip = round_trip_ns()
    if "--ns" in sys.argv[1:]:
        print("none" if trip is None else f"{trip:.1f}")
    else:
        print("cache-line round trip between two threads: " + ("unknown (no Numba)" if trip is None else f"{trip:.0f} ns"))
