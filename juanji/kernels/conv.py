"""N-d convolution on arrays: forward, input gradient, weight gradient (1-d, 2-d, 3-d).

Notation: ``N`` batch, ``C`` input channels, ``O`` output channels, ``G`` groups
(``Cg = C/G``, ``Og = O/G``), ``K`` the kernel volume, ``L`` the number of output positions.
Per spatial dim, with input ``n``, kernel ``k``, stride ``s``, dilation ``d`` and padding
``(lo, hi)`` (see ``juanji/kernels/sizes.py``):

    y[b, o, p] = sum_{c in o's group} sum_k  w[o, c, k] * x_pad[b, c, p*s + k*d]
    out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1

How it is computed (NumPy): im2col turns every window into one column of a matrix
``cols (C*K, positions)``, so the convolution is one matrix product per group,
``w_g (Og, Cg*K) @ cols_g``, done by BLAS. The batch goes through in chunks of a few
samples, sized so that a chunk's columns stay in cache (memory stays bounded too). The
gradients are the adjoints:

    grad input  = col2im(w.T @ gy)               (a transposed convolution)
    grad weight = gy @ cols.T                    (a correlation of x with gy)

Pointwise convolutions (1x1, stride 1, no padding) skip im2col: their columns are the input
itself (over planes of at least ``PER_SAMPLE_MIN_POSITIONS`` positions, one product per sample
straight between the user's arrays). Depthwise ones (groups == C: one input channel per output
channel) would be thousands of one-row products, so they are direct Numba loops instead
(``_conv_depthwise``).

Threads: the batch is split over them, one slice each (``_threads``), each slice with its own
column buffer and a single-threaded BLAS.

Transposed convolution is the input gradient of a convolution: :func:`conv_transpose_forward`
(on the im2col path col2im starts each output plane from the bias); its two gradients,
``conv(gy, w)`` and ``corr(x, gy)``, both multiply the columns of ``gy``, which
:func:`conv_transpose_backward` gathers once for both.

A dilated stride-1 convolution whose dilations divide the input sizes and paddings is the
undilated convolution of each phase of its input (``_phases``); the phases go through as extra
samples when that lets Winograd compute it (:func:`_dilation_phases`).
``F.unfold`` is im2col itself and ``F.fold`` col2im: :func:`unfold` and :func:`fold`.

The interface: every function takes a :class:`ConvGeometry` (``conv_geometry(window,
input_shape, out_channels, groups)``, built once per shape and cached) and arrays of one
backend. The implementation is chosen once per call by the arrays (:func:`_implementation`):
the Numba + BLAS one above for NumPy float32/float64 arrays, the slicing one of
``_conv_slices`` (same columns, same geometry) for other backends (CuPy), integer and float16
arrays.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

import numpy as np

from juanji.backend import xp_of

from . import _conv_depthwise as depthwise
from . import _simd, gemm, workspace
from . import _conv_direct
from . import _winograd
from . import _conv_slices
from . import _im2col
from . import _phases
from ._conv_layout import transpose
from ._conv_geometry import ConvGeometry, conv_geometry
from .window import Window
from ._threads import batch_workers, map_slices, worth_parallel_macs

__all__ = ["conv_forward", "conv_backward", "conv_backward_input", "conv_backward_weight", "conv_backward_bias",
           "conv_transpose_forward", "conv_transpose_backward", "unfold", "fold", "ConvGeometry", "conv_geometry"]

# Columns of one chunk take about this many bytes: few enough chunks that the number of BLAS
# calls (each one a hand-over between threads, which is slow on a busy machine) stays small,
# small enough to stay within the 32 MiB L3 cache and to keep memory bounded.
CHUNK_BYTES = 4 << 20
MIN_CHUNK_POSITIONS = 1024
# A pointwise convolution over planes of at least this many positions is one product per sample
# (``_per_sample_products``). Measured (2 threads, ms, forward / input gradient / weight gradient,
# chunks of columns -> per-sample products): 64->384 on 8x8 at batch 8 0.231 / 0.257 / 0.286 -> 0.157
# / 0.165 / 0.207, at batch 32 0.639 / 0.691 / 0.667 -> 0.474 / 0.522 / 0.662; 384->64 on 8x8 at batch 8
# 0.275 / 0.204 / 0.305 -> 0.160 / 0.156 / 0.219. The weight gradient, a sum of those products, loses
# where they are large against their inner side (1024->128 on 8x8 at batch 8: 0.796 -> 0.929, 576->96
# at batch 32: 1.29 -> 1.39; 160->960 on 4x4: 0.277 -> 0.636): it takes them from 256 positions on.
PER_SAMPLE_MIN_POSITIONS = 64
PER_SAMPLE_WEIGHT_MIN_POSITIONS = 256


def _lift(arr, geom: ConvGeometry, kind: str):
    """View a 1-d/2-d/3-d array as 5-d (no copy), contiguous for the Numba loops."""
    return np.ascontiguousarray(arr).reshape(geom.lifted(kind, batch=arr.shape[0] if kind != "weight" else None))


def _unlift(arr, geom: ConvGeometry, kind: str):
    shape = {"input": geom.input_shape, "output": geom.output_shape, "weight": geom.weight_shape}[kind]()
    return arr.reshape(shape)


def _chunk_size(geom: ConvGeometry, itemsize: int) -> int:
    """Samples per chunk so that one chunk of columns is about ``CHUNK_BYTES``
    (and a chunk has at least ``MIN_CHUNK_POSITIONS`` columns, for BLAS's sake)."""
    per_sample = geom.out_volume * geom.kernel_volume * geom.channels * itemsize
    by_bytes = CHUNK_BYTES // max(per_sample, 1)
    by_width = -(-MIN_CHUNK_POSITIONS // max(geom.out_volume, 1))
    return int(max(1, min(geom.batch, max(by_bytes, by_width))))


def _grouped(w5, geom: ConvGeometry):
    """The weight as ``(G, Og, Cg*K)``: row ``o`` of group ``g`` against its columns."""
    return w5.reshape(geom.groups, geom.out_channels_per_group, geom.channels_per_group * geom.kernel_volume)


class _Columns:
    """One reusable work array for the columns of a chunk, ``(C*K, count*L)`` per chunk."""

    def __init__(self, geom: ConvGeometry, chunk: int, dtype):
        self.geom = geom
        self.rows = geom.channels * geom.kernel_volume
        self.buffer = workspace.empty(self.rows * chunk * geom.out_volume, dtype)

    def view(self, count: int):
        """The first ``count`` samples' worth of the buffer, as a contiguous matrix."""
        width = count * self.geom.out_volume
        return self.buffer[:self.rows * width].reshape(self.rows, width)

    def gather(self, x5, n0: int, count: int, channels=None):
        """im2col of samples ``n0 .. n0+count`` of the lifted input ``x5`` (with ``channels=(c0, c1)``
        only the rows of those channels, on the calling thread; not for a pointwise convolution).

        For a pointwise (1x1, stride 1, unpadded) convolution the columns are the input
        itself, sample after sample: one sample is used in place, several are copied run by run.
        """
        geom = self.geom
        if geom.is_pointwise:
            x3 = x5.reshape(x5.shape[0], geom.channels, geom.in_volume)
            return _samples_as_columns(x3, n0, count, self.buffer)
        cols = self.view(count)
        if geom.out_volume <= SMALL_PLANE_POSITIONS:
            _im2col.gather_table(_planes_flat(x5), n0, count, _taps_of(geom), cols.reshape(-1),
                                 count * geom.out_volume, geom.out_volume, channels=channels)
            return cols
        _im2col.im2col(x5, n0, count, cols.reshape(-1), geom.dims, count * geom.out_volume, geom.out_volume,
                       channels=channels)
        return cols

    def scatter(self, gcols, gx, n0: int, count: int, bias=None):
        """The adjoint of :meth:`gather`: add the column gradients back into ``gx`` (overwritten),
        plus ``bias (C,)`` per channel if given (a transposed convolution's bias)."""
        geom = self.geom
        if geom.is_pointwise:
            gx3 = gx.reshape(gx.shape[0], geom.channels, geom.in_volume)
            gx3[n0:n0 + count] = gcols.reshape(geom.channels, count, geom.in_volume).transpose(1, 0, 2)
        elif geom.out_volume <= SMALL_PLANE_POSITIONS:  # starts each plane from its bias, as col2im
            _im2col.scatter_table(gcols.reshape(-1), _planes_flat(gx), n0, count, _taps_of(geom),
                                  count * geom.out_volume, geom.out_volume, start=bias)
            return
        else:  # col2im starts each plane from its bias: no pass of its own over the output
            _im2col.col2im(gcols.reshape(-1), gx, n0, count, geom.dims, count * geom.out_volume, geom.out_volume,
                           start=bias)
            return
        if bias is not None:
            _add_bias(gx, n0, count, bias)


def _add_bias(a5, n0: int, count: int, bias) -> None:
    """``a5[n0:n0+count, c] += bias[c]`` for a lifted ``(N, C, D, H, W)`` array."""
    a5[n0:n0 + count] += bias.reshape(-1, 1, 1, 1)


# Output planes of at most this many positions (ResNet's 8x8 and 4x4 stages) are gathered and
# scattered by a table of input positions (``_im2col.gather_table``): im2col's loops would pay their
# set-up per run of a handful of values (512 channels x 9 taps x 16 positions took 0.40 ms).
SMALL_PLANE_POSITIONS = 64


@lru_cache(maxsize=256)
def _plane_taps(in_size, kernel, stride, dilation, pad_lo, out_size):
    """``index[tap, pos]``: the flat position in the (unpadded) input volume that output position
    ``pos`` reads at kernel tap ``tap``, or -1 where that falls in the padding."""
    axes = []
    for n, k, s, d, lo, o in zip(in_size, kernel, stride, dilation, pad_lo, out_size):
        coord = np.arange(k)[:, None] * d + np.arange(o)[None, :] * s - lo  # (k, o) input coordinate
        axes.append((coord, (coord >= 0) & (coord < n)))
    (z, vz), (y, vy), (x, vx) = axes
    zk, zo = z.shape
    yk, yo = y.shape
    xk, xo = x.shape
    shape = (zk, yk, xk, zo, yo, xo)
    zz, yy, xx = z.reshape(zk, 1, 1, zo, 1, 1), y.reshape(1, yk, 1, 1, yo, 1), x.reshape(1, 1, xk, 1, 1, xo)
    inside = vz.reshape(zz.shape) & vy.reshape(yy.shape) & vx.reshape(xx.shape)
    flat = (zz * in_size[1] + yy) * in_size[2] + xx
    index = np.where(inside, np.broadcast_to(flat, shape), -1)
    return np.ascontiguousarray(index.reshape(zk * yk * xk, zo * yo * xo), dtype=np.int64)


def _taps_of(geom: ConvGeometry):
    return _plane_taps(geom.in_size, geom.kernel, geom.stride, geom.dilation, geom.pad_lo, geom.out_size)


def _planes_flat(a5):
    """A lifted ``(N, C, D, H, W)`` array as ``(N, C, D*H*W)`` (a view)."""
    return a5.reshape(a5.shape[0], a5.shape[1], -1)


def _samples_as_columns(a3, n0: int, count: int, out):
    """``a3[n0:n0+count]`` (count, R, L) as the matrix (R, count*L) that im2col's layout needs.

    Each (sample, row) is a contiguous run of L values, so this is a copy of whole runs.
    """
    if count == 1:
        return a3[n0]  # already (R, L): no copy
    rows, length = a3.shape[1], a3.shape[2]
    matrix = out[:rows * count * length].reshape(rows, count, length)
    matrix[...] = a3[n0:n0 + count].transpose(1, 0, 2)
    return matrix.reshape(rows, count * length)


_NO_BIAS = {np.dtype(np.float32): np.zeros(1, np.float32), np.dtype(np.float64): np.zeros(1, np.float64)}


def _bias_args(bias, dtype):
    if bias is None:
        none = _NO_BIAS.get(dtype)  # (read by the loops, never written)
        return (np.zeros(1, dtype) if none is None else none), False
    return np.ascontiguousarray(bias, dtype=dtype), True


# ---------------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------------

def _batch_parts(geom: ConvGeometry) -> int:
    """How many slices of the batch to run concurrently, one per thread (see
    ``_threads``); 1 means one slice, whose loops use every core in turn (or none,
    for a problem too small to be worth waking the threads)."""
    if not worth_parallel_macs(geom.macs):  # (first: it is the cheaper question)
        return 1
    parts = min(batch_workers(), geom.batch)
    return parts if parts > 1 else 1


# When a batch slice would give its products fewer columns than this (output positions: a small
# batch of small planes), the im2col products run as one slice over the whole batch and each product
# is split by rows over the threads instead (``gemm.matmul``): the weight matrix is then read, and
# the weight gradient written, once rather than once per thread (plus a pass adding the threads'
# partial weight gradients). See the note of issue 9 for the measurements.
ROW_SPLIT_MAX_POSITIONS = 256


def _gemm_parts(geom: ConvGeometry) -> int:
    """:func:`_batch_parts` for the im2col + BLAS loops: 1 (the products split by rows instead)
    when a slice's products would be narrower than ``ROW_SPLIT_MAX_POSITIONS`` columns."""
    parts = _batch_parts(geom)
    if parts > 1 and -(-geom.batch // parts) * geom.out_volume < ROW_SPLIT_MAX_POSITIONS:
        return 1
    return parts


# A whole batch with at most this many output positions (ResNet-18's and VGG-11's 8x8, 4x4 and 2x2
# stages at batch 1 to 4) multiplies its columns on the 512-bit loops for products with few columns
# (``gemm.matmul_narrow``); its weight gradient too up to ``NARROW_WEIGHT_MAX_POSITIONS``. Measured
# (2 threads, quiet machine; ms, BLAS -> these loops): forward (512 x 4608) @ (4608 x P) at P = 8, 12,
# 16, 32, 48: 0.44 -> 0.41, 0.54 -> 0.40, 0.55 -> 0.41, 0.80 -> 0.56, 1.01 -> 0.74 (P = 4, computed
# as 16 columns: 0.39 either way, so it stays with BLAS); (256 x 2304) @ (2304 x 64) 0.36 -> 0.29, at
# 128 columns even (0.61 / 0.58), at 256 twice as slow. Weight gradient ``gy (O, P) @ cols.T`` (the
# columns transposed first; P is the inner dimension, nothing is padded), 512 channels: 0.47 -> 0.28 at
# P = 4, 0.52 -> 0.34 at 8, 0.55 -> 0.41 at 16, 0.84 -> 0.75 at 32, 1.04 -> 1.14 at 48. The input
# gradient's product ``w.T @ gy`` reads the weight across its rows, where these loops are no faster.
NARROW_MAX_POSITIONS = 64
NARROW_MIN_POSITIONS = 8
NARROW_WEIGHT_MAX_POSITIONS = 32
# A pointwise convolution with a narrow batch (one sample's 8x8 or 4x4 plane: MobileNetV2's and
# DenseNet's 1x1 layers at batch 1) takes these loops for its forward product too, before the
# one-product-per-sample rule (``PER_SAMPLE_MIN_POSITIONS``): 96->576 on 8x8 66 us against BLAS's 75.
# Paired in the running step (12 pairs, switched off and on): batch-1 inference MobileNetV2 0.986,
# DenseNet-121 0.965, ResNet-18 1.000; MobileNetV2 forward+backward at batch 1 0.986, batch 2 1.001.
NARROW_POINTWISE = True


def _narrow(geom: ConvGeometry, dtype, weight: bool = False) -> bool:
    """Whether the im2col products of this convolution go through ``gemm.matmul_narrow`` (the forward
    product, or with ``weight`` the weight gradient's): float32 on an AVX-512 CPU, ungrouped, and
    ``NARROW_MIN_POSITIONS .. NARROW_MAX_POSITIONS`` output positions in the whole batch (which is
    then one slice and one chunk: see ``_gemm_parts``, ``_chunk_size``), or for the weight gradient
    ``1 .. NARROW_WEIGHT_MAX_POSITIONS``."""
    width = geom.batch * geom.out_volume
    if weight:
        low, high, loops = 1, NARROW_WEIGHT_MAX_POSITIONS, _simd.takes(dtype)
    else:
        low, high = NARROW_MIN_POSITIONS, NARROW_MAX_POSITIONS if gemm.FULL_TILES else NARROW_HALF_MAX_POSITIONS
        loops = gemm.narrow_applies(dtype)
    return (low <= width <= high and geom.groups == 1 and loops
            and geom.out_channels * geom.channels * geom.kernel_volume >= NARROW_MIN_WEIGHTS)


# Without AVX-512 (AVX2 + FMA: ``gemm.FULL_TILES`` False) the loops run in tiles of 6 rows by 16 columns
# and only the forward product up to 32 columns takes them. Measured on an AVX2 machine (2 threads, us,
# BLAS -> these tiles, AVX-512's tiles in brackets): (512 x 4608) @ (4608 x 16) 823 -> 590 [1260], x 32
# 1548 -> 1334 [2676]; (256 x 2304) @ (2304 x 64) 650 -> 1069 [1592]; (128 x 1152) @ (1152 x 64) 205 ->
# 211; the weight gradient's (512 x 16) @ (16 x 4608) 960 -> 1016 and the input gradient's transposed
# weight 1112 -> 2895: those keep BLAS there.
NARROW_HALF_MAX_POSITIONS = 32


# ... and a weight of at least this many values: below, the product takes a microsecond either way
# and the padding of its sides to 16 columns, which BLAS does not need, costs more than it saves.
NARROW_MIN_WEIGHTS = 2048


def _width16(n: int) -> int:
    return -(-n // 16) * 16


def _narrow_forward(w2, cols, out=None):
    """``w2 (O, R) @ cols (R, P)`` on ``gemm.matmul_narrow``: into ``out (O, P)`` (C-contiguous) when
    ``P`` is a multiple of 16, else through padded work arrays; returns the ``(O, P)`` product."""
    rows, width = cols.shape
    padded = _width16(width)
    if padded == width and out is not None:
        return gemm.matmul_narrow(w2, np.ascontiguousarray(cols), out)
    b = workspace.empty((rows, padded), cols.dtype)
    b[:, :width] = cols
    b[:, width:] = 0
    product = workspace.empty((w2.shape[0], padded), cols.dtype)
    gemm.matmul_narrow(w2, b, product)
    if out is None:
        return product[:, :width]
    out[...] = product[:, :width]
    return out


def _work_parts(geom: ConvGeometry) -> int:
    """:func:`_batch_parts` for loops that can also share out one sample's output channels
    (``_conv_direct.forward``): every thread, even for a batch smaller than the thread count."""
    if not worth_parallel_macs(geom.macs):
        return 1
    parts = batch_workers()
    return parts if parts > 1 else 1


def _im2col_forward(x5, w5, y, geom: ConvGeometry, bias_arr, use_bias):
    wg = _grouped(w5, geom)
    y3 = y.reshape(geom.batch, geom.out_channels, geom.out_volume)
    map_slices(lambda start, stop: _forward_samples(x5, wg, y3, geom, start, stop, bias_arr, use_bias),
               geom.batch, _gemm_parts(geom))


# Measured (AVX2 machine, 2 threads): a 128->32 1x1 layer on 4x4 through conv_forward 42-47 -> 11.5 us;
# paired (24 pairs, a noisy host): MobileNetV2 batch-1 inference 0.974, forward + backward at batch 1 0.948,
# DenseNet-121 batch-1 inference 0.981, ResNet-18 (two 1x1 shortcuts, strided: not taken) 0.989.
POINTWISE_SAMPLE = True


def _pointwise_sample(x, w, geom: ConvGeometry, bias):
    """The forward pass of an ungrouped pointwise convolution (1x1, stride 1, unpadded) of one sample:
    ``y (O, L) = w (O, C) @ x (C, L)``, the products :func:`_forward_samples` makes for it (the same bits),
    without the dispatch, the lifted views and the column buffer: at batch 1 those were most of a small
    layer's time (MobileNetV2's and DenseNet's 1x1 layers on 4x4 planes: ~35 us of Python around a
    3-5 us product)."""
    channels, out_channels, length = geom.channels, geom.out_channels, geom.out_volume
    y = workspace.empty(geom.output_shape(), x.dtype)
    if length == 0:
        return y
    x3, w2, y3 = x.reshape(1, channels, length), w.reshape(1, out_channels, channels), y.reshape(1, out_channels, length)
    if _narrow(geom, x.dtype):
        _narrow_forward(w2[0], x3[0], out=y3[0])
    elif _per_sample_products(geom):
        gemm.matmul(w2[0], x3, out=y3)
    else:
        gemm.matmul(w2, x3, out=y3)
    if bias is not None:
        y3 += np.ascontiguousarray(bias, dtype=x.dtype)[:, None]
    return y


def _per_sample_products(geom: ConvGeometry, weight: bool = False) -> bool:
    """A pointwise, ungrouped convolution over planes of at least ``PER_SAMPLE_MIN_POSITIONS``
    positions (``PER_SAMPLE_WEIGHT_MIN_POSITIONS`` for the weight gradient) is one matrix product per
    sample straight between the user's arrays (``y[b] = w @ x[b]``): no copies in or out."""
    least = PER_SAMPLE_WEIGHT_MIN_POSITIONS if weight else PER_SAMPLE_MIN_POSITIONS
    return geom.is_pointwise and geom.groups == 1 and geom.out_volume >= least


def _forward_samples(x5, wg, y3, geom: ConvGeometry, start, stop, bias_arr, use_bias, gy3=None):
    """The forward pass for samples ``start .. stop``, chunk by chunk.

    With ``gy3`` (an output gradient ``(N, O, L)`` of this geometry) it also returns that gradient's
    weight gradient for these samples (as :func:`_weight_grad_samples`) from the same columns: the
    backward of a transposed convolution needs both products of the columns of one array.
    """
    narrow = _narrow(geom, x5.dtype)
    if _per_sample_products(geom) and not (narrow and NARROW_POINTWISE):
        x3 = x5.reshape(geom.batch, geom.channels, geom.in_volume)
        gemm.matmul(wg[0], x3[start:stop], out=y3[start:stop])
        if use_bias:
            y3[start:stop] += bias_arr[:, None]
        return None if gy3 is None else _weight_grad_samples(gy3, x5, geom, start, stop)
    chunk = min(_chunk_size(geom, x5.itemsize), stop - start)
    columns = _Columns(geom, chunk, x5.dtype)
    weight_grad = None if gy3 is None else _WeightGradSum(geom, chunk, x5.dtype)
    g, og, length = geom.groups, geom.out_channels_per_group, geom.out_volume
    out_buffer = workspace.empty(geom.out_channels * chunk * length, x5.dtype) if chunk > 1 else None
    for n0 in range(start, stop, chunk):
        count = min(chunk, stop - n0)
        cols = columns.gather(x5, n0, count).reshape(g, -1, count * length)
        if narrow and count == 1:
            _narrow_forward(wg[0], cols[0], out=y3[n0])
        elif narrow:
            product = _narrow_forward(wg[0], cols[0])
            y3[n0:n0 + count] = product.reshape(geom.out_channels, count, length).transpose(1, 0, 2)
        elif count == 1:  # the product lands directly in y's memory
            gemm.matmul(wg, cols, out=y3[n0].reshape(g, og, length))
        else:
            out = out_buffer[:geom.out_channels * count * length].reshape(g, og, count * length)
            gemm.matmul(wg, cols, out=out)
            y3[n0:n0 + count] = out.reshape(geom.out_channels, count, length).transpose(1, 0, 2)
        if use_bias:  # while this chunk of y is still in cache
            y3[n0:n0 + count] += bias_arr[:, None]
        if weight_grad is not None:
            weight_grad.add(cols, gy3, n0, count)
    return None if weight_grad is None else weight_grad.result()


# ---------------------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------------------

def _fit_grad_output(gy, geom: ConvGeometry):
    """``gy`` checked against the conv's output shape, zero-extended where it is shorter.

    A transposed convolution whose ``output_padding`` is at least its stride (allowed when the
    dilation is larger) produces an output that a convolution would cover with a few more
    windows than the transposed input has; those windows simply contribute nothing, which is
    the same as a zero gradient at the missing trailing positions.
    """
    expected = geom.output_shape()
    shape = tuple(gy.shape)
    if len(shape) != len(expected) or shape[:2] != expected[:2] or any(
            g > e for g, e in zip(shape[2:], expected[2:])):
        raise ValueError(f"conv kernel: grad_output {shape} does not match the output "
                         f"shape {expected} of this convolution")
    if shape == expected:
        return gy
    xp = xp_of(gy)
    full = xp.zeros(expected, gy.dtype)
    full[tuple(slice(0, g) for g in shape)] = gy
    return full


def _im2col_backward_input(gy5, w5, gx, geom: ConvGeometry, bias=None):
    """The input gradient into the lifted ``gx``, plus ``bias (C,)`` per channel if given."""
    wg_t = _grouped(w5, geom).transpose(0, 2, 1)  # (G, Cg*K, Og)
    gy3 = gy5.reshape(geom.batch, geom.out_channels, geom.out_volume)
    map_slices(lambda start, stop: _input_grad_samples(gy3, wg_t, gx, geom, start, stop, bias),
               geom.batch, _gemm_parts(geom))


def _input_grad_samples(gy3, wg_t, gx, geom: ConvGeometry, start, stop, bias=None):
    """The input gradient of samples ``start .. stop``, chunk by chunk (plus ``bias`` per channel)."""
    if _per_sample_products(geom):  # gx[b] = w.T @ gy[b]
        gx3 = gx.reshape(geom.batch, geom.channels, geom.in_volume)
        gemm.matmul(wg_t[0], gy3[start:stop], out=gx3[start:stop])
        if bias is not None:
            _add_bias(gx, start, stop - start, bias)
        return
    chunk = min(_chunk_size(geom, gy3.itemsize), stop - start)
    columns = _Columns(geom, chunk, gy3.dtype)
    g, length = geom.groups, geom.out_volume
    gy_buffer = workspace.empty(geom.out_channels * chunk * length, gy3.dtype)
    few_out = FEW_OUT_INPUT and _few_out_weight(geom, gy3.dtype)
    for n0 in range(start, stop, chunk):
        count = min(chunk, stop - n0)
        gy_cols = _samples_as_columns(gy3, n0, count, gy_buffer).reshape(g, -1, count * length)
        if geom.is_pointwise and count == 1:  # the product lands directly in gx's memory
            gemm.matmul(wg_t, gy_cols, out=gx[n0].reshape(g, -1, length))
            if bias is not None:
                _add_bias(gx, n0, 1, bias)
            continue
        gcols = columns.view(count)
        if few_out and count * length % 16 == 0:  # (Cg*K, Og) @ (Og, P): short inner side (see below)
            gemm.matmul_narrow(wg_t[0], gy_cols[0], gcols)
        else:
            gemm.matmul(wg_t, gy_cols, out=gcols.reshape(g, -1, count * length))
        columns.scatter(gcols, gx, n0, count, bias)


# From this many output channels per group on, the weight gradient is accumulated in the weight's
# own layout (gy @ cols.T): the long-side-first product plus one transpose of a (Cg*K, Og) matrix
# costs more, since that transpose of a power-of-two row length runs 10x slower than its size says
# (4608 x 512 float32: 19.8 ms against the 0.9-2.3 ms of the product itself; measured).
WEIGHT_LAYOUT_MIN_OUT_CHANNELS = 256


def _im2col_backward_weight(gy5, x5, geom: ConvGeometry):
    gy3 = gy5.reshape(geom.batch, geom.out_channels, geom.out_volume)
    partials = map_slices(lambda start, stop: _weight_grad_samples(gy3, x5, geom, start, stop),
                          geom.batch, _gemm_parts(geom))
    return _weight_from_partials(partials, geom)


# ... and so is the weight gradient of a batch with at most this many output positions in all (a
# small batch of small planes): the product is then short on its inner side and the transpose as long
# as the product. Measured (2 threads, ms; transposed product + its transpose -> weight layout):
# 1024 x 64 @ 64 x 128 (DenseNet's 1x1 at 8x8, batch 1) 0.111 + 0.059 -> 0.141; 1152 x 64 @ 64 x 64
# 0.084 + 0.035 -> 0.098; 2304 x 64 @ 64 x 256 0.349 + 0.373 -> 0.445; 256 x 64 @ 64 x 64 0.029 ->
# 0.026. At 256 positions it depends on the sides (576 x 256 @ 256 x 64: 0.147 -> 0.191), at 1024+
# the transposed product wins (576 x 1024 @ 1024 x 64: 0.389 -> 0.626).
WEIGHT_LAYOUT_MAX_POSITIONS = 64


def _in_weight_layout(geom: ConvGeometry, dtype) -> bool:
    """Whether the im2col weight gradient is accumulated as ``(G, Og, Cg*K)`` (else transposed)."""
    return (geom.out_channels_per_group >= WEIGHT_LAYOUT_MIN_OUT_CHANNELS
            or geom.batch * geom.out_volume <= WEIGHT_LAYOUT_MAX_POSITIONS
            or _narrow(geom, dtype, weight=True))


def _weight_from_partials(partials, geom: ConvGeometry):
    """The weight gradient (lifted weight shape) from the batch slices' partial sums."""
    gw = partials[0]
    for partial in partials[1:]:  # in slice order: the same sum on every run
        gw += partial
    if not _in_weight_layout(geom, gw.dtype):  # accumulated transposed
        if gw.shape[0] == 1:  # (in 16 x 16 blocks: NumPy's own transpose takes 1.4x to 12x as long)
            out = workspace.empty((1, gw.shape[2], gw.shape[1]), gw.dtype)  # (the gradient: see _WeightGradSum)
            transpose(gw[0], out[0])
            gw = out
        else:
            gw = np.ascontiguousarray(gw.transpose(0, 2, 1))
    return gw.reshape(geom.lifted("weight"))


class _WeightGradSum:
    """The weight gradient of a batch slice, added up chunk by chunk from the chunks' columns:
    ``(G, Cg*K, Og) += cols @ gy_cols.T`` (or, where :func:`_in_weight_layout` says so: from
    ``WEIGHT_LAYOUT_MIN_OUT_CHANNELS`` output channels per group, for a batch of at most
    ``WEIGHT_LAYOUT_MAX_POSITIONS`` output positions, or on the narrow loops,
    ``(G, Og, Cg*K) += gy_cols @ cols.T``).

    Accumulated transposed by default: OpenBLAS runs this orientation of the product (long side
    first) up to twice as fast as gy_cols @ cols.T (measured), except for many output channels.
    """

    def __init__(self, geom: ConvGeometry, chunk: int, dtype):
        self.geom = geom
        self.narrow = _narrow(geom, dtype, weight=True)
        self.in_weight_layout = _in_weight_layout(geom, dtype)
        self.few_out = (not self.narrow and not self.in_weight_layout and _few_out_weight(geom, dtype)
                        and chunk * geom.out_volume >= FEW_OUT_WEIGHT_MIN_POSITIONS)
        g, og, rows = geom.groups, geom.out_channels_per_group, geom.channels_per_group * geom.kernel_volume
        self.gy_buffer = workspace.empty(geom.out_channels * chunk * geom.out_volume, dtype)
        self.shape, self.dtype = ((g, og, rows) if self.in_weight_layout else (g, rows, og)), dtype
        # the first chunk's product is written straight into the total: no zeroed array and no
        # addition pass for a slice of one chunk (at batch 1 a 512-channel 3x3 layer's 9 MiB
        # weight gradient went through three passes and two fresh allocations). The total, which
        # becomes the weight's gradient, is arena memory: when ``zero_grad`` lets it go, the next
        # step's activations reuse it, and the arena reuses the activations freed during a backward
        # pass for the gradients made late in it. With the gradients from ``np.empty`` instead the
        # arena's high-water mark (its activations and work arrays, early in the backward pass) and
        # the gradients' (late) added up. Measured (peak rise over three calls, MiB, two runs; the
        # arena pool of an earlier design had made it worse): ResNet-18 training at batch 64 398 -> 383,
        # forward+backward at batch 8 88.2 -> 86.3, batch 1 51.1 -> 49.7, VGG-11 at batch 1 39.3 ->
        # 38.1, the rest level; step times level (paired: 0.986-0.989)
        self.total = self.partial = None

    def add(self, cols, gy3, n0: int, count: int) -> None:
        """Add the products of samples ``n0 .. n0+count``: ``cols (G, Cg*K, count*L)`` their columns."""
        geom = self.geom
        gy_cols = _samples_as_columns(gy3, n0, count, self.gy_buffer).reshape(
            geom.groups, geom.out_channels_per_group, count * geom.out_volume)
        first = self.total is None
        if first:  # (it becomes the weight's gradient: see above)
            self.total = workspace.empty(self.shape, self.dtype)
        elif self.partial is None:
            self.partial = workspace.empty(self.shape, self.dtype)
        out = self.total if first else self.partial
        if self.narrow:  # gy (Og, P) @ cols.T (P, Cg*K), the columns transposed first (P is short)
            self._narrow_product(cols[0], gy_cols[0], out[0])
        elif self.few_out:  # cols (Cg*K, P) @ gy.T (P, Og) on the narrow loops, gy transposed first
            gy_t = workspace.empty((gy_cols.shape[2], gy_cols.shape[1]), self.dtype)
            transpose(gy_cols[0], gy_t)
            gemm.matmul_narrow(cols[0], gy_t, out[0])
        elif self.in_weight_layout:
            gemm.matmul(gy_cols, cols.transpose(0, 2, 1), out=out)
        else:
            gemm.matmul(cols, gy_cols.transpose(0, 2, 1), out=out)
        if not first:
            self.total += self.partial

    @staticmethod
    def _narrow_product(cols, gy2, out):
        """``out (Og, R) = gy2 (Og, P) @ cols.T`` on ``gemm.matmul_narrow`` (``cols (R, P)``)."""
        rows, width = cols.shape
        padded = _width16(rows)
        cols_t = workspace.empty((width, padded), cols.dtype)
        transpose(cols, cols_t)
        if padded == rows:
            gemm.matmul_narrow(gy2, cols_t, out)
            return
        cols_t[:, rows:] = 0
        product = workspace.empty((gy2.shape[0], padded), cols.dtype)
        gemm.matmul_narrow(gy2, cols_t, product)
        out[...] = product[:, :rows]

    def result(self):
        """The sum (zeros for a slice without samples)."""
        return np.zeros(self.shape, self.dtype) if self.total is None else self.total


# The transposed weight gradient ``cols (Cg*K, P) @ gy.T (P, Og)`` of a layer with few output channels
# (16, 32, 48 or 64) over many positions is a product with few columns: the 512-bit loops of
# ``gemm.matmul_narrow`` take it, after a transpose of the chunk's output gradient, where OpenBLAS
# runs such shapes at ~85 GFLOP/s a core. Measured on one thread (us, BLAS -> transpose + these loops):
# (288 x 3584) @ (3584 x 64) 1488 -> 1226, (144 x 7168) @ (7168 x 32) 843 -> 648, (512 x 2048) @ (2048 x
# 64) 1485 -> 1221, (16 x 16384) @ (16384 x 32) 488 -> 266. Paired in the running step (switched off and
# on): ConvTranspose 64->32 4x4 stride 2 forward+backward 0.958, AlexNet's 11x11 stem 0.972, ResNet-20
# training 0.998; pointwise layers keep BLAS (MobileNetV2 training at batch 64 was 1.015 with them).
FEW_OUT_WEIGHT = True
FEW_OUT_WEIGHT_MIN_POSITIONS = 256
# The input gradient's product ``w.T (Cg*K, Og) @ gy (Og, P)`` of those layers has the output channels as
# its inner side, which OpenBLAS runs at ~75 GFLOP/s a core; the 512-bit loops reach ~105 even over
# thousands of columns, the rows of ``gy`` being few enough to stay in cache ((512 x 64) @ (64 x 2048):
# 1765 -> 1302 us on one thread).
FEW_OUT_INPUT = True


def _few_out_weight(geom: ConvGeometry, dtype) -> bool:
    return (FEW_OUT_WEIGHT and geom.groups == 1 and not geom.is_pointwise and _simd.takes(dtype)
            and geom.out_channels % 16 == 0 and geom.out_channels <= 64)


def _weight_grad_samples(gy3, x5, geom: ConvGeometry, start, stop):
    """The weight gradient contributed by samples ``start .. stop``, as ``(G, Cg*K, Og)`` (or, where
    :func:`_in_weight_layout` says so, ``(G, Og, Cg*K)``)."""
    if _per_sample_products(geom, weight=True):  # sum_b x[b] @ gy[b].T, added sample after sample
        x3 = x5.reshape(geom.batch, geom.channels, geom.in_volume)
        if _in_weight_layout(geom, x5.dtype):
            products = gemm.matmul(gy3[start:stop], x3[start:stop].transpose(0, 2, 1))
        else:
            products = gemm.matmul(x3[start:stop], gy3[start:stop].transpose(0, 2, 1))
        # (one sample: its product is the sum, no pass copying it; DenseNet's 448->128 1x1 on 16x16 at
        # batch 1: 265 -> 237 us, 256->128 178 -> 162, 512->256 485 -> 448; the same values)
        return products if stop - start == 1 else products.sum(axis=0)[None]
    chunk = min(_chunk_size(geom, x5.itemsize), stop - start)
    if chunk == geom.batch:
        parts = _channel_parts(geom, x5.dtype)
        if parts > 1:
            return _weight_grad_by_channels(gy3, x5, geom, parts)
    columns = _Columns(geom, chunk, x5.dtype)
    weight_grad = _WeightGradSum(geom, chunk, x5.dtype)
    g, length = geom.groups, geom.out_volume
    for n0 in range(start, stop, chunk):
        count = min(chunk, stop - n0)
        weight_grad.add(columns.gather(x5, n0, count).reshape(g, -1, count * length), gy3, n0, count)
    return weight_grad.result()


# The weight gradient of a batch that is one slice and one chunk (a small batch), ``cols @ gy.T``: the
# columns gathered on one thread and the product split by rows over the threads read half of them
# from the other core's cache. Shared out by input channels instead, each thread gathers the rows of
# its channels and multiplies them at once. Measured (quiet machine, 2 threads; DenseNet's 128->32
# 3x3 on 16x16 at batch 1): the weight gradient 0.46 -> 0.30 ms. (Below PARALLEL_MIN_MACS it stays
# on one thread: 128->32 on 8x8 at batch 1 took 0.20 ms split against 0.13 whole.)
def _channel_parts(geom: ConvGeometry, dtype) -> int:
    """Threads to share the weight gradient's channels over (see above), or 1."""
    if (geom.groups != 1 or geom.is_pointwise or not worth_parallel_macs(geom.macs)
            or _in_weight_layout(geom, dtype)):
        return 1
    parts = min(batch_workers(), geom.channels)
    return parts if parts > 1 else 1


def _weight_grad_by_channels(gy3, x5, geom: ConvGeometry, parts: int):
    """The weight gradient ``(1, C*K, O)`` of the whole batch (one chunk), each of ``parts`` threads
    gathering the columns of a range of input channels and multiplying those rows."""
    count, taps, dtype = geom.batch, geom.kernel_volume, x5.dtype
    columns = _Columns(geom, count, dtype)
    gy_cols = _samples_as_columns(gy3, 0, count, workspace.empty(geom.out_channels * count * geom.out_volume, dtype))
    total = workspace.empty((1, columns.rows, geom.out_channels), dtype)  # (the gradient: see _WeightGradSum)

    def rows_of(c0: int, c1: int) -> None:
        cols = columns.gather(x5, 0, count, channels=(c0, c1))
        gemm.matmul(cols[c0 * taps:c1 * taps], gy_cols.T, out=total[0, c0 * taps:c1 * taps])

    map_slices(rows_of, geom.channels, parts)
    return total


def _im2col_transpose_backward(gy5, x5, w5, geom: ConvGeometry):
    """Both gradients of a transposed convolution by im2col: ``grad x = conv(gy, w)`` (``gy`` is
    the input of ``geom``) and ``grad w = conv_backward_weight(x, gy)``, from one gathering of
    ``gy``'s columns per chunk. Returns ``(grad x, grad w)`` lifted."""
    gx = workspace.empty(geom.lifted("output"), gy5.dtype)
    gx3 = gx.reshape(geom.batch, geom.out_channels, geom.out_volume)
    x3 = x5.reshape(geom.batch, geom.out_channels, geom.out_volume)
    wg, bias_arr = _grouped(w5, geom), np.zeros(1, gy5.dtype)
    partials = map_slices(lambda start, stop: _forward_samples(gy5, wg, gx3, geom, start, stop, bias_arr, False,
                                                               gy3=x3),
                          geom.batch, _batch_parts(geom))
    return gx, _weight_from_partials(partials, geom)


# ---------------------------------------------------------------------------------------
# the two implementations
# ---------------------------------------------------------------------------------------

# The gradients of a batch no larger than the thread count (batch 1 and 2 on 2 threads) with fewer
# output than input channels (DenseNet's 128->32 3x3 layers) take F(2,3) also where a thread's tiles
# are only as many as the output channels (``gradient_tile``; ``winograd_tile`` wants the larger
# count). At batch 1 the whole batch is one slice whose tile transforms run on one thread; at batch 2
# each thread has its sample. Measured in the running step (DenseNet-121 forward+backward, 2 threads,
# this switch toggled between steps in one process, 12 pairs; us per call, both gradients): at batch 1
# 128->32 on 16x16 656 (direct loops for the input gradient, im2col for the weight's) -> 527; at
# batch 2 on 16x16 821 -> 729 and on 8x8 453 -> 371. The forward passes keep their direct loops:
# F(2,3) there made them slower in the same runs (batch 1 on 16x16 239 -> 304 us, inference 361 ->
# 529; batch 2 on 16x16 316 -> 455, on 8x8 159 -> 203). Only fewer output than input channels, where
# it was measured: VGG-11's 64->128 on 16x16 at batch 1 was level in isolation (707 -> 674 us).
# Whole steps, paired (one process, 30 pairs): DenseNet-121 at batch 2 0.985 (interquartile
# 0.977-0.998), at batch 1 0.996-0.998, the saving there being ~1.5 % of a step: within the pairing's
# spread (VGG-11, whose paths it does not change, gave 1.022, 0.989-1.101).
SMALL_BATCH_WINOGRAD = True  # (False: the batch-slice rule below at every batch size)
# Since the layout changes around Winograd's transforms run on in-register transposes, the gradients
# of those layers (fewer output than input channels, 32 or more of them) take F(4,3) wherever a
# thread has 16 tiles of 4x4 or more, before the rules below: DenseNet-121's 128->32 on 16x16 at batch
# 2 (F(2,3) before) and on 8x8 at batch 8 (im2col before). Paired in the running step (16 pairs, this
# switch toggled): DenseNet-121 forward+backward at batch 8 0.976 (interquartile 0.961-0.981), batch 2
# 0.971 (0.963-0.975), batch 1 1.001; from 4 tiles instead of 16, level (0.994, 1.005).
FEW_OUT_F43 = True
FEW_OUT_MIN_TILES = 16


def winograd_tile(geom: ConvGeometry, dtype) -> int:
    """The Winograd tile size ``m`` to compute this convolution with (``_winograd``), or 0 for im2col.

    Winograd F(m, 3) applies to 2-d 3x3 convolutions at stride 1, undilated and ungrouped; it is
    used for float32 only (in float64, as gradient checks run, the direct sums stay). Chosen by
    the grid measured against im2col (see ``WINOGRAD_MIN_TILES``): with ``P_m`` the tiles of one
    thread's slice of the batch, ``C`` the larger channel count and ``c`` the smaller, for as many
    output channels as input or more and at least 4 samples a thread, F(4,3) when ``P_4 >= max(16,
    c/8)`` (``F43_BY_INPUT_CHANNELS``; ``C/8`` without it), else F(2,3) when ``P_2 >= max(16, C/8)``;
    with fewer samples a thread but one at least, F(4,3) when ``P_4 >= max(16, c/8)``
    (``SMALL_BATCH_F43``); otherwise (the older rule, which small batches and DenseNet's 128->32
    layers were measured with) F(4,3) when ``P_4 >= max(16, C/2)``, else F(2,3) when
    ``P_2 >= C`` or ``C <= 64``; else
    im2col; and im2col whenever either channel count is below 32 (the transforms then cost more than
    the product they save). The gradients of small batches may take F(2,3) beyond this rule:
    :func:`gradient_tile`.
    """
    if dtype != np.float32 or geom.ndim != 2 or geom.groups != 1 or geom.kernel != (1, 3, 3):
        return 0
    if direct_applies(geom, dtype):  # the 512-bit direct loops are faster up to VECTOR_MAX_CHANNELS
        return 0
    if geom.stride != (1, 1, 1) or geom.dilation != (1, 1, 1):
        return 0
    small, large = min(geom.channels, geom.out_channels), max(geom.channels, geom.out_channels)
    if small < 32 or geom.batch == 0 or geom.out_volume == 0:
        return 0
    out_h, out_w = geom.out_size[1], geom.out_size[2]
    per_thread = -(-geom.batch // _batch_parts(geom))
    tiles4 = per_thread * -(-out_h // 4) * -(-out_w // 4)
    tiles2 = per_thread * -(-out_h // 2) * -(-out_w // 2)
    least = max(WINOGRAD_MIN_TILES, large // WINOGRAD_TILES_PER_CHANNELS)
    least4 = max(WINOGRAD_MIN_TILES, (small if F43_BY_INPUT_CHANNELS else large) // WINOGRAD_TILES_PER_CHANNELS)
    if geom.out_channels >= geom.channels and per_thread >= WINOGRAD_MIN_SAMPLES:
        return 4 if tiles4 >= least4 else 2 if tiles2 >= least else 0
    if SMALL_BATCH_F43 and geom.out_channels >= geom.channels and tiles4 >= least4 and geom.batch >= batch_workers():
        return 4
    if tiles4 >= max(16, large // 2):
        return 4
    if large <= 64 or tiles2 >= large:
        return 2
    return 0


# Since the weight transforms read the weight in place (``_winograd._weight_to_tiles``: a 512->512
# layer's forward transform 8.2 -> 3.8 ms, the input gradient's 18.4 -> 3.0, the weight gradient's
# 16.3 -> 4.1), Winograd pays off on far fewer tiles than the rule above was measured with. Measured
# (quiet machine, 2 threads, forward + both gradients, ms, im2col / F(2,3) / F(4,3)): 512 channels on
# 4x4 at batch 16 22.4 / 27.3 / 41.0, batch 32 46.3 / 35.8 / 43.9, batch 64 82.4 / 52.9 / 52.6; on
# 8x8 at batch 8 45.8 / 40.7 / 46.0, batch 32 160 / 89 / 75; 256 on 8x8 at batch 2 3.8 / 5.7 / 8.1,
# batch 8 12.4 / 11.7 / 15.3, batch 16 25.5 / 15.7 / 16.5, batch 64 99.5 / 54.6 / 40.1; 256 on 4x4 at
# batch 8 4.6 / 7.2 / 7.9, batch 32 12.4 / 9.1 / 10.9; 128 on 16x16 at batch 2 3.7 / 3.0 / 2.7; 128
# on 8x8 at batch 2 1.29 / 1.35 / 1.31, batch 8 6.1 / 3.8 / 2.7. Below 4 samples a thread the older
# thresholds stay: paired in one process (20 pairs, this rule against the older one), 128 channels
# on 16x16 at batch 1 took 1.34 times as long by F(4,3), at batch 2 1.28 (by F(2,3) 0.88 and 1.09);
# from 4 samples a thread it gained, 128 on 8x8 at batch 4 0.93 (F(2,3)), 256 on 8x8 at batch 16
# 0.63 (F(4,3)), at batch 8 level (0.99). (Fewer output than input channels keep the older
# thresholds too: their forward runs on the direct loops where Winograd does not apply.) Whole
# steps, paired the same way (this rule and the weight transforms against both before): ResNet-18
# training at batch 64 0.901 (interquartile 0.861-0.907).
WINOGRAD_MIN_TILES = 16
WINOGRAD_TILES_PER_CHANNELS = 8
WINOGRAD_MIN_SAMPLES = 4
# Below 4 samples a thread too, F(4,3) from max(16, C/8) tiles of 4x4 a thread for as many output channels
# as input or more, once every thread has a sample (the older thresholds stay for the rest): ResNet-18's
# 128->128 on 16x16 at batches 2 to 7 (im2col or F(2,3) before). Measured (7 December, 2 threads; this
# switch toggled between calls in one process, 40 pairs; forward + both gradients): 128->128 on 16x16 at
# batch 2 0.697 (interquartile 0.674-0.719; again 0.548), batch 3 0.734, batch 4 0.741; 64->128 on 16x16
# at batch 2 0.903. Whole steps, paired the same way (16 pairs): ResNet-18 forward+backward at batch 2
# 0.916 (0.879-0.931); VGG-11 level (1.023 at batch 2, where its paths change). At batch 1 (one sample:
# Winograd's batch split leaves the second thread idle, where im2col splits its products) it was
# marginal: that layer 0.920-0.917 with interquartiles reaching 1.07, 64->128 0.982, ResNet-18's step
# 0.978, for 1-2 MiB more at the peak (ResNet-18 49.6-50.0 -> 50.7-51.9, VGG-11 39.3 -> 40.3-40.7):
# not taken there.
SMALL_BATCH_F43 = True
# ... and both F(4,3) thresholds above count the smaller channel count (the input's), where F(2,3)'s keeps
# the larger: a layer that doubles its channels (VGG's 128->256 and 256->512) takes F(4,3) on as few
# tiles as one with its input's channels on both sides. Measured the same way (30-40 pairs, forward + both
# gradients): 128->256 on 8x8 at batch 8 0.786-0.811 (F(2,3) before), on 16x16 at batch 2 0.578-0.646
# (im2col before; at batch 1, before SMALL_BATCH_F43 waited for a sample a thread, 0.788-0.791); 256->512
# on 4x4 at batch 64 0.848 (F(2,3) before). Counting the
# input's channels for F(2,3) too made 256->512 on 4x4 at batch 16 1.112 times slower (F(2,3) instead
# of im2col): not done. VGG-11 forward+backward, whose 128->256 layer changes at batch 8 only, level
# (0.991, and 1.008 / 0.983 at batches 1 / 2).
F43_BY_INPUT_CHANNELS = True


# The 3x3 layers of the direct loops' range with channels in blocks of 16 (ResNet-20's 16->16 on 32x32
# and 32->32 on 16x16) go to Winograd F(4,3) instead, since its transforms run on 512-bit vectors and
# the layout changes around them on in-register transposes (``_winograd._to_channels_last16``):
# the direct loops compute 9 products per output where F(4,3) computes 2.25. Measured (quiet machine,
# 2 threads, ms, direct loops -> F(4,3); forward, both gradients): 16->16 on 32x32 at batch 128 3.52 ->
# 2.90, 7.49 -> 5.01; batch 32 0.89 / 0.90, 1.91 -> 1.52; batch 8 0.275 / 0.350, 0.601 -> 0.574; batch 1
# 0.062 / 0.085, 0.195 -> 0.137; 32->32 on 16x16 at batch 128 3.44 -> 2.03, 7.63 -> 3.55; batch 8 0.273 /
# 0.261, 0.787 -> 0.428; batch 2 0.116 / 0.106, 0.453 -> 0.178; batch 1 0.065 / 0.086, 0.351 -> 0.143;
# 32->32 on 32x32 at batch 16 1.60 -> 1.11, 3.61 -> 1.92; 16->32 on 32x32 at batch 4 0.267 / 0.315,
# 0.664 -> 0.515. (Those ran each variant in turn, warm: a later one may find its inputs in cache. The
# whole step decides: ResNet-20 training at batch 128, this rule toggled between steps, 0.807 of its
# time.) So the gradients always, and the forward pass with 32 channels or more on each side from
# batch 2, or with a thread's tiles at least ``SMALL_WINOGRAD_MIN_TILES``.
SMALL_WINOGRAD = True
SMALL_WINOGRAD_MIN_TILES = 2048


def small_channel_tile(geom: ConvGeometry, dtype, forward: bool) -> int:
    """4 (Winograd F(4,3)) for a 3x3 convolution that the 512-bit direct loops would compute
    (:func:`direct_applies`) with both channel counts multiples of 16, else 0: for its gradients
    always, for its ``forward`` pass by the rule above."""
    if not (SMALL_WINOGRAD and geom.kernel == (1, 3, 3) and _simd.takes_halves(dtype) and geom.channels % 16 == 0
            and geom.out_channels % 16 == 0 and direct_applies(geom, dtype)):
        return 0
    if not forward or (min(geom.channels, geom.out_channels) >= 32 and geom.batch >= 2):
        return 4
    per_thread = -(-geom.batch // _batch_parts(geom))
    tiles4 = per_thread * -(-geom.out_size[1] // 4) * -(-geom.out_size[2] // 4)
    return 4 if tiles4 >= SMALL_WINOGRAD_MIN_TILES else 0


# The forward pass of a batch smaller than the thread count whose weight needs no gradient (batch-1
# inference, a frozen layer) takes F(4,3) from 16 tiles of 4x4 a sample for as many output channels as
# input: its transformed weight is kept between calls (``kernels.kept``) and its
# products are shared out over the threads by position (``gemm.STACK_SPLIT``), the two costs that had kept
# batch 1 on im2col (``SMALL_BATCH_F43``). Measured (AVX2 machine, 2 threads, batch 1, forward, paired, 60
# pairs, this rule against the path before, im2col): 128->128 on 16x16 0.755-0.757 (interquartile
# 0.695-0.801; by F(2,3) 0.856), 64->128 on 16x16 0.881, 256->256 on 16x16 0.899, 64->64 on 16x16 0.992;
# 128->32 on 16x16 0.976 against the direct loops (kept there: fewer output channels); 256->256 on 8x8 (4
# tiles of 4x4) 1.32 by F(4,3), 1.31 by F(2,3) (im2col kept). Whole models (24-40 pairs): ResNet-18 batch-1
# inference 0.964 (its 128->128 layers); VGG-11's 64->128 on 16x16 made its batch-1 inference 1.017-1.033
# times slower, whatever the layer alone measured: more output channels than input keep im2col.
FIXED_WEIGHT_F43 = True
FIXED_WEIGHT_MIN_TILES = 16


def fixed_weight_tile(geom: ConvGeometry, dtype) -> int:
    """4 for the forward pass of a convolution by the rule above (a weight that needs no gradient), else 0."""
    if not (FIXED_WEIGHT_F43 and dtype == np.float32 and geom.ndim == 2 and geom.groups == 1
            and geom.kernel == (1, 3, 3) and geom.stride == (1, 1, 1) and geom.dilation == (1, 1, 1)
            and 32 <= geom.channels == geom.out_channels and geom.channels % 16 == 0
            and 0 < geom.batch < batch_workers()):
        return 0
    return 4 if -(-geom.out_size[1] // 4) * -(-geom.out_size[2] // 4) >= FIXED_WEIGHT_MIN_TILES else 0


def gradient_tile(geom: ConvGeometry, dtype) -> int:
    """:func:`winograd_tile` for the gradients (:func:`small_channel_tile` first). For fewer output than
    input channels (32 or more) also F(4,3) from ``FEW_OUT_MIN_TILES`` tiles a thread (``FEW_OUT_F43``),
    else, for a batch no larger than the thread count, F(2,3) where a thread's tiles are at least the
    output channel count (``SMALL_BATCH_WINOGRAD``). The forward pass keeps its path there."""
    small = small_channel_tile(geom, dtype, forward=False)
    if small:
        return small
    m = winograd_tile(geom, dtype)
    if (m or geom.out_channels >= geom.channels or geom.out_channels < 32 or dtype != np.float32 or geom.ndim != 2
            or geom.groups != 1 or geom.kernel != (1, 3, 3) or geom.stride != (1, 1, 1) or geom.dilation != (1, 1, 1)
            or direct_applies(geom, dtype) or geom.out_volume == 0):
        return m
    per_thread = -(-geom.batch // _batch_parts(geom))
    if FEW_OUT_F43 and per_thread * -(-geom.out_size[1] // 4) * -(-geom.out_size[2] // 4) >= FEW_OUT_MIN_TILES:
        return 4
    if not SMALL_BATCH_WINOGRAD or geom.batch > batch_workers():
        return 0
    tiles2 = per_thread * -(-geom.out_size[1] // 2) * -(-geom.out_size[2] // 2)
    return 2 if tiles2 >= geom.out_channels else 0


# The direct loops (``_conv_direct``) for few channels. Measured (the note of issue 9; quiet
# machine, float32, one thread) against im2col + BLAS, forward / input gradient / weight gradient:
# LeNet's 1->6 5x5 and 6->16 5x5 at batch 256 and ResNet's 3->16 and 16->16 3x3 at batch 128 run
# at 40-70 GFLOP/s where im2col + BLAS reaches 15-40.
DIRECT_MAX_CHANNELS = 16
# On the 512-bit loops (float32 on an AVX-512 CPU, ``_conv_direct.vector_applies``; on AVX2 too) up to 32
# channels: ResNet-20's 32->32 3x3 on 16x16 at batch 128 (2 threads) took 2.65 / 2.74 / 3.45 ms
# (forward / input gradient / weight gradient) against Winograd's 4.55 / 4.71 / 4.76 then, and a
# 16->32 3x3 on 32x32 5.6 / 5.3 / 6.4 against im2col's 12.7 / 10.1 / 11.2; at 64 channels Winograd
# stayed ahead (64->64 on 8x8: 2.60 against 3.12 forward). Since Winograd's layout changes run on
# in-register transposes, its F(4,3) takes the 3x3 layers of this range whose channels come in blocks
# of 16 (``small_channel_tile``); the loops keep the rest (other kernels, other channel counts).
VECTOR_MAX_CHANNELS = 32


def direct_applies(geom: ConvGeometry, dtype=None) -> bool:
    """Whether the direct loops compute this convolution (forward and weight gradient): a 2-d,
    stride-1, undilated, ungrouped convolution (not 1x1) with at most ``DIRECT_MAX_CHANNELS`` input
    and output channels (``VECTOR_MAX_CHANNELS`` for a ``dtype`` on the 512-bit loops) and a kernel
    at most ``_conv_direct.MAX_KERNEL_WIDTH`` wide."""
    if (geom.kernel == (1, 1, 1) or geom.ndim != 2 or geom.groups != 1 or geom.stride != (1, 1, 1)
            or geom.dilation != (1, 1, 1)
            or max(geom.channels, geom.out_channels) > max(VECTOR_MAX_CHANNELS, DIRECT_MAX_CHANNELS)):
        return False  # (the cheap refusals first: this runs at every call of every convolution)
    limit = VECTOR_MAX_CHANNELS if _conv_direct.vector_applies(dtype) else DIRECT_MAX_CHANNELS
    return (_conv_direct.applies(geom.kernel[2]) and geom.channels <= limit
            and geom.out_channels <= limit and geom.batch > 0 and geom.out_volume > 0)


# A batch smaller than the thread count (batch-1 inference): the 512-bit forward loops share out
# each sample's output channels (``_conv_direct.forward``), where im2col + BLAS and Winograd have
# one sample's product to split. Measured (quiet machine, 2 threads, batch 1, 3x3 pad 1), current
# path against these loops: 64->64 on 32x32 0.86 -> 0.45 ms, 128->128 on 16x16 0.93 -> 0.58; from
# 256 channels on 8x8 im2col stays ahead (0.86 against 1.24), the planes being too short.
SMALL_BATCH_MAX_CHANNELS = 128
SMALL_BATCH_MIN_PLANE = 256


def direct_forward_applies(geom: ConvGeometry, dtype=None) -> bool:
    """Whether the forward pass runs on the direct loops: :func:`direct_applies`, or on the 512-bit
    loops a batch smaller than the thread count with up to ``SMALL_BATCH_MAX_CHANNELS`` channels
    and an output plane of at least ``SMALL_BATCH_MIN_PLANE`` positions (forward only: the gradients
    keep their paths)."""
    if direct_applies(geom, dtype) or _direct_wide(geom, dtype):
        return True
    return (geom.kernel != (1, 1, 1) and geom.out_volume >= SMALL_BATCH_MIN_PLANE
            and max(geom.channels, geom.out_channels) <= SMALL_BATCH_MAX_CHANNELS
            and geom.ndim == 2 and geom.groups == 1 and geom.stride == (1, 1, 1) and geom.dilation == (1, 1, 1)
            and _conv_direct.applies(geom.kernel[2]) and _conv_direct.wide_rules(dtype)
            and 0 < geom.batch < batch_workers())


def direct_input_grad_applies(geom: ConvGeometry, dtype=None) -> bool:
    """The input gradient too, when no padding exceeds ``k - 1`` (it runs as a forward pass). On the
    256-bit loops also only when the input plane is not much larger than the output's: that forward
    pass computes every input position from a zero-bordered output gradient, twice the work of the
    adjoint for LeNet's conv2 (14x14 input, 10x10 output), where im2col + BLAS is then a little
    faster (2.40 against 2.59 ms at batch 256, 2 threads). The 512-bit loops
    (``_conv_direct.vector_applies``) take that case in 1.2-1.3 ms, against 2.3-2.4 by im2col (on an AVX2
    machine, with its blocks, LeNet-5's training step at batch 256 took 0.81 of its time with these
    rules and loops against the 256-bit loops and im2col, paired)."""
    return ((direct_applies(geom, dtype)
             and (_conv_direct.vector_applies(dtype) or geom.in_volume <= 1.5 * geom.out_volume)
             or _direct_wide(geom, dtype))
            and _conv_direct.input_grad_applies(geom.kernel[1:], geom.pad_lo[1:], geom.pad_hi[1:]))


# Few output channels from more input channels (DenseNet's 128->32 3x3 layers, a 64->16 one): up to
# this many input channels and ``VECTOR_MAX_CHANNELS`` output channels the forward pass and the input
# gradient run on the 512-bit direct loops as well, wherever Winograd does not apply (the weight
# gradient keeps im2col: the direct one was 2x slower). Measured (quiet machine, 2 threads, ms,
# forward / input gradient, current path -> direct loops): 128->32 on 16x16 at batch 1 0.186 / 0.272
# -> 0.175 / 0.191; on 8x8 at batch 2 0.199 / 0.204 -> 0.118 / 0.131, at batch 8 0.690 / 0.680 ->
# 0.350 / 0.342; 64->16 on 32x32 at batch 1 0.227 / 0.467 -> 0.208 / 0.165; 128->16 on 16x16 at
# batch 64 (im2col: Winograd needs 32 channels each side) 9.54 / 8.80 -> 2.88 / 2.61. Where Winograd
# F(4,3) applies it stays: 64->32 on 16x16 at batch 128 4.50 / 4.64 against 5.48 / 4.71 direct. So
# do the small planes' tables below 64 output positions in the batch: 128->32 on 4x4 at batch 1
# 0.039 / 0.043 against 0.053 / 0.078 direct, at batch 2 0.068 / 0.069 against 0.072 / 0.094 (at
# batch 8, 128 positions, 0.219 / 0.205 against 0.172 / 0.187). On an AVX2 machine too, in its blocks
# (``_conv_direct.vector_applies``; 7 December, 2 threads, paired against im2col + BLAS, 60 pairs,
# forward / forward + both gradients): 128->32 on 16x16 at batch 1 0.72 / 0.92, batch 2 0.82 / 0.72, batch 8
# 1.02 / 1.02; on 8x8 at batch 1 0.93 / 1.00, batch 2 0.82 / 0.93, batch 8 0.88 / 0.92. DenseNet-121 (16
# pairs): batch-1 inference 0.958, forward + backward at batches 1 / 2 / 8 0.988 / 1.008 / 0.982.
DIRECT_WIDE_MAX_CHANNELS = 128
DIRECT_WIDE_MIN_POSITIONS = 64


def _direct_wide(geom: ConvGeometry, dtype) -> bool:
    """Whether this convolution's forward pass and input gradient run on the 512-bit direct loops as a
    layer with few output channels (see ``DIRECT_WIDE_MAX_CHANNELS``)."""
    return (geom.kernel != (1, 1, 1) and geom.out_channels <= VECTOR_MAX_CHANNELS
            and geom.channels <= DIRECT_WIDE_MAX_CHANNELS and geom.ndim == 2 and geom.groups == 1
            and geom.stride == (1, 1, 1) and geom.dilation == (1, 1, 1) and _conv_direct.applies(geom.kernel[2])
            and geom.batch * geom.out_volume >= DIRECT_WIDE_MIN_POSITIONS and _conv_direct.vector_applies(dtype)
            and not winograd_tile(geom, dtype))


def _direct_forward(x, w, geom: ConvGeometry, bias, fixed_weight=False):
    y = workspace.empty(geom.output_shape(), x.dtype)
    return _conv_direct.forward(x, w, bias, y, geom.pad_lo[1], geom.pad_lo[2], _work_parts(geom), keep=fixed_weight)


def _direct_backward_input(gy, w, geom: ConvGeometry):
    gx = workspace.empty(geom.input_shape(), gy.dtype)
    return _conv_direct.input_grad(np.ascontiguousarray(gy), w, gx, geom.pad_lo[1], geom.pad_lo[2],
                                   _batch_parts(geom))


def _direct_backward_weight(gy, x, geom: ConvGeometry):
    return _conv_direct.weight_grad(gy, x, geom.kernel[1], geom.kernel[2], geom.pad_lo[1], geom.pad_lo[2],
                                    _batch_parts(geom))


def _winograd_padding(geom: ConvGeometry):
    return ((geom.pad_lo[1], geom.pad_hi[1]), (geom.pad_lo[2], geom.pad_hi[2]))


# A dilated convolution at stride 1 is an undilated one of each input phase (``_phases``): when the
# dilation divides every input size and padding, the d_h*d_w phases go through as extra samples of
# one undilated convolution, which Winograd computes (one split of the input and one merge of the
# output cost ~2 ms for ResNet-sized 64x32x32 planes; the 3x3 dil-2 64->64 32x32 case at batch 64,
# one thread: forward 58.6 -> 34 ms, forward+backward 158 -> 110 ms; the note of issue 9).

@lru_cache(maxsize=256)
def _phase_geometry(geom: ConvGeometry) -> ConvGeometry | None:
    """The geometry of the undilated convolution over the phases of ``geom``'s input (batch
    ``N*d_d*d_h*d_w``, sizes and paddings divided by the dilations), or None unless ``geom`` is a
    dilated stride-1 convolution whose dilations divide every input size and padding."""
    if geom.stride != (1, 1, 1) or geom.dilation == (1, 1, 1) or geom.batch == 0:
        return None
    if any(n % d or lo % d or hi % d for n, lo, hi, d in zip(geom.in_size, geom.pad_lo, geom.pad_hi, geom.dilation)):
        return None
    lift = 3 - geom.ndim
    window = replace(geom.window, stride=(1,) * geom.ndim, dilation=(1,) * geom.ndim,
                     pad_lo=tuple(lo // d for lo, d in zip(geom.pad_lo[lift:], geom.dilation[lift:])),
                     pad_hi=tuple(hi // d for hi, d in zip(geom.pad_hi[lift:], geom.dilation[lift:])))
    spatial = tuple(n // d for n, d in zip(geom.in_size[lift:], geom.dilation[lift:]))
    return conv_geometry(window, (geom.batch * math.prod(geom.dilation), geom.channels) + spatial,
                         geom.out_channels, geom.groups)


def _dilation_phases(geom: ConvGeometry, dtype) -> ConvGeometry | None:
    """:func:`_phase_geometry` when that undilated convolution runs by Winograd (``winograd_tile``)
    or the 512-bit direct loops, else None (the dilated im2col then costs less than the split and merge)."""
    phases = _phase_geometry(geom)
    fast = phases is not None and (winograd_tile(phases, dtype) or (
        _conv_direct.vector_applies(dtype) and direct_applies(phases, dtype)))
    return phases if fast else None


def _split(arr, geom: ConvGeometry, kind: str):
    """The phases of an input-shaped or output-shaped array of ``geom``, as the phase geometry's."""
    return _phases.split(_lift(arr, geom, kind), geom.dilation)


def _merge(parts, geom: ConvGeometry, phases: ConvGeometry, kind: str):
    """The inverse of :func:`_split`: ``parts`` shaped as ``phases``' array of that kind."""
    lifted = parts.reshape(phases.lifted(kind))
    return _unlift(_phases.merge(lifted, geom.lifted(kind), geom.dilation), geom, kind)


# A stride-2 convolution with an even kernel (DCGAN's 4x4 stride-2 layers; the input gradient of a
# 4x4 stride-2 transposed convolution) is a stride-1 one over the four phases of its padded input
# taken as channels, with a kernel half as wide (``_phases.stride_split``): no tap of it is zero,
# and the 512-bit direct loops compute it without im2col's stride-2 gather. Measured (quiet
# machine, 2 threads, forward, us, im2col + BLAS -> phases, this rule toggled in one process):
# 4x4 32->64 on 32x32 at batch 64 9430 -> 8750, batch 8 1130 -> 1080, batch 1 348 -> 276; 3->64 on
# 64x64 at batch 64 5180 -> 2930; 16->32 on 32x32 3370 -> 2150; 32->32 7380 -> 5190; 8->16 1210 ->
# 710; 6x6 32->64 17800 -> 14600. Not on small planes: 32->64 on 16x16 (8x8 out) 757 -> 1257, on 8x8
# 715 -> 1757 (the padded rows of the direct loops); nor from 64 input or more than 64 output
# channels (64->128 on 32x32 33.3 -> 33.7 ms, 64->32 on 8x8 1.2 -> 3.0). The transposed
# convolution's forward+backward (64->32 4x4 stride 2 at batch 64: its input gradient is this
# forward) 0.972 of its time (20 pairs, interquartile 0.956-0.997): its weight gradient now gathers
# the columns that the input gradient shared before. (Odd kernels would need zero taps, a 3x3 one
# 16 for 9: slower in every case measured.)
STRIDE_PHASES_MAX_CHANNELS = 32
STRIDE_PHASES_MAX_OUT_CHANNELS = 64
STRIDE_PHASES_MIN_PLANE = 256


def _stride_phases(geom: ConvGeometry, dtype) -> bool:
    """Whether the forward pass runs as the stride-1 convolution of the input's stride-2 phases
    (see ``STRIDE_PHASES_MAX_CHANNELS``): 2-d, stride 2, an even kernel of at least 4x4, at most
    that many input and ``STRIDE_PHASES_MAX_OUT_CHANNELS`` output channels, an output plane of at
    least ``STRIDE_PHASES_MIN_PLANE`` positions, float32 on the 512-bit loops."""
    return (geom.ndim == 2 and geom.stride == (1, 2, 2) and geom.dilation == (1, 1, 1) and geom.groups == 1
            and geom.kernel[1] % 2 == 0 and geom.kernel[2] % 2 == 0 and geom.kernel[1] >= 4 and geom.kernel[2] >= 4
            and _conv_direct.applies(geom.kernel[2] // 2) and geom.channels <= STRIDE_PHASES_MAX_CHANNELS
            and geom.out_channels <= STRIDE_PHASES_MAX_OUT_CHANNELS and geom.batch > 0
            and geom.out_volume >= STRIDE_PHASES_MIN_PLANE and _conv_direct.vector_applies(dtype))


def _stride_phase_geometry(geom: ConvGeometry) -> ConvGeometry:
    """The stride-1 convolution of :func:`_stride_phases`: the input's four phases as ``4*C``
    channels of ``(out_h + k_h/2 - 1) x (out_w + k_w/2 - 1)`` (padding included), a kernel half as
    high and wide, no padding."""
    half_h, half_w = geom.kernel[1] // 2, geom.kernel[2] // 2
    window = Window(kernel=(half_h, half_w), stride=(1, 1), pad_lo=(0, 0), pad_hi=(0, 0), dilation=(1, 1))
    shape = (geom.batch, 4 * geom.channels, geom.out_size[1] + half_h - 1, geom.out_size[2] + half_w - 1)
    return conv_geometry(window, shape, geom.out_channels)


def _stride_split(x, geom: ConvGeometry, phases: ConvGeometry):
    """``x``'s phases laid out as :func:`_stride_phase_geometry`'s input."""
    return _phases.stride_split(x, geom.pad_lo[1], geom.pad_lo[2], phases.in_size[1], phases.in_size[2])


def _phase_weight(w):
    """``w (O, C, k_h, k_w)`` as the phase convolution's weight: ``w[o, c, 2di + py, 2dj + px]`` is
    the weight of phase channel ``(py*2 + px)*C + c`` at tap ``(di, dj)``."""
    out_c, channels, k_h, k_w = w.shape
    return np.ascontiguousarray(np.asarray(w).reshape(out_c, channels, k_h // 2, 2, k_w // 2, 2)
                                .transpose(0, 3, 5, 1, 2, 4)).reshape(out_c, 4 * channels, k_h // 2, k_w // 2)


def _weight_of_phases(gws, geom: ConvGeometry):
    """The inverse of :func:`_phase_weight`: the phase convolution's weight gradient as ``geom``'s."""
    out_c, channels, k_h, k_w = geom.weight_shape()
    return np.ascontiguousarray(gws.reshape(out_c, 2, 2, channels, k_h // 2, k_w // 2)
                                .transpose(0, 3, 4, 1, 5, 2)).reshape(out_c, channels, k_h, k_w)


def _stride_phase_forward(x, w, geom: ConvGeometry, bias, xs=None):
    """The forward pass of :func:`_stride_phases` on the direct loops (``xs``: the input's phases, if
    already split)."""
    if xs is None:
        xs = _stride_split(x, geom, _stride_phase_geometry(geom))
    y = workspace.empty(geom.output_shape(), x.dtype)
    return _conv_direct.forward(xs, _phase_weight(w), bias, y, 0, 0, _work_parts(geom))


# Both gradients of a transposed convolution whose input gradient takes the stride phases (DCGAN's
# generator layers) share one split of its output gradient: the input gradient is the phase
# convolution's forward pass, the weight gradient that convolution's weight gradient (im2col of the
# phases, which copies contiguous runs, where im2col of the output gradient itself gathers every
# other value), regrouped. Measured (2 threads, the two orders alternated; ms, separate -> shared):
# 64->32 4x4 stride 2 on 16x16 at batch 64 17.1 -> 14.7, batch 16 (16->32 channels) 1.44 -> 1.26,
# batch 8 2.20 -> 2.06; 3 channels on 32x32 at batch 64 8.7 -> 7.8. At batch 1 0.47 -> 0.53 (the
# phase convolution's weight gradient is not split over the threads there): from this many samples.
STRIDE_PHASES_SHARED_MIN_BATCH = 2


def _stride_phase_transpose_backward(gy, x, w, geom: ConvGeometry):
    """``(grad x, grad w)`` of a transposed convolution from one split of ``gy`` (see above)."""
    phases = _stride_phase_geometry(geom)
    gys = _stride_split(gy, geom, phases)
    gx = _stride_phase_forward(gy, w, geom, None, xs=gys)
    return gx, _weight_of_phases(_NumbaBlas.backward_weight(x, gys, phases), geom)


class _Phases:
    """A dilated convolution as the undilated one of its phases (see ``_dilation_phases``)."""

    @staticmethod
    def forward(x, w, geom: ConvGeometry, phases: ConvGeometry, bias):
        y = _NumbaBlas.forward(_split(x, geom, "input").reshape(phases.input_shape()), w, phases, bias)
        return _merge(y, geom, phases, "output")

    @staticmethod
    def backward(gy, x, w, geom: ConvGeometry, phases: ConvGeometry):
        gy_p = _split(gy, geom, "output").reshape(phases.output_shape())
        x_p = None if x is None else _split(x, geom, "input").reshape(phases.input_shape())
        gx_p, gw = _NumbaBlas.backward(gy_p, x_p, w, phases)
        return (None if gx_p is None else _merge(gx_p, geom, phases, "input")), gw


class _NumbaBlas:
    """NumPy float32/float64 arrays: chunked im2col + BLAS, Winograd for the 3x3 convolutions
    where it is faster (``winograd_tile``), or the depthwise loops."""

    @staticmethod
    def forward(x, w, geom: ConvGeometry, bias, fixed_weight=False):
        if geom.batch == 1 and geom.groups == 1 and geom.is_pointwise and POINTWISE_SAMPLE:  # (batch 1's 1x1 layers)
            return _pointwise_sample(x, w, geom, bias)
        phases = _dilation_phases(geom, x.dtype)
        if phases is not None:
            return _Phases.forward(x, w, geom, phases, bias)
        m = small_channel_tile(geom, x.dtype, forward=True)
        if m:
            return _winograd.winograd_forward(x, w, _winograd_padding(geom), bias, m=m, keep=fixed_weight)
        if direct_forward_applies(geom, x.dtype):
            return _direct_forward(x, w, geom, bias, fixed_weight)
        if _stride_phases(geom, x.dtype):
            return _stride_phase_forward(x, w, geom, bias)
        m = winograd_tile(geom, x.dtype) or (fixed_weight and fixed_weight_tile(geom, x.dtype))
        if m:
            return _winograd.winograd_forward(x, w, _winograd_padding(geom), bias, m=m, keep=fixed_weight)
        x5, w5 = _lift(x, geom, "input"), _lift(w, geom, "weight")
        y = workspace.empty(geom.lifted("output"), x.dtype)
        if geom.batch == 0 or geom.out_volume == 0:
            return _unlift(y, geom, "output")
        bias_arr, use_bias = _bias_args(bias, x.dtype)
        if geom.is_depthwise:
            depthwise.depthwise_forward(x5, w5, y, geom.dims, bias_arr, use_bias)
        else:
            _im2col_forward(x5, w5, y, geom, bias_arr, use_bias)
        return _unlift(y, geom, "output")

    @staticmethod
    def backward(gy, x, w, geom: ConvGeometry):
        """Both gradients at once: Winograd shares the transformed output gradient."""
        phases = _dilation_phases(geom, gy.dtype)
        if phases is not None:
            return _Phases.backward(gy, x, w, geom, phases)
        m = gradient_tile(geom, gy.dtype)
        if m:
            return _winograd.winograd_backward(gy, geom.input_shape(), geom.weight_shape(), _winograd_padding(geom),
                                               x=x, w=w, m=m)
        gx = _NumbaBlas.backward_input(gy, w, geom) if w is not None else None
        gw = _NumbaBlas.backward_weight(gy, x, geom) if x is not None else None
        return gx, gw

    @staticmethod
    def backward_input(gy, w, geom: ConvGeometry):
        if geom.batch == 0 or geom.out_volume == 0:
            return np.zeros(geom.input_shape(), gy.dtype)
        phases = _dilation_phases(geom, gy.dtype)
        if phases is not None:
            return _Phases.backward(gy, None, w, geom, phases)[0]
        m = gradient_tile(geom, gy.dtype)
        if m:
            return _winograd.winograd_backward(gy, geom.input_shape(), geom.weight_shape(), _winograd_padding(geom),
                                               w=w, m=m)[0]
        if direct_input_grad_applies(geom, gy.dtype):
            return _direct_backward_input(gy, w, geom)
        gy5, w5 = _lift(gy, geom, "output"), _lift(w, geom, "weight")
        gx = workspace.empty(geom.lifted("input"), gy.dtype)
        if geom.is_depthwise:
            depthwise.depthwise_backward_input(gy5, w5, gx, geom.dims)
        else:
            _im2col_backward_input(gy5, w5, gx, geom)
        return _unlift(gx, geom, "input")

    @staticmethod
    def backward_weight(gy, x, geom: ConvGeometry):
        if geom.batch == 0 or geom.out_volume == 0:
            return np.zeros(geom.weight_shape(), x.dtype)
        phases = _dilation_phases(geom, gy.dtype)
        if phases is not None:
            return _Phases.backward(gy, x, None, geom, phases)[1]
        m = gradient_tile(geom, gy.dtype)
        if m:
            return _winograd.winograd_backward(gy, geom.input_shape(), geom.weight_shape(), _winograd_padding(geom),
                                               x=x, m=m)[1]
        if direct_applies(geom, gy.dtype):
            return _direct_backward_weight(gy, x, geom)
        gy5, x5 = _lift(gy, geom, "output"), _lift(x, geom, "input")
        if geom.is_depthwise:
            gw = np.empty(geom.lifted("weight"), x.dtype)
            depthwise.depthwise_backward_weight(gy5, x5, gw, geom.dims)
        else:
            gw = _im2col_backward_weight(gy5, x5, geom)
        return gw.reshape(geom.weight_shape())

    @staticmethod
    def transpose_forward(x, w, geom: ConvGeometry, bias):
        """A transposed convolution: the input gradient of ``geom``'s convolution, plus the bias. On
        the im2col path col2im starts each output plane from its bias (no pass of its own)."""
        im2col = (geom.batch > 0 and geom.out_volume > 0 and not geom.is_depthwise
                  and _dilation_phases(geom, x.dtype) is None and not gradient_tile(geom, x.dtype)
                  and not direct_input_grad_applies(geom, x.dtype))
        if bias is None or not im2col:
            y = _NumbaBlas.backward_input(x, w, geom)
            if bias is not None:
                y += bias.reshape((1, -1) + (1,) * (y.ndim - 2))
            return y
        y = workspace.empty(geom.lifted("input"), x.dtype)
        _im2col_backward_input(_lift(x, geom, "output"), _lift(w, geom, "weight"), y, geom,
                               np.ascontiguousarray(bias, dtype=x.dtype))
        return _unlift(y, geom, "input")

    @staticmethod
    def transpose_backward(gy, x, w, geom: ConvGeometry):
        """Both gradients of a transposed convolution whose convolution runs by im2col
        (:func:`_im2col_path`): the columns of ``gy`` gathered once for the two products."""
        gx5, gw5 = _im2col_transpose_backward(_lift(gy, geom, "input"), _lift(x, geom, "output"),
                                              _lift(w, geom, "weight"), geom)
        return _unlift(gx5, geom, "output"), gw5.reshape(geom.weight_shape())

    @staticmethod
    def unfold(x, geom: ConvGeometry):
        rows, length = geom.channels * geom.kernel_volume, geom.out_volume
        cols = np.empty((geom.batch, rows, length), x.dtype)
        if cols.size:
            _im2col.im2col(_lift(x, geom, "input"), 0, geom.batch, cols.reshape(-1), geom.dims,
                           length, rows * length)
        return cols

    @staticmethod
    def fold(cols, geom: ConvGeometry):
        rows, length = geom.channels * geom.kernel_volume, geom.out_volume
        gx = np.zeros(geom.lifted("input"), cols.dtype)
        if cols.size:
            _im2col.col2im(np.ascontiguousarray(cols).reshape(-1), gx, 0, geom.batch, geom.dims,
                           length, rows * length)
        return _unlift(gx, geom, "input")


class _Slicing:
    """Any other array (CuPy, integer, float16): the slicing version of ``_conv_slices``."""

    @staticmethod
    def forward(x, w, geom: ConvGeometry, bias, fixed_weight=False):
        y = _conv_slices.forward(x.reshape(geom.lifted("input")), w.reshape(geom.lifted("weight")), geom)
        if bias is not None:
            y = y + bias.reshape((1, -1, 1, 1, 1))
        return _unlift(y, geom, "output")

    @staticmethod
    def backward(gy, x, w, geom: ConvGeometry):
        gx = _Slicing.backward_input(gy, w, geom) if w is not None else None
        gw = _Slicing.backward_weight(gy, x, geom) if x is not None else None
        return gx, gw

    @staticmethod
    def backward_input(gy, w, geom: ConvGeometry):
        gx = _conv_slices.backward_input(gy.reshape(geom.lifted("output")), w.reshape(geom.lifted("weight")), geom)
        return _unlift(gx, geom, "input")

    @staticmethod
    def backward_weight(gy, x, geom: ConvGeometry):
        gw = _conv_slices.backward_weight(gy.reshape(geom.lifted("output")), x.reshape(geom.lifted("input")), geom)
        return _unlift(gw, geom, "weight")

    @staticmethod
    def unfold(x, geom: ConvGeometry):
        cols = _conv_slices.im2col(x.reshape(geom.lifted("input")), geom)
        return cols.reshape(geom.batch, geom.channels * geom.kernel_volume, geom.out_volume)

    @staticmethod
    def fold(cols, geom: ConvGeometry):
        grouped = cols.reshape(geom.batch, 1, geom.channels * geom.kernel_volume, geom.out_volume)
        return _unlift(_conv_slices.col2im(grouped, geom), geom, "input")


def _im2col_path(geom: ConvGeometry, dtype) -> bool:
    """Whether :class:`_NumbaBlas` computes this convolution's forward pass and weight gradient by
    im2col + BLAS (not by the phases, Winograd, the direct or the depthwise loops; with the forward
    pass on the stride phases only the weight gradient is im2col's, so not this either)."""
    return (geom.batch > 0 and geom.out_volume > 0 and not geom.is_depthwise and not direct_applies(geom, dtype)
            and not winograd_tile(geom, dtype) and _dilation_phases(geom, dtype) is None
            and not _stride_phases(geom, dtype))


def _implementation(arr):
    """The implementation for ``arr``: Numba + BLAS for NumPy float32/float64 arrays (the loops
    are compiled for those), the slicing one for any other (CuPy, integer, float16)."""
    if isinstance(arr, np.ndarray) and arr.dtype in (np.float32, np.float64):
        return _NumbaBlas
    return _Slicing


def _check_shape(name: str, arr, expected) -> None:
    """A kernel trusts its geometry (the Numba loops index without bounds checks), so an array
    that does not match it is refused before any loop runs."""
    if arr.shape != expected and tuple(arr.shape) != expected:
        raise ValueError(f"conv kernel: {name} {tuple(arr.shape)} does not match the geometry's {expected}")


# ---------------------------------------------------------------------------------------
# the interface
# ---------------------------------------------------------------------------------------

def conv_forward(x, w, geom: ConvGeometry, bias=None, fixed_weight=False):
    """Convolution (cross-correlation, like torch) of ``x (N, C, *S)`` with ``w (O, C/G, *K)``
    over ``geom``; returns ``y (N, O, *out)``, plus ``bias (O,)`` if given. ``fixed_weight``: ``w`` needs no
    gradient (inference, a frozen layer), so work made from it alone may be kept for the next call
    (Winograd's transformed weight, the direct loops' packed one; checked against ``w``'s values at every call:
    ``kernels.kept``)."""
    _check_shape("input", x, geom.input_shape())
    _check_shape("weight", w, geom.weight_shape())
    return _implementation(x).forward(x, w, geom, bias, fixed_weight)


def conv_backward_input(gy, w, geom: ConvGeometry):
    """Gradient of :func:`conv_forward` w.r.t. its input, shaped ``geom.input_shape()``.

    This is a transposed convolution of ``gy`` with ``w``: every output gradient is spread
    back over the window it was computed from, and overlapping windows add up.
    """
    _check_shape("weight", w, geom.weight_shape())
    gy = _fit_grad_output(gy, geom)
    return _implementation(gy).backward_input(gy, w, geom)


def conv_backward_weight(gy, x, geom: ConvGeometry):
    """Gradient of :func:`conv_forward` w.r.t. its weight, shaped ``geom.weight_shape()``.

    ``grad w[o, c, k] = sum_b sum_p gy[b, o, p] * x_pad[b, c, p*s + k*d]``: a correlation of
    the input with the output gradient, computed as ``cols @ gy_rows.T`` chunk by chunk.
    """
    _check_shape("input", x, geom.input_shape())
    gy = _fit_grad_output(gy, geom)
    return _implementation(x).backward_weight(gy, x, geom)


def conv_backward(gy, x, w, geom: ConvGeometry):
    """Both gradients of :func:`conv_forward`: ``(grad input, grad weight)``; pass ``w`` for the
    input gradient and ``x`` for the weight gradient (None gives None). One call, so that a
    method that shares work between the two (Winograd's transformed output gradient) can."""
    gy = _fit_grad_output(gy, geom)
    if w is not None:
        _check_shape("weight", w, geom.weight_shape())
    if x is not None:
        _check_shape("input", x, geom.input_shape())
    if geom.batch == 0 or geom.out_volume == 0:
        return (np.zeros(geom.input_shape(), gy.dtype) if w is not None else None,
                np.zeros(geom.weight_shape(), gy.dtype) if x is not None else None)
    return _implementation(gy).backward(gy, x, w, geom)


def conv_backward_bias(gy):
    """Gradient w.r.t. the bias: ``gy`` summed over the batch and every spatial position."""
    return gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))


# ---------------------------------------------------------------------------------------
# transposed convolution, unfold and fold
# ---------------------------------------------------------------------------------------

def conv_transpose_forward(x, w, geom: ConvGeometry, bias=None):
    """Transposed convolution of ``x (N, C_in, *S)`` with ``w (C_in, C_out/G, *K)``.

    It is the input gradient of the convolution that maps the output back to ``x``, and
    ``geom`` is that convolution's geometry (``conv_geometry(window, output_shape, C_in,
    groups)``): ``output_padding`` only makes the output (that convolution's input) longer;
    the windows it adds see nothing of ``x``.
    """
    _check_shape("weight", w, geom.weight_shape())
    x = _fit_grad_output(x, geom)
    impl = _implementation(x)
    if impl is _NumbaBlas:
        return impl.transpose_forward(x, w, geom, bias)
    y = impl.backward_input(x, w, geom)
    if bias is not None:
        y += bias.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def conv_transpose_backward(gy, x, w, geom: ConvGeometry):
    """Both gradients of :func:`conv_transpose_forward` w.r.t. ``x`` and ``w``: ``(grad x, grad w)``;
    pass ``w`` for the first and ``x`` for the second (None gives None).

    ``grad x = conv_forward(gy, w)`` (shaped as ``geom``'s output, which ``output_padding`` can make
    longer than ``x``) and ``grad w = conv_backward_weight(x, gy)``: both are products with the
    columns of ``gy``, which the im2col path then gathers once for the two.
    """
    _check_shape("grad_output", gy, geom.input_shape())
    if w is not None:
        _check_shape("weight", w, geom.weight_shape())
    if x is not None:
        x = _fit_grad_output(x, geom)
    impl = _implementation(gy)
    if impl is _NumbaBlas and x is not None and w is not None:
        if _stride_phases(geom, gy.dtype) and geom.batch >= STRIDE_PHASES_SHARED_MIN_BATCH:
            return _stride_phase_transpose_backward(gy, x, w, geom)
        if _im2col_path(geom, gy.dtype):
            return _NumbaBlas.transpose_backward(gy, x, w, geom)
    gx = impl.forward(gy, w, geom, None) if w is not None else None
    gw = impl.backward_weight(x, gy, geom) if x is not None else None
    return gx, gw


def unfold(x, geom: ConvGeometry):
    """im2col of ``x (N, C, *S)``: ``(N, C*K, L)``, row ``c*K + tap``, column the output position
    (``geom`` with ``out_channels = C*K``: unfold is a convolution with an identity weight)."""
    _check_shape("input", x, geom.input_shape())
    return _implementation(x).unfold(x, geom)


def fold(cols, geom: ConvGeometry):
    """col2im, the adjoint of :func:`unfold`: ``cols (N, C*K, L)`` added into ``(N, C, *S)``."""
    _check_shape("columns", cols, (geom.batch, geom.channels * geom.kernel_volume, geom.out_volume))
    return _implementation(cols).fold(cols, geom)
