"""nn Modules the tutorials use that the audit found missing or different: ``nn.Softmax2d``
(added) against torch, and the module surface (reprs) of every layer family the d2l and
PyTorch tutorial scripts build."""

import numpy as np
import pytest

import juanji
from tests.helpers import compare_with_torch
from tests.test_compat_support import torch_or_skip


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5), (1, 1, 2, 2), (2, 5, 1, 7)])
def test_softmax2d_matches_torch(shape, dtype):
    torch = torch_or_skip()
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype) * 3
    compare_with_torch(lambda t: juanji.nn.Softmax2d()(t), lambda t: torch.nn.Softmax2d()(t), [x])


def test_softmax2d_sums_to_one_over_channels_and_gradchecks():
    from juanji.autograd import gradcheck
    x = juanji.tensor(np.random.default_rng(0).standard_normal((2, 3, 2, 2)), requires_grad=True)
    y = juanji.nn.Softmax2d()(x)
    np.testing.assert_allclose(y.sum(dim=1).detach().numpy(), 1.0, rtol=1e-12)
    assert gradcheck(juanji.nn.Softmax2d(), (x,))


@pytest.mark.parametrize("shape", [(2, 3), (5,), (1, 2, 3, 4, 5)])
def test_softmax2d_refuses_other_ranks_like_torch(shape):
    torch = torch_or_skip()
    for lib in (juanji, torch):
        with pytest.raises(ValueError, match=f"Softmax2d: expected input to be 3D or 4D, got {len(shape)}D instead"):
            lib.nn.Softmax2d()(lib.ones(shape))


LAYERS = [
    "Conv2d(3, 8, 3)", "Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, bias=False)",
    "Conv2d(4, 8, 3, padding='same', padding_mode='reflect')", "ConvTranspose2d(4, 2, 4, stride=2, padding=1)",
    "MaxPool2d(2)", "MaxPool2d(3, 2, 1)", "MaxPool2d(2, return_indices=True, ceil_mode=True)",
    "AvgPool2d(3, stride=2, padding=1, count_include_pad=False)", "AdaptiveAvgPool2d((1, 1))", "AdaptiveMaxPool2d(1)",
    "BatchNorm2d(8)", "BatchNorm1d(8, affine=False)", "LayerNorm(5)", "GroupNorm(2, 8)", "Dropout()", "Dropout2d(0.3)",
    "ReLU()", "ReLU(inplace=True)", "LeakyReLU(0.2, inplace=True)", "GELU(approximate='tanh')", "Softmax(dim=1)",
    "Softmax2d()", "LogSoftmax(dim=1)", "Flatten()", "Flatten(0, 1)", "Unflatten(1, (2, 5))", "Identity()",
    "Linear(3, 4, bias=False)", "Upsample(scale_factor=2, mode='bilinear')", "ZeroPad2d(2)",
    "CrossEntropyLoss(label_smoothing=0.1)", "MSELoss(reduction='sum')", "BCEWithLogitsLoss()", "HuberLoss(delta=2.0)",
]


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_reprs_match_torch(layer):
    torch = torch_or_skip()
    assert repr(eval("juanji.nn." + layer)) == repr(eval("torch.nn." + layer))
