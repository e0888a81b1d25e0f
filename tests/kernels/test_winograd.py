"""Winograd F(m, 3) convolution (juanji.kernels._winograd) against torch and against itself.

- the Toom-Cook matrices compute the 1-d and 2-d correlation exactly (Fractions);
- forward, input gradient and weight gradient against torch's direct convolution over a random
  grid of 3x3 stride-1 problems (any channels, sizes, per-side padding, batch), float32 and
  float64, every tile size, within the module's measured error bound;
- the gradients are the exact adjoints of the forward (a torch-free check in float64);
- chunking and the batch split over threads change nothing but the order of the weight
  gradient's sums.
"""

from fractions import Fraction

import numpy as np
import pytest

from juanji.kernels import _winograd as W
from tests.helpers import assert_generated

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TILES = [2, 4, 6]


@pytest.mark.parametrize("m", TILES)
def test_matrices_compute_the_correlation_exactly(m):
    AT, G, BT = W.winograd_matrices(m)
    a = m + 2
    rng = np.random.default_rng(m)
    for _ in range(20):
        d = [Fraction(int(v)) for v in rng.integers(-9, 10, a)]
        g = [Fraction(int(v), int(q)) for v, q in zip(rng.integers(-9, 10, 3), rng.integers(1, 5, 3))]
        gg = [sum(G[i][j] * g[j] for j in range(3)) for i in range(a)]
        bd = [sum(BT[i][j] * d[j] for j in range(a)) for i in range(a)]
        out = [sum(AT[i][j] * gg[j] * bd[j] for j in range(a)) for i in range(m)]
        assert out == [sum(d[i + j] * g[j] for j in range(3)) for i in range(m)]


def test_matrices_have_integer_input_transforms():
    for m in TILES:
        _, _, BT = W.winograd_matrices(m)
        assert all(v.denominator == 1 for row in BT for v in row)


def test_matrices_reject_too_few_points():
    with pytest.raises(ValueError, match="needs 5 distinct finite points"):
        W.winograd_matrices(4, 3, (0, 1, -1, 2))


def _reference(x, w, bias, pads, gy):
    """torch (float64) y, dx, dw for per-side padding ((top, bottom), (left, right))."""
    (pt, pb), (pl, pr) = pads
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tw = torch.tensor(w.astype(np.float64), requires_grad=True)
    b = None if bias is None else torch.tensor(bias.astype(np.float64))
    ty = TF.conv2d(TF.pad(tx, (pl, pr, pt, pb)), tw, b)
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy.astype(np.float64)))
    return ty.detach().numpy(), dx.numpy(), dw.numpy()


def _random_case(rng, dtype):
    while True:
        n, c, k = (int(v) for v in rng.integers(1, 5, 3))
        h, w_ = (int(v) for v in rng.integers(1, 13, 2))
        pads = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(2))
        if h + sum(pads[0]) >= 3 and w_ + sum(pads[1]) >= 3:
            break
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = rng.standard_normal((k, c, 3, 3)).astype(dtype)
    bias = rng.standard_normal(k).astype(dtype) if rng.integers(0, 2) else None
    return x, w, bias, pads


def _relative_error(got, want):
    scale = max(np.abs(want).max(), 1e-30)
    return np.abs(got.astype(np.float64) - want).max() / scale


def _check(x, w, bias, pads, m, dtype, rng):
    y = W.winograd_forward(x, w, pads, bias, m=m)
    gy = rng.standard_normal(y.shape).astype(dtype)
    ty, tdx, tdw = _reference(x, w, bias, pads, gy)
    assert y.shape == ty.shape and y.dtype == dtype
    gx, gw = W.winograd_backward(gy, x.shape, w.shape, pads, x=x, w=w, m=m)
    assert gx.shape == x.shape and gx.dtype == dtype and gw.shape == w.shape and gw.dtype == dtype
    bound = W.error_bound(m, dtype)
    for got, want in ((y, ty), (gx, tdx), (gw, tdw)):
        assert _relative_error(got, want) <= bound
        if dtype == np.float32:  # the tolerance, as the other conv kernels are tested
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", TILES)
@pytest.mark.parametrize("seed", range(8))
def test_random_grid_matches_torch(seed, m, dtype):
    rng = np.random.default_rng(1000 * m + seed)
    _check(*_random_case(rng, dtype), m, dtype, rng)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("shape", [(2, 64, 8, 8, 64), (1, 128, 16, 16, 32), (3, 16, 32, 32, 16)])
def test_network_sized_layers_stay_within_the_bound_in_float32(shape, m):
    """Many input channels: the sums are long, the transformed values of mixed size."""
    n, c, h, w_, k = shape
    rng = np.random.default_rng(c + h)
    x = rng.standard_normal((n, c, h, w_)).astype(np.float32)
    w = (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    _check(x, w, None, ((1, 1), (1, 1)), m, np.float32, rng)


@pytest.mark.parametrize("m", TILES)
def test_padding_forms_agree(m):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    one = W.winograd_forward(x, w, 1, m=m)
    np.testing.assert_array_equal(one, W.winograd_forward(x, w, (1, 1), m=m))
    np.testing.assert_array_equal(one, W.winograd_forward(x, w, ((1, 1), (1, 1)), m=m))


@pytest.mark.parametrize("m", TILES)
def test_gradients_are_the_exact_adjoints_of_the_forward(m):
    """<conv(x, w), gy> = <x, grad_x(gy)> = <w, grad_w(gy)> (float64, no torch involved)."""
    rng = np.random.default_rng(40 + m)
    x = rng.standard_normal((3, 4, 9, 7))
    w = rng.standard_normal((5, 4, 3, 3))
    pads = ((2, 0), (1, 2))
    y = W.winograd_forward(x, w, pads, m=m)
    gy = rng.standard_normal(y.shape)
    gx, gw = W.winograd_backward(gy, x.shape, w.shape, pads, x=x, w=w, m=m)
    total = np.vdot(y, gy)
    assert np.vdot(x, gx) == pytest.approx(total, rel=1e-12)
    assert np.vdot(w, gw) == pytest.approx(total, rel=1e-12)


def test_backward_computes_only_what_is_asked():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    gy = rng.standard_normal((2, 4, 6, 6))
    both = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w)
    only_x = W.winograd_backward(gy, x.shape, w.shape, 1, w=w)
    only_w = W.winograd_backward(gy, x.shape, w.shape, 1, x=x)
    assert only_x[1] is None and only_w[0] is None
    np.testing.assert_array_equal(only_x[0], both[0])
    np.testing.assert_array_equal(only_w[1], both[1])


@pytest.mark.parametrize("m", [2, 4])
def test_chunks_and_thread_slices_change_nothing_but_summation_order(monkeypatch, m):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((7, 5, 10, 9)).astype(np.float32)
    w = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((7, 6, 10, 9)).astype(np.float32)
    y1 = W.winograd_forward(x, w, 1, m=m)
    gx1, gw1 = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w, m=m)
    monkeypatch.setattr(W, "CHUNK_BYTES", 1)             # one sample per chunk
    monkeypatch.setattr(W, "worth_parallel_macs", lambda work: True)
    monkeypatch.setattr(W, "batch_workers", lambda: 3)   # three slices of the batch
    y2 = W.winograd_forward(x, w, 1, m=m)
    gx2, gw2 = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w, m=m)
    np.testing.assert_array_equal(y1, y2)      # every tile's products are the same
    np.testing.assert_array_equal(gx1, gx2)
    np.testing.assert_allclose(gw1, gw2, rtol=1e-5, atol=1e-5 * np.abs(gw1).max())  # sums in another order
    gw3 = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, m=m)[1]
    np.testing.assert_array_equal(gw2, gw3)    # but the same order on every run


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [2, 4])
def test_small_batch_shares_the_batch_tiles_and_splits_the_weight_gradient_by_position(monkeypatch, m, dtype):
    """``SHARED_TILES``: a few samples of many channels keep the whole batch's tiles and split the
    weight gradient's products by position. Against torch; the input gradient is the batch split's,
    bit for bit; the weight gradient differs from it only in the order of its sums, and is the same
    on every run and for any thread count (each position's sum is one product over the batch)."""
    rng = np.random.default_rng(11 + m)
    x = rng.standard_normal((3, 64, 5, 6)).astype(dtype)
    w = (rng.standard_normal((64, 64, 3, 3)) / np.sqrt(9 * 64)).astype(dtype)
    gy = rng.standard_normal((3, 64, 5, 6)).astype(dtype)
    monkeypatch.setattr(W, "worth_parallel_macs", lambda work: True)
    monkeypatch.setattr(W, "batch_workers", lambda: 2)
    plan = W._Plan(x.shape, w.shape, 1, m, dtype)
    assert plan.parts() == 2 and W._shares_tiles(plan, 2)
    gx, gw = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w, m=m)
    _, tdx, tdw = _reference(x, w, None, ((1, 1), (1, 1)), gy)
    bound = W.error_bound(m, dtype)
    assert _relative_error(gx, tdx) <= bound and _relative_error(gw, tdw) <= bound
    again = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w, m=m)
    np.testing.assert_array_equal(gx, again[0])
    np.testing.assert_array_equal(gw, again[1])
    np.testing.assert_array_equal(gw, W.winograd_backward(gy, x.shape, w.shape, 1, x=x, m=m)[1])
    monkeypatch.setattr(W, "batch_workers", lambda: 3)  # three slices of the batch, three of the positions
    np.testing.assert_array_equal(gw, W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w, m=m)[1])
    monkeypatch.setattr(W, "SHARED_TILES", False)
    monkeypatch.setattr(W, "batch_workers", lambda: 2)
    split_gx, split_gw = W.winograd_backward(gy, x.shape, w.shape, 1, x=x, w=w, m=m)
    np.testing.assert_array_equal(gx, split_gx)
    np.testing.assert_allclose(gw, split_gw, rtol=1e-5, atol=1e-5 * np.abs(gw).max())


def test_shared_tiles_only_where_they_are_smaller_than_the_partials():
    """The batch's tiles (output gradient's and input's) against the extra weight-gradient partials."""
    assert W._shares_tiles(W._Plan((8, 256, 8, 8), (256, 256, 3, 3), 1, 2, np.float32), 2)  # VGG-11 at batch 8
    assert not W._shares_tiles(W._Plan((8, 64, 32, 32), (64, 64, 3, 3), 1, 2, np.float32), 2)
    assert not W._shares_tiles(W._Plan((8, 256, 8, 8), (256, 256, 3, 3), 1, 2, np.float32), 1)


def test_empty_batch():
    x, w = np.zeros((0, 3, 5, 5), np.float32), np.ones((2, 3, 3, 3), np.float32)
    assert W.winograd_forward(x, w, 1).shape == (0, 2, 5, 5)
    gx, gw = W.winograd_backward(np.zeros((0, 2, 5, 5), np.float32), x.shape, w.shape, 1, x=x, w=w)
    assert gx.shape == x.shape and np.all(gw == 0)


def test_applies_only_to_3x3_stride_1_undilated_ungrouped_2d():
    assert W.applies((1, 3, 8, 8), (4, 3, 3, 3), 1, 1, 1)
    assert W.applies((1, 3, 8, 8), (4, 3, 3, 3), (1, 1), (1, 1), 1)
    assert not W.applies((1, 3, 8, 8), (4, 3, 3, 3), 2, 1, 1)
    assert not W.applies((1, 3, 8, 8), (4, 3, 3, 3), 1, 2, 1)
    assert not W.applies((1, 4, 8, 8), (4, 2, 3, 3), 1, 1, 2)
    assert not W.applies((1, 3, 8, 8), (4, 3, 5, 5), 1, 1, 1)
    assert not W.applies((1, 3, 8), (4, 3, 3), 1, 1, 1)


# -- the dispatch in kernels/conv.py ---------------------------------------------------------------

def _geometry(x_shape, out_channels, padding=1):
    from juanji.kernels.conv import conv_geometry
    from juanji.kernels.window import Window
    return conv_geometry(Window((3, 3), (1, 1), (padding, padding), (padding, padding), (1, 1)), x_shape,
                         out_channels, 1)


@pytest.mark.parametrize("x_shape,out_channels,tile", [
    ((8, 64, 16, 16), 64, 4), ((2, 64, 4, 4), 32, 2), ((1, 512, 4, 4), 512, 0), ((16, 16, 32, 32), 16, 0),
    # as many output channels as input or more, 4 samples a thread or more (here one thread): F(4,3)
    # from max(16, C/8) tiles of 4x4, else F(2,3) from as many tiles of 2x2, else im2col
    ((64, 512, 4, 4), 512, 4), ((32, 512, 4, 4), 512, 2), ((8, 512, 4, 4), 512, 0), ((4, 256, 8, 8), 256, 2),
    ((16, 256, 8, 8), 512, 4), ((4, 128, 8, 8), 128, 4),
    # (F(4,3) counts the input's channels, F(2,3) the output's: F43_BY_INPUT_CHANNELS)
    ((4, 128, 8, 8), 256, 4), ((32, 256, 4, 4), 512, 4), ((16, 256, 4, 4), 512, 2), ((8, 256, 4, 4), 512, 0),
    # fewer samples (one a thread at least): F(4,3) from max(16, c/8) tiles of 4x4 too, c the smaller
    # channel count (SMALL_BATCH_F43, F43_BY_INPUT_CHANNELS), else the older
    # thresholds (F(4,3) from C/2 tiles, F(2,3) from C)
    ((2, 128, 16, 16), 128, 4), ((1, 128, 16, 16), 128, 4), ((1, 64, 16, 16), 128, 4), ((1, 256, 32, 32), 256, 4),
    ((2, 256, 8, 8), 256, 0), ((1, 256, 16, 16), 256, 0), ((1, 128, 16, 16), 256, 4), ((1, 256, 16, 16), 512, 0),
    ((1, 64, 8, 8), 64, 2),
    # fewer output than input channels: the older thresholds (F(4,3) from C/2 tiles, F(2,3) from C)
    ((8, 256, 8, 8), 128, 0), ((64, 256, 8, 8), 128, 4), ((32, 128, 8, 8), 64, 4)])
def test_conv_kernels_pick_winograd_by_the_measured_rule(x_shape, out_channels, tile, monkeypatch):
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 1)
    assert K.winograd_tile(_geometry(x_shape, out_channels), np.float32) == tile
    assert K.winograd_tile(_geometry(x_shape, out_channels), np.float64) == 0  # float64 stays direct


@pytest.mark.parametrize("x_shape,out_channels,tile", [
    ((2, 128, 16, 16), 128, 2), ((1, 128, 16, 16), 128, 0), ((1, 64, 16, 16), 128, 0), ((1, 256, 32, 32), 256, 2),
    ((4, 128, 8, 8), 128, 4)])  # (the last: 4 samples a thread, the rule above either way)
def test_small_batch_f43_switched_off_gives_the_older_thresholds(x_shape, out_channels, tile, monkeypatch):
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 1)
    monkeypatch.setattr(K, "SMALL_BATCH_F43", False)
    assert K.winograd_tile(_geometry(x_shape, out_channels), np.float32) == tile


@pytest.mark.parametrize("x_shape,out_channels,tile", [
    ((4, 128, 8, 8), 256, 2), ((32, 256, 4, 4), 512, 2), ((1, 128, 16, 16), 256, 0), ((16, 256, 4, 4), 512, 2),
    ((4, 128, 8, 8), 128, 4)])  # (the last: as many channels on both sides, the same either way)
def test_f43_by_input_channels_switched_off_counts_the_larger(x_shape, out_channels, tile, monkeypatch):
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 1)
    monkeypatch.setattr(K, "F43_BY_INPUT_CHANNELS", False)
    assert K.winograd_tile(_geometry(x_shape, out_channels), np.float32) == tile


def test_small_batch_f43_counts_a_threads_tiles(monkeypatch):
    """With two threads a batch of 2 is one sample a thread: 128 channels on 16x16 still has the 16 tiles
    of 4x4 it needs, on 8x8 (4 tiles) it has not; a batch of 1, which would leave a thread idle, keeps
    the older thresholds."""
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    assert K.winograd_tile(_geometry((2, 128, 16, 16), 128), np.float32) == 4
    assert K.winograd_tile(_geometry((2, 128, 8, 8), 128), np.float32) == 0
    assert K.winograd_tile(_geometry((1, 128, 16, 16), 128), np.float32) == 0
    assert K.winograd_tile(_geometry((1, 128, 16, 16), 256), np.float32) == 0


@pytest.mark.parametrize("x_shape,out_channels", [((8, 64, 16, 16), 64), ((3, 32, 8, 8), 48), ((2, 64, 5, 7), 32),
                                                   ((2, 128, 16, 16), 128), ((1, 64, 16, 16), 128), ((4, 128, 8, 8), 256)])
def test_conv_kernels_through_winograd_match_torch(x_shape, out_channels, monkeypatch):
    """conv_forward / conv_backward (both gradients at once) / the single gradients, where the
    dispatch chooses Winograd, against torch in float32 (rtol 1e-4)."""
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 1)
    geom = _geometry(x_shape, out_channels)
    assert K.winograd_tile(geom, np.float32) in (2, 4)
    _dispatch_matches_torch(K, geom, x_shape, out_channels, np.random.default_rng(sum(x_shape)))


def _dispatch_matches_torch(K, geom, x_shape, out_channels, rng):
    """conv_forward, conv_backward and each gradient alone through the dispatch of ``K`` (the kernels'
    conv module) for random float32 arrays, against torch (rtol 1e-4 of each result's scale)."""
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal((out_channels, x_shape[1], 3, 3)) / np.sqrt(9 * x_shape[1])).astype(np.float32)
    b = rng.standard_normal(out_channels).astype(np.float32)
    y = K.conv_forward(x, w, geom, bias=b)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    ty, tdx, tdw = _reference(x, w, b, ((1, 1), (1, 1)), gy)
    gx, gw = K.conv_backward(gy, x, w, geom)
    for got, want in ((y, ty), (gx, tdx), (gw, tdw), (K.conv_backward_input(gy, w, geom), tdx),
                      (K.conv_backward_weight(gy, x, geom), tdw)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("x_shape,out_channels,tile,f43,f23", [
    # (shape, out channels, the tile, the batch-slice rule's forward tile, the tile without FEW_OUT_F43)
    ((1, 128, 16, 16), 32, 4, 0, 2),  # DenseNet's 128->32 on 16x16: 16 tiles of 4x4 (64 of 2x2 >= 32 channels)
    ((2, 128, 16, 16), 32, 4, 0, 2),  # batch 2: a sample per thread, the same
    ((8, 128, 8, 8), 32, 4, 0, 0),    # 4 samples a thread x 4 tiles of 4x4 (im2col before)
    ((2, 128, 8, 8), 32, 2, 0, 2),    # (a loop too small to split: both samples on one thread, 8 / 32 tiles)
    ((1, 128, 8, 8), 32, 0, 0, 0),    # 4 / 16 tiles: the direct loops / im2col stay
    ((1, 128, 16, 16), 128, 0, 0, 0),  # as many output as input channels: the batch-slice rule only (im2col:
    ((1, 64, 16, 16), 128, 0, 0, 0),   # SMALL_BATCH_F43 waits for a sample a thread); more output channels: likewise
    ((2, 128, 16, 16), 256, 4, 4, 4),  # (a sample a thread, 16 tiles: 128 input channels / 8; F43_BY_INPUT_CHANNELS)
    ((1, 128, 32, 32), 32, 4, 4, 4),   # F(4,3) by the batch-slice rule, as before
    ((4, 128, 8, 8), 32, 0, 0, 0),     # 2 samples a thread x 4 tiles; a batch larger than the thread count
])
def test_conv_kernels_pick_winograd_for_the_gradients_of_few_output_channels(x_shape, out_channels, tile, f43, f23,
                                                                             monkeypatch):
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    geom = _geometry(x_shape, out_channels)
    assert K.gradient_tile(geom, np.float32) == tile
    assert K.gradient_tile(geom, np.float64) == 0
    assert K.winograd_tile(geom, np.float32) == f43  # (the forward pass's rule)
    monkeypatch.setattr(K, "FEW_OUT_F43", False)
    assert K.gradient_tile(geom, np.float32) == f23
    monkeypatch.setattr(K, "SMALL_BATCH_WINOGRAD", False)
    assert K.gradient_tile(geom, np.float32) == K.winograd_tile(geom, np.float32)


@pytest.mark.parametrize("x_shape,few_out_f43,tile", [((1, 128, 16, 16), True, 4), ((1, 128, 16, 16), False, 2),
                                                      ((8, 128, 8, 8), True, 4)])
def test_conv_kernels_small_batch_winograd_gradients_match_torch(x_shape, few_out_f43, tile, monkeypatch):
    """DenseNet's 128->32 3x3 on two threads (batch 1 on 16x16, batch 8 on 8x8): the forward pass keeps
    its path, both gradients go through F(4,3) (``FEW_OUT_F43``; F(2,3) without it at batch 1); each
    against torch in float32 (rtol 1e-4)."""
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    monkeypatch.setattr(K, "FEW_OUT_F43", few_out_f43)
    out_channels = 32
    geom = _geometry(x_shape, out_channels)
    assert K.gradient_tile(geom, np.float32) == tile and K.winograd_tile(geom, np.float32) == 0
    taken = []
    real_forward = K._winograd.winograd_forward
    monkeypatch.setattr(K._winograd, "winograd_forward",
                        lambda *a, **k: taken.append("forward") or real_forward(*a, **k))
    real_backward = K._winograd.winograd_backward
    monkeypatch.setattr(K._winograd, "winograd_backward",
                        lambda *a, **k: taken.append(("backward", k.get("m"))) or real_backward(*a, **k))
    _dispatch_matches_torch(K, geom, x_shape, out_channels, np.random.default_rng(128))
    assert taken == [("backward", tile)] * 3  # (the forward pass: the direct loops, or im2col without AVX-512)


# ------------------------------------------------------------------ the 512-bit tile transforms
def _vector_case(rng):
    n = int(rng.integers(1, 4))
    c, k = (16 * int(v) for v in rng.integers(1, 4, 2))
    h, w_ = (int(v) for v in rng.integers(3, 12, 2))
    pads = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in range(2))
    x = rng.standard_normal((n, c, h, w_)).astype(np.float32)
    w = (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32) if rng.integers(0, 2) else None
    return x, w, bias, pads


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("seed", range(6))
def test_vector_transforms_match_torch_and_the_loops_bit_for_bit(seed, m, monkeypatch):
    """Channels in blocks of 16 take ``_winograd_simd`` (on AVX-512): against torch, and the same
    bits as ``_winograd``'s own loops (the same sums in the same order)."""
    rng = np.random.default_rng(7000 + 10 * m + seed)
    x, w, bias, pads = _vector_case(rng)
    plan = W._Plan(x.shape, w.shape, pads, m, np.float32)
    assert plan._vector(x.shape[1]) == W._simd.takes_halves(np.float32)
    _check(x, w, bias, pads, m, np.float32, rng)
    gy = rng.standard_normal(W.winograd_forward(x, w, pads, bias, m=m).shape).astype(np.float32)

    def run():
        return (W.winograd_forward(x, w, pads, bias, m=m).copy(),
                *(a.copy() for a in W.winograd_backward(gy, x.shape, w.shape, pads, x=x, w=w, m=m)))
    vector = run()
    monkeypatch.setattr(W._Plan, "_vector", lambda self, channels: False)
    loops = run()
    for a, b in zip(vector, loops):
        np.testing.assert_array_equal(a, b)


def test_generated_transforms_are_what_the_generator_writes():
    assert_generated("gen_winograd_simd")


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_transforms_in_both_layouts_and_their_adjoint(m, dtype):
    """U = G w G^T from the weight as stored, as (a*a, C, K) and transposed (a*a, K, C); the weight
    gradient's transform is its adjoint: <U(w), dU> = <w, U^T(dU)> (torch-free, float64 reference)."""
    from juanji.kernels import _winograd as W
    rng = np.random.default_rng(m)
    k, c = 24, 40  # (not multiples of 16: no lane rests on the sizes)
    w = rng.standard_normal((k, c, 3, 3)).astype(dtype)
    plan = W._Plan((1, c, 8, 8), w.shape, 1, m, dtype)
    G = plan.G.astype(np.float64)
    want = np.einsum("xi,kcij,yj->xykc", G, w.astype(np.float64), G).reshape(plan.a * plan.a, k, c)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(plan.transform_weight(w, transposed=True), want, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(plan.transform_weight(w), want.transpose(0, 2, 1), rtol=rtol, atol=rtol)
    du = rng.standard_normal((plan.a * plan.a, k, c)).astype(dtype)
    gw = plan.weight_from_tiles(du)
    assert gw.shape == w.shape and gw.dtype == dtype
    np.testing.assert_allclose(gw, np.einsum("xi,xykc,yj->kcij", G, du.reshape(plan.a, plan.a, k, c).astype(np.float64), G),
                               rtol=rtol * 10, atol=rtol * 10)
    inner = np.vdot(plan.transform_weight(w, transposed=True).astype(np.float64), du.astype(np.float64))
    assert np.isclose(np.vdot(w.astype(np.float64), gw.astype(np.float64)), inner, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_tile_rows_lie_an_odd_number_of_cache_lines_apart():
    """The a*a rows of transformed tiles (one per position) start 64-byte aligned relative to each
    other and an odd number of 64-byte lines apart: never a multiple of 4 KiB (one L1 set for all)."""
    from juanji.kernels import _winograd as W
    for length in (1, 15, 16, 17, 100, 1024, 4096, 64 * 448, 256 * 4, 512 * 2, 32 * 33):
        stride = W._row_stride(length)
        assert length <= stride < length + 32 and stride % 16 == 0 and (stride // 16) % 2 == 1
        assert (stride * 4) % 4096 != 0


# -- the 3x3 layers of the direct loops' range (channels in blocks of 16): F(4,3) --------------------

@pytest.mark.parametrize("shape", [(3, 16, 32, 32), (2, 32, 7, 7), (2, 48, 5, 3), (1, 16, 1, 1), (2, 16, 4, 4)])
def test_vector_layout_changes_equal_the_loops_bit_for_bit(shape):
    """``_to_channels_last16`` / ``_from_channels_last16`` (16 x 16 blocks transposed in registers, the
    rest of a plane one by one) against the scalar loops, with and without a bias, for a slice of the
    batch: planes of whole blocks, of none, and of some."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 0, 0, 0] = -0.0
    n, c, h, w = shape
    lo = 1 if n > 1 else 0
    loops, vector = (np.full((n - lo, h, w, c), np.nan, np.float32) for _ in range(2))
    W._to_channels_last(x, lo, n, loops)
    W._to_channels_last16(x, lo, n, vector)
    np.testing.assert_array_equal(vector, x[lo:].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(vector, loops)
    bias = rng.standard_normal(c).astype(np.float32)
    for use_bias in (False, True):
        back_loops, back_vector = (np.full(shape, np.nan, np.float32) for _ in range(2))
        W._from_channels_last(vector, lo, n, back_loops, bias, use_bias)
        W._from_channels_last16(vector, lo, n, back_vector, bias, use_bias)
        assert np.array_equal(back_vector.view(np.uint32)[lo:], back_loops.view(np.uint32)[lo:])  # bits
        np.testing.assert_array_equal(back_vector[lo:], x[lo:] + (bias[None, :, None, None] if use_bias else 0))
        assert np.isnan(back_vector[:lo]).all()


@pytest.mark.parametrize("x_shape,out_channels,forward,gradients", [
    ((128, 16, 32, 32), 16, 4, 4),  # 64 samples a thread x 64 tiles >= SMALL_WINOGRAD_MIN_TILES
    ((8, 16, 32, 32), 16, 0, 4),    # 16 channels, few tiles: the forward pass keeps the direct loops
    ((4, 16, 32, 32), 32, 0, 4),    # 16 on one side
    ((2, 32, 16, 16), 32, 4, 4),    # 32 each side from batch 2
    ((1, 32, 16, 16), 32, 0, 4),    # batch 1: the forward pass's direct loops share out the channels
    ((2, 24, 16, 16), 32, 0, 0),    # channels not in blocks of 16: the direct loops
    ((2, 3, 32, 32), 16, 0, 0),
    ((2, 64, 16, 16), 64, 0, 0),    # past the direct loops' range: the other rules (here im2col)
])
def test_small_channel_layers_take_f43_by_the_measured_rule(x_shape, out_channels, forward, gradients, monkeypatch):
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    geom = _geometry(x_shape, out_channels)
    on_vectors = W._simd.takes_halves(np.float32)  # (AVX-512, or AVX2 and FMA)
    assert K.small_channel_tile(geom, np.float32, forward=True) == (forward if on_vectors else 0)
    assert K.small_channel_tile(geom, np.float32, forward=False) == (gradients if on_vectors else 0)
    if on_vectors:  # (without the 512-bit loops the other rules decide: a 32-channel layer may take Winograd)
        assert K.gradient_tile(geom, np.float32) == gradients or not gradients
    assert K.small_channel_tile(geom, np.float64, forward=False) == 0  # float64 keeps its loops
    monkeypatch.setattr(K, "SMALL_WINOGRAD", False)
    assert K.small_channel_tile(geom, np.float32, forward=False) == 0


@pytest.mark.skipif(not W._simd.takes_halves(np.float32), reason="the route is the 512-bit loops' (AVX-512, or AVX2)")
@pytest.mark.parametrize("x_shape,out_channels", [((2, 32, 16, 16), 32), ((3, 16, 12, 10), 32), ((1, 16, 9, 9), 16),
                                                  ((40, 16, 32, 32), 16)])
def test_small_channel_layers_through_winograd_match_torch(x_shape, out_channels, monkeypatch):
    """conv_forward / conv_backward / each gradient alone through the dispatch, where the small-channel
    rule takes F(4,3) (and at batch 1 the forward pass's direct loops), against torch in float32; the
    chunks of 1 MiB (``SMALL_CHUNK_BYTES``) split the batch of 40 into several."""
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    geom = _geometry(x_shape, out_channels)
    assert K.gradient_tile(geom, np.float32) == 4
    if x_shape[0] == 40:
        assert W._Plan(x_shape, (out_channels, x_shape[1], 3, 3), 1, 4, np.float32).chunk < 20
    _dispatch_matches_torch(K, geom, x_shape, out_channels, np.random.default_rng(sum(x_shape)))


# -- kept weight transforms (inference: a weight that needs no gradient) -----------------------------

@pytest.fixture
def transforms(monkeypatch):
    """A count of the weight transforms made, with nothing kept before or after."""
    from juanji.kernels import kept as K
    K.forget()
    made = []
    real = W._Plan.transform_weight

    def counted(plan, w, transposed=False, kept=False):
        made.append((w.shape, plan.m, kept))
        return real(plan, w, transposed, kept)
    monkeypatch.setattr(W._Plan, "transform_weight", counted)
    yield made
    K.forget()


def test_kept_transform_is_reused_and_never_stale(transforms):
    from juanji.kernels import kept as K
    """``keep=True``: the transform is made once and reused while the weight's bits stay the same; changed in
    place (a value, or 0.0 to -0.0), it is made again; another weight has its own; ``keep=False`` and calls
    with too many tiles keep nothing. Every result against torch."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 16, 12, 12)).astype(np.float32)
    w = (rng.standard_normal((24, 16, 3, 3)) / 12).astype(np.float32)
    pads = ((1, 1), (1, 1))

    def check(y, weight):
        want = _reference(x, weight, None, pads, np.zeros((1, 24, 12, 12)))[0]
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    y1 = W.winograd_forward(x, w, 1, None, m=4, keep=True)
    y2 = W.winograd_forward(x, w, 1, None, m=4, keep=True)
    assert len(transforms) == 1 and transforms[0][2] and len(K._kept) == 1
    np.testing.assert_array_equal(y1, y2)
    check(y2, w)
    w[3, 5, 1, 2] += 1.0  # in place: the same array, the same address
    check(W.winograd_forward(x, w, 1, None, m=4, keep=True), w)
    assert len(transforms) == 2 and len(K._kept) == 1
    w[0, 0, 0, 0] = 0.0
    W.winograd_forward(x, w, 1, None, m=4, keep=True)
    w[0, 0, 0, 0] = -0.0  # equal as numbers, not as bits: made again
    W.winograd_forward(x, w, 1, None, m=4, keep=True)
    assert len(transforms) == 4
    other = w.copy()
    other[...] = other[::-1]
    check(W.winograd_forward(x, other, 1, None, m=4, keep=True), other)
    check(W.winograd_forward(x, w, 1, None, m=2, keep=True), w)  # another tile size: another transform
    assert len(transforms) == 6 and len(K._kept) == 3
    W.winograd_forward(x, w, 1, None, m=4, keep=False)
    assert transforms[-1][2] is False and len(K._kept) == 3
    many = rng.standard_normal((8, 16, 24, 24)).astype(np.float32)  # 8 x 36 tiles > KEEP_MAX_TILES
    W.winograd_forward(many, w, 1, None, m=4, keep=True)
    assert transforms[-1][2] is False and len(K._kept) == 3
    assert K._bytes == sum(e[2] for e in K._kept.values()) == sum(e[0].nbytes + e[1].nbytes for e in K._kept.values())


def test_kept_transforms_stay_within_their_budget(transforms, monkeypatch):
    """Past ``KEEP_BYTES`` the least recently used transforms are let go; one larger than it is not kept;
    ``KEEP_WEIGHTS`` off keeps nothing."""
    from juanji.kernels import kept as K
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 16, 8, 8)).astype(np.float32)
    weights = [rng.standard_normal((16, 16, 3, 3)).astype(np.float32) for _ in range(3)]
    one = weights[0].nbytes + 36 * 16 * 16 * 4
    monkeypatch.setattr(K, "KEEP_BYTES", 2 * one)
    for w in weights:
        W.winograd_forward(x, w, 1, None, m=4, keep=True)
    assert len(K._kept) == 2 and K._bytes == 2 * one
    W.winograd_forward(x, weights[1], 1, None, m=4, keep=True)  # kept: reused, now the newest
    assert len(transforms) == 3
    W.winograd_forward(x, weights[0], 1, None, m=4, keep=True)  # let go before: made again, [2] goes
    assert len(transforms) == 4
    W.winograd_forward(x, weights[1], 1, None, m=4, keep=True)
    assert len(transforms) == 4
    W.winograd_forward(x, weights[2], 1, None, m=4, keep=True)
    assert len(transforms) == 5 and K._bytes == 2 * one
    monkeypatch.setattr(K, "KEEP_BYTES", one - 1)
    K.forget()
    W.winograd_forward(x, weights[0], 1, None, m=4, keep=True)
    assert len(K._kept) == 0 and K._bytes == 0
    monkeypatch.setattr(K, "KEEP_BYTES", 4 * one)
    monkeypatch.setattr(K, "KEEP_WEIGHTS", False)
    W.winograd_forward(x, weights[0], 1, None, m=4, keep=True)
    W.winograd_forward(x, weights[0], 1, None, m=4, keep=True)
    assert len(K._kept) == 0 and len(transforms) == 8


def test_fixed_weight_layers_take_f43_at_batch_1(monkeypatch):
    """``fixed_weight_tile``: the forward pass of a batch smaller than the thread count, for as many output
    channels as input (32 or more, in blocks of 16), from 16 tiles of 4x4 a sample."""
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    assert K.fixed_weight_tile(_geometry((1, 128, 16, 16), 128), np.float32) == 4
    assert K.fixed_weight_tile(_geometry((1, 96, 17, 16), 96), np.float32) == 4
    for x_shape, out_channels, dtype in (((1, 128, 8, 8), 128, np.float32),    # 4 tiles
                                         ((1, 64, 16, 16), 128, np.float32),   # more output channels
                                         ((1, 128, 16, 16), 32, np.float32),   # fewer output channels
                                         ((1, 16, 16, 16), 16, np.float32),    # few channels
                                         ((1, 40, 16, 16), 40, np.float32),    # not in blocks of 16
                                         ((2, 128, 16, 16), 128, np.float32),  # a sample a thread
                                         ((1, 128, 16, 16), 128, np.float64)):
        assert K.fixed_weight_tile(_geometry(x_shape, out_channels), dtype) == 0
    monkeypatch.setattr(K, "FIXED_WEIGHT_F43", False)
    assert K.fixed_weight_tile(_geometry((1, 128, 16, 16), 128), np.float32) == 0


@pytest.mark.parametrize("x_shape,out_channels,m", [((1, 48, 16, 16), 48, 2), ((1, 80, 16, 15), 80, 4)])
def test_inference_and_frozen_layers_keep_their_transform_and_match_torch(x_shape, out_channels, m, transforms,
                                                                           monkeypatch):
    """Through ``nn.Conv2d`` at batch 1: in evaluation under no_grad, and as a frozen layer whose input needs a
    gradient, the forward pass takes Winograd with its transform kept (F(2,3) for 48 channels by
    ``winograd_tile``, F(4,3) for 80 channels by ``fixed_weight_tile``), and follows every way the weight can
    change between calls (in place, through ``.data``, through ``.detach().numpy()``, ``load_state_dict``), against
    torch; the frozen layer's input gradient too."""
    import juanji
    from juanji.kernels import _threads
    monkeypatch.setattr(_threads, "batch_workers", lambda: 2)
    from juanji.kernels import conv as K
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    rng = np.random.default_rng(sum(x_shape))
    x = rng.standard_normal(x_shape).astype(np.float32)
    layer = juanji.nn.Conv2d(x_shape[1], out_channels, 3, padding=1)
    twin = torch.nn.Conv2d(x_shape[1], out_channels, 3, padding=1)

    def same():
        twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
        with torch.no_grad():
            want = twin(torch.tensor(x)).numpy()
        with juanji.no_grad():
            got = layer(juanji.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    layer.eval()
    same()
    same()
    assert transforms == [((out_channels, x_shape[1], 3, 3), m, True)]  # made once, kept
    with juanji.no_grad():
        layer.weight.mul_(1.5)
    same()
    layer.weight.data.add_(0.25)
    same()
    layer.weight.detach().numpy()[0, 0, 1, 1] = 3.0  # (the same memory)
    same()
    layer.load_state_dict({"weight": juanji.tensor(rng.standard_normal(layer.weight.shape).astype(np.float32)),
                           "bias": layer.bias.detach()})
    same()
    assert len(transforms) == 5 and all(kept for _, _, kept in transforms)  # one for each change
    # a frozen layer in training: the input's gradient, the weight's transform kept
    layer.requires_grad_(False)
    tx = juanji.tensor(x, requires_grad=True)
    y = layer(tx)
    assert len(transforms) == 5  # (the weight as loaded: its kept transform)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(juanji.tensor(gy))
    assert [kept for _, _, kept in transforms[5:]] in ([], [False])  # (the input gradient's own, if Winograd's)
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
    rx = torch.tensor(x, requires_grad=True)
    ry = twin(rx)
    ry.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.detach().numpy(), ry.detach().numpy(), rtol=1e-4,
                               atol=1e-4 * np.abs(ry.detach().numpy()).max())
    np.testing.assert_allclose(tx.grad.numpy(), rx.grad.numpy(), rtol=1e-4, atol=1e-4 * np.abs(rx.grad.numpy()).max())
