"""examples/init_experiment.py: the 100-layer MLP activation-std experiment behaves as the
textbook says, on juanji and (the very same script with torch imported) on torch."""

import math
import pathlib
import warnings

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "init_experiment.py"


def _load(source: str, name: str) -> dict:
    namespace = {"__name__": name, "__file__": str(SCRIPT)}
    exec(compile(source, str(SCRIPT), "exec"), namespace)
    return namespace


def _results(namespace):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow of the first experiment
        return namespace["run"](depth=100, width=256, batch=128)


def _check_behaviour(namespace, results):
    names = list(namespace["EXPERIMENTS"])
    exploding, scaled_tanh, xavier_tanh, kaiming_relu = (results[n] for n in names)
    first_bad = namespace["first_non_finite_layer"]

    # 1. N(0, 1) weights, no activation: x16 per layer (sqrt(256)), float32 overflows near layer 32
    broken = first_bad(exploding)
    assert broken is not None and 25 <= broken <= 40, broken
    for layer in range(1, 20):
        assert 10 < exploding[layer] / exploding[layer - 1] < 25
    assert all(math.isnan(s) for s in exploding[broken - 1:])

    # 2. N(0, 1/n) with tanh: finite, shrinking slowly, never exploding
    assert first_bad(scaled_tanh) is None
    assert all(0.01 < s < 1.0 for s in scaled_tanh)
    assert scaled_tanh[-1] < scaled_tanh[0]

    # 3. Xavier with tanh's gain: a steady scale
    assert first_bad(xavier_tanh) is None
    assert all(0.3 < s < 1.0 for s in xavier_tanh)
    assert max(xavier_tanh[50:]) / min(xavier_tanh[50:]) < 1.5

    # 4. Kaiming with relu: near 1 all the way down
    assert first_bad(kaiming_relu) is None
    assert all(0.2 < s < 2.5 for s in kaiming_relu)


def test_init_experiment_on_juanji():
    namespace = _load(SCRIPT.read_text(), "init_experiment_juanji")
    assert namespace["torch"].__name__ == "juanji"
    results = _results(namespace)
    _check_behaviour(namespace, results)
    text = namespace["report"](results)
    assert "overflow to inf/nan at layer" in text and "kaiming_normal_" in text


def test_same_script_behaves_the_same_on_torch():
    pytest.importorskip("torch")
    source = SCRIPT.read_text()
    assert "import juanji as torch\n" in source and "from juanji import nn\n" in source
    source = source.replace("import juanji as torch\n", "import torch\n").replace("from juanji import nn\n",
                                                                                  "from torch import nn\n")
    namespace = _load(source, "init_experiment_torch")
    assert namespace["torch"].__name__ == "torch"
    _check_behaviour(namespace, _results(namespace))


def test_main_prints_the_table(capsys, monkeypatch):
    namespace = _load(SCRIPT.read_text(), "init_experiment_main")
    monkeypatch.setitem(namespace, "DEPTH", 40)
    monkeypatch.setitem(namespace, "BATCH", 32)
    namespace["run"].__defaults__ = (40, 256, 32)
    namespace["main"]()
    out = capsys.readouterr().out
    assert "layer 30" in out and "xavier_uniform_" in out and "overflow" in out
