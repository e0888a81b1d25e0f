"""examples/explain_lenet.py runs: it prints LeNet's summary and writes its three pictures."""

import importlib.util
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "explain_lenet.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("explain_lenet", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_explain_lenet_prints_the_summary_and_writes_the_pictures(tmp_path, capsys):
    pytest.importorskip("PIL")
    example = _load_example()
    pictures = example.main([str(tmp_path), "--train-steps", "1", "--variant", "classic"])
    out = capsys.readouterr().out
    assert "training 1 steps: last loss" in out
    assert "Sigmoid" in out and "AvgPool2d" in out
    assert "Parameters: 61,706 (61,706 trainable, 0 non-trainable)" in out
    assert "MACs: 416,520" in out
    for name in ("kernels", "feature_maps", "receptive_field"):
        path = tmp_path / f"{name}.png"
        assert pictures[name].path == str(path) and path.stat().st_size > 1000
        assert str(path) in out
    assert (pictures["kernels"].rows, pictures["kernels"].cols) == (2, 3)
    assert (pictures["feature_maps"].rows, pictures["feature_maps"].cols) == (5, 16)
