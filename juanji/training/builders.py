"""Model, optimiser and learning-rate schedule from the run's settings (the choices and their
defaults are the tables of ``choices.py``)."""

from __future__ import annotations

import inspect

from .. import optim
from ..optim import lr_scheduler
from .choices import OPTIMIZERS, SCHEDULERS
from .config import TrainConfig
from .errors import TrainingError, one_line

__all__ = ["build_model", "model_names", "zoo_builder", "constructor_arguments", "build_optimizer", "build_scheduler"]


def model_names() -> list[str] | None:
    """The names ``get_model`` knows, where the model zoo can list them."""
    from ..vision import models
    for lister in ("list_models", "available_models"):
        fn = getattr(models, lister, None)
        if callable(fn):
            return sorted(fn())
    return None


def zoo_builder(name: str):
    """The function that builds the zoo model ``name`` (classification or segmentation), or None."""
    from ..vision import models
    builder = getattr(models, name, None)
    if builder is None:
        segmentation = getattr(models, "segmentation", None)
        builder = getattr(segmentation, name, None) if segmentation is not None else None
    return builder if callable(builder) else None


def _plain(value) -> bool:
    """A default a checkpoint can record as JSON (not, e.g., a weights enum)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (list, tuple)) and all(_plain(v) for v in value)


def constructor_arguments(name: str, given: dict) -> dict:
    """Every argument of the zoo builder ``name``: ``given``, then the builder's defaults for the
    rest (those a checkpoint can record), so a checkpoint rebuilds the same model even if a
    default changes later.

    >>> from juanji.training.builders import constructor_arguments
    >>> constructor_arguments("lenet5", {"num_classes": 3})
    {'num_classes': 3, 'in_channels': 1, 'variant': 'relu', 'input_size': 28}
    """
    try:
        signature = inspect.signature(zoo_builder(name))
    except (TypeError, ValueError):   # no such builder (a test's stand-in): keep what was given
        return dict(given)
    arguments = {}
    for parameter in signature.parameters.values():
        if parameter.name in given:
            arguments[parameter.name] = given[parameter.name]
        elif parameter.default is not inspect.Parameter.empty and _plain(parameter.default):
            arguments[parameter.name] = parameter.default
    arguments.update({k: v for k, v in given.items() if k not in arguments})  # **kwargs builders
    return arguments


def build_model(name: str, num_classes: int, in_channels: int, **model_args):
    """``juanji.vision.models.get_model(name, num_classes=, in_channels=, **model_args)``, with a
    one-line error."""
    try:
        from ..vision.models import get_model
    except ImportError as e:
        raise TrainingError(f"juanji.vision.models is not available: {one_line(e)}") from None
    known = model_names()
    if known is not None and name not in known:
        raise TrainingError(f"unknown model '{name}' (choose from {', '.join(known)})")
    try:
        return get_model(name, num_classes=num_classes, in_channels=in_channels, **model_args)
    except (KeyError, ValueError, TypeError) as e:
        arguments = ", ".join(f"{k}={v!r}" for k, v in
                              {"num_classes": num_classes, "in_channels": in_channels, **model_args}.items())
        raise TrainingError(f"cannot build model '{name}' with {arguments}: {one_line(e)}") from None


def build_optimizer(config: TrainConfig, parameters):
    """The optimiser ``config.optimizer`` with the run's lr, momentum and weight decay."""
    choice = OPTIMIZERS.get(config.optimizer)
    if choice is None:
        raise TrainingError(f"unknown optimizer '{config.optimizer}'")
    optimizer_class = getattr(optim, choice.class_name)
    return optimizer_class(list(parameters), **choice.kwargs(config.lr, config.momentum, config.weight_decay))


def build_scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    """The schedule ``config.scheduler`` (None for 'none'); see ``choices.SCHEDULERS``."""
    c = config
    total_steps = c.epochs * steps_per_epoch
    if c.scheduler not in SCHEDULERS:
        raise TrainingError(f"unknown scheduler '{c.scheduler}'")
    if c.scheduler == "none":
        return None
    if c.scheduler == "step":
        return lr_scheduler.StepLR(optimizer, step_size=c.step_size, gamma=c.gamma)
    if c.scheduler == "multistep":
        milestones = sorted({max(1, c.epochs // 2), max(1, (3 * c.epochs) // 4)})
        return lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=c.gamma)
    if c.scheduler == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=c.gamma)
    if c.scheduler == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if c.scheduler == "onecycle":
        # momentum cycles only where the optimiser has one (SGD with momentum, Adam's beta1)
        return lr_scheduler.OneCycleLR(optimizer, max_lr=c.lr, total_steps=total_steps,
                                       cycle_momentum=OPTIMIZERS[c.optimizer].cycles_momentum(c.momentum))
    assert c.scheduler == "plateau", c.scheduler   # every name of the table is built above
    return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=2)
