"""Direct convolution loops for few channels (LeNet- and ResNet-stem-sized layers): no im2col, no BLAS.

For a 2-d convolution at stride 1 (undilated, ungrouped) with few input and output channels,
im2col spends its time copying, and the product it feeds is too short on the output-channel side
for BLAS to run near its peak. These loops compute the same sums straight from the input, a
chunk of samples at a time, with everything a chunk touches in the L2 cache.

The layout ("shifted runs"): each sample of a chunk is zero-padded into a plane ``(Hp, Wp)``
(``Hp = oH + kH - 1``, ``Wp = oW + kW - 1``) and the planes lie end to end per channel,
``xp (C, count*Hp*Wp)``. The output is computed on the *padded width*: position
``p = b*Hp*Wp + oy*Wp + ox`` of the chunk is

    z[o, p] = bias[o] + sum_{c,i,j} w[o,c,i,j] * xp[c, p + i*Wp + j],

so every tap ``(c, i, j)`` is one contiguous run of the input, shifted by ``i*Wp + j``. Each
sample's run is ``b*Hp*Wp .. b*Hp*Wp + (oH-1)*Wp + oW``; the positions with ``ox >= oW`` in it
wrap round a row and are simply not copied out (6-26 % extra work on LeNet/ResNet planes).

The inner loops are ``_conv_taps`` (generated: the taps of a kernel row written out, so that
their weights stay in registers and four output channels share each input load); this module
lays the data out for them:

- forward: pad a chunk into ``xp``, fill ``z`` with the bias, accumulate, copy ``z`` out;
- input gradient: the same forward loops, since for stride 1 the input gradient is a
  convolution of the output gradient, padded by ``k - 1 - lo``, with the weight flipped and its
  two channel axes swapped (``w_t[c, o, i, j] = w[o, c, kH-1-i, kW-1-j]``); this needs
  ``lo, hi <= k - 1`` per dim (:func:`input_grad_applies`);
- weight gradient: ``gw[o,c,i,j] = sum_p gz[o, p] * xp[c, p + i*Wp + j]`` with ``gz`` the output
  gradient spread onto the same positions (zero at the wrapped ones): four output channels
  times one kernel row of dot products per pass over the run.

Batch slices run on the threads of ``_threads`` like the im2col path (every loop is ``nogil``), without
setting BLAS's thread count around them (they call no BLAS: changing OpenBLAS's count and back made a
split's own slice start ~10 us later, 15 against 5 us after the call).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from . import _conv_simd, _conv_taps, _simd, workspace
from ._conv_layout import copy_out as _copy_out, fill as _fill, pad_chunk as _pad_chunk, spread as _spread
from ._threads import map_slices
from .kept import kept

__all__ = ["forward", "input_grad", "weight_grad", "applies", "input_grad_applies", "MAX_KERNEL_WIDTH"]

MAX_KERNEL_WIDTH = max(_conv_taps.FORWARD)

# A chunk's padded input and output planes take about this many bytes: well inside a core's L2.
CHUNK_BYTES = 1 << 18


def applies(kernel_width: int) -> bool:
    """Whether the unrolled loops exist for this kernel width."""
    return 1 <= kernel_width <= MAX_KERNEL_WIDTH


def input_grad_applies(kernel, pad_lo, pad_hi) -> bool:
    """The input gradient runs as a forward pass only when no padding exceeds ``k - 1``."""
    return all(lo <= k - 1 and hi <= k - 1 for k, lo, hi in zip(kernel, pad_lo, pad_hi))


# ----------------------------------------------------------------------------- drivers
def _planes(out_h: int, out_w: int, k_h: int, k_w: int):
    """``(Wp, plane, run)`` of the layout: padded width, padded plane size, one sample's run."""
    wp = out_w + k_w - 1
    return wp, (out_h + k_h - 1) * wp, (out_h - 1) * wp + out_w


def _chunk(rows: int, plane: int, itemsize: int, total: int) -> int:
    return int(max(1, min(total, CHUNK_BYTES // max(rows * plane * itemsize, 1))))


def _forward_slice(x, w, bias, y, lo_h, lo_w, start, stop):
    channels = x.shape[1]
    out_c, _, k_h, k_w = w.shape
    wp, plane, run = _planes(y.shape[2], y.shape[3], k_h, k_w)
    chunk = _chunk(channels + out_c, plane, x.itemsize, stop - start)
    xp = workspace.zeros((channels, chunk * plane), x.dtype)
    z = workspace.empty((out_c, chunk * plane), x.dtype)
    kernel = _conv_taps.FORWARD[k_w]
    for n0 in range(start, stop, chunk):
        count = min(chunk, stop - n0)
        _pad_chunk(x, n0, count, xp, lo_h, lo_w, wp, plane)
        _fill(z, bias, count * plane)
        kernel(xp, w, z, wp, plane, run, count)
        _copy_out(z, y, n0, count, wp, plane)


def _even_blocks(out_c: int, largest: int):
    """``(passes, ob)``: ``out_c`` output channels in as few blocks of at most ``largest`` as can be,
    all of one size ``ob`` (the 512-bit loops complete the last block with zeros)."""
    passes = -(-out_c // largest)
    return passes, -(-out_c // passes)


def _pack_blocks(w, bias, flipped: bool = False, keep: bool = False):
    """The weight and bias as the 512-bit loops read them: the output channels in ``passes`` equal
    blocks of ``ob`` (the last one completed with zero weights), each block's weights packed as
    ``wt[pass, ((c*kH + i)*kW + j)*ob + k] = w[pass*ob + k, c, i, j]``.

    ``flipped``: pack the input gradient's weight ``w_t[c, o, i, j] = w[o, c, kH-1-i, kW-1-j]`` of
    ``w`` (``bias`` None), without making ``w_t`` first. One Numba loop (:func:`_pack_loop`): NumPy's copy
    through a transposed 5-d view ran element by element along the short block axis (AVX2's blocks of
    6: 32x128x3x3 took 110 us, flipped 190; these run at every call of the loops).

    ``keep``: the weight needs no gradient (inference): its packed blocks are kept between calls
    (``kernels.kept``, checked against the weight's bits at each call; 32x128x3x3 packed 18-50 us, compared
    ~5). The bias is placed at every call."""
    given = w
    w = np.ascontiguousarray(w, dtype=np.float32)
    if flipped:
        channels, out_c, k_h, k_w = w.shape
    else:
        out_c, channels, k_h, k_w = w.shape
    largest = _blocks()[1]
    passes, ob = _even_blocks(out_c, largest)
    full_bias = np.zeros(passes * ob, np.float32)
    if bias is not None:
        full_bias[:out_c] = bias

    def pack(w):
        wt = np.empty((passes, channels * k_h * k_w * ob), np.float32)
        _pack_loop(w.reshape(-1), out_c, channels, k_h, k_w, passes, ob, flipped, wt.reshape(-1))
        return wt
    # (kept only for the caller's own array: a copy made here would be another address at every call)
    wt = kept(("direct", flipped, largest), w, pack) if keep and w is given else pack(w)
    return ob, wt, full_bias


@njit(cache=True, nogil=True)
def _pack_loop(w, out_c, channels, k_h, k_w, passes, ob, flipped, wt):
    """``wt`` (flat) of :func:`_pack_blocks` from the flat weight ``w``: ``(out_c, channels, k_h, k_w)``,
    or with ``flipped`` ``(channels, out_c, k_h, k_w)`` read with its taps reversed. One output channel
    at a time, its weights read front to back and written ``ob`` apart (32x128x3x3 in blocks of 6: 23 us,
    flipped 33; element by element in ``wt``'s order 51 and 124). (Indices from ``range(0, n)`` only, and
    the flat ones unsigned: no negative-index tests.)"""
    taps = k_h * k_w
    row = channels * taps
    for p in range(passes):
        base = p * row * ob
        for k in range(ob):
            o = p * ob + k
            if o >= out_c:  # the last block's completion
                for m in range(row):
                    wt[uint64(base + m * ob + k)] = 0.0
            elif flipped:
                for c in range(channels):
                    src = (c * out_c + o) * taps + taps - 1
                    dst = base + c * taps * ob + k
                    for t in range(taps):
                        wt[uint64(dst + t * ob)] = w[uint64(src - t)]
            else:
                src = o * row
                for m in range(row):
                    wt[uint64(base + m * ob + k)] = w[uint64(src + m)]


def _vector_forward_slice(x, packed, y, lo_h, lo_w, k_h, k_w, start, stop):
    """:func:`_forward_slice` on the 512-bit loops (float32 on an AVX-512 CPU); the loop over
    the chunks runs in Numba too (``_conv_simd.SLICE``), without the GIL."""
    ob, wt, bias = packed
    channels = x.shape[1]
    _, plane, _ = _planes(y.shape[2], y.shape[3], k_h, k_w)
    chunk = _chunk(channels + bias.size, plane, x.itemsize, stop - start)
    # the loops read and write up to SLACK positions past a chunk's last run
    xp = workspace.zeros((channels, chunk * plane + _conv_simd.SLACK), x.dtype)
    z = workspace.empty((bias.size, chunk * plane + _conv_simd.SLACK), x.dtype)
    _blocks()[0][ob](x, wt, bias, y, xp, z, lo_h, lo_w, k_h, k_w, start, stop, chunk)


def vector_applies(dtype) -> bool:
    """Whether the loops run on 512-bit vectors (``_conv_simd``): float32 on a CPU with AVX-512, or with
    AVX2 and FMA (``_simd.takes_halves``; there in smaller blocks, :func:`_blocks`). ``conv``'s choices of
    these loops for few channels (up to 32, and the stride-2 and dilated phases) follow it."""
    return _simd.takes_halves(dtype)


def wide_rules(dtype) -> bool:
    """Whether ``conv`` also gives these loops the layers of up to 128 channels at a batch smaller than
    the thread count: only with AVX-512's blocks (on an AVX2 machine, paired, ResNet-18's batch-1
    inference took 1.12 times as long with AVX2's blocks there as by im2col + BLAS and Winograd; DenseNet-121's
    128->32 on 32x32 at batch 1 1.36 times as long as by Winograd). The rule for few output channels from
    many (``conv._direct_wide``) follows :func:`vector_applies`."""
    return vector_applies(dtype) and FULL_BLOCKS


# Blocks sized for AVX-512's 32 registers, or (False) for the 16 of AVX2, where each 512-bit value
# takes two: read at each call, so that the tests can run either set on any CPU.
FULL_BLOCKS = _simd.AVAILABLE


def _blocks():
    """``(drivers by block size, largest forward block, largest weight-gradient block by kernel width)``
    of the 512-bit loops for this CPU (:data:`FULL_BLOCKS`)."""
    if FULL_BLOCKS:
        return _conv_simd.SLICE, _conv_simd.MAX_BLOCK, _conv_simd.WEIGHT_BLOCK
    return _conv_simd.HALF_SLICE, _conv_simd.HALF_MAX_BLOCK, _conv_simd.HALF_WEIGHT_BLOCK


def _block_tasks(batch: int, passes: int, parts: int):
    """``(sample, first pass, last pass)`` tasks for ``parts`` threads when the batch alone is too
    small to share out: each sample's blocks of output channels in ``ceil(parts / batch)`` even
    groups (at most ``passes``)."""
    groups = min(passes, -(-parts // batch))
    bounds = [passes * g // groups for g in range(groups + 1)]
    return [(n, bounds[g], bounds[g + 1]) for n in range(batch) for g in range(groups)]


def _vector_forward_blocks(x, packed, y, lo_h, lo_w, k_h, k_w, tasks, first, last):
    """Tasks ``first .. last`` of :func:`_block_tasks`: one sample's groups of output-channel blocks
    each, through the same loops as :func:`_vector_forward_slice` on a one-sample view (a sample's
    channels ``q0*ob ..`` are one contiguous stretch of ``y``)."""
    ob, wt, bias = packed
    out_c = y.shape[1]
    for n, q0, q1 in tasks[first:last]:
        view = y[n:n + 1, q0 * ob:min(q1 * ob, out_c)]
        _vector_forward_slice(x[n:n + 1], (ob, wt[q0:q1], bias[q0 * ob:q1 * ob]), view, lo_h, lo_w, k_h, k_w, 0, 1)


def forward(x, w, bias, y, lo_h: int, lo_w: int, parts: int, keep: bool = False):
    """``y = conv(x, w) (+ bias)`` for ``x (N, C, H, W)``, ``w (O, C, kH, kW)``, into ``y (N, O, oH, oW)``
    (stride 1, padding ``lo`` before and whatever makes ``oH``/``oW`` after), over ``parts`` threads:
    slices of the batch, or on the 512-bit loops, when the batch is smaller than ``parts``, each
    sample's output channels in groups of blocks. ``keep``: ``w`` needs no gradient (its packed blocks
    may be kept: :func:`_pack_blocks`)."""
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    if vector_applies(x.dtype):
        bias = None if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
        return _vector_forward(x, _pack_blocks(w, bias, keep=keep), w.shape[2], w.shape[3], y, lo_h, lo_w, parts)
    bias = np.zeros(w.shape[0], x.dtype) if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
    map_slices(lambda start, stop: _forward_slice(x, w, bias, y, lo_h, lo_w, start, stop), x.shape[0], parts,
               single_threaded_blas=False)
    return y


def _vector_forward(x, packed, k_h: int, k_w: int, y, lo_h: int, lo_w: int, parts: int):
    """:func:`forward` on the 512-bit loops from the packed weight (``_pack_blocks``)."""
    tasks = _block_tasks(x.shape[0], packed[1].shape[0], parts) if x.shape[0] < parts else None
    if tasks is not None and len(tasks) > x.shape[0]:
        map_slices(lambda first, last: _vector_forward_blocks(x, packed, y, lo_h, lo_w, k_h, k_w, tasks,
                                                              first, last), len(tasks), parts, single_threaded_blas=False)
        return y
    map_slices(lambda start, stop: _vector_forward_slice(x, packed, y, lo_h, lo_w, k_h, k_w, start, stop),
               x.shape[0], parts, single_threaded_blas=False)
    return y


def input_grad(gy, w, gx, lo_h: int, lo_w: int, parts: int):
    """``gx`` (overwritten) = the input gradient of :func:`forward` for ``gy``: the forward loops
    over ``gy`` padded by ``k - 1 - lo`` with ``w_t[c, o] = flip(w[o, c])`` (see the module
    docstring; needs :func:`input_grad_applies`)."""
    k_h, k_w = w.shape[2], w.shape[3]
    if vector_applies(gy.dtype):
        return _vector_forward(np.ascontiguousarray(gy), _pack_blocks(w, None, flipped=True), k_h, k_w, gx,
                               k_h - 1 - lo_h, k_w - 1 - lo_w, parts)
    w_t = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return forward(gy, w_t, None, gx, k_h - 1 - lo_h, k_w - 1 - lo_w, parts)


def _weight_grad_slice(gy, x, k_h, k_w, lo_h, lo_w, start, stop):
    channels, out_c = x.shape[1], gy.shape[1]
    wp, plane, run = _planes(gy.shape[2], gy.shape[3], k_h, k_w)
    chunk = _chunk(channels + out_c, plane, x.itemsize, stop - start)
    xp = workspace.zeros((channels, chunk * plane), x.dtype)
    gz = workspace.zeros((out_c, chunk * plane), gy.dtype)
    gw = np.zeros((out_c, channels, k_h, k_w), x.dtype)
    kernel = _conv_taps.WEIGHT_GRAD[k_w]
    for n0 in range(start, stop, chunk):
        count = min(chunk, stop - n0)
        _pad_chunk(x, n0, count, xp, lo_h, lo_w, wp, plane)
        _spread(gy, n0, count, gz, wp, plane)
        # one run over the whole chunk: the wrapped positions between samples have gz = 0, and
        # one long dot product per tap beats a short one per sample (fewer lane reductions)
        kernel(xp, gz, gw, wp, plane, (count - 1) * plane + run, 1)
    return gw


def _vector_weight_grad_slice(gy, x, k_h, k_w, lo_h, lo_w, start, stop):
    """:func:`_weight_grad_slice` on the 512-bit loops (``_conv_simd.WEIGHT_SLICE``): the output
    channels in equal blocks of at most ``WEIGHT_BLOCK[k_w]``, the last completed with zero rows of
    ``gz``. Each weight entry is summed in 16 lanes over the whole slice; the lanes are added at the end."""
    channels, out_c = x.shape[1], gy.shape[1]
    passes, ob = _even_blocks(out_c, _blocks()[2][k_w])
    _, plane, _ = _planes(gy.shape[2], gy.shape[3], k_h, k_w)
    chunk = _chunk(channels + passes * ob, plane, x.itemsize, stop - start)
    xp = workspace.zeros((channels, chunk * plane + _conv_simd.SLACK), x.dtype)
    gz = workspace.zeros((passes * ob, chunk * plane + _conv_simd.SLACK), x.dtype)
    acc = np.zeros(passes * channels * k_h * ob * k_w * 16, x.dtype)
    _conv_simd.WEIGHT_SLICE[k_w][ob](x, gy, acc, xp, gz, lo_h, lo_w, k_h, start, stop, chunk)
    gw = acc.reshape(passes, channels, k_h, ob, k_w, 16).sum(axis=-1)
    return np.ascontiguousarray(gw.transpose(0, 3, 1, 2, 4)).reshape(passes * ob, channels, k_h, k_w)[:out_c]


def weight_grad(gy, x, k_h: int, k_w: int, lo_h: int, lo_w: int, parts: int):
    """The weight gradient ``(O, C, kH, kW)`` of :func:`forward` for ``gy``, summed over slices in
    slice order (the same bits on every run)."""
    gy, x = np.ascontiguousarray(gy), np.ascontiguousarray(x)
    per_slice = _vector_weight_grad_slice if vector_applies(x.dtype) else _weight_grad_slice
    partials = map_slices(lambda start, stop: per_slice(gy, x, k_h, k_w, lo_h, lo_w, start, stop), x.shape[0], parts,
                          single_threaded_blas=False)
    gw = partials[0]
    for other in partials[1:]:
        gw += other
    return gw
