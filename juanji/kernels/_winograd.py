"""Winograd convolution F(m x m, 3 x 3): 3x3, stride-1, undilated, ungrouped 2-d convolutions
with fewer multiplications, forward and both gradients.

The idea (Winograd's minimal filtering, as Lavin & Gray use it for CNNs): an ``m x m`` tile
of a 3x3 correlation needs ``(m+2)^2`` multiplications instead of ``9 m^2`` once input and
filter are moved into a transformed space. With ``a = m + 2`` (the tile of input it reads):

    U = G w G^T                     (a x a)  per (output channel k, input channel c)
    V = B^T d B                     (a x a)  per (input channel c, tile): d is the a x a input tile
    M[k, tile] = sum_c U[k, c] * V[c, tile]    elementwise in the a x a positions:
                                    a^2 independent matrix products (K x C) @ (C x tiles), BLAS
    y tile = A^T M A                (m x m)

F(2,3) (a = 4) does 16 products for 36, F(4,3) (a = 6) 36 for 144: 2.25x and 4x fewer. The
price is rounding: the transforms add and subtract values of different sizes, more so for
larger tiles. ``error_bound`` gives the measured bound the tests check (float32 against
torch's direct convolution: within rtol 1e-4 of the output's scale).

The gradients are the exact adjoints of those four linear steps (so the gradient is that of
the function the forward computed, rounding included, and gradcheck holds):

    Z = A gy_tile A^T               (a x a)  per (k, tile): gy_tile is m x m of the output gradient
    grad V = sum_k U[k, c] * Z[k]   -> grad d = B gradV B^T, added over the overlapping tiles
    grad U = sum_tiles Z * V        -> grad w = G^T gradU G

How the matrices are made: Toom-Cook. A polynomial product is evaluated at ``a - 1`` points
and at infinity, multiplied pointwise and interpolated back; the correlation is the transpose
of that product (``winograd_matrices``), built exactly with fractions from the chosen points.

How it is computed: the batch is split over the threads (``_threads.map_slices``, BLAS
single-threaded in each); each thread takes its samples a few at a time (a chunk whose
transformed tiles stay in cache), transforms them with two Numba loops, one for "tiles in"
(``R @ tile @ R^T`` read from a plane, zero outside it) and one for "tiles out"
(``Q @ v @ Q^T`` written or added into a plane, cut at its edges), and multiplies with
``numpy.matmul`` over the ``a^2`` positions. Both loops first apply the matrix along rows,
as runs over whole image rows (vectorised), then along columns within each tile.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from numba import njit, uint64

from . import _simd, _winograd_simd, gemm, workspace
from ._simd import vload, vtranspose16, vtranspose16_add, vzero
from ._threads import batch_workers, map_slices, worth_parallel, worth_parallel_macs
from .kept import kept

__all__ = ["winograd_matrices", "applies", "TILE_POINTS", "winograd_forward", "winograd_backward", "error_bound"]

# interpolation points per output tile size m (and infinity); a = m + 2 points in all
TILE_POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2), 6: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))}
CHUNK_BYTES = 4 << 20  # transformed input tiles of one chunk, about this many bytes,
MIN_CHUNK_TILES = 256  # but at least this many tiles: BLAS needs rows (measured: 48 rows ran at half speed)
# Up to 32 channels a chunk's tiles are so cheap to multiply that the transforms are the cost, and those
# run out of the core's own cache with smaller chunks: 16->16 on 32x32 at batch 128 (2 threads, forward +
# both gradients) 8.4-9.2 ms with chunks of 4 MiB, 7.3-8.1 with 1 MiB; 32->32 on 16x16 6.3 -> 5.5. Then,
# paired in one process (20 pairs, 3 calls each; the 16->16 case, against 1 MiB): 512 KiB 1.26, 1.5 MiB
# 0.957, 2 MiB 0.976, 4 MiB 1.15; ResNet-20's training step 0.992 with 1.5 MiB, 0.983 with 2.
SMALL_CHANNELS = 32
SMALL_CHUNK_BYTES = 3 << 19
SMALL_MIN_CHUNK_TILES = 64


# ----------------------------------------------------------------------------------------- matrices
def _inverse(matrix):
    """Exact inverse of a square matrix of Fractions (Gauss-Jordan)."""
    n = len(matrix)
    rows = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        scale = rows[col][col]
        rows[col] = [v / scale for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [row[n:] for row in rows]


@lru_cache(maxsize=None)
def winograd_matrices(m: int, r: int = 3, points: tuple | None = None):
    """``(AT, G, BT)`` of F(m, r) as exact Fractions: ``AT (m x a)``, ``G (a x r)``, ``BT (a x a)``
    with ``a = m + r - 1``, such that for any ``d`` (length a) and ``g`` (length r)

        correlation(d, g)[i] = sum_j d[i + j] g[j] = (AT @ ((G @ g) * (BT @ d)))[i],   i < m.

    Toom-Cook: the product of polynomials ``g(x)`` (degree r-1) and ``h(x)`` (degree m-1) is
    found from its values at the ``a - 1`` finite points and its leading coefficient ("the value
    at infinity"): ``E_g`` and ``E_h`` evaluate, ``C`` interpolates, so the full linear
    convolution is ``T(g) h = C ((E_g g) * (E_h h))``. Correlation is its transpose,
    ``T(g)^T d = E_h^T ((E_g g) * (C^T d))``: ``AT = E_h^T``, ``G = E_g``, ``BT = C^T``. Each
    row of ``BT`` is then scaled to small integers and ``G``'s row divided to match.
    """
    a = m + r - 1
    points = tuple(Fraction(p) for p in (points if points is not None else TILE_POINTS[m]))
    if len(points) != a - 1 or len(set(points)) != a - 1:
        raise ValueError(f"winograd_matrices: F({m}, {r}) needs {a - 1} distinct finite points, got {points}")

    def evaluation(width):  # rows: [p^0, p^1, ...] at each point, then infinity: the top coefficient
        rows = [[p ** k for k in range(width)] for p in points]
        return rows + [[Fraction(int(k == width - 1)) for k in range(width)]]

    values = evaluation(a)          # coefficients of a degree-(a-1) polynomial -> its a "values"
    interpolate = _inverse(values)  # C: values -> coefficients
    e_g, e_h = evaluation(r), evaluation(m)
    AT = [[e_h[j][i] for j in range(a)] for i in range(m)]
    BT = [[interpolate[j][i] for j in range(a)] for i in range(a)]  # C^T
    G = [row[:] for row in e_g]
    for i in range(a):  # BT row i * s, G row i / s: the product is unchanged
        denominators = [v.denominator for v in BT[i] if v != 0]
        s = Fraction(np.lcm.reduce(denominators)) if denominators else Fraction(1)
        numerators = [int(v * s) for v in BT[i] if v != 0]
        s /= int(np.gcd.reduce(numerators)) if numerators else 1
        BT[i] = [v * s for v in BT[i]]
        G[i] = [v / s for v in G[i]]
    return AT, G, BT


@lru_cache(maxsize=None)
def _float_matrices(m: int, dtype_char: str):
    return tuple(np.array([[float(v) for v in row] for row in matrix], dtype=np.dtype(dtype_char))
                 for matrix in winograd_matrices(m))


def error_bound(m: int, dtype) -> float:
    """Largest error of a Winograd result relative to its scale, ``max |y - y_exact| /
    max |y_exact|``, that the tests accept, per tile size (in units of the dtype's epsilon).

    Measured in float32 against float64 on network-sized layers (16-256 input channels, He-scaled
    weights) and on the random conv grid, worst of forward and both gradients: about 5 eps for
    m = 2 (torch's direct float32 convolution: 5 eps too), 95 eps for m = 4, 120 eps for m = 6.
    The bounds leave a factor 4 or more and stay inside the issue's float32 rtol of 1e-4.
    """
    return {2: 20, 4: 400, 6: 800}[m] * np.finfo(dtype).eps


def applies(x_shape, w_shape, stride, dilation, groups) -> bool:
    """Whether a convolution has the shape Winograd F(m, 3) computes: 2-d, 3x3 kernel,
    stride 1, dilation 1, one group (any padding)."""
    return (len(x_shape) == 4 and tuple(w_shape[2:]) == (3, 3) and groups == 1
            and all(s == 1 for s in _pair(stride)) and all(d == 1 for d in _pair(dilation)))


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


# ----------------------------------------------------------------------------------------- Numba loops
# The tiles are transformed channels-last: a chunk of samples is first turned from (n, C, H, W)
# into (n, H, W, C), so that every value of a tile is a run of C contiguous channels and every
# step of a transform is a vector operation over the channels (long, contiguous: vectorised),
# with no small loops over a plane's few tiles. The transformed tiles are ``(a*a, P, C)``: for
# each of the a*a positions a (tiles x channels) matrix, as BLAS takes it.
# (All loops index flat arrays with unsigned integers: no wrap-around tests, no array views
# made inside the loops; both cost more than the arithmetic here.)

@njit(cache=True, nogil=True)
def _to_channels_last(src, n0, n1, dst):
    """``dst[n - n0, h, w, c] = src[n, c, h, w]`` for samples ``n0 .. n1``, in 16 x 16 blocks
    (channel x position) so that reads and writes both stay within a few cache lines."""
    channels, area = src.shape[1], src.shape[2] * src.shape[3]
    flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
    for n in range(n0, n1):
        s0, d0 = n * channels * area, (n - n0) * area * channels
        for c0 in range(0, channels, 16):
            c1 = min(channels, c0 + 16)
            for q0 in range(0, area, 16):
                q1 = min(area, q0 + 16)
                for c in range(c0, c1):
                    for q in range(q0, q1):
                        flat_dst[uint64(d0 + q * channels + c)] = flat_src[uint64(s0 + c * area + q)]


@njit(cache=True, nogil=True)
def _from_channels_last(src, n0, n1, dst, bias, use_bias):
    """``dst[n, c, h, w] = src[n - n0, h, w, c] (+ bias[c])``: the way back, blocked alike."""
    channels, area = dst.shape[1], dst.shape[2] * dst.shape[3]
    flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
    for n in range(n0, n1):
        s0, d0 = (n - n0) * area * channels, n * channels * area
        for c0 in range(0, channels, 16):
            c1 = min(channels, c0 + 16)
            for q0 in range(0, area, 16):
                q1 = min(area, q0 + 16)
                for c in range(c0, c1):
                    add = bias[c] if use_bias else 0.0
                    for q in range(q0, q1):
                        flat_dst[uint64(d0 + c * area + q)] = flat_src[uint64(s0 + q * channels + c)] + add


@njit(cache=True, nogil=True)
def _to_channels_last16(src, n0, n1, dst):
    """:func:`_to_channels_last` for float32 with channels a multiple of 16, on 512-bit vectors: each
    16 x 16 block (channels x positions) is transposed in registers (``_simd.vtranspose16``: 16 vector
    loads, 64 shuffles, 16 vector stores, where the loop above moves its 256 values one by one);
    positions past the last whole block of 16 go one by one. Measured (one thread, 16 channels of
    32 x 32, per sample): 7.0 -> 1.4 us."""
    channels, area = src.shape[1], src.shape[2] * src.shape[3]
    flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
    whole = area - area % 16
    for n in range(n0, n1):
        s0, d0 = n * channels * area, (n - n0) * area * channels
        for c0 in range(0, channels, 16):
            for q0 in range(0, whole, 16):
                vtranspose16(flat_src, s0 + c0 * area + q0, area, flat_dst, d0 + q0 * channels + c0, channels)
            for c in range(c0, c0 + 16):
                for q in range(whole, area):
                    flat_dst[uint64(d0 + q * channels + c)] = flat_src[uint64(s0 + c * area + q)]


@njit(cache=True, nogil=True)
def _from_channels_last16(src, n0, n1, dst, bias, use_bias):
    """:func:`_from_channels_last` on 512-bit vectors (see :func:`_to_channels_last16`), the bias added
    to each block's rows in registers. (Added after the transpose, to the stored rows, it made the loop
    slower than the scalar one where those rows lie 4 KiB apart: 7.4 -> 11.8 us for 16 channels of
    32 x 32.) ``bias``: float32, at least ``C`` values (read when ``use_bias``)."""
    channels, area = dst.shape[1], dst.shape[2] * dst.shape[3]
    flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
    whole = area - area % 16
    for n in range(n0, n1):
        s0, d0 = (n - n0) * area * channels, n * channels * area
        for c0 in range(0, channels, 16):
            add = vload(bias, c0) if use_bias else vzero()  # (+ 0.0 where there is none, as the loop above)
            for q0 in range(0, whole, 16):
                vtranspose16_add(flat_src, s0 + q0 * channels + c0, channels, flat_dst, d0 + c0 * area + q0, area,
                                 add)
            for c in range(c0, c0 + 16):
                add = bias[c] if use_bias else np.float32(0.0)
                for q in range(whole, area):
                    flat_dst[uint64(d0 + c * area + q)] = flat_src[uint64(s0 + q * channels + c)] + add


@njit(cache=True, nogil=True)
def _tiles_in(src, R, step, off_h, off_w, tiles_h, tiles_w, out, half, acc):
    """``out[a*xi + nu, p*C : (p+1)*C] = (R @ tile_p @ R^T)[xi, nu]`` over the channels, ``R (a, b)``:
    ``out (a*a, pstride)``, one row per position of the tile (see ``_Plan.tiles_of``).

    ``src (n, H, W, C)`` is channels-last; tile ``p = (n, ty, tx)`` holds
    ``src[n, ty*step - off_h + i, tx*step - off_w + j, :]`` for ``i, j < b`` (zero outside).
    Work arrays: ``half`` (at least b*a*C values) and ``acc`` (C).
    """
    a, b = R.shape
    count, height, width, channels = src.shape
    tiles = tiles_h * tiles_w
    pstride = out.shape[1]
    flat_src, flat_out, flat_half = src.reshape(-1), out.reshape(-1), half.reshape(-1)
    for n in range(count):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                p = n * tiles + ty * tiles_w + tx
                # half[i, nu] = sum_j R[nu, j] tile[i, j]  (rows of the tile)
                for i in range(b):
                    row = ty * step - off_h + i
                    for nu in range(a):
                        h0 = (i * a + nu) * channels
                        for c in range(channels):
                            flat_half[uint64(h0 + c)] = 0.0
                        if row < 0 or row >= height:
                            continue
                        for j in range(b):
                            coef = R[nu, j]
                            col = tx * step - off_w + j
                            if coef != 0.0 and 0 <= col < width:
                                s0 = ((n * height + row) * width + col) * channels
                                for c in range(channels):
                                    flat_half[uint64(h0 + c)] += coef * flat_src[uint64(s0 + c)]
                # out[xi, nu] = sum_i R[xi, i] half[i, nu]  (then its columns)
                for xi in range(a):
                    for nu in range(a):
                        for c in range(channels):
                            acc[uint64(c)] = 0.0
                        for i in range(b):
                            coef = R[xi, i]
                            if coef != 0.0:
                                h0 = (i * a + nu) * channels
                                for c in range(channels):
                                    acc[uint64(c)] += coef * flat_half[uint64(h0 + c)]
                        o0 = (xi * a + nu) * pstride + p * channels
                        for c in range(channels):
                            flat_out[uint64(o0 + c)] = acc[uint64(c)]


@njit(cache=True, nogil=True)
def _tiles_out(src, Q, step, off_h, off_w, tiles_h, tiles_w, dst, accumulate, half, acc):
    """The other direction: ``(Q @ v_p @ Q^T)`` of each tile's ``a x a`` channel vectors
    ``v_p[xi, nu] = src[a*xi + nu, p*C : (p+1)*C]`` (``src (a*a, pstride)``) goes to ``dst[n, ty*step - off_h + i, tx*step - off_w + j, :]``
    (``i, j < b``, ``Q (b, a)``, ``dst (n, H, W, C)`` channels-last), written or
    (``accumulate``) added, cut where it falls outside the plane. Work arrays as ``_tiles_in``."""
    b, a = Q.shape
    count, height, width, channels = dst.shape
    tiles = tiles_h * tiles_w
    pstride = src.shape[1]
    flat_src, flat_dst, flat_half = src.reshape(-1), dst.reshape(-1), half.reshape(-1)
    for n in range(count):
        for ty in range(tiles_h):
            for tx in range(tiles_w):
                p = n * tiles + ty * tiles_w + tx
                # half[xi, j] = sum_nu Q[j, nu] v[xi, nu]
                for xi in range(a):
                    for j in range(b):
                        h0 = (xi * b + j) * channels
                        for c in range(channels):
                            flat_half[uint64(h0 + c)] = 0.0
                        for nu in range(a):
                            coef = Q[j, nu]
                            if coef != 0.0:
                                s0 = (xi * a + nu) * pstride + p * channels
                                for c in range(channels):
                                    flat_half[uint64(h0 + c)] += coef * flat_src[uint64(s0 + c)]
                # value[i, j] = sum_xi Q[i, xi] half[xi, j]
                for i in range(b):
                    row = ty * step - off_h + i
                    if row < 0 or row >= height:
                        continue
                    for j in range(b):
                        col = tx * step - off_w + j
                        if col < 0 or col >= width:
                            continue
                        for c in range(channels):
                            acc[uint64(c)] = 0.0
                        for xi in range(a):
                            coef = Q[i, xi]
                            if coef != 0.0:
                                h0 = (xi * b + j) * channels
                                for c in range(channels):
                                    acc[uint64(c)] += coef * flat_half[uint64(h0 + c)]
                        d0 = ((n * height + row) * width + col) * channels
                        if accumulate:
                            for c in range(channels):
                                flat_dst[uint64(d0 + c)] += acc[uint64(c)]
                        else:
                            for c in range(channels):
                                flat_dst[uint64(d0 + c)] = acc[uint64(c)]


@njit(cache=True, nogil=True)
def _weight_to_tiles(w, G, u, block, half, transposed, first, last):
    """The filters in the transformed space, ``U[k, c] = G @ w[k, c] @ G^T`` for every (k, c), from the
    weight as it is stored, ``w (K, C, 9)`` (each filter's taps row by row): into ``u[a*xi + nu, c, k]`` (the right-hand side of the
    forward's ``V @ U``) or, ``transposed``, ``u[a*xi + nu, k, c]`` (the input gradient's ``Z @ U^T``).

    One row of ``u``'s middle axis at a time (an input channel ``c``, or an output channel ``k``
    when ``transposed``): its 3x3 filters are first moved into ``block (9, L)`` (tap-major, ``L`` the
    last axis's length), so that every step after runs along ``L``; the weight is read in place (a
    transposed copy of it, made first, took longer than the transform: 5 ms for a 512->512 layer).
    The arithmetic per entry: ``half[xi, j] = G[xi, 0] w[0, j] + G[xi, 1] w[1, j] + G[xi, 2] w[2, j]``,
    ``U[xi, nu] = half[xi, 0] G[nu, 0] + half[xi, 1] G[nu, 1] + half[xi, 2] G[nu, 2]``.
    Rows ``first .. last`` of the middle axis (the threads share the rows out). Work arrays:
    ``block (9, L)``, ``half (a, 3, L)``."""
    out_channels, channels = w.shape[0], w.shape[1]
    a = G.shape[0]
    length = channels if transposed else out_channels
    for r in range(first, last):
        if transposed:  # w[r] is one contiguous (C, 9) run
            for l in range(length):
                for t in range(9):
                    block[t, l] = w[r, l, t]
        else:  # the filters of input channel r, one per output channel
            for l in range(length):
                for t in range(9):
                    block[t, l] = w[l, r, t]
        for xi in range(a):
            g0, g1, g2 = G[xi, 0], G[xi, 1], G[xi, 2]
            for j in range(3):
                for l in range(length):
                    half[xi, j, l] = g0 * block[j, l] + g1 * block[3 + j, l] + g2 * block[6 + j, l]
        for xi in range(a):
            for nu in range(a):
                g0, g1, g2 = G[nu, 0], G[nu, 1], G[nu, 2]
                for l in range(length):
                    u[a * xi + nu, r, l] = half[xi, 0, l] * g0 + half[xi, 1, l] * g1 + half[xi, 2, l] * g2


@njit(cache=True, nogil=True)
def _weight_from_tiles(dut, G, gw, block, half, first, last):
    """The adjoint: ``gw[k, c] = G^T @ dU[k, c] @ G`` with ``dU[k, c][xi, nu] = dut[a*xi + nu, k, c]``
    (the transformed weight gradient with the input channels last, as ``Z^T @ V`` gives it), straight
    into ``gw (K, C, 9)``, the weight's layout. Per output channel ``k``: the sums over ``xi``
    (nonzero ``G[xi, i]``) into ``half (3, a, C)``, over ``nu`` (nonzero ``G[nu, j]``) into
    ``block (9, C)``, then out to ``gw[k]``; output channels ``first .. last``."""
    channels = gw.shape[1]
    a = G.shape[0]
    for k in range(first, last):
        half[...] = 0.0
        for xi in range(a):
            for nu in range(a):
                for i in range(3):
                    coef = G[xi, i]
                    if coef != 0.0:
                        for c in range(channels):
                            half[i, nu, c] += coef * dut[a * xi + nu, k, c]
        for i in range(3):
            for j in range(3):
                t = 3 * i + j
                for c in range(channels):
                    block[t, c] = 0.0
                for nu in range(a):
                    coef = G[nu, j]
                    if coef != 0.0:
                        for c in range(channels):
                            block[t, c] += half[i, nu, c] * coef
        for c in range(channels):
            for t in range(9):
                gw[k, c, t] = block[t, c]


# ----------------------------------------------------------------------------------------- work arrays
def _workspace(name: str, size: int, dtype) -> np.ndarray:
    """A flat work array of ``size`` values for one call (``name`` says what it holds).

    Fresh large arrays cost a page fault per 4 KiB page the first time they are written (the
    kernel zeroes each page): for ResNet-sized layers that was a third of a Winograd forward
    (measured, CPU time). They come from ``workspace`` (memory reused across calls and layers).
    Each thread used to keep its own largest array per name for good: at the end of a ResNet-18
    step at batch 8 those held 38 MiB (five names, three threads), beside 43 MiB of gradients.
    """
    return workspace.empty(size, dtype)


# ----------------------------------------------------------------------------------------- geometry
def _row_stride(length: int) -> int:
    """Values from one position's row of transformed tiles to the next: ``length`` (tiles x channels)
    rounded up to 16 (64 bytes), and to an odd multiple of 16. The transforms read or write the a*a
    rows of a tile at once (36 streams for F(4,3)); rows a multiple of 4 KiB apart, as a multiple of
    1024 values is (64 channels x a chunk of 448 tiles, 256 x 4), all fall in one set of the 8-way L1
    cache, and an odd number of 64-byte lines apart they spread over all 64 sets. Measured (one
    thread, F(4,3), us, input / output transform, rows a multiple of 4 KiB apart -> this stride): 64
    channels on 32x32, one sample 53 / 56 -> 24 / 15, a chunk of 7 372 / 374 -> 168 / 112; 128 on 16x16,
    8 samples 197 / 231 -> 146 / 82; 256 on 8x8, 16 samples 243 / 224 -> 90 / 71; 512 on 4x4, 32
    samples 174 / 226 -> 86 / 80. Whole steps, paired (this module against the one before): ResNet-18
    training at batch 64 0.983, ResNet-18 at batch 8 0.981, the rest level (the transforms are a small
    part of a step)."""
    stride = -(-length // 16) * 16
    return stride if (stride // 16) % 2 else stride + 16


def _rows(tiles):
    """The ``(a*a, pstride)`` rows behind a ``tiles_of`` view (the transform loops' layout)."""
    stride = tiles.strides[0] // tiles.itemsize
    return np.lib.stride_tricks.as_strided(tiles, shape=(tiles.shape[0], stride),
                                           strides=(tiles.strides[0], tiles.itemsize))


class _Plan:
    """Sizes of one Winograd convolution: tiles, chunks, and the float matrices."""

    def __init__(self, x_shape, w_shape, padding, m, dtype):
        (self.batch, self.channels, self.height, self.width) = x_shape
        self.out_channels = w_shape[0]
        (self.pad_top, self.pad_bottom), (self.pad_left, self.pad_right) = _pads(padding)
        self.out_h = self.height + self.pad_top + self.pad_bottom - 2
        self.out_w = self.width + self.pad_left + self.pad_right - 2
        self.m, self.a = m, m + 2
        self.tiles_h, self.tiles_w = -(-self.out_h // m), -(-self.out_w // m)
        self.tiles = self.tiles_h * self.tiles_w
        self.AT, self.G, self.BT = _float_matrices(m, np.dtype(dtype).char)
        self.A, self.B = np.ascontiguousarray(self.AT.T), np.ascontiguousarray(self.BT.T)
        self.dtype = np.dtype(dtype)
        widest = max(self.channels, self.out_channels)
        per_sample = self.a * self.a * widest * self.tiles * self.dtype.itemsize
        small = widest <= SMALL_CHANNELS
        by_bytes = (SMALL_CHUNK_BYTES if small else CHUNK_BYTES) // max(per_sample, 1)
        by_rows = -(-(SMALL_MIN_CHUNK_TILES if small else MIN_CHUNK_TILES) // self.tiles)
        self.chunk = int(max(1, min(self.batch, max(by_bytes, by_rows))))

    def parts(self) -> int:
        macs = self.batch * self.tiles * self.a * self.a * self.channels * self.out_channels  # the products'
        parts = min(batch_workers(), self.batch)
        return parts if parts > 1 and worth_parallel_macs(macs) else 1

    def tile_buffer(self, name, channels, samples):
        """Room for the transformed tiles of one chunk of at most ``samples`` samples (a thread's slice
        may be shorter than a chunk) with ``channels`` channels (and each position's padding)."""
        return _workspace(name, self.a * self.a * (min(self.chunk, samples) * self.tiles * channels + 32), self.dtype)

    def tiles_of(self, buffer, count, channels, first=0, last=None):
        """The first ``count`` samples' worth of ``buffer`` as ``(a*a, count*tiles, channels)``: each of
        the a*a positions a contiguous (tiles, channels) matrix, the positions ``_row_stride`` apart.
        With ``first``/``last``: samples ``first .. last`` of that layout (the tiles of a slice of the
        batch within a buffer that holds the whole batch's; see :func:`_backward_shared`)."""
        width = count * self.tiles
        stride = _row_stride(width * channels)
        rows = buffer[:self.a * self.a * stride].reshape(self.a * self.a, stride)
        last = count if last is None else last
        return rows[:, first * self.tiles * channels:last * self.tiles * channels].reshape(
            self.a * self.a, (last - first) * self.tiles, channels)

    def batch_tile_buffer(self, name, channels):
        """Room for the transformed tiles of the whole batch (``tiles_of(buffer, batch, ...)``), plus
        the slack a slice's rows view (``_rows``) reaches past the last row."""
        width = self.batch * self.tiles * channels
        return _workspace(name, self.a * self.a * _row_stride(width) + width + 32, self.dtype)

    def transform_weight(self, w, transposed=False, kept=False):
        """U = G w G^T for every (k, c), as (a*a, C, K): the right-hand side of V @ U; or, ``transposed``,
        as (a*a, K, C), the right-hand side of the input gradient's Z @ U^T. (Arena memory: a
        512-channel layer's is 16-36 MiB, which fresh pages would cost a fault each to fill; ``kept``:
        memory of its own, for a transform kept between calls, ``kernels.kept``.)"""
        w9 = np.ascontiguousarray(w, self.dtype).reshape(self.out_channels, self.channels, 9)
        rows, length = (self.out_channels, self.channels) if transposed else (self.channels, self.out_channels)
        u = (np.empty if kept else workspace.empty)((self.a * self.a, rows, length), self.dtype)

        def part(first, last):
            _weight_to_tiles(w9, self.G, u, np.empty((9, length), self.dtype), np.empty((self.a, 3, length), self.dtype),
                             transposed, first, last)
        map_slices(part, rows, self._transform_parts(rows, length), single_threaded_blas=False)  # (no BLAS)
        return u

    def weight_from_tiles(self, dut):
        """grad w = G^T gradU G, from gradU as (a*a, K, C)."""
        dut = np.ascontiguousarray(dut)
        gw = workspace.empty((self.out_channels, self.channels, 3, 3), self.dtype)  # (see conv._WeightGradSum)
        gw9 = gw.reshape(self.out_channels, self.channels, 9)

        def part(first, last):
            _weight_from_tiles(dut, self.G, gw9, np.empty((9, self.channels), self.dtype),
                               np.empty((3, self.a, self.channels), self.dtype), first, last)
        map_slices(part, self.out_channels, self._transform_parts(self.out_channels, self.channels),
                   single_threaded_blas=False)
        return gw

    def _transform_parts(self, rows, length) -> int:
        """Threads for a weight transform: its rows are independent (the same values however split)."""
        return min(batch_workers(), rows) if worth_parallel(rows * length * self.a * self.a) else 1

    def work_arrays(self, samples):
        """Per-thread scratch: channels-last input and output planes of a chunk (of at most ``samples``
        samples), the tile loops' ``half`` and ``acc``."""
        widest = max(self.channels, self.out_channels)
        chunk = min(self.chunk, samples)
        planes_in = (chunk, self.height, self.width, self.channels)
        planes_out = (chunk, self.out_h, self.out_w, self.out_channels)
        return {"in": _workspace("in", int(np.prod(planes_in)), self.dtype).reshape(planes_in),
                "out": _workspace("out", int(np.prod(planes_out)), self.dtype).reshape(planes_out),
                "half": np.empty(self.a * self.a * widest, self.dtype), "acc": np.empty(widest, self.dtype)}

    def _vector(self, channels) -> bool:
        """Whether the tile transforms of ``channels`` channels run on 512-bit vectors
        (``_winograd_simd``: float32, ``_simd.takes_halves``, channels in blocks of 16)."""
        return _simd.takes_halves(self.dtype) and channels % 16 == 0 and self.m in (2, 4)

    def _channels_last(self, src, n0, n1, planes):
        """``planes = src[n0:n1]`` channels-last (512-bit blocks where the channels allow)."""
        if _simd.takes_halves(self.dtype) and src.shape[1] % 16 == 0:
            _to_channels_last16(src, n0, n1, planes)
        else:
            _to_channels_last(src, n0, n1, planes)

    def _channels_first(self, planes, n0, n1, dst, bias, use_bias):
        """``dst[n0:n1] = planes`` back in (n, C, H, W) (+ ``bias``)."""
        if _simd.takes_halves(self.dtype) and dst.shape[1] % 16 == 0:
            _from_channels_last16(planes, n0, n1, dst, bias, use_bias)
        else:
            _from_channels_last(planes, n0, n1, dst, bias, use_bias)

    def _in(self, planes, name, matrix, off_h, off_w, out, work):
        out = _rows(out)
        if self._vector(planes.shape[3]):
            getattr(_winograd_simd, f"tiles_in_{name}{self.m}")(planes, off_h, off_w, self.tiles_h, self.tiles_w, out,
                                                                 work["half"])
        else:
            _tiles_in(planes, matrix, self.m, off_h, off_w, self.tiles_h, self.tiles_w, out, work["half"], work["acc"])

    def _out(self, tiles, name, matrix, off_h, off_w, planes, accumulate, work):
        tiles = _rows(tiles)
        if self._vector(planes.shape[3]):
            getattr(_winograd_simd, f"tiles_out_{name}{self.m}")(tiles, off_h, off_w, self.tiles_h, self.tiles_w,
                                                                  planes, accumulate, work["half"])
        else:
            _tiles_out(tiles, matrix, self.m, off_h, off_w, self.tiles_h, self.tiles_w, planes, accumulate,
                       work["half"], work["acc"])

    def input_tiles(self, x, n0, n1, out, work):
        """V = B^T d B: the a x a tiles of samples n0..n1 of the input (stride m, shifted by the padding)."""
        planes = work["in"][:n1 - n0]
        self._channels_last(x, n0, n1, planes)
        self._in(planes, "BT", self.BT, self.pad_top, self.pad_left, out, work)
        return out

    def gradient_tiles(self, gy, n0, n1, out, work):
        """Z = A gy_tile A^T: the m x m tiles of the output gradient (R = A, a x m)."""
        planes = work["out"][:n1 - n0]
        self._channels_last(gy, n0, n1, planes)
        self._in(planes, "A", self.A, 0, 0, out, work)
        return out

    def output_from_tiles(self, tiles, y, n0, n1, work, bias=None):
        """y tile = A^T M A, into y[n0:n1] (tiles do not overlap), plus the bias."""
        planes = work["out"][:n1 - n0]
        self._out(tiles, "AT", self.AT, 0, 0, planes, False, work)
        use_bias = bias is not None
        self._channels_first(planes, n0, n1, y, bias if use_bias else work["acc"], use_bias)

    def input_grad_from_tiles(self, tiles, gx, n0, n1, work):
        """grad d = B gradV B^T, added over the overlapping tiles, into gx[n0:n1]."""
        planes = work["in"][:n1 - n0]
        planes[...] = 0.0
        self._out(tiles, "B", self.B, self.pad_top, self.pad_left, planes, True, work)
        self._channels_first(planes, n0, n1, gx, work["acc"], False)


def _pads(padding):
    """((top, bottom), (left, right)) from an int, (ph, pw) or ((top, bottom), (left, right))."""
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    out = []
    for p in padding:
        out.append((p, p) if isinstance(p, (int, np.integer)) else tuple(p))
    return tuple(out)


# ----------------------------------------------------------------------------------------- kept weights
# The transformed weight of a layer whose weight needs no gradient (inference, a frozen layer:
# ``winograd_forward(keep=True)``) is kept between calls (``kernels.kept``: beside a copy of the weight,
# compared bit for bit at each call, so never stale) where a call has at most ``KEEP_MAX_TILES`` tiles: at
# batch 1 the transform is a large part of the layer (64->64 on 32x32: ~90 of ~650 us; 128->128 ~270 us,
# 256->256 ~1.1 ms by F(4,3)); past that it is a small part of the call, and F(4,3)'s transform holds 4
# times the weight.
KEEP_MAX_TILES = 256


# ----------------------------------------------------------------------------------------- passes
def winograd_forward(x, w, padding=0, bias=None, m: int = 4, keep: bool = False):
    """``conv2d(x, w, bias, stride=1, padding=padding)`` for a 3x3 ``w`` by Winograd F(m, 3); ``keep``: ``w``
    needs no gradient, and its transform may be kept for the next call (``kernels.kept``)."""
    x = np.ascontiguousarray(x)
    plan = _Plan(x.shape, w.shape, padding, m, x.dtype)
    y = workspace.empty((plan.batch, plan.out_channels, plan.out_h, plan.out_w), x.dtype)
    if y.size == 0:
        return y
    if keep and plan.batch * plan.tiles <= KEEP_MAX_TILES:
        u = kept(("winograd", m, plan.dtype.str), w, lambda w: plan.transform_weight(w, kept=True))
    else:
        u = plan.transform_weight(w)
    bias = None if bias is None else np.ascontiguousarray(bias, x.dtype)

    def work(start, stop):
        v = plan.tile_buffer("v", plan.channels, stop - start)
        mm = plan.tile_buffer("m", plan.out_channels, stop - start)
        scratch = plan.work_arrays(stop - start)
        for n0 in range(start, stop, plan.chunk):
            n1 = min(stop, n0 + plan.chunk)
            vc, mc = plan.tiles_of(v, n1 - n0, plan.channels), plan.tiles_of(mm, n1 - n0, plan.out_channels)
            plan.input_tiles(x, n0, n1, vc, scratch)
            gemm.matmul(vc, u, out=mc)
            plan.output_from_tiles(mc, y, n0, n1, scratch, bias)
    map_slices(work, plan.batch, plan.parts())
    return y


def winograd_backward(gy, x_shape, w_shape, padding=0, x=None, w=None, m: int = 4):
    """Gradients of :func:`winograd_forward`: ``(grad x, grad w)``. Pass ``w`` for the input
    gradient and ``x`` for the weight gradient (None gives None); both share the transformed
    output gradient."""
    need_input, need_weight = w is not None, x is not None
    gy = np.ascontiguousarray(gy)
    plan = _Plan(tuple(x_shape), tuple(w_shape), padding, m, gy.dtype)
    gx = workspace.empty(x_shape, gy.dtype) if need_input else None
    if not (need_input or need_weight) or gy.size == 0:
        if need_input:
            gx[...] = 0.0
        return gx, (np.zeros(w_shape, gy.dtype) if need_weight else None)
    if need_weight:
        x = np.ascontiguousarray(x, gy.dtype)
    parts = plan.parts()
    if need_weight and _shares_tiles(plan, parts):
        return _backward_shared(plan, gy, x, w, gx, parts)
    ut = plan.transform_weight(w, transposed=True) if need_input else None

    def work(start, stop):
        z = plan.tile_buffer("m", plan.out_channels, stop - start)
        dv = plan.tile_buffer("dv", plan.channels, stop - start) if need_input else None
        # the input tiles of a chunk are transformed after the input gradient's tiles of that chunk
        # are spent, and have their shape: one buffer holds both in turn (ResNet-18 forward+backward at
        # batch 8: its 64-channel layers' backward was the step's peak; peak rise 90.4-91.8 -> 87.8-90.1 MiB)
        v = (dv if need_input else plan.tile_buffer("v", plan.channels, stop - start)) if need_weight else None
        # the first chunk's product goes straight into the total, later ones through ``partial``: a slice of
        # one chunk (small batches) needs no zeroed total, no second array and no addition pass (each is
        # a*a / 9 times the weight: 37 MiB for VGG's 256->256 layer over two threads, measured)
        du = partial = None
        scratch = plan.work_arrays(stop - start)
        for n0 in range(start, stop, plan.chunk):
            n1 = min(stop, n0 + plan.chunk)
            zc = plan.tiles_of(z, n1 - n0, plan.out_channels)
            plan.gradient_tiles(gy, n0, n1, zc, scratch)
            if need_input:
                dvc = plan.tiles_of(dv, n1 - n0, plan.channels)
                gemm.matmul(zc, ut, out=dvc)
                plan.input_grad_from_tiles(dvc, gx, n0, n1, scratch)
            if need_weight:
                vc = plan.tiles_of(v, n1 - n0, plan.channels)
                plan.input_tiles(x, n0, n1, vc, scratch)
                shape = (plan.a * plan.a, plan.out_channels, plan.channels)  # Z^T V: the input channels last
                if du is None:
                    du = gemm.matmul(zc.transpose(0, 2, 1), vc, out=workspace.empty(shape, gy.dtype))
                    continue
                if partial is None:
                    partial = workspace.empty(shape, gy.dtype)
                gemm.matmul(zc.transpose(0, 2, 1), vc, out=partial)
                du += partial
        return du

    partials = map_slices(work, plan.batch, parts)
    gw = None
    if need_weight:
        du = partials[0]
        for more in partials[1:]:  # in slice order: the same sum on every run
            du += more
        gw = plan.weight_from_tiles(du)
    return gx, gw


# A small batch of a layer with many channels (VGG's and ResNet's 256- and 512-channel layers at batch 2
# to 8) has transformed tiles smaller than its transformed weight gradient ``a*a*K*C``, of which the
# batch split above makes one per thread, added at the end. There the backward keeps the whole batch's
# tiles instead (each thread transforms its samples' into one buffer) and splits the weight gradient's
# products over the threads by position: one ``a*a*K*C`` array, and the input gradient's transformed
# weight let go before it is made. Measured (``benchmarks/worker.py --memory``, the whole process's peak
# rise, MiB, batch split -> this): VGG-11 forward+backward at batch 8 58.0 -> 53.0 (its peak was the
# backward of a 256->256 layer on 8x8 by F(2,3): two 4 MiB partials), ResNet-18 at batch 8 84.9 -> 83.3,
# VGG-11 and ResNet-18 at batch 2 and DenseNet-121 at batch 8 level. Time, paired in one process (20
# pairs, this switch on / off): VGG-11 b8 1.006 (IQR 0.988-1.031), ResNet-18 b8 0.995, VGG-11 b2 1.000,
# ResNet-18 b2 0.997, ResNet-18 training at batch 64 1.002.
SHARED_TILES = True


def _shares_tiles(plan: _Plan, parts: int) -> bool:
    """Whether the weight gradient's backward keeps the whole batch's tiles (:func:`_backward_shared`):
    the batch split over ``parts >= 2`` threads, and those tiles (output gradient's and input's) no
    larger than the weight-gradient partials the batch split would add."""
    return (SHARED_TILES and parts >= 2
            and plan.batch * plan.tiles * (plan.channels + plan.out_channels)
            <= (parts - 1) * plan.out_channels * plan.channels)


def _backward_shared(plan: _Plan, gy, x, w, gx, parts: int):
    """:func:`winograd_backward` (both gradients, or the weight's alone when ``w`` is None) with the
    batch's tiles in one buffer: the tiles (and the input gradient) by slices of the batch, then
    ``grad U[pos] = Z[pos]^T V[pos]`` over the whole batch by slices of the a*a positions, each
    position's sum in one product (the same order on every run, whatever the thread count)."""
    need_input = w is not None
    z = plan.batch_tile_buffer("z", plan.out_channels)
    v = plan.batch_tile_buffer("v", plan.channels)
    ut = plan.transform_weight(w, transposed=True) if need_input else None

    def tiles(start, stop):
        dv = plan.tile_buffer("dv", plan.channels, stop - start) if need_input else None
        scratch = plan.work_arrays(stop - start)
        for n0 in range(start, stop, plan.chunk):
            n1 = min(stop, n0 + plan.chunk)
            zc = plan.tiles_of(z, plan.batch, plan.out_channels, n0, n1)
            plan.gradient_tiles(gy, n0, n1, zc, scratch)
            if need_input:
                dvc = plan.tiles_of(dv, n1 - n0, plan.channels)
                gemm.matmul(zc, ut, out=dvc)
                plan.input_grad_from_tiles(dvc, gx, n0, n1, scratch)
            plan.input_tiles(x, n0, n1, plan.tiles_of(v, plan.batch, plan.channels, n0, n1), scratch)

    map_slices(tiles, plan.batch, parts)
    ut = None  # (let go before the weight gradient's arrays are made)
    zs = plan.tiles_of(z, plan.batch, plan.out_channels)
    vs = plan.tiles_of(v, plan.batch, plan.channels)
    positions = plan.a * plan.a
    du = workspace.empty((positions, plan.out_channels, plan.channels), gy.dtype)
    map_slices(lambda s, e: gemm.matmul(zs[s:e].transpose(0, 2, 1), vs[s:e], out=du[s:e]), positions,
               min(parts, positions))
    return gx, plan.weight_from_tiles(du)
