"""Argument rules shared by ``transforms.functional`` (v1) and ``transforms.v2.functional``: the resize
output size, the padding forms, and the per-band fill."""

from __future__ import annotations

import numbers

__all__ = ["PADDING_MODES", "resized_output_size", "padding_ltrb"]

PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def resized_output_size(height: int, width: int, size, max_size, where: str = "resize") -> list[int]:
    """torchvision's rule, ``[new_h, new_w]``: (h, w) is taken as is; a single number sets the shorter
    edge (the longer one keeps the aspect ratio, truncated), capped by ``max_size``; ``size=None`` sets
    the longer edge to ``max_size``."""
    short, long = (width, height) if width <= height else (height, width)
    if size is None:
        if not isinstance(max_size, numbers.Integral):
            raise ValueError(f"{where}: max_size must be an integer when size is None, but got {max_size} instead.")
        new_short, new_long = int(max_size * short / long), int(max_size)
    elif len(size) == 2:
        return [size[0], size[1]]
    else:
        new_short = size[0]
        new_long = int(new_short * long / short)
        if max_size is not None:
            if max_size <= new_short:
                raise ValueError(f"{where}: max_size = {max_size} must be strictly greater than the requested size "
                                 f"for the smaller edge size = {list(size)}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if width <= height else (new_long, new_short)
    return [new_h, new_w]


def padding_ltrb(padding, where: str) -> list[int]:
    """An int, (all,), (left/right, top/bottom) or (left, top, right, bottom) as [left, top, right, bottom]."""
    if isinstance(padding, bool) or not isinstance(padding, (numbers.Integral, tuple, list)):
        raise TypeError(f"{where}: got inappropriate padding arg {padding!r} (expected an int or a 1, 2 or 4 "
                        "element tuple)")
    if isinstance(padding, numbers.Integral):
        return [int(padding)] * 4
    if len(padding) not in (1, 2, 4):
        raise ValueError(f"{where}: padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} "
                         "element tuple")
    if not all(isinstance(p, numbers.Integral) for p in padding):
        raise TypeError(f"{where}: padding values must be ints, got {padding!r}")
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])]
    return [int(p) for p in padding]
