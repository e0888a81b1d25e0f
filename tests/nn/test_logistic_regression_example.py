"""examples/logistic_regression.py: it runs as a script and reaches >= 99 % accuracy, and its
training follows torch's step for step (same data, same initial weights, same losses)."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import juanji

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "logistic_regression.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("logistic_regression_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_prints_its_final_accuracy_of_at_least_99_percent():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    found = re.search(r"final accuracy: ([\d.]+)%", result.stdout)
    assert found, result.stdout
    assert float(found.group(1)) >= 99.0


def test_training_matches_torch_step_for_step():
    torch = pytest.importorskip("torch")
    example = _load_example()
    juanji.manual_seed(1)
    X, y = example.make_blobs(n_per_class=100)
    model = example.build_model()

    reference = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    with torch.no_grad():
        reference[0].weight.copy_(torch.tensor(model[0].weight.detach().numpy()))
        reference[0].bias.copy_(torch.tensor(model[0].bias.detach().numpy()))

    losses = example.train(model, X, y, epochs=30, log_every=0)

    tX, ty = torch.tensor(X.numpy()), torch.tensor(y.numpy())
    loss_fn = torch.nn.BCELoss()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    reference_losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_fn(reference(tX), ty)
        loss.backward()
        optimizer.step()
        reference_losses.append(loss.item())

    np.testing.assert_allclose(losses, reference_losses, rtol=1e-4)
    np.testing.assert_allclose(model[0].weight.detach().numpy(), reference[0].weight.detach().numpy(), rtol=1e-4)
    assert example.accuracy(model, X, y) >= 0.99
