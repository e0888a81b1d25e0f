"""The 512-bit direct convolution loops (``kernels/_simd``, ``kernels/_conv_simd``) against torch.

``_conv_direct`` runs its float32 forward pass, input gradient and weight gradient on these
loops on a CPU with AVX-512 (``vector_applies``). Here they are checked on their own, through
``_conv_direct`` with the vector path forced on (it computes the same sums on a CPU without
AVX-512, only slower): every block size of output channels the drivers pick (equal blocks, the
last one completed with zeros), every kernel width, padding per side, bias or none. The
intrinsics are checked against NumPy one by one.
"""

import numpy as np
import pytest
from numba import njit

from juanji.kernels import _conv_direct as D
from juanji.kernels import _conv_simd, _simd
from juanji.kernels import conv as K
from tests.helpers import assert_generated
from juanji.kernels.window import Window

torch = pytest.importorskip("torch")
TF = torch.nn.functional


# ----------------------------------------------------------------------------- the intrinsics
@njit
def _ops(a, out):
    x = _simd.vload(a, 3)
    y = _simd.vbcast(a, 40)
    _simd.vstore(out, 0, x)
    _simd.vstore(out, 16, y)
    _simd.vstore(out, 32, _simd.vfma(x, y, _simd.vload(a, 20)))
    _simd.vstore(out, 48, _simd.vzero())
    return _simd.vsum(x)


def test_intrinsics_match_numpy():
    a = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    out = np.full(64, np.nan, np.float32)
    total = _ops(a, out)
    np.testing.assert_array_equal(out[:16], a[3:19])
    np.testing.assert_array_equal(out[16:32], np.full(16, a[40]))
    fused = (a[3:19].astype(np.float64) * a[40] + a[20:36]).astype(np.float32)  # one rounding
    np.testing.assert_array_equal(out[32:48], fused)
    np.testing.assert_array_equal(out[48:], 0)
    assert abs(total - a[3:19].astype(np.float64).sum()) < 1e-5


@njit
def _transpose_block(a, i, s, b, j, t):
    _simd.vtranspose16(a, i, s, b, j, t)


@njit
def _transpose_block_add(a, i, s, b, j, t, add):
    _simd.vtranspose16_add(a, i, s, b, j, t, _simd.vload(add, 0))


@pytest.mark.parametrize("i,s,j,t", [(0, 16, 0, 16), (3, 50, 7, 60), (5, 1024, 1, 17)])
def test_transpose_intrinsics_move_a_block(i, s, j, t):
    """``b[j + q*t + r] = a[i + r*s + q] (+ add[q])``, nothing else of ``b`` written (any strides); the
    plain transpose bit for bit (-0.0 stays), with zeros added -0.0 becomes +0.0 (as ``x + 0.0``)."""
    rng = np.random.default_rng(i + s)
    a = rng.standard_normal(i + 16 * s).astype(np.float32)
    a[i] = -0.0
    block = a[i:i + 16 * s].reshape(16, s)[:, :16]
    b = np.full(j + 16 * t, np.nan, np.float32)
    got = b[j:j + 16 * t].reshape(16, t)
    _transpose_block(a, i, s, b, j, t)
    np.testing.assert_array_equal(got[:, :16], block.T)
    assert np.signbit(b[j])
    assert np.isnan(got[:, 16:]).all() and np.isnan(b[:j]).all()
    add = rng.standard_normal(16).astype(np.float32)
    _transpose_block_add(a, i, s, b, j, t, add)
    np.testing.assert_array_equal(got[:, :16], block.T + add[:, None])
    _transpose_block_add(a, i, s, b, j, t, np.zeros(16, np.float32))
    assert not np.signbit(b[j])


def test_intrinsics_reject_other_arrays():
    with pytest.raises(Exception, match="1-d contiguous float32"):
        _ops(np.zeros(64, np.float64), np.zeros(64, np.float64))


# ----------------------------------------------------------------------------- the loops
# (batch, channels, out_channels, (H, W), (kH, kW), ((lo_h, hi_h), (lo_w, hi_w)))
CASES = [
    (3, 1, 6, (28, 28), (5, 5), ((2, 2), (2, 2))),     # LeNet conv1
    (5, 6, 16, (14, 14), (5, 5), ((0, 0), (0, 0))),    # LeNet conv2
    (2, 16, 16, (12, 12), (3, 3), ((1, 1), (1, 1))),   # ResNet 16->16
    (2, 3, 17, (9, 11), (3, 3), ((1, 1), (1, 1))),     # 17 = two blocks of 9, the last with a zero channel
    (2, 5, 33, (7, 6), (3, 2), ((0, 2), (1, 0))),      # three blocks of 11; asymmetric padding
    (3, 2, 1, (5, 5), (5, 5), ((0, 0), (0, 0))),       # one output channel, a 1x1 output plane
    (2, 4, 7, (1, 9), (1, 3), ((0, 0), (2, 1))),       # one row
    (2, 3, 5, (9, 10), (7, 7), ((3, 3), (3, 3))),      # the widest kernel
    (2, 2, 40, (6, 7), (2, 4), ((1, 0), (0, 3))),      # even widths; 40 = 3 blocks of 14 (weight: 7 x 6)
    (2, 16, 12, (8, 8), (6, 1), ((2, 3), (0, 0))),     # one column
    (40, 6, 16, (14, 14), (5, 5), ((0, 0), (0, 0))),   # several chunks
    (2, 3, 3, (9, 10), (3, 3), ((1, 1), (1, 1))),      # a block of 3 (AVX2's blocks: 2 vectors of positions)
    (2, 4, 2, (7, 12), (5, 3), ((2, 2), (1, 1))),      # a block of 2 (AVX2's blocks: 3 vectors of positions)
]


def _reference(x, w, bias, pads, gy):
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    flat = [pads[1][0], pads[1][1], pads[0][0], pads[0][1]]
    ty = TF.conv2d(TF.pad(tx, flat), tw, None if bias is None else torch.tensor(bias))
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    return ty.detach().numpy(), dx.numpy(), dw.numpy()


@pytest.fixture(params=[True, False], ids=["avx512-blocks", "avx2-blocks"])
def blocks(request, monkeypatch):
    """Either block set of the loops (``_conv_direct.FULL_BLOCKS``: sized for AVX-512's 32 registers or
    AVX2's 16), whatever this CPU has: both compute the same sums, in the same order."""
    monkeypatch.setattr(D, "FULL_BLOCKS", request.param)
    return request.param


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("index", range(len(CASES)))
def test_vector_loops_match_torch(index, with_bias, blocks, monkeypatch):
    _check_case(CASES[index], index, with_bias, monkeypatch)


# short planes in many small chunks, the last one shorter: the loops read up to 15 positions past
# a run, into the next sample's plane or into a plane left over from the previous chunk
SHORT = [
    (7, 4, 7, (1, 9), (1, 3), ((0, 0), (2, 1))),       # 10-wide rows: a rounded run passes the plane
    (9, 2, 3, (2, 13), (1, 5), ((0, 0), (0, 0))),      # two rows
    (5, 3, 4, (5, 5), (5, 5), ((0, 0), (0, 0))),       # a 1x1 output plane
]


@pytest.mark.parametrize("index", range(len(SHORT)))
def test_vector_loops_on_short_planes_in_small_chunks(index, blocks, monkeypatch):
    monkeypatch.setattr(D, "CHUNK_BYTES", 1600)  # chunks of 2-3 samples, the last one of 1
    _check_case(SHORT[index], 100 + index, True, monkeypatch)


def _check_case(case, seed, with_bias, monkeypatch):
    monkeypatch.setattr(D, "vector_applies", lambda dtype: dtype == np.float32)
    batch, c, o, spatial, kernel, pads = case
    index = seed
    rng = np.random.default_rng(index)
    x = rng.standard_normal((batch, c) + spatial).astype(np.float32)
    w = rng.standard_normal((o, c) + kernel).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32) if with_bias else None
    out_h, out_w = (s + lo + hi - k + 1 for s, (lo, hi), k in zip(spatial, pads, kernel))
    gy = rng.standard_normal((batch, o, out_h, out_w)).astype(np.float32)
    ty, tdx, tdw = _reference(x, w, bias, pads, gy)
    y = D.forward(x, w, bias, np.empty(ty.shape, np.float32), pads[0][0], pads[1][0], 2)
    np.testing.assert_allclose(y, ty, rtol=1e-4, atol=1e-4)
    if D.input_grad_applies(kernel, (pads[0][0], pads[1][0]), (pads[0][1], pads[1][1])):
        gx = D.input_grad(gy, w, np.empty(x.shape, np.float32), pads[0][0], pads[1][0], 2)
        np.testing.assert_allclose(gx, tdx, rtol=1e-4, atol=1e-4)
    gw = D.weight_grad(gy, x, kernel[0], kernel[1], pads[0][0], pads[1][0], 2)
    atol = max(1e-4, 16 * np.finfo(np.float32).eps * np.abs(tdw).max())
    np.testing.assert_allclose(gw, tdw, rtol=1e-4, atol=atol)


def test_vector_loops_repeat_bit_for_bit(blocks, monkeypatch):
    monkeypatch.setattr(D, "vector_applies", lambda dtype: dtype == np.float32)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    gy = rng.standard_normal((9, 16, 10, 10)).astype(np.float32)
    runs = [(D.forward(x, w, None, np.empty((9, 16, 10, 10), np.float32), 0, 0, 1),
             D.weight_grad(gy, x, 5, 5, 0, 0, 1)) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


def test_vector_path_is_taken_for_float32_on_avx512_or_avx2():
    """Where the CPU has AVX-512 (or AVX2 and FMA), float32 goes to the 512-bit loops and float64 to the
    256-bit ones; the blocks follow the registers; the rules for many channels keep to AVX-512."""
    assert D.vector_applies(np.float32) == _simd.takes_halves(np.float32)
    assert not D.vector_applies(np.float64)
    assert D.FULL_BLOCKS == _simd.AVAILABLE
    assert D.wide_rules(np.float32) == _simd.AVAILABLE and not D.wide_rules(np.float64)
    lenet2 = K.conv_geometry(Window((5, 5), (1, 1), (0, 0), (0, 0), (1, 1)), (2, 6, 14, 14), 16, 1)
    # the input gradient of a 14x14 -> 10x10 layer: a forward pass on the 512-bit loops only
    assert K.direct_input_grad_applies(lenet2, np.float32) == _simd.takes_halves(np.float32)
    assert not K.direct_input_grad_applies(lenet2, np.float64)


def test_generated_module_is_what_the_generator_writes():
    """``_conv_simd`` is generated by scripts/gen_conv_simd.py; an edit by hand would be lost."""
    assert_generated("gen_conv_simd")
    assert _conv_simd.SLACK >= max(_conv_simd.POSITIONS.values())


# ----------------------------------------------------------------------------- depthwise
# (batch, channels, spatial, kernel, padding lo/hi per dim, dilation[, stride])
DEPTHWISE = [
    (3, 8, (12, 12), (3, 3), ((1, 1), (1, 1)), (1, 1)),     # MobileNet's 3x3
    (3, 8, (12, 12), (3, 3), ((1, 1), (1, 1)), (1, 1), (2, 2)),   # and its stride 2
    (2, 5, (9, 11), (5, 4), ((2, 1), (0, 3)), (1, 1), (3, 2)),    # odd sizes, stride 3 x 2
    (2, 3, (13, 10), (3, 3), ((2, 2), (1, 2)), (2, 1), (2, 3)),   # dilated and strided
    (2, 4, (7, 7), (1, 1), ((0, 0), (0, 0)), (1, 1), (2, 2)),     # a 1x1 kernel at stride 2
    (2, 2, (7, 6, 9), (3, 3, 3), ((1, 1), (1, 1), (1, 1)), (1, 1, 1), (2, 1, 2)),  # 3-d, strided
    (2, 5, (9, 7), (5, 5), ((2, 2), (2, 2)), (1, 1)),
    (2, 3, (10, 11), (3, 3), ((2, 2), (0, 2)), (2, 2)),      # dilated, asymmetric padding
    (4, 6, (4, 4), (3, 3), ((1, 1), (1, 1)), (1, 1)),        # 4x4 planes (MobileNet's last stage)
    (2, 4, (1, 9), (1, 7), ((0, 0), (3, 3)), (1, 1)),        # one row, the widest kernel
    (2, 3, (6, 5), (3, 3), ((0, 0), (0, 0)), (1, 1)),        # no padding
    (2, 2, (5, 6, 7), (3, 3, 3), ((1, 1), (1, 1), (1, 1)), (1, 1, 1)),  # 3-d
    # rows of 16 values and more move in 16-lane vectors (``_rows``), the last overlapping the one before
    (2, 3, (5, 16), (3, 3), ((1, 1), (1, 1)), (1, 1)),       # rows of exactly 16
    (2, 3, (6, 21), (3, 3), ((1, 1), (1, 1)), (1, 1)),       # 16 and a tail of 5
    (1, 4, (7, 35), (3, 3), ((1, 1), (1, 1)), (1, 1), (2, 2)),   # strided: output rows of 18
    (2, 2, (3, 4, 18), (3, 3, 3), ((1, 1), (1, 1), (1, 1)), (1, 1, 1)),  # 3-d, rows of 18
    (1, 3, (4, 40), (3, 5), ((0, 2), (2, 2)), (1, 1)),       # 40 wide: two vectors and an overlap
]


@pytest.mark.parametrize("index", range(len(DEPTHWISE)))
def test_depthwise_vector_loops_match_torch(index):
    batch, channels, spatial, kernel, pads, dilation, *stride = DEPTHWISE[index]
    stride = tuple(stride[0]) if stride else (1,) * len(kernel)
    rng = np.random.default_rng(200 + index)
    x = rng.standard_normal((batch, channels) + spatial).astype(np.float32)
    w = rng.standard_normal((channels, 1) + kernel).astype(np.float32)
    bias = rng.standard_normal(channels).astype(np.float32)
    window = Window(kernel, stride, tuple(p[0] for p in pads), tuple(p[1] for p in pads), dilation)
    geom = K.conv_geometry(window, x.shape, channels, channels)
    assert geom.is_depthwise
    gy = rng.standard_normal(geom.output_shape()).astype(np.float32)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    flat = [p for pair in reversed(pads) for p in pair]
    conv = TF.conv2d if len(kernel) == 2 else TF.conv3d
    ty = conv(TF.pad(tx, flat), tw, torch.tensor(bias), stride=stride, dilation=dilation, groups=channels)
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    np.testing.assert_allclose(K.conv_forward(x, w, geom, bias), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(K.conv_backward_input(gy, w, geom), dx.numpy(), rtol=1e-4, atol=1e-4)
    atol = max(1e-4, 16 * np.finfo(np.float32).eps * np.abs(dw.numpy()).max())
    np.testing.assert_allclose(K.conv_backward_weight(gy, x, geom), dw.numpy(), rtol=1e-4, atol=atol)


def test_depthwise_vector_loops_are_taken_and_repeat():
    from juanji.kernels import _depthwise_simd
    x = np.random.default_rng(9).standard_normal((3, 4, 8, 8)).astype(np.float32)
    w = np.random.default_rng(10).standard_normal((4, 1, 3, 3)).astype(np.float32)
    assert _depthwise_simd.applies(x, w) == _simd.takes_halves(np.float32)
    assert not _depthwise_simd.applies(x.astype(np.float64), w.astype(np.float64))
    assert not _depthwise_simd.applies(x, np.zeros((8, 1, 3, 3), np.float32))  # two outputs per channel
    geom = K.conv_geometry(Window((3, 3), (1, 1), (1, 1), (1, 1), (1, 1)), x.shape, 4, 4)
    gy = np.random.default_rng(11).standard_normal(geom.output_shape()).astype(np.float32)
    runs = [(K.conv_forward(x, w, geom).copy(), K.conv_backward_input(gy, w, geom).copy(),
             K.conv_backward_weight(gy, x, geom).copy()) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs))


# ----------------------------------------------------------------------------- small batches
# a batch smaller than the thread count: each sample's blocks of output channels shared out
@pytest.mark.parametrize("batch,parts", [(1, 2), (1, 3), (2, 3), (1, 8)])
@pytest.mark.parametrize("o,c,spatial", [(40, 3, (9, 11)), (64, 8, (6, 6)), (17, 5, (4, 7)), (16, 2, (5, 5))])
def test_small_batches_split_output_channels_bit_for_bit(batch, parts, o, c, spatial, blocks, monkeypatch):
    monkeypatch.setattr(D, "vector_applies", lambda dtype: dtype == np.float32)
    rng = np.random.default_rng(o * 10 + batch)
    x = rng.standard_normal((batch, c) + spatial).astype(np.float32)
    w = rng.standard_normal((o, c, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    gy = np.zeros((batch, o) + spatial, np.float32)
    ty, _, _ = _reference(x, w, bias, ((1, 1), (1, 1)), gy)
    tasks = D._block_tasks(batch, D._even_blocks(o, D._blocks()[1])[0], parts)
    assert sorted(tasks) == tasks and {n for n, _, _ in tasks} == set(range(batch))
    split = D.forward(x, w, bias, np.full(ty.shape, np.nan, np.float32), 1, 1, parts)
    whole = D.forward(x, w, bias, np.full(ty.shape, np.nan, np.float32), 1, 1, 1)
    np.testing.assert_array_equal(split, whole)  # the same loops per block: the same bits
    np.testing.assert_allclose(split, ty, rtol=1e-4, atol=1e-4)


def test_batch_one_forward_takes_the_direct_loops_up_to_128_channels(monkeypatch):
    """F.conv2d at batch 1 with 2 threads: the split direct forward for 64 channels (not Winograd),
    im2col for 256; values and gradients match torch either way."""
    import juanji
    monkeypatch.setattr(D, "vector_applies", lambda dtype: dtype == np.float32)
    monkeypatch.setattr(D, "FULL_BLOCKS", True)  # (the batch-1 rule for many channels: AVX-512's blocks)
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    taken = []
    real = K._direct_forward
    monkeypatch.setattr(K, "_direct_forward", lambda *a: taken.append(a[2].out_channels) or real(*a))
    for channels, size, direct in [(64, 16, True), (256, 8, False), (64, 8, False)]:
        rng = np.random.default_rng(channels)
        x = rng.standard_normal((1, channels, size, size)).astype(np.float32)
        w = (rng.standard_normal((channels, channels, 3, 3)) / (3 * channels ** 0.5)).astype(np.float32)
        jx, jw = juanji.tensor(x, requires_grad=True), juanji.tensor(w, requires_grad=True)
        y = juanji.nn.functional.conv2d(jx, jw, padding=1)
        y.sum().backward()
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        ty = TF.conv2d(tx, tw, padding=1)
        ty.sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(jw.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=2e-4)
        assert (channels in taken) == direct
        taken.clear()


# ----------------------------------------------------------------------------- few output channels
# (batch, in, out, (H, W), kernel, padding, direct?): up to 128 input and 32 output channels the
# forward pass and the input gradient run on the direct loops where Winograd does not apply and the
# batch has at least DIRECT_WIDE_MIN_POSITIONS output positions; the weight gradient keeps im2col
WIDE = [(1, 128, 32, (16, 16), 3, 1, True), (2, 96, 32, (8, 8), 3, 1, True), (3, 48, 16, (7, 9), 3, 0, True),
        (1, 64, 17, (10, 12), 5, 2, True), (8, 128, 32, (4, 4), 3, 1, True), (1, 128, 32, (4, 4), 3, 1, False),
        (1, 129, 32, (16, 16), 3, 1, False), (1, 64, 33, (16, 16), 3, 1, False), (1, 128, 16, (12, 12), 3, 3, True)]


@pytest.mark.parametrize("case", WIDE, ids=str)
def test_few_output_channels_take_the_direct_loops_and_match_torch(case, blocks, monkeypatch):
    import juanji
    batch, c, o, spatial, k, p, direct = case
    monkeypatch.setattr(D, "vector_applies", lambda dtype: dtype == np.float32)
    # (the gradients of 128->32 on 16x16 take Winograd, F(4,3) from 16 tiles a thread and F(2,3) at batch 1
    # on two threads: tests/kernels/test_winograd.py; here the input gradient's direct loops are the point)
    monkeypatch.setattr(K, "SMALL_BATCH_WINOGRAD", False)
    monkeypatch.setattr(K, "FEW_OUT_F43", False)
    taken = []
    real_forward, real_input = K._direct_forward, K._direct_backward_input
    monkeypatch.setattr(K, "_direct_forward", lambda *a: taken.append("forward") or real_forward(*a))
    monkeypatch.setattr(K, "_direct_backward_input", lambda *a: taken.append("input") or real_input(*a))
    rng = np.random.default_rng(c + o)
    x = rng.standard_normal((batch, c) + spatial).astype(np.float32)
    w = (rng.standard_normal((o, c, k, k)) / (k * c ** 0.5)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    jx, jw, jb = (juanji.tensor(a, requires_grad=True) for a in (x, w, b))
    y = juanji.nn.functional.conv2d(jx, jw, jb, padding=p)
    gy = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(juanji.tensor(gy))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv2d(tx, tw, tb, padding=p)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(jw.grad.numpy(), tw.grad.numpy(), rtol=1e-4, atol=3e-4)
    np.testing.assert_allclose(jb.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-4)
    geom = juanji.kernels.conv.conv_geometry(Window((k, k), (1, 1), (p, p), (p, p), (1, 1)), x.shape, o, 1)
    assert K._direct_wide(geom, np.float32) == direct
    if direct:  # (padding > k-1: the input gradient by im2col)
        assert taken == ["forward"] + (["input"] if p <= k - 1 else [])
    else:  # (a batch-1 forward of up to 128 channels may take the loops as a small batch)
        assert "input" not in taken and ("forward" in taken) == K.direct_forward_applies(geom, np.float32)
    assert not K.direct_applies(geom, np.float32) or max(c, o) <= K.VECTOR_MAX_CHANNELS
    assert not K._direct_wide(geom, np.float64)  # float64 (gradient checks) keeps its paths


@pytest.mark.parametrize("shape", [(32, 128, 3, 3), (16, 6, 5, 5), (7, 3, 1, 4), (33, 5, 3, 2), (1, 1, 1, 1), (12, 9, 7, 7)])
def test_packed_weight_is_the_documented_layout(shape, blocks):
    """``_pack_blocks``: ``wt[pass, ((c*kH + i)*kW + j)*ob + k] = w[pass*ob + k, c, i, j]``, zero past the
    output channels, the bias completed with zeros; ``flipped``, the same of ``w_t[c, o] = flip(w[o, c])``."""
    rng = np.random.default_rng(sum(shape))
    w = rng.standard_normal(shape).astype(np.float32)
    bias = rng.standard_normal(shape[0]).astype(np.float32)
    for flipped in (False, True):
        source = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]) if flipped else w
        out_c, channels, k_h, k_w = source.shape
        ob, wt, full_bias = D._pack_blocks(w, None if flipped else bias, flipped=flipped)
        passes = wt.shape[0]
        assert ob <= D._blocks()[1] and passes * ob >= out_c > (passes - 1) * ob
        padded = np.zeros((passes * ob,) + source.shape[1:], np.float32)
        padded[:out_c] = source
        expected = padded.reshape(passes, ob, channels, k_h, k_w).transpose(0, 2, 3, 4, 1).reshape(passes, -1)
        assert wt.dtype == np.float32 and np.array_equal(wt, expected)
        assert np.array_equal(full_bias[:out_c], np.zeros(out_c) if flipped else bias)
        assert not full_bias[out_c:].any()


@pytest.mark.parametrize("shape,width", [((48, 32), 48), ((37, 21), 40), ((16, 5), 16), ((3, 40), 8)])
def test_vector_transpose_equals_the_loop(shape, width):
    """``_conv_layout.transpose`` (whole 16 x 16 blocks in registers, edges one by one) against the
    scalar loop, into the first columns of a wider array; -0.0 kept."""
    from juanji.kernels import _conv_layout
    rng = np.random.default_rng(shape[0])
    src = rng.standard_normal(shape).astype(np.float32)
    src[0, 0] = -0.0
    loops, vector = (np.full((shape[1], width), np.nan, np.float32) for _ in range(2))
    _conv_layout.transpose_into(src, loops)
    _conv_layout.transpose(src, vector)
    written = slice(None, shape[0])
    np.testing.assert_array_equal(vector[:, written].view(np.uint32), loops[:, written].view(np.uint32))
    np.testing.assert_array_equal(vector[:, written], src.T)
    assert np.signbit(vector[0, 0])
    assert np.isnan(vector[:, shape[0]:]).all()


def test_the_loops_that_run_without_avx512():
    """``takes_halves``: the 512-bit loops that also run on a CPU with AVX2 and FMA but no AVX-512 (LLVM
    splits each operation in two; the direct loops there in smaller blocks); ``takes``: those kept to AVX-512
    (the narrow products)."""
    assert not (_simd.AVAILABLE and _simd.HALVES)
    assert _simd.takes_halves(np.float32) == (_simd.AVAILABLE or _simd.HALVES)
    assert _simd.takes(np.float32) == _simd.AVAILABLE
    assert not _simd.takes_halves(np.float64) and not _simd.takes(np.float64)
    from juanji.kernels import _conv_direct
    assert _conv_direct.vector_applies(np.float32) == _simd.takes_halves(np.float32)


def test_kept_packed_weight_follows_the_weight_and_its_bias(blocks):
    """``_pack_blocks(keep=True)`` (a weight that needs no gradient): the packed blocks are reused while the
    weight's bits stay, made again when it changes in place; the bias is placed at every call; a copy made
    for a non-contiguous weight is not kept. Each result is the documented packing of that call's weight."""
    from juanji.kernels import kept as KEPT
    KEPT.forget()
    rng = np.random.default_rng(4)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(32).astype(np.float32)
    try:
        ob, first, b1 = D._pack_blocks(w, bias, keep=True)
        _, again, b2 = D._pack_blocks(w, bias + 1, keep=True)
        assert again is first and np.array_equal(b2[:32], bias + 1)
        w[5, 3, 1, 2] = 7.0  # in place
        _, changed, _ = D._pack_blocks(w, bias, keep=True)
        assert changed is not first and np.array_equal(changed, D._pack_blocks(w, bias)[1])
        assert not np.array_equal(changed, first)
        strided = np.asfortranarray(w)
        _, copied, _ = D._pack_blocks(strided, bias, keep=True)
        assert np.array_equal(copied, changed) and len(KEPT._kept) == 1
    finally:
        KEPT.forget()


def test_inference_through_the_direct_loops_follows_weight_changes():
    """DenseNet's 128->32 3x3 on 16x16 at batch 1 under no_grad (the direct loops with their packed weight
    kept), against torch, before and after the weight changes in place."""
    import juanji
    from juanji.kernels import kept as KEPT
    KEPT.forget()
    rng = np.random.default_rng(9)
    layer = juanji.nn.Conv2d(128, 32, 3, padding=1)
    x = rng.standard_normal((1, 128, 16, 16)).astype(np.float32)
    twin = torch.nn.Conv2d(128, 32, 3, padding=1)
    try:
        for step in range(3):
            twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()})
            with juanji.no_grad():
                got = layer(juanji.tensor(x)).numpy()
                layer.weight.mul_(1.25 + step)
            with torch.no_grad():
                want = twin(torch.tensor(x)).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    finally:
        KEPT.forget()
