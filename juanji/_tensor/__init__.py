"""The parts of ``juanji.Tensor``, one file per concern (package-private: other modules import
these names from ``juanji.tensor``, which re-exports them).

``juanji/tensor.py`` holds the class itself: its array and attributes, conversion, autograd and
the Python protocol. Its other methods are defined here, in mixin classes that ``Tensor``
inherits from, each next to the helpers it uses:

    arithmetic.py    _Arithmetic       + - * / // % ** and their named forms; bitwise ~ & | ^
    comparison.py    _Comparisons      == != < <= > >=, logical ops, isnan, equal, allclose
    matmul.py        _MatrixProducts   @, matmul, mm, bmm, mv, dot, outer
    pointwise.py     _Pointwise        exp, log, sin, relu, sign, floor, clamp, maximum, lerp, ...
    reductions.py    _Reductions       sum, mean, var, max, argmax, norm, cumsum, sort, topk, ...
    shape.py         _ShapeMethods     reshape, view, flatten, squeeze, permute, expand, repeat, ...
    pieces.py        _Pieces           narrow, select, unbind, split, chunk, tensor_split
    indexing.py      _Indexing         x[i], x[i] = v, gather, scatter, index_select, masked_fill
    inplace.py       _InPlace          add_, zero_, copy_, exp_, ... and how in-place changes are recorded
    random_fills.py  _RandomFills      normal_, uniform_, bernoulli_, exponential_, random_
    constructors.py  _NewTensors       new_zeros, ...; and tensor, as_tensor, from_numpy, the legacy forms

and the helpers they share:

    arguments.py     dims, sizes, Python numbers, numpy_aliases (axis=, keepdims=)
    binary.py        two operands: promotion to torch's result dtype, broadcasting errors
    size.py          juanji.Size
    printing.py      repr: torch's layout and number format

A mixin is a plain class holding methods. ``Tensor`` lists the mixins as its bases, so ``x.sum``
is found on ``_Reductions`` by Python's ordinary attribute lookup, which Python caches per type:
a call costs the same as when the method was written in ``Tensor`` itself. No method is defined
in two mixins (their order among the bases therefore does not matter).

The methods here build and recognise Tensors (``Tensor._from_array(arr)``, ``isinstance(x,
Tensor)``), but ``Tensor`` is made from these classes, so it does not exist yet when their
modules are imported. Each module that needs it has a global ``Tensor = None`` that
``bind_tensor_class`` sets, called by ``juanji/tensor.py`` right after the class statement.
(A module global is read as fast as in the one-file original; an import inside every method
would cost time on each call.)
"""

from __future__ import annotations

from . import arguments, arithmetic, binary, comparison, constructors, indexing, inplace, pieces, pointwise, \
    reductions, shape

__all__ = ["bind_tensor_class"]

# the modules with a global ``Tensor = None`` to set
_MODULES_USING_TENSOR = (arguments, arithmetic, binary, comparison, constructors, indexing, inplace, pieces,
                         pointwise, reductions, shape)


def bind_tensor_class(tensor_class: type) -> None:
    """Give the modules here the Tensor class (called once, by juanji/tensor.py), after checking
    that no method is defined twice among the class and its mixins."""
    _check_each_name_defined_once(tensor_class)
    for module in _MODULES_USING_TENSOR:
        module.Tensor = tensor_class
    binary._OPERANDS = (tensor_class,) + binary._PLAIN_OPERANDS


def _check_each_name_defined_once(tensor_class: type) -> None:
    # a second definition would silently lose to whichever class comes first in the bases
    owner = {}
    for cls in tensor_class.__mro__[:-1]:  # the class and its mixins, not object
        for name in vars(cls):
            if name in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__hash__"):
                continue  # what Python adds to every class (and __hash__, set to None next to __eq__)
            if name in owner:
                raise TypeError(f"Tensor: {name} is defined in both {owner[name]} and {cls.__name__}")
            owner[name] = cls.__name__
