"""Top-level torch functions: ``juanji.cat``, ``juanji.exp(x)``, ``juanji.where`` ...

Most are the Tensor method of the same name called on the first argument; the ones that take
several tensors (cat, stack, where, einsum, broadcast_tensors) build their Op here.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import _dtype as dt
from ._out import supports_out
from .ops import linalg as L
from .ops import shape as S
from ._tensor.arguments import _dim, numpy_aliases
from ._tensor.binary import _to_operand
from ._tensor.indexing import _where
from .tensor import Tensor, tensor

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "where", "einsum", "broadcast_tensors",
           "broadcast_shapes", "equal", "allclose", "isclose", "is_tensor", "numel", "clamp", "clip",
           "meshgrid", "cdist", "is_floating_point", "result_type", "promote_types",
           "can_cast", "split", "chunk", "unbind", "tensordot", "cartesian_prod", "atleast_1d", "atleast_2d",
           "var_mean", "std_mean"]

# torch.f(x, *args) == x.f(*args) for these
_METHOD_FUNCTIONS = [
    "abs", "absolute", "exp", "log", "log1p", "log2", "log10", "expm1", "sqrt", "rsqrt", "square", "reciprocal",
    "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "sgn", "floor", "ceil", "trunc", "frac", "round", "neg",
    "negative", "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "fmod", "pow", "maximum", "minimum", "matmul", "mm", "bmm", "mv", "dot", "outer", "ger", "lerp",
    "sum", "nansum", "mean", "prod", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp",
    "norm", "cumsum", "all", "any", "count_nonzero", "sort", "argsort", "topk", "reshape", "flatten", "unflatten",
    "squeeze", "unsqueeze", "permute", "transpose", "swapaxes", "swapdims", "t", "flip", "roll", "narrow",
    "select", "gather", "scatter", "scatter_add", "index_select", "masked_fill", "masked_select", "nonzero",
    "repeat_interleave", "clamp_min", "clamp_max", "isnan", "isinf", "isfinite", "logical_not", "logical_and",
    "logical_or", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
    "not_equal", "unique", "tensor_split", "softmax", "log_softmax", "ravel", "movedim", "moveaxis", "inner",
    "tril", "triu", "diag",
]


def _make_function(name):
    def fn(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            input = _to_operand(input, Tensor) if not isinstance(input, (int, float, bool)) else tensor(input)
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"``juanji.{name}(input, ...)`` is ``input.{name}(...)``."
    return fn if name in _WITHOUT_OUT else supports_out(fn)


# the functions above for which torch has no out= argument
_WITHOUT_OUT = {"reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "permute", "transpose", "swapaxes",
                "swapdims", "t", "narrow", "select", "isfinite", "unique", "tensor_split", "ravel", "movedim",
                "moveaxis"}


# torch.f_(x, *args) == x.f_(*args): the in-place forms torch offers as functions too (no out=)
_INPLACE_FUNCTIONS = ["relu_", "sigmoid_", "tanh_", "exp_", "log_", "sqrt_", "rsqrt_", "square_", "abs_", "neg_",
                      "sin_", "cos_", "floor_", "ceil_", "round_", "trunc_", "frac_", "reciprocal_", "clamp_",
                      "clamp_min_", "clamp_max_", "zero_", "fill_"]
_WITHOUT_OUT.update(_INPLACE_FUNCTIONS)

for _name in _METHOD_FUNCTIONS + _INPLACE_FUNCTIONS:
    globals()[_name] = _make_function(_name)
__all__ += _METHOD_FUNCTIONS + _INPLACE_FUNCTIONS

# the builtins shadowed by the loop above stay reachable for this module
_max, _min, _sum, _abs, _all, _any, _round = builtins.max, builtins.min, builtins.sum, builtins.abs, \
    builtins.all, builtins.any, builtins.round


@supports_out
def clamp(input, min=None, max=None):
    return input.clamp(min, max)


clip = clamp


def split(tensor, split_size_or_sections, dim=0):
    return tensor.split(split_size_or_sections, dim)


@numpy_aliases
def chunk(input, chunks, dim=0):
    return input.chunk(chunks, dim)


@numpy_aliases
def unbind(input, dim=0):
    return input.unbind(dim)


def _common(tensors, name):
    tensors = [_to_operand(t, Tensor) for t in tensors]
    if len(tensors) == 0:
        if name == "stack":
            raise RuntimeError("stack expects a non-empty TensorList")
        raise ValueError(f"{name}(): expected a non-empty list of Tensors")
    d = tensors[0].dtype
    for t in tensors[1:]:
        if t.dtype is not d:
            d = dt.promote_types(d, t.dtype)
    return [t._cast(d) for t in tensors]


@supports_out
@numpy_aliases
def cat(tensors, dim=0, *, out=None) -> Tensor:
    """Concatenate along an existing dim; all other dims must match."""
    tensors = _common(tensors, "cat")
    shapes = [t._data.shape for t in tensors]  # plain tuples: cheaper to index than Sizes
    # torch's legacy rule: a 1-D empty tensor joins anything (it is skipped)
    ref = next((s for s in shapes if s != (0,)), shapes[0])
    d = _dim(dim, len(ref))
    for i, shape in enumerate(shapes):
        if shape == (0,):
            continue
        if len(shape) != len(ref):
            raise RuntimeError(f"cat(): Tensors must have same number of dimensions: got {len(ref)} and {len(shape)}")
        for k in range(len(ref)):
            if k != d and shape[k] != ref[k]:
                raise RuntimeError(f"cat(): Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref[k]} but got size {shape[k]} for tensor number {i} in the list.")
    return S.Cat.apply(*tensors, axis=d)


# the same function under torch's other names (which its errors use)
concat = supports_out(numpy_aliases(cat.__wrapped__.__wrapped__, name="concat"))
concatenate = supports_out(numpy_aliases(cat.__wrapped__.__wrapped__, name="concatenate"))


@supports_out
@numpy_aliases
def stack(tensors, dim=0, *, out=None) -> Tensor:
    """Join along a new dim; all tensors must have the same shape."""
    tensors = _common(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    d = _dim(dim, tensors[0].ndim + 1)
    return S.Stack.apply(*tensors, axis=d)


@supports_out
def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@supports_out
def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


@supports_out
def where(condition, input=None, other=None) -> Tensor:
    """``where(cond, a, b)`` picks a where cond else b; ``where(cond)`` is ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    return _where(condition, input, other, Tensor)


def einsum(equation, *operands) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    ops = _common(operands, "einsum")
    lhs, out = eq.split("->") if "->" in eq else (eq, None)
    subs = lhs.split(",")
    ellipsis = ""
    if "..." in eq:
        subs, out, ellipsis = _spell_out_ellipsis(subs, out, ops)
    if out is None:  # implicit output: the letters used once, in alphabetical order, after the '...' dims
        letters = [c for c in "".join(subs) if c not in ellipsis]
        out = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    eq = ",".join(subs) + "->" + out
    if len(subs) > len(ops):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(subs) < len(ops):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    sizes = {}
    for k, (sub, o) in enumerate(zip(subs, ops)):
        if len(sub) != o.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(sub)}) does not match the "
                               f"number of dimensions ({o.ndim}) for operand {k} and no ellipsis was given "
                               f"(the subscript '{sub}' has {len(sub)} dims but the operand has shape {list(o.shape)})")
        for letter, n in zip(sub, o.shape):
            seen = sizes.setdefault(letter, n)
            if seen != n:
                raise RuntimeError(f"einsum(): subscript {letter} has size {n} for operand {k} which does not "
                                   f"broadcast with previously seen size {seen}")
    return L.Einsum.apply(*ops, spec=eq)


def _spell_out_ellipsis(subs, out, ops):
    """Replace '...' by letters of its own: each operand's '...' covers its leading dims not named
    by a letter, right-aligned across operands (as broadcasting aligns them)."""
    used = set("".join(subs) + (out or ""))
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    spans = [o.ndim - (len(sub) - 3) for sub, o in zip(subs, ops) if "..." in sub]
    width = _max(spans, default=0)
    ellipsis = "".join(free[:width])
    spelled = []
    for sub, o in zip(subs, ops):
        if "..." in sub:
            span = o.ndim - (len(sub) - 3)
            sub = sub.replace("...", ellipsis[width - span:])
        spelled.append(sub)
    spelled += subs[len(ops):]
    if out is not None:
        out = out.replace("...", ellipsis)
    return spelled, out, ellipsis


@supports_out
def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:a.ndim])
    sb = list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(da, db):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [c for j, c in enumerate(sb) if j not in db]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def broadcast_shapes(*shapes):
    from .tensor import Size
    return Size(np.broadcast_shapes(*shapes))


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    n = len(tensors)
    shape = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(tensors):
        view = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        view[pos] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def cdist(x1, x2, p=2.0):
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p=p, dim=-1)


@numpy_aliases
def var_mean(input, dim=None, *, correction=None, keepdim=False, unbiased=None):
    """``(var, mean)`` over ``dim`` in one call."""
    return (input.var(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim))


@numpy_aliases
def std_mean(input, dim=None, *, correction=None, keepdim=False, unbiased=None):
    """``(std, mean)`` over ``dim`` in one call."""
    return (input.std(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim))


def equal(a, b) -> bool:
    return a.equal(b)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return a.allclose(b, rtol, atol, equal_nan)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return a.isclose(b, rtol, atol, equal_nan)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t.dtype.is_floating_point


def numel(t) -> int:
    return t.numel()


def result_type(a, b):
    return dt.result_type(a, b)


promote_types = dt.promote_types
can_cast = dt.can_cast


def cartesian_prod(*tensors):
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def atleast_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def atleast_2d(t):
    return t.reshape(1, -1) if t.ndim < 2 else t
