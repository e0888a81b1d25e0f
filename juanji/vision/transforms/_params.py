"""The transform classes' argument rules and random boxes, shared by v1 (``transforms.py``) and v2
(``v2/``): the size and angle forms, ColorJitter's factor ranges and RandomResizedCrop's box. Both
versions import them from here, so that v2 does not depend on v1's classes."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from ...backend import generator

__all__ = ["rng", "random_resized_crop_box", "color_jitter_range"]


def rng():
    """juanji's generator, for v1's and v2's random transforms (fetched on every draw:
    ``manual_seed`` replaces it)."""
    return generator()


def _setup_size(size, error_msg: str):
    """An int becomes (size, size); a 1-sequence (s,) becomes (s, s); a 2-sequence is kept."""
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(error_msg)
    return size


def _check_sequence_input(x, name: str, req_sizes) -> None:
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join(str(s) for s in req_sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}.")


def _setup_angle(x, name: str, req_sizes=(2,)) -> list[float]:
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        x = [-x, x]
    else:
        _check_sequence_input(x, name, req_sizes)
    return [float(d) for d in x]


def random_resized_crop_box(height: int, width: int, scale, ratio) -> tuple[int, int, int, int]:
    """RandomResizedCrop's box ``(top, left, h, w)`` in a ``height x width`` image (v1 and v2 draw it so).

    Up to 10 tries: area fraction ~ U(scale), log(aspect) ~ U(log ratio), w = round(sqrt(A * r)),
    h = round(sqrt(A / r)); the first box that fits is placed uniformly. Otherwise the largest
    central box whose aspect ratio is clipped into ``ratio``.
    """
    area = height * width
    draw = rng()
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * draw.uniform(scale[0], scale[1])
        aspect_ratio = math.exp(draw.uniform(log_ratio[0], log_ratio[1]))
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            i = int(draw.integers(0, height - h + 1))
            j = int(draw.integers(0, width - w + 1))
            return i, j, h, w
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def color_jitter_range(value, name, center=1, bound=(0, float("inf")), clip_first_on_zero=True):
    """ColorJitter's factor range: a number ``v`` gives ``[center - v, center + v]`` (clipped at 0 if
    ``clip_first_on_zero``), a pair is kept; it must lie within ``bound``; None for the identity range."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be non negative.")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with length 2.")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, but got {value}.")
    # a factor range that is exactly the identity means: skip this adjustment
    if value[0] == value[1] == center:
        return None
    return tuple(value)
