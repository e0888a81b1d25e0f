"""``juanji.Size``, the type of ``x.shape``: a tuple of ints that stays a Size under ``+``, ``*`` and slicing."""

from __future__ import annotations

__all__ = ["Size"]

_tuple_item = tuple.__getitem__


class Size(tuple):
    """torch.Size: a tuple of ints that prints as ``juanji.Size([2, 3])``.

    Arithmetic and slicing stay Sizes, as in torch: ``(1, 1) + x.shape``, ``x.shape + (1,)``,
    ``x.shape[1:]`` and ``x.shape * 2`` are Sizes; indexing one entry gives an int.

    There is no ``__new__`` checking the entries: ``x.shape`` builds a Size on every call, and
    tuple's own constructor keeps that cheap.
    """

    def __repr__(self):
        return f"juanji.Size({list(self)})"

    def __getitem__(self, index):
        if index.__class__ is slice:
            return Size(_tuple_item(self, index))
        return _tuple_item(self, index)

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to juanji.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, times):
        return Size(tuple.__mul__(self, times))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n
