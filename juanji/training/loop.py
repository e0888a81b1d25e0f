"""The training loop behind ``juanji train``: epochs of mini-batch steps, validation, checkpoints.

One step is the usual five lines::

    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    scheduler.step()            # per-batch schedules (cosine, onecycle); others step per epoch

What the loop adds around it:

- everything is checked before anything is written: the data is read in full, the model is
  built and shown one image (so a model that does not fit the images fails at once), ``--out``
  must be a writable folder, and an existing run there is never overwritten;
- validation on a seeded share of the training images (``--val-fraction``, 10 % by default),
  never the test split unless asked; the test split is measured once, at the end, on the best
  checkpoint;
- a checkpoint (``last.juanji``) every ``--checkpoint-every`` steps, at every epoch end and when
  Ctrl-C or SIGTERM stops the run (``interrupt.py``); ``best.juanji`` whenever the validation
  accuracy improves; with ``--save-top-k K`` the K best epochs' checkpoints; all atomic;
- ``--early-stopping N`` ends the run after N epochs without a better validation accuracy;
- a loss that stops being finite ends the run with one line saying where and what was kept;
- ``--resume`` continues bit for bit (``resume.py``: the checkpoint payload, restoring it, and
  which settings a resumed run may change);
- the metrics log (``metrics.jsonl``), the curves (``curves.png``) and the progress display;
- callbacks at fixed points of the run (``callbacks.py``); several processes (``distributed.py``).

Output and files go through ``_Run.say``/``_Run.warn``, ``_Run.save`` and ``MetricsLog``, which
only rank 0 of a multi-process run acts on.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import random
from ..autograd import no_grad
from ..checkpoint import atomic_write_bytes, load_checkpoint, load_weights, save_checkpoint
from .builders import build_model, build_optimizer, build_scheduler, constructor_arguments
from .callbacks import Callbacks
from .choices import OPTIMIZERS, SCHEDULERS
from .config import TrainConfig
from .curves import plot_curves
from .data import Datasets, evaluation_loader, training_loader
from .distributed import Ranks
from .errors import TrainingError, one_line
from .inference import EVAL_BATCH_SIZE, EvalResult
from .interrupt import TrainingInterrupted, stop_requests
from .metrics import MetricsLog, RunningMetrics
from .preprocess import Preprocessing
from .pretrained import build_pretrained, data_for_weights, rebuild_fine_tuned, trainable_parameters
from .progress import TrainingProgress
from .resume import checkpoint_payload, restore_run, resume_config
from .run_folder import (check_writable_folder, refuse_existing_run, remove_stale_temporaries, resume_path,
                         run_file, top_k_file, writing)
from .sampler import EpochShuffleSampler
from .tasks import get_task

__all__ = ["train", "RunResult"]


@dataclass
class RunResult:
    """Where a finished run left its files, and its final numbers.

    ``test`` is measured once, at the end, with the best checkpoint's weights; ``best_accuracy``
    is that checkpoint's validation accuracy (on ``val_count`` images; on the test split itself
    when ``val_is_test``).
    """

    out: str
    test: EvalResult
    best_accuracy: float
    best_epoch: int
    epochs: list = field(default_factory=list)  # the epoch records of the metrics log
    val_count: int = 0
    val_is_test: bool = False
    stopped_early: bool = False
    task: str = "classification"   # segmentation: best_accuracy is then the best validation mIoU

    def path(self, kind: str) -> str:
        return run_file(self.out, kind)


# ---------------------------------------------------------------------------------- the run
class _Run:
    """The state of one run: model, optimiser, schedule, data, position in the run, best so far."""

    def __init__(self, config: TrainConfig, datasets: Datasets, progress: TrainingProgress, out: str,
                 callbacks: Callbacks, ranks: Ranks | None = None, pretrained=None, recorded_kwargs=None):
        self.config = config
        self.ranks = ranks or Ranks()  # one process, or rank r of K (distributed.py)
        self.data = datasets
        self.progress = progress
        self.out = out
        self.callbacks = callbacks
        self.log = MetricsLog(run_file(out, "metrics"), enabled=self.ranks.is_main)
        c = config
        self.task = get_task(c.task)
        self.task.check_model_name(c.model)
        if self.task.name != "classification" and self.ranks.active:
            raise TrainingError(f"--task {self.task.name} trains on one process (--nproc is for classification)")
        # the seed fixes the initial weights and every later draw from juanji's generator (dropout)
        random.manual_seed(c.seed)
        if c.weights and recorded_kwargs is not None:   # resuming a fine-tuning run: no weights file needed
            self.model_kwargs = dict(recorded_kwargs)
            self.model = rebuild_fine_tuned(c.model, self.model_kwargs, c.freeze_backbone)
        elif c.weights:   # pretrained weights in, the head replaced for the data's classes (pretrained.py)
            self.model, self.model_kwargs = build_pretrained(
                c.model, pretrained, len(datasets.classes), datasets.preprocessing.channels, c.model_args,
                c.freeze_backbone)
        else:
            self.model_kwargs = constructor_arguments(c.model, {"num_classes": len(datasets.classes),
                                                                "in_channels": datasets.preprocessing.channels,
                                                                **self.task.model_defaults(c.model),
                                                                **c.model_args})
            self.model = build_model(c.model, **self.model_kwargs)
        self._check_model_fits()
        # what the steps call: the model itself, or DistributedDataParallel around it
        self.train_model = self.ranks.wrap(self.model)
        self.ranks.check_batches(len(datasets.train), c.batch_size)
        self.optimizer = build_optimizer(c, trainable_parameters(self.model))
        self.steps_per_epoch = math.ceil(len(datasets.train) / c.batch_size)
        self.scheduler = build_scheduler(c, self.optimizer, self.steps_per_epoch)
        self.per_batch_schedule = SCHEDULERS[c.scheduler].per_batch
        self.sampler = EpochShuffleSampler(len(datasets.train), c.seed)
        self.loader = training_loader(datasets.train, self.sampler, c.batch_size, c.workers, c.seed)
        self.eval_batch_size = max(EVAL_BATCH_SIZE, c.batch_size)
        self.val_loader = evaluation_loader(datasets.val, self.eval_batch_size)
        # where the run stands
        self.epoch = 0            # index of the current epoch (= epochs completed)
        self.step_in_epoch = 0    # batches of the current epoch already trained on
        self.global_step = 0
        self.running = RunningMetrics()
        self.best_accuracy = -1.0
        self.best_epoch = 0
        self.top_k: list[tuple[float, int]] = []   # (val accuracy, epoch) of the --save-top-k files
        self.last_saved: tuple[str, int] | None = None   # (path, global step) of the newest last.juanji
        self.best_state: dict | None = None   # the best epoch's weights, when it was reached in this process
        self.stop = None          # set by train(): the signal that asked the run to stop

    def _check_model_fits(self) -> None:
        """Show the model one training image: a shape that does not fit fails now, in one line."""
        images, _ = self.data.train[[0]]
        try:
            self.model.eval()
            with no_grad():
                output = self.model(images)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:  # a layer's shape error names the layer
            raise TrainingError(f"model '{self.config.model}' does not fit the images of {self.data.description} "
                                f"(input {list(images.shape)}): {one_line(e)}") from None
        finally:
            self.model.train()
        self.task.check_output(output, images, len(self.data.classes), self.config.model)

    # ------------------------------------------------------------------ output (rank 0 only)
    def say(self, line: str) -> None:
        if self.ranks.is_main:
            self.progress.print(line)

    def warn(self, line: str) -> None:
        if self.ranks.is_main:
            self.progress.warn(line)

    # ------------------------------------------------------------------ checkpoints
    def save(self, best: bool = False) -> None:
        """Write last.juanji (and, the same bytes, best.juanji and the epoch's top-k file) atomically
        (rank 0 only)."""
        self._refuse_diverged_weights()
        payload = checkpoint_payload(self)  # (on every rank: it gathers every rank's generator state)
        if not self.ranks.is_main:
            return
        last = run_file(self.out, "last")
        with writing(last):
            save_checkpoint(payload, last, before_rename=self.callbacks.before_checkpoint_rename)
        self.last_saved = (last, self.global_step)
        self.callbacks.on_checkpoint_written(self, last)
        copies = [run_file(self.out, "best")] if best else []
        if self.config.save_top_k > 1 and self.step_in_epoch == 0 and (self.top_k and self.top_k[-1][1] == self.epoch):
            copies.append(top_k_file(self.out, self.epoch))   # this epoch just entered the top k
        for path in copies:
            with writing(path), open(last, "rb") as f:
                atomic_write_bytes(path, f.read(), before_rename=self.callbacks.before_checkpoint_rename)
            self.callbacks.on_checkpoint_written(self, path)
        self._remove_dropped_top_k()

    def _remove_dropped_top_k(self) -> None:
        """Delete the top-k files of epochs that left the top k (after last.juanji forgot them)."""
        if self.config.save_top_k <= 1:
            return
        kept = {top_k_file(self.out, epoch) for _, epoch in self.top_k}
        for name in os.listdir(self.out):
            path = os.path.join(self.out, name)
            if name.startswith("top-epoch") and name.endswith(".juanji") and path not in kept:
                os.remove(path)

    def _refuse_diverged_weights(self) -> None:
        """Never write a checkpoint whose weights are no longer finite."""
        for name, p in self.model.named_parameters():
            if not np.isfinite(p._data).all():
                raise self._diverged(f"parameter {name} became inf/nan")

    def _diverged(self, what: str, where: str | None = None) -> TrainingError:
        kept = []
        if self.last_saved is not None:
            kept.append(f"{self.last_saved[0]} (step {self.last_saved[1]})")
        if self.best_epoch:
            kept.append(f"{run_file(self.out, 'best')} (epoch {self.best_epoch}, validation accuracy "
                        f"{100 * self.best_accuracy:.2f}%)")
        where = where or f"at epoch {self.epoch + 1}, step {self.global_step + 1}"
        return TrainingError(f"training diverged: {what} {where} "
                             f"(lr {self.current_lr():.3g}); kept " + (" and ".join(kept) or "no checkpoint")
                             + "; try a smaller --lr")

    # ------------------------------------------------------------------ training
    def current_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def train_step(self, images, labels) -> tuple[float, int, int]:
        """One optimiser step; the batch's mean loss, and (right, counted) for the running accuracy."""
        self.optimizer.zero_grad()
        if self.ranks.active:  # this rank's rows; DDP's average of the scaled sums is the batch mean
            n, rows = len(labels), self.ranks.rows(len(labels))
            images, labels = images[rows], labels[rows]
            output = self.train_model(images)
            loss = self.task.loss(output, labels, reduction="sum") * (self.ranks.size / n)
        else:
            output = self.train_model(images)
            loss = self.task.loss(output, labels)
        loss_value = float(loss.item())
        if not math.isfinite(loss_value):
            raise self._diverged(f"the loss became {loss_value}")
        loss.backward()
        self.optimizer.step()
        if self.per_batch_schedule:
            self.scheduler.step()
        correct, counted = self.task.counts(output, labels)
        if self.ranks.active:  # the whole batch's mean loss and correct count
            loss_value, correct = self.ranks.sums(loss_value / self.ranks.size, correct)
            correct = round(correct)
            counted = len(labels) * self.ranks.size
        return loss_value, correct, counted

    def evaluate(self, dataset, loader, label: str) -> EvalResult:
        """Loss and accuracy over ``dataset`` with a progress bar (split over the ranks when there
        are several)."""
        batches = math.ceil(len(dataset) / self.eval_batch_size / self.ranks.size)
        with self.progress.evaluating(label, batches) as advance:
            if self.ranks.active:
                return self.ranks.evaluate(self.model, dataset, self.eval_batch_size, on_batch=advance)
            classes = len(self.data.classes) if self.task.name == "segmentation" else None
            return self.task.evaluate(self.model, loader, on_batch=advance, num_classes=classes)

    def stop_requested(self) -> str | None:
        """The signal that asked to stop (on any rank), or None."""
        name = self.stop.signal_name if self.stop is not None else None
        if self.ranks.active and self.ranks.sums(float(name is not None))[0] > 0:
            return name or "a signal on another process"
        return name

    def interrupt(self, signal_name: str) -> None:
        """Write the checkpoint of the current step and stop the run."""
        self.save()
        path = self.last_saved[0] if self.last_saved else None
        raise TrainingInterrupted(signal_name, path, self.epoch, self.step_in_epoch, self.global_step)

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
            loss_value, correct, counted = self.train_step(images, labels)
            self.running.update(loss_value, correct, len(labels), counted)
            self.step_in_epoch += 1
            self.global_step += 1
            images_done += len(labels)
            images_per_s = images_done / max(time.perf_counter() - started, 1e-9)
            self.progress.update(self.step_in_epoch, self.running.loss, self.running.accuracy, images_per_s)
            if self.global_step % c.log_every == 0:
                self.log.append({"kind": "step", "epoch": self.epoch + 1, "step": self.global_step,
                                 "loss": loss_value, "accuracy": correct / max(counted, 1), "lr": self.current_lr(),
                                 "images_per_s": images_per_s})
            if c.checkpoint_every and self.global_step % c.checkpoint_every == 0 \
                    and self.step_in_epoch < self.steps_per_epoch:
                self.save()
            self.callbacks.on_step_end(self)
            signal_name = self.stop_requested()
            if signal_name:
                self.progress.end_epoch()
                self.interrupt(signal_name)
        seconds = time.perf_counter() - started
        self.progress.end_epoch()
        self.finish_epoch(seconds, images_done, data_seconds)

    def finish_epoch(self, seconds: float, images_done: int, data_seconds: float) -> None:
        """Validate, step a per-epoch schedule, log, checkpoint, redraw the curves."""
        c = self.config
        val_started = time.perf_counter()
        val = self.evaluate(self.data.val, self.val_loader, "validating")
        val_seconds = time.perf_counter() - val_started
        if not math.isfinite(val.loss):   # finite weights whose outputs overflow: no best checkpoint of them
            raise self._diverged(f"the validation loss became {val.loss}",
                                 f"at epoch {self.epoch + 1}, step {self.global_step} (its validation)")
        self.model.train()
        lr = self.current_lr()
        if self.scheduler is not None and not self.per_batch_schedule:
            if c.scheduler == "plateau":
                self.scheduler.step(val.loss)
            else:
                self.scheduler.step()
        record = {"kind": "epoch", "epoch": self.epoch + 1, "step": self.global_step,
                  "train_loss": self.running.loss, "train_accuracy": self.running.accuracy,
                  "val_loss": val.loss, "val_accuracy": val.accuracy, "lr": lr, "seconds": seconds,
                  "val_seconds": val_seconds, "images_per_s": images_done / max(seconds, 1e-9),
                  "data_share": data_seconds / max(seconds, 1e-9)}
        if val.mean_iou is not None:
            record["val_miou"] = val.mean_iou
        self.log.append(record)
        self.callbacks.on_epoch_end(self, record)
        score = self.task.score(val)
        improved = score > self.best_accuracy
        if improved:
            self.best_accuracy, self.best_epoch = score, self.epoch + 1
            self.best_state = {name: t.detach().clone() for name, t in self.model.state_dict().items()}
        self.epoch += 1
        self.step_in_epoch = 0
        self.running = RunningMetrics()
        self._enter_top_k(score)
        self.save(best=improved)
        if self.ranks.is_main:
            curves = run_file(self.out, "curves")
            with writing(curves):
                plot_curves(self.log.read(), curves, title=f"{c.model} on {self.data.description}")
        self.say(f"epoch {record['epoch']}/{c.epochs}  train loss {record['train_loss']:.4f} "
                 f"acc {100 * record['train_accuracy']:.2f}%  val loss {val.loss:.4f} acc {100 * val.accuracy:.2f}%"
                 + (f" mIoU {100 * val.mean_iou:.2f}%" if val.mean_iou is not None else "") + "  "
                 f"lr {lr:.3g}  {seconds + val_seconds:.1f} s (validation {val_seconds:.1f} s)  "
                 f"{record['images_per_s']:,.0f} img/s" + ("  *best*" if improved else ""))

    def _enter_top_k(self, accuracy: float) -> None:
        """Keep (accuracy, epoch) of the K best epochs; the epoch just finished enters if it beats
        the worst kept (ties keep the earlier epoch)."""
        k = self.config.save_top_k
        if k <= 1:
            return
        ranked = sorted(self.top_k + [(accuracy, self.epoch)], key=lambda e: (-e[0], e[1]))
        self.top_k = sorted(ranked[:k], key=lambda e: e[1])

    def should_stop_early(self) -> bool:
        patience = self.config.early_stopping
        return bool(patience) and self.best_epoch > 0 and self.epoch - self.best_epoch >= patience

    def evaluate_best_on_test(self, datasets: Datasets) -> EvalResult:
        """The test split, measured once, with the best checkpoint's weights (kept in memory when
        the best epoch ran in this process, else read from best.juanji)."""
        best = run_file(self.out, "best")
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        elif os.path.exists(best):
            load_weights(self.model, load_checkpoint(best), best)
        else:
            self.warn(f"{best} is missing: the test split is measured with the last weights instead")
        return self.evaluate(datasets.test, evaluation_loader(datasets.test, self.eval_batch_size), "testing")


# ---------------------------------------------------------------------------------- entry point
def train(config: TrainConfig, resume=None, given: dict | None = None,
          progress: TrainingProgress | None = None, callbacks=()) -> RunResult:
    """Train (or, with ``resume``, continue) a run; raise TrainingError / CheckpointError on bad input
    and TrainingInterrupted when Ctrl-C or SIGTERM stopped it (after writing its checkpoint).

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
        check_writable_folder(out)
        refuse_existing_run(out)
    if progress is None:  # (the other ranks show nothing: rank 0 reports for all)
        progress = TrainingProgress(enabled=config.progress) if ranks.is_main else ranks.silent_progress()

    recorded = None if payload is None else Preprocessing.from_dict(payload["preprocessing"])
    pretrained = None
    if payload is None and config.weights:   # the data prepared as the weights' preset says
        if config.task != "classification":
            raise TrainingError(f"--weights: fine-tuning from pretrained weights is for --task classification "
                                f"(--task {config.task} takes --model-arg weights_backbone=...)")
        pretrained, recorded = data_for_weights(config)
    datasets = get_task(config.task).load_datasets(config, preprocessing=recorded)
    if payload is None:  # record where the data was found, so eval and resume read the same files
        config.data = datasets.source["data"]
        config.data_root = datasets.source.get("data_root")
    run = _Run(config, datasets, progress, out, callbacks, ranks, pretrained=pretrained,
               recorded_kwargs=None if payload is None else payload["model"].get("kwargs"))
    if payload is not None:
        restore_run(run, payload, path)
        if run.epoch > config.epochs:
            raise TrainingError(f"--resume: the checkpoint has already trained {run.epoch} epochs, "
                                f"more than --epochs {config.epochs}")
        run.last_saved = (path, run.global_step)

    # from here on files are written (by rank 0 alone)
    if ranks.is_main:
        with writing(out):
            os.makedirs(out, exist_ok=True)
            remove_stale_temporaries(out)
    if payload is None:
        run.log.reset()
        run.say(_describe_start(config, datasets, out) + (f", {ranks.size} processes" if ranks.active else ""))
    else:
        run.log.truncate_after(run.global_step)
        run.say(f"resuming {path}: epoch {run.epoch + 1}, "
                f"batch {run.step_in_epoch} of {run.steps_per_epoch} (step {run.global_step})")
    if datasets.val_is_test:
        run.warn("--val-fraction 0 validates on the test split: best.juanji is chosen on the test images, so "
                 "the test accuracy reported at the end is no longer an unbiased estimate")

    stopped_early = False
    # quiet: a diverging run must end with our one line, not NumPy's overflow warnings
    with stop_requests() as stop, np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        run.stop = stop
        try:
            while run.epoch < config.epochs:
                if run.should_stop_early():
                    stopped_early = True
                    run.say(f"early stopping: no better validation {run.task.score_name} for "
                            f"{run.epoch - run.best_epoch} epochs (--early-stopping {config.early_stopping}); best {100 * run.best_accuracy:.2f}% "
                            f"at epoch {run.best_epoch}")
                    break
                run.run_epoch()
                signal_name = run.stop_requested()
                if signal_name:   # stopped during validation or the epoch-end checkpoint: that one is kept
                    run.interrupt(signal_name)
        finally:
            progress.close()
        test = run.evaluate_best_on_test(datasets)

    epochs = [r for r in run.log.read() if r.get("kind") == "epoch"] if ranks.is_main else []
    return RunResult(out=out, test=test, best_accuracy=run.best_accuracy, best_epoch=run.best_epoch, epochs=epochs,
                     val_count=len(datasets.val), val_is_test=datasets.val_is_test, stopped_early=stopped_early,
                     task=config.task)


def _describe_start(config: TrainConfig, datasets: Datasets, out: str) -> str:
    c = config
    pre = datasets.preprocessing
    size = f"{pre.height}x{pre.width}" + (f" padded to {pre.input_shape[1]}x{pre.input_shape[2]}" if pre.pad else "")
    kind = "grey" if pre.channels == 1 else "RGB"
    if datasets.val_is_test:
        val = "the test split (--val-fraction 0)"
    else:
        val = (f"{len(datasets.val):,} training images held out ({c.val_fraction:.0%}, drawn with --seed {c.seed}); "
               f"the test split is measured once, at the end, on the best checkpoint")
    has_momentum = OPTIMIZERS[c.optimizer].momentum is not None
    optimiser = f"{c.optimizer} (lr {c.lr:g}" + (f", momentum {c.momentum:g}" if has_momentum else "") \
        + (f", weight decay {c.weight_decay:g}" if c.weight_decay else "") + ")"
    extras = "".join([f", early stopping after {c.early_stopping} epoch{'s' * (c.early_stopping != 1)}"
                      if c.early_stopping else "",
                      f", keeping the {c.save_top_k} best checkpoints" if c.save_top_k > 1 else ""])
    tuning = (f"\n  fine-tuning from {c.weights}" + (" with the backbone frozen" if c.freeze_backbone else "")
              + f"; images prepared as {pre.describe()}, normalised with mean {_numbers(pre.mean)} std "
              f"{_numbers(pre.std)}") if c.weights else ""
    return (f"juanji train: {c.model} on {datasets.description}: {len(datasets.train):,} train / "
            f"{len(datasets.val) if not datasets.val_is_test else 0:,} validation / {len(datasets.test):,} test "
            f"images ({size} {kind}), {len(datasets.classes)} classes\n"
            f"  validating on {val}\n"
            f"  {c.epochs} epochs, batch {c.batch_size}, {optimiser}, scheduler {c.scheduler}, seed {c.seed}, "
            f"{c.workers} workers{extras} -> {out}{tuning}")


def _numbers(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"
