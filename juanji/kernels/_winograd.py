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

from ._threads import batch_workers, map_slices, worth_parallel

__all__ = ["winograd_matrices", "applies", "TILE_POINTS", "winograd_forward", "winograd_backward", "error_bound"]

# interpolation points per output tile size m (and infinity); a = m + 2 points in all
TILE_POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2), 6: (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))}
CHUNK_BYTES = 2 << 20  # transformed input tiles of one chunk, about this many bytes


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
# Each loop works one channel at a time on the tiles of a few samples, in three steps whose
# inner loops all run over the tiles (contiguous, vectorised): gather every tile's b x b values
# into ``(b, b, tiles)`` (zero outside the plane), then apply the matrix along j, then along i.
# The tiles of one channel stay in cache between the steps.

@njit(cache=True, inline="always")
def _axpy(dst, src, coef, count):
    """``dst[:count] += coef * src[:count]`` (1-d arrays; unsigned indices: no wrap-around test)."""
    for q in range(count):
        dst[uint64(q)] += coef * src[uint64(q)]


@njit(cache=True, inline="always")
def _valid_tiles(offset, step, size, tiles):
    """Tiles ``[t0, t1)`` whose position ``t*step + offset`` lies in ``[0, size)``."""
    t0 = 0 if offset >= 0 else (-offset + step - 1) // step
    last = size - 1 - offset
    if last < 0:
        return 0, 0
    t1 = min(tiles, last // step + 1)
    return t0, max(t0, t1)


@njit(cache=True, inline="always")
def _apply_both_sides(gathered, half, R, out_c, count, row):
    """``out_c[a*xi + nu] = sum_ij R[xi, i] R[nu, j] gathered[i, j]`` (each over ``count`` tiles).
    Each output row is summed in ``row`` (in cache) and stored once: ``out_c`` is large."""
    a, b = R.shape
    half[:, :, :count] = 0.0
    for i in range(b):
        for nu in range(a):
            for j in range(b):
                coef = R[nu, j]
                if coef != 0.0:
                    _axpy(half[i, nu], gathered[i, j], coef, count)
    for xi in range(a):
        for nu in range(a):
            row[:count] = 0.0
            for i in range(b):
                coef = R[xi, i]
                if coef != 0.0:
                    _axpy(row, half[i, nu], coef, count)
            target = out_c[a * xi + nu]
            for q in range(count):
                target[uint64(q)] = row[uint64(q)]


@njit(cache=True, nogil=True)
def _tiles_in(src, n0, n1, R, step, off_h, off_w, tiles_h, tiles_w, out, gathered, half, line_sum):
    """``out[a*xi + nu, c, p] = (R @ tile @ R^T)[xi, nu]`` for every tile ``p`` of samples
    ``n0 .. n1`` of ``src (N, C, H, W)``, with ``R (a, b)``.

    Tile ``p = (n - n0, ty, tx)`` holds ``src[n, c, ty*step - off_h + i, tx*step - off_w + j]``
    for ``i, j < b``, zero outside the plane. Work arrays: ``gathered (b, b, P)``, ``half (b, a, P)``.
    """
    a, b = R.shape
    channels, height, width = src.shape[1], src.shape[2], src.shape[3]
    count = (n1 - n0) * tiles_h * tiles_w
    flat = src.reshape(-1)
    into = gathered.reshape(-1)
    stride_g = gathered.shape[2]
    for c in range(channels):
        for i in range(b):
            for j in range(b):
                t0, t1 = _valid_tiles(j - off_w, step, width, tiles_w)
                target = (i * gathered.shape[1] + j) * stride_g
                p = 0
                for n in range(n0, n1):
                    for ty in range(tiles_h):
                        row = ty * step - off_h + i
                        start = target + p
                        if row < 0 or row >= height:
                            for tx in range(tiles_w):
                                into[uint64(start + tx)] = 0.0
                        else:
                            source = ((n * channels + c) * height + row) * width + j - off_w
                            for tx in range(t0):
                                into[uint64(start + tx)] = 0.0
                            for tx in range(t0, t1):
                                into[uint64(start + tx)] = flat[uint64(source + tx * step)]
                            for tx in range(t1, tiles_w):
                                into[uint64(start + tx)] = 0.0
                        p += tiles_w
        _apply_both_sides(gathered, half, R, out[:, c], count, line_sum)


@njit(cache=True, nogil=True)
def _tiles_out(src, Q, step, off_h, off_w, tiles_h, tiles_w, dst, n0, n1, accumulate, gathered, half, line_sum):
    """The other direction: ``(Q @ v @ Q^T)`` of each tile's ``a x a`` values
    ``v[xi, nu] = src[a*xi + nu, ch, p]`` goes to ``dst[n, ch, ty*step - off_h + i,
    tx*step - off_w + j]`` (``i, j < b``, ``Q (b, a)``), written or (``accumulate``) added, and
    cut where it falls outside the plane. Work arrays: ``gathered (b, b, P)``, ``half (b, a, P)``."""
    b, a = Q.shape
    channels, height, width = dst.shape[1], dst.shape[2], dst.shape[3]
    count = (n1 - n0) * tiles_h * tiles_w
    flat = dst.reshape(-1)
    values = gathered.reshape(-1)
    stride_g = gathered.shape[2]
    for ch in range(channels):
        # half[j, xi] = sum_nu Q[j, nu] v[xi, nu];  gathered[i, j] = sum_xi Q[i, xi] half[j, xi]
        half[:, :, :count] = 0.0
        for xi in range(a):
            for j in range(b):
                for nu in range(a):
                    coef = Q[j, nu]
                    if coef != 0.0:
                        _axpy(half[j, xi], src[a * xi + nu, ch], coef, count)
        gathered[:, :, :count] = 0.0
        for i in range(b):
            for xi in range(a):
                coef = Q[i, xi]
                if coef != 0.0:
                    for j in range(b):
                        _axpy(gathered[i, j], half[j, xi], coef, count)
        for i in range(b):
            for j in range(b):
                t0, t1 = _valid_tiles(j - off_w, step, width, tiles_w)
                source = (i * gathered.shape[1] + j) * stride_g
                p = 0
                for n in range(n0, n1):
                    for ty in range(tiles_h):
                        row = ty * step - off_h + i
                        if 0 <= row < height:
                            target = ((n * channels + ch) * height + row) * width + j - off_w
                            if accumulate:
                                for tx in range(t0, t1):
                                    flat[uint64(target + tx * step)] += values[uint64(source + p + tx)]
                            else:
                                for tx in range(t0, t1):
                                    flat[uint64(target + tx * step)] = values[uint64(source + p + tx)]
                        p += tiles_w


# ----------------------------------------------------------------------------------------- geometry
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
        self.chunk = int(max(1, min(self.batch, CHUNK_BYTES // max(per_sample, 1))))

    def parts(self) -> int:
        work = self.batch * self.tiles * self.channels * self.out_channels
        parts = min(batch_workers(), self.batch)
        return parts if parts > 1 and worth_parallel(work) else 1

    def tile_array(self, channels, count):
        return np.empty((self.a * self.a, channels, count * self.tiles), self.dtype)

    def transform_weight(self, w):
        """U = G w G^T for every (k, c), as (a*a, K, C)."""
        u = np.einsum("ai,kcij,bj->abkc", self.G, w, self.G, optimize=True)
        return np.ascontiguousarray(u.reshape(self.a * self.a, self.out_channels, self.channels))

    def work_arrays(self):
        """Per-thread scratch for the tile loops: ``(a, a, chunk tiles)`` twice and one row."""
        shape = (self.a, self.a, self.chunk * self.tiles)
        return np.empty(shape, self.dtype), np.empty(shape, self.dtype), np.empty(shape[2], self.dtype)

    def input_tiles(self, x, n0, n1, out, work):
        """V = B^T d B: the a x a tiles of the input (stride m, shifted by the padding)."""
        _tiles_in(x, n0, n1, self.BT, self.m, self.pad_top, self.pad_left, self.tiles_h, self.tiles_w, out, *work)
        return out

    def gradient_tiles(self, gy, n0, n1, out, work):
        """Z = A gy_tile A^T: the m x m tiles of the output gradient (R = A, a x m)."""
        _tiles_in(gy, n0, n1, self.A, self.m, 0, 0, self.tiles_h, self.tiles_w, out, *work)
        return out

    def output_from_tiles(self, tiles, y, n0, n1, work):
        """y tile = A^T M A, written into y (tiles do not overlap)."""
        _tiles_out(tiles, self.AT, self.m, 0, 0, self.tiles_h, self.tiles_w, y, n0, n1, False, *work)

    def input_grad_from_tiles(self, tiles, gx, n0, n1, work):
        """grad d = B gradV B^T, added into gx (neighbouring tiles overlap by 2)."""
        _tiles_out(tiles, self.B, self.m, self.pad_top, self.pad_left, self.tiles_h, self.tiles_w, gx, n0, n1,
                   True, *work)


def _pads(padding):
    """((top, bottom), (left, right)) from an int, (ph, pw) or ((top, bottom), (left, right))."""
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    out = []
    for p in padding:
        out.append((p, p) if isinstance(p, (int, np.integer)) else tuple(p))
    return tuple(out)


# ----------------------------------------------------------------------------------------- passes
def winograd_forward(x, w, padding=0, bias=None, m: int = 4):
    """``conv2d(x, w, bias, stride=1, padding=padding)`` for a 3x3 ``w`` by Winograd F(m, 3)."""
    x = np.ascontiguousarray(x)
    plan = _Plan(x.shape, w.shape, padding, m, x.dtype)
    y = np.empty((plan.batch, plan.out_channels, plan.out_h, plan.out_w), x.dtype)
    if y.size == 0:
        return y
    u = plan.transform_weight(np.asarray(w, x.dtype))
    bias = None if bias is None else np.asarray(bias, x.dtype)[:, None, None]

    def work(start, stop):
        v = plan.tile_array(plan.channels, plan.chunk)
        mm = plan.tile_array(plan.out_channels, plan.chunk)
        scratch = plan.work_arrays()
        for n0 in range(start, stop, plan.chunk):
            n1 = min(stop, n0 + plan.chunk)
            width = (n1 - n0) * plan.tiles
            vc, mc = v[:, :, :width], mm[:, :, :width]
            plan.input_tiles(x, n0, n1, vc, scratch)
            np.matmul(u, vc, out=mc)
            plan.output_from_tiles(mc, y, n0, n1, scratch)
            if bias is not None:
                y[n0:n1] += bias
    map_slices(work, plan.batch, plan.parts())
    return y


def winograd_backward(gy, x_shape, w_shape, padding=0, x=None, w=None, m: int = 4):
    """Gradients of :func:`winograd_forward`: ``(grad x, grad w)``. Pass ``w`` for the input
    gradient and ``x`` for the weight gradient (None gives None); both share the transformed
    output gradient."""
    need_input, need_weight = w is not None, x is not None
    gy = np.ascontiguousarray(gy)
    plan = _Plan(tuple(x_shape), tuple(w_shape), padding, m, gy.dtype)
    gx = np.zeros(x_shape, gy.dtype) if need_input else None
    if not (need_input or need_weight) or gy.size == 0:
        return gx, (np.zeros(w_shape, gy.dtype) if need_weight else None)
    if need_weight:
        x = np.ascontiguousarray(x, gy.dtype)
    ut = np.ascontiguousarray(plan.transform_weight(np.asarray(w, gy.dtype)).transpose(0, 2, 1)) \
        if need_input else None

    def work(start, stop):
        z = plan.tile_array(plan.out_channels, plan.chunk)
        dv = plan.tile_array(plan.channels, plan.chunk) if need_input else None
        v = plan.tile_array(plan.channels, plan.chunk) if need_weight else None
        du = np.zeros((plan.a * plan.a, plan.out_channels, plan.channels), gy.dtype) if need_weight else None
        partial = np.empty_like(du) if need_weight else None
        scratch = plan.work_arrays()
        for n0 in range(start, stop, plan.chunk):
            n1 = min(stop, n0 + plan.chunk)
            width = (n1 - n0) * plan.tiles
            zc = z[:, :, :width]
            plan.gradient_tiles(gy, n0, n1, zc, scratch)
            if need_input:
                dvc = dv[:, :, :width]
                np.matmul(ut, zc, out=dvc)
                plan.input_grad_from_tiles(dvc, gx, n0, n1, scratch)
            if need_weight:
                vc = v[:, :, :width]
                plan.input_tiles(x, n0, n1, vc, scratch)
                np.matmul(zc, vc.transpose(0, 2, 1), out=partial)
                du += partial
        return du

    partials = map_slices(work, plan.batch, plan.parts())
    gw = None
    if need_weight:
        du = partials[0]
        for more in partials[1:]:  # in slice order: the same sum on every run
            du += more
        du = du.reshape(plan.a, plan.a, plan.out_channels, plan.channels)
        gw = np.ascontiguousarray(np.einsum("ai,abkc,bj->kcij", plan.G, du, plan.G, optimize=True))
    return gx, gw
