"""Resuming a run: what a checkpoint holds of a run, putting it back, and the settings' rules.

A checkpoint (``juanji/checkpoint.py`` describes the format) holds the model, optimiser and
schedule states, juanji's generator state, the sampler's position, the partial sums of the
current epoch and the best validation accuracy so far. :func:`restore_run` puts all of it back,
so the resumed run computes exactly what the uninterrupted run would have: epoch ``e``'s order
is drawn from ``(seed, e)`` alone and the batches already trained on are skipped unread.

A resumed run keeps its settings (:func:`resume_config`): only those that do not change what
the remaining steps compute (``RESUME_OVERRIDABLE``) may be given again with other values.
"""

from __future__ import annotations

from .. import random
from ..checkpoint import CheckpointError, layer_types, load_weights
from .choices import SCHEDULERS
from .config import RESUME_OVERRIDABLE, TrainConfig
from .errors import TrainingError, one_line
from .metrics import RunningMetrics

__all__ = ["resume_config", "checkpoint_payload", "restore_run"]


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


def checkpoint_payload(run) -> dict:
    """Everything :func:`restore_run` needs, and what eval/predict need (see juanji/checkpoint.py)."""
    return {
        "model": {"name": run.config.model, "kwargs": dict(run.model_kwargs),
                  "layers": layer_types(run.model)},
        "model_state": run.model.state_dict(),
        "optimizer_state": run.optimizer.state_dict(),
        "scheduler_state": None if run.scheduler is None else run.scheduler.state_dict(),
        "preprocessing": run.data.preprocessing.to_dict(),
        "classes": list(run.data.classes),
        "data": dict(run.data.source),
        "config": run.config.to_dict(),
        "rng": {"generator": random.get_rng_state(),
                "generators": run.ranks.generator_states(),  # every rank's, in a multi-process run
                "sampler": {"seed": run.sampler.seed, "epoch": run.epoch,
                            "position": run.step_in_epoch * run.config.batch_size}},
        "progress": {"epoch": run.epoch, "step_in_epoch": run.step_in_epoch, "global_step": run.global_step},
        "running": run.running.to_dict(),
        "best": {"accuracy": run.best_accuracy, "epoch": run.best_epoch},
        "top_k": [list(entry) for entry in run.top_k],   # [[val accuracy, epoch], ...] of --save-top-k's files
    }


def restore_run(run, payload: dict, path: str) -> None:
    """Continue ``run`` from a checkpoint: weights, optimiser, schedule, generator, position."""
    if payload["model"]["name"] != run.config.model:
        raise CheckpointError(f"checkpoint '{path}' is for model '{payload['model']['name']}', "
                              f"not '{run.config.model}'")
    load_weights(run.model, payload, path)
    try:
        run.optimizer.load_state_dict(payload["optimizer_state"])
        if run.scheduler is not None:
            run.scheduler.load_state_dict(payload["scheduler_state"])
        random.set_rng_state(run.ranks.own_generator_state(payload["rng"]))
        progress = payload["progress"]
        run.epoch = int(progress["epoch"])
        run.step_in_epoch = int(progress["step_in_epoch"])
        run.global_step = int(progress["global_step"])
        run.running = RunningMetrics.from_dict(payload.get("running"))
        run.best_accuracy = float(payload["best"]["accuracy"])
        run.best_epoch = int(payload["best"]["epoch"])
        run.top_k = [(float(accuracy), int(epoch)) for accuracy, epoch in payload.get("top_k", [])]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint '{path}' cannot be resumed: its training state is incomplete "
                              f"({one_line(e)})") from None
    if run.step_in_epoch > run.steps_per_epoch:
        raise CheckpointError(f"checkpoint '{path}' stopped at batch {run.step_in_epoch} of an epoch, "
                              f"but an epoch here has {run.steps_per_epoch}")
