"""d2l 3.4/3.5/3.7 (linear regression from scratch, concise, weight decay) run unchanged on
juanji and follow PyTorch step for step from the same data and initial weights
(``examples/d2l_linear_regression.py``)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import juanji
from tests.test_compat_support import EXAMPLES, assert_same, load_example, torch_or_skip

example = load_example("d2l_linear_regression")

# training trajectories: float32 rounding differences compound over a few hundred steps
TRAJECTORY = dict(rtol=2e-4, atol=1e-6)


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2)).astype(np.float32)
    y = (X @ np.array(example.TRUE_W, np.float32) + example.TRUE_B
         + 0.01 * rng.standard_normal(n).astype(np.float32)).reshape(-1, 1).astype(np.float32)
    return X, y


def _both(fn, arrays, **kwargs):
    """Run ``fn`` on juanji, then on torch from the juanji run's initial weights."""
    torch = torch_or_skip()
    juanji.manual_seed(0)  # the same initial weights every run
    j = fn(juanji, *[juanji.tensor(a) for a in arrays], **kwargs)
    t = fn(torch, *[torch.tensor(a) for a in arrays], init_state=j["initial_state"], **kwargs)
    return j, t


def _printed_losses(result):
    """The 'epoch k, loss x' lines as (k, x): the last printed digit may differ in float32."""
    return [(int(line.split()[1].rstrip(",")), float(line.split()[-1])) for line in result.pop("printed")]


def test_scratch_version_follows_torch_step_for_step():
    j, t = _both(example.linear_regression_scratch, _data(n=1000))
    assert_same(j, t, **TRAJECTORY)
    assert j["epoch_losses"][-1] < 1e-3
    assert np.abs(j["error in estimating w"].detach().numpy()).max() < 0.01


@pytest.mark.parametrize("loss_name", ["MSELoss", "HuberLoss", "L1Loss", "SmoothL1Loss"])
def test_concise_version_follows_torch_step_for_step(loss_name):
    j, t = _both(example.linear_regression_concise, _data(), shuffle=False, loss_name=loss_name)
    j_printed, t_printed = _printed_losses(j), _printed_losses(t)
    assert [k for k, _ in j_printed] == [1, 2, 3] and [k for k, _ in t_printed] == [1, 2, 3]
    np.testing.assert_allclose([x for _, x in j_printed], [x for _, x in t_printed], rtol=1e-5, atol=2e-6)
    assert_same(j, t, **TRAJECTORY)
    assert j["batches per epoch"] == 30


def test_concise_version_initialises_as_the_book_says():
    torch = torch_or_skip()
    torch.manual_seed(0)
    juanji.manual_seed(0)
    net_state = example.linear_regression_concise(juanji, *[juanji.tensor(a) for a in _data(n=10)], num_epochs=0)
    weight, bias = net_state["initial_state"]["0.weight"], net_state["initial_state"]["0.bias"]
    assert weight.shape == (1, 2) and weight.dtype == np.float32 and np.abs(weight).max() < 0.05  # N(0, 0.01)
    assert bias.tolist() == [0.0]


def test_concise_version_with_shuffling_converges_like_torch():
    """With shuffle=True the two libraries draw different orders, so compare where they end up."""
    torch = torch_or_skip()
    X, y = _data(n=1000)
    juanji.manual_seed(0)
    torch.manual_seed(0)
    j = example.linear_regression_concise(juanji, juanji.tensor(X), juanji.tensor(y))
    t = example.linear_regression_concise(torch, torch.tensor(X), torch.tensor(y), init_state=j["initial_state"])
    for result in (j, t):
        assert result["epoch_losses"][-1] < 2e-4
        assert np.abs(result["error in estimating w"].numpy()).max() < 3e-3
    np.testing.assert_allclose(j["w"].numpy(), t["w"].numpy(), atol=2e-3)


def test_the_same_shuffle_seed_gives_the_same_juanji_run():
    X, y = _data(n=200)
    runs = []
    for _ in range(2):
        juanji.manual_seed(3)
        runs.append(example.linear_regression_concise(juanji, juanji.tensor(X), juanji.tensor(y), num_epochs=1))
    assert runs[0]["step_losses"] == runs[1]["step_losses"]


@pytest.mark.parametrize("wd", [0, 3])
def test_weight_decay_parameter_groups_follow_torch(wd):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 200)).astype(np.float32)
    y = (X @ np.full(200, 0.01, np.float32) + 0.05 + 0.01 * rng.standard_normal(20)).reshape(-1, 1)
    j, t = _both(example.weight_decay_concise, (X, y.astype(np.float32)), wd=wd, num_epochs=5)
    assert_same(j, t, rtol=5e-4, atol=1e-6)
    assert j["group weight decays"] == [wd, 0]


def test_weight_decay_shrinks_the_weights():
    rng = np.random.default_rng(1)
    X = juanji.tensor(rng.standard_normal((20, 200)).astype(np.float32))
    y = juanji.tensor((0.01 * rng.standard_normal((20, 1))).astype(np.float32))
    juanji.manual_seed(0)
    plain = example.weight_decay_concise(juanji, X, y, wd=0, num_epochs=10)
    decayed = example.weight_decay_concise(juanji, X, y, wd=3, num_epochs=10, init_state=plain["initial_state"])
    assert decayed["L2 norm of w"] < 0.9 * plain["L2 norm of w"]


def test_the_script_runs_and_recovers_the_line():
    env = dict(os.environ, PYTHONPATH=str(EXAMPLES.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(EXAMPLES / "d2l_linear_regression.py")], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    final_losses = [float(line.split()[-1]) for line in done.stdout.splitlines() if line.startswith("epoch 3,")]
    assert len(final_losses) == 2 and max(final_losses) < 1e-3
