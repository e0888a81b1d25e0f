"""The ``juanji`` command: train / eval / predict end to end, and every kind of bad input.

Bad input must give one line on stderr naming the problem, a non-zero exit status and no
traceback, and must leave whatever was already saved untouched. Most cases call
``juanji.cli.main`` in process (fast); a few run the real command in a subprocess.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from juanji.checkpoint import load_checkpoint, save_checkpoint
from juanji.cli import EXIT_BAD_INPUT, main
from juanji.vision.datasets import load_sample, write_idx
from tests.test_train import cli

SMALL = ["--train-samples", "192", "--test-samples", "64", "--batch-size", "32", "--no-progress"]


# ---------------------------------------------------------------------------------- helpers
def run_cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main(list(map(str, args)))
    except SystemExit as e:  # argparse's usage errors exit from inside parse_args
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_bad_input(capsys, *args, match: str) -> str:
    """The command fails with exit status 2 and one stderr line containing ``match``."""
    code, _, err = run_cli(capsys, *args)
    assert code == EXIT_BAD_INPUT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def write_idx_folder(folder: Path, train: int = 160, test: int = 40, skip=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    x, y = load_sample(train=True)
    xt, yt = load_sample(train=False)
    files = {"train-images-idx3-ubyte.gz": x[:train], "train-labels-idx1-ubyte.gz": y[:train],
             "t10k-images-idx3-ubyte.gz": xt[:test], "t10k-labels-idx1-ubyte.gz": yt[:test]}
    for name, array in files.items():
        if name not in skip:
            write_idx(folder / name, array)
    return folder


def write_image_folder(folder: Path, per_class: int = 6, size=(28, 28), mode="L") -> Path:
    x, y = load_sample(train=True)
    for label, name in ((0, "shirt"), (1, "trouser")):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i, index in enumerate(np.flatnonzero(y == label)[:per_class]):
            Image.fromarray(x[index]).convert(mode).resize(size).save(folder / name / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A finished one-epoch run on a folder of IDX files (so the data can be broken afterwards)."""
    base = tmp_path_factory.mktemp("cli")
    data = write_idx_folder(base / "idx")
    out = base / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", *SMALL]) == 0
    return out, data


# ---------------------------------------------------------------------------------- end to end
def test_train_eval_predict_end_to_end(capsys, tmp_path):
    out = tmp_path / "run"
    proc = cli("train", "--out", str(out), "--epochs", "2", "--log-every", "2", *SMALL)
    stdout, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, stdout
    tail = stdout.strip().splitlines()[-4:]
    assert tail[0].startswith("test accuracy: ") and tail[0].split()[2].endswith("%")
    assert tail[1] == f"checkpoints: {out / 'last.juanji'} (last), {out / 'best.juanji'} (best)"
    assert tail[2] == f"curves: {out / 'curves.png'}" and tail[3] == f"metrics: {out / 'metrics.jsonl'}"
    for name in ("last.juanji", "best.juanji", "curves.png", "metrics.jsonl"):
        assert (out / name).stat().st_size > 0

    # eval and predict in process (the command's code path, without two more interpreter start-ups)
    code, eval_out, _ = run_cli(capsys, "eval", out / "last.juanji")
    assert code == 0, eval_out
    assert f"test accuracy: {tail[0].split()[2]}" in eval_out  # the same number training reported
    assert "/64)" in eval_out and "test loss: " in eval_out

    # predict: a sample trouser as a large RGB photo, and a sandal as it is
    x, y = load_sample(train=False)
    trouser, sandal = x[np.flatnonzero(y == 1)[0]], x[np.flatnonzero(y == 5)[0]]
    Image.fromarray(trouser).convert("RGB").resize((112, 112)).save(tmp_path / "trouser.jpg")
    Image.fromarray(sandal).save(tmp_path / "sandal.png")
    code, pred_out, _ = run_cli(capsys, "predict", out / "last.juanji", tmp_path / "trouser.jpg",
                                tmp_path / "sandal.png", "--top-k", "2")
    assert code == 0, pred_out
    preparation, *lines = pred_out.strip().splitlines()
    assert preparation.startswith("preprocessing as in training: 28x28 grey")
    assert len(lines) == 2 and lines[0].startswith(f"{tmp_path / 'trouser.jpg'}: ")
    for line in lines:
        ranked = line.split(": ", 1)[1].split(", ")
        assert len(ranked) == 2
        probabilities = [float(part.rsplit(" ", 1)[1].rstrip("%")) for part in ranked]
        assert probabilities[0] >= probabilities[1] > 0


def test_bad_input_through_the_real_command_is_one_line_and_status_2(tmp_path):
    proc = cli("train", "--model", "no_such_net", "--out", str(tmp_path / "run"), *SMALL)
    stdout, _ = proc.communicate(timeout=240)
    assert proc.returncode == 2
    assert stdout.strip().splitlines() == [stdout.strip()]
    assert stdout.startswith("juanji train: error: unknown model 'no_such_net' (choose from ")
    assert not (tmp_path / "run").exists()


def test_eval_and_predict_need_only_the_checkpoint(capsys, run_folder, tmp_path):
    out, _ = run_folder
    code, stdout, _ = run_cli(capsys, "eval", out / "best.juanji")
    assert code == 0 and "test accuracy: " in stdout and "/40)" in stdout
    image = tmp_path / "any.png"
    Image.new("RGB", (50, 30), (200, 10, 10)).save(image)
    code, stdout, _ = run_cli(capsys, "predict", out / "last.juanji", image, "--top-k", "20")
    assert code == 0
    ranked = stdout.strip().splitlines()[-1].split(": ", 1)[1].split(", ")
    assert len(ranked) == 10  # top-k is capped at the number of classes
    assert sum(float(r.rsplit(" ", 1)[1].rstrip("%")) for r in ranked) == pytest.approx(100, abs=0.1)


def test_demo_runs_juanji_train_on_the_sample(monkeypatch, tmp_path, capsys):
    from juanji import demo
    monkeypatch.chdir(tmp_path)
    assert demo.main(["--epochs", "1", "--train-samples", "128", "--test-samples", "64", "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-4].startswith("test accuracy: ") and lines[-4].split()[2].endswith("%")
    assert "runs/demo/last.juanji" in lines[-3] and "runs/demo/curves.png" in lines[-2]
    assert demo.main(["--epochs", "1", "--train-samples", "128", "--test-samples", "64", "--no-progress"]) == 0
    assert (tmp_path / "runs" / "demo-2" / "last.juanji").exists()  # the first demo run is kept


# ---------------------------------------------------------------------------------- bad input: data
def test_missing_dataset_file(capsys, tmp_path):
    data = write_idx_folder(tmp_path / "idx", skip=("t10k-labels-idx1-ubyte.gz",))
    assert_bad_input(capsys, "train", "--data", data, "--out", tmp_path / "run", *SMALL,
                     match=f"missing dataset file t10k-labels-idx1-ubyte[.gz] in '{data}'")
    assert not (tmp_path / "run").exists()
    empty = tmp_path / "empty_root"
    empty.mkdir()
    assert_bad_input(capsys, "train", "--data", "fashion-mnist", "--data-root", empty, "--out", tmp_path / "run",
                     match="--data fashion-mnist: no IDX files (train-images-idx3-ubyte[.gz]) in ")
    assert_bad_input(capsys, "train", "--data", tmp_path / "nowhere", match="no such folder")


@pytest.mark.parametrize("damage, match", [
    ("truncate", "is truncated: the gzip stream ends early"),
    ("garbage", "is not an IDX file"),
    ("shape", "holds 160 images but"),
])
def test_corrupt_dataset_file(capsys, tmp_path, damage, match):
    data = write_idx_folder(tmp_path / "idx")
    images = data / "train-images-idx3-ubyte.gz"
    if damage == "truncate":
        images.write_bytes(images.read_bytes()[:500])
    elif damage == "garbage":
        images.write_bytes(gzip.compress(b"\x01\x02\x03\x04" + bytes(100)))
    else:
        write_idx(data / "train-labels-idx1-ubyte.gz", np.zeros(7, dtype=np.uint8))
    line = assert_bad_input(capsys, "train", "--data", data, "--out", tmp_path / "run", *SMALL, match=match)
    assert "train-" in line
    assert not (tmp_path / "run").exists()


def test_corrupt_data_on_resume_keeps_the_run(capsys, run_folder, tmp_path):
    out, data = run_folder
    before = snapshot(out)
    labels = data / "t10k-labels-idx1-ubyte.gz"
    good = labels.read_bytes()
    try:
        labels.write_bytes(good[:20])
        assert_bad_input(capsys, "train", "--resume", out, "--epochs", "2", match="t10k-labels-idx1-ubyte.gz")
        assert_bad_input(capsys, "eval", out / "last.juanji", match="t10k-labels-idx1-ubyte.gz")
    finally:
        labels.write_bytes(good)
    assert snapshot(out) == before


def test_image_folder_without_images(capsys, tmp_path):
    no_classes = tmp_path / "no_classes"
    no_classes.mkdir()
    Image.new("L", (28, 28)).save(no_classes / "loose.png")
    assert_bad_input(capsys, "train", "--data", no_classes, *SMALL, match="Couldn't find any class folder")
    no_images = tmp_path / "no_images"
    (no_images / "cats").mkdir(parents=True)
    (no_images / "cats" / "notes.txt").write_text("not an image")
    assert_bad_input(capsys, "train", "--data", no_images, *SMALL, match="Found no valid file for the classes cats")


def test_image_folder_with_an_unreadable_file(capsys, tmp_path):
    data = write_image_folder(tmp_path / "images")
    bad = data / "trouser" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"nonsense" * 10)
    assert_bad_input(capsys, "train", "--data", data, "--out", tmp_path / "run", *SMALL,
                     match=f"cannot read image file '{bad}'")
    assert not (tmp_path / "run").exists()


def test_image_folder_trains_and_converts_on_request(capsys, tmp_path):
    data = write_image_folder(tmp_path / "images", size=(28, 28))
    write_image_folder(tmp_path / "images_rgb", size=(36, 36), mode="RGB")
    for path in (tmp_path / "images_rgb").rglob("*.png"):
        os.replace(path, data / path.parent.name / f"rgb-{path.name}")
    line = assert_bad_input(capsys, "train", "--data", data, "--out", tmp_path / "run", *SMALL,
                            match="is 36x36 RGB, but")
    assert "set the model input to 28x28 grey; pass --image-size H W and/or --channels" in line
    code, stdout, _ = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "run", "--epochs", "1",
                              "--image-size", "28", "28", "--channels", "1", "--no-progress")
    assert code == 0 and "20% held out for testing" in stdout
    payload = load_checkpoint(tmp_path / "run" / "last.juanji")
    assert payload["classes"] == ["shirt", "trouser"] and payload["preprocessing"]["channels"] == 1


def test_image_folder_with_train_and_test_folders(capsys, tmp_path):
    data = tmp_path / "images"
    write_image_folder(data / "train", per_class=5)
    write_image_folder(data / "test", per_class=2)
    code, stdout, _ = run_cli(capsys, "train", "--data", data, "--out", tmp_path / "run", "--epochs", "1",
                              "--no-progress")
    assert code == 0 and "9 train / 1 validation / 4 test images (28x28 grey), 2 classes" in stdout
    assert "(test loss" in stdout and "on 4 images, best checkpoint)" in stdout
    (data / "test" / "coat").mkdir()
    Image.new("L", (28, 28)).save(data / "test" / "coat" / "0.png")
    assert_bad_input(capsys, "train", "--data", data, "--out", tmp_path / "run2", match="has classes ['coat'] that "
                                                                                     "the training folder lacks")


def test_model_that_does_not_fit_the_images(capsys, tmp_path):
    # LeNet-5 built for 32x32 inputs has no padding: 28x28 images leave 16 x 4 x 4 features, not 400
    line = assert_bad_input(capsys, "train", "--model-arg", "input_size=32", "--out", tmp_path / "run", *SMALL,
                            match="model 'lenet5' does not fit the images of the embedded Fashion-MNIST sample "
                                  "(input [1, 1, 28, 28])")
    assert "400" in line and "256" in line
    assert not (tmp_path / "run").exists()


def test_image_that_does_not_fit_in_predict(capsys, run_folder, tmp_path):
    out, _ = run_folder
    colour = tmp_path / "colour.png"
    Image.new("RGB", (40, 40)).save(colour)
    assert_bad_input(capsys, "predict", out / "last.juanji", colour, "--strict",
                     match=f"image '{colour}' is 40x40 with 3 channel(s), the model takes 28x28 grey")
    assert_bad_input(capsys, "predict", out / "last.juanji", tmp_path / "missing.png",
                     match=f"image file '{tmp_path / 'missing.png'}' does not exist")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"\x00" * 50)
    assert_bad_input(capsys, "predict", out / "last.juanji", broken, match=f"cannot read image file '{broken}'")


# ---------------------------------------------------------------------------------- bad input: checkpoints
def test_checkpoint_from_another_model(capsys, run_folder, tmp_path):
    out, _ = run_folder
    before = snapshot(out)
    assert_bad_input(capsys, "train", "--resume", out, "--model", "resnet20",
                     match="--model resnet20 differs from the checkpoint's lenet5")
    payload = load_checkpoint(out / "last.juanji")
    payload["model"] = {"name": "resnet20", "kwargs": {"num_classes": 10, "in_channels": 1}}
    swapped = tmp_path / "swapped.juanji"
    save_checkpoint(payload, swapped)
    for command in (["eval", swapped], ["predict", swapped, tmp_path / "whatever.png"]):
        assert_bad_input(capsys, *command, match="does not fit model 'resnet20': its weights are from another model")
    assert snapshot(out) == before


def test_truncated_checkpoint(capsys, run_folder, tmp_path):
    out, _ = run_folder
    truncated = tmp_path / "run"
    truncated.mkdir()
    (truncated / "last.juanji").write_bytes((out / "last.juanji").read_bytes()[:4000])
    for command in (["eval", truncated / "last.juanji"], ["predict", truncated / "last.juanji", "x.png"],
                    ["train", "--resume", truncated]):
        line = assert_bad_input(capsys, *command, match="cannot be read: ")
        assert "truncated or corrupt?" in line
    assert_bad_input(capsys, "eval", tmp_path / "none.juanji", match="does not exist")


def test_fresh_run_into_an_existing_run_changes_nothing(capsys, run_folder):
    out, data = run_folder
    before = snapshot(out)
    assert_bad_input(capsys, "train", "--data", data, "--out", out, *SMALL, match="already holds a run")
    assert snapshot(out) == before


# ---------------------------------------------------------------------------------- bad input: names and values
@pytest.mark.parametrize("args, match", [
    (["--model", "resnet9000"], "unknown model 'resnet9000' (choose from "),
    (["--optimizer", "sgdd"], "unknown optimizer 'sgdd' (choose from sgd, adam, adamw, rmsprop, adagrad)"),
    (["--scheduler", "warm"], "unknown scheduler 'warm' (choose from none, step,"),
    (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
    (["--lr", "-1"], "--lr must be positive, got -1.0"),
    (["--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    (["--model-arg", "variant"], "argument --model-arg: expected KEY=VALUE, got 'variant'"),
    (["--model-arg", "variant=tanh"], "cannot build model 'lenet5' with num_classes=10, in_channels=1, "
                                      "variant='tanh'"),
    (["--model-arg", "num_classes=3"], "--model-arg num_classes: set by the data"),
    (["--val-fraction", "1.5"], "--val-fraction must be in [0, 1), got 1.5"),
    (["--channels", "2"], "--channels must be 1 or 3, got 2"),
])
def test_bad_names_and_values(capsys, tmp_path, args, match):
    assert_bad_input(capsys, "train", *args, "--out", tmp_path / "run", *SMALL, match=match)
    assert not (tmp_path / "run").exists()


def test_summary_command_is_juanji_explain(capsys):
    code, stdout, _ = run_cli(capsys, "summary", "lenet5", "--plain")
    assert code == 0 and "Conv2d" in stdout and "Linear" in stdout
    assert_bad_input(capsys, "summary", "no_such_net", match="juanji summary: error: ")
