"""Direct convolution loops for few channels (LeNet-sized layers): no im2col, no BLAS.

For a 2-d convolution at stride 1 (undilated, ungrouped) with few input channels and few
output channels, im2col spends its time copying: the columns of LeNet's ``6 -> 16`` 5x5 layer
at batch 256 are 15 MB written and read again for a product whose M side (16 output channels)
is too short for BLAS to run near its peak. These loops compute the same sums straight from
the input, one sample at a time, with everything a sample touches in the L1/L2 cache.

The trick that makes the inner loops long and contiguous ("shifted runs"): pad one sample into
a buffer ``xp (C, Hp, Wp)`` and compute the output on the *padded width* ``Wp``, i.e. a run

    z[p] = sum_{c,i,j} w[o,c,i,j] * xp[c, p + i*Wp + j],   p = oy*Wp + ox,  0 <= p < R,

with ``R = (oH - 1)*Wp + oW``. Positions with ``ox >= oW`` are garbage (they wrap round a
row) and are simply not copied out. Every tap ``(c, i, j)`` is then ONE axpy over a
contiguous run of length R (LLVM vectorises it), and four output channels are done per pass
so that each load of the input run feeds four accumulators.

The gradients are the same runs read the other way (exact adjoints):

- input:  ``gxp[c, p + i*Wp + j] += w[o,c,i,j] * gz[o, p]``, where ``gz`` is ``gy`` spread
  onto the padded width with zeros at the garbage positions, then ``gx`` is ``gxp`` cropped;
- weight: ``gw[o,c,i,j] = sum_b sum_p gz[b,o,p] * xp_b[c, p + i*Wp + j]``: one dot product per
  tap and output channel (``fastmath`` only lets LLVM split each dot into vector lanes; the
  same code gives the same bits on every run). Faster than im2col only for long runs (see
  ``conv.py``'s rule), so shorter ones keep im2col for this gradient.

Used by ``conv.py`` where :func:`applies` and the measured rule there say so; batch slices run
on the threads of ``_threads`` like the im2col path (every loop here is ``nogil``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

__all__ = ["forward_samples", "input_grad_samples", "weight_grad_samples"]

_BLOCK = 4  # output channels per pass over a tap's input run


@njit(cache=True, nogil=True, inline="always")
def _pad_sample(x, b, xp, lo_h, lo_w):
    """Copy sample ``b`` of ``x (N, C, H, W)`` into the interior of ``xp (C, Hp, Wp)`` (whose
    border is zero and stays so)."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    for c in range(channels):
        for iy in range(height):
            for ix in range(width):
                xp[c, lo_h + iy, lo_w + ix] = x[b, c, iy, ix]


@njit(cache=True, nogil=True, inline="always")
def _runs(k_h, k_w, out_h, out_w):
    """``(Wp, R, Hp*Wp)``: the padded width, the run length ``(oH-1)*Wp + oW`` and the padded
    plane size (stride 1: ``Hp = oH + kH - 1``, ``Wp = oW + kW - 1``)."""
    wp = out_w + k_w - 1
    return wp, (out_h - 1) * wp + out_w, (out_h + k_h - 1) * wp


@njit(cache=True, nogil=True)
def forward_samples(x, w, bias, use_bias, y, lo_h, lo_w, start, stop):
    """``y[b] = conv(x[b], w) (+ bias)`` for samples ``start .. stop``; ``y (N, O, oH, oW)``."""
    channels = x.shape[1]
    out_c, k_h, k_w = w.shape[0], w.shape[2], w.shape[3]
    out_h, out_w = y.shape[2], y.shape[3]
    wp, run, plane = _runs(k_h, k_w, out_h, out_w)
    xp = np.zeros((channels, plane // wp, wp), x.dtype)
    flat = xp.reshape(-1)
    z = np.empty((_BLOCK, run), x.dtype)
    for b in range(start, stop):
        _pad_sample(x, b, xp, lo_h, lo_w)
        for o0 in range(0, out_c, _BLOCK):
            n_o = min(_BLOCK, out_c - o0)
            for k in range(_BLOCK):
                value = bias[o0 + k] if (use_bias and k < n_o) else 0.0
                for p in range(run):
                    z[k, p] = value
            for c in range(channels):
                for i in range(k_h):
                    for j in range(k_w):
                        off = c * plane + i * wp + j
                        if n_o == _BLOCK:
                            a0 = w[o0, c, i, j]
                            a1 = w[o0 + 1, c, i, j]
                            a2 = w[o0 + 2, c, i, j]
                            a3 = w[o0 + 3, c, i, j]
                            z0, z1, z2, z3 = z[0], z[1], z[2], z[3]
                            for p in range(run):
                                q = uint64(p)
                                v = flat[uint64(off + p)]
                                z0[q] += a0 * v
                                z1[q] += a1 * v
                                z2[q] += a2 * v
                                z3[q] += a3 * v
                        else:
                            for k in range(n_o):
                                a = w[o0 + k, c, i, j]
                                zk = z[k]
                                for p in range(run):
                                    zk[uint64(p)] += a * flat[uint64(off + p)]
            for k in range(n_o):
                for oy in range(out_h):
                    for ox in range(out_w):
                        y[b, o0 + k, oy, ox] = z[k, oy * wp + ox]
        # (a sample's interior is overwritten by the next; the zero border never changes)
    return 0


@njit(cache=True, nogil=True, inline="always")
def _spread_grad(gy, b, gz, wp):
    """``gz[o, oy*Wp + ox] = gy[b, o, oy, ox]``; the garbage positions stay zero."""
    out_c, out_h, out_w = gy.shape[1], gy.shape[2], gy.shape[3]
    for o in range(out_c):
        for oy in range(out_h):
            for ox in range(out_w):
                gz[o, oy * wp + ox] = gy[b, o, oy, ox]


@njit(cache=True, nogil=True)
def input_grad_samples(gy, w, gx, lo_h, lo_w, start, stop):
    """``gx[b]`` (overwritten) for samples ``start .. stop``: the adjoint of the forward runs."""
    channels, height, width = gx.shape[1], gx.shape[2], gx.shape[3]
    out_c, k_h, k_w = w.shape[0], w.shape[2], w.shape[3]
    out_h, out_w = gy.shape[2], gy.shape[3]
    wp, run, plane = _runs(k_h, k_w, out_h, out_w)
    gxp = np.empty(channels * plane, gy.dtype)
    gz = np.zeros((out_c, run), gy.dtype)
    for b in range(start, stop):
        _spread_grad(gy, b, gz, wp)
        gxp[:] = 0.0
        for c in range(channels):
            for i in range(k_h):
                for j in range(k_w):
                    off = c * plane + i * wp + j
                    o = 0
                    while o + _BLOCK <= out_c:
                        a0 = w[o, c, i, j]
                        a1 = w[o + 1, c, i, j]
                        a2 = w[o + 2, c, i, j]
                        a3 = w[o + 3, c, i, j]
                        g0, g1, g2, g3 = gz[o], gz[o + 1], gz[o + 2], gz[o + 3]
                        for p in range(run):
                            q = uint64(p)
                            gxp[uint64(off + p)] += a0 * g0[q] + a1 * g1[q] + a2 * g2[q] + a3 * g3[q]
                        o += _BLOCK
                    while o < out_c:
                        a = w[o, c, i, j]
                        g = gz[o]
                        for p in range(run):
                            gxp[uint64(off + p)] += a * g[uint64(p)]
                        o += 1
        for c in range(channels):
            for iy in range(height):
                for ix in range(width):
                    gx[b, c, iy, ix] = gxp[c * plane + (lo_h + iy) * wp + lo_w + ix]
    return 0


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _tap_dots(gz, o, flat, off, run, gw, c, i, j):
    """``gw[o+k, c, i, j] += sum_p gz[o+k, p] * flat[off + p]`` for k < 4: four dot products
    that share each load of the input run (``fastmath`` lets LLVM split each sum into vector
    lanes; the order is fixed by the compiled code, so runs repeat bit for bit)."""
    g0, g1, g2, g3 = gz[o], gz[o + 1], gz[o + 2], gz[o + 3]
    s0 = s1 = s2 = s3 = gw[o, c, i, j] * 0.0
    for p in range(run):
        q = uint64(p)
        v = flat[uint64(off + p)]
        s0 += g0[q] * v
        s1 += g1[q] * v
        s2 += g2[q] * v
        s3 += g3[q] * v
    gw[o, c, i, j] += s0
    gw[o + 1, c, i, j] += s1
    gw[o + 2, c, i, j] += s2
    gw[o + 3, c, i, j] += s3


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _tap_dot(g, flat, off, run):
    """``sum_p g[p] * flat[off + p]`` (vector lanes, as in :func:`_tap_dots`)."""
    total = g[0] * 0.0
    for p in range(run):
        total += g[uint64(p)] * flat[uint64(off + p)]
    return total


@njit(cache=True, nogil=True)
def weight_grad_samples(gy, x, gw, lo_h, lo_w, start, stop):
    """``gw`` (overwritten, ``(O, C, kH, kW)``) = the weight gradient of samples ``start .. stop``:
    per sample and tap, one dot product of the input run with each output channel's ``gz``."""
    channels = x.shape[1]
    out_c, k_h, k_w = gw.shape[0], gw.shape[2], gw.shape[3]
    out_h, out_w = gy.shape[2], gy.shape[3]
    wp, run, plane = _runs(k_h, k_w, out_h, out_w)
    xp = np.zeros((channels, plane // wp, wp), x.dtype)
    flat = xp.reshape(-1)
    gz = np.zeros((out_c, run), gy.dtype)
    gw[...] = 0.0
    for b in range(start, stop):
        _pad_sample(x, b, xp, lo_h, lo_w)
        _spread_grad(gy, b, gz, wp)
        for c in range(channels):
            for i in range(k_h):
                for j in range(k_w):
                    off = c * plane + i * wp + j
                    o = 0
                    while o + _BLOCK <= out_c:
                        _tap_dots(gz, o, flat, off, run, gw, c, i, j)
                        o += _BLOCK
                    while o < out_c:
                        gw[o, c, i, j] += _tap_dot(gz[o], flat, off, run)
                        o += 1
    return 0
