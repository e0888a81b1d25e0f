"""d2l's convolution chapters run unchanged on juanji and give PyTorch's numbers: corr2d and
learning the edge kernel, padding/stride shapes, channels, pooling, LeNet's layer-by-layer
shapes, modern CNN blocks (VGG, NiN, Inception, ResNet, DenseNet) with their gradients and
BatchNorm statistics, batch norm from scratch, transposed convolution (``examples/d2l_cnn.py``)."""

import warnings

import numpy as np
import pytest

import juanji
from tests.test_compat_support import assert_same, load_example, torch_or_skip

example = load_example("d2l_cnn")


@pytest.mark.parametrize("section", example.SECTIONS, ids=lambda s: s.__name__)
def test_section_matches_torch(section):
    torch = torch_or_skip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on padding='same' with an even kernel
        t = section(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # juanji must not warn (overflow, invalid values) on these inputs
        j = section(juanji)
    # float32 sums in a different order: a few ulps, more after a chain of layers
    assert_same(j, t, path=section.__name__, rtol=2e-5, atol=2e-6)


def test_lenet_prints_the_books_shapes():
    printed = [line.replace("juanji", "torch") for line in example.lenet(juanji)["printed"]]
    assert printed == [
        "Conv2d output shape: \ttorch.Size([1, 6, 28, 28])",
        "Sigmoid output shape: \ttorch.Size([1, 6, 28, 28])",
        "AvgPool2d output shape: \ttorch.Size([1, 6, 14, 14])",
        "Conv2d output shape: \ttorch.Size([1, 16, 10, 10])",
        "Sigmoid output shape: \ttorch.Size([1, 16, 10, 10])",
        "AvgPool2d output shape: \ttorch.Size([1, 16, 5, 5])",
        "Flatten output shape: \ttorch.Size([1, 400])",
        "Linear output shape: \ttorch.Size([1, 120])",
        "Sigmoid output shape: \ttorch.Size([1, 120])",
        "Linear output shape: \ttorch.Size([1, 84])",
        "Sigmoid output shape: \ttorch.Size([1, 84])",
        "Linear output shape: \ttorch.Size([1, 10])",
    ]


def test_learned_kernel_approaches_the_edge_detector():
    result = example.learning_a_kernel(juanji)
    assert result["losses"][-1] < 0.01 * result["losses"][0]
    np.testing.assert_allclose(result["kernel"].numpy(), [[1.0, -1.0]], atol=0.1)


def test_padding_and_stride_shapes_follow_the_formula():
    """floor((n + 2p - d(k - 1) - 1) / s) + 1, and 'same' keeps the size."""
    shapes = {name: tuple(shape) for name, (shape, _) in example.padding_and_stride(juanji).items()}
    assert shapes == {"k=3, p=1": (8, 8), "k=(5, 3), p=(2, 1)": (8, 8), "k=3, p=1, s=2": (4, 4),
                      "k=(3, 5), p=(0, 1), s=(3, 4)": (2, 2), "k=4, padding='same'": (8, 8),
                      "k=3, dilation=2": (4, 4), "k=3, p=1, padding_mode='reflect'": (8, 8)}


def test_corr2d_gradient_through_item_assignment_matches_conv2d():
    """corr2d builds Y by writing scalars into a zeros tensor; autograd must see through it."""
    torch = torch_or_skip()

    def run(lib):
        X = lib.tensor(example.fixed((5, 6), 700), requires_grad=True)
        K = lib.tensor(example.fixed((2, 3), 701), requires_grad=True)
        Y = example.corr2d(lib, X, K)
        (Y * lib.tensor(example.fixed(tuple(Y.shape), 702))).sum().backward()
        return [Y, X.grad, K.grad]

    j, t = run(juanji), run(torch)
    assert_same(j, t, rtol=1e-5, atol=1e-6)
    X = juanji.tensor(example.fixed((5, 6), 700), requires_grad=True)
    K = juanji.tensor(example.fixed((2, 3), 701), requires_grad=True)
    Y = juanji.nn.functional.conv2d(X[None, None], K[None, None])[0, 0]
    (Y * juanji.tensor(example.fixed(tuple(Y.shape), 702))).sum().backward()
    assert_same([Y, X.grad, K.grad], t, rtol=1e-5, atol=1e-6)


def test_conv_and_pool_accept_unbatched_input_like_torch():
    torch = torch_or_skip()

    def run(lib):
        nn = lib.nn
        X = lib.tensor(example.fixed((3, 7, 7), 703))
        conv = example.fix_weights(lib, nn.Conv2d(3, 4, 3, padding=1))
        return [conv(X), nn.MaxPool2d(2)(X), nn.AvgPool2d(3, stride=2, padding=1)(X), nn.AdaptiveAvgPool2d(2)(X),
                example.fix_weights(lib, nn.ConvTranspose2d(3, 2, 2, stride=2))(X)]

    assert_same(run(juanji), run(torch), rtol=1e-5, atol=1e-6)


def test_conv_errors_name_the_layer_and_shapes():
    with pytest.raises(RuntimeError, match=r"expected input with 3 channels .*got input \[2, 1, 5, 5\]"):
        juanji.nn.Conv2d(3, 2, 3)(juanji.ones(2, 1, 5, 5))
    with pytest.raises(RuntimeError, match="output size is too small"):
        juanji.nn.MaxPool2d(5)(juanji.ones(1, 1, 4, 4))
