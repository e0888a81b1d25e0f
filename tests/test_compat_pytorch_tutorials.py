"""PyTorch's own tutorials run unchanged on juanji and follow PyTorch: "Learning PyTorch with
Examples" (the sin(x) cubic five ways, a custom autograd Function, a custom Module), the CIFAR-10
"Training a Classifier" loops, and pytorch/examples' MNIST script with Adadelta
(``examples/d2l_pytorch_tutorials.py``)."""

import re

import numpy as np
import pytest

import juanji
from tests.test_compat_support import assert_same, load_example, torch_or_skip

example = load_example("d2l_pytorch_tutorials")
common = load_example("d2l_common")

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _numbers(text):
    return [float(x) for x in NUMBER.findall(text)]


def _both(fn, *args, **kwargs):
    """Run ``fn`` on juanji (seeded), then on torch from the juanji run's initial weights."""
    torch = torch_or_skip()
    juanji.manual_seed(0)
    j = fn(juanji, *args, **kwargs)
    if "initial_state" in j:
        kwargs = dict(kwargs, init_state=j["initial_state"])
    t = fn(torch, *args, **kwargs)
    return j, t


@pytest.mark.parametrize("fn, kwargs", [
    (example.polynomial_autograd, {}),
    (example.polynomial_nn, {}),
    (example.polynomial_nn, {"optimizer": "RMSprop"}),
    (example.polynomial_legendre, {}),
    (example.polynomial_module, {}),
], ids=["autograd", "nn", "nn+RMSprop", "legendre-Function", "Module"])
def test_sine_fits_follow_torch(fn, kwargs):
    j, t = _both(fn, steps=150, **kwargs)
    # sums of 2000 float32 squares: a few ulps of drift per step
    np.testing.assert_allclose(j["losses"], t["losses"], rtol=2e-4)
    # the printed coefficients; the constant terms sit at ~1e-9 in the Legendre fit, so compare
    # against the scale of the largest coefficient
    j_coefficients, t_coefficients = np.array(_numbers(j["result"])), np.array(_numbers(t["result"]))
    assert j_coefficients.shape == t_coefficients.shape
    np.testing.assert_allclose(j_coefficients, t_coefficients, atol=2e-4 * np.abs(t_coefficients).max())
    assert j["losses"][-1] < j["losses"][0]
    if "parameter names" in j:
        assert j["parameter names"] == t["parameter names"] == ["a", "b", "c", "d"]


def test_cifar_tutorial_loops_follow_torch():
    j, t = _both(example.cifar_classifier, num_images=32, batch_size=4, epochs=1)
    assert_same(j["initial_state"], t["initial_state"])
    assert len(j["printed"]) == len(t["printed"]) == 1
    assert j["printed"][0].startswith("[1,     8] loss: ")
    np.testing.assert_allclose(_numbers(j["printed"][0]), _numbers(t["printed"][0]), atol=1.5e-3)
    assert_same(j["final_state"], t["final_state"], rtol=1e-3, atol=1e-6)
    assert sum(j["total_pred"].values()) == 32 and j["total_pred"] == t["total_pred"]
    assert j["correct_pred"] == t["correct_pred"] and j["accuracy"] == t["accuracy"]


def test_mnist_example_follows_torch_without_dropout():
    data = common.fashion_sample(64, 32)
    j, t = _both(example.mnist_example, data, epochs=2, batch_size=32, test_batch_size=32, dropout=(0.0, 0.0),
                 log_interval=1)
    assert_same(j["initial_state"], t["initial_state"])
    assert [line.split("Loss")[0] for line in j["printed"]] == [line.split("Loss")[0] for line in t["printed"]]
    assert j["printed"][0] == "Train Epoch: 1 [0/64 (0%)]\tLoss: " + j["printed"][0].split("Loss: ")[1]
    for j_line, t_line in zip(j["printed"], t["printed"]):
        np.testing.assert_allclose(_numbers(j_line), _numbers(t_line), rtol=1e-3, atol=1e-4, err_msg=t_line)
    for (j_loss, j_correct), (t_loss, t_correct) in zip(j["test results"], t["test results"]):
        assert j_loss == pytest.approx(t_loss, rel=1e-3) and abs(j_correct - t_correct) <= 1
    assert j["lr"] == t["lr"] == pytest.approx(0.49)
    # Adadelta's first steps have size ~sqrt(eps) = 1e-3 whatever the gradient, so float32
    # rounding in small gradients moves a weight by a visible fraction of a step (the optimiser
    # itself agrees with torch to 1e-12 in float64: test_compat_optim_adadelta)
    assert_same(j["final_state"], t["final_state"], rtol=2e-3, atol=1e-4)
    train_losses = [float(line.split("Loss: ")[1]) for line in j["printed"] if "Loss: " in line]
    assert train_losses[-1] < train_losses[0]  # Adadelta at lr=1 learns from the first steps
