"""d2l chapter 6 (the builders' guide) runs unchanged on juanji and gives what PyTorch gives:
custom Modules, Sequential variants, parameter access and sharing, buffers, initialisation,
save/load (``examples/d2l_builders_guide.py``), plus the Module idioms around them."""

import numpy as np
import pytest

import juanji
from tests.test_compat_support import assert_same, load_example, torch_or_skip

example = load_example("d2l_builders_guide")

# lazy_initialization has its own test below
WORKING_SECTIONS = [s for s in example.SECTIONS if s is not example.lazy_initialization]
# reprs of results name their grad_fn; juanji's names differ (see test_compat_autograd)
NO_GRAD_FN_REPR = {"layers_and_modules", "parameter_access", "nested_blocks", "custom_layers"}


@pytest.mark.parametrize("section", WORKING_SECTIONS, ids=lambda s: s.__name__)
def test_section_matches_torch(section):
    torch = torch_or_skip()
    assert_same(section(juanji), section(torch), path=section.__name__, rtol=1e-5, atol=1e-6)


def test_lazy_initialization():
    """nn.LazyLinear: '<UninitializedParameter>' before the first batch, Linear(20, 256) after."""
    torch = torch_or_skip()
    assert_same(example.lazy_initialization(juanji), example.lazy_initialization(torch))


def test_load_state_dict_errors_match_torch():
    torch = torch_or_skip()

    def message(lib, state):
        with pytest.raises(RuntimeError) as error:
            lib.nn.Linear(2, 2).load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        return str(error.value).replace("juanji", "torch")

    for state in ({"weight": np.ones((3, 2), np.float32), "bias": np.ones(2, np.float32)},
                  {"weight": np.ones((2, 2), np.float32)},
                  {"weight": np.ones((2, 2), np.float32), "bias": np.ones(2, np.float32), "extra": np.ones(1)}):
        assert message(juanji, state) == message(torch, state)


def test_load_state_dict_non_strict_reports_missing_and_unexpected_keys():
    torch = torch_or_skip()

    def run(lib):
        report = lib.nn.Linear(2, 2).load_state_dict({"weight": lib.ones(2, 2), "other": lib.ones(1)}, strict=False)
        return [report.missing_keys, report.unexpected_keys, repr(report)]

    assert_same(run(juanji), run(torch))


def test_train_eval_and_freezing_propagate_to_children():
    torch = torch_or_skip()

    def run(lib):
        nn = lib.nn
        net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.ReLU()))
        flags = [net.eval() is net, [m.training for m in net.modules()]]
        net.train()
        flags.append([m.training for m in net.modules()])
        net[0].requires_grad_(False)
        flags.append([p.requires_grad for p in net.parameters()])
        flags.append(net.to(lib.float64)[0].weight.dtype == lib.float64)
        return flags

    assert_same(run(juanji), run(torch))


def test_parameter_repr_and_arithmetic():
    torch = torch_or_skip()

    def run(lib):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
        return [repr(p), type(p.data).__name__, type(p * 2).__name__, p.is_leaf, (p * 2).is_leaf,
                isinstance(p, lib.Tensor)]

    assert_same(run(juanji), run(torch))


def test_shared_layer_gradient_is_the_sum_over_both_uses():
    """Reading tied_parameters' gradient another way: with the shared layer untied into two
    copies holding the same values, the tied gradient is the sum of the two copies' gradients."""
    nn = juanji.nn
    tied_grad = example.tied_parameters(juanji)["shared grad (both uses add up)"]

    def seven_layers(shared=None):
        middle = [shared, shared] if shared is not None else [nn.Linear(8, 8), nn.Linear(8, 8)]
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), middle[0], nn.ReLU(), middle[1], nn.ReLU(), nn.Linear(8, 1))

    tied = example.fix_weights(juanji, seven_layers(nn.Linear(8, 8)))  # the example's weights (same seeds)
    untied = seven_layers()
    untied.load_state_dict(tied.state_dict())  # keys 0, 2, 4, 6 in both; 2 and 4 hold the same values
    assert juanji.equal(untied[2].weight, untied[4].weight)
    untied(juanji.tensor(example.fixed((2, 4), 103))).sum().backward()
    summed = (untied[2].weight.grad + untied[4].weight.grad).numpy()
    assert np.abs(summed).max() > 0
    np.testing.assert_allclose(tied_grad.numpy(), summed, rtol=1e-5, atol=1e-7)


def test_save_and_load_round_trip_keeps_dtypes_and_requires_grad(tmp_path):
    net = juanji.nn.Sequential(juanji.nn.Linear(3, 2), juanji.nn.BatchNorm1d(2))
    juanji.save({"model": net.state_dict(), "epoch": 3, "steps": [1, 2]}, tmp_path / "checkpoint.pt")
    loaded = juanji.load(tmp_path / "checkpoint.pt")
    assert loaded["epoch"] == 3 and loaded["steps"] == [1, 2]
    for name, value in net.state_dict().items():
        assert loaded["model"][name].dtype == value.dtype and juanji.equal(loaded["model"][name], value)
    assert loaded["model"]["1.num_batches_tracked"].dtype == juanji.int64


def test_loading_a_pytorch_checkpoint_reads_its_weights(tmp_path):
    """juanji.load reads torch.save files (tests/test_torch_files.py has the rest)."""
    torch = torch_or_skip()
    state = torch.nn.Linear(2, 2).state_dict()
    torch.save(state, tmp_path / "torch.pt")
    net = juanji.nn.Linear(2, 2)
    net.load_state_dict(juanji.load(tmp_path / "torch.pt"))
    assert net.weight.tolist() == state["weight"].tolist() and net.bias.tolist() == state["bias"].tolist()
