"""Saved activations that backward recomputes instead of keeping.

A training step keeps, for its backward pass, what each Op saved in its forward. In a
``conv -> batch norm -> ReLU -> conv`` chain that is the batch norm's input ``x`` (for its own
gradient) and the ReLU's output ``z`` (for the ReLU's mask and the next convolution's weight
gradient): two arrays of the same size per layer. But ``z = relu(x * a_c + s_c)`` is a function
of the ``x`` that batch norm keeps anyway and of two numbers per channel, so the graph need not
keep ``z``: the ReLU and the convolution keep a :class:`Recipe` for it, the array itself is freed
as soon as the forward pass has used it, and backward makes it again (one sweep over ``x``) when
the convolution's weight gradient needs it. That is half of such a network's saved activations
(ResNet-18 at batch 64: the ReLU outputs inside the blocks and the stem; DenseNet's BN-ReLU of
every concatenation; MobileNetV2's ReLU6s), at the price of one elementwise pass per layer in
backward. The values are the same bits as the forward's: the recipe runs the forward's own
arithmetic on the same numbers (``tests/autograd/test_recompute.py`` holds them to ``==``).

How it fits the graph (torch keeps the arrays; the gradients are the same):

- An Op that makes an array which can be remade registers it (:func:`register`) with its recipe
  while a graph is recorded: batch norm its output (``ops/normalization.py``), ReLU and ReLU6
  their output when their input was registered (``ops/elementwise.py``, ``ops/activation.py``).
  The registry holds the arrays weakly: an entry goes when its array goes.
- An Op that would save an input array saves :func:`keep` of it instead (the recipe, if the array
  has one; the convolutions in ``ops/conv.py``), and its backward reads :func:`value` of what it
  saved.
- The Op that made the array runs its backward after every Op that used the array (they all
  feed into it), so it drops the recipe's cached value (:meth:`Recipe.drop`): at most the
  array being worked on is remade at a time.
- Arrays are never written while a graph records (an in-place op gives its tensor a new array);
  a write outside autograd (``no_grad``, ``.data``) into a registered array's memory calls
  :func:`forget`, so later Ops keep the array as it then is, as torch would.
"""

from __future__ import annotations

import weakref

__all__ = ["Recipe", "register", "lookup", "keep", "value", "forget"]

# id(memory owner) -> (weak reference to the registered array, its recipe)
_entries: dict = {}


def _owner(array):
    """The object that owns ``array``'s memory (NumPy points every view's ``base`` at it)."""
    base = getattr(array, "base", None)
    return array if base is None else base


class Recipe:
    """How to make an array again. Subclasses define :meth:`make`; :meth:`value` caches the result
    until :meth:`drop` (the producing Op's backward calls it)."""

    __slots__ = ("_cache", "__weakref__")

    def __init__(self):
        self._cache = None

    def make(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self):
        cached = self._cache
        if cached is None:
            cached = self._cache = self.make()
        return cached

    def drop(self) -> None:
        self._cache = None


def register(array, recipe: Recipe) -> None:
    """Record that ``array`` can be made again by ``recipe`` (until ``array`` is garbage or
    :func:`forget` is called on its memory)."""
    key = id(_owner(array))

    def gone(ref, key=key):
        entry = _entries.get(key)
        if entry is not None and entry[0] is ref:
            del _entries[key]

    _entries[key] = (weakref.ref(array, gone), recipe)


def lookup(array):
    """The recipe registered for exactly this array, or None."""
    if not _entries:
        return None
    entry = _entries.get(id(_owner(array)))
    if entry is not None and entry[0]() is array:
        return entry[1]
    return None


def keep(array):
    """What an Op saves of an input array for its backward: the array's recipe, if it has one,
    else the array."""
    if not _entries:
        return array
    recipe = lookup(array)
    return array if recipe is None else recipe


def value(saved):
    """The array an Op saved with :func:`keep` (made again from its recipe if need be)."""
    return saved.value() if isinstance(saved, Recipe) else saved


def forget(array) -> None:
    """``array``'s memory is being written outside autograd: its recipe no longer tells its value."""
    if _entries:
        _entries.pop(id(_owner(array)), None)
