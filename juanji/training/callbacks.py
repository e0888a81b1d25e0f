"""Callbacks: code that a caller of :func:`juanji.training.train` runs at fixed points of a run.

    class PrintLoss(Callback):
        def on_step_end(self, run):
            print(run.global_step, run.running.loss)

    train(TrainConfig(...), callbacks=[PrintLoss()])

The points, as a run meets them (a checkpoint's two come before the step's own):

    on_step_end(run)                    after each step, and after its checkpoint if one was due
    before_checkpoint_rename(path)      a checkpoint's temporary file is complete, not yet renamed
    on_checkpoint_written(run, path)    ``path`` now holds the new checkpoint
    on_epoch_end(run, record)           after validation; ``record`` is the metrics-log record

``run`` is the loop's state (model, optimizer, epoch, step_in_epoch, global_step, out, ...).
A callback must not change it. The kill-and-resume tests inject their faults here (stall
after a given step, stop inside a checkpoint write) instead of through environment variables.
"""

from __future__ import annotations

__all__ = ["Callback", "Callbacks"]


class Callback:
    """Override the points you need; the others do nothing."""

    def on_step_end(self, run) -> None:
        pass

    def before_checkpoint_rename(self, path: str) -> None:
        pass

    def on_checkpoint_written(self, run, path: str) -> None:
        pass

    def on_epoch_end(self, run, record: dict) -> None:
        pass


class Callbacks(Callback):
    """Several callbacks called in order, as one."""

    def __init__(self, callbacks=()) -> None:
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"train: callbacks must be juanji.training.Callback instances, "
                                f"got {type(callback).__name__}")

    def on_step_end(self, run) -> None:
        for callback in self.callbacks:
            callback.on_step_end(run)

    def before_checkpoint_rename(self, path: str) -> None:
        for callback in self.callbacks:
            callback.before_checkpoint_rename(path)

    def on_checkpoint_written(self, run, path: str) -> None:
        for callback in self.callbacks:
            callback.on_checkpoint_written(run, path)

    def on_epoch_end(self, run, record: dict) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(run, record)
