"""The training loop behind ``juanji train``: epochs of mini-batch steps, validation, checkpoints.

One step is the usual five lines::

    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    scheduler.step()            # per-batch schedules (cosine, onecycle); others step per epoch

What the loop adds around it:

- everything is checked before anything is written: the data is read in full, the model is
  built and shown one image (so a model that does not fit the images fails at once), and an
  existing run in ``--out`` is never overwritten;
- a checkpoint (``last.juanji``) every ``--checkpoint-every`` steps and at every epoch end,
  and ``best.juanji`` whenever the validation accuracy improves; both written atomically;
- ``--resume`` continues bit for bit (``resume.py``: the checkpoint payload, restoring it, and
  which settings a resumed run may change);
- the metrics log (``metrics.jsonl``), the curves (``curves.png``) and the progress display;
- callbacks at fixed points of the run (``callbacks.py``).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

from .. import backend
from ..autograd import no_grad
from ..checkpoint import atomic_write_bytes, load_checkpoint, save_checkpoint
from ..nn import functional as F
from .builders import build_model, build_optimizer, build_scheduler, constructor_arguments
from .callbacks import Callbacks
from .choices import OPTIMIZERS, SCHEDULERS
from .config import TrainConfig
from .curves import plot_curves
from .data import Datasets, evaluation_loader, load_datasets, training_loader
from .distributed import Ranks
from .errors import TrainingError, one_line
from .inference import EVAL_BATCH_SIZE, EvalResult, evaluate
from .metrics import MetricsLog, RunningMetrics
from .preprocess import Preprocessing
from .progress import TrainingProgress
from .resume import checkpoint_payload, restore_run, resume_config
from .run_folder import refuse_existing_run, remove_stale_temporaries, resume_path, run_file
from .sampler import EpochShuffleSampler

__all__ = ["train", "RunResult"]


@dataclass
class RunResult:
    """Where a finished run left its files, and its final numbers."""

    out: str
    test: EvalResult
    best_accuracy: float
    best_epoch: int
    epochs: list = field(default_factory=list)  # the epoch records of the metrics log

    def path(self, kind: str) -> str:
        return run_file(self.out, kind)


# ---------------------------------------------------------------------------------- the run
class _Run:
    """The state of one run: model, optimiser, schedule, data, position in the run, best so far."""

    def __init__(self, config: TrainConfig, datasets: Datasets, progress: TrainingProgress, out: str,
                 callbacks: Callbacks, ranks: Ranks | None = None):
        self.config = config
        self.ranks = ranks or Ranks()  # one process, or rank r of K (distributed.py)
        self.data = datasets
        self.progress = progress
        self.out = out
        self.callbacks = callbacks
        self.log = MetricsLog(run_file(out, "metrics"))
        c = config
        # the seed fixes the initial weights and every later draw from juanji's generator (dropout)
        backend.manual_seed(c.seed)
        self.model_kwargs = constructor_arguments(c.model, {"num_classes": len(datasets.classes),
                                                            "in_channels": datasets.preprocessing.channels,
                                                            **c.model_args})
        self.model = build_model(c.model, **self.model_kwargs)
        self._check_model_fits()
        # what the steps call: the model itself, or DistributedDataParallel around it
        self.train_model = self.ranks.wrap(self.model)
        self.ranks.check_batches(len(datasets.train), c.batch_size)
        self.optimizer = build_optimizer(c, self.model.parameters())
        self.steps_per_epoch = math.ceil(len(datasets.train) / c.batch_size)
        self.scheduler = build_scheduler(c, self.optimizer, self.steps_per_epoch)
        self.per_batch_schedule = SCHEDULERS[c.scheduler].per_batch
        self.sampler = EpochShuffleSampler(len(datasets.train), c.seed)
        self.loader = training_loader(datasets.train, self.sampler, c.batch_size, c.workers, c.seed)
        self.val_loader = evaluation_loader(datasets.val, max(EVAL_BATCH_SIZE, c.batch_size))
        # where the run stands
        self.epoch = 0            # index of the current epoch (= epochs completed)
        self.step_in_epoch = 0    # batches of the current epoch already trained on
        self.global_step = 0
        self.running = RunningMetrics()
        self.best_accuracy = -1.0
        self.best_epoch = 0
        self.last_val: EvalResult | None = None

    def _check_model_fits(self) -> None:
        """Show the model one training image: a shape that does not fit fails now, in one line."""
        images, _ = self.data.train[[0]]
        try:
            self.model.eval()
            with no_grad():
                logits = self.model(images)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:  # a layer's shape error names the layer
            raise TrainingError(f"model '{self.config.model}' does not fit the images of {self.data.description} "
                                f"(input {list(images.shape)}): {one_line(e)}") from None
        finally:
            self.model.train()
        expected = [1, len(self.data.classes)]
        if list(logits.shape) != expected:
            raise TrainingError(f"model '{self.config.model}' returned {list(logits.shape)} for input "
                                f"{list(images.shape)}, expected {expected} (one score per class)")

    # ------------------------------------------------------------------ checkpoints
    def save(self, best: bool = False) -> None:
        """Write last.juanji (and, the same bytes, best.juanji) atomically (rank 0 only)."""
        payload = checkpoint_payload(self)  # (on every rank: it gathers every rank's generator state)
        if not self.ranks.is_main:
            return
        last = run_file(self.out, "last")
        save_checkpoint(payload, last, before_rename=self.callbacks.before_checkpoint_rename)
        self.callbacks.on_checkpoint_written(self, last)
        if best:
            best_path = run_file(self.out, "best")
            with open(last, "rb") as f:
                atomic_write_bytes(best_path, f.read(), before_rename=self.callbacks.before_checkpoint_rename)
            self.callbacks.on_checkpoint_written(self, best_path)

    # ------------------------------------------------------------------ training
    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_step(self, images, labels) -> tuple[float, int]:
        self.optimizer.zero_grad()
        if self.ranks.active:  # this rank's rows; DDP's average of the scaled sums is the batch mean
            n, rows = len(labels), self.ranks.rows(len(labels))
            images, labels = images[rows], labels[rows]
            logits = self.train_model(images)
            loss = F.cross_entropy(logits, labels, reduction="sum") * (self.ranks.size / n)
        else:
            logits = self.train_model(images)
            loss = F.cross_entropy(logits, labels)
        loss.backward()
        self.optimizer.step()
        if self.per_batch_schedule:
            self.scheduler.step()
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            raise TrainingError(f"the loss became {loss_value} at epoch {self.epoch + 1}, step {self.global_step + 1}; "
                                f"try a smaller --lr (the last checkpoint in {self.out} is intact)")
        correct = int((logits._data.argmax(axis=1) == labels._data).sum())
        if self.ranks.active:  # the whole batch's mean loss and correct count
            loss_value, correct = self.ranks.sums(loss_value / self.ranks.size, correct)
            correct = round(correct)
        return loss_value, correct

    def evaluate(self, dataset, loader):
        """Validation/test numbers over ``dataset`` (split over the ranks when there are several)."""
        if self.ranks.active:
            return self.ranks.evaluate(self.model, dataset, max(EVAL_BATCH_SIZE, self.config.batch_size))
        return evaluate(self.model, loader)

    def run_epoch(self) -> None:
        c = self.config
        self.sampler.set_epoch(self.epoch, start=self.step_in_epoch * c.batch_size)
        self.progress.start_epoch(self.epoch + 1, c.epochs, self.steps_per_epoch, self.step_in_epoch)
        self.model.train()
        started = time.perf_counter()
        data_seconds = 0.0
        images_done = 0
        batches = iter(self.loader)
        while True:
            fetch_started = time.perf_counter()
            try:
                images, labels = next(batches)
            except StopIteration:
                break
            data_seconds += time.perf_counter() - fetch_started
            loss_value, correct = self.train_step(images, labels)
            self.running.update(loss_value, correct, len(labels))
            self.step_in_epoch += 1
            self.global_step += 1
            images_done += len(labels)
            images_per_s = images_done / max(time.perf_counter() - started, 1e-9)
            self.progress.update(self.step_in_epoch, self.running.loss, self.running.accuracy, images_per_s)
            if self.global_step % c.log_every == 0 and self.ranks.is_main:
                self.log.append({"kind": "step", "epoch": self.epoch + 1, "step": self.global_step,
                                 "loss": loss_value, "accuracy": correct / len(labels), "lr": self.current_lr(),
                                 "images_per_s": images_per_s})
            if c.checkpoint_every and self.global_step % c.checkpoint_every == 0 \
                    and self.step_in_epoch < self.steps_per_epoch:
                self.save()
            self.callbacks.on_step_end(self)
        seconds = time.perf_counter() - started
        self.progress.end_epoch()
        self.finish_epoch(seconds, images_done, data_seconds)

    def finish_epoch(self, seconds: float, images_done: int, data_seconds: float) -> None:
        """Validate, step a per-epoch schedule, log, checkpoint, redraw the curves."""
        c = self.config
        val = self.evaluate(self.data.val, self.val_loader)
        self.model.train()
        self.last_val = val
        lr = self.current_lr()
        if self.scheduler is not None and not self.per_batch_schedule:
            if c.scheduler == "plateau":
                self.scheduler.step(val.loss)
            else:
                self.scheduler.step()
        record = {"kind": "epoch", "epoch": self.epoch + 1, "step": self.global_step,
                  "train_loss": self.running.loss, "train_accuracy": self.running.accuracy,
                  "val_loss": val.loss, "val_accuracy": val.accuracy, "lr": lr, "seconds": seconds,
                  "images_per_s": images_done / max(seconds, 1e-9),
                  "data_share": data_seconds / max(seconds, 1e-9)}
        if self.ranks.is_main:
            self.log.append(record)
        self.callbacks.on_epoch_end(self, record)
        improved = val.accuracy > self.best_accuracy
        if improved:
            self.best_accuracy, self.best_epoch = val.accuracy, self.epoch + 1
        self.epoch += 1
        self.step_in_epoch = 0
        self.running = RunningMetrics()
        self.save(best=improved)
        if self.ranks.is_main:
            plot_curves(self.log.read(), run_file(self.out, "curves"),
                        title=f"{c.model} on {self.data.description}")
        self.progress.print(
            f"epoch {record['epoch']}/{c.epochs}  train loss {record['train_loss']:.4f} "
            f"acc {100 * record['train_accuracy']:.2f}%  val loss {val.loss:.4f} acc {100 * val.accuracy:.2f}%  "
            f"lr {lr:.3g}  {seconds:.1f} s  {record['images_per_s']:,.0f} img/s" + ("  *best*" if improved else ""))


# ---------------------------------------------------------------------------------- entry point
def train(config: TrainConfig, resume=None, given: dict | None = None,
          progress: TrainingProgress | None = None, callbacks=()) -> RunResult:
    """Train (or, with ``resume``, continue) a run; raise TrainingError / CheckpointError on bad input.

    ``given`` holds the settings named on the command line (checked against a resumed run's);
    ``callbacks`` are :class:`juanji.training.Callback` instances (see callbacks.py).
    """
    callbacks = Callbacks(callbacks)
    ranks = Ranks.from_launcher()  # under mpiexec -n K: rank r of K (distributed.py)
    given = dict(given or {})
    payload = None
    if resume:
        path = resume_path(resume, given.get("out") or (config.out if config.out else None))
        payload = load_checkpoint(path)
        config = resume_config(payload["config"], given)
        out = os.path.dirname(os.path.abspath(path))
    else:
        config = config.resolved()
        out = config.out
        refuse_existing_run(out)
    if progress is None:  # (the other ranks show nothing: rank 0 reports for all)
        progress = TrainingProgress(enabled=config.progress) if ranks.is_main else ranks.silent_progress()

    recorded = None if payload is None else Preprocessing.from_dict(payload["preprocessing"])
    datasets = load_datasets(config.data, config.data_root, seed=config.seed, val_fraction=config.val_fraction,
                             train_samples=config.train_samples, test_samples=config.test_samples,
                             image_size=config.image_size, channels=config.channels, pad=config.pad,
                             preprocessing=recorded)
    if payload is None:  # record where the data was found, so eval and resume read the same files
        config.data = datasets.source["data"]
        config.data_root = datasets.source.get("data_root")
    run = _Run(config, datasets, progress, out, callbacks, ranks)
    if payload is not None:
        restore_run(run, payload, path)
        if run.epoch > config.epochs:
            raise TrainingError(f"--resume: the checkpoint has already trained {run.epoch} epochs, "
                                f"more than --epochs {config.epochs}")

    # from here on files are written (by rank 0 alone)
    if ranks.is_main:
        os.makedirs(out, exist_ok=True)
        remove_stale_temporaries(out)
    if payload is None:
        if ranks.is_main:
            run.log.reset()
        progress.print(_describe_start(config, datasets, out) + (f", {ranks.size} processes" if ranks.active else ""))
    else:
        if ranks.is_main:
            run.log.truncate_after(run.global_step)
        progress.print(f"resuming {path}: epoch {run.epoch + 1}, "
                       f"batch {run.step_in_epoch} of {run.steps_per_epoch} (step {run.global_step})")

    try:
        while run.epoch < config.epochs:
            run.run_epoch()
    finally:
        progress.close()

    if datasets.val_is_test and run.last_val is not None:
        test = run.last_val  # the last validation pass already measured the final weights on the test split
    else:
        test = run.evaluate(datasets.test, evaluation_loader(datasets.test, max(EVAL_BATCH_SIZE, config.batch_size)))
    epochs = [r for r in run.log.read() if r.get("kind") == "epoch"] if ranks.is_main else []
    return RunResult(out=out, test=test, best_accuracy=run.best_accuracy, best_epoch=run.best_epoch, epochs=epochs)


def _describe_start(config: TrainConfig, datasets: Datasets, out: str) -> str:
    c = config
    pre = datasets.preprocessing
    size = f"{pre.height}x{pre.width}" + (f" padded to {pre.input_shape[1]}x{pre.input_shape[2]}" if pre.pad else "")
    kind = "grey" if pre.channels == 1 else "RGB"
    val = "the test split" if datasets.val_is_test else f"{len(datasets.val):,} held-out training images"
    optimiser = f"{c.optimizer} (lr {c.lr:g}" + (f", momentum {c.momentum:g}" if OPTIMIZERS[c.optimizer].momentum is not None else "") \
        + (f", weight decay {c.weight_decay:g}" if c.weight_decay else "") + ")"
    return (f"juanji train: {c.model} on {datasets.description}: {len(datasets.train):,} train / "
            f"{len(datasets.test):,} test images ({size} {kind}), {len(datasets.classes)} classes; "
            f"validating on {val}\n"
            f"  {c.epochs} epochs, batch {c.batch_size}, {optimiser}, scheduler {c.scheduler}, seed {c.seed}, "
            f"{c.workers} workers -> {out}")
