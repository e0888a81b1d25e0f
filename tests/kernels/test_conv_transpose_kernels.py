"""The transposed-convolution kernels against torch, 1-d to 3-d, strided, dilated, grouped, with
output_padding, float32 and float64:

- ``conv_transpose_forward`` with a bias (on the im2col path col2im starts each plane from it; on
  the others it is added after);
- ``conv_transpose_backward``, both gradients in one call (on the im2col path the columns of the
  output gradient are gathered once for the input and the weight gradient); each gradient alone
  (x or w None) gives what the shared call gives."""

import numpy as np
import pytest

from juanji.kernels import conv as K
from juanji.kernels.window import Window

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# (input shape, weight shape (C_in, C_out/G, *k), stride, padding, output_padding, dilation, groups)
CASES = [
    ((3, 40, 8, 8), (40, 24, 4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1),
    ((2, 12, 7, 9), (12, 4, 3, 5), (2, 3), (1, 2), (1, 0), (1, 1), 2),
    ((2, 20, 5, 6), (20, 18, 3, 3), (2, 2), (0, 1), (1, 1), (2, 1), 1),
    ((3, 18, 11), (18, 20, 5), (3,), (2,), (2,), (1,), 1),
    ((2, 6, 3, 4, 5), (6, 20, 2, 3, 3), (2, 1, 2), (0, 1, 1), (1, 0, 0), (1, 1, 1), 2),
    ((9, 24, 6, 6), (24, 20, 3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),   # several chunks per slice
]
# (other paths of the forward's bias: one sample with a small plane, 1x1 (pointwise), depthwise, direct)
OTHER_PATHS = [
    ((1, 24, 3, 3), (24, 20, 3, 3), (2, 2), (1, 1), (0, 0), (1, 1), 1),
    ((2, 24, 4, 5), (24, 20, 1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),
    ((1, 24, 4, 5), (24, 10, 1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 2),
    ((2, 24, 20, 20), (24, 20, 1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 1),
    ((2, 6, 5, 5), (6, 1, 3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 6),
    ((2, 6, 9, 9), (6, 8, 3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1),
]


def _geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    window = Window(w_shape[2:], stride, padding, padding, dilation, transposed=True, output_padding=output_padding)
    out = window.output_spatial(x_shape[2:])
    return K.conv_geometry(window, (x_shape[0], w_shape[1] * groups) + out, x_shape[1], groups)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(CASES)))
def test_transposed_gradients_match_torch(index, dtype, monkeypatch):
    x_shape, w_shape, stride, padding, output_padding, dilation, groups = CASES[index]
    if index == len(CASES) - 1:
        monkeypatch.setattr(K, "CHUNK_BYTES", 1)  # two samples per chunk: the sums run over five chunks
        monkeypatch.setattr(K, "MIN_CHUNK_POSITIONS", 2 * 36)
    geom = _geometry(*CASES[index])
    if index == len(CASES) - 1:
        assert K._chunk_size(geom, np.dtype(dtype).itemsize) == 2
    assert K._im2col_path(geom, np.dtype(dtype))  # the shared-columns path is the one under test
    rng = np.random.default_rng(index)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1] * groups).astype(dtype)
    ty, (dx, dw), gy = _torch_transposed(x, w, b, CASES[index], rng)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K.conv_transpose_forward(x, w, geom, b), ty, **tol)
    gx, gw = K.conv_transpose_backward(gy, x, w, geom)
    gx = gx[tuple(slice(0, n) for n in x_shape)]  # (output_padding may give a few more windows)
    np.testing.assert_allclose(gx, dx, **tol)
    np.testing.assert_allclose(gw, dw, **tol)
    gx_alone, none = K.conv_transpose_backward(gy, None, w, geom)
    none2, gw_alone = K.conv_transpose_backward(gy, x, None, geom)
    assert none is None and none2 is None
    np.testing.assert_allclose(gx_alone[tuple(slice(0, n) for n in x_shape)], gx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gw_alone, gw, rtol=1e-6, atol=1e-6)


def _torch_transposed(x, w, b, case, rng):
    """torch's output, (grad x, grad w) for a random output gradient, and that gradient."""
    _, _, stride, padding, output_padding, dilation, groups = case
    fn = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}[len(stride)]
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = fn(tx, tw, torch.tensor(b), stride, padding, output_padding, groups, dilation)
    gy = rng.standard_normal(tuple(ty.shape)).astype(x.dtype)
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    return ty.detach().numpy(), (dx.numpy(), dw.numpy()), gy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(OTHER_PATHS)))
def test_transposed_forward_bias_on_the_other_paths(index, dtype):
    case = OTHER_PATHS[index]
    x_shape, w_shape, groups = case[0], case[1], case[-1]
    rng = np.random.default_rng(100 + index)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1] * groups).astype(dtype)
    geom = _geometry(*case)
    ty, (dx, dw), gy = _torch_transposed(x, w, b, case, rng)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K.conv_transpose_forward(x, w, geom, b), ty, **tol)
    gx, gw = K.conv_transpose_backward(gy, x, w, geom)
    np.testing.assert_allclose(gx, dx, **tol)
    np.testing.assert_allclose(gw, dw, **tol)


def test_refuses_a_gradient_of_the_wrong_shape():
    geom = _geometry(*CASES[0])
    x = np.zeros(CASES[0][0], np.float32)
    w = np.zeros(CASES[0][1], np.float32)
    with pytest.raises(ValueError, match="grad_output"):
        K.conv_transpose_backward(np.zeros((3, 24, 15, 16), np.float32), x, w, geom)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_shared_gradients_are_the_adjoints_of_the_forward(index):
    """Torch-free, float64: <conv_transpose(x, w), gy> = <x, grad x> = <w, grad w>."""
    x_shape, w_shape = CASES[index][:2]
    geom = _geometry(*CASES[index])
    rng = np.random.default_rng(50 + index)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    gy = rng.standard_normal(geom.input_shape())
    inner = np.vdot(K.conv_transpose_forward(x, w, geom), gy)
    gx, gw = K.conv_transpose_backward(gy, x, w, geom)
    assert np.isclose(np.vdot(x, gx[tuple(slice(0, n) for n in x_shape)]), inner, rtol=1e-10)
    assert np.isclose(np.vdot(w, gw), inner, rtol=1e-10)
