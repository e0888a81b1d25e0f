"""Checkpoint files: atomic writes (a kill inside a write leaves the old checkpoint), and a clear
one-line error for every file that is not a usable checkpoint."""

from __future__ import annotations

import os
import queue
import signal
import stat
import threading

import numpy as np
import pytest

import juanji
from juanji import checkpoint as ckpt
from juanji.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, atomic_write_bytes, load_checkpoint,
                               model_from_checkpoint, save_checkpoint)
from juanji.training import train
from juanji.vision.models import get_model
from tests.test_train import CLI_RUN, _reader, _wait_for_line, cli, tiny_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished one-epoch run (its folder)."""
    out = tmp_path_factory.mktemp("ckpt") / "run"
    train(tiny_config(out, epochs=1))
    return out


def _one_line(message: str) -> bool:
    return "\n" not in message and "Traceback" not in message


# ---------------------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_whole_file_with_usual_permissions(tmp_path):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second version")
    assert target.read_bytes() == b"second version"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~mask
    assert os.listdir(tmp_path) == ["file.bin"]


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "last.juanji"
    atomic_write_bytes(target, b"good")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["last.juanji"]


def test_kill_inside_a_checkpoint_write_leaves_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "run"
    # a checkpoint every 2 steps; the second write (step 4) pauses after its temporary file is complete
    proc = cli(*CLI_RUN, "--out", str(out), "--checkpoint-every", "2",
               fault=("pause-in-checkpoint-write", 2))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        _wait_for_line(lines, "fault: paused before renaming", timeout=240, proc=proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    leftovers = [name for name in os.listdir(out) if name.startswith(ckpt.TEMP_PREFIX)]
    assert len(leftovers) == 1  # the complete but never renamed new checkpoint
    payload = load_checkpoint(out / "last.juanji")  # the old one, whole
    assert payload["progress"] == {"epoch": 0, "step_in_epoch": 2, "global_step": 2}
    model = model_from_checkpoint(payload)
    assert isinstance(model, juanji.nn.Module)

    # the run continues from it, and the leftover temporary file is cleared away
    resumed = cli("train", "--resume", str(out), "--epochs", "1")
    output, _ = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, output
    assert "batch 2 of 9 (step 2)" in output
    assert not [name for name in os.listdir(out) if name.startswith(ckpt.TEMP_PREFIX)]
    assert load_checkpoint(out / "last.juanji")["progress"]["global_step"] == 9


# ---------------------------------------------------------------------------------- reading
def test_round_trip_keeps_everything(tmp_path, trained):
    payload = load_checkpoint(trained / "last.juanji")
    assert payload["format"] == CHECKPOINT_FORMAT
    copy = tmp_path / "copy.juanji"
    save_checkpoint(payload, copy)
    again = load_checkpoint(copy)
    for key, value in payload["model_state"].items():
        assert np.array_equal(value.numpy(), again["model_state"][key].numpy())
    assert again["config"] == payload["config"] and again["preprocessing"] == payload["preprocessing"]
    assert isinstance(again["rng"]["generator"], juanji.Tensor)


def test_truncated_checkpoint_is_one_line_error(tmp_path, trained):
    data = (trained / "last.juanji").read_bytes()
    for cut in (10, len(data) // 2, len(data) - 100):
        broken = tmp_path / f"cut{cut}.juanji"
        broken.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="cannot be read: .*truncated or corrupt\\?") as info:
            load_checkpoint(broken)
        assert _one_line(str(info.value)) and str(broken) in str(info.value)


def test_not_a_checkpoint(tmp_path):
    missing = tmp_path / "nope.juanji"
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(missing)
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)
    garbage = tmp_path / "garbage.juanji"
    garbage.write_bytes(b"not a zip file at all" * 10)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(garbage)
    state_dict_only = tmp_path / "weights.juanji"
    juanji.save(get_model("lenet5").state_dict(), state_dict_only)
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        load_checkpoint(state_dict_only)
    incomplete = tmp_path / "incomplete.juanji"
    juanji.save({"format": CHECKPOINT_FORMAT, "model": {"name": "lenet5"}}, incomplete)
    with pytest.raises(CheckpointError, match="lacks model_state, preprocessing, classes, config"):
        load_checkpoint(incomplete)


def test_weights_of_another_model_are_refused(trained):
    payload = load_checkpoint(trained / "last.juanji")
    payload["model"] = {"name": "resnet20", "kwargs": {"num_classes": 10, "in_channels": 1}}
    with pytest.raises(CheckpointError, match="does not fit model 'resnet20': its weights are from another model") \
            as info:
        model_from_checkpoint(payload, "x.juanji")
    assert _one_line(str(info.value)) and "Missing key(s)" in str(info.value)
    payload["model"] = {"name": "lenet5", "kwargs": {"num_classes": 7, "in_channels": 1, "variant": "relu"}}
    with pytest.raises(CheckpointError, match="size mismatch|shape"):
        model_from_checkpoint(payload, "x.juanji")
    payload["model"] = {"name": "no_such_net", "kwargs": {}}
    with pytest.raises(CheckpointError, match="asks for model 'no_such_net'.*cannot be built"):
        model_from_checkpoint(payload, "x.juanji")


# ---------------------------------------------------------------------------------- one definition of a model
def _accuracy(model, payload) -> float:
    from juanji.training.data import evaluation_loader, load_datasets
    from juanji.training.inference import evaluate
    from juanji.training.preprocess import Preprocessing
    data = load_datasets("sample", test_samples=100, preprocessing=Preprocessing.from_dict(payload["preprocessing"]),
                         need_train=False)
    return evaluate(model, evaluation_loader(data.test, 100)).accuracy


def test_the_library_model_of_a_name_is_the_trained_one(trained):
    """The lenet5 trap: juanji train --model lenet5 and models.lenet5() are one definition, so the
    checkpoint's weights in the library's default model score what the run measured."""
    from juanji.vision import models
    payload = load_checkpoint(trained / "last.juanji")
    mine = models.lenet5()
    mine.load_state_dict(payload["model_state"])
    rebuilt = model_from_checkpoint(trained / "last.juanji")
    assert repr(mine) == repr(rebuilt)
    x = juanji.randn(4, 1, 28, 28)
    mine.eval(), rebuilt.eval()
    assert np.array_equal(mine(x).detach().numpy(), rebuilt(x).detach().numpy())
    assert _accuracy(mine, payload) == _accuracy(rebuilt, payload)


def test_weights_loaded_into_a_model_with_other_layers_are_refused_loudly(trained):
    from juanji.checkpoint import load_weights
    from juanji.vision import models
    classic = models.lenet5(variant="classic")   # the same state_dict keys and shapes
    with pytest.raises(CheckpointError) as info:
        load_weights(classic, trained / "last.juanji")
    message = str(info.value)
    assert _one_line(message)
    assert ("was trained on lenet5(num_classes=10, in_channels=1, variant='relu', input_size=28), whose layer '1' "
            "is ReLU; this model's is Sigmoid") in message
    assert load_weights(models.lenet5(), trained / "last.juanji") is not None


def test_the_checkpoint_records_every_constructor_argument(trained):
    record = load_checkpoint(trained / "best.juanji")["model"]
    assert record["kwargs"] == {"num_classes": 10, "in_channels": 1, "variant": "relu", "input_size": 28}
    assert ["1", "ReLU"] in record["layers"] and ["2", "MaxPool2d"] in record["layers"]
