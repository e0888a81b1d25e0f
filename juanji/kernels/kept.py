"""Work made from a weight alone, kept between calls while the weight stays the same.

A layer whose weight needs no gradient (inference; a frozen layer) sees the same weight at every call,
and some kernels first turn it into another layout: Winograd's transformed weight ``U = G w G^T``, the
direct loops' packed blocks. At batch 1 that is a large part of a call (a 128->128 layer's Winograd
transform ~270 us of ~1 ms). :func:`kept` keeps what ``make(w)`` returned beside a copy of ``w``, and
at the next call compares ``w`` with that copy, bit for bit (integer views: ``-0.0`` differs from
``0.0``, a NaN from itself), making it again if they differ: a weight changed in place, through
``.data``, through ``.detach().numpy()`` or by ``load_state_dict``, or another array at the same
address, is never served a stale result. The comparison costs ~1/7 of a Winograd transform.

Kept up to ``KEEP_BYTES`` (the copies and what was made), the least recently used let go first; one
larger than that is not kept. ``KEEP_WEIGHTS = False`` keeps nothing. The kernels ask only for weights
that need no gradient (``conv.conv_forward(fixed_weight=True)``).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["kept", "forget", "held_bytes", "KEEP_WEIGHTS", "KEEP_BYTES"]

KEEP_WEIGHTS = True
KEEP_BYTES = 64 << 20

_kept: dict = {}  # (kind, address, shape, strides, dtype) -> (copy of the weight, made, bytes): oldest first
_bytes = 0
_lock = threading.Lock()


def _size(made) -> int:
    if isinstance(made, np.ndarray):
        return made.nbytes
    if isinstance(made, tuple):
        return sum(_size(part) for part in made)
    return 0


def kept(kind, w: np.ndarray, make):
    """``make(w)``, kept between calls for ``kind`` (hashable: what is made, and whatever else it depends
    on) while ``w`` keeps its bits (see the module docstring)."""
    global _bytes
    if not KEEP_WEIGHTS:
        return make(w)
    key = (kind, w.ctypes.data, w.shape, w.strides, w.dtype.str)
    bits = np.dtype(f"u{w.dtype.itemsize}")
    with _lock:
        entry = _kept.pop(key, None)  # (put back below as the newest)
        if entry is not None:
            _bytes -= entry[2]
    if entry is None or not np.array_equal(entry[0].view(bits), w.view(bits)):
        copy, made = w.copy(), make(w)
        entry = (copy, made, copy.nbytes + _size(made))
    if entry[2] <= KEEP_BYTES:
        with _lock:
            other = _kept.pop(key, None)  # (another thread's, made meanwhile: this one replaces it)
            if other is not None:
                _bytes -= other[2]
            while _kept and _bytes + entry[2] > KEEP_BYTES:
                _bytes -= _kept.pop(next(iter(_kept)))[2]
            _kept[key] = entry
            _bytes += entry[2]
    return entry[1]


def forget() -> None:
    """Let go of everything kept."""
    global _bytes
    with _lock:
        _kept.clear()
        _bytes = 0


def held_bytes() -> int:
    """Bytes kept: the weights' copies and what was made from them."""
    return _bytes
