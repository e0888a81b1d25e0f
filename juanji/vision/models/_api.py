"""Pretrained weights the torchvision way: ``Weights``, the ``WeightsEnum`` base of every
``<Model>_Weights`` enum, the ``ImageClassification`` inference preset, and the helpers every
builder calls (``weights=``, ``progress=``).

A builder takes ``weights=None`` (random initialisation), a member of its enum
(``ResNet18_Weights.IMAGENET1K_V1``, ``ResNet18_Weights.DEFAULT``), the member's name as a
string (``"DEFAULT"``, ``"IMAGENET1K_V1"``, ``"ResNet18_Weights.IMAGENET1K_V1"``), or a path
to a weights file (torch.save, juanji.save or safetensors). With an enum member, the file is
found in torchvision's cache or downloaded (see :mod:`juanji.hub`), ``num_classes`` becomes
the number of its categories, and ``weights.transforms()`` is the preprocessing it was trained
with (not run by the tests: it needs the weights file)::

    from juanji.vision.models import ResNet18_Weights, resnet18
    weights = ResNet18_Weights.DEFAULT
    model = resnet18(weights=weights).eval()
    batch = weights.transforms()(image).unsqueeze(0)
    weights.meta["categories"][model(batch).argmax().item()]
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Callable

from ... import nn

__all__ = ["Weights", "WeightsEnum", "WeightsFile", "ImageClassification", "get_weight", "get_model_weights",
           "verify_weights", "apply_weights"]


class ImageClassification(nn.Module):
    """torchvision's inference preset for classifiers: resize the shorter side to
    ``resize_size`` (bilinear, antialiased), center-crop ``crop_size``, scale to [0, 1] and
    normalise with ImageNet's ``mean``/``std``. Takes a PIL image or a ``(..., C, H, W)``
    tensor (uint8 or float in [0, 1])."""

    def __init__(self, *, crop_size: int, resize_size: int = 256, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), interpolation="bilinear", antialias: bool = True):
        super().__init__()
        from ..transforms import InterpolationMode
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean, self.std = list(mean), list(std)
        self.interpolation = InterpolationMode(interpolation) if isinstance(interpolation, str) else interpolation
        self.antialias = antialias

    def forward(self, img):
        from ..._dtype import float32
        from ...tensor import Tensor
        from ..transforms import functional as F
        if not isinstance(img, Tensor):
            img = F.pil_to_tensor(img)
        img = F.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        img = F.center_crop(img, self.crop_size)
        img = img.to(float32) / 255.0 if not img.dtype.is_floating_point else img.to(float32)
        return F.normalize(img, mean=self.mean, std=self.std)

    def extra_repr(self) -> str:
        return (f"crop_size={self.crop_size}, resize_size={self.resize_size}, mean={self.mean}, std={self.std}, "
                f"interpolation={self.interpolation}")


@dataclass(eq=False)
class Weights:
    """One set of pretrained weights: where the file is, how to preprocess, and what it is."""

    url: str
    transforms: Callable
    meta: dict = field(default_factory=dict)


class WeightsEnum(Enum):
    """Base of the ``<Model>_Weights`` enums; each member's value is a :class:`Weights`."""

    @classmethod
    def verify(cls, obj):
        """None, a member, a member's name (``"DEFAULT"``, ``"ResNet18_Weights.DEFAULT"``) or a
        path to a weights file -> None, the member, or a :class:`WeightsFile`."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, WeightsFile):
            return obj
        if isinstance(obj, str):
            name = obj.replace(cls.__name__ + ".", "")
            if name in cls.__members__:
                return cls.__members__[name]
            if os.path.exists(obj) or os.sep in obj or re.search(r"\.(pth?|safetensors|juanji|ckpt|bin)$", obj):
                return WeightsFile(obj)
        elif isinstance(obj, os.PathLike):
            return WeightsFile(os.fspath(obj))
        names = ", ".join(cls.__members__)
        raise ValueError(f"weights: expected None, a {cls.__name__} member ({names}), its name, or a path to a "
                         f"weights file; got {obj!r}")

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self) -> dict:
        return self.value.meta

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def get_state_dict(self, progress: bool = True, check_hash: bool = True, mirror: str | None = None,
                       model_dir=None):
        """The state_dict, from torchvision's cache or juanji's, or downloaded (see juanji.hub)."""
        from ...hub import load_state_dict_from_url
        return load_state_dict_from_url(self.url, model_dir=model_dir, progress=progress, check_hash=check_hash,
                                        mirror=mirror)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class WeightsFile:
    """Weights given as a path: a torch.save / juanji.save / safetensors file holding a
    state_dict (or a checkpoint dict with one under "model" or "state_dict")."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.meta: dict = {}

    def get_state_dict(self, progress: bool = True, **kwargs):
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"weights: no such file: {self.path}")
        if self.path.endswith(".safetensors"):
            from ...safetensors import load_file
            return load_file(self.path)
        from ...serialization import load
        state = load(self.path)
        if isinstance(state, dict):   # (a juanji training checkpoint keeps its weights under "model_state")
            for key in ("model_state", "state_dict", "model_state_dict", "model"):
                inner = state.get(key)
                if isinstance(inner, dict) and inner and all(hasattr(v, "shape") for v in inner.values()):
                    state = inner
                    break
        if not isinstance(state, dict):
            raise TypeError(f"weights: {self.path} holds a {type(state).__name__}, expected a state_dict")
        if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
            state = type(state)((k[len("module."):], v) for k, v in state.items())  # saved from DataParallel/DDP
        return state

    def __repr__(self) -> str:
        return f"WeightsFile({self.path!r})"


def verify_weights(enum_cls, weights):
    return enum_cls.verify(weights)


def apply_weights(weights, kwargs: dict) -> None:
    """Before building: an enum member fixes ``num_classes`` to its number of categories."""
    if weights is None or isinstance(weights, WeightsFile) or weights.meta.get("categories") is None:
        return
    expected = len(weights.meta["categories"])
    given = kwargs.get("num_classes", expected)
    if given != expected:
        raise ValueError(f"The parameter 'num_classes' expected value {expected} but got {given} instead "
                         f"({weights!r} has {expected} categories; load them, then replace the classifier)")
    kwargs["num_classes"] = expected


def load_weights(model, weights, progress: bool, fix_state=None):
    """After building: load the weights' state_dict (strict) into ``model``; returns it.
    ``fix_state(state) -> state`` renames keys of older files (DenseNet's)."""
    if weights is not None:
        state = weights.get_state_dict(progress=progress)
        model.load_state_dict(fix_state(state) if fix_state is not None else state)
    return model


def build(model_fn, enum_cls, weights, progress, kwargs, fix_state=None, **overrides):
    """The body of every builder: check ``weights``, set ``num_classes``, build, load."""
    weights = enum_cls.verify(weights)
    apply_weights(weights, kwargs)
    kwargs.update(overrides)
    return load_weights(model_fn(**kwargs), weights, progress, fix_state)


_ENUMS: dict = {}


def register(model_name: str, enum_cls) -> None:
    _ENUMS[model_name] = enum_cls


def get_model_weights(name):
    """The weights enum of a model (by builder name or builder function)."""
    key = getattr(name, "__name__", name)
    key = key.lower() if isinstance(key, str) else key
    if key not in _ENUMS:
        raise ValueError(f"get_model_weights: no pretrained weights for model {name!r}; models with weights: "
                         f"{', '.join(sorted(_ENUMS))}")
    return _ENUMS[key]


def get_weight(name: str):
    """A weights member by its full name, e.g. ``get_weight("ResNet50_Weights.IMAGENET1K_V2")``."""
    enum_name, _, member = name.partition(".")
    for enum_cls in _ENUMS.values():
        if enum_cls.__name__ == enum_name and member in enum_cls.__members__:
            return enum_cls.__members__[member]
    raise ValueError(f"get_weight: unknown weights {name!r}")


def classification_transforms(crop_size=224, resize_size=None, **kwargs):
    """The ``transforms`` of an ImageNet classifier's weights (a factory, as torchvision's)."""
    if resize_size is not None:
        kwargs["resize_size"] = resize_size
    return partial(ImageClassification, crop_size=crop_size, **kwargs)


