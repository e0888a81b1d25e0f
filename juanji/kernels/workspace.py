"""Reused memory for the large arrays of a training step (activations, gradients, kernel buffers).

Why: a training step allocates the same large arrays every iteration, and glibc's ``malloc``
hands memory of that size back to the operating system when it is freed (``munmap``, or a trim
of the heap's top). The next step's arrays then start as fresh pages, and the kernel zeroes
each 4 KiB page on its first touch, one page fault at a time. Measured on the 2-core machine: a
LeNet-5 step at batch 256 took 17 ms in a process that had run nothing before and 27-29 ms in
one that had first run batch 64 (2,100-2,400 page faults a step against none: glibc's dynamic
mmap threshold had settled below the step's array sizes).

How: :func:`empty` keeps every buffer of at least ``MIN_BYTES`` it hands out, by size, and hands
it out again (for a request of its size or somewhat smaller) once nothing refers to it any more. An array from here is a view of a pool buffer,
and every view of it (NumPy points a view's ``base`` at the buffer that owns the memory) holds a
reference to that buffer, so "nothing refers to it" is the buffer's reference count being the
pool's own. No finaliser, no guess: a buffer some tensor still uses is never handed out.

Each buffer starts at its own offset within a 4 KiB page (64-byte steps). Large blocks from
``malloc`` all start 16 bytes into a page, and a loop that reads one such array and writes
another then has every load and store on the same page offset, which the CPU's store-to-load
forwarding check confuses ("4K aliasing"): a ReLU backward over 8 MiB took 11.3 ms instead of
1.4 ms with two such arrays (measured).

The pool holds at most ``MAX_HELD_BYTES``. When a new buffer would pass that, the free buffers
used longest ago are let go first (a process that trains one model and then another, as the
benchmark suites do, would otherwise keep the first model's sizes and give the second none: its
MobileNetV2 step after a ResNet-18 took 870 ms against 755); only if the free ones do not make
room does :func:`empty` allocate as NumPy does. :func:`release` lets every free buffer go
(``juanji.cuda.empty_cache()`` calls it).
"""

from __future__ import annotations

import bisect
import math
import os
import sys
import threading

import numpy as np

__all__ = ["empty", "zeros", "release", "held_bytes", "MIN_BYTES", "MAX_HELD_BYTES"]

MIN_BYTES = 1 << 18
MAX_HELD_BYTES = 1 << 30
# A free buffer serves any request from its size down to 1/REUSE_SLACK of it: networks whose array
# sizes all differ (DenseNet's growing concatenations) then reuse buffers instead of keeping one
# per size. Peak memory of a step, measured (MiB; no pool / exact sizes / slack 1.25 / slack 2):
# DenseNet-121 batch 8 356 / 539 / 431 / 417; VGG-11 batch 8 93 / 107 / 105 / 138; ResNet-20
# batch 128 249 / 288 / 288 / 300: a large slack lets big buffers serve small requests.
REUSE_SLACK = 1.25

_lock = threading.Lock()
_by_size: dict[int, list] = {}  # size -> [[raw, start, last use], ...]
_sizes: list[int] = []  # the keys of _by_size, sorted
_held = 0
_clock = 0  # counts hand-outs: a buffer's last use is the count when it was last handed out
# references to a free buffer while _take or release inspects it: its [raw, start, last use] entry
# in the size list, the loop variable and getrefcount's own argument
_FREE_REFS = 3
_PAGE = 4096
_count = 0  # buffers made so far: the next one's page offset


def _new_lock_after_fork():
    """A forked child (a DataLoader worker) may have been forked while another thread held the
    lock: it starts with a fresh one (its copies of the buffers stay usable)."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def _take(nbytes: int):
    """``nbytes`` bytes of a free buffer (the smallest free one from ``nbytes`` to ``REUSE_SLACK``
    times that), or of a new one kept in the pool, or None (the pool is full of buffers in use)."""
    global _held, _count, _clock
    with _lock:
        _clock += 1
        at = bisect.bisect_left(_sizes, nbytes)
        while at < len(_sizes) and _sizes[at] <= REUSE_SLACK * nbytes:
            for entry in _by_size[_sizes[at]]:
                raw = entry[0]  # references: the entry, raw, the call's argument
                if sys.getrefcount(raw) == _FREE_REFS:
                    entry[2] = _clock
                    return raw[entry[1]:entry[1] + nbytes]
            at += 1
        if _held + nbytes > MAX_HELD_BYTES and not _evict(_held + nbytes - MAX_HELD_BYTES):
            return None
        raw = np.empty(nbytes + _PAGE, np.uint8)
        page_offset = 64 * ((_count * 17) % 64)  # 64 distinct 64-byte steps across a page
        start = (page_offset - raw.ctypes.data) % _PAGE
        _count += 1
        if nbytes not in _by_size:
            _by_size[nbytes] = []
            bisect.insort(_sizes, nbytes)
        _by_size[nbytes].append([raw, start, _clock])
        _held += nbytes
        return raw[start:start + nbytes]  # every view of this refers to raw (its memory's owner)


def _drop(keep) -> int:
    """Let go of the free buffers for which ``keep(nbytes, last_use)`` is false (lock held);
    returns the bytes let go."""
    global _held
    freed = 0
    for nbytes in list(_sizes):
        kept = []
        for entry in _by_size[nbytes]:
            raw = entry[0]
            if sys.getrefcount(raw) == _FREE_REFS and not keep(nbytes, entry[2]):
                freed += nbytes
            else:
                kept.append(entry)
            del raw
        if kept:
            _by_size[nbytes] = kept
        else:
            del _by_size[nbytes]
            _sizes.remove(nbytes)
    _held -= freed
    return freed


def _evict(needed: int) -> bool:
    """Let go of the free buffers used longest ago until ``needed`` bytes are let go (lock held);
    whether that many were free."""
    free = []
    for nbytes in _sizes:
        for entry in _by_size[nbytes]:
            raw = entry[0]
            if sys.getrefcount(raw) == _FREE_REFS:
                free.append((entry[2], nbytes))
            del raw
    free.sort()
    total, cutoff = 0, None
    for last_use, nbytes in free:
        if total >= needed:
            break
        total += nbytes
        cutoff = last_use
    if total < needed:
        return False
    _drop(lambda nbytes, last_use: last_use > cutoff)
    return True


def empty(shape, dtype):
    """``np.empty(shape, dtype)`` (C order), from the pool when it is large."""
    dtype = np.dtype(dtype)
    # (the small arrays of small layers come this way at every call: as few steps as can be)
    nbytes = (shape if isinstance(shape, (int, np.integer)) else math.prod(shape)) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    buffer = _take(nbytes)
    if buffer is None:
        return np.empty(shape, dtype)
    return buffer.view(dtype).reshape(shape)


def zeros(shape, dtype):
    """``np.zeros(shape, dtype)``, from the pool when it is large."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


def held_bytes() -> int:
    """Bytes the pool holds (in use or free)."""
    return _held


def release() -> int:
    """Let go of every free buffer; returns the bytes released."""
    with _lock:
        return _drop(lambda nbytes, last_use: False)
