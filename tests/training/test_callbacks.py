"""Callbacks run at the loop's fixed points, in order, with the run's state."""

import pytest

from juanji.training import Callback, train
from tests.test_train import tiny_config


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_step_end(self, run):
        self.events.append(("step", run.global_step))

    def before_checkpoint_rename(self, path):
        self.events.append(("rename", path.rsplit("/", 1)[-1]))

    def on_checkpoint_written(self, run, path):
        self.events.append(("written", path.rsplit("/", 1)[-1], run.global_step))

    def on_epoch_end(self, run, record):
        self.events.append(("epoch", record["epoch"], record["step"]))


def test_the_points_come_in_the_order_of_the_run(tmp_path):
    recorder = Recorder()
    train(tiny_config(tmp_path / "run", epochs=1, train_samples=96, checkpoint_every=2), callbacks=[recorder])
    # 3 steps; step 2 writes a mid-epoch checkpoint before its on_step_end; the epoch end writes last and (first epoch) best
    assert recorder.events == [
        ("step", 1), ("rename", "last.juanji"), ("written", "last.juanji", 2), ("step", 2), ("step", 3),
        ("epoch", 1, 3), ("rename", "last.juanji"), ("written", "last.juanji", 3),
        ("rename", "best.juanji"), ("written", "best.juanji", 3)]


def test_a_callback_must_be_a_callback(tmp_path):
    with pytest.raises(TypeError, match="callbacks must be juanji.training.Callback instances, got function"):
        train(tiny_config(tmp_path / "run", epochs=1), callbacks=[lambda run: None])
