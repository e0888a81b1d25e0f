"""juanji/kernels/pointwise.py: relu's forward split over the threads for large arrays, and its
gradient on 512-bit vectors (float32) or the plain loop (float64), against torch's relu and
threshold_backward, with NaN, infinities and signed zeros, at sizes that are not multiples of 16
and across the size from which the work is split."""

import numpy as np
import pytest

from juanji.kernels import _threads, pointwise

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _values(size, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(size).astype(dtype)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45], dtype)
    a[rng.integers(0, size, 64) % size] = special[rng.integers(0, len(special), 64)]
    return a


SIZES = [1, 15, 17, 1000, _threads.PARALLEL_MIN_ELEMENTS - 3, _threads.PARALLEL_MIN_ELEMENTS + 21]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_relu_and_its_gradient_match_torch(size, dtype):
    x = _values(size, dtype, size)
    g = _values(size, dtype, size + 1)
    y = pointwise.relu(x.reshape(1, -1))
    ty = torch.relu(torch.tensor(x))
    np.testing.assert_array_equal(y.reshape(-1), ty.numpy())
    gx = pointwise.relu_grad(g, x)  # (relu's Op passes its output; any array works here)
    tg = torch.ops.aten.threshold_backward(torch.tensor(g), torch.tensor(x), 0.0)
    np.testing.assert_array_equal(gx, tg.numpy())


def test_relu_of_a_strided_view_is_not_split_wrongly():
    x = _values(4 * _threads.PARALLEL_MIN_ELEMENTS, np.float32, 3).reshape(4, -1)[:, ::2]
    np.testing.assert_array_equal(pointwise.relu(x), torch.relu(torch.tensor(x)).numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1000, _threads.PARALLEL_MIN_ELEMENTS + 21])
@pytest.mark.filterwarnings("ignore:invalid value encountered in add")  # inf + -inf, as NumPy says
def test_add_matches_torch_split_or_not(size, dtype):
    a, b = _values(size, dtype, 7), _values(size, dtype, 8)
    expected = (torch.tensor(a) + torch.tensor(b)).numpy()
    np.testing.assert_array_equal(pointwise.add(a.reshape(1, -1), b.reshape(1, -1)).reshape(-1), expected)
    # broadcast and strided operands take NumPy's own loop
    col = _values(7, dtype, 9).reshape(7, 1)
    wide = np.ascontiguousarray(np.broadcast_to(a[: (size // 7) * 7].reshape(7, -1), (7, size // 7)))
    np.testing.assert_array_equal(pointwise.add(wide, col), (torch.tensor(wide) + torch.tensor(col)).numpy())
    np.testing.assert_array_equal(pointwise.add(a[::2], b[::2]), (torch.tensor(a[::2]) + torch.tensor(b[::2])).numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lo, hi", [(0.0, 6.0), (-1.0, 1.0), (-0.25, 0.1)])
def test_hardtanh_and_its_gradient_match_torch(size, dtype, lo, hi):
    x = _values(size, dtype, size + 2) * 4
    x[: min(size, 4)] = np.array([lo, hi, np.nextafter(dtype(lo), dtype(-1)), np.nextafter(dtype(hi), dtype(9))],
                                 dtype)[: min(size, 4)]  # the bounds themselves and just past them
    g = _values(size, dtype, size + 3)
    y = pointwise.hardtanh(x, lo, hi)
    np.testing.assert_array_equal(y, TF.hardtanh(torch.tensor(x), lo, hi).numpy())
    gx = pointwise.hardtanh_grad(g, y, lo, hi)  # read off the output (see pointwise's docstring)
    tg = torch.ops.aten.hardtanh_backward(torch.tensor(g), torch.tensor(x), lo, hi).numpy()
    # at a NaN input torch's own loops disagree (its scalar loop passes g, as juanji does; its
    # vectorised one gives 0): compared everywhere else
    number = ~np.isnan(x)
    np.testing.assert_array_equal(gx[number], tg[number])
    np.testing.assert_array_equal(gx[~number], g[~number])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 17, 1000, pointwise.SMALL_ELEMENTS])
def test_small_arrays_take_numpy_with_the_loops_bits(monkeypatch, size, dtype):
    """Up to ``SMALL_ELEMENTS`` values relu and its gradient are one NumPy call: the same bits as the
    loops (NaN, infinities, -0.0 -> +0.0), and ``out`` (an in-place relu) written in place."""
    x = _values(size, dtype, 7 + size).reshape(1, -1)
    g = _values(size, dtype, 8 + size).reshape(1, -1)
    small_y, small_g = pointwise.relu(x), pointwise.relu_grad(g, x)
    inplace = x.copy()
    assert pointwise.relu(inplace, out=inplace) is inplace
    monkeypatch.setattr(pointwise, "SMALL_ELEMENTS", 0)
    loop_y, loop_g = pointwise.relu(x), pointwise.relu_grad(g, x)
    for small, loop in ((small_y, loop_y), (small_g, loop_g), (inplace, loop_y)):
        assert small.dtype == loop.dtype and small.shape == loop.shape and small.flags.c_contiguous
        np.testing.assert_array_equal(small.view(np.uint8), loop.view(np.uint8))  # bit for bit, zeros' signs too
