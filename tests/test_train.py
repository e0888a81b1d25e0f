"""The training loop: a short run end to end, determinism, and exact resumption.

Runs are tiny (a few hundred images of the embedded Fashion-MNIST sample, 1-2 epochs) so the
file stays fast. The resume tests compare every weight, every optimiser buffer and the metrics
log of a resumed run with those of an uninterrupted run, bit for bit:

- in process, from a checkpoint written in the middle of an epoch, for every optimiser and a
  range of schedules, on a small net with batch norm and dropout (so juanji's generator state
  and the buffers are restored too);
- through the real command: ``juanji train`` in a subprocess, killed with SIGKILL mid-epoch,
  then ``juanji train --resume``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji import nn
from juanji.checkpoint import load_checkpoint
from juanji.training import Callback, TrainConfig, TrainingError, evaluate_checkpoint, train
from juanji.training.data import load_datasets
from juanji.training.preprocess import Preprocessing, channel_statistics
from juanji.training.sampler import EpochShuffleSampler
from juanji.vision import models

ROOT = Path(__file__).resolve().parent.parent
TIMING_KEYS = ("seconds", "val_seconds", "images_per_s", "data_share")


# ---------------------------------------------------------------------------------- helpers
def tiny_config(out, **overrides) -> TrainConfig:
    """LeNet-5 on 256 sample images, 8 steps per epoch."""
    settings = dict(model="lenet5", data="sample", epochs=2, batch_size=32, train_samples=256, test_samples=100,
                    out=None if out is None else str(out), checkpoint_every=3, log_every=2, progress=False)
    settings.update(overrides)
    return TrainConfig(**settings)


class TinyNet(nn.Sequential):
    """conv - batch norm - relu - pool - dropout - linear: every kind of state a run carries."""

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__(nn.Conv2d(in_channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * 14 * 14, num_classes))


@pytest.fixture
def tiny_net(monkeypatch):
    """Make ``get_model('tinynet')`` build :class:`TinyNet` (through the public get_model)."""
    original_get, original_list = models.get_model, models.list_models

    def get_model(name, **kwargs):
        return TinyNet(**kwargs) if name == "tinynet" else original_get(name, **kwargs)

    monkeypatch.setattr(models, "get_model", get_model)
    monkeypatch.setattr(models, "list_models", lambda: sorted([*original_list(), "tinynet"]))
    return "tinynet"


def read_log(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def without_timing(records):
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS and k != "images_per_s"} for r in records]


def assert_same_state(a, b, where=""):
    """Nested dicts/lists of tensors and numbers are equal bit for bit."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a.keys()) == list(b.keys()), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, juanji.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a.numpy(), b.numpy()), f"{where} differs"
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_run(reference: Path, resumed: Path) -> None:
    """Final weights, optimiser and scheduler state, generator and log: identical."""
    a = load_checkpoint(reference / "last.juanji")
    b = load_checkpoint(resumed / "last.juanji")
    for key in ("model_state", "optimizer_state", "scheduler_state", "rng", "progress", "best", "running"):
        assert_same_state(a[key], b[key], key)
    assert without_timing(read_log(reference / "metrics.jsonl")) == without_timing(read_log(resumed / "metrics.jsonl"))


# ---------------------------------------------------------------------------------- a short run
def test_short_run_writes_log_curves_and_checkpoints(tmp_path):
    out = tmp_path / "run"
    result = train(tiny_config(out))

    records = read_log(out / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch"]
    steps = [r for r in records if r["kind"] == "step"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert [r["step"] for r in epochs] == [8, 16]  # 256 images / 32 per batch
    assert [r["step"] for r in steps] == list(range(2, 17, 2))
    for r in epochs:
        assert 0 <= r["train_accuracy"] <= 1 and 0 <= r["val_accuracy"] <= 1
        assert r["train_loss"] > 0 and r["val_loss"] > 0 and r["images_per_s"] > 0 and 0 <= r["data_share"] <= 1
    # it learned something: the validation loss falls below chance level (ln 10 = 2.30)
    assert epochs[-1]["val_loss"] < min(2.2, epochs[0]["val_loss"])

    with Image.open(out / "curves.png") as png:
        assert png.format == "PNG" and png.size == (1000, 400)

    last, best = load_checkpoint(out / "last.juanji"), load_checkpoint(out / "best.juanji")
    assert last["progress"] == {"epoch": 2, "step_in_epoch": 0, "global_step": 16}
    assert last["model"]["name"] == "lenet5"
    assert last["model"]["kwargs"] == {"num_classes": 10, "in_channels": 1, "variant": "relu", "input_size": 28}
    assert last["model"]["layers"][:3] == [["", "LeNet5"], ["0", "Conv2d"], ["1", "ReLU"]]
    assert last["classes"][0] == "T-shirt/top" and len(last["classes"]) == 10
    best_epoch = int(np.argmax([r["val_accuracy"] for r in epochs])) + 1
    assert best["progress"]["epoch"] == best_epoch == result.best_epoch
    assert result.best_accuracy == max(r["val_accuracy"] for r in epochs)
    assert not [p for p in os.listdir(out) if p.startswith(".tmp-")]

    # the reported test numbers are what `juanji eval` measures from the best checkpoint alone
    evaluated, _ = evaluate_checkpoint(out / "best.juanji")
    assert evaluated.count == 100 == result.test.count
    assert evaluated.accuracy == result.test.accuracy
    assert evaluated.loss == pytest.approx(result.test.loss, rel=1e-6)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    a = train(tiny_config(tmp_path / "a", epochs=1, train_samples=128))
    b = train(tiny_config(tmp_path / "b", epochs=1, train_samples=128))
    c = train(tiny_config(tmp_path / "c", epochs=1, train_samples=128, seed=1))
    wa, wb, wc = (load_checkpoint(Path(r.out) / "last.juanji")["model_state"] for r in (a, b, c))
    assert_same_state(wa, wb)
    assert not np.array_equal(wa["0.weight"].numpy(), wc["0.weight"].numpy())


def test_a_fresh_run_refuses_a_folder_that_holds_a_run(tmp_path):
    out = tmp_path / "run"
    train(tiny_config(out, epochs=1))
    before = {p: (out / p).read_bytes() for p in os.listdir(out)}
    with pytest.raises(TrainingError, match="already holds a run.*--resume"):
        train(tiny_config(out, epochs=1, lr=0.01))
    assert {p: (out / p).read_bytes() for p in os.listdir(out)} == before


# ---------------------------------------------------------------------------------- exact resume
class CheckpointSnapshots(Callback):
    """Keeps a copy of every last.juanji a run writes: ``snapshots[global_step]`` -> path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.snapshots = {}

    def on_checkpoint_written(self, run, path):
        name = os.path.basename(path)
        if name in ("last.juanji", "best.juanji"):
            copy = self.folder / f"{name[:4]}-step-{run.global_step}.juanji"
            shutil.copyfile(path, copy)
            if name == "last.juanji":
                self.snapshots[run.global_step] = copy

    def __getitem__(self, step):
        return self.snapshots[step]


@pytest.fixture
def checkpoint_snapshots(tmp_path):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    return CheckpointSnapshots(folder)


def _resume_from_snapshot(snapshot: Path, reference: Path, folder: Path, config: TrainConfig):
    """A run folder as a run killed after ``snapshot`` would leave it, then resumed."""
    folder.mkdir()
    shutil.copyfile(snapshot, folder / "last.juanji")
    step = int(snapshot.stem.rsplit("-", 1)[1])
    bests = sorted((int(p.stem.rsplit("-", 1)[1]), p) for p in snapshot.parent.glob("best-step-*.juanji"))
    earlier = [p for s, p in bests if s <= step]
    if earlier:  # best.juanji as it was then
        shutil.copyfile(earlier[-1], folder / "best.juanji")
    shutil.copyfile(reference / "metrics.jsonl", folder / "metrics.jsonl")  # has records past the snapshot
    return train(config, resume=str(folder))


@pytest.mark.parametrize("optimizer, scheduler", [
    ("sgd", "onecycle"), ("adam", "cosine"), ("adamw", "multistep"), ("rmsprop", "plateau"), ("adagrad", "step"),
])
def test_resume_mid_epoch_is_bit_identical(tmp_path, tiny_net, checkpoint_snapshots, optimizer, scheduler):
    config = tiny_config(tmp_path / "reference", model=tiny_net, optimizer=optimizer, scheduler=scheduler,
                         epochs=2, lr=0.01, train_samples=128)
    reference = train(config, callbacks=[checkpoint_snapshots])
    # step 6: the 2nd batch of epoch 2 (4 batches per epoch, a checkpoint every 3 steps)
    snapshot = checkpoint_snapshots[6]
    assert load_checkpoint(snapshot)["progress"] == {"epoch": 1, "step_in_epoch": 2, "global_step": 6}
    resumed = _resume_from_snapshot(snapshot, tmp_path / "reference", tmp_path / "resumed",
                                    tiny_config(None, model=tiny_net))
    assert_same_run(tmp_path / "reference", tmp_path / "resumed")
    assert (resumed.test.accuracy, resumed.test.loss, resumed.test.count) == \
        (reference.test.accuracy, reference.test.loss, 100)


def test_resume_at_an_epoch_end_with_more_epochs_equals_the_longer_run(tmp_path):
    train(tiny_config(tmp_path / "two", epochs=2))
    one = tmp_path / "one"
    train(tiny_config(one, epochs=1))
    train(tiny_config(None), resume=str(one), given={"epochs": 2})
    assert_same_run(tmp_path / "two", one)


def test_resume_refuses_changed_settings(tmp_path):
    out = tmp_path / "run"
    train(tiny_config(out, epochs=1))
    with pytest.raises(TrainingError, match="--lr 0.5 differs from the checkpoint's 0.05"):
        train(tiny_config(None), resume=str(out), given={"lr": 0.5})
    with pytest.raises(TrainingError, match="--model resnet20 differs from the checkpoint's lenet5"):
        train(tiny_config(None), resume=str(out), given={"model": "resnet20"})
    cosine = tmp_path / "cosine"
    train(tiny_config(cosine, epochs=1, scheduler="cosine"))
    with pytest.raises(TrainingError, match="--epochs cannot change with --scheduler cosine"):
        train(tiny_config(None), resume=str(cosine), given={"epochs": 3})


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_for_line(lines: queue.Queue, marker: str, timeout: float, proc) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return seen
    proc.kill()
    raise AssertionError(f"never saw {marker!r}; output: {''.join(seen)}")


def cli(*args, env_extra=None, fault=None, **kwargs) -> subprocess.Popen:
    """``juanji ARGS`` in a subprocess; ``fault=(name, N)`` runs it through tests/fault_runner.py."""
    env = dict(os.environ, **(env_extra or {}))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    entry = ["juanji.cli"] if fault is None else ["tests.fault_runner", fault[0], str(fault[1])]
    return subprocess.Popen([sys.executable, "-m", *entry, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


CLI_RUN = ["train", "--model", "lenet5", "--data", "sample", "--train-samples", "320", "--test-samples", "100",
           "--batch-size", "32", "--epochs", "2", "--checkpoint-every", "4", "--log-every", "3", "--no-progress"]


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    # the uninterrupted run and the one to kill run side by side
    ref_proc = cli(*CLI_RUN, "--out", str(reference))
    proc = cli(*CLI_RUN, "--out", str(killed), fault=("stall-at-step", 14))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    try:
        _wait_for_line(lines, "fault: stalled after step 14", timeout=240, proc=proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    # 288 training images (32 held out for validation), 9 batches per epoch: the last checkpoint is
    # step 12, batch 3 of epoch 2; steps 13-14 are lost
    assert load_checkpoint(killed / "last.juanji")["progress"] == {"epoch": 1, "step_in_epoch": 3,
                                                                  "global_step": 12}
    ref_out, _ = ref_proc.communicate(timeout=240)
    assert ref_proc.returncode == 0, ref_out

    resumed = cli("train", "--resume", str(killed))
    out, _ = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, out
    assert "resuming" in out and "batch 3 of 9 (step 12)" in out
    assert_same_run(reference, killed)
    assert out.splitlines()[-4].startswith("test accuracy: ")
    assert out.splitlines()[-4] == ref_out.splitlines()[-4]


# ---------------------------------------------------------------------------------- pieces
def test_epoch_order_depends_only_on_seed_and_epoch():
    sampler = EpochShuffleSampler(50, seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    assert sorted(full) == list(range(50))
    juanji.manual_seed(123)  # the default generator plays no part
    sampler.set_epoch(2, start=20)
    assert list(sampler) == full[20:] and len(sampler) == 30
    sampler.set_epoch(3)
    assert list(sampler) != full
    assert list(EpochShuffleSampler(50, seed=4).__iter__()) != list(EpochShuffleSampler(50, seed=3).__iter__())
    with pytest.raises(ValueError, match="start 51 is outside"):
        sampler.set_epoch(0, start=51)


def test_preprocessing_matches_torchvision_formula():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 6, 7), dtype=np.uint8)
    mean, std = channel_statistics(images)
    values = images.astype(np.float64) / 255
    assert mean[0] == pytest.approx(values.mean(), rel=1e-12)
    assert std[0] == pytest.approx(values.std(), rel=1e-12)
    pre = Preprocessing(channels=1, height=6, width=7, pad=2, mean=mean, std=std)
    out = pre.apply(images)
    assert out.shape == (5, 1, 10, 11) and out.dtype == np.float32
    expected = (np.pad(values, ((0, 0), (2, 2), (2, 2))) - mean[0]) / std[0]
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-6, atol=1e-6)
    colour = rng.integers(0, 256, size=(3, 4, 5, 3), dtype=np.uint8)
    mean3, std3 = channel_statistics(colour)
    pre3 = Preprocessing(channels=3, height=4, width=5, mean=mean3, std=std3)
    expected3 = (np.moveaxis(colour, -1, 1) / 255 - np.array(mean3)[:, None, None]) / np.array(std3)[:, None, None]
    np.testing.assert_allclose(pre3.apply(colour), expected3, rtol=1e-6, atol=1e-6)
    assert Preprocessing.from_dict(pre3.to_dict()) == pre3


def test_validation_fraction_and_subsets_are_seeded_and_disjoint():
    a = load_datasets("sample", seed=5, val_fraction=0.25, train_samples=400, test_samples=50)
    b = load_datasets("sample", seed=5, val_fraction=0.25, train_samples=400, test_samples=50)
    assert len(a.train) == 300 and len(a.val) == 100 and len(a.test) == 50 and not a.val_is_test
    assert np.array_equal(a.val.images, b.val.images) and np.array_equal(a.train.labels, b.train.labels)
    flat = {img.tobytes() for img in a.train.images}
    assert not any(img.tobytes() in flat for img in a.val.images)
    images, labels = a.train[[0, 5, 7]]
    assert list(images.shape) == [3, 1, 28, 28] and labels.dtype == juanji.int64
    image, label = a.train[5]
    assert np.array_equal(image.numpy(), images.numpy()[1]) and label == int(labels.numpy()[1])
