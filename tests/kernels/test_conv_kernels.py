"""Convolution kernels on arrays against torch: forward, input gradient, weight gradient.

Every code path of ``juanji.kernels.conv`` is driven here directly: the chunked im2col + GEMM
path (with one and with many chunks), the pointwise (1x1) and depthwise paths, the portable
slicing path (the one CuPy uses) and integer inputs. Per-side padding ``(lo, hi)``, which torch's
conv does not take, is checked against torch by padding the input explicitly first.
"""

import numpy as np
import pytest

from juanji.kernels import _conv_slices
from juanji.kernels import conv as K
from juanji.kernels.window import Window

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
CONV = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}
CONV_T = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}


# -- the kernels take a geometry (a Window over an input shape); these build it from plain
# arguments: stride/dilation an int or per dim, padding an int, per dim, or (lo, hi) per dim

def _per_dim(value, n):
    return (value,) * n if isinstance(value, int) else tuple(value)


def _window(n, kernel, stride=1, padding=0, dilation=1, output_padding=0, transposed=False):
    pads = [(p, p) if isinstance(p, int) else tuple(p) for p in _per_dim(padding, n)]
    return Window(tuple(kernel), _per_dim(stride, n), tuple(lo for lo, _ in pads), tuple(hi for _, hi in pads),
                  _per_dim(dilation, n), transposed=transposed, output_padding=_per_dim(output_padding, n))


def _geometry(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1):
    n = len(x_shape) - 2
    return K.conv_geometry(_window(n, w_shape[2:], stride, padding, dilation), x_shape, w_shape[0], groups)


def conv_forward(x, w, *args, bias=None):
    return K.conv_forward(x, w, _geometry(x.shape, w.shape, *args), bias=bias)


def conv_backward_input(gy, w, x_shape, *args):
    return K.conv_backward_input(gy, w, _geometry(tuple(x_shape), w.shape, *args))


def conv_backward_weight(gy, x, w_shape, *args):
    return K.conv_backward_weight(gy, x, _geometry(x.shape, tuple(w_shape), *args))


def conv_transpose_forward(x, w, stride, padding, output_padding, dilation, groups, bias=None):
    """The geometry of a transposed convolution is that of the convolution from its output."""
    n = x.ndim - 2
    window = _window(n, w.shape[2:], stride, padding, dilation, output_padding, transposed=True)
    out_shape = (x.shape[0], w.shape[1] * groups) + window.output_spatial(x.shape[2:])
    return K.conv_transpose_forward(x, w, K.conv_geometry(window, out_shape, w.shape[0], groups), bias=bias)


def _torch_reference(x, w, bias, stride, pads, dilation, groups, gy):
    """torch's y, dx, dw for per-side padding ``pads`` ((lo, hi) per dim)."""
    n = x.ndim - 2
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    flat = [amount for lo_hi in reversed(pads) for amount in lo_hi]  # F.pad order: last dim first
    ty = CONV[n](TF.pad(tx, flat), tw, None if bias is None else torch.tensor(bias), stride, 0, dilation, groups)
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    return ty.detach().numpy(), dx.numpy(), dw.numpy()


def _random_case(rng, n, dtype, *, groups_kind="any", pointwise=False):
    """A random valid convolution problem with ``n`` spatial dims."""
    while True:
        groups = {"one": 1, "any": int(rng.integers(1, 4)), "depthwise": int(rng.integers(2, 5))}[groups_kind]
        cg = 1 if groups_kind == "depthwise" else int(rng.integers(1, 4))
        og = int(rng.integers(1, 4))
        spatial = tuple(int(v) for v in rng.integers(1, 10 if n < 3 else 6, size=n))
        if pointwise:
            kernel, stride, dilation, pads = (1,) * n, (1,) * n, (1,) * n, ((0, 0),) * n
        else:
            kernel = tuple(int(v) for v in rng.integers(1, 6 if n < 3 else 4, size=n))
            stride = tuple(int(v) for v in rng.integers(1, 4, size=n))
            dilation = tuple(int(v) for v in rng.integers(1, 4, size=n))
            pads = tuple((int(rng.integers(0, 4)), int(rng.integers(0, 4))) for _ in range(n))
        geom = _geometry((1, cg * groups) + spatial, (og * groups, cg) + kernel, stride, pads, dilation, groups)
        if geom.out_volume > 0:
            break
    batch = int(rng.integers(1, 4))
    x = rng.standard_normal((batch, cg * groups) + spatial).astype(dtype)
    w = rng.standard_normal((og * groups, cg) + kernel).astype(dtype)
    bias = rng.standard_normal(og * groups).astype(dtype)
    return x, w, bias, stride, pads, dilation, groups


def _check_all_three(x, w, bias, stride, pads, dilation, groups, dtype, rng):
    y = conv_forward(x, w, stride, pads, dilation, groups, bias=bias)
    gy = rng.standard_normal(y.shape).astype(dtype)
    ty, tdx, tdw = _torch_reference(x, w, bias, stride, pads, dilation, groups, gy)
    assert y.shape == ty.shape and y.dtype == dtype
    np.testing.assert_allclose(y, ty, **TOL[dtype])
    dx = conv_backward_input(gy, w, x.shape, stride, pads, dilation, groups)
    assert dx.shape == x.shape and dx.dtype == dtype
    np.testing.assert_allclose(dx, tdx, **TOL[dtype])
    dw = conv_backward_weight(gy, x, w.shape, stride, pads, dilation, groups)
    assert dw.shape == w.shape and dw.dtype == dtype
    np.testing.assert_allclose(dw, tdw, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_im2col_path_matches_torch_with_per_side_padding(n, dtype, seed):
    rng = np.random.default_rng(100 * n + seed)
    _check_all_three(*_random_case(rng, n, dtype), dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("seed", range(3))
def test_depthwise_path_matches_torch(n, dtype, seed):
    rng = np.random.default_rng(200 * n + seed)
    case = _random_case(rng, n, dtype, groups_kind="depthwise")
    assert _geometry(case[0].shape, case[1].shape, *case[3:]).is_depthwise
    _check_all_three(*case, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_pointwise_path_matches_torch(n, dtype):
    rng = np.random.default_rng(300 + n)
    case = _random_case(rng, n, dtype, pointwise=True)
    assert _geometry(case[0].shape, case[1].shape, *case[3:]).is_pointwise
    _check_all_three(*case, dtype, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spatial", [(300,), (17, 19), (7, 8, 9), (8, 8), (2, 4, 8)])
@pytest.mark.parametrize("batch", [1, 3, 5])
def test_pointwise_planes_as_one_product_per_sample_match_torch(spatial, batch, dtype):
    """Planes of at least PER_SAMPLE_MIN_POSITIONS go straight through ``w @ x[b]``."""
    assert int(np.prod(spatial)) >= K.PER_SAMPLE_MIN_POSITIONS
    rng = np.random.default_rng(len(spatial) * 10 + batch)
    n = len(spatial)
    x = rng.standard_normal((batch, 5) + spatial).astype(dtype)
    w = rng.standard_normal((4, 5) + (1,) * n).astype(dtype)
    bias = rng.standard_normal(4).astype(dtype)
    _check_all_three(x, w, bias, (1,) * n, ((0, 0),) * n, (1,) * n, 1, dtype, rng)


@pytest.mark.parametrize("pointwise", [False, True])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("chunk", [1, 2])
def test_many_chunks_give_the_same_result_as_one(monkeypatch, groups, chunk, pointwise):
    """Chunks of 1 and 2 samples (5 = 2 + 2 + 1): buffers are reused, the last chunk is short."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 4, 9, 7)).astype(np.float64)
    w = rng.standard_normal((6, 4 // groups) + ((1, 1) if pointwise else (3, 2))).astype(np.float64)
    b = rng.standard_normal(6)
    args = (1, 0, 1, groups) if pointwise else ((2, 1), ((1, 2), (0, 1)), (1, 2), groups)
    gy = rng.standard_normal(conv_forward(x, w, *args).shape)
    whole = (conv_forward(x, w, *args, bias=b), conv_backward_input(gy, w, x.shape, *args),
             conv_backward_weight(gy, x, w.shape, *args))
    assert K._chunk_size(_geometry(x.shape, w.shape, *args), 8) == 5
    monkeypatch.setattr(K, "_chunk_size", lambda geom, itemsize: chunk)
    chunked = (conv_forward(x, w, *args, bias=b), conv_backward_input(gy, w, x.shape, *args),
               conv_backward_weight(gy, x, w.shape, *args))
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_portable_slicing_path_matches_the_numpy_path(n):
    rng = np.random.default_rng(400 + n)
    x, w, _, stride, pads, dilation, groups = _random_case(rng, n, np.float64)
    geom = _geometry(x.shape, w.shape, stride, pads, dilation, groups)
    x5, w5 = x.reshape(geom.lifted("input")), w.reshape(geom.lifted("weight"))
    y = conv_forward(x, w, stride, pads, dilation, groups)
    gy = rng.standard_normal(y.shape)
    gy5 = gy.reshape(geom.lifted("output"))
    np.testing.assert_allclose(_conv_slices.forward(x5, w5, geom).reshape(y.shape), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_conv_slices.backward_input(gy5, w5, geom).reshape(x.shape),
                               conv_backward_input(gy, w, x.shape, stride, pads, dilation, groups),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_conv_slices.backward_weight(gy5, x5, geom).reshape(w.shape),
                               conv_backward_weight(gy, x, w.shape, stride, pads, dilation, groups),
                               rtol=1e-12, atol=1e-12)


def test_integer_inputs_are_exact():
    rng = np.random.default_rng(5)
    x = rng.integers(-4, 5, (2, 4, 7, 6)).astype(np.int64)
    w = rng.integers(-4, 5, (6, 2, 3, 3)).astype(np.int64)
    y = conv_forward(x, w, 1, 1, 1, 2)
    expected = TF.conv2d(torch.tensor(x), torch.tensor(w), None, 1, 1, 1, 2).numpy()
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", [
    # (n, in_ch, out_ch, spatial, kernel, stride, padding, output_padding, dilation, groups)
    (1, 3, 4, (7,), (3,), (2,), (1,), (1,), (1,), 1),
    (2, 4, 6, (5, 4), (3, 2), (2, 3), (1, 0), (1, 2), (1, 1), 2),
    (2, 2, 2, (4, 5), (4, 4), (1, 1), (2, 1), (1, 0), (2, 1), 2),
    (3, 2, 3, (3, 4, 2), (2, 3, 2), (2, 1, 3), (0, 1, 1), (1, 0, 2), (1, 2, 1), 1),
])
def test_conv_transpose_forward_matches_torch(config, dtype):
    n, cin, cout, spatial, kernel, stride, padding, out_pad, dilation, groups = config
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, cin) + spatial).astype(dtype)
    w = rng.standard_normal((cin, cout // groups) + kernel).astype(dtype)
    bias = rng.standard_normal(cout).astype(dtype)
    y = conv_transpose_forward(x, w, stride, padding, out_pad, dilation, groups, bias=bias)
    expected = CONV_T[n](torch.tensor(x), torch.tensor(w), torch.tensor(bias), stride, padding, out_pad,
                         groups, dilation).numpy()
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, **TOL[dtype])


def test_empty_batch_gives_empty_results():
    x = np.zeros((0, 3, 8, 8), np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    assert conv_forward(x, w, 1, 1).shape == (0, 4, 8, 8)
    gy = np.zeros((0, 4, 8, 8), np.float32)
    assert conv_backward_input(gy, w, x.shape, 1, 1).shape == x.shape
    dw = conv_backward_weight(gy, x, w.shape, 1, 1)
    assert dw.shape == w.shape and not dw.any()


def test_grad_output_of_the_wrong_shape_is_rejected():
    w = np.ones((4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"grad_output \(2, 4, 7, 6\) does not match .*\(2, 4, 6, 6\)"):
        conv_backward_input(np.zeros((2, 4, 7, 6)), w, (2, 3, 8, 8))
    with pytest.raises(ValueError, match=r"grad_output \(2, 5, 6, 6\) does not match"):
        conv_backward_weight(np.zeros((2, 5, 6, 6)), np.zeros((2, 3, 8, 8)), w.shape)


def test_shorter_grad_output_counts_as_zeros_at_the_end():
    """What a transposed conv with output_padding >= stride needs (see _fit_grad_output)."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 3, 3, 3))
    x = rng.standard_normal((2, 3, 8, 8))
    short = rng.standard_normal((2, 4, 5, 6))
    padded = np.zeros((2, 4, 6, 6))
    padded[:, :, :5, :6] = short
    np.testing.assert_array_equal(conv_backward_input(short, w, x.shape),
                                  conv_backward_input(padded, w, x.shape))
    np.testing.assert_array_equal(conv_backward_weight(short, x, w.shape),
                                  conv_backward_weight(padded, x, w.shape))


@pytest.mark.parametrize("groups_kind, stride", [("any", 1), ("depthwise", 1), ("depthwise", 2)])
def test_parallel_and_single_thread_loops_agree(monkeypatch, groups_kind, stride):
    """Small problems run the Numba loops on the calling thread, large ones on every core
    (split into slices of the batch or of the tasks, see juanji/kernels/_threads.py). The
    weight gradient then adds the slices' partial sums in another order: float32 rounding
    differs slightly."""
    from juanji.kernels import _threads
    rng = np.random.default_rng(8)
    cin = 4
    w_shape = (8, 1, 3, 3) if groups_kind == "depthwise" else (6, 2, 3, 3)
    groups = 4 if groups_kind == "depthwise" else 2
    x = rng.standard_normal((3, cin, 9, 8)).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    args = (stride, 1, 1, groups)
    gy = rng.standard_normal(conv_forward(x, w, *args).shape).astype(np.float32)

    def run():
        return (conv_forward(x, w, *args), conv_backward_input(gy, w, x.shape, *args),
                conv_backward_weight(gy, x, w.shape, *args))

    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1 << 62)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_MACS", 1 << 62)
    serial = run()
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_MACS", 0)
    parallel = run()
    again = run()
    for a, b, c in zip(serial, parallel, again):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(b, c)  # the same split gives the same bits every time


def test_batch_split_covers_every_sample_once_in_order():
    from juanji.kernels import _threads as bp
    for batch in (1, 2, 3, 7, 64):
        for parts in (1, 2, 3):
            if parts > batch:
                continue
            seen = bp.map_slices(lambda start, stop: list(range(start, stop)), batch, parts)
            assert len(seen) == parts and sum(seen, []) == list(range(batch))
            assert max(map(len, seen)) - min(map(len, seen)) <= 1


def test_batch_split_runs_blas_single_threaded_and_restores_it():
    from juanji.kernels import _threads as bp
    before = bp.blas_threads()
    if before is None:
        pytest.skip("BLAS thread count cannot be controlled here")
    inside = bp.map_slices(lambda start, stop: bp.blas_threads(), 4, 2)
    assert inside == [1, 1] and bp.blas_threads() == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,spatial", [(3, (5, 6)), (1, (16, 16)), (1, (3, 3))])
def test_weight_gradient_in_the_weights_layout_for_many_output_channels(kernel, spatial, dtype):
    """From ``WEIGHT_LAYOUT_MIN_OUT_CHANNELS`` output channels per group on the weight gradient is
    accumulated as gy @ cols.T (no transpose at the end): the same values as torch's."""
    from juanji.kernels.window import Window
    out_channels = K.WEIGHT_LAYOUT_MIN_OUT_CHANNELS
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((2, 3) + spatial).astype(dtype)
    w = rng.standard_normal((out_channels, 3, kernel, kernel)).astype(dtype)
    pads = ((kernel // 2, kernel // 2),) * 2
    geom = K.conv_geometry(Window((kernel, kernel), (1, 1), (kernel // 2,) * 2, (kernel // 2,) * 2, (1, 1)),
                           x.shape, out_channels, 1)
    y = K.conv_forward(x, w, geom)
    gy = rng.standard_normal(y.shape).astype(dtype)
    _, _, tdw = _torch_reference(x, w, None, (1, 1), pads, (1, 1), 1, gy)
    np.testing.assert_allclose(K.conv_backward_weight(gy, x, geom), tdw, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, channels, size, stride", [(2, 72, 4, 1), (3, 20, 6, 2), (1, 40, 8, 2), (2, 8, 16, 2)])
def test_narrow_batch_slices_split_the_products_by_rows(monkeypatch, batch, channels, size, stride, dtype):
    """A small batch of small planes runs its im2col products as one slice, each split by rows over
    the threads (``conv._gemm_parts``); forward and both gradients against torch."""
    from juanji.kernels import _threads, gemm
    monkeypatch.setattr(K, "batch_workers", lambda: 2)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_MIN_FLOPS", 0)  # the row split of each product
    rng = np.random.default_rng(batch * 100 + size)
    x = rng.standard_normal((batch, channels, size, size)).astype(dtype)
    w = rng.standard_normal((channels + 3, channels, 3, 3)).astype(dtype)
    geom = K.conv_geometry(Window((3, 3), (stride, stride), (1, 1), (1, 1), (1, 1)), x.shape, w.shape[0])
    assert K._im2col_path(geom, x.dtype)
    assert K._gemm_parts(geom) == (1 if -(-batch // 2) * geom.out_volume < K.ROW_SPLIT_MAX_POSITIONS else 2)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = TF.conv2d(tx, tw, stride=stride, padding=1)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    tdx, tdw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K.conv_forward(x, w, geom), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(K.conv_backward_input(gy, w, geom), tdx.numpy(), **tol)
    np.testing.assert_allclose(K.conv_backward_weight(gy, x, geom), tdw.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch, channels, out_channels, size, kernel, stride, parts",
                         [(1, 40, 36, 9, 5, 1, 2), (2, 7, 33, 12, 3, 2, 2), (1, 5, 40, 10, 5, 1, 3), (3, 16, 40, 12, 3, 2, 2),
                          (1, 3, 4, 7, 2, 2, 4)])
def test_small_batch_weight_gradient_shared_out_by_channels(monkeypatch, batch, channels, out_channels, size, kernel,
                                                           stride, parts, dtype):
    """The weight gradient of a batch that is one slice and one chunk: each thread gathers the columns
    of its input channels and multiplies them (``conv._weight_grad_by_channels``); against torch,
    against the same gradient on one thread, and the same bits on every run."""
    from juanji.kernels import _threads
    monkeypatch.setattr(K, "batch_workers", lambda: parts)
    monkeypatch.setattr(_threads, "PARALLEL_MIN_MACS", 0)
    monkeypatch.setattr(K, "ROW_SPLIT_MAX_POSITIONS", 1 << 30)  # one slice
    rng = np.random.default_rng(batch * 10 + channels)
    x = rng.standard_normal((batch, channels, size, size)).astype(dtype)
    w = rng.standard_normal((out_channels, channels, kernel, kernel)).astype(dtype)
    pad = kernel // 2
    geom = K.conv_geometry(Window((kernel, kernel), (stride, stride), (pad, pad), (pad, pad), (1, 1)), x.shape,
                           out_channels)
    taken = []
    real = K._weight_grad_by_channels
    monkeypatch.setattr(K, "_weight_grad_by_channels", lambda *a: taken.append(a[3]) or real(*a))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = TF.conv2d(tx, tw, stride=stride, padding=pad)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    (tdw,) = torch.autograd.grad(ty, (tw,), torch.tensor(gy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    if (K._direct_wide(geom, dtype) or K.direct_applies(geom, dtype) or K.winograd_tile(geom, dtype)
            or K._in_weight_layout(geom, dtype)):
        pytest.skip("another path computes this weight gradient")
    first = K.conv_backward_weight(gy, x, geom)
    assert taken == [min(parts, channels)]
    np.testing.assert_allclose(first, tdw.numpy(), **tol)
    assert np.array_equal(first, K.conv_backward_weight(gy, x, geom))
    monkeypatch.setattr(K, "batch_workers", lambda: 1)
    np.testing.assert_allclose(K.conv_backward_weight(gy, x, geom), first, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
