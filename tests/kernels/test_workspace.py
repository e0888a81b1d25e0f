"""``kernels.workspace``: large arrays come from an arena and their memory is reused only once
nothing refers to them."""

import gc
import threading

import numpy as np
import pytest

from juanji.kernels import workspace as W

SHAPE = (300, 500)  # 600 KB of float32: above MIN_BYTES
NBYTES = SHAPE[0] * SHAPE[1] * 4
PAGE = 4096


def _pages(nbytes):
    return -(-nbytes // PAGE) * PAGE


@pytest.fixture(autouse=True)
def empty_arena(monkeypatch):
    """An arena of this test's own (earlier tests in the process may still hold arena memory)."""
    monkeypatch.setattr(W, "_slabs", {})
    monkeypatch.setattr(W, "_in_use", {})
    monkeypatch.setattr(W, "_freed", [])
    monkeypatch.setattr(W, "_free_start", {})
    monkeypatch.setattr(W, "_free_end", {})
    monkeypatch.setattr(W, "_free_list", [])
    monkeypatch.setattr(W, "_held", 0)
    monkeypatch.setattr(W, "_count", 0)


def _span(a):
    """The bytes [start, end) of ``a``'s memory."""
    start = a.__array_interface__["data"][0]
    return start, start + a.nbytes


def _overlap(a, b):
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return a0 < b1 and b0 < a1


def _owner(a):
    """The array the arena handed out for ``a``'s memory."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def test_results_are_like_numpys():
    for dtype in (np.float32, np.float64, np.int64, np.int8, np.complex128, np.bool_, np.uint16):
        for shape in (70_000, np.int64(70_000), (300, 500), [3, 100, 250], (np.int64(2), 300, 500)):
            a = W.empty(shape, dtype)
            expected = np.empty(shape, dtype)
            assert a.shape == expected.shape and a.dtype == np.dtype(dtype)
            assert a.flags.c_contiguous and a.flags.writeable and a.flags.aligned
            if a.nbytes >= W.MIN_BYTES:  # from the arena
                assert isinstance(_owner(a).base, memoryview) and a.ctypes.data % 64 == 0
            else:
                assert a.base is None
            a[...] = 1
            assert np.all(a == 1)
            z = W.zeros(shape, dtype)
            assert z.shape == expected.shape and z.dtype == np.dtype(dtype) and not z.any()


def test_small_and_object_arrays_are_numpys_own():
    small = W.empty((3, 4), np.float32)
    assert small.base is None and small.shape == (3, 4)
    objects = W.empty(SHAPE, object)
    assert objects.base is None and objects.dtype == object
    assert W.held_bytes() == 0


def test_an_array_in_use_is_never_handed_out_again():
    a = W.empty(SHAPE, np.float32)
    a.fill(1)
    others = [W.empty(SHAPE, np.float32) for _ in range(5)]
    for i, b in enumerate(others):
        assert not _overlap(a, b) and not any(_overlap(b, c) for c in others[:i])
        b.fill(2)
    assert np.all(a == 1)


def test_views_keep_their_block():
    a = W.empty(SHAPE, np.float32)
    a.fill(3)
    views = [a[::2, 1:].T, a.reshape(-1)[10:], a.view(np.uint8)[4:], np.asarray(memoryview(a))]
    start = _span(a)[0]
    del a
    gc.collect()
    for _ in range(3):
        c = W.empty(SHAPE, np.float32)
        assert not any(_overlap(c, v) for v in views)
        c.fill(4)
        del c
    assert np.all(views[0] == 3) and np.all(views[1] == 3) and np.all(views[3] == 3)
    assert np.all(views[2].view(np.float32) == 3)
    held = W.held_bytes()
    del views
    d = W.empty(SHAPE, np.float32)
    assert 0 <= _span(d)[0] - start < PAGE  # free again: the same block
    assert W.held_bytes() == held


def test_freed_neighbours_merge_and_serve_a_larger_request_without_new_memory():
    a = W.empty(SHAPE, np.float32)
    b = W.empty(SHAPE, np.float32)
    keep = W.empty(SHAPE, np.float32)  # after a and b: their merged block is not the top
    held = W.held_bytes()
    low = min(_span(a)[0], _span(b)[0])
    assert _span(keep)[0] > max(_span(a)[0], _span(b)[0])
    del a, b
    big = W.empty((2 * SHAPE[0], SHAPE[1]), np.float32)  # more than either block alone
    assert W.held_bytes() == held
    assert low <= _span(big)[0] < low + PAGE and not _overlap(big, keep)
    big.fill(5)
    keep.fill(6)
    assert np.all(big == 5)


def test_a_free_block_is_split_and_its_rest_serves_later_requests():
    big = W.empty((4 * SHAPE[0], SHAPE[1]), np.float32)
    W.empty(SHAPE, np.float32)  # on top: the big block is not at the top
    held = W.held_bytes()
    del big
    parts = [W.empty(SHAPE, np.float32) for _ in range(3)]  # three fit in the big one's block
    assert W.held_bytes() == held
    for i, p in enumerate(parts):
        p.fill(i)
    assert [int(p[0, 0]) for p in parts] == [0, 1, 2]


def test_arrays_start_at_different_page_offsets():
    arrays = [W.empty(SHAPE, np.float32) for _ in range(8)]
    offsets = {a.ctypes.data % PAGE for a in arrays}
    assert len(offsets) == len(arrays)
    assert all(a.ctypes.data % 64 == 0 for a in arrays)


def test_release_lets_free_slabs_go_and_keeps_slabs_in_use(monkeypatch):
    monkeypatch.setattr(W, "SLAB_BYTES", 2 * NBYTES + 4 * PAGE)
    a = W.empty(SHAPE, np.float32)
    b = W.empty(SHAPE, np.float32)  # same slab as a
    c = W.empty(SHAPE, np.float32)  # a slab of its own
    assert len(W._slabs) == 2
    held = W.held_bytes()
    del b, c
    released = W.release()
    assert released > 0 and W.held_bytes() == held - released and len(W._slabs) == 1
    a.fill(7)
    assert np.all(a == 7)
    assert W.release() == 0  # a's slab is in use
    d = W.empty(SHAPE, np.float32)  # reuses the free part of a's slab
    assert W.held_bytes() - (held - released) <= PAGE and not _overlap(a, d)  # (a page: its shift)
    del a, d
    assert W.release() > 0 and W.held_bytes() == 0 and not W._slabs
    e = W.empty(SHAPE, np.float32)  # and the arena starts again
    assert W.held_bytes() > 0 and e.flags.writeable


def test_a_request_larger_than_a_slab_gets_a_slab_of_its_own(monkeypatch):
    monkeypatch.setattr(W, "SLAB_BYTES", NBYTES)
    a = W.empty((3 * SHAPE[0], SHAPE[1]), np.float32)
    a.fill(1)
    assert W.held_bytes() >= a.nbytes and np.all(a == 1)
    del a
    parts = [W.empty(SHAPE, np.float32) for _ in range(2)]
    assert len(W._slabs) == 1 and not _overlap(*parts)


def test_past_the_budget_a_request_is_a_plain_array(monkeypatch):
    monkeypatch.setattr(W, "MAX_HELD_BYTES", 2 * NBYTES)
    a = W.empty(SHAPE, np.float32)
    b = W.empty(SHAPE, np.float32)  # a's block and its spare pages leave no room: plain
    assert isinstance(_owner(a).base, memoryview) and b.base is None
    assert W.held_bytes() <= W.MAX_HELD_BYTES
    huge = W.empty(W.MAX_HELD_BYTES + 1, np.uint8)
    assert huge.base is None
    del b
    a.fill(3)
    assert np.all(a == 3)


def test_a_full_arena_lets_its_free_slabs_go_for_new_memory(monkeypatch):
    """Past MAX_HELD_BYTES the arena lets go of slabs nothing uses rather than refuse a request
    (a process that trains a second model would otherwise pool none of its arrays); a slab in use
    is never let go."""
    slab = _pages(NBYTES + PAGE)  # one array a slab
    monkeypatch.setattr(W, "SLAB_BYTES", slab)
    monkeypatch.setattr(W, "MAX_HELD_BYTES", 3 * slab)
    kept = W.empty(SHAPE, np.float32)
    held_kept = W.held_bytes()
    old = [W.empty(SHAPE, np.float32) for _ in range(2)]
    assert len(W._slabs) == 3  # the arena is full
    kept.fill(7)
    del old
    bigger = W.empty((2 * SHAPE[0], SHAPE[1]), np.float32)  # fits no free slab: they go
    assert isinstance(_owner(bigger).base, memoryview) and not _overlap(bigger, kept)
    assert len(W._slabs) == 2 and held_kept + bigger.nbytes <= W.held_bytes() <= W.MAX_HELD_BYTES
    assert np.all(kept == 7)
    again = W.empty((2 * SHAPE[0], SHAPE[1]), np.float32)  # nothing free: a plain array
    assert again.base is None


def test_threads_never_share_memory():
    errors = []
    barrier = threading.Barrier(4)
    guard = threading.Lock()
    spans = {}  # thread -> spans of its live arrays

    def work(k):
        try:
            barrier.wait()
            for i in range(200):
                shape = (100 + 37 * ((i + k) % 7), 1000)
                a = W.empty(shape, np.float32)
                b = W.zeros(shape, np.float64)
                with guard:
                    mine = [_span(a), _span(b)]
                    for other, theirs in spans.items():
                        if any(s0 < t1 and t0 < s1 for s0, s1 in mine for t0, t1 in theirs):
                            errors.append(("overlap", k, other))
                    spans[k] = mine
                a.fill(k)
                b += k
                if not (np.all(a == k) and np.all(b == k)):
                    errors.append(("values", k, i))
                with guard:
                    spans[k] = []
                del a, b
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    gc.collect()
    W.release()
    assert W.held_bytes() == 0 and not W._slabs  # every array is gone: every slab was let go


def test_free_lists_stay_consistent_under_a_random_pattern():
    rng = np.random.default_rng(0)
    live = []
    for _ in range(2000):
        if live and rng.random() < 0.45:
            a, value = live.pop(int(rng.integers(len(live))))
            assert np.all(a == value)
        else:
            n = int(rng.integers(W.MIN_BYTES, 8 * W.MIN_BYTES))
            a = W.empty(n, np.uint8)
            a.fill(len(live) % 251)
            live.append((a, len(live) % 251))
    spans = sorted(_span(a) for a, _ in live)
    assert all(s[1] <= t[0] for s, t in zip(spans, spans[1:]))
    W.release()
    starts, ends, order = W._free_start, W._free_end, W._free_list
    assert len(starts) == len(ends) and order == sorted(a for a, e in starts.items() if e - a >= W._LISTED)
    assert all(ends[e] == s for s, e in starts.items())
    assert all(e not in starts for e in starts.values())  # merged: no free block follows another
    assert W.held_bytes() == sum(slab.top for slab in W._slabs.values())
    del live, a
    assert W.release() > 0 and W.held_bytes() == 0
