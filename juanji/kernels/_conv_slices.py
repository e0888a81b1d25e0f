"""Convolution written with array slicing only: works for any array module (NumPy, CuPy).

This is the portable implementation of the contract of ``_im2col`` + ``conv.py`` (the same
columns, the same geometry), used for arrays the Numba loops do not take: another backend
(CuPy), integer or float16 arrays. It is also the easiest one to read: im2col is
``kernel_volume`` strided slice copies, the arithmetic one batched matmul, col2im
``kernel_volume`` slice additions. It keeps every column in memory at once, so it uses more
memory than the chunked NumPy path; on a GPU that trade is the right one.

Shapes (3-d lifted form, see ``_conv_geometry``): x ``(N, C, D, H, W)``,
w ``(O, Cg, Kd, Kh, Kw)``, cols ``(N, G, Cg, Kd, Kh, Kw, oD, oH, oW)``.
"""

from __future__ import annotations

from juanji.backend import xp_of

from ._conv_geometry import ConvGeometry

__all__ = ["im2col", "col2im", "forward", "backward_input", "backward_weight"]


def _window_slices(geom: ConvGeometry, kz: int, ky: int, kx: int):
    """Slices of the padded input read by kernel tap (kz, ky, kx) for every output position."""
    slices = []
    for k, s, d, out in zip((kz, ky, kx), geom.stride, geom.dilation, geom.out_size):
        start = k * d
        slices.append(slice(start, start + (out - 1) * s + 1, s))
    return tuple(slices)


def _taps(geom: ConvGeometry):
    kd, kh, kw = geom.kernel
    for kz in range(kd):
        for ky in range(kh):
            for kx in range(kw):
                yield kz, ky, kx


def _padded(x, geom: ConvGeometry):
    xp = xp_of(x)
    pad = [(0, 0), (0, 0)] + list(zip(geom.pad_lo, geom.pad_hi))
    return xp.pad(x, pad)


def im2col(x, geom: ConvGeometry):
    """Columns ``(N, G, Cg*K, L)`` of the lifted input ``x (N, C, D, H, W)``: row
    ``(c, kz, ky, kx)`` of group g holds that tap of every output position (zero in padding)."""
    xp = xp_of(x)
    xpad = _padded(x, geom)
    n, g, cg = x.shape[0], geom.groups, geom.channels_per_group
    cols = xp.empty((n, g, cg) + geom.kernel + geom.out_size, dtype=x.dtype)
    for kz, ky, kx in _taps(geom):
        window = xpad[(slice(None), slice(None)) + _window_slices(geom, kz, ky, kx)]
        cols[:, :, :, kz, ky, kx] = window.reshape((n, g, cg) + geom.out_size)
    return cols.reshape(n, g, cg * geom.kernel_volume, geom.out_volume)


def col2im(gcols, geom: ConvGeometry):
    """The adjoint of :func:`im2col`: columns ``(N, G, Cg*K, L)`` added back, window by window,
    into a lifted input-shaped array."""
    xp = xp_of(gcols)
    n, g = gcols.shape[0], geom.groups
    gcols = gcols.reshape((n, g, geom.channels_per_group) + geom.kernel + geom.out_size)
    gpad = xp.zeros((n, g, geom.channels_per_group) + geom.padded_size, dtype=gcols.dtype)
    for kz, ky, kx in _taps(geom):
        gpad[(slice(None),) * 3 + _window_slices(geom, kz, ky, kx)] += gcols[:, :, :, kz, ky, kx]
    crop = tuple(slice(lo, lo + n_in) for lo, n_in in zip(geom.pad_lo, geom.in_size))
    gx = gpad[(slice(None),) * 3 + crop]
    return xp.ascontiguousarray(gx.reshape((n,) + geom.lifted("input")[1:]))


def forward(x, w, geom: ConvGeometry):
    """y (N, O, oD, oH, oW) = per group: w_g (Og, Cg*K) @ cols_g (Cg*K, L)."""
    cols = im2col(x, geom)
    wg = w.reshape(geom.groups, geom.out_channels_per_group, -1)
    y = wg @ cols  # (N, G, Og, L)
    return y.reshape(geom.lifted("output"))


def backward_input(gy, w, geom: ConvGeometry):
    """The adjoint of ``forward`` in x: columns from w^T @ gy, added back window by window."""
    xp = xp_of(gy)
    n, g = gy.shape[0], geom.groups
    wg = w.reshape(g, geom.out_channels_per_group, -1)
    gcols = xp.swapaxes(wg, 1, 2) @ gy.reshape(n, g, geom.out_channels_per_group, geom.out_volume)
    return col2im(gcols, geom)


def backward_weight(gy, x, geom: ConvGeometry):
    """The adjoint of ``forward`` in w: gy_g (Og, L) @ cols_g^T (L, Cg*K), summed over samples."""
    xp = xp_of(gy)
    cols = im2col(x, geom)
    n, g = gy.shape[0], geom.groups
    gyg = gy.reshape(n, g, geom.out_channels_per_group, geom.out_volume)
    gw = (gyg @ xp.swapaxes(cols, 2, 3)).sum(axis=0)  # (G, Og, Cg*K)
    return gw.reshape(geom.lifted("weight"))
