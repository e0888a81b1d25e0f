"""juanji --version, juanji models, and juanji summary's depth / columns / checkpoint options."""

from __future__ import annotations

import pytest

import juanji
from juanji.cli import EXIT_BAD_INPUT, main
from juanji.explain import summary
from juanji.vision import models
from tests.training.test_run_habits import SMALL, one_error_line, run_in_process


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"juanji {juanji.__version__}"


def test_models_lists_every_zoo_model_with_its_parameters_and_input(capsys):
    code, out, _ = run_in_process(capsys, "models")
    assert code == 0
    lines = out.strip().splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert sorted(rows) == models.list_models()
    for name in ("lenet5", "resnet20", "cnnnet"):
        expected = sum(p.numel() for p in models.get_model(name).parameters())
        assert rows[name][1] == f"{expected:,}"
    assert rows["lenet5"][2] == "1x28x28" and rows["resnet20"][2] == "3x32x32" and rows["resnet18"][2] == "3x224x224"
    assert rows["vgg16"][1] == "138,357,544"   # torchvision's count, without drawing the weights
    assert lines[-1].startswith(f"{len(rows)} models")


def test_summary_depth_hides_the_inner_modules_and_sums_their_cost():
    full = summary(models.resnet20(), (3, 32, 32))
    shallow = summary(models.resnet20(), (3, 32, 32), depth=1)
    text = str(shallow).splitlines()
    layer1 = next(line for line in text if line.startswith("layer1 "))
    inner = [r for r in full.rows if r["name"].startswith("layer1.") and r["leaf"]]
    assert f"{sum(r['macs'] for r in inner):,}" in layer1
    assert f"{sum(r['params'] for r in full.rows if r['name'].startswith('layer1.')):,}" in layer1
    assert not any(line.lstrip().startswith("layer1.0") for line in text)
    assert shallow.totals == full.totals and len(shallow.rows) == len(full.rows)


def test_summary_columns_choose_what_is_shown():
    s = summary(models.lenet5(), (1, 28, 28), columns="input,output,params,memory")
    header = str(s).splitlines()[2].split()
    assert header == ["Layer", "Type", "Input", "shape", "Output", "shape", "Params", "Output", "memory"]
    first = str(s).splitlines()[4]
    assert "[1, 1, 28, 28]" in first and "[1, 6, 28, 28]" in first and "18.38 KiB" in first
    with pytest.raises(ValueError, match="unknown column\\(s\\) 'weights'; choose from input, output"):
        summary(models.lenet5(), (1, 28, 28), columns="output,weights")


def test_summary_of_a_checkpoint_or_run_folder_uses_its_model_and_input(capsys, tmp_path):
    code, _, _ = run_in_process(capsys, "train", "--epochs", "1", "--out", tmp_path / "run", *SMALL)
    assert code == 0
    for target in (tmp_path / "run", tmp_path / "run" / "last.juanji"):
        code, out, err = run_in_process(capsys, "summary", target, "--plain", "--depth", "1", "--columns",
                                        "output,params")
        assert code == 0, err
        assert out.startswith("lenet5 from ") and "on input [1, 1, 28, 28]" in out
        assert "Parameters: 61,706" in out and "MACs" not in out.splitlines()[2]
    code, _, err = run_in_process(capsys, "summary", tmp_path / "run", "--model-arg", "variant=classic")
    assert code == EXIT_BAD_INPUT and "--model-arg applies to zoo names" in one_error_line(err)
    code, _, err = run_in_process(capsys, "summary", "lenet5", "--depth", "0")
    assert code == EXIT_BAD_INPUT and "depth must be a positive int" in one_error_line(err)


def test_the_command_sets_no_openmp_wait_policy(capsys, monkeypatch):
    """The kernels start no OpenMP threads, so the command leaves OMP_WAIT_POLICY alone (it once
    set it in main(), a process-wide change for any library the process loads after)."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    code, _, err = run_in_process(capsys, "summary", "lenet5")
    assert code == 0, err
    import os
    assert "OMP_WAIT_POLICY" not in os.environ
