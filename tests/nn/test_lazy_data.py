"""``.data`` of a lazy layer's parameter before its first forward is torch's: an empty [0] tensor, so
that ``lazy.weight.data.normal_(...)`` (the d2l book's concise linear regression) does nothing and the
layer initialises itself when it materializes."""

import numpy as np
import pytest

import juanji

torch = pytest.importorskip("torch")

LAYERS = [("LazyLinear", (3,), (2, 4)), ("LazyConv2d", (2, 3), (1, 3, 5, 5)), ("LazyBatchNorm2d", (), (2, 3, 4, 4))]


@pytest.mark.parametrize("name, args, shape", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_data_of_an_uninitialized_parameter_is_an_empty_tensor(name, args, shape, dtype):
    lj = getattr(juanji.nn, name)(*args, dtype=getattr(juanji, dtype))
    lt = getattr(torch.nn, name)(*args, dtype=getattr(torch, dtype))
    for key, pt in lt.named_parameters():  # (a buffer's .data is the uninitialized buffer itself)
        dj, dt = getattr(lj, key).data, pt.data
        assert type(dj) is juanji.Tensor and tuple(dj.shape) == tuple(dt.shape) == (0,), key
        assert str(dj.dtype).split(".")[-1] == str(dt.dtype).split(".")[-1], key
        assert dj.requires_grad is dt.requires_grad is False


@pytest.mark.parametrize("name, args, shape", LAYERS)
def test_writing_into_it_changes_nothing_and_forward_still_initialises(name, args, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    results = {}
    for lib in (juanji, torch):
        lib.manual_seed(0)
        layer = getattr(lib.nn, name)(*args)
        layer.weight.data.normal_(0, 0.01)
        layer.bias.data.fill_(7.0)
        layer(lib.tensor(x))
        results[lib.__name__] = (np.array(layer.weight.detach().numpy()), np.array(layer.bias.detach().numpy()))
    for (wj, bj), (wt, bt) in [(results["juanji"], results["torch"])]:
        assert wj.shape == wt.shape and bj.shape == bt.shape
        assert not np.any(bj == 7.0) and not np.any(bt == 7.0)  # the fill went nowhere
        if name == "LazyBatchNorm2d":
            np.testing.assert_array_equal(wj, wt)  # ones and zeros
            np.testing.assert_array_equal(bj, bt)
        else:  # kaiming-uniform with a = sqrt(5): bound 1 / sqrt(fan_in) (not 0.01's normal)
            fan_in = int(np.prod(wt.shape[1:]))
            assert np.abs(wj).max() <= 1 / np.sqrt(fan_in) and np.abs(wj).max() > 0.03


def test_after_materializing_data_shares_the_parameters_storage():
    layer = juanji.nn.LazyLinear(2)
    layer(juanji.ones(1, 3))
    layer.weight.data.fill_(0.5)
    assert float(layer.weight.detach().sum()) == 3.0


def test_other_uses_before_materializing_still_fail_as_torchs():
    lj, lt = juanji.nn.LazyLinear(2), torch.nn.LazyLinear(2)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        lt.weight.detach()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        lj.weight.detach()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        lj.weight + 1
