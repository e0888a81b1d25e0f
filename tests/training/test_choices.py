"""The optimiser and schedule tables feed the builders, the settings' defaults and --help."""

import pytest

from juanji import nn, optim
from juanji.cli import build_parser
from juanji.training import TrainConfig, TrainingError
from juanji.training.builders import build_optimizer, build_scheduler
from juanji.training.choices import OPTIMIZERS, SCHEDULERS


def _help(command="train") -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return " ".join(sub.format_help().split())


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_of_the_table_is_built_with_its_defaults(name):
    choice = OPTIMIZERS[name]
    config = TrainConfig(optimizer=name).resolved()
    opt = build_optimizer(config, nn.Linear(2, 2).parameters())
    assert type(opt) is getattr(optim, choice.class_name)
    group = opt.param_groups[0]
    assert group["lr"] == choice.lr and group["weight_decay"] == choice.weight_decay
    if choice.momentum is not None:
        assert group["momentum"] == choice.momentum
    assert f"{name} {choice.lr:g}" in _help()


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_scheduler_of_the_table_is_built_and_named_in_the_help(name):
    config = TrainConfig(scheduler=name, epochs=4).resolved()
    opt = build_optimizer(config, nn.Linear(2, 2).parameters())
    scheduler = build_scheduler(config, opt, steps_per_epoch=5)
    assert (scheduler is None) == (name == "none")
    assert config.gamma == SCHEDULERS[name].gamma
    assert name in _help().split("--scheduler SCHEDULER")[-1].split("--step-size")[0]


def test_a_name_outside_the_table_is_refused_with_the_choices():
    with pytest.raises(TrainingError, match="unknown optimizer 'lbfgs' \\(choose from sgd, adam, adamw"):
        TrainConfig(optimizer="lbfgs").resolved()
    with pytest.raises(TrainingError, match="unknown scheduler 'warm' \\(choose from none, step"):
        TrainConfig(scheduler="warm").resolved()
