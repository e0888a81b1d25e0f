"""Helpers shared by the argument checks of ``nn.functional`` and ``nn`` (one home for each).

    >>> from juanji.nn.functional._args import shape_text
    >>> shape_text((8, 1, 28, 28))
    '[8, 1, 28, 28]'
"""

from __future__ import annotations

__all__ = ["shape_text"]


def shape_text(value) -> str:
    """A shape as torch writes it in error messages, ``[8, 1, 28, 28]``.

    ``value`` is a Tensor or array (its ``.shape`` is used) or a sequence of sizes.
    """
    shape = getattr(value, "shape", value)
    return "[" + ", ".join(str(n) for n in shape) + "]"
