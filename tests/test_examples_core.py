"""The linear-regression-by-hand tutorial runs unchanged with ``import juanji as torch`` and learns
the true line; the very same source with ``import torch`` behaves the same way under PyTorch."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "linear_regression_by_hand.py"


def _load(source: str, name: str):
    module = type(sys)(name)
    module.__file__ = str(EXAMPLE)
    exec(compile(source, str(EXAMPLE), "exec"), module.__dict__)
    return module


def _error(true, learned):
    (true_w, true_b), (w, b) = true, learned
    w_err = np.abs(np.asarray(true_w.tolist()) - np.asarray(w.reshape(-1).tolist())).max()
    b_err = abs(true_b - b.item())
    return w_err, b_err


def test_linear_regression_example_converges_to_the_true_line():
    example = _load(EXAMPLE.read_text(), "linear_regression_by_hand")
    assert example.torch.__name__ == "juanji"
    true, learned = example.main(verbose=False)
    w_err, b_err = _error(true, learned)
    assert w_err < 0.01 and b_err < 0.01
    w, b = learned
    assert w.is_leaf and w.requires_grad and w.grad.abs().sum().item() == 0.0  # sgd() zeroed it


def test_the_same_source_runs_on_torch_and_converges_alike():
    pytest.importorskip("torch")
    source = EXAMPLE.read_text()
    assert source.count("\nimport juanji as torch\n") == 1
    example = _load(source.replace("\nimport juanji as torch\n", "\nimport torch\n"), "linear_regression_by_hand_torch")
    assert example.torch.__name__ == "torch"
    w_err, b_err = _error(*example.main(verbose=False))
    assert w_err < 0.01 and b_err < 0.01


def test_the_script_runs_from_the_command_line():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(EXAMPLE)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("epoch 3, loss ") for line in lines)
    final_loss = float([line for line in lines if line.startswith("epoch 3")][0].split()[-1])
    assert final_loss < 1e-3
    assert "error in estimating w: tensor([" in done.stdout
