"""Reused memory for the large arrays of a training step (activations, gradients, kernel buffers).

Why: a training step allocates the same large arrays every iteration, and glibc's ``malloc``
hands memory of that size back to the operating system when it is freed (``munmap``, or a trim
of the heap's top). The next step's arrays then start as fresh pages, and the kernel zeroes
each 4 KiB page on its first touch, one page fault at a time. Measured on the 2-core machine: a
LeNet-5 step at batch 256 took 17 ms in a process that had run nothing before and 27-29 ms in
one that had first run batch 64 (2,100-2,400 page faults a step against none: glibc's dynamic
mmap threshold had settled below the step's array sizes).

How: an arena. :func:`empty` carves every array of at least ``MIN_BYTES`` out of large *slabs*
(``np.empty`` of ``SLAB_BYTES``, or of the request when it is larger: a page of a slab costs no
memory until it is first written) and keeps the memory after the array is gone, so the next
step's arrays land on pages that are already there. Free blocks are kept by address and merge
with their free neighbours, so the memory of arrays of one size serves arrays of any other size,
and a request takes the free block lowest in memory that holds it; only when no free block does
is new memory touched, at the top of a slab's touched part (taking in a free block just below
it) or in a new slab. What the arena touches then stays near the most the step ever has in use
at once.

The pool this replaces kept buffers by size (a free buffer served requests from its size down
to 1/1.25 of it, never split, never merged) and held far more than was in use at once:
ResNet-18 training at batch 64 held 431 MiB while at most 309 MiB were in use at once,
DenseNet-121 forward and backward at batch 8 298 against 201, and the whole process's peak rose
more with it than with no pool at all (table below). Replaying the large-array requests of
steps (sizes, order, frees) recorded from the benchmark cases, the arena touches, against the
most in use at once (MiB): ResNet-18 b64 340 / 324, ResNet-20 b128 214 / 204, DenseNet-121 b8
208 / 196, b1 20 / 16, VGG-11 b8 21 / 18, LeNet-5 b256 28 / 22 (the size buckets: 446, 265,
301, 26, 27, 29). Best fit instead of the lowest address touched 1-7 MiB more in six of these
(ResNet-18 b64 347, DenseNet-121 b8 215); slabs of 128 MiB to 1 GiB instead of 64 MiB, up to 8
MiB more or 2 less.

Ownership: every array handed out is ``np.frombuffer`` of its slab (with its dtype, then
reshaped), which gives it a fresh memoryview of its own as ``base``; NumPy points every view
of it (a slice, a transpose, a reshape, a ``.view``: ``base`` is the first array up the chain
that owns its memory or whose base is not an array) at that array, so that array lives exactly
as long as some view of the block does. The arena holds a weak reference to it whose callback
(``list.append``: it takes no lock, it may run in any thread, this one included, inside a
garbage collection) queues the block; the next request puts the queued blocks back in the free
lists. No guess: a block some tensor still uses is never handed out. (A plain slice of the slab
would not do: all its views would refer to the slab itself; ``np.ndarray(buffer=memoryview)``
would not either: NumPy takes the memoryview's exporter, the slab, as its base.) A reference
count polled at each request instead would cost a look at every block in use (a hundred and
more in a DenseNet-121 step), and polled only when the known free blocks fail, it lets a request
split a large free block while the block that fits it is free but not yet seen: the replayed
ResNet-18 b1 touched 9.7 MiB that way against 5.6.

Each array starts at its own offset within a 4 KiB page (64-byte steps, the next of 64 at each
request: a block is the whole pages its array and that offset need). Large blocks from
``malloc`` all start 16 bytes into a page, and a loop that reads one such array and writes
another then has every load and store on the same page offset, which the CPU's store-to-load
forwarding check confuses ("4K aliasing"): a ReLU backward over 8 MiB took 11.3 ms instead of
1.4 ms with two such arrays (measured).

The arena touches at most ``MAX_HELD_BYTES``. When a request would pass that, the slabs wholly
free are let go first (a process that trains one model and then another mostly reuses the first
one's memory for the second anyway: free blocks merge into whatever sizes it needs); only if that
does not make room does :func:`empty` allocate as NumPy does. :func:`release` lets every wholly
free slab go (``juanji.cuda.empty_cache()`` calls it).

Measured: the whole process's peak rise over three calls (``benchmarks/worker.py --memory``,
MiB; size buckets / arena / no pool, that is ``MIN_BYTES`` out of reach):

    case (benchmarks/cases.py)   size buckets    arena      no pool
    train/resnet18-b64           657, 650        566, 568   546, 541
    train/resnet20-b128          295, 291        241, 242   255, 244
    small/densenet121-b8         442, 439        353, 367   360, 359
    small/vgg11-b8               87, 85          80, 80     78, 77
    small/resnet18-b8            143, 144        131, 136   125, 126
    small/resnet18-b1            65, 65          64, 64     61, 62
    train/lenet-b256             35, 35          28, 32     26, 31

(two runs each, the 2-core machine, warm Numba cache). Page faults a step (steps 3-6, one process
a case) stayed where the buckets had them: LeNet-5 b256 0-167 -> 0, ResNet-20 b128 1.5-1.8 ->
0.8, DenseNet-121 b1 2-120 -> 0-65, against 0-1,133, 5,574-6,087 and 22-1,090 with no pool.
An ``empty`` costs about half a microsecond more than with the buckets (replayed steps, one
thread: 3.1-3.7 us against 2.7-3.1, the frees included).
"""

from __future__ import annotations

import bisect
import math
import os
import threading
import weakref

import numpy as np

__all__ = ["empty", "zeros", "release", "held_bytes", "MIN_BYTES", "MAX_HELD_BYTES"]

MIN_BYTES = 1 << 18
MAX_HELD_BYTES = 1 << 30
SLAB_BYTES = 1 << 26  # a new slab's size (a larger request gets a slab of its own size)

_PAGE = 4096
_LISTED = 1 << 18  # smaller free blocks serve no request (MIN_BYTES): only merges find them
_SLAB_SHIFT = 48  # a block's address: its slab's number << _SLAB_SHIFT, plus its offset in the slab

_lock = threading.Lock()
_slabs: dict = {}  # number -> _Slab
_in_use: dict = {}  # address -> _Block of each block handed out and not yet seen free
_freed: list = []  # the _Blocks whose arrays are gone, appended by their callbacks
_free_start: dict = {}  # address -> end of each free block (all below their slab's top)
_free_end: dict = {}  # end -> address of each free block
_free_list: list = []  # the address of each free block of at least _LISTED bytes, sorted
_held = 0  # bytes below the slabs' tops (memory the arena has touched or handed out)
_count = 0  # arrays handed out so far: the next one's page offset


class _Slab:
    """``size`` bytes from ``np.empty``, page-aligned; ``top``: the end of the part handed out so
    far (touched); ``view``: a memoryview of the page-aligned part (the arrays' ``frombuffer``
    source)."""

    __slots__ = ("number", "base", "size", "top", "raw", "view")

    def __init__(self, number: int, size: int):
        self.raw = np.empty(size + _PAGE, np.uint8)
        start = -self.raw.ctypes.data % _PAGE
        self.view = memoryview(self.raw)[start:start + size]
        self.number = number
        self.base = number << _SLAB_SHIFT
        self.size = size
        self.top = 0


def _new_lock_after_fork():
    """A forked child (a DataLoader worker) may have been forked while another thread held the
    lock: it starts with a fresh one (its copies of the slabs stay usable)."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def _unlist(address: int) -> None:
    del _free_list[bisect.bisect_left(_free_list, address)]


def _link(address: int, end: int) -> None:
    """Put the free block [address, end) in the free lists, merged with free neighbours (lock held)."""
    listed = False
    left = _free_end.pop(address, None)
    if left is not None:
        del _free_start[left]
        listed = address - left >= _LISTED  # (then the merged block keeps its place in the list)
        address = left
    right = _free_start.pop(end, None)
    if right is not None:
        del _free_end[right]
        if right - end >= _LISTED:
            _unlist(end)
        end = right
    _free_start[address] = end
    _free_end[end] = address
    if not listed and end - address >= _LISTED:
        bisect.insort(_free_list, address)


class _Block(weakref.ref):
    """A weak reference to the array handed out for the block [address, end): its callback puts
    it in ``_freed`` when the array is gone (no view of it is left: every view refers to it)."""

    __slots__ = ("address", "end")


def _collect() -> None:
    """Put the blocks whose arrays are gone in the free lists (lock held). (The callbacks only
    append: an array may go in any thread at any moment, this one included while it holds the
    lock.)"""
    while _freed:
        block = _freed.pop()
        address = block.address
        del _in_use[address]
        _link(address, block.end)


def _from_free(need: int):
    """The address of a block of ``need`` bytes cut from the start of the free block lowest in
    memory that holds it (the rest stays free), or None (lock held)."""
    for at, address in enumerate(_free_list):
        end = _free_start[address]
        if end - address >= need:
            break
    else:
        return None
    del _free_start[address]
    if end - address > need:
        # the rest's neighbours: this block (in use) and a block that was not free (else merged)
        _free_start[address + need] = end
        _free_end[end] = address + need
        if end - address - need >= _LISTED:
            _free_list[at] = address + need  # (still in order)
            return address
    else:
        del _free_end[end]
    del _free_list[at]
    return address


def _from_top(need: int):
    """The address of a block of ``need`` bytes at the top of the touched part of a slab (taking
    in a free block just below the top), within ``MAX_HELD_BYTES``, or None (lock held)."""
    global _held
    best, best_growth = None, None
    for slab in _slabs.values():
        top = slab.base + slab.top
        start = _free_end.get(top, top)
        if start + need <= slab.base + slab.size:
            growth = start + need - top
            if best is None or growth < best_growth:
                best, best_growth = slab, growth
    if best is None or _held + best_growth > MAX_HELD_BYTES:
        return None
    top = best.base + best.top
    start = _free_end.pop(top, top)
    if start != top:
        del _free_start[start]
        if top - start >= _LISTED:
            _unlist(start)
    best.top += best_growth
    _held += best_growth
    return start


def _from_new_slab(need: int):
    """The address of a block of ``need`` bytes at the start of a new slab, or None when that would
    pass ``MAX_HELD_BYTES`` or the slab cannot be had (lock held)."""
    global _held
    if _held + need > MAX_HELD_BYTES:
        return None
    number = 0
    while number in _slabs:
        number += 1
    try:
        slab = _Slab(number, max(SLAB_BYTES, need))
    except MemoryError:
        return None
    _slabs[number] = slab
    slab.top = need
    _held += need
    return slab.base


def _drop_free_slabs() -> int:
    """Let go of the slabs no block of which is in use (lock held); returns their touched bytes."""
    global _held
    freed = 0
    for slab in list(_slabs.values()):
        if _free_start.get(slab.base) == slab.base + slab.top:  # one free block from 0 to the top
            del _free_start[slab.base], _free_end[slab.base + slab.top]
            if slab.top >= _LISTED:
                _unlist(slab.base)
            del _slabs[slab.number]
            freed += slab.top
    _held -= freed
    return freed


def _take(nbytes: int, dtype: np.dtype, count: int):
    """A 1-d array of ``count`` items of ``dtype`` (``nbytes`` bytes) in a block of the arena, or
    None (the arena's budget is in use)."""
    global _count
    with _lock:
        if _freed:
            _collect()
        shift = 64 * ((_count * 17) % 64)  # 64 offsets across a page, one after another
        _count += 1
        need = (nbytes + shift + _PAGE - 1) & -_PAGE
        address = _from_free(need)
        if address is None:
            address = _from_top(need)
        if address is None:
            address = _from_new_slab(need)
        if address is None and need <= MAX_HELD_BYTES and _drop_free_slabs():
            address = _from_top(need)
            if address is None:
                address = _from_new_slab(need)
        if address is None:
            return None
        slab = _slabs[address >> _SLAB_SHIFT]
        offset = address - slab.base + shift
        # a fresh memoryview of the slab as its base: the array and its views are this block's own
        owner = np.frombuffer(slab.view, dtype, count, offset)
        block = _Block(owner, _freed.append)
        block.address, block.end = address, address + need
        _in_use[address] = block
    return owner


def empty(shape, dtype):
    """``np.empty(shape, dtype)`` (C order), from the arena when it is large."""
    dtype = np.dtype(dtype)
    # (the small arrays of small layers come this way at every call: as few steps as can be)
    count = shape if isinstance(shape, (int, np.integer)) else math.prod(shape)
    nbytes = count * dtype.itemsize
    if nbytes < MIN_BYTES or dtype.hasobject:
        return np.empty(shape, dtype)
    owner = _take(int(nbytes), dtype, int(count))  # (the free lists' keys: Python ints only)
    if owner is None:
        return np.empty(shape, dtype)
    return owner.reshape(shape)


def zeros(shape, dtype):
    """``np.zeros(shape, dtype)``, from the arena when it is large."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


def held_bytes() -> int:
    """Bytes the arena holds (touched: in use or free)."""
    return _held


def release() -> int:
    """Let go of every slab no array uses; returns the bytes released."""
    with _lock:
        _collect()
        return _drop_free_slabs()
