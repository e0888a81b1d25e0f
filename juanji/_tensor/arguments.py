"""How Tensor methods read their arguments: dims, sizes, Python numbers, NumPy's spellings.

- ``_dim(d, ndim)``, ``_dims(dim, ndim)``: a dim (negative counts from the end) as a non-negative
  int, or a dim / tuple of dims as a sorted tuple, with torch's IndexError when out of range;
  ``_op_dim(op, dim, ndim)``: the same for one dim, the error naming the operation;
- ``_sizes(args)``: ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and ``f(juanji.Size(...))`` as one tuple;
- ``numpy_aliases``: the decorator that lets a method take ``axis=`` and ``keepdims=``, as torch does;
- ``_py_int``, ``_py_float``, ``_py_bool``, ``_SCALARS``: Python's number types, under names that
  Tensor's own methods ``int()``, ``float()`` and ``bool()`` cannot be taken for.
"""

from __future__ import annotations

import builtins
import functools
import inspect

import numpy as np

from ..autograd.tensor_base import TensorBase

__all__ = ["numpy_aliases", "_dim", "_dims", "_op_dim", "_sizes", "_py_float", "_py_int", "_py_bool", "_SCALARS"]

_py_float, _py_int, _py_bool = builtins.float, builtins.int, builtins.bool
_SCALARS = (_py_int, _py_float, _py_bool)


def _dim(d, ndim: int) -> int:
    """Normalise a possibly negative dim, with torch's IndexError when out of range."""
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not (lo <= d <= hi):
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})")
    return d % ndim if ndim > 0 else 0


def _op_dim(op: str, dim, ndim: int) -> int:
    """A possibly negative dim as an index in [0, ndim) (a 0-d tensor has the one dim 0 or -1),
    with a TypeError for a dim that is no int and an IndexError naming ``op`` when out of range."""
    if isinstance(dim, _py_bool) or not isinstance(dim, (_py_int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    size = builtins.max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{op}: dim {dim} is out of range for a {ndim}-d input "
                         f"(expected to be in range of [{-size}, {size - 1}])")
    return _py_int(dim) % size


def _dims(dim, ndim: int):
    """dim argument (None, int, tuple or list) -> sorted tuple of non-negative dims, or None for all.

    A 0-d tensor accepts dim 0 or -1 and has nothing to reduce over: that gives ``()``.
    """
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        dims = [_dim(d, ndim) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
    else:
        dims = [_dim(dim, ndim)]
    if ndim == 0:
        return ()
    return tuple(sorted(dims))


# NumPy's spellings that torch's argument parser accepts for its own argument names
_NUMPY_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def numpy_aliases(fn=None, *, name=None):
    """Decorator: let ``fn`` take NumPy's ``axis=`` for ``dim`` and ``keepdims=`` for ``keepdim``,
    as torch's argument parser does (``x.sum(axis=0, keepdims=True)``, ``torch.cat(xs, axis=1)``).

    Only the aliases of parameters ``fn`` has are accepted (``cumsum`` has no ``keepdim``). Giving
    a parameter twice, e.g. ``x.sum(0, axis=1)`` or ``dim=0, axis=1``, is torch's TypeError
    ``sum() got an unexpected keyword argument 'axis'``. ``name`` is the function's name in that
    message (``fn.__name__`` by default).

    Reductions are hot paths: the wrapper is one extra call (about 70 ns on a ~3 us ``x.sum()``),
    and it looks at the keywords only when there are some.
    """
    if fn is None:
        return lambda f: numpy_aliases(f, name=name)
    shown = name or fn.__name__
    parameters = list(inspect.signature(fn).parameters.values())
    renames = {}  # alias -> (the real name, its position when it can also be passed positionally)
    for alias, real in _NUMPY_ALIASES:
        for position, p in enumerate(parameters):
            if p.name == real:
                positional = p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                renames[alias] = (real, position if positional else len(parameters) + 1)

    @functools.wraps(fn)
    def accepting_numpy_aliases(*args, **kwargs):
        if not kwargs:  # the common call, x.sum() or x.sum(1): straight through
            return fn(*args)
        if "axis" in kwargs or "keepdims" in kwargs:
            for alias, (real, position) in renames.items():
                if alias in kwargs:
                    if real in kwargs or len(args) > position:
                        raise TypeError(f"{shown}() got an unexpected keyword argument '{alias}'")
                    kwargs[real] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    if name is not None:
        accepting_numpy_aliases.__name__ = accepting_numpy_aliases.__qualname__ = name
    return accepting_numpy_aliases


def _sizes(args) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` (and torch.Size)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    plain = True
    for a in args:
        if a.__class__ is not _py_int:
            plain = False
            break
    if plain:  # the common case: plain Python ints
        return tuple(args)
    out = []
    for a in args:
        if isinstance(a, TensorBase):
            a = a.item()
        if not isinstance(a, (_py_int, np.integer)) or isinstance(a, _py_bool):
            raise TypeError(f"expected a sequence of integers for the size, got {args!r}")
        out.append(int(a))
    return tuple(out)
