"""Matrix products on juanji's threads: BLAS single-threaded, large products split by rows.

Why not let OpenBLAS use its own threads: after a multi-threaded call its worker threads keep
spinning for a while (OpenBLAS's ``THREAD_TIMEOUT``, about 0.1 s) waiting for the next call. The
next convolution or pooling loop then runs its batch slices on juanji's threads (``_threads``)
on cores that the spinning BLAS threads still hold. Measured on the 2-core machine: a LeNet
training step at batch 256 took 23.8 ms with 2 threads against 21.2 ms with 1, because its three
small linear layers woke OpenBLAS's threads; with every BLAS call single-threaded it took 15.7 ms.
So juanji calls BLAS only single-threaded and does the splitting itself, like its convolutions:

    a (..., M, K) @ b (..., K, N):  rows  M0..M1 of the result on one thread, M1..M2 on the next, ...

(by columns ``N`` when there are fewer rows than threads, or few rows and many columns: see
``COLUMN_SPLIT``). The split is fixed by the shapes and
the thread count, so a product repeats bit for bit from run to run. Products under
``PARALLEL_MIN_FLOPS`` run on the calling thread alone (waking a thread costs more).

Other arrays (CuPy, integers, mixed dtypes, 1-d operands) go to ``a @ b`` unchanged.

:func:`matmul_narrow` is the other road, for products with few columns (a convolution of one or
two samples with a small output plane): ``_gemm_simd``'s 512-bit loops, split by rows the same way.
Measured on one core (float32, quiet machine), GFLOP/s of OpenBLAS -> these loops:
(512 x 4608) @ (4608 x 16), a 512-channel 3x3 layer on a 4x4 plane at batch 1, 84 -> 135;
its weight gradient (512 x 16) @ (16 x 4608) 83 -> 134; (256 x 2304) @ (2304 x 64) 139 -> 155.
They lose from a few hundred columns on (64 x 576) @ (576 x 1024): 130 -> 60, the rows of B
being too far apart), and where ``A`` is read across its rows (an input gradient ``w^T @ gy``: 75 -> 70).
"""

from __future__ import annotations

import math

import numpy as np

from . import _simd
from ._threads import blas_threads, map_slices, set_blas_threads, split_gemm, workers

__all__ = ["matmul", "matmul_narrow", "PARALLEL_MIN_FLOPS"]

# A product of two matrices with at most this many multiply-adds goes straight to NumPy: OpenBLAS runs
# it on the calling thread whatever its thread count (below its own threshold, 4 * 65536), so setting
# and restoring that count around it (two ctypes calls) only costs time: a 16 x 16 product through
# Tensor.matmul 6.6 -> 3.6 us, measured. So does a stack of such products (NumPy calls BLAS once per
# product): a small convolution's ``(1, O, R) @ (1, R, L)``.
SMALL_PRODUCT = 1 << 16
PARALLEL_MIN_FLOPS = 1 << 24  # ~0.1-0.2 ms on one thread: past the hand-over's cost (see _threads)
# Few rows and many columns are split by columns: OpenBLAS (one thread, float32) runs half the columns
# of such a product faster than half its rows, whose slices are then narrower than its kernels like.
# Measured, us, half the rows -> half the columns: (32 x 256) @ (256 x 1024) 181 -> 140, (64 x 1152) @
# (1152 x 1024) 1235 -> 971, (128 x 256) @ (256 x 1024) 442 -> 392; from 256 rows level (0.93-1.04).
# Paired in the running step (12 pairs): DenseNet-121 batch-1 inference 0.988, forward+backward at
# batch 1 0.993, batch 8 0.998; ResNet-18, VGG-11, MobileNetV2 at batch 1 and 8 level (0.999-1.007).
COLUMN_SPLIT = True
COLUMN_SPLIT_MAX_ROWS = 256
COLUMN_SPLIT_MIN_COLUMNS = 512


def _plain(a, b) -> bool:
    """Whether ``a @ b`` is a float32/float64 NumPy product of two matrices (or stacks)."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim >= 2 and b.ndim >= 2
            and a.dtype == b.dtype and a.dtype in (np.float32, np.float64))


def _single(a, b, out):
    """``np.matmul(a, b, out=out)`` with BLAS on this thread only."""
    saved = blas_threads()
    if saved is None or saved == 1:
        return np.matmul(a, b, out=out)
    set_blas_threads(1)
    try:
        return np.matmul(a, b, out=out)
    finally:
        set_blas_threads(saved)


def matmul(a, b, out=None):
    """``a @ b`` (``out`` optional, as ``np.matmul``), split over juanji's threads when large."""
    if not _plain(a, b):
        return a @ b if out is None else np.matmul(a, b, out=out)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if m * k * n <= SMALL_PRODUCT:  # (a stack of them too: BLAS is called once per product)
        return np.matmul(a, b, out=out)
    if out is None:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        out = np.empty(batch + (m, n), a.dtype)
    flops = 2 * m * k * n * (math.prod(out.shape[:-2]) if out.ndim > 2 else 1)
    if NATIVE_SPLIT and flops >= NATIVE_MIN_FLOPS and _native_split(a, b, out, m, n):
        return out
    if flops < PARALLEL_MIN_FLOPS:
        return _single(a, b, out)
    parts = workers()
    if parts <= 1 or blas_threads() is None:
        return _single(a, b, out)
    if m >= parts and not (COLUMN_SPLIT and m < COLUMN_SPLIT_MAX_ROWS and n >= COLUMN_SPLIT_MIN_COLUMNS):
        map_slices(lambda s, e: np.matmul(a[..., s:e, :], b, out=out[..., s:e, :]), m, min(parts, m))
    elif n >= parts:
        map_slices(lambda s, e: np.matmul(a, b[..., :, s:e], out=out[..., :, s:e]), n, min(parts, n))
    else:
        return _single(a, b, out)
    return out


# Products of this many flops and more (C-contiguous matrices) go to ``_threads.split_gemm``, by rows or
# by columns as below (``COLUMN_SPLIT``): each thread's slice a BLAS call started without the GIL (the
# worker's from its polling loop), so that a split costs a few microseconds of glue instead of the
# ~40 us a worker took to get the GIL back. Measured (AVX2 machine, 2 threads, us, ranges over runs;
# one thread -> split by Python slices -> native split): (576 x 96) @ (96 x 64) 100-128 -> 87-103 ->
# 57-78, (128 x 1024) @ (1024 x 64) 227-284 -> 172-209 -> 136-157, (960 x 160) @ (160 x 16) 85-110 ->
# 78-105 -> 51-69, (192 x 32) @ (32 x 256) 51-67 -> 76-100 -> 40-58, (64 x 64) @ (64 x 64) 11-17 ->
# 57-94 -> 12-19 (below this size: no gain).
NATIVE_SPLIT = True
NATIVE_MIN_FLOPS = 1 << 21


def _native_split(a, b, out, m: int, n: int) -> bool:
    """``_threads.split_gemm`` for a product of C-contiguous matrices (a stack of one, too: a convolution's
    ``(1, O, R) @ (R, L)``), split by rows or columns as ``matmul`` splits, or for a stack of products
    (``STACK_SPLIT``); False if not taken."""
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if b.ndim == 3 and b.shape[0] == 1:
        b = b[0]
    if out.ndim == 3 and out.shape[0] == 1:
        out = out[0]
    if out.ndim == 3:
        return STACK_SPLIT and _stack_split(a, b, out)
    if not (a.ndim == b.ndim == out.ndim == 2 and a.flags.c_contiguous and b.flags.c_contiguous
            and out.flags.c_contiguous and out.dtype == a.dtype):
        return False
    by_columns = m < workers() or (COLUMN_SPLIT and m < COLUMN_SPLIT_MAX_ROWS and n >= COLUMN_SPLIT_MIN_COLUMNS)
    parts = min(workers(), n if by_columns else m)
    return parts > 1 and split_gemm(a, b, out, parts, by_columns)


# A stack of products (Winograd's ``(a*a, tiles, C) @ (a*a, C, K)`` on one thread: a batch-1 forward pass) is
# split by whole products, each thread's products as BLAS calls started without the GIL
# (``_threads.split_gemm``); its Python row split packed every position's ``U`` matrix on both threads, and
# at batch 1 a (64 x 64) @ (64 x 64) product costs little more than the packing (36 such products: 296 us on
# one thread, 18 of them 153). Measured (AVX2 machine, 2 threads, us, the stack alone, rows by Python slices
# -> products by native slices): (36, 64, 64) @ (36, 64, 64) 356 -> 317, (36, 64, 128) @ (36, 128, 32)
# 214 -> 163, (36, 16, 128) @ (36, 128, 128) 380 -> 257. Per layer, paired (60 pairs, batch 1): 64->64 3x3
# on 32x32 forward 0.883, forward + both gradients 0.906; 128->32 on 32x32 forward 0.906. Whole models,
# paired (20 pairs, a noisy host): ResNet-18 batch-1 inference 0.959, forward + backward 0.980; DenseNet-121
# level (1.004 / 0.985); VGG-11 0.992. Each product is the BLAS call it would be alone, so the result no
# longer depends on the thread count.
STACK_SPLIT = True


def _stack_split(a, b, out) -> bool:
    """The stack split of ``a (S, M, K) @ b (S, K, N) or (K, N) -> out (S, M, N)``, each matrix's rows of
    contiguous values at non-negative strides (whole items apart); False if it does not apply."""
    count, item = out.shape[0], out.itemsize
    if not (a.ndim == 3 and a.shape[0] == count and b.ndim in (2, 3) and (b.ndim == 2 or b.shape[0] == count)
            and out.dtype == a.dtype):
        return False
    for arr in (a, b, out):
        strides = arr.strides
        if strides[-1] != item or min(strides) < 0 or any(step % item for step in strides) \
                or strides[-2] < arr.shape[-1] * item:
            return False
    parts = min(workers(), count)
    return parts > 1 and split_gemm(a, b, out, parts)


def matmul_narrow(a, b, out):
    """``out = a @ b`` on the 512-bit loops (``_gemm_simd``, in the tiles of :data:`FULL_TILES`): float32
    only; ``a (M, K)`` C- or Fortran-contiguous, ``b (K, N)`` and ``out (M, N)``
    C-contiguous with ``N`` a multiple of 16. Rows in blocks of 16 over the threads when large;
    each entry is the same sum in the same order however the rows are split."""
    from . import _gemm_simd
    # (the loops index without bounds checks: arrays that do not fit are refused before they run)
    if not (a.ndim == b.ndim == out.ndim == 2 and a.dtype == b.dtype == out.dtype == np.float32
            and a.shape[1] == b.shape[0] and out.shape == (a.shape[0], b.shape[1]) and b.shape[1] % 16 == 0
            and (a.flags.c_contiguous or a.flags.f_contiguous) and b.flags.c_contiguous and out.flags.c_contiguous):
        raise ValueError(f"matmul_narrow: expected float32 a (M, K) C- or F-contiguous, b (K, N) and out (M, N) "
                         f"C-contiguous with N a multiple of 16, got a {a.dtype} {a.shape}, b {b.dtype} {b.shape}, "
                         f"out {out.dtype} {out.shape}")
    m, k = a.shape
    n = b.shape[1]
    if a.flags.c_contiguous:
        flat_a, a_rs, a_ks = a.reshape(-1), k, 1
    else:  # the transpose of a C-contiguous matrix
        flat_a, a_rs, a_ks = a.T.reshape(-1), 1, m
    flat_b, flat_out = b.reshape(-1), out.reshape(-1)
    blocks = -(-m // 16)
    parts = min(workers(), blocks) if 2 * m * k * n >= PARALLEL_MIN_FLOPS else 1
    rows = _gemm_simd.rows if FULL_TILES else _gemm_simd.half_rows
    if parts <= 1:
        rows(flat_a, a_rs, a_ks, flat_b, n, flat_out, n, 0, m, n, k)
    else:
        map_slices(lambda s, e: rows(flat_a, a_rs, a_ks, flat_b, n, flat_out, n, 16 * s, min(m, 16 * e), n, k),
                   blocks, parts)
    return out


# Tiles sized for AVX-512's 32 registers (``_gemm_simd.rows``), or (False) for the 16 of AVX2, where each
# 512-bit value takes two (``half_rows``): read at each call, so that the tests can run either on any CPU.
FULL_TILES = _simd.AVAILABLE


def narrow_applies(dtype) -> bool:
    """Whether ``conv`` sends its forward products with few columns to :func:`matmul_narrow`: float32 on a
    CPU with AVX-512, or with AVX2 and FMA (in ``half_rows``' tiles; paired there, batch-1 inference
    ResNet-18 0.896 of its time, VGG-11 0.903, MobileNetV2 0.929, DenseNet-121 0.975; forward+backward at
    batch 1 and 2 level). Its other products keep to AVX-512 (``conv._narrow``)."""
    return _simd.takes_halves(dtype)
