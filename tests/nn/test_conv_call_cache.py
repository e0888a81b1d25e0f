"""A convolution call whose op, Window, shapes, dtypes and groups were checked before skips the
argument checks (``nn.functional.conv._CHECKED``): what changes any of those is checked again and
refused with the same message as on a first call."""

import numpy as np
import pytest
import torch as ref

import juanji
import juanji.nn.functional as F
from juanji.kernels.conv import conv_geometry
from juanji.nn.functional import conv as conv_functions


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def test_a_layer_called_again_uses_the_checked_geometry_and_matches_torch():
    juanji.manual_seed(0)
    layer = juanji.nn.Conv2d(3, 5, 3, padding=1)
    x = juanji.randn(2, 3, 6, 6)
    first = layer(x)
    second = layer(x)
    assert np.array_equal(first.detach().numpy(), second.detach().numpy())
    key = conv_functions._call_key("conv2d", x, layer.weight, layer.bias, layer._window_for(layer.weight), 1)
    batched, geometry = conv_functions._CHECKED[key]
    assert batched and geometry is conv_geometry(layer._window_for(layer.weight), (2, 3, 6, 6), 5, 1)
    expected = ref.nn.functional.conv2d(ref.tensor(x.numpy()), ref.tensor(layer.weight.detach().numpy()),
                                        ref.tensor(layer.bias.detach().numpy()), padding=1)
    np.testing.assert_allclose(second.detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_changed_shape_dtype_or_groups_is_checked_again():
    layer = juanji.nn.Conv2d(4, 4, 3)
    layer(juanji.randn(1, 4, 5, 5))
    kind, text = _message(lambda: layer(juanji.randn(1, 3, 5, 5)))
    assert kind is RuntimeError and "expected input with 4 channels" in text
    kind, text = _message(lambda: layer(juanji.randn(1, 4, 2, 2)))
    assert kind is RuntimeError and "smaller than the (dilated) kernel size" in text
    kind, text = _message(lambda: layer(juanji.randn(1, 4, 5, 5, dtype=juanji.float64)))
    assert kind is RuntimeError and "same dtype" in text
    w = juanji.randn(4, 4, 3, 3)
    F.conv2d(juanji.randn(1, 4, 5, 5), w)
    kind, text = _message(lambda: F.conv2d(juanji.randn(1, 4, 5, 5), w, groups=2))
    assert kind is RuntimeError and "expected input with 8 channels" in text
    kind, text = _message(lambda: F.conv2d(juanji.randn(1, 4, 5, 5), w, groups=0))
    assert kind is RuntimeError and "non-positive groups" in text


def test_unbatched_inputs_and_non_tensor_arguments():
    layer = juanji.nn.Conv1d(2, 3, 3)
    x = juanji.randn(2, 7)
    y1, y2 = layer(x), layer(x)
    assert tuple(y2.shape) == (3, 5) and np.array_equal(y1.detach().numpy(), y2.detach().numpy())
    assert conv_functions._call_key("conv1d", np.zeros((2, 7)), layer.weight, None, None, 1) is None
    kind, _ = _message(lambda: F.conv1d(np.zeros((1, 2, 7), np.float32), layer.weight))
    assert kind in (TypeError, AttributeError, RuntimeError)


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(conv_functions, "_CHECKED_MAX", 3)
    monkeypatch.setattr(conv_functions, "_CHECKED", {})
    layer = juanji.nn.Conv2d(1, 1, 1)
    for size in range(1, 8):
        layer(juanji.randn(1, 1, size, size))
        assert len(conv_functions._CHECKED) <= 3
