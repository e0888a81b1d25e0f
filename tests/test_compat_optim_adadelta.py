"""torch.optim.Adadelta, the optimiser of PyTorch's MNIST example, matches torch step for step:
the same 20-step protocol as ``tests/optim/test_optimizers_vs_torch.py`` (whose helpers it
reuses), parameter groups, state_dict layout, defaults, errors, a float64 gradcheck-free
closed-form check, and the MNIST example's Adadelta + StepLR(gamma=0.7) schedule."""

import numpy as np
import pytest

import juanji
from tests.optim import test_optimizers_vs_torch as protocol
from tests.test_compat_support import torch_or_skip

CONFIGS = [
    {},
    dict(lr=0.5, rho=0.95),
    dict(lr=1.0, eps=1e-4, weight_decay=0.1),
    dict(lr=0.3, maximize=True),
    dict(lr=0.3, maximize=True, weight_decay=0.05, rho=0.5),
    dict(lr=1.0, rho=0.0),
    dict(lr=1.0, rho=1.0),
]


@pytest.mark.parametrize("dtype", protocol.DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("kwargs", CONFIGS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_twenty_steps_match_torch(kwargs, dtype):
    torch_or_skip()
    pair = protocol._make_pair("Adadelta", kwargs, dtype, seed=1)
    protocol._run(*pair, protocol._gradients(dtype, 0), range(protocol.STEPS))
    protocol._assert_same(*pair, dtype)


@pytest.mark.parametrize("dtype", protocol.DTYPES, ids=["float32", "float64"])
def test_parameter_groups_match_torch(dtype):
    torch_or_skip()
    pair = protocol._make_pair("Adadelta", dict(lr=0.5), dtype, seed=3, groups=protocol.GROUPS)
    protocol._run(*pair, protocol._gradients(dtype, 3), range(protocol.STEPS))
    protocol._assert_same(*pair, dtype)


def test_group_keys_defaults_repr_and_state_dict_match_torch():
    torch = torch_or_skip()
    j_opt = juanji.optim.Adadelta([juanji.zeros(2, requires_grad=True)])
    t_opt = torch.optim.Adadelta([torch.zeros(2, requires_grad=True)])
    assert {k: v for k, v in j_opt.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in t_opt.param_groups[0].items() if k != "params"}
    assert j_opt.defaults == t_opt.defaults
    assert repr(j_opt) == repr(t_opt)
    pair = protocol._make_pair("Adadelta", {}, np.float32, seed=5, groups=protocol.GROUPS)
    protocol._run(*pair, protocol._gradients(np.float32, 5), range(3))
    j_sd, t_sd = pair[2].state_dict(), pair[3].state_dict()
    assert j_sd["param_groups"] == t_sd["param_groups"]
    assert {i: sorted(s) for i, s in j_sd["state"].items()} == {i: sorted(s) for i, s in t_sd["state"].items()}


def test_state_appears_at_the_first_step_as_in_torch():
    w = juanji.ones(3, requires_grad=True)
    opt = juanji.optim.Adadelta([w])
    assert len(opt.state) == 0
    w.grad = juanji.ones(3)
    opt.step()
    assert sorted(opt.state[w]) == ["acc_delta", "square_avg", "step"] and opt.state[w]["step"].item() == 1.0


def test_one_step_by_the_formula():
    """v = (1 - rho) g^2, delta = sqrt(eps) / sqrt(v + eps) g, u = (1 - rho) delta^2, w -= lr delta."""
    g = np.array([2.0, -4.0, 0.5])
    w = juanji.tensor(np.array([1.0, -2.0, 0.25]), requires_grad=True)
    opt = juanji.optim.Adadelta([w], lr=0.7, rho=0.8, eps=1e-3)
    w.grad = juanji.tensor(g)
    opt.step()
    v = 0.2 * g * g
    delta = np.sqrt(1e-3) / np.sqrt(v + 1e-3) * g
    np.testing.assert_allclose(opt.state[w]["square_avg"].numpy(), v, rtol=1e-14)
    np.testing.assert_allclose(opt.state[w]["acc_delta"].numpy(), 0.2 * delta * delta, rtol=1e-14)
    np.testing.assert_allclose(w.detach().numpy(), [1.0, -2.0, 0.25] - 0.7 * delta, rtol=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (dict(rho=1.5), "Invalid rho value: 1.5"),
    (dict(rho=-0.1), "Invalid rho value: -0.1"),
    (dict(eps=-1e-6), "Invalid epsilon value: -1e-06"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
])
def test_bad_hyperparameters_are_refused_as_torch_does(kwargs, message):
    torch = torch_or_skip()
    for lib in (juanji, torch):
        with pytest.raises(ValueError, match=message):
            lib.optim.Adadelta([lib.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="Adadelta expects"):  # juanji also says which optimiser
        juanji.optim.Adadelta([juanji.zeros(2, requires_grad=True)], **kwargs)


def test_mnist_example_schedule_follows_torch():
    """PyTorch's examples/mnist: Adadelta(lr=1.0) with StepLR(step_size=1, gamma=0.7), stepped per epoch."""
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 6)), rng.integers(0, 3, 32)
    w0, b0 = rng.standard_normal((3, 6)) * 0.3, np.zeros(3)

    def run(lib):
        model = lib.nn.Linear(6, 3).double()
        model.load_state_dict({"weight": lib.tensor(w0), "bias": lib.tensor(b0)})
        optimizer = lib.optim.Adadelta(model.parameters(), lr=1.0)
        scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
        losses, lrs = [], []
        for epoch in range(4):
            for i in range(0, 32, 8):
                optimizer.zero_grad()
                output = lib.nn.functional.log_softmax(model(lib.tensor(X[i:i + 8])), dim=1)
                loss = lib.nn.functional.nll_loss(output, lib.tensor(y[i:i + 8]))
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            scheduler.step()
            lrs.append(scheduler.get_last_lr())
        return losses, lrs, model.weight.detach().numpy()

    (j_losses, j_lrs, j_w), (t_losses, t_lrs, t_w) = run(juanji), run(torch)
    np.testing.assert_allclose(j_losses, t_losses, rtol=1e-12)
    assert j_lrs == t_lrs
    np.testing.assert_allclose(j_w, t_w, rtol=1e-12)
    assert np.mean(j_losses[-4:]) < np.mean(j_losses[:4])  # the last epoch fits better than the first
