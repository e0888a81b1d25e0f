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
