"""Module.load_state_dict takes values from any framework: juanji Tensors, NumPy arrays, objects
with ``__array__`` or ``.numpy()`` (a real torch tensor); anything else is a clear error. A 0-dim
buffer takes the shape-[1] tensor of old checkpoints, as in torch."""

import numpy as np
import pytest

import juanji
from juanji import nn

torch = pytest.importorskip("torch")


def _pair():
    torch.manual_seed(0)
    t_net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.Flatten(),
                                torch.nn.Linear(12, 2))
    with torch.no_grad():
        t_net[1].running_mean.uniform_(-1, 1)
        t_net[1].num_batches_tracked.fill_(7)
    j_net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 2))
    return t_net.eval(), j_net.eval()


class _ArrayLike:
    def __init__(self, arr):
        self.arr = arr

    def __array__(self, dtype=None, copy=None):
        return self.arr


@pytest.mark.parametrize("source", ["torch", "torch requiring grad", "numpy", "__array__", "juanji"])
def test_values_from_every_source_load_and_give_torchs_outputs(source):
    t_net, j_net = _pair()
    state = t_net.state_dict(keep_vars=source == "torch requiring grad")
    convert = {"torch": lambda v: v, "torch requiring grad": lambda v: v, "numpy": lambda v: v.detach().numpy(),
               "__array__": lambda v: _ArrayLike(v.detach().numpy()),
               "juanji": lambda v: juanji.tensor(v.detach().numpy())}[source]
    j_net.load_state_dict({k: convert(v) for k, v in state.items()})
    assert j_net[1].num_batches_tracked.item() == 7
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = t_net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(j_net(juanji.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    # copied, not aliased: changing the source afterwards leaves the module alone
    assert not np.shares_memory(j_net[0].weight._data, state["0.weight"].detach().numpy())


@pytest.mark.parametrize("bad, named", [([1.0, 2.0, 3.0], "builtins.list"), ("weights", "builtins.str"),
                                         (object(), "builtins.object")])
def test_other_values_are_a_clear_error_naming_the_key_and_type(bad, named):
    _, j_net = _pair()
    state = j_net.state_dict()
    state["3.bias"] = bad
    with pytest.raises(RuntimeError) as error:
        j_net.load_state_dict(state)
    message = str(error.value)
    assert 'While copying the parameter named "3.bias"' in message and named in message
    assert "expected a juanji Tensor, a NumPy array or an array-like object" in message
    assert "torch.Tensor" not in message.split("got")[1]  # no "expected torch.Tensor ... received torch.Tensor"


def test_a_torch_dtype_without_a_numpy_twin_is_a_clear_error():
    _, j_net = _pair()
    state = j_net.state_dict()
    state["3.bias"] = torch.zeros(2, dtype=torch.bfloat16)
    with pytest.raises(RuntimeError, match=r'"3.bias": could not read the torch.Tensor as an array: .*BFloat16'):
        j_net.load_state_dict(state)


def test_a_shape_1_tensor_loads_into_a_0_dim_buffer_as_in_torch():
    t_bn, j_bn = torch.nn.BatchNorm1d(2), nn.BatchNorm1d(2)
    state = {k: v.clone() for k, v in t_bn.state_dict().items()}
    state["num_batches_tracked"] = torch.tensor([5])
    t_bn.load_state_dict(state)
    j_bn.load_state_dict(state)
    assert j_bn.num_batches_tracked.shape == () and j_bn.num_batches_tracked.item() == 5
    assert t_bn.num_batches_tracked.item() == 5
    state["num_batches_tracked"] = np.array([6])
    j_bn.load_state_dict(state)
    assert j_bn.num_batches_tracked.item() == 6
