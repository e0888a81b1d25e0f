"""Padding (torch.nn.functional.pad).

``pad`` lists (left, right) amounts starting from the *last* dim and moving forward:
``(l, r)`` pads the last dim, ``(l, r, t, b)`` the last two, and so on. Negative amounts crop.

    constant    any number of dims (up to input.dim()), fills with ``value`` (default 0)
    reflect     mirror without repeating the edge:  [a b c d] -> c b | a b c d | c b   (pad < size)
    replicate   repeat the edge:                    [a b c d] -> a a | a b c d | d d
    circular    wrap around:                        [a b c d] -> c d | a b c d | a b   (pad <= size)

The non-constant modes pad the last 1, 2 or 3 dims of an input with one or two more dims
(``(C, W)``/``(N, C, W)``, ``(C, H, W)``/``(N, C, H, W)``, ``(C, D, H, W)``/``(N, C, D, H, W)``).

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> F.pad(juanji.tensor([[[1., 2., 3.]]]), (2, 1), mode="reflect").tolist()
    [[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]]
"""

from __future__ import annotations

import numpy as np

from ...ops.pad import ConstantPad, IndexPad
from ._args import shape_text as _shape

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _pairs(input, pad) -> tuple:
    """The flat torch-order ``pad`` as (lo, hi) pairs in dim order, checked against the input."""
    try:
        amounts = [int(v) for v in pad]
    except TypeError:
        raise TypeError(f"pad: expected pad to be a sequence of ints, got {pad!r}") from None
    if not all(isinstance(v, (int, np.integer)) for v in pad):
        raise TypeError(f"pad: expected pad to be a sequence of ints, got {pad!r}")
    if len(amounts) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {len(amounts)} "
                           f"amounts {tuple(amounts)}")
    if len(amounts) // 2 > len(input.shape):
        raise RuntimeError(f"pad: padding length {len(amounts)} pads {len(amounts) // 2} dims, but "
                           f"the input has only {len(input.shape)} (shape {_shape(input)})")
    pairs = [(amounts[2 * i], amounts[2 * i + 1]) for i in range(len(amounts) // 2)]
    return tuple(reversed(pairs))  # torch lists the last dim first


def _check_gather_mode(input, pairs, mode) -> None:
    ndim = len(input.shape)
    k = len(pairs)
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: {mode} padding of {k} dims needs a {k + 1}D or {k + 2}D input "
            "(supported: padding size 2 for 2D/3D, 4 for 3D/4D, 6 for 4D/5D inputs), "
            f"got padding size {2 * k} and input of shape {_shape(input)}")
    # every dim but a leading batch dim must be non-empty
    if any(n == 0 for n in input.shape[ndim - k - 1:]):
        raise RuntimeError(f"pad: {mode} padding needs non-empty channel and spatial dims, "
                           f"got input of shape {_shape(input)}")
    for axis, (lo, hi) in zip(range(ndim - k, ndim), pairs):
        n = input.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"pad: reflect padding must be smaller than the padded dim, got padding "
                f"({lo}, {hi}) for dim {axis} of size {n} (input {_shape(input)})")
        if mode == "circular":
            kept = n - max(-lo, 0) - max(-hi, 0)
            if kept < 0 or (kept == 0 and (lo > 0 or hi > 0)):
                raise RuntimeError(
                    f"pad: negative circular padding ({lo}, {hi}) leaves nothing of dim {axis} "
                    f"of size {n} to wrap (input {_shape(input)})")
            if lo > kept or hi > kept:
                raise RuntimeError(
                    f"pad: circular padding ({lo}, {hi}) would wrap around dim {axis} more than "
                    f"once (it keeps {kept} of {n} elements; input {_shape(input)})")
        elif n + lo + hi < 0:  # cropping to an empty dim is allowed, as in torch's 2d/3d pads
            raise RuntimeError(
                f"pad: {mode} padding ({lo}, {hi}) of dim {axis} of size {n} leaves an output "
                f"size of {n + lo + hi} (input {_shape(input)})")


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the trailing dims of ``input``; see the module doc."""
    if mode not in _MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}, "
                                  f"expected one of {', '.join(_MODES)}")
    pairs = _pairs(input, pad)
    if mode == "constant":
        ndim = len(input.shape)
        for axis, (lo, hi) in zip(range(ndim - len(pairs), ndim), pairs):
            if input.shape[axis] + lo + hi < 0:
                raise RuntimeError(
                    f"pad: padding ({lo}, {hi}) of dim {axis} of size {input.shape[axis]} gives "
                    f"a negative output size (input {_shape(input)})")
        return ConstantPad.apply(input, pads=pairs, value=0.0 if value is None else value)
    if value is not None:
        raise RuntimeError(f'pad: padding mode "{mode}" does not take a value argument '
                           f"(got value={value!r})")
    _check_gather_mode(input, pairs, mode)
    return IndexPad.apply(input, pads=pairs, mode=mode)
