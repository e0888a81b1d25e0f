"""juanji.set_num_threads / get_num_threads: torch's API, and what it controls."""

import numpy as np
import pytest

import juanji
from juanji.kernels import _threads


@pytest.fixture
def restore_threads():
    saved = juanji.get_num_threads()
    yield
    juanji.set_num_threads(saved)


def test_set_num_threads_sets_numba_and_blas(restore_threads):
    juanji.set_num_threads(1)
    assert juanji.get_num_threads() == 1
    assert _threads.workers() == 1
    if _threads.blas_threads() is not None:
        assert _threads.blas_threads() == 1


def test_more_threads_than_launched_are_capped(restore_threads):
    import numba
    juanji.set_num_threads(numba.config.NUMBA_NUM_THREADS + 5)
    assert juanji.get_num_threads() == numba.config.NUMBA_NUM_THREADS


@pytest.mark.parametrize("bad", [0, -1, 2.5, "a"])
def test_bad_thread_counts_raise_torchs_errors(bad):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as expected:
        torch.set_num_threads(bad)
    with pytest.raises(RuntimeError) as got:
        juanji.set_num_threads(bad)
    assert str(got.value) == str(expected.value)


def test_one_thread_and_all_threads_give_the_same_convolution(restore_threads):
    """The batch split changes only the order the weight gradient's partial sums are added."""
    import juanji.nn.functional as F
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 4, 16, 16))
    w = rng.standard_normal((6, 4, 3, 3))

    def run():
        xt = juanji.tensor(x, requires_grad=True)
        wt = juanji.tensor(w, requires_grad=True)
        F.conv2d(xt, wt, padding=1).square().sum().backward()
        return xt.grad.numpy(), wt.grad.numpy()

    juanji.set_num_threads(1)
    single = run()
    juanji.set_num_threads(2)
    split = run()
    np.testing.assert_allclose(single[0], split[0], rtol=1e-12)  # input gradient: no reduction
    np.testing.assert_allclose(single[1], split[1], rtol=1e-10)


def test_a_forked_child_runs_convolutions_with_its_own_threads():
    """DataLoader workers are forked: the parent's conv worker threads do not exist there."""
    import multiprocessing as mp
    import juanji.nn.functional as F
    x = juanji.randn(8, 4, 16, 16)
    w = juanji.randn(6, 4, 3, 3)
    expected = F.conv2d(x, w, padding=1).numpy()  # starts the parent's pool
    with mp.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_conv_in_child, (x.numpy(), w.numpy())).get(timeout=60)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def _conv_in_child(x, w):
    import juanji.nn.functional as F
    return F.conv2d(juanji.from_numpy(x), juanji.from_numpy(w), padding=1).numpy()


def test_worker_threads_follow_the_callers_numpy_error_state():
    """np.errstate is per thread: a conv split over threads inside a quiet backward pass must
    stay quiet (torch gives inf silently on a diverging run)."""
    import warnings
    from juanji.kernels import conv as K
    from juanji.kernels.window import Window
    x = np.full((8, 4, 16, 16), 1e30, np.float32)
    w = np.full((6, 4, 3, 3), 1e30, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore", invalid="ignore"):
            y = K.conv_forward(x, w, K.conv_geometry(Window((3, 3), (1, 1), (1, 1), (1, 1), (1, 1)), x.shape, 6))
    assert np.isinf(y).any()


def _overflow_slowly(start, stop):
    import threading
    import time
    time.sleep(0.05)  # (every worker claims its own slice)
    return float(np.float32(1e30) * np.float32(1e30)), threading.current_thread().name


@pytest.mark.parametrize("parts", [2, 3])
def test_every_slice_runs_under_the_callers_numpy_error_state(parts):
    """The caller's slice runs as it is; each worker's under the caller's state handed over (NumPy's
    error-state variable, or np.geterr()'s dict): silent under "ignore", an error under "raise"."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            out = _threads.map_slices(_overflow_slowly, parts, parts, single_threaded_blas=False)
    assert [v for v, _ in out] == [np.inf] * parts and len({name for _, name in out}) == parts
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        _threads.map_slices(lambda a, b: _overflow_slowly(a, b) if a > 0 else (0.0, ""), parts, parts,
                            single_threaded_blas=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="ignore"):
            assert _threads._run_in_worker(_overflow_slowly, 0, 1, np.geterr())[0] == np.inf


# ------------------------------------------------------------------ the polled hand-over (_Hand)
def _where(start, stop):
    import threading
    return start, stop, threading.current_thread().name


def _where_slowly(start, stop):
    import time
    time.sleep(0.05)  # long enough for every worker to claim its slice (else the caller may take it)
    return _where(start, stop)


@pytest.mark.parametrize("parts", [2, 3, 2])
def test_map_slices_gives_each_slice_to_its_thread_in_order(parts):
    out = _threads.map_slices(_where_slowly, 10, parts, single_threaded_blas=False)
    assert [(a, b) for a, b, _ in out] == _threads._slices(10, parts)
    names = [name for _, _, name in out]
    assert len(set(names)) == parts and all(name.startswith("juanji-hand") for name in names[1:])
    quick = _threads.map_slices(_where, 10, parts, single_threaded_blas=False)  # some taken back by the caller
    assert [(a, b) for a, b, _ in quick] == _threads._slices(10, parts)


def test_the_caller_takes_back_a_slice_its_worker_has_not_claimed():
    """With the worker's flag never changing hands (its thread busy elsewhere), the caller runs
    the slice itself instead of waiting."""
    hand = _threads._Hand(1)
    hand.close()  # the worker thread exits: nobody else will claim
    import time
    time.sleep(0.05)
    hand.closed = False
    errors = np.geterr()
    hand.post(0, _where, 3, 7, errors)
    assert hand.collect(0)[:2] == (3, 7)


def test_a_workers_error_reaches_the_caller_and_the_workers_go_on():
    def work(start, stop):
        if start > 0:
            raise ValueError("from the worker")
        return start
    with pytest.raises(ValueError, match="from the worker"):
        _threads.map_slices(work, 4, 2, single_threaded_blas=False)
    assert [a for a, _, _ in _threads.map_slices(_where, 4, 2, single_threaded_blas=False)] == [0, 2]


def test_the_callers_error_waits_for_the_workers_slices():
    import time
    done = []

    def work(start, stop):
        if start == 0:
            raise KeyError("caller")
        time.sleep(0.02)
        done.append(start)
    with pytest.raises(KeyError):
        _threads.map_slices(work, 4, 2, single_threaded_blas=False)
    assert done == [2]


def test_slow_slices_and_sleeping_workers_still_hand_over():
    """Past the poll budgets both sides sleep (semaphore, event); they must still be woken."""
    import time

    def slow(start, stop):
        time.sleep(0.03 if start else 0.0)
        return stop
    for _ in range(3):
        assert _threads.map_slices(slow, 6, 2, single_threaded_blas=False) == [3, 6]
        time.sleep(0.05)  # the worker's poll budget runs out: it sleeps
        assert _threads.map_slices(lambda a, b: b - a, 6, 2, single_threaded_blas=False) == [3, 3]


def test_two_threads_calling_at_once_both_get_their_results():
    import threading
    results, errors = {}, []

    def caller(tag):
        try:
            for i in range(200):
                got = _threads.map_slices(lambda a, b: (tag, i, a, b), 8, 2, single_threaded_blas=False)
                assert got == [(tag, i, 0, 4), (tag, i, 4, 8)]
            results[tag] = True
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
    threads = [threading.Thread(target=caller, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and results == {"a": True, "b": True}


def test_a_forked_child_hands_over_to_its_own_workers():
    import multiprocessing as mp
    _threads.map_slices(_where, 4, 2, single_threaded_blas=False)  # the parent's workers exist
    with mp.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_child_map, ()).get(timeout=60)
    assert got == [(0, 2), (2, 4)]


def _child_map():
    return [(a, b) for a, b, _ in _threads.map_slices(_where, 4, 2, single_threaded_blas=False)]


def test_the_result_poll_waits_for_its_own_slice_number():
    """The done flag may hold an older number than seq - 1 (the caller took that slice back): the
    poll must wait for seq itself, not for any change."""
    from juanji.kernels import _spin
    state = np.zeros(24, np.int64)
    state[8] = 3  # the worker's last finished slice: 3; the caller now waits for 5 (4 was taken back)
    assert not _spin.wait_for(state, 8, 5, 100)
    state[8] = 5
    assert _spin.wait_for(state, 8, 5, 100)
    assert _spin.wait_change(state, 8, 4, 1) == 5  # (what the old poll compared: any change from seq - 1)


def test_a_worker_lets_go_of_its_slice_when_done():
    """Once ``map_slices`` has returned, no worker thread keeps the slice it ran (its closure, and
    the arrays that refers to, which would keep their arena blocks in use) until its next slice."""
    import gc
    import threading
    import time
    import weakref

    class Marker:
        pass

    marker = Marker()
    alive = weakref.ref(marker)

    def work(start, stop, held=marker):
        time.sleep(0.02)  # long enough that the worker claims its own slice
        return threading.current_thread().name

    names = _threads.map_slices(work, 2, 2, single_threaded_blas=False)
    assert names[1].startswith("juanji-hand")
    del work, marker
    gc.collect()
    assert alive() is None


def test_the_thread_count_is_numbas_for_the_calling_thread(restore_threads):
    """``workers()`` reads Numba's count through its cheaper reader: the same answer as
    ``numba.get_num_threads`` after ``juanji.set_num_threads``, after ``numba.set_num_threads`` called
    directly, in another thread (Numba's count is per thread), and 1 inside a worker."""
    import threading

    import numba
    for n in (1, _threads.max_threads()):
        juanji.set_num_threads(n)
        assert _threads.workers() == numba.get_num_threads() == n
    numba.set_num_threads(1)
    assert _threads.workers() == 1
    seen = []
    other = threading.Thread(target=lambda: seen.append((_threads.workers(), numba.get_num_threads())))
    other.start()
    other.join()
    assert seen[0][0] == seen[0][1]
    juanji.set_num_threads(_threads.max_threads())
    inside = _threads.map_slices(lambda start, stop: _threads.workers(), 2, 2) if _threads.max_threads() > 1 else [1]
    assert all(v == 1 for v in inside[1:])
