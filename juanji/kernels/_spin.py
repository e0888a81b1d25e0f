"""Waiting for another thread without sleeping: the flags of ``_threads``' hand-over, as Numba loops.

Waking a sleeping thread costs 60-70 us on this project's 2-core virtual machine (a cross-CPU
wake-up of an idle virtual CPU; measured: a no-op ``ThreadPoolExecutor`` round trip between two
threads on different CPUs takes 66-76 us, on one CPU 10 us). A convolution or a batch-norm pass
of a small layer takes 100-500 us, so two such wake-ups per split loop cost as much as the
second thread saves. OpenMP runtimes (torch's) avoid them by letting an idle thread poll a flag
for a while before it sleeps; these functions are that poll, for juanji's own threads:

    wait_change(state, i, old, spins)  -> state[i] once it differs from ``old``, or ``old`` after
                                          ``spins`` polls (then the caller sleeps instead)
    wait_for(state, i, value, spins)   -> whether state[i] holds ``value`` within ``spins`` polls
    claim(state, i, old, new)          -> whether this thread moved state[i] from ``old`` to ``new``
                                          (compare-and-exchange: one of two threads wins)
    wait_claim(state, i, old, spins)   -> wait_change, then claim on state[i + 4]: ``new``, or
                                          ``-new`` when the other thread claimed it first
    publish(state, i, value)              state[i] = value
    finish_and_wait(state, done, seq, flag, i, spins)
                                       -> state[done] = seq, then wait_claim on ``state[i]``;
                                          CALLER_ASLEEP at once if ``state[flag]`` is set (the
                                          waiting thread has gone to sleep: wake it)

The claim lets the caller take back a slice its worker has not started when its own is done
(the worker's core busy with another process, or the worker still waking): no wait at all then.

Each poll is an atomic load followed by ``pause`` (the x86 spin-loop hint: it frees the core's
resources and costs ~100 cycles, so ``spins`` of 10,000 are on the order of a millisecond).
They run without the GIL: the thread that polls leaves the interpreter to the others, so a
worker never takes the GIL before there is work for it, and the caller waiting for a worker
takes it back the moment the worker's flag says it is done (the worker is then polling here,
not in the interpreter). ``state`` is a 1-d int64 array; the flags of different threads lie 64
bytes apart.
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["wait_change", "wait_for", "claim", "wait_claim", "publish", "finish_and_wait", "CALLER_ASLEEP"]


def _pointer(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


@intrinsic
def _load(typingctx, array, index):
    def codegen(context, builder, signature, args):
        return builder.load_atomic(_pointer(context, builder, signature.args[0], *args), "seq_cst", 8)
    return types.int64(array, types.intp), codegen


@intrinsic
def _store(typingctx, array, index, value):
    def codegen(context, builder, signature, args):
        builder.store_atomic(args[2], _pointer(context, builder, signature.args[0], args[0], args[1]), "seq_cst", 8)
        return context.get_dummy_value()
    return types.void(array, types.intp, types.int64), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def _pause(typingctx):
    def codegen(context, builder, signature, args):
        if _X86:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


# the C library's sched_yield(), resolved by name when the loops are compiled or loaded
_sched_yield = types.ExternalFunction("sched_yield", types.int32())
YIELD_EVERY = 16


@intrinsic
def _swap_if(typingctx, array, index, expected, value):
    """``array[index] = value`` if it holds ``expected`` (one atomic compare-and-exchange); whether it did."""
    def codegen(context, builder, signature, args):
        pointer = _pointer(context, builder, signature.args[0], args[0], args[1])
        pair = builder.cmpxchg(pointer, args[2], args[3], "seq_cst", "seq_cst")
        return builder.zext(builder.extract_value(pair, 1), ir.IntType(8))
    return types.uint8(array, types.intp, types.int64, types.int64), codegen


@njit(cache=True, nogil=True)
def _rest(k):
    """Between poll ``k`` and the next: ``pause``, or every ``YIELD_EVERY``-th time ``sched_yield`` (the
    core goes to another runnable thread, if any: under load, the thread this one is waiting for)."""
    if k % YIELD_EVERY == YIELD_EVERY - 1:
        _sched_yield()
    else:
        _pause()


@njit(cache=True, nogil=True)
def wait_change(state, i, old, spins):
    for k in range(spins):
        value = _load(state, i)
        if value != old:
            return value
        _rest(k)
    return old


@njit(cache=True, nogil=True)
def wait_for(state, i, value, spins):
    """Whether ``state[i]`` holds ``value`` within ``spins`` polls."""
    for k in range(spins):
        if _load(state, i) == value:
            return True
        _rest(k)
    return False


@njit(cache=True, nogil=True)
def claim(state, i, old, new):
    """Take slice number ``new`` (``state[i]``: the last slice number taken): whether this thread got it."""
    return _swap_if(state, i, old, new) != 0


@njit(cache=True, nogil=True)
def wait_claim(state, i, old, spins):
    """:func:`wait_change` on ``state[i]`` (a slice number), then :func:`claim` on ``state[i + 4]``:
    the new number if this thread took the slice, minus it if another thread had, ``old`` after
    ``spins`` polls."""
    value = wait_change(state, i, old, spins)
    if value == old:
        return old
    return value if claim(state, i + 4, old, value) else -value


@njit(cache=True, nogil=True)
def publish(state, i, value):
    _store(state, i, value)


CALLER_ASLEEP = -(1 << 62)


@njit(cache=True, nogil=True)
def finish_and_wait(state, done, seq, flag, i, spins):
    """``state[done] = seq``; then :data:`CALLER_ASLEEP` if ``state[flag]`` is set, else
    :func:`wait_claim` on ``state[i]``."""
    _store(state, done, seq)
    if _load(state, flag) != 0:
        return CALLER_ASLEEP
    return wait_claim(state, i, seq, spins)
