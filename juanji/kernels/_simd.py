"""Explicit 16-lane float32 vectors inside Numba functions (for the direct convolution loops).

LLVM's loop vectoriser, which Numba relies on, stays at 256-bit vectors on Intel CPUs even when
they have AVX-512 (LLVM tunes those CPUs to "prefer 256-bit"), and it cannot be told to keep a
block of accumulators in registers across a run-time loop. A convolution's inner loop needs
both to run near the machine's peak: on this project's Xeon a 256-bit loop tops out at 79
GFLOP/s per core, the same loop on explicit 512-bit vectors at about 190.

So this module gives Numba a value type ``f32x16`` (LLVM's ``<16 x float>``, one AVX-512
register) and seven operations on it, written as Numba intrinsics (each emits a few LLVM
instructions inline):

    vzero()              -> (0, ..., 0)
    vload(a, i)          -> (a[i], a[i+1], ..., a[i+15])       a: 1-d contiguous float32
    vbcast(a, i)         -> (a[i], a[i], ..., a[i])
    vfma(x, y, acc)      -> x * y + acc, lane by lane, one rounding (``llvm.fma``)
    vadd(x, y), vsub(x, y), vmul(x, y) -> x + y, x - y, x * y, lane by lane
    vstore(a, i, v)         a[i:i+16] = v
    vsum(v)              -> v[0] + v[1] + ... + v[15]  (as a tree: fixed order)
    vkeep(y, g)          -> g where y > 0 or y is NaN, else 0, lane by lane (relu's gradient)
    vclamp(x, lo, hi)    -> lo where x < lo, hi where x > hi, else x (NaN kept): hardtanh
    vkeep_inside(y, g, lo, hi) -> g where neither y <= lo nor y >= hi, else 0: hardtanh's gradient
    vtranspose16(a, i, s, b, j, t)  b[j + q*t + r] = a[i + r*s + q] for q, r < 16: a 16 x 16 block
                         transposed in registers (16 loads, 64 two-vector shuffles, 16 stores)
    vtranspose16_add(a, i, s, b, j, t, v)  the same of a[i + r*s + q] + v[q]

Variables of type ``f32x16`` live in registers, so generated code (``scripts/gen_conv_simd.py``)
can keep e.g. 24 accumulators across a loop over taps. There is no bounds check: the caller
guarantees ``0 <= i`` and ``i + 16 <= a.size``. On a CPU without AVX-512, LLVM splits each vector
into narrower ones: the results are the same, only slower, so the callers use these loops only
where :data:`AVAILABLE` says the CPU has AVX-512.
"""

from __future__ import annotations

import llvmlite.binding as llvm_binding
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

__all__ = ["f32x16", "vzero", "vload", "vbcast", "vfma", "vadd", "vsub", "vmul", "vstore", "vsum", "vkeep", "vclamp",
           "vkeep_inside", "vtranspose16", "vtranspose16_add", "AVAILABLE", "HALVES", "LANES", "takes", "takes_halves"]

LANES = 16
_VECTOR = ir.VectorType(ir.FloatType(), LANES)


def _has_avx512() -> bool:
    try:
        return bool(llvm_binding.get_host_cpu_features().get("avx512f", False))
    except Exception:  # pragma: no cover - a host LLVM cannot describe
        return False


AVAILABLE = _has_avx512()


def _has_avx2_fma() -> bool:
    try:
        features = llvm_binding.get_host_cpu_features()
        return bool(features.get("avx2", False) and features.get("fma", False))
    except Exception:  # pragma: no cover - a host LLVM cannot describe
        return False


# Without AVX-512, LLVM runs each 512-bit operation as two 256-bit ones (AVX2 + FMA): right, and for some
# loops still faster than the 256-bit loops they replace (``takes_halves``).
HALVES = not AVAILABLE and _has_avx2_fma()


def takes(dtype) -> bool:
    """Whether juanji's 512-bit loops run for arrays of ``dtype``: float32, on a CPU with AVX-512 (the
    rule every module with such loops asks, but those in :func:`takes_halves`; the loops they replace
    stay for the other cases)."""
    return AVAILABLE and dtype == np.float32


def takes_halves(dtype) -> bool:
    """:func:`takes`, and also on a CPU with AVX2 and FMA but no AVX-512 (``HALVES``), for the loops that
    measured faster there than the 256-bit ones: Winograd's tile transforms and changes of layout,
    the small-channel Winograd rule, depthwise convolutions and the 16 x 16 transposes. (On such a CPU,
    in one process, each family switched on alone between steps: MobileNetV2 batch-1 inference 0.80 with
    the depthwise loops, ResNet-20 training 0.87 with the Winograd ones; the direct loops and the narrow
    products, whose blocks of up to 28 accumulators spill out of 16 registers, made ResNet-18's batch-1
    inference 1.35 and 1.13 times slower: they run here in blocks of at most 6 accumulators,
    ``_conv_direct.FULL_BLOCKS`` and ``gemm.FULL_TILES``, and the narrow products only forward, up to 32
    columns; their other uses keep :func:`takes`.)"""
    return (AVAILABLE or HALVES) and dtype == np.float32


class F32x16(types.Type):
    """Numba's type for one ``<16 x float>`` value."""

    def __init__(self):
        super().__init__(name="f32x16")


f32x16 = F32x16()


@register_model(F32x16)
class _F32x16Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VECTOR)


def _element_pointer(context, builder, array_type, array, index):
    data = context.make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


def _check_array(array):
    if not (isinstance(array, types.Array) and array.dtype == types.float32 and array.ndim == 1
            and array.layout == "C"):
        raise TypeError(f"simd: expected a 1-d contiguous float32 array, got {array}")


@intrinsic
def vzero(typingctx):
    def codegen(context, builder, signature, args):
        return ir.Constant(_VECTOR, [0.0] * LANES)
    return f32x16(), codegen


@intrinsic
def vload(typingctx, array, index):
    _check_array(array)

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load(builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)
    return f32x16(array, types.intp), codegen


@intrinsic
def vbcast(typingctx, array, index):
    _check_array(array)

    def codegen(context, builder, signature, args):
        value = builder.load(_element_pointer(context, builder, signature.args[0], args[0], args[1]))
        one = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
        lanes = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
        return builder.shuffle_vector(one, ir.Constant(_VECTOR, ir.Undefined), lanes)
    return f32x16(array, types.intp), codegen


@intrinsic
def vfma(typingctx, x, y, acc):
    def codegen(context, builder, signature, args):
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_VECTOR, [_VECTOR] * 3),
                                             "llvm.fma.v16f32")
        return builder.call(fma, args)
    return f32x16(f32x16, f32x16, f32x16), codegen


@intrinsic
def vstore(typingctx, array, index, value):
    _check_array(array)

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)
        return context.get_dummy_value()
    return types.void(array, types.intp, f32x16), codegen


@intrinsic
def vsum(typingctx, value):
    """The sum of the 16 lanes (``llvm.vector.reduce.fadd`` with ``reassoc``: a tree of four vector
    additions, in an order fixed by the compiled code, so the same bits on every run)."""
    def codegen(context, builder, signature, args):
        reduce = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.FloatType(), [ir.FloatType(), _VECTOR]), "llvm.vector.reduce.fadd.v16f32")
        return builder.call(reduce, [ir.Constant(ir.FloatType(), -0.0), args[0]], fastmath=("reassoc",))
    return types.float32(f32x16), codegen


@intrinsic
def vadd(typingctx, x, y):
    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1])
    return f32x16(f32x16, f32x16), codegen


@intrinsic
def vkeep(typingctx, y, g):
    """``g`` in the lanes where ``y <= 0`` does not hold (``y > 0`` or NaN), 0 elsewhere: a select,
    not a product, so an infinite or NaN ``g`` never meets a 0 factor."""
    def codegen(context, builder, signature, args):
        zero = ir.Constant(_VECTOR, [0.0] * LANES)
        return builder.select(builder.fcmp_ordered("<=", args[0], zero), zero, args[1])
    return f32x16(f32x16, f32x16), codegen


@intrinsic
def vclamp(typingctx, x, lo, hi):
    """``lo`` in the lanes where ``x < lo``, ``hi`` where ``x > hi``, else ``x`` (a NaN passes: both
    comparisons are false); ``lo`` and ``hi`` are vectors (``vbcast``)."""
    def codegen(context, builder, signature, args):
        value, low, high = args
        above = builder.select(builder.fcmp_ordered(">", value, high), high, value)
        return builder.select(builder.fcmp_ordered("<", value, low), low, above)
    return f32x16(f32x16, f32x16, f32x16), codegen


@intrinsic
def vkeep_inside(typingctx, y, g, lo, hi):
    """``g`` in the lanes where neither ``y <= lo`` nor ``y >= hi`` holds, 0 elsewhere."""
    def codegen(context, builder, signature, args):
        value, grad, low, high = args
        outside = builder.or_(builder.fcmp_ordered("<=", value, low), builder.fcmp_ordered(">=", value, high))
        return builder.select(outside, ir.Constant(_VECTOR, [0.0] * LANES), grad)
    return f32x16(f32x16, f32x16, f32x16, f32x16), codegen


@intrinsic
def vsub(typingctx, x, y):
    def codegen(context, builder, signature, args):
        return builder.fsub(args[0], args[1])
    return f32x16(f32x16, f32x16), codegen


@intrinsic
def vmul(typingctx, x, y):
    def codegen(context, builder, signature, args):
        return builder.fmul(args[0], args[1])
    return f32x16(f32x16, f32x16), codegen


def _transpose_masks():
    """The shuffles of a 16 x 16 transpose in four stages: at stage ``s`` (8, 4, 2, 1) rows ``i`` and
    ``i + s`` (bit ``s`` of ``i`` clear) swap their off-diagonal ``s x s`` blocks; lanes 16..31 of a
    mask name the second row's lanes."""
    stages = []
    for s in (8, 4, 2, 1):
        low = [lane if not lane & s else 16 + lane - s for lane in range(LANES)]
        high = [lane + s if not lane & s else 16 + lane for lane in range(LANES)]
        stages.append((s, low, high))
    return stages


_TRANSPOSE = _transpose_masks()


def _transpose_codegen(add: bool):
    def codegen(context, builder, signature, args):
        src_ty, dst_ty = signature.args[0], signature.args[3]
        a, i, s, b, j, t = args[:6]
        rows = []
        for r in range(LANES):
            index = builder.add(i, builder.mul(s, ir.Constant(s.type, r)))
            pointer = _element_pointer(context, builder, src_ty, a, index)
            row = builder.load(builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)
            rows.append(builder.fadd(row, args[6]) if add else row)
        mask_type = ir.VectorType(ir.IntType(32), LANES)
        for step, low, high in _TRANSPOSE:
            low_mask, high_mask = ir.Constant(mask_type, low), ir.Constant(mask_type, high)
            for r in range(LANES):
                if r & step:
                    continue
                first, second = rows[r], rows[r + step]
                rows[r] = builder.shuffle_vector(first, second, low_mask)
                rows[r + step] = builder.shuffle_vector(first, second, high_mask)
        for q in range(LANES):
            index = builder.add(j, builder.mul(t, ir.Constant(t.type, q)))
            pointer = _element_pointer(context, builder, dst_ty, b, index)
            builder.store(rows[q], builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)
        return context.get_dummy_value()
    return codegen


@intrinsic
def vtranspose16(typingctx, src, src_index, src_stride, dst, dst_index, dst_stride):
    """``dst[dst_index + q*dst_stride + r] = src[src_index + r*src_stride + q]`` for ``q, r < 16``:
    rows ``r`` of the block (16 values each, ``src_stride`` apart) become its columns, bit for bit.
    The two arrays must not overlap."""
    _check_array(src)
    _check_array(dst)
    return types.void(src, types.intp, types.intp, dst, types.intp, types.intp), _transpose_codegen(False)


@intrinsic
def vtranspose16_add(typingctx, src, src_index, src_stride, dst, dst_index, dst_stride, add):
    """:func:`vtranspose16` with the vector ``add`` added to each source row first (a bias per column of
    the result, or zeros: then -0.0 comes out +0.0, as a scalar ``x + 0.0`` gives)."""
    _check_array(src)
    _check_array(dst)
    return (types.void(src, types.intp, types.intp, dst, types.intp, types.intp, f32x16),
            _transpose_codegen(True))
