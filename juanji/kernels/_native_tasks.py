"""Slices a worker runs without the GIL: BLAS products started from its polling loop.

A worker of ``_threads`` waits for its next slice in a Numba loop without the GIL (``_spin``), then
returns to Python to run it: the slice is a Python callable. Taking the GIL back is what a hand-over
costs on the 2-core machine (~40 us: a thread that finds the GIL held sleeps in its condition variable
until the holder lets go, and only then is woken), as much as a product of a few hundred thousand
multiply-adds takes, so products of that size ran on one thread. A *native* slice is a row range of
one matrix product, described by numbers (the BLAS function's address, sizes, pointers) in a row of
``desc``: the worker's polling loop (:func:`wait_claim_native`) claims it and calls BLAS itself,
publishes it done and goes on polling, all without the GIL; the caller runs its own rows the same way.

    desc[row] = (function address, 0 for float32 / 1 for float64, m, n, k, a, lda, b, ldb, c, ldc,
                 count, a_step, b_step, c_step)

computes ``C[:m] = A[:m] @ B`` (row-major, ``A (m, k)`` at address ``a`` with row stride ``lda``,
``B (k, n)``, ``C (m, n)``) by ``cblas_?gemm`` of the ILP64 OpenBLAS NumPy loads (64-bit sizes), for
``count`` such products, the three addresses moving by their steps (bytes) from one to the next: a
stack of products (Winograd's ``(a*a, tiles, C) @ (a*a, C, K)``) is split over the threads by whole
products, each computed as it would be alone.

The flags are ``_threads._Hand``'s (posted at +0, claimed at +4, done at +8, caller asleep at +16);
this module adds the slice's kind at +20 (0: Python, 1: native) and the worker's last slice number at
+12 (kept there, since the loop goes on past native slices without telling Python).
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._spin import CALLER_ASLEEP, _load, _store, _swap_if, wait_change, wait_for

__all__ = ["run_gemm", "split_gemm_rows", "split_gemm_stack", "matrix_slice", "stack_slice", "wait_claim_native", "finish_and_wait_native", "TIMED_OUT", "KIND", "LAST",
           "DESC_WIDTH"]

KIND = 20  # flag offsets within a worker's row of ``_threads._Hand.state``
LAST = 12
DESC_WIDTH = 15
TIMED_OUT = -(1 << 61)


def _gemm_call(float_type):
    def codegen(context, builder, signature, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, float_type, ptr, i64, ptr, i64,
                                               float_type, ptr, i64])
        address, m, n, k, a, lda, b, ldb, c, ldc = args
        fn = builder.inttoptr(address, fnty.as_pointer())
        one, zero = ir.Constant(float_type, 1.0), ir.Constant(float_type, 0.0)
        builder.call(fn, [ir.Constant(i32, 101), ir.Constant(i32, 111), ir.Constant(i32, 111), m, n, k, one,
                          builder.inttoptr(a, ptr), lda, builder.inttoptr(b, ptr), ldb, zero,
                          builder.inttoptr(c, ptr), ldc])
        return context.get_dummy_value()
    return codegen


@intrinsic
def _sgemm(typingctx, address, m, n, k, a, lda, b, ldb, c, ldc):
    """``cblas_sgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)`` at ``address``."""
    return types.void(*([types.int64] * 10)), _gemm_call(ir.FloatType())


@intrinsic
def _dgemm(typingctx, address, m, n, k, a, lda, b, ldb, c, ldc):
    """The same in float64 (``cblas_dgemm``)."""
    return types.void(*([types.int64] * 10)), _gemm_call(ir.DoubleType())


@njit(cache=True, nogil=True)
def run_gemm(task):
    """The products described by ``task``, a row of ``desc`` (see the module docstring)."""
    if task[2] <= 0 or task[3] <= 0:
        return
    a, b, c = task[5], task[7], task[9]
    for _ in range(task[11]):
        if task[1] == 0:
            _sgemm(task[0], task[2], task[3], task[4], a, task[6], b, task[8], c, task[10])
        else:
            _dgemm(task[0], task[2], task[3], task[4], a, task[6], b, task[8], c, task[10])
        a += task[12]
        b += task[13]
        c += task[14]


@njit(cache=True, nogil=True)
def wait_claim_native(state, i, old, spins, desc, row):
    """``_spin.wait_claim`` for worker flags at ``state[i]``, running native slices as they come: returns a
    Python slice's number once claimed, :data:`TIMED_OUT` after ``spins`` polls without a new slice, or
    ``CALLER_ASLEEP`` when a native slice is done and its caller sleeps (the worker must wake it). The last
    slice number seen is left at ``state[i + LAST]`` in every case."""
    while True:
        value = wait_change(state, i, old, spins)
        if value == old:
            _store(state, i + LAST, old)
            return TIMED_OUT
        if _swap_if(state, i + 4, old, value) == 0:  # the caller took this slice back
            old = value
            continue
        if _load(state, i + KIND) == 0:  # a Python slice: the worker's Python loop runs it
            _store(state, i + LAST, value)
            return value
        run_gemm(desc[row])
        _store(state, i + 8, value)  # done
        old = value
        if _load(state, i + 16) != 0:  # its caller has gone to sleep: wake it (from Python)
            _store(state, i + LAST, old)
            return CALLER_ASLEEP


@njit(cache=True, nogil=True)
def finish_and_wait_native(state, done, seq, flag, i, spins, desc, row):
    """``state[done] = seq`` (a Python slice finished); then ``CALLER_ASLEEP`` if ``state[flag]`` is set,
    else :func:`wait_claim_native`."""
    _store(state, done, seq)
    if _load(state, flag) != 0:
        _store(state, i + LAST, seq)
        return CALLER_ASLEEP
    return wait_claim_native(state, i, seq, spins, desc, row)


@njit(cache=True, nogil=True)
def matrix_slice(row, a, b, out, address, code, start, stop, by_columns):
    """``row`` = the description of ``out[start:stop] = a[start:stop] @ b`` (C-contiguous 2-d arrays), or with
    ``by_columns`` of ``out[:, start:stop] = a @ b[:, start:stop]`` (the row strides stay ``n``)."""
    m, k = a.shape
    n = b.shape[1]
    item = a.itemsize
    pa, pb, pc = a.ctypes.data, b.ctypes.data, out.ctypes.data
    row[0], row[1], row[4], row[6], row[8], row[10] = address, code, k, k, n, n
    row[11], row[12], row[13], row[14] = 1, 0, 0, 0
    if by_columns:
        row[2], row[3], row[5], row[7], row[9] = m, stop - start, pa, pb + start * item, pc + start * item
    else:
        row[2], row[3], row[5], row[7], row[9] = stop - start, n, pa + start * k * item, pb, pc + start * n * item


@njit(cache=True, nogil=True)
def stack_slice(row, a, b, out, address, code, start, stop):
    """``row`` = the description of ``out[start:stop] = a[start:stop] @ b[start:stop]`` for stacks ``a (S, M, K)``,
    ``b (S, K, N)`` (or ``(1, K, N)``, the same matrix for every product) and ``out (S, M, N)`` whose
    matrices have rows of contiguous values (any row and stack strides, in whole items)."""
    item = a.itemsize
    row[0], row[1], row[2], row[3], row[4] = address, code, a.shape[1], b.shape[2], a.shape[2]
    row[6], row[8], row[10] = a.strides[1] // item, b.strides[1] // item, out.strides[1] // item
    b_step = b.strides[0] if b.shape[0] > 1 else 0
    row[5] = a.ctypes.data + start * a.strides[0]
    row[7] = b.ctypes.data + start * b_step
    row[9] = out.ctypes.data + start * out.strides[0]
    row[11], row[12], row[13], row[14] = stop - start, a.strides[0], b_step, out.strides[0]


@njit(cache=True, nogil=True)
def _post_run_wait(state, seqs, desc, own, parts, row_width, spins):
    """Post ``desc[j]`` to worker ``j`` for ``j < parts - 1`` (sequence number ``seqs[j] + 1``), run ``own[0]``
    here, then claim back and run each worker's slice that has not started, else wait for it. Returns 0
    when all are done, or ``j + 1`` for the first worker ``j`` whose slice was still running after ``spins``
    polls (the caller then waits for it from Python, where it can sleep)."""
    for j in range(parts - 1):
        flags = j * row_width
        state[flags + KIND] = 1
        seqs[j] += 1
        _store(state, flags, seqs[j])  # (sequentially consistent: the description above is seen first)
    run_gemm(own[0])
    for j in range(parts - 1):
        flags, seq = j * row_width, seqs[j]
        if _swap_if(state, flags + 4, seq - 1, seq) != 0:  # not started: run it here
            run_gemm(desc[j])
        elif not wait_for(state, flags + 8, seq, spins):
            return j + 1
    return 0


@njit(cache=True, nogil=True)
def split_gemm_rows(state, seqs, desc, own, a, b, out, address, code, parts, row_width, spins, by_columns):
    """The caller's side of a native split, in one call: ``out = a @ b`` (C-contiguous 2-d arrays), its
    rows (or with ``by_columns`` its columns) in ``parts`` slices as ``_threads._slices`` cuts them; slice
    ``j >= 1`` posted to worker ``j - 1`` (``desc[j - 1]``), slice 0 run here (``own[0]``): see
    :func:`_post_run_wait`, whose result this returns."""
    total = b.shape[1] if by_columns else a.shape[0]
    base, extra = total // parts, total % parts
    start = 0
    for j in range(parts):
        stop = start + base + (1 if j < extra else 0)
        matrix_slice(desc[j - 1] if j else own[0], a, b, out, address, code, start, stop, by_columns)
        start = stop
    return _post_run_wait(state, seqs, desc, own, parts, row_width, spins)


@njit(cache=True, nogil=True)
def split_gemm_stack(state, seqs, desc, own, a, b, out, address, code, parts, row_width, spins):
    """:func:`split_gemm_rows` for a stack of products (:func:`stack_slice`), split by whole products."""
    total = a.shape[0]
    base, extra = total // parts, total % parts
    start = 0
    for j in range(parts):
        stop = start + base + (1 if j < extra else 0)
        stack_slice(desc[j - 1] if j else own[0], a, b, out, address, code, start, stop)
        start = stop
    return _post_run_wait(state, seqs, desc, own, parts, row_width, spins)
