"""Both gradients of a transposed convolution in one kernel call (``kernels.conv.conv_transpose_backward``:
on the im2col path the columns of the output gradient are gathered once for the input and the weight
gradient): against torch, 1-d to 3-d, strided, dilated, grouped, with output_padding, float32 and
float64; and each gradient alone (x or w None) gives what the shared call gives."""

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
    fn = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}[len(stride)]
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = fn(tx, tw, None, stride, padding, output_padding, groups, dilation)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    dx, dw = torch.autograd.grad(ty, (tx, tw), torch.tensor(gy))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(K.conv_transpose_forward(x, w, geom), ty.detach().numpy(), **tol)
    gx, gw = K.conv_transpose_backward(gy, x, w, geom)
    gx = gx[tuple(slice(0, n) for n in x_shape)]  # (output_padding may give a few more windows)
    np.testing.assert_allclose(gx, dx.numpy(), **tol)
    np.testing.assert_allclose(gw, dw.numpy(), **tol)
    gx_alone, none = K.conv_transpose_backward(gy, None, w, geom)
    none2, gw_alone = K.conv_transpose_backward(gy, x, None, geom)
    assert none is None and none2 is None
    np.testing.assert_allclose(gx_alone[tuple(slice(0, n) for n in x_shape)], gx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gw_alone, gw, rtol=1e-6, atol=1e-6)


def test_refuses_a_gradient_of_the_wrong_shape():
    geom = _geometry(*CASES[0])
    x = np.zeros(CASES[0][0], np.float32)
    w = np.zeros(CASES[0][1], np.float32)
    with pytest.raises(ValueError, match="grad_output"):
        K.conv_transpose_backward(np.zeros((3, 24, 15, 16), np.float32), x, w, geom)
