"""``kernels.gemm.matmul``: juanji's own split of a matrix product over its threads (BLAS
single-threaded), against NumPy's product and torch's, for every way it splits."""

import numpy as np
import pytest

import juanji
from juanji.kernels import _threads, gemm
from tests.helpers import assert_generated

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
    ((96, 40), (40, 700)),             # few rows, many columns: split by columns (COLUMN_SPLIT)
]


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request, monkeypatch):
    saved = juanji.get_num_threads()
    juanji.set_num_threads(request.param)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 1 << 12)  # split even the middling products
    monkeypatch.setattr(gemm, "NATIVE_SPLIT", False)  # (by Python slices here; the native ones: below)
    yield request.param
    juanji.set_num_threads(saved)


NATIVE = bool(_threads._blas_lib().gemm)  # the BLAS NumPy loads names its ILP64 cblas_?gemm as expected


@pytest.fixture(params=[False, True], ids=["python-slices", "native-slices"])
def native(request, monkeypatch, threads):
    """The splits of ``threads`` by Python slices or by native ones (``_threads.split_gemm``: each thread's
    BLAS call started without the GIL), from small products on."""
    if request.param and not NATIVE:
        pytest.skip("no ILP64 cblas_?gemm found in NumPy's BLAS: native slices are off")
    monkeypatch.setattr(gemm, "NATIVE_SPLIT", request.param)
    monkeypatch.setattr(gemm, "NATIVE_MIN_FLOPS", 1 << 12)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_matmul_matches_numpy_and_torch(shapes, dtype, threads, native):
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


def test_transposed_views_and_blas_threads_restored(threads, native):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((500, 300)).astype(np.float32)
    b = rng.standard_normal((200, 300)).astype(np.float32)
    before = _threads.blas_threads()
    assert_close(gemm.matmul(a, b.T), a @ b.T, a, b.T)
    assert_close(gemm.matmul(a.T, a), a.T @ a, a.T, a)
    assert _threads.blas_threads() == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_products_go_straight_to_numpy(monkeypatch, dtype):
    """Up to ``SMALL_PRODUCT`` multiply-adds a product of two matrices is NumPy's own (OpenBLAS runs it
    on one thread anyway): the same bits, ``out`` honoured, BLAS's thread count not touched."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((16, 32)).astype(dtype)
    b = rng.standard_normal((32, 16)).astype(dtype)
    assert 16 * 32 * 16 <= gemm.SMALL_PRODUCT

    def untouched(n):
        raise AssertionError("BLAS's thread count was set for a small product")
    monkeypatch.setattr(gemm, "set_blas_threads", untouched)
    got = gemm.matmul(a, b)
    np.testing.assert_array_equal(got, np.matmul(a, b))
    out = np.empty((16, 16), dtype)
    assert gemm.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, got)
    assert_close(got, torch.matmul(torch.tensor(a), torch.tensor(b)).numpy(), a, b)


def test_other_arrays_go_to_the_plain_product():
    ints = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(gemm.matmul(ints, ints.T), ints @ ints.T)
    v = np.arange(4.0)
    assert gemm.matmul(v, v) == v @ v  # 1-d operands
    mixed = gemm.matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float64))
    assert mixed.dtype == np.float64


# -- matmul_narrow: the 512-bit loops for products with few columns ---------------------------------

NARROW = [(512, 4608, 16), (37, 100, 48), (5, 7, 16), (64, 576, 64), (130, 33, 80), (512, 16, 4608), (9, 1, 32),
          (16, 300, 32), (1, 5, 16),
          (41, 1024, 16), (24, 2048, 16)]  # (rows 4 KiB apart: 8-row tiles where 16 columns would take 16)


@pytest.fixture(params=[True, False], ids=["avx512-tiles", "avx2-tiles"])
def tiles(request, monkeypatch):
    """Either tile set (``gemm.FULL_TILES``: ``rows`` for AVX-512's 32 registers, ``half_rows`` for AVX2's
    16), whatever this CPU has: the same sums in the same order."""
    monkeypatch.setattr(gemm, "FULL_TILES", request.param)
    return request.param


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("shape", NARROW, ids=str)
def test_matmul_narrow_matches_numpy_and_torch(shape, order, threads, tiles):
    m, k, n = shape
    rng = np.random.default_rng(m * k + n)
    a = np.asarray(rng.standard_normal((m, k)), np.float32, order=order)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.full((m, n), np.nan, np.float32)
    assert gemm.matmul_narrow(a, b, out) is out
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert_close(out, want, a, b)
    assert_close(out, (torch.tensor(a) @ torch.tensor(b)).numpy().astype(np.float64), a, b)


def test_matmul_narrow_same_bits_however_split(monkeypatch):
    """Each entry is one sum in one order: the same bits on 1 and 2 threads, C or F order, and for a
    row computed in a 16-row, an 8-row or a 1-row tile (all rows of the first block vs alone)."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((77, 300)).astype(np.float32)
    b = rng.standard_normal((300, 112)).astype(np.float32)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 1)
    saved = juanji.get_num_threads()
    results = []
    try:
        for n_threads in (1, 2):
            juanji.set_num_threads(n_threads)
            for arr in (a, np.asfortranarray(a)):
                out = np.empty((77, 112), np.float32)
                results.append(gemm.matmul_narrow(arr, b, out))
    finally:
        juanji.set_num_threads(saved)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    for rows in (slice(0, 16), slice(64, 72), slice(76, 77)):
        part = np.empty((rows.stop - rows.start, 112), np.float32)
        np.testing.assert_array_equal(gemm.matmul_narrow(np.ascontiguousarray(a[rows]), b, part), results[0][rows])
    b16 = np.ascontiguousarray(b[:, :16])
    whole = gemm.matmul_narrow(a, b16, np.empty((77, 16), np.float32))
    np.testing.assert_array_equal(whole, results[0][:, :16])
    monkeypatch.setattr(gemm, "FULL_TILES", not gemm.FULL_TILES)  # the other tile set: the same bits
    np.testing.assert_array_equal(gemm.matmul_narrow(a, b, np.empty((77, 112), np.float32)), results[0])


def test_gemm_simd_is_what_the_generator_writes():
    assert_generated("gen_gemm_simd")


@pytest.mark.parametrize("a_shape, b_shape, out_shape, note", [
    ((4, 8), (8, 20), (4, 20), "N not a multiple of 16"),
    ((4, 8), (9, 16), (4, 16), "inner sizes differ"),
    ((4, 8), (8, 16), (5, 16), "out of the wrong shape"),
])
def test_matmul_narrow_refuses_arrays_it_cannot_take(a_shape, b_shape, out_shape, note):
    a, b, out = (np.zeros(s, np.float32) for s in (a_shape, b_shape, out_shape))
    with pytest.raises(ValueError, match="matmul_narrow: expected"):
        gemm.matmul_narrow(a, b, out)
    with pytest.raises(ValueError, match="matmul_narrow: expected"):  # float64, or a strided b
        gemm.matmul_narrow(np.zeros((4, 8)), np.zeros((8, 16)), np.zeros((4, 16)))
    with pytest.raises(ValueError, match="matmul_narrow: expected"):
        gemm.matmul_narrow(np.zeros((4, 8), np.float32), np.zeros((8, 32), np.float32)[:, ::2],
                           np.zeros((4, 16), np.float32))


def test_few_rows_many_columns_split_by_columns(threads, monkeypatch):
    """Under ``COLUMN_SPLIT_MAX_ROWS`` rows and from ``COLUMN_SPLIT_MIN_COLUMNS`` columns the slices are
    column blocks (BLAS runs half the columns faster than half the rows there); the same product."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((64, 50)).astype(np.float32)
    b = rng.standard_normal((50, 1024)).astype(np.float32)
    seen = []
    real = gemm.map_slices
    monkeypatch.setattr(gemm, "map_slices", lambda work, total, parts: seen.append(total) or real(work, total, parts))
    got = gemm.matmul(a, b)
    assert seen == ([1024] if threads > 1 else [])
    assert_close(got, a.astype(np.float64) @ b, a, b)
    monkeypatch.setattr(gemm, "COLUMN_SPLIT", False)
    rows = gemm.matmul(a, b)
    assert seen[-1:] == ([64] if threads > 1 else [])
    assert_close(rows, a.astype(np.float64) @ b, a, b)


@pytest.mark.skipif(not NATIVE, reason="no ILP64 cblas_?gemm found in NumPy's BLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("by_columns", [False, True], ids=["rows", "columns"])
@pytest.mark.parametrize("shape", [(576, 96, 64), (144, 24, 1024), (7, 3, 5), (1, 300, 700), (3, 1, 2), (129, 257, 31)])
def test_native_split_matches_numpy_and_repeats(shape, by_columns, dtype):
    m, k, n = shape
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    saved = juanji.get_num_threads()
    juanji.set_num_threads(2)
    try:
        before = _threads.blas_threads()
        out = np.full((m, n), np.nan, dtype)
        assert _threads.split_gemm(a, b, out, 2, by_columns)
        assert_close(out, np.matmul(a.astype(np.float64), b.astype(np.float64)), a, b)
        again = np.full((m, n), np.nan, dtype)
        assert _threads.split_gemm(a, b, again, 2, by_columns)
        np.testing.assert_array_equal(again, out)  # the same bits on a second call
        assert _threads.blas_threads() == before
    finally:
        juanji.set_num_threads(saved)


def _padded(rng, shape, dtype, pad):
    """A random array of ``shape`` whose rows lie ``pad`` items further apart than its width, and whose
    matrices ``pad`` rows further apart (as Winograd's tile rows are): a view into a larger array."""
    count, rows, width = shape
    whole = rng.standard_normal((count, rows + pad, width + pad)).astype(dtype)
    return whole[:, :rows, :width]


@pytest.mark.skipif(not NATIVE, reason="no ILP64 cblas_?gemm found in NumPy's BLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shared_b", [False, True], ids=["stack-b", "one-b"])
@pytest.mark.parametrize("shape", [(36, 64, 64, 64), (2, 7, 3, 5), (3, 1, 300, 20), (16, 33, 17, 65), (5, 4, 1, 2)])
def test_native_stack_split_matches_numpy_and_each_product_alone(shape, shared_b, dtype):
    """A stack of products split by whole products (``_threads.split_gemm`` with 3-d ``a``): each product is the
    BLAS call it would be alone (the same bits as the whole stack run on one thread), within rounding of
    the float64 product, for rows and matrices further apart than their widths and a ``b`` shared by all."""
    count, m, k, n = shape
    rng = np.random.default_rng(m + k + n + count)
    a = _padded(rng, (count, m, k), dtype, 3)
    b = rng.standard_normal((k, n)).astype(dtype) if shared_b else _padded(rng, (count, k, n), dtype, 1)
    whole = np.full((count, m + 2, n + 2), np.nan, dtype)
    out = whole[:, :m, :n]
    saved = juanji.get_num_threads()
    juanji.set_num_threads(2)
    try:
        before = _threads.blas_threads()
        assert _threads.split_gemm(a, b, out, 2)
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        for i in range(count):
            assert_close(out[i], want[i], a[i], b if shared_b else b[i])
        from juanji.kernels import _native_tasks
        alone = np.full((count, m, n), np.nan, dtype)
        row = np.zeros(_native_tasks.DESC_WIDTH, np.int64)
        address = _threads._blas_lib().gemm[a.dtype.char]
        _native_tasks.stack_slice(row, a, b[None] if shared_b else b, alone, address, 0 if dtype == np.float32 else 1,
                                  0, count)
        _native_tasks.run_gemm(row)
        np.testing.assert_array_equal(out, alone)
        assert _threads.blas_threads() == before
        assert np.isnan(whole[:, m:, :]).all() and np.isnan(whole[:, :, n:]).all()  # (nothing written past the rows)
    finally:
        juanji.set_num_threads(saved)


@pytest.mark.skipif(not NATIVE, reason="no ILP64 cblas_?gemm found in NumPy's BLAS")
def test_native_and_python_slices_interleave_with_sleeping_workers():
    """Native slices between Python ones, and after the workers have gone to sleep (past their poll
    budget): every product and every Python result arrives, in order."""
    import time
    saved = juanji.get_num_threads()
    juanji.set_num_threads(2)
    rng = np.random.default_rng(5)
    try:
        for i in range(60):
            a = rng.standard_normal((40 + i, 30)).astype(np.float32)
            b = rng.standard_normal((30, 20)).astype(np.float32)
            out = np.empty((40 + i, 20), np.float32)
            assert _threads.split_gemm(a, b, out, 2, i % 2 == 1)
            assert_close(out, a.astype(np.float64) @ b, a, b)
            stack = rng.standard_normal((3 + i % 4, 5, 30)).astype(np.float32)
            products = np.empty((3 + i % 4, 5, 20), np.float32)
            assert _threads.split_gemm(stack, b, products, 2)  # a stack of products, split by products
            for j in range(stack.shape[0]):
                assert_close(products[j], stack[j].astype(np.float64) @ b, stack[j], b)
            parts = _threads.map_slices(lambda s, e: list(range(s, e)), 9 + i, 2)
            assert sum(parts, []) == list(range(9 + i))
            if i % 10 == 9:
                time.sleep(0.05)  # the worker sleeps: the next slice wakes it
    finally:
        juanji.set_num_threads(saved)


@pytest.mark.skipif(not NATIVE, reason="no ILP64 cblas_?gemm found in NumPy's BLAS")
def test_matmul_takes_the_native_split_for_middling_products(monkeypatch):
    """From ``NATIVE_MIN_FLOPS`` a C-contiguous product (or a stack of one: a convolution's) is split natively,
    by rows, or by columns for few rows and many; a non-contiguous one keeps the other roads."""
    seen = []
    real = gemm.split_gemm
    monkeypatch.setattr(gemm, "split_gemm", lambda a, b, out, parts, by_columns=False: seen.append(
        (a.shape, b.shape, by_columns)) or real(a, b, out, parts, by_columns))
    saved = juanji.get_num_threads()
    juanji.set_num_threads(2)
    rng = np.random.default_rng(6)
    try:
        a = rng.standard_normal((576, 96)).astype(np.float32)
        b = rng.standard_normal((1, 96, 64)).astype(np.float32)
        got = gemm.matmul(a, b)
        assert seen == [((576, 96), (96, 64), False)]
        assert_close(got[0], a.astype(np.float64) @ b[0], a, b[0])
        c = rng.standard_normal((144, 24)).astype(np.float32)
        d = rng.standard_normal((24, 1024)).astype(np.float32)
        assert_close(gemm.matmul(c, d), c.astype(np.float64) @ d, c, d)
        assert seen[-1] == ((144, 24), (24, 1024), True)
        seen.clear()
        assert_close(gemm.matmul(a, b[0].T.copy().T), a.astype(np.float64) @ b[0], a, b[0])  # (an F-ordered b)
        assert seen == []
        # a stack (Winograd's positions: rows further apart than their width) split by whole products
        v = _padded(rng, (36, 64, 64), np.float32, 16)
        u = rng.standard_normal((36, 64, 32)).astype(np.float32)
        got = gemm.matmul(v, u)
        assert seen == [((36, 64, 64), (36, 64, 32), False)]
        for i in (0, 17, 35):
            assert_close(got[i], v[i].astype(np.float64) @ u[i], v[i], u[i])
        monkeypatch.setattr(gemm, "STACK_SPLIT", False)
        seen.clear()
        assert_close(gemm.matmul(v, u)[5], v[5].astype(np.float64) @ u[5], v[5], u[5])
        assert seen == []  # (by Python slices of rows)
        monkeypatch.setattr(gemm, "STACK_SPLIT", True)
        assert_close(gemm.matmul(v[:, :, ::-1], u)[3], v[3, :, ::-1].astype(np.float64) @ u[3], v[3], u[3])
        assert seen == []  # (reversed rows: not BLAS's layout)
    finally:
        juanji.set_num_threads(saved)
