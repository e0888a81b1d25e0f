"""torch's indexing, joining and "other" functions at the top level: the Tensor methods of
``juanji/_tensor/matrices.py``, ``placement.py`` and ``statistics.py`` as functions (with ``out=``
where torch has it), and the functions that have no method: ``column_stack``, ``dstack``,
``row_stack``, ``atleast_3d``, ``broadcast_to``, ``block_diag``, ``combinations``,
``tril_indices``/``triu_indices``, ``vander``, ``bucketize``, ``searchsorted``, ``histogramdd``,
``unravel_index``, ``gradient``.
"""

from __future__ import annotations

import builtins
import itertools

import numpy as np

from . import _dtype as dt
from ._out import supports_out
from ._tensor.special import require_tensor
from .ops import shape as S
from .tensor import Size, Tensor, tensor

# torch.f(input, *args) == input.f(*args)
_WITH_OUT = ["kron", "cross", "renorm", "diff", "index_add", "index_copy", "index_reduce", "scatter_reduce", "take",
             "take_along_dim", "narrow_copy", "histc", "histogram", "slice_scatter",
             # linear algebra (juanji/_tensor/decompositions.py)
             "inverse", "slogdet", "cholesky", "qr", "svd", "matrix_power", "cholesky_solve", "cholesky_inverse",
             "triangular_solve", "addmm", "addmv", "addr", "baddbmm", "addbmm", "vdot"]
_WITHOUT_OUT = ["diagonal", "diag_embed", "diagflat", "trace", "rot90", "fliplr", "flipud", "adjoint", "cov",
                "corrcoef", "tile", "argwhere", "hsplit", "vsplit", "dsplit", "bincount", "clone", "select_scatter",
                "diagonal_scatter", "det", "logdet", "pinverse"]

__all__ = _WITH_OUT + _WITHOUT_OUT + [
    "column_stack", "dstack", "row_stack", "atleast_3d", "broadcast_to", "block_diag", "combinations",
    "tril_indices", "triu_indices", "vander", "bucketize", "searchsorted", "histogramdd", "unravel_index",
    "gradient", "range", "chain_matmul", "trapezoid", "trapz", "cumulative_trapezoid"]


def _method_function(name, with_out):
    def fn(input, *args, **kwargs):
        require_tensor(input, name, "input", 1)
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``juanji.{name}(input, ...)`` is ``input.{name}(...)``."
    return supports_out(fn) if with_out else fn


for _name in _WITH_OUT:
    globals()[_name] = _method_function(_name, True)
for _name in _WITHOUT_OUT:
    globals()[_name] = _method_function(_name, False)


def _tensors(tensors, name):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return list(tensors)


def _join(parts, dim):
    """cat of parts promoted to their common dtype."""
    target = parts[0].dtype
    for p in parts[1:]:
        target = dt.promote_types(target, p.dtype)
    return S.Cat.apply(*[p._cast(target) for p in parts], axis=dim)


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dims: [n] -> [1, n, 1], [m, n] -> [m, n, 1]."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(atleast_3d(t) for t in tensors[0])
    if len(tensors) > 1:
        return tuple(atleast_3d(t) for t in tensors)
    t = tensors[0]
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1, 1)
    if t.ndim == 2:
        return t.unsqueeze(-1)
    return t


@supports_out
def column_stack(tensors):
    """Join as columns: 0-d and 1-d tensors become columns [n, 1], then cat along dim 1."""
    parts = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in _tensors(tensors, "column_stack")]
    return _join(parts, 1)


@supports_out
def dstack(tensors):
    """Join along dim 2 after ``atleast_3d``."""
    return _join([atleast_3d(t) for t in _tensors(tensors, "dstack")], 2)


@supports_out
def row_stack(tensors):
    """The same as vstack: 1-d tensors become rows, then cat along dim 0."""
    return _join([t.reshape(1, -1) if t.ndim <= 1 else t for t in _tensors(tensors, "row_stack")], 0)


def broadcast_to(input, size):
    """input expanded to ``size`` (-1 keeps a dim)."""
    return input.expand(size)


def block_diag(*tensors):
    """The tensors (0-d, 1-d as a row, or 2-d) on the diagonal of a block matrix, zeros elsewhere."""
    mats = []
    for k, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                               f"{t.ndim} dimensions")
        mats.append(t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t)
    if not mats:
        return tensor(np.zeros((0, 0), dt.get_default_dtype().np))
    target = mats[0].dtype
    for m in mats[1:]:
        target = dt.promote_types(target, m.dtype)
    total_cols = sum(m.shape[1] for m in mats)
    rows, before = [], 0
    for m in mats:
        m = m._cast(target)
        r, c = m.shape
        pieces = []
        if before:
            pieces.append(m.new_zeros(r, before))
        pieces.append(m)
        if total_cols - before - c:
            pieces.append(m.new_zeros(r, total_cols - before - c))
        rows.append(S.Cat.apply(*pieces, axis=1) if len(pieces) > 1 else m)
        before += c
    return S.Cat.apply(*rows, axis=0) if len(rows) > 1 else rows[0]


def combinations(input, r=2, with_replacement=False):
    """The length-r combinations of a 1-D tensor's elements, one per row (like itertools)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty(0)
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = np.array(list(make(builtins.range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[tensor(index)]


def _triangle_indices(row, col, offset, dtype, lower):
    rows, cols = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return tensor(np.stack([rows, cols]).astype(dt.to_dtype(dtype).np if dtype is not None else np.int64))


def tril_indices(row, col, offset=0, *, dtype=None, device="cpu", layout=None):
    """The (row, col) indices of the lower triangle (with the offset-diagonal) of a row x col matrix."""
    return _triangle_indices(row, col, offset, dtype, True)


def triu_indices(row, col, offset=0, *, dtype=None, device="cpu", layout=None):
    """The (row, col) indices of the upper triangle (with the offset-diagonal) of a row x col matrix."""
    return _triangle_indices(row, col, offset, dtype, False)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix: columns x^(N-1), ..., x, 1 (or increasing powers)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    base = x if x.dtype.is_floating_point else x._cast(dt.int64)
    powers = np.arange(n) if increasing else np.arange(n)[::-1].copy()
    if n == 0:
        return base.new_empty(x.shape[0], 0)
    return base.unsqueeze(1) ** tensor(powers.astype(base.dtype.np))


@supports_out
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """For each value, the index where it would go in the sorted last dim of ``sorted_sequence``
    (the first such place, or after equal elements with ``right=True`` / ``side='right'``)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    seq = sorted_sequence._host()
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._host(), -1)
    values = input._host() if isinstance(input, Tensor) else np.asarray(input)
    how = "right" if right else "left"
    if seq.ndim == 1:
        found = np.searchsorted(seq, values, side=how)
    else:
        if values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               "dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(values.shape)}")
        flat_seq, flat_values = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        found = np.stack([np.searchsorted(s, v, side=how) for s, v in zip(flat_seq, flat_values)]).reshape(values.shape)
    return Tensor._from_array(np.asarray(found, dtype=np.int32 if out_int32 else np.int64))


@supports_out
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among the sorted 1-D ``boundaries``: i with
    boundaries[i-1] < x <= boundaries[i] (< and <= swapped with ``right=True``)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """``(hist, bin_edges)`` of the points in the rows of ``input`` [N, D]: ``bins`` an int or one
    per dim, or D tensors of bin edges."""
    from ._tensor.reductions import return_types
    data = input._host().reshape(-1, input.shape[-1])
    if isinstance(bins, (list, tuple)) and bins and isinstance(bins[0], Tensor):
        edges = [b._host() for b in bins]
    else:
        edges = bins
    ranges = None
    if range is not None:
        flat = [float(v) for v in range]
        ranges = [(flat[2 * k], flat[2 * k + 1]) for k in builtins.range(len(flat) // 2)]
    w = None if weight is None else weight._host().reshape(-1)
    hist, out_edges = np.histogramdd(data, bins=edges, range=ranges, weights=w, density=density)
    dtype = input._data.dtype
    return return_types.histogramdd(Tensor._from_array(hist.astype(dtype)),
                                    tuple(Tensor._from_array(e.astype(dtype)) for e in out_edges))



def unravel_index(indices, shape):
    """The coordinates in a tensor of ``shape`` of each flat index (a tuple, one tensor per dim)."""
    if not isinstance(indices, Tensor):
        indices = tensor(indices)
    if indices.dtype.is_floating_point or indices.dtype is dt.bool:
        raise TypeError("expected 'indices' to be integer dtype, but got " + indices.dtype.name)
    shape = tuple(Size(shape) if not isinstance(shape, int) else (shape,))
    flat = indices._host().astype(np.int64)
    total = int(np.prod(shape))
    if flat.size and (flat.min() < -total or flat.max() >= total):
        raise RuntimeError("index out of bounds for the given shape")
    coords = np.unravel_index(flat % total if total else flat, shape)
    return tuple(Tensor._from_array(np.asarray(c, dtype=np.int64)) for c in coords)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative estimated by central differences inside and one-sided differences at the
    edges (first or second order), along each dim of ``dim`` (all by default): a tuple.

    ``spacing``: a number (the same step everywhere), one number per dim, or one coordinate
    tensor per dim (non-uniform points, NumPy's three-point formula)."""
    dims = list(builtins.range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [d % input.ndim for d in dims]
    if isinstance(spacing, (int, float)):
        spacing = [spacing] * len(dims)
    elif isinstance(spacing, Tensor):
        spacing = [spacing.item()] * len(dims) if spacing.ndim == 0 else [spacing]
    spacing = list(spacing)
    if len(spacing) == 1 and len(dims) > 1:
        spacing = spacing * len(dims)
    if len(spacing) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length "
                           f"{len(spacing)} and a dim argument of length {len(dims)}.")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    x = input._floating()
    return tuple(_gradient_along(x, d, h, edge_order) for d, h in zip(dims, spacing))


def _gradient_along(x, d, h, edge_order):
    n = x.shape[d]
    if n < edge_order + 1:
        raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")

    def part(start, length):
        return x.narrow(d, start, length)

    if isinstance(h, Tensor):  # coordinates: NumPy's non-uniform formulas
        shape = [1] * x.ndim
        shape[d] = -1
        coords = h._cast(x.dtype)
        dx = (coords[1:] - coords[:-1]).reshape(shape)
        h1, h2 = dx.narrow(d, 0, n - 2), dx.narrow(d, 1, n - 2)
        inner = (-(h2 / (h1 * (h1 + h2))) * part(0, n - 2) + ((h2 - h1) / (h1 * h2)) * part(1, n - 2)
                 + (h1 / (h2 * (h1 + h2))) * part(2, n - 2))
        first = (part(1, 1) - part(0, 1)) / dx.narrow(d, 0, 1)
        last = (part(n - 1, 1) - part(n - 2, 1)) / dx.narrow(d, n - 2, 1)
        if edge_order == 2:
            a1, a2 = dx.narrow(d, 0, 1), dx.narrow(d, 1, 1)
            first = (-(2 * a1 + a2) / (a1 * (a1 + a2)) * part(0, 1) + (a1 + a2) / (a1 * a2) * part(1, 1)
                     - a1 / (a2 * (a1 + a2)) * part(2, 1))
            b1, b2 = dx.narrow(d, n - 3, 1), dx.narrow(d, n - 2, 1)
            last = (b2 / (b1 * (b1 + b2)) * part(n - 3, 1) - (b1 + b2) / (b1 * b2) * part(n - 2, 1)
                    + (2 * b2 + b1) / (b2 * (b1 + b2)) * part(n - 1, 1))
    else:
        h = float(h)
        inner = (part(2, n - 2) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (part(1, 1) - part(0, 1)) / h
            last = (part(n - 1, 1) - part(n - 2, 1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2 * part(1, 1) - 0.5 * part(2, 1)) / h
            last = (0.5 * part(n - 3, 1) - 2 * part(n - 2, 1) + 1.5 * part(n - 1, 1)) / h
    return S.Cat.apply(first, inner, last, axis=d)


@supports_out
def range(start, end, step=1, *, dtype=None, layout=None, device=None, requires_grad=False):
    """Deprecated in torch: start, start + step, ... up to and including end (default float dtype)."""
    import warnings
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=3)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    count = int(builtins.abs((end - start) / step)) + 1
    values = (start + np.arange(count, dtype=np.float64) * step).astype(d.np)
    result = Tensor._from_array(values)
    return result.requires_grad_(True) if requires_grad else result


@supports_out
def chain_matmul(*matrices):
    """The product of the matrices left to right (deprecated in torch for linalg.multi_dot)."""
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    result = matrices[0]
    for m in matrices[1:]:
        result = result @ m
    return result


def _trapezoid_steps(y, x, dx, dim):
    d = dim % y.ndim
    n = y.shape[d]
    if x is None:
        return d, n, None
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        shape = [1] * y.ndim
        shape[d] = n - 1
        return d, n, (x[1:] - x[:-1]).reshape(shape)
    return d, n, x.diff(dim=d)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of y along ``dim`` by the trapezoidal rule: sum (y_i + y_{i+1}) / 2 * dx_i
    (dx_i from the sample points x, or the constant dx, default 1)."""
    if isinstance(x, (int, float)) and dx is None:
        x, dx = None, x
    d, n, steps = _trapezoid_steps(y, x, dx, dim)
    if n == 0:
        return y.sum(d)
    halves = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) * 0.5
    if steps is None:
        return halves.sum(d) * (1.0 if dx is None else dx)
    return (halves * steps).sum(d)


def trapz(y, x=None, *, dx=None, dim=-1):
    """The older name of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoidal integral of y along ``dim`` (one element fewer than y)."""
    if isinstance(x, (int, float)) and dx is None:
        x, dx = None, x
    d, n, steps = _trapezoid_steps(y, x, dx, dim)
    halves = (y.narrow(d, 1, max(n - 1, 0)) + y.narrow(d, 0, max(n - 1, 0))) * 0.5
    areas = halves * (1.0 if dx is None else dx) if steps is None else halves * steps
    return areas.cumsum(d)
