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
- ``--resume`` restores the model, optimiser, scheduler, juanji's generator state, the sampler
  position and the partial epoch sums, and continues bit for bit: epoch ``e``'s order is drawn
  from ``(seed, e)`` alone and the batches already trained on are skipped without being read;
- the metrics log (``metrics.jsonl``), the curves (``curves.png``) and the progress display.
"""

from __future__ import annotations

import glob
import math
import os
import time
from dataclasses import dataclass, field


from .. import backend
from ..autograd import no_grad
from ..checkpoint import (TEMP_PREFIX, CheckpointError, atomic_write_bytes, load_checkpoint, model_from_checkpoint,
                          save_checkpoint)
from ..nn import functional as F
from .builders import build_model, build_optimizer, build_scheduler
from .choices import OPTIMIZERS, SCHEDULERS
from .config import RESUME_OVERRIDABLE, TrainConfig
from .curves import plot_curves
from .data import Datasets, evaluation_loader, load_datasets, training_loader
from .errors import TrainingError, one_line
from .inference import EVAL_BATCH_SIZE, EvalResult, evaluate
from .metrics import MetricsLog, RunningMetrics
from .preprocess import Preprocessing
from .progress import TrainingProgress
from .sampler import EpochShuffleSampler

__all__ = ["train", "RunResult", "RUN_FILES", "resume_config"]

# the files of a run folder
RUN_FILES = {"last": "last.juanji", "best": "best.juanji", "metrics": "metrics.jsonl", "curves": "curves.png"}
# Test hook: stop making progress (sleep) once this global step is done, so that a test can kill
# the process at a known point in the middle of an epoch.
_STALL_ENV = "JUANJI_TEST_STALL_AT_STEP"


@dataclass
class RunResult:
    """Where a finished run left its files, and its final numbers."""

    out: str
    test: EvalResult
    best_accuracy: float
    best_epoch: int
    epochs: list = field(default_factory=list)  # the epoch records of the metrics log

    def path(self, kind: str) -> str:
        return os.path.join(self.out, RUN_FILES[kind])


# ---------------------------------------------------------------------------------- settings
def resume_config(saved: dict, given: dict) -> TrainConfig:
    """The saved settings, with the options given on the command line checked against them.

    Only settings that do not change what the remaining steps compute (``RESUME_OVERRIDABLE``)
    may differ; any other one names itself in the error.
    """
    config = TrainConfig.from_dict(saved)
    for key, value in given.items():
        if key in ("out",):
            continue  # the run folder is the checkpoint's
        if key in RESUME_OVERRIDABLE:
            setattr(config, key, value)
            continue
        if key not in saved:
            raise TrainingError(f"--resume: unknown setting {key}")
        old = saved[key]
        same = (list(old) == list(value)) if isinstance(old, (list, tuple)) and value is not None else old == value
        if not same:
            option = "--" + key.replace("_", "-")
            raise TrainingError(f"--resume: {option} {value} differs from the checkpoint's {old}; a resumed run "
                                f"keeps its settings (only {', '.join('--' + k.replace('_', '-') for k in RESUME_OVERRIDABLE)}"
                                " may change)")
    if config.epochs != saved["epochs"] and SCHEDULERS[config.scheduler].fixed_length:
        raise TrainingError(f"--resume: --epochs cannot change with --scheduler {config.scheduler}, whose "
                            f"course was laid out for {saved['epochs']} epochs")
    config.check()
    return config


def _resume_path(resume, out) -> str:
    """``--resume PATH`` (a checkpoint or a run folder), or ``--resume`` alone with ``--out``."""
    if resume is True:
        if not out:
            raise TrainingError("--resume without a path needs --out (the run folder to continue)")
        resume = out
    resume = os.fspath(resume)
    if os.path.isdir(resume):
        return os.path.join(resume, RUN_FILES["last"])
    return resume


def _refuse_existing_run(out: str) -> None:
    for kind in ("last", "best"):
        path = os.path.join(out, RUN_FILES[kind])
        if os.path.exists(path):
            raise TrainingError(f"--out {out} already holds a run ({path}); pass --resume to continue it, "
                                "or choose another --out")


# ---------------------------------------------------------------------------------- the run
class _Run:
    """The state of one run: model, optimiser, schedule, data, position in the run, best so far."""

    def __init__(self, config: TrainConfig, datasets: Datasets, progress: TrainingProgress, out: str):
        self.config = config
        self.data = datasets
        self.progress = progress
        self.out = out
        self.log = MetricsLog(os.path.join(out, RUN_FILES["metrics"]))
        c = config
        # the seed fixes the initial weights and every later draw from juanji's generator (dropout)
        backend.manual_seed(c.seed)
        self.model_kwargs = {"num_classes": len(datasets.classes), "in_channels": datasets.preprocessing.channels,
                             **c.model_args}
        self.model = build_model(c.model, **self.model_kwargs)
        self._check_model_fits()
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
    def payload(self) -> dict:
        """Everything :meth:`restore` needs, and what eval/predict need (see juanji/checkpoint.py)."""
        return {
            "model": {"name": self.config.model, "kwargs": dict(self.model_kwargs)},
            "model_state": self.model.state_dict(),
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": None if self.scheduler is None else self.scheduler.state_dict(),
            "preprocessing": self.data.preprocessing.to_dict(),
            "classes": list(self.data.classes),
            "data": dict(self.data.source),
            "config": self.config.to_dict(),
            "rng": {"generator": backend.get_rng_state(),
                    "sampler": {"seed": self.sampler.seed, "epoch": self.epoch,
                                "position": self.step_in_epoch * self.config.batch_size}},
            "progress": {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "global_step": self.global_step},
            "running": self.running.to_dict(),
            "best": {"accuracy": self.best_accuracy, "epoch": self.best_epoch},
        }

    def save(self, best: bool = False) -> None:
        last = os.path.join(self.out, RUN_FILES["last"])
        save_checkpoint(self.payload(), last)
        if best:  # the same bytes, written atomically under the other name
            with open(last, "rb") as f:
                atomic_write_bytes(os.path.join(self.out, RUN_FILES["best"]), f.read())

    def restore(self, payload: dict, path: str) -> None:
        """Continue from a checkpoint: weights, optimiser, schedule, generator, position."""
        if payload["model"]["name"] != self.config.model:
            raise CheckpointError(f"checkpoint '{path}' is for model '{payload['model']['name']}', "
                                  f"not '{self.config.model}'")
        model_from_checkpoint(payload, path, build=lambda name, **kwargs: self.model)
        try:
            self.optimizer.load_state_dict(payload["optimizer_state"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(payload["scheduler_state"])
            backend.set_rng_state(payload["rng"]["generator"])
            progress = payload["progress"]
            self.epoch = int(progress["epoch"])
            self.step_in_epoch = int(progress["step_in_epoch"])
            self.global_step = int(progress["global_step"])
            self.running = RunningMetrics.from_dict(payload.get("running"))
            self.best_accuracy = float(payload["best"]["accuracy"])
            self.best_epoch = int(payload["best"]["epoch"])
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"checkpoint '{path}' cannot be resumed: its training state is incomplete "
                                  f"({one_line(e)})") from None
        if self.step_in_epoch > self.steps_per_epoch:
            raise CheckpointError(f"checkpoint '{path}' stopped at batch {self.step_in_epoch} of an epoch, "
                                  f"but an epoch here has {self.steps_per_epoch}")

    # ------------------------------------------------------------------ training
    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_step(self, images, labels) -> tuple[float, int]:
        self.optimizer.zero_grad()
        logits = self.model(images)
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
        return loss_value, correct

    def run_epoch(self) -> None:
        c = self.config
        self.sampler.set_epoch(self.epoch, start=self.step_in_epoch * c.batch_size)
        self.progress.start_epoch(self.epoch + 1, c.epochs, self.steps_per_epoch, self.step_in_epoch)
        self.model.train()
        stall_at = int(os.environ.get(_STALL_ENV, "0") or 0)
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
            if self.global_step % c.log_every == 0:
                self.log.append({"kind": "step", "epoch": self.epoch + 1, "step": self.global_step,
                                 "loss": loss_value, "accuracy": correct / len(labels), "lr": self.current_lr(),
                                 "images_per_s": images_per_s})
            if c.checkpoint_every and self.global_step % c.checkpoint_every == 0 \
                    and self.step_in_epoch < self.steps_per_epoch:
                self.save()
            if stall_at and self.global_step == stall_at:
                print(f"juanji test hook: stalled after step {self.global_step}", flush=True)
                time.sleep(3600)
        seconds = time.perf_counter() - started
        self.progress.end_epoch()
        self.finish_epoch(seconds, images_done, data_seconds)

    def finish_epoch(self, seconds: float, images_done: int, data_seconds: float) -> None:
        """Validate, step a per-epoch schedule, log, checkpoint, redraw the curves."""
        c = self.config
        val = evaluate(self.model, self.val_loader)
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
        self.log.append(record)
        improved = val.accuracy > self.best_accuracy
        if improved:
            self.best_accuracy, self.best_epoch = val.accuracy, self.epoch + 1
        self.epoch += 1
        self.step_in_epoch = 0
        self.running = RunningMetrics()
        self.save(best=improved)
        plot_curves(self.log.read(), os.path.join(self.out, RUN_FILES["curves"]),
                    title=f"{c.model} on {self.data.description}")
        self.progress.print(
            f"epoch {record['epoch']}/{c.epochs}  train loss {record['train_loss']:.4f} "
            f"acc {100 * record['train_accuracy']:.2f}%  val loss {val.loss:.4f} acc {100 * val.accuracy:.2f}%  "
            f"lr {lr:.3g}  {seconds:.1f} s  {record['images_per_s']:,.0f} img/s" + ("  *best*" if improved else ""))


# ---------------------------------------------------------------------------------- entry point
def train(config: TrainConfig, resume=None, given: dict | None = None,
          progress: TrainingProgress | None = None) -> RunResult:
    """Train (or, with ``resume``, continue) a run; raise TrainingError / CheckpointError on bad input.

    ``given`` holds the settings named on the command line (checked against a resumed run's).
    """
    given = dict(given or {})
    payload = None
    if resume:
        path = _resume_path(resume, given.get("out") or (config.out if config.out else None))
        payload = load_checkpoint(path)
        config = resume_config(payload["config"], given)
        out = os.path.dirname(os.path.abspath(path))
    else:
        config = config.resolved()
        out = config.out
        _refuse_existing_run(out)
    progress = progress or TrainingProgress(enabled=config.progress)

    recorded = None if payload is None else Preprocessing.from_dict(payload["preprocessing"])
    datasets = load_datasets(config.data, config.data_root, seed=config.seed, val_fraction=config.val_fraction,
                             train_samples=config.train_samples, test_samples=config.test_samples,
                             image_size=config.image_size, channels=config.channels, pad=config.pad,
                             preprocessing=recorded)
    if payload is None:  # record where the data was found, so eval and resume read the same files
        config.data = datasets.source["data"]
        config.data_root = datasets.source.get("data_root")
    run = _Run(config, datasets, progress, out)
    if payload is not None:
        run.restore(payload, path)
        if run.epoch > config.epochs:
            raise TrainingError(f"--resume: the checkpoint has already trained {run.epoch} epochs, "
                                f"more than --epochs {config.epochs}")

    # from here on files are written
    os.makedirs(out, exist_ok=True)
    for stale in glob.glob(os.path.join(out, TEMP_PREFIX + "*")):
        os.remove(stale)  # a temporary file left by a write that was killed before its rename
    if payload is None:
        run.log.reset()
        progress.print(_describe_start(config, datasets, out))
    else:
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
        test = evaluate(run.model, evaluation_loader(datasets.test, max(EVAL_BATCH_SIZE, config.batch_size)))
    epochs = [r for r in run.log.read() if r.get("kind") == "epoch"]
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
