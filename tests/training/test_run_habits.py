"""What a run does besides training (issue 13): an honest validation split, one-line errors for
the user's mistakes, Ctrl-C/SIGTERM with a checkpoint at the current step, early stopping and
the top-k checkpoints."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from juanji import checkpoint as ckpt
from juanji.checkpoint import load_checkpoint
from juanji.cli import EXIT_BAD_INPUT, main
from tests.test_train import ROOT, assert_same_run, read_log

SMALL = ["--train-samples", "200", "--test-samples", "60", "--batch-size", "40", "--no-progress"]


def juanji_process(*args, fault=None, timeout=300) -> subprocess.CompletedProcess:
    """``juanji ARGS`` in a subprocess, stdout and stderr apart (``fault``: tests/fault_runner.py)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    entry = ["juanji.cli"] if fault is None else ["tests.fault_runner", fault[0], str(fault[1])]
    return subprocess.run([sys.executable, "-m", *entry, *map(str, args)], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout)


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def run_in_process(capsys, *args):
    try:
        code = main(list(map(str, args)))
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------------- validation
def test_the_default_run_validates_on_held_out_training_images_and_tests_once(capsys, tmp_path):
    code, out, err = run_in_process(capsys, "train", "--epochs", "2", "--out", tmp_path / "run", *SMALL)
    assert code == 0, err
    assert "180 train / 20 validation / 60 test images" in out
    assert "validating on 20 training images held out (10%, drawn with --seed 0)" in out
    assert "warning" not in err
    lines = out.strip().splitlines()
    best_line, test_line = lines[-5], lines[-4]
    epochs = [r for r in read_log(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "epoch"]
    best = max(epochs, key=lambda r: r["val_accuracy"])
    assert best_line == (f"best checkpoint: epoch {best['epoch']}, validation accuracy "
                         f"{100 * best['val_accuracy']:.2f}% on 20 held-out training images")
    assert test_line.startswith("test accuracy: ") and test_line.endswith("on 60 images, best checkpoint)")
    # the test number is the best checkpoint's, as juanji eval measures it
    code, eval_out, _ = run_in_process(capsys, "eval", tmp_path / "run" / "best.juanji")
    assert code == 0 and test_line.split()[2] in eval_out


def test_validation_and_test_images_are_apart_and_the_split_is_seeded():
    from juanji.training.data import load_datasets
    a = load_datasets("sample", seed=3, val_fraction=0.1, train_samples=300)
    b = load_datasets("sample", seed=3, val_fraction=0.1, train_samples=300)
    c = load_datasets("sample", seed=4, val_fraction=0.1, train_samples=300)
    assert len(a.val) == 30 and len(a.train) == 270
    assert np.array_equal(a.val.images, b.val.images) and not np.array_equal(a.val.images, c.val.images)
    test = {image.tobytes() for image in a.test.images}
    train = {image.tobytes() for image in a.train.images}
    assert not any(image.tobytes() in test or image.tobytes() in train for image in a.val.images)


def test_val_fraction_zero_keeps_the_old_behaviour_with_a_warning(capsys, tmp_path):
    code, out, err = run_in_process(capsys, "train", "--epochs", "1", "--val-fraction", "0",
                                    "--out", tmp_path / "run", *SMALL)
    assert code == 0
    assert "200 train / 0 validation / 60 test images" in out and "validating on the test split" in out
    assert err.strip().splitlines() == ["warning: --val-fraction 0 validates on the test split: best.juanji is "
                                        "chosen on the test images, so the test accuracy reported at the end is "
                                        "no longer an unbiased estimate"]


# ---------------------------------------------------------------------------------- the user's mistakes
def test_out_naming_a_file_or_a_place_inside_a_file_is_one_line(capsys, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for out, expected in [(a_file, f"--out {a_file} is a file; expected a folder for the run's files"),
                          (a_file / "run", f"'{a_file}' is a file, so no folder can be made inside it")]:
        code, _, err = run_in_process(capsys, "train", "--out", out, *SMALL)
        assert code == EXIT_BAD_INPUT and expected in one_error_line(err)
    assert a_file.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_read_only_folder_is_one_line(capsys, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run_in_process(capsys, "train", "--out", locked / "run", *SMALL)
    finally:
        locked.chmod(0o700)
    assert code == EXIT_BAD_INPUT and f"cannot be made: '{locked}' is not writable" in one_error_line(err)


@pytest.mark.parametrize("option, value", [("--batch-size", "0"), ("--batch-size", "-3"), ("--workers", "-1")])
def test_eval_refuses_a_batch_size_it_cannot_use(capsys, tmp_path, option, value):
    code, _, err = run_in_process(capsys, "train", "--epochs", "1", "--out", tmp_path / "run", *SMALL)
    assert code == 0
    code, _, err = run_in_process(capsys, "eval", tmp_path / "run" / "best.juanji", option, value)
    assert code == EXIT_BAD_INPUT and f"{option} must be" in one_error_line(err)


def test_a_full_disk_names_the_file_and_keeps_what_was_written(capsys, tmp_path, monkeypatch):
    real_write, writes = ckpt.atomic_write_bytes, []

    def write(path, data, before_rename=None):
        writes.append(os.path.basename(path))

        def disk_full(target):   # the second last.juanji: the disk fills up while it is written
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data, disk_full if writes.count("last.juanji") == 2 else before_rename)

    monkeypatch.setattr(ckpt, "atomic_write_bytes", write)
    out = tmp_path / "run"
    code, _, err = run_in_process(capsys, "train", "--epochs", "1", "--checkpoint-every", "1", "--out", out, *SMALL)
    line = one_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert f"cannot write '{out / 'last.juanji'}': the disk is full; the files written before it are intact" in line
    assert load_checkpoint(out / "last.juanji")["progress"]["global_step"] == 1   # the first one, whole
    assert not [name for name in os.listdir(out) if name.startswith(ckpt.TEMP_PREFIX)]


def test_a_diverging_loss_says_where_and_what_was_kept_without_numpy_warnings(tmp_path):
    out = tmp_path / "run"
    done = juanji_process("train", "--epochs", "2", "--lr", "1e6", "--checkpoint-every", "2", "--out", out, *SMALL)
    assert done.returncode == EXIT_BAD_INPUT
    line = one_error_line(done.stderr)
    assert "RuntimeWarning" not in done.stderr + done.stdout
    assert line.startswith("juanji train: error: training diverged: ") and "at epoch 1, step " in line
    assert "try a smaller --lr" in line and "(lr 1e+06)" in line
    saved = load_checkpoint(out / "last.juanji") if (out / "last.juanji").exists() else None
    if saved is not None:   # what it says was kept is there, with finite weights
        assert f"kept {out / 'last.juanji'} (step {saved['progress']['global_step']})" in line
        assert all(np.isfinite(t.numpy()).all() for t in saved["model_state"].values())
    else:
        assert "kept no checkpoint" in line


def test_corrupt_checkpoints_get_messages_without_numpy_advice(capsys, tmp_path):
    import io
    import zipfile
    code, _, _ = run_in_process(capsys, "train", "--epochs", "1", "--out", tmp_path / "run", *SMALL)
    good = tmp_path / "run" / "best.juanji"
    source = zipfile.ZipFile(good)
    pickled = tmp_path / "pickled.juanji"   # one array replaced by pickled Python objects
    with zipfile.ZipFile(pickled, "w") as z:
        for i, name in enumerate(source.namelist()):
            data = source.read(name)
            if i == 1:
                buffer = io.BytesIO()
                np.save(buffer, np.array([{"run": "code"}], dtype=object), allow_pickle=True)
                data = buffer.getvalue()
            z.writestr(name, data)
    truncated = tmp_path / "truncated.juanji"
    truncated.write_bytes(good.read_bytes()[:3000])
    noise = tmp_path / "noise.juanji"   # no known header at all: not "pickled objects" (NumPy's guess)
    noise.write_bytes(b"&" + np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    for path, expected in [(pickled, "it holds pickled Python objects, which juanji never loads"),
                           (truncated, "truncated or corrupt?"),
                           (noise, "is not a valid juanji file, nor a PyTorch file: its first bytes are no zip, pickle or tar")]:
        code, _, err = run_in_process(capsys, "eval", path)
        line = one_error_line(err)
        assert code == EXIT_BAD_INPUT and expected in line and f"checkpoint '{path}' cannot be read: " in line
        assert "allow_pickle" not in line and "unsafe" not in line and "juanji.load" not in line


def test_weights_whose_validation_loss_is_not_finite_are_not_kept_as_best(capsys, tmp_path):
    """One step at lr 1e9 leaves finite weights whose outputs overflow: the epoch's validation
    loss is nan, and the run stops there instead of saving those weights as best.juanji."""
    out = tmp_path / "run"
    code, _, err = run_in_process(capsys, "train", "--epochs", "2", "--lr", "1e9", "--train-samples", "50",
                                  "--test-samples", "20", "--no-progress", "--out", out)
    line = one_error_line(err)
    assert code == EXIT_BAD_INPUT
    assert "training diverged: the validation loss became nan at epoch 1, step 1 (its validation)" in line
    assert "kept no checkpoint" in line and not (out / "best.juanji").exists()


# ---------------------------------------------------------------------------------- stopping on request
@pytest.mark.parametrize("fault, name, code", [("sigterm-at-step", "SIGTERM", 143), ("sigint-at-step", "SIGINT", 130)])
def test_a_signal_writes_a_checkpoint_at_the_current_step_and_resume_is_exact(tmp_path, fault, name, code):
    args = ["train", "--epochs", "2", *SMALL]
    whole = juanji_process(*args, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    stopped = juanji_process(*args, "--out", tmp_path / "stopped", fault=(fault, 7))
    assert stopped.returncode == code
    # 180 training images, 5 batches per epoch: step 7 is batch 2 of epoch 2 (no --checkpoint-every needed)
    assert one_error_line(stopped.stderr) == (
        f"juanji train: stopped by {name} at epoch 2, batch 2 (step 7); checkpoint written: "
        f"{tmp_path / 'stopped' / 'last.juanji'}; continue with: juanji train --resume {tmp_path / 'stopped'}")
    assert load_checkpoint(tmp_path / "stopped" / "last.juanji")["progress"] == \
        {"epoch": 1, "step_in_epoch": 2, "global_step": 7}
    resumed = juanji_process("train", "--resume", tmp_path / "stopped")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(tmp_path / "whole", tmp_path / "stopped")
    assert resumed.stdout.splitlines()[-4] == whole.stdout.splitlines()[-4]   # the same test accuracy


def test_sigterm_outside_training_is_handled_like_ctrl_c(tmp_path):
    """A SIGTERM while eval reads its data: one line, exit status 143."""
    script = ("import os, signal, sys\n"
              "import juanji.training.inference as inference\n"
              "real = inference.load_datasets\n"
              "def slow(*a, **k):\n"
              "    os.kill(os.getpid(), signal.SIGTERM)\n"
              "    return real(*a, **k)\n"
              "inference.load_datasets = slow\n"
              "from juanji.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    train = juanji_process("train", "--epochs", "1", "--out", tmp_path / "run", *SMALL)
    assert train.returncode == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script, "eval", str(tmp_path / "run" / "best.juanji")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 143
    assert one_error_line(done.stderr) == "juanji eval: stopped by SIGTERM"


# ---------------------------------------------------------------------------------- early stopping, top k
def test_early_stopping_ends_the_run_after_patience_epochs_without_improvement(capsys, tmp_path):
    # an lr so small that the validation accuracy cannot improve after the first epoch
    code, out, _ = run_in_process(capsys, "train", "--epochs", "6", "--lr", "1e-12", "--early-stopping", "2",
                                  "--out", tmp_path / "run", *SMALL)
    assert code == 0
    epochs = [r for r in read_log(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert len({r["val_accuracy"] for r in epochs}) == 1
    assert "early stopping: no better validation accuracy for 2 epochs (--early-stopping 2); best" in out
    assert load_checkpoint(tmp_path / "run" / "best.juanji")["progress"]["epoch"] == 1


def test_save_top_k_keeps_the_k_best_epochs(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_in_process(capsys, "train", "--epochs", "4", "--save-top-k", "2", "--out", out, *SMALL)
    assert code == 0, err
    epochs = [r for r in read_log(out / "metrics.jsonl") if r["kind"] == "epoch"]
    ranked = sorted(epochs, key=lambda r: (-r["val_accuracy"], r["epoch"]))[:2]
    kept = sorted(name for name in os.listdir(out) if name.startswith("top-"))
    assert kept == sorted(f"top-epoch{r['epoch']:03d}.juanji" for r in ranked)
    for r in ranked:
        payload = load_checkpoint(out / f"top-epoch{r['epoch']:03d}.juanji")
        assert payload["progress"] == {"epoch": r["epoch"], "step_in_epoch": 0, "global_step": 5 * r["epoch"]}
    best = load_checkpoint(out / "best.juanji")["progress"]["epoch"]
    assert best == ranked[0]["epoch"]


def test_early_stopping_and_top_k_are_checked(capsys, tmp_path):
    for args, expected in [(["--save-top-k", "0"], "--save-top-k must be at least 1"),
                           (["--early-stopping", "-1"], "--early-stopping must be >= 0")]:
        code, _, err = run_in_process(capsys, "train", *args, "--out", tmp_path / "run", *SMALL)
        assert code == EXIT_BAD_INPUT and expected in one_error_line(err)
