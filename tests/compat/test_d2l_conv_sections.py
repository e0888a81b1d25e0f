"""The convolution chapter's sections on the real d2l: cross-correlation by hand with ``d2l.corr2d``,
learning an edge kernel, padding and stride, several channels, pooling. Each section is written
once against a framework module (``torch`` is juanji or torch) and run on both; results compared
with ``assert_same`` (same structure, dtypes, shapes, values)."""

import numpy as np
import pytest

from tests.compat.d2l_support import d2l_on
from tests.test_compat_support import assert_same

torch_real = pytest.importorskip("torch")


def both(section, *args):
    """Run ``section(d2l, torch, *args)`` on juanji and on torch; return (juanji's result, torch's)."""
    d2l_j, d2l_t = d2l_on("juanji"), d2l_on("torch")
    return section(d2l_j, d2l_j.torch, *args), section(d2l_t, d2l_t.torch, *args)


def _numbers(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------- cross-correlation
def cross_correlation(d2l, torch):
    x = torch.arange(9.0).reshape((3, 3))
    k = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    return d2l.corr2d(x, k)


def edge_detection(d2l, torch):
    image = torch.ones((6, 8))
    image[:, 2:6] = 0
    kernel = torch.tensor([[1.0, -1.0]])
    edges = d2l.corr2d(image, kernel)
    return edges, d2l.corr2d(image.t(), kernel)  # a vertical-edge kernel sees nothing in the transpose


def conv_layer_from_scratch(d2l, torch, weight):
    nn = d2l.nn

    class Conv2D(nn.Module):
        def __init__(self, kernel_size):
            super().__init__()
            self.weight = nn.Parameter(torch.tensor(weight).reshape(kernel_size))
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return d2l.corr2d(x, self.weight) + self.bias
    layer = Conv2D((2, 2))
    x = torch.tensor(_numbers(5, 6, seed=1))
    y = layer(x)
    y.sum().backward()
    return y, layer.weight.grad, layer.bias.grad


def learn_the_edge_kernel(d2l, torch, start):
    """Fit a 1x2 kernel to (image, edges) by gradient descent on the squared error, updating the
    weight in place through ``.data`` as the chapter does."""
    nn = d2l.nn
    image = torch.ones((6, 8))
    image[:, 2:6] = 0
    target = d2l.corr2d(image, torch.tensor([[1.0, -1.0]]))
    conv = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
    x, y = image.reshape((1, 1, 6, 8)), target.reshape((1, 1, 6, 7))
    conv(x)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(start))
    losses = []
    for _ in range(10):
        loss = (conv(x) - y) ** 2
        conv.zero_grad()
        loss.sum().backward()
        conv.weight.data[:] -= 3e-2 * conv.weight.grad
        losses.append(loss.sum().item())
    return losses, conv.weight.data.reshape((1, 2))


def test_cross_correlation_by_hand():
    j, t = both(cross_correlation)
    assert_same(j, t)


def test_edge_detection():
    j, t = both(edge_detection)
    assert_same(j, t)


def test_a_conv_layer_from_corr2d_learns_like_torch():
    j, t = both(conv_layer_from_scratch, _numbers(4, seed=2))
    assert_same(j, t)


def test_learning_the_edge_kernel():
    j, t = both(learn_the_edge_kernel, _numbers(1, 1, 1, 2, seed=3))
    assert_same(j, t, rtol=1e-5, atol=1e-5)
    assert j[0][-1] < j[0][0] / 10  # the loss falls


# ---------------------------------------------------------------------------- padding and stride
def output_shape(d2l, torch, conv_args, side):
    nn = d2l.nn
    conv = nn.LazyConv2d(1, **conv_args)
    x = torch.rand(size=side)
    y = conv(x.reshape((1, 1) + x.shape))  # the batch and channel axes in front, dropped after
    return y.reshape(y.shape[2:]).shape


@pytest.mark.parametrize("conv_args, side", [
    (dict(kernel_size=3, padding=1), (8, 8)),
    (dict(kernel_size=(5, 3), padding=(2, 1)), (8, 8)),
    (dict(kernel_size=3, padding=1, stride=2), (8, 8)),
    (dict(kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)), (8, 8)),
    (dict(kernel_size=3, padding="same"), (7, 9)),
    (dict(kernel_size=4, padding=3, stride=3, dilation=2), (11, 10)),
])
def test_padding_and_stride_give_torchs_shapes(conv_args, side):
    j, t = both(output_shape, conv_args, side)
    assert_same(j, t)


# ---------------------------------------------------------------------------- channels
def corr2d_multi_in(d2l, x, k):
    return sum(d2l.corr2d(xi, ki) for xi, ki in zip(x, k))


def several_channels(d2l, torch, x, k):
    x, k = torch.tensor(x), torch.tensor(k)
    one_output = corr2d_multi_in(d2l, x, k[0])
    outputs = torch.stack([corr2d_multi_in(d2l, x, ki) for ki in k], 0)
    library = d2l.F.conv2d(x.unsqueeze(0), k).squeeze(0)
    return one_output, outputs, library


def one_by_one_as_matmul(d2l, torch, x, k):
    x, k = torch.tensor(x), torch.tensor(k)
    c_in, h, w = x.shape
    c_out = k.shape[0]
    as_matmul = torch.matmul(k.reshape((c_out, c_in)), x.reshape((c_in, h * w))).reshape((c_out, h, w))
    by_corr = torch.stack([corr2d_multi_in(d2l, x, ki) for ki in k], 0)
    return as_matmul, float((as_matmul - by_corr).abs().max()) < 1e-5


def test_several_input_and_output_channels():
    j, t = both(several_channels, _numbers(2, 5, 6, seed=4), _numbers(3, 2, 2, 2, seed=5))
    assert_same(j, t)
    np.testing.assert_allclose(j[1].numpy(), j[2].numpy(), rtol=1e-5, atol=1e-6)  # by hand == the library


def test_a_1x1_convolution_is_a_matrix_product():
    j, t = both(one_by_one_as_matmul, _numbers(3, 4, 4, seed=6), _numbers(2, 3, 1, 1, seed=7))
    assert_same(j, t)
    assert j[1] is True


# ---------------------------------------------------------------------------- pooling
def pool2d_by_hand(d2l, torch, x, size, mode):
    x = torch.tensor(x)
    ph, pw = size
    y = torch.zeros((x.shape[0] - ph + 1, x.shape[1] - pw + 1))
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            window = x[i: i + ph, j: j + pw]
            y[i, j] = window.max() if mode == "max" else window.mean()
    return y


def pooling_layers(d2l, torch):
    nn = d2l.nn
    x = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
    two_channels = torch.cat((x, x + 1), 1)
    return (nn.MaxPool2d(3)(x), nn.MaxPool2d(3, padding=1, stride=2)(x),
            nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(x),
            nn.MaxPool2d(3, padding=1, stride=2)(two_channels), nn.AvgPool2d(2, stride=1)(two_channels),
            nn.AvgPool2d(3, padding=1, stride=2)(x))


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size", [(2, 2), (1, 3)])
def test_pooling_by_hand(mode, size):
    j, t = both(pool2d_by_hand, _numbers(4, 5, seed=8), size, mode)
    assert_same(j, t)


def test_pooling_layers_padding_stride_channels():
    j, t = both(pooling_layers)
    assert_same(j, t)
