"""``kernels.workspace``: large arrays are reused only once nothing refers to them."""

import gc

import numpy as np
import pytest

from juanji.kernels import workspace as W

SHAPE = (300, 500)  # 600 KB of float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch):
    """A pool of this test's own (earlier tests in the process may still hold pool buffers)."""
    monkeypatch.setattr(W, "_by_size", {})
    monkeypatch.setattr(W, "_sizes", [])
    monkeypatch.setattr(W, "_held", 0)


def _owner(a):
    """The id of the array that owns ``a``'s memory (an id: holding the owner would keep it in use)."""
    return id(a.base if a.base is not None else a)


def test_a_buffer_in_use_is_never_handed_out_again():
    a = W.empty(SHAPE, np.float32)
    a.fill(1)
    b = W.empty(SHAPE, np.float32)
    assert _owner(a) != _owner(b)
    b.fill(2)
    assert np.all(a == 1)


def test_views_keep_their_buffer():
    a = W.empty(SHAPE, np.float32)
    a.fill(3)
    view = a[::2, 1:].T  # a view of a view
    owner = _owner(a)
    del a
    gc.collect()
    c = W.empty(SHAPE, np.float32)
    assert _owner(c) != owner
    c.fill(4)
    assert np.all(view == 3)
    del view, c
    d = W.empty(SHAPE, np.float32)
    assert _owner(d) == owner  # free again: reused


def test_reuse_across_dtypes_of_one_size_and_release():
    a = W.empty(SHAPE, np.float32)
    owner = _owner(a)
    del a
    b = W.empty((SHAPE[0], SHAPE[1] // 2), np.float64)
    assert _owner(b) == owner and b.dtype == np.float64 and b.flags.c_contiguous
    assert W.held_bytes() == b.nbytes
    assert W.release() == 0  # b is in use
    del b
    assert W.release() > 0 and W.held_bytes() == 0


def test_small_arrays_and_zeros():
    small = W.empty((3, 4), np.float32)
    assert small.base is None and small.shape == (3, 4)
    z = W.zeros(SHAPE, np.float64)
    assert z.shape == SHAPE and not z.any()


def test_buffers_start_at_different_page_offsets():
    arrays = [W.empty(SHAPE, np.float32) for _ in range(8)]
    offsets = {a.ctypes.data % 4096 for a in arrays}
    assert len(offsets) == len(arrays)
    assert all(a.ctypes.data % 64 == 0 for a in arrays)


def test_cap(monkeypatch):
    monkeypatch.setattr(W, "MAX_HELD_BYTES", 700_000)
    a = W.empty(SHAPE, np.float32)
    b = W.empty(SHAPE, np.float32)  # over the cap: an ordinary array
    assert a.base is not None and b.base is None
    assert W.held_bytes() == a.nbytes


def test_a_free_larger_buffer_serves_a_smaller_request():
    a = W.empty(SHAPE, np.float32)
    owner = _owner(a)
    del a
    smaller = (int(SHAPE[0] / W.REUSE_SLACK) + 1, SHAPE[1])
    b = W.empty(smaller, np.float32)  # within the slack: reused
    assert _owner(b) == owner and b.flags.c_contiguous and b.shape == smaller
    c = W.empty(smaller, np.float32)  # the buffer is in use: a new one
    assert _owner(c) != owner
    del b, c
    d = W.empty((SHAPE[0] // 2, SHAPE[1]), np.float32)  # beyond the slack: a buffer of its own
    assert _owner(d) != owner


def test_a_full_pool_lets_the_free_buffers_used_longest_ago_go(monkeypatch):
    """Past MAX_HELD_BYTES the pool drops free buffers, oldest use first, instead of refusing
    new sizes (a process that trains a second model would otherwise never pool its arrays); a
    buffer in use is never dropped, and when nothing is free the request is a plain array."""
    size = SHAPE[0] * SHAPE[1] * 4
    monkeypatch.setattr(W, "MAX_HELD_BYTES", 3 * size)
    old = [W.empty(SHAPE, np.float32) for _ in range(3)]  # fills the pool
    old_owners = [_owner(a) for a in old]
    kept = old[2]
    W.empty(SHAPE, np.float32)   # uses a free one? no: all three are in use -> a plain array
    assert W.held_bytes() == 3 * size
    del old
    gc.collect()
    again = W.empty(SHAPE, np.float32)  # a free one of the right size is reused, no eviction
    assert _owner(again) in old_owners[:2] and W.held_bytes() == 3 * size
    recent = id(again.base)
    del again
    small = W.empty((200, 500), np.float32)  # 400 KB: too small to reuse a free 600 KB buffer
    # one free buffer had to go: the one used longest ago, not the one just reused
    assert small.base is not None and W.held_bytes() == 2 * size + small.nbytes
    assert recent in [id(entry[0]) for entry in W._by_size[size]]
    other = W.empty((400, 500), np.float32)  # 800 KB: the last free 600 KB buffer goes too
    assert other.base is not None and W.held_bytes() == size + small.nbytes + other.nbytes
    assert any(entry[0] is kept.base for entry in W._by_size.get(size, []))  # in use: still held
    kept.fill(7)
    assert np.all(kept == 7)
