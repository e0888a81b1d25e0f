"""The optimisers and learning-rate schedules ``juanji train`` offers: one table each.

The settings' defaults and checks (``config.py``), the builders (``builders.py``) and the
command's ``--help`` (``cli.py``) all read these two tables, so a new optimiser or schedule is
one entry here.

Schedules and when they step:

    none         constant lr
    step         lr * gamma every step_size epochs                     (per epoch)
    multistep    lr * gamma at 50 % and 75 % of the epochs              (per epoch)
    exponential  lr * gamma each epoch                                  (per epoch)
    cosine       lr * (1 + cos(pi t / T)) / 2 over all T batches        (per batch)
    onecycle     1cycle: warm up to lr over 30 %, then anneal           (per batch)
    plateau      lr * 0.1 after 2 epochs without a lower val loss       (per epoch)

    >>> from juanji.training.choices import OPTIMIZERS, SCHEDULERS
    >>> sorted(OPTIMIZERS) == sorted(["sgd", "adam", "adamw", "rmsprop", "adagrad"])
    True
    >>> OPTIMIZERS["adamw"].weight_decay, SCHEDULERS["cosine"].per_batch
    (0.01, True)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OptimizerChoice", "SchedulerChoice", "OPTIMIZERS", "SCHEDULERS", "choices_help"]


@dataclass(frozen=True)
class OptimizerChoice:
    """One ``--optimizer``: the ``juanji.optim`` class and the run's defaults for it.

    ``momentum`` is the default momentum, or None when the class takes no ``momentum`` argument;
    ``beta1`` says the class has Adam's first-moment factor (which ``onecycle`` cycles).
    """

    class_name: str
    lr: float
    momentum: float | None = None
    weight_decay: float = 0.0
    beta1: bool = False

    def kwargs(self, lr: float, momentum: float, weight_decay: float) -> dict:
        """The constructor's keyword arguments for a run's settings."""
        kwargs = {"lr": lr, "weight_decay": weight_decay}
        if self.momentum is not None:
            kwargs["momentum"] = momentum
        return kwargs

    def cycles_momentum(self, momentum: float) -> bool:
        """Whether a 1cycle schedule can cycle a momentum of this optimiser."""
        return self.beta1 or (self.momentum is not None and momentum > 0)


# the usual settings for these small image models
OPTIMIZERS = {
    "sgd": OptimizerChoice("SGD", lr=0.05, momentum=0.9),
    "adam": OptimizerChoice("Adam", lr=1e-3, beta1=True),
    "adamw": OptimizerChoice("AdamW", lr=1e-3, weight_decay=0.01, beta1=True),   # torch's AdamW default
    "rmsprop": OptimizerChoice("RMSprop", lr=1e-3, momentum=0.0),
    "adagrad": OptimizerChoice("Adagrad", lr=1e-2),
}


@dataclass(frozen=True)
class SchedulerChoice:
    """One ``--scheduler``: when it steps and what it needs.

    ``per_batch``: steps after every batch (else after every epoch's validation).
    ``fixed_length``: its whole course is laid out from ``--epochs`` at the start (so a resumed
    run may not change ``--epochs``). ``gamma``: the default ``--gamma`` where it uses one.
    """

    summary: str
    per_batch: bool = False
    fixed_length: bool = False
    gamma: float | None = None
    uses_step_size: bool = False


SCHEDULERS = {
    "none": SchedulerChoice("constant lr"),
    "step": SchedulerChoice("lr * gamma every step_size epochs", gamma=0.1, uses_step_size=True),
    "multistep": SchedulerChoice("lr * gamma at 50% and 75% of the epochs", fixed_length=True, gamma=0.1),
    "exponential": SchedulerChoice("lr * gamma each epoch", gamma=0.9),
    "cosine": SchedulerChoice("cosine annealing over all batches", per_batch=True, fixed_length=True),
    "onecycle": SchedulerChoice("1cycle: warm up over 30%, then anneal", per_batch=True, fixed_length=True),
    "plateau": SchedulerChoice("lr * 0.1 after 2 epochs without a lower validation loss"),
}


def choices_help(table: dict) -> str:
    """``a | b | c`` for an option's help."""
    return " | ".join(table)
