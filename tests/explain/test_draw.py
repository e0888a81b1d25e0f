"""juanji draw: every diagram's numbers are what juanji (and torch) compute, the cells show them,
each is one command and one example script (tests read numbers, not pixels)."""

from __future__ import annotations

import math
import os
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from juanji.explain.draw import DIAGRAMS, draw
from juanji.explain.draw._canvas import format_value
from tests.training.test_run_habits import one_error_line, run_in_process

torch = pytest.importorskip("torch")
TF = torch.nn.functional
ROOT = Path(__file__).resolve().parents[2]
X = np.arange(9.0).reshape(3, 3)
K = np.arange(4.0).reshape(2, 2)


def _torch(fn, *arrays, **kwargs) -> np.ndarray:
    return fn(*[torch.tensor(a) for a in arrays], **kwargs).numpy()


def _cells_show_the_grids(diagram):
    """Every number written in a cell is the grid's value there (blank cells aside)."""
    for name, values in diagram.grids.items():
        if name in diagram.texts:
            for i, row in enumerate(diagram.texts[name]):
                for j, text in enumerate(row):
                    assert text in ("", format_value(values[i, j])), (name, i, j, text)
    with Image.open(diagram.path) as image:
        assert image.format == "PNG" and min(image.size) >= 200


def test_cross_correlation_is_d2ls_figure(tmp_path):
    d = draw("correlation", tmp_path / "c.png")
    assert d.grids["output"].tolist() == [[19, 25], [37, 43]]
    assert np.array_equal(d.grids["output"], _torch(TF.conv2d, X[None, None], K[None, None])[0, 0])
    assert d.texts["output"] == [["19", "25"], ["37", "43"]] and d.texts["input"][0] == ["0", "1", "2"]
    assert d.captions[0] == "0×0 + 1×1 + 3×2 + 4×3 = 19"
    _cells_show_the_grids(d)


def test_numbers_given_on_the_command_line_are_the_ones_computed(capsys, tmp_path):
    code, out, err = run_in_process(capsys, "draw", "correlation", "--input", "1 2 3 4; 5 6 7 8; 9 10 11 12",
                                    "--kernel", "1 0; 0 -1", "--out", tmp_path / "mine.png")
    assert code == 0, err
    assert out.startswith(f"correlation: {tmp_path / 'mine.png'}  (1×1 + 2×0 + 5×0 + 6×-1 = -5)")
    x = np.arange(1.0, 13.0).reshape(3, 4)
    expected = _torch(TF.conv2d, x[None, None], np.array([[[[1.0, 0.0], [0.0, -1.0]]]]))[0, 0]
    assert expected.tolist() == [[-5.0] * 3] * 2
    code, _, err = run_in_process(capsys, "draw", "correlation", "--input", "1 2; 3")
    assert code == 2 and "expected rows of equal length" in one_error_line(err)
    code, _, err = run_in_process(capsys, "draw", "init", "--kernel", "1 2; 3 4", "--out", tmp_path / "i.png")
    assert code == 2 and "draw init: takes no K" in one_error_line(err)
    code, _, err = run_in_process(capsys, "draw", "spiral")
    assert code == 2 and "unknown diagram 'spiral'" in one_error_line(err)


@pytest.mark.parametrize("padding, stride", [((1, 1), (3, 2)), ((0, 0), (1, 1)), ((2, 1), (1, 2))])
def test_padding_and_stride(tmp_path, padding, stride):
    d = draw("padding-stride", tmp_path / "p.png", padding=padding, stride=stride)
    expected = _torch(TF.conv2d, X[None, None], K[None, None], padding=padding, stride=stride)[0, 0]
    assert np.array_equal(d.grids["output"], expected)
    assert d.grids["input"].shape == (3 + 2 * padding[0], 3 + 2 * padding[1])
    height = (3 + 2 * padding[0] - 2) // stride[0] + 1
    assert f"height ⌊(3 + 2·{padding[0]} - 2) / {stride[0]}⌋ + 1 = {height}" in d.captions[1]
    if (padding, stride) == ((1, 1), (3, 2)):
        assert expected.tolist() == [[0, 8], [6, 8]]   # d2l's numbers
    _cells_show_the_grids(d)


def test_channels_in_and_out(tmp_path):
    d = draw("channels-in", tmp_path / "ci.png")
    x2, k2 = np.stack([X, X + 1]), np.stack([K, K + 1])
    assert d.grids["output"].tolist() == [[56, 72], [104, 120]]
    assert np.array_equal(d.grids["output"], _torch(TF.conv2d, x2[None], k2[None])[0, 0])
    assert np.array_equal(d.grids["part0"] + d.grids["part1"], d.grids["output"])
    _cells_show_the_grids(d)
    d = draw("channels-out", tmp_path / "co.png")
    k3 = np.stack([k2, k2 + 1, k2 + 2])
    expected = _torch(TF.conv2d, x2[None], k3)[0]
    for o in range(3):
        assert np.array_equal(d.grids[f"output{o}"], expected[o])
    assert d.grids["output1"].tolist() == [[76, 100], [148, 172]]   # d2l's corr2d_multi_in_out
    _cells_show_the_grids(d)


def test_conv1x1_is_a_matrix_product_at_every_pixel(tmp_path):
    d = draw("conv1x1", tmp_path / "one.png")
    x3 = np.stack([d.grids[f"input{c}"] for c in range(3)])
    w = d.grids["weights"]
    expected = np.einsum("oc,chw->ohw", w, x3)
    for o in range(2):
        assert np.array_equal(d.grids[f"output{o}"], expected[o])
    assert np.array_equal(d.grids["pixel_out"][:, 0], w @ x3[:, 0, 0])
    assert np.allclose(expected, _torch(TF.conv2d, x3[None], w[:, :, None, None])[0])
    _cells_show_the_grids(d)


@pytest.mark.parametrize("mode, expected", [("max", [[4, 5], [7, 8]]), ("avg", [[2, 3], [5, 6]])])
def test_pooling(tmp_path, mode, expected):
    d = draw(f"{mode}-pool", tmp_path / "pool.png")
    assert d.grids["output"].tolist() == expected
    torch_pool = TF.max_pool2d if mode == "max" else TF.avg_pool2d
    assert np.array_equal(d.grids["output"], _torch(torch_pool, X[None, None], 2, 1)[0, 0])
    d = draw(f"{mode}-pool", tmp_path / "pool3.png", X=np.arange(16.0).reshape(4, 4), kernel_size=(2, 2),
             stride=(2, 2))
    assert np.array_equal(d.grids["output"], _torch(torch_pool, np.arange(16.0).reshape(1, 1, 4, 4), 2, 2)[0, 0])
    _cells_show_the_grids(d)


@pytest.mark.parametrize("stride", [1, 2])
def test_transposed_convolution_is_the_sum_of_scattered_kernels(tmp_path, stride):
    d = draw("transposed", tmp_path / "t.png", stride=(stride, stride))
    copies = sum(d.grids[f"copy{i}_{j}"] for i in range(2) for j in range(2))
    expected = _torch(TF.conv_transpose2d, K[None, None], K[None, None], stride=stride)[0, 0]
    assert np.array_equal(d.grids["output"], expected) and np.array_equal(copies, expected)
    if stride == 1:
        assert expected.tolist() == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]   # d2l's numbers
    _cells_show_the_grids(d)


def test_receptive_field_growth(tmp_path):
    d = draw("receptive-field", tmp_path / "rf.png")
    assert [int(d.grids[f"layer{n}"][0, 0]) for n in range(4)] == [3, 5, 6, 10]
    assert [int(d.grids[f"layer{n}"][0, 1]) for n in range(4)] == [1, 1, 2, 2]


def test_the_initialisation_experiment(tmp_path):
    d = draw("init", tmp_path / "init.png")
    stds = {name: values[0] for name, values in d.grids.items()}
    normal = stds["N(0, 1), no activation"]
    first_bad = next(i for i, s in enumerate(normal) if not math.isfinite(s))
    assert 25 <= first_bad <= 40 and normal[first_bad - 1] > 1e30          # 16x per layer: float32 overflows
    assert all(s == pytest.approx(16 * t, rel=0.2) for s, t in zip(normal[1:10], normal[:9]))
    kaiming = stds["Kaiming (ReLU), ReLU"]
    assert len(kaiming) == 100 and all(0.1 < s < 10 for s in kaiming)
    assert 0.3 < stds["Xavier (gain 5/3), tanh"][-1] < 1.0
    assert stds["N(0, 1/n), tanh"][-1] < stds["N(0, 1/n), tanh"][0] / 5     # shrinking, slowly
    assert d.captions == [f"N(0, 1), no activation: overflow at layer {first_bad + 1}"]


def test_every_diagram_has_its_example_script_and_all_draws_every_one(capsys, tmp_path, monkeypatch):
    scripts = {p.stem.replace("_", "-") for p in (ROOT / "examples" / "draw").glob("*.py")}
    assert scripts == set(DIAGRAMS)
    for script in (ROOT / "examples" / "draw").glob("*.py"):
        assert len(script.read_text().strip().splitlines()) == 5, script
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["correlation.py", str(tmp_path / "from_script.png")])
    runpy.run_path(str(ROOT / "examples" / "draw" / "correlation.py"), run_name="__main__")
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'from_script.png'} [[19.0, 25.0], [37.0, 43.0]]"
    code, out, _ = run_in_process(capsys, "draw", "all", "--out", tmp_path / "all")
    assert code == 0 and sorted(os.listdir(tmp_path / "all")) == sorted(f"{n}.png" for n in DIAGRAMS)
