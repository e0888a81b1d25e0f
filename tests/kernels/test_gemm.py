"""``kernels.gemm.matmul``: juanji's own split of a matrix product over its threads (BLAS
single-threaded), against NumPy's product and torch's, for every way it splits."""

import numpy as np
import pytest

import juanji
from juanji.kernels import _threads, gemm

torch = pytest.importorskip("torch")

EPS = {np.float32: 1e-6, np.float64: 1e-14}


def assert_close(got, want, a, b):
    """Within a few ulps of the scale ``|a| @ |b|`` of each entry (the rounding bound of a dot)."""
    scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    assert np.all(np.abs(got.astype(np.float64) - want) <= 4 * EPS[a.dtype.type] * scale + 1e-30)

SHAPES = [
    ((300, 200), (200, 150)),          # split by rows
    ((1, 4000), (4000, 1200)),         # one row: split by columns
    ((3, 64, 96), (96, 80)),           # a stack times a matrix
    ((2, 1, 40, 300), (5, 300, 500)),  # broadcast batch dims
    ((7, 9), (9, 5)),                  # too small to split
]


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request, monkeypatch):
    saved = juanji.get_num_threads()
    juanji.set_num_threads(request.param)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 1 << 12)  # split even the middling products
    yield request.param
    juanji.set_num_threads(saved)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matmul_matches_numpy_and_torch(shapes, dtype, threads):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    got = gemm.matmul(a, b)
    assert got.dtype == dtype and got.shape == np.matmul(a, b).shape
    assert_close(got, torch.matmul(torch.tensor(a), torch.tensor(b)).numpy(), a, b)
    out = np.full(got.shape, np.nan, dtype)
    assert gemm.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, got)
    np.testing.assert_array_equal(gemm.matmul(a, b), got)  # the same bits on a second call


def test_transposed_views_and_blas_threads_restored(threads):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((500, 300)).astype(np.float32)
    b = rng.standard_normal((200, 300)).astype(np.float32)
    before = _threads.blas_threads()
    assert_close(gemm.matmul(a, b.T), a @ b.T, a, b.T)
    assert_close(gemm.matmul(a.T, a), a.T @ a, a.T, a)
    assert _threads.blas_threads() == before


def test_other_arrays_go_to_the_plain_product():
    ints = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(gemm.matmul(ints, ints.T), ints @ ints.T)
    v = np.arange(4.0)
    assert gemm.matmul(v, v) == v @ v  # 1-d operands
    mixed = gemm.matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float64))
    assert mixed.dtype == np.float64
