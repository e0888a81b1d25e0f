"""The model table of ``juanji.vision.models``: every builder by name, and ``get_model`` /
``list_models`` over it (torchvision's ``get_model``). Its own module so that the tools built on the
models (``transfer.pretrained_model``) can look a model up without importing the package that
imports them.
"""

from __future__ import annotations

from . import segmentation
from .alexnet import alexnet
from .cnnnet import cnnnet
from .densenet import densenet121, densenet161, densenet169, densenet201
from .googlenet import googlenet
from .lenet import lenet5
from .mobilenetv2 import mobilenet_v2
from .nin import nin
from .resnet import (resnet18, resnet20, resnet32, resnet34, resnet50, resnet56, resnet101, resnet152, resnext50_32x4d,
                     resnext101_32x8d, resnext101_64x4d, wide_resnet50_2, wide_resnet101_2)
from .squeezenet import squeezenet1_0, squeezenet1_1
from .vgg import vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

_BUILDERS = {
    "lenet5": lenet5, "cnnnet": cnnnet, "alexnet": alexnet,
    "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
    "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
    "nin": nin, "googlenet": googlenet,
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101,
    "resnet152": resnet152, "resnext50_32x4d": resnext50_32x4d, "resnext101_32x8d": resnext101_32x8d,
    "resnext101_64x4d": resnext101_64x4d, "wide_resnet50_2": wide_resnet50_2, "wide_resnet101_2": wide_resnet101_2,
    "resnet20": resnet20, "resnet32": resnet32, "resnet56": resnet56,
    "densenet121": densenet121, "densenet161": densenet161, "densenet169": densenet169, "densenet201": densenet201,
    "mobilenet_v2": mobilenet_v2, "squeezenet1_0": squeezenet1_0, "squeezenet1_1": squeezenet1_1,
}
_SEGMENTATION = {
    "fcn_resnet50": segmentation.fcn_resnet50, "fcn_resnet101": segmentation.fcn_resnet101,
    "fcn_resnet18_d2l": segmentation.fcn_resnet18_d2l, "fcn8s_resnet18": segmentation.fcn8s_resnet18,
}
_BUILDERS.update(_SEGMENTATION)


def list_models(module=None) -> list:
    """The names :func:`get_model` accepts, sorted; ``module=models.segmentation`` lists only the
    segmentation models (and ``module=models`` only the classifiers), as torchvision's."""
    if module is None:
        return sorted(_BUILDERS)
    name = getattr(module, "__name__", str(module))
    if name.endswith(".segmentation"):
        return sorted(_SEGMENTATION)
    return sorted(set(_BUILDERS) - set(_SEGMENTATION))


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (case-insensitive), passing ``kwargs`` to its builder:
    ``get_model("vgg16_bn", num_classes=10, small_input=True)``."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _BUILDERS:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(list_models())}")
    return _BUILDERS[key](**kwargs)
