"""The model zoo at a glance: every name ``juanji.vision.models.get_model`` knows, its parameter
count and the input it is made for (``juanji models``).

    >>> from juanji.explain.zoo import default_input_size, zoo_table
    >>> default_input_size("resnet20", {})
    (3, 32, 32)
    >>> row = next(r for r in zoo_table() if r.name == "lenet5")
    >>> row.params, row.input_size
    (61706, (1, 28, 28))
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import NamedTuple

__all__ = ["default_input_size", "zoo_table", "ZooModel"]

# models made for small images (the CIFAR family) and for one grey channel (d2l's)
_SMALL_INPUT = ("cnnnet", "resnet20", "resnet32", "resnet56")
_GREY = ("lenet5", "nin")


def default_input_size(name: str, model_args: dict) -> tuple:
    """The input a zoo model is made for, one sample ``(C, H, W)`` (see ``juanji.vision.models``)."""
    channels = int(model_args.get("in_channels", 1 if name in _GREY else 3))
    if name == "lenet5":
        side = int(model_args.get("input_size", 28))
    elif name in _SMALL_INPUT or model_args.get("small_input"):
        side = 32
    else:
        side = 224
    return (channels, side, side)


class ZooModel(NamedTuple):
    name: str
    params: int
    input_size: tuple
    class_name: str


@contextmanager
def _shapes_only():
    """Build models without drawing their initial weights: a count needs the shapes only, and
    drawing VGG's 138 M weights alone takes half a minute. Every public ``nn.init`` fill
    (``normal_``, ``kaiming_uniform_``, ...) returns its tensor untouched inside the block."""
    from ..nn import init
    fills = {name: f for name, f in vars(init).items()
             if name.endswith("_") and not name.startswith("_") and callable(f)}
    for name in fills:
        setattr(init, name, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for name, f in fills.items():
            setattr(init, name, f)


def zoo_table() -> list:
    """One :class:`ZooModel` per name of ``list_models()``, with its default arguments (and no
    pretrained weights: counting must not download anything)."""
    import inspect

    from ..training.builders import zoo_builder
    from ..vision import models
    rows = []
    with _shapes_only():
        for name in models.list_models():
            accepted = inspect.signature(zoo_builder(name)).parameters
            no_download = {k: None for k in ("weights", "weights_backbone") if k in accepted}
            model = models.get_model(name, **no_download)
            rows.append(ZooModel(name, sum(p.numel() for p in model.parameters()), default_input_size(name, {}),
                                 type(model).__name__))
    return rows
