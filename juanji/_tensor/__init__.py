"""The parts of ``juanji.Tensor``, one file per concern (package-private: the rest of juanji uses
the Tensor's methods, and the few helpers it shares, such as ``arguments._dim``, from here).

``juanji/tensor.py`` holds the class itself: its array and attributes, conversion, autograd and
the Python protocol. Its other methods are defined here, in mixin classes that ``Tensor``
inherits from, each next to the helpers it uses:

    arithmetic.py    _Arithmetic       + - * / // % ** and their named forms; bitwise ~ & | ^
    comparison.py    _Comparisons      == != < <= > >=, logical ops, isnan, equal, allclose
    matmul.py        _MatrixProducts   @, matmul, mm, bmm, mv, dot, outer
    pointwise.py     _Pointwise        exp, log, sin, relu, sign, floor, clamp, maximum, lerp, ...
    softmax.py       _Softmax          softmax, log_softmax (and the argument rules nn.functional shares)
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

The mixins are generic over ``type(self)`` (tinygrad's mixins are the model): they never name
the Tensor class, which is made from them and is defined after them. A method makes a new
tensor with ``self._from_array(arr)`` (juanji.Tensor's constructor of results, a staticmethod:
the result is a plain Tensor even when self is a Parameter), recognises one with
``isinstance(x, TensorBase)`` (``juanji/autograd/tensor_base.py``, the base class of Tensor),
and builds one from data with ``self.new_tensor(data)``. A helper function without a ``self``
takes the tensor to make its results like (``_to_operand(x, like)`` in binary.py).

Adding methods: put them in the mixin of their concern, or in a new file here with a new mixin
class that ``Tensor`` lists among its bases in juanji/tensor.py. ``juanji.tensor`` checks, when
the class is made, that no name is defined twice among the class and its mixins.
"""

from __future__ import annotations

__all__ = ["check_each_name_defined_once"]


def check_each_name_defined_once(tensor_class: type) -> None:
    """Refuse a name defined twice among the class and its mixins: the second definition would
    silently lose to whichever class comes first in the bases."""
    owner = {}
    for cls in tensor_class.__mro__[:-1]:  # the class and its mixins, not object
        for name in vars(cls):
            if name in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__hash__"):
                continue  # what Python adds to every class (and __hash__, set to None next to __eq__)
            if name in owner:
                raise TypeError(f"Tensor: {name} is defined in both {owner[name]} and {cls.__name__}")
            owner[name] = cls.__name__
