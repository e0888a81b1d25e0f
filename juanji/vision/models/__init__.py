"""juanji.vision.models: classic CNNs, built from juanji.nn layers.

=============  ==========================  =====================================================
name           intended input              notes
=============  ==========================  =====================================================
lenet5         1 x 28 x 28 (or 32)         d2l's LeNet-5; ``variant='classic'`` or ``'relu'``
cnnnet         3 x 32 x 32                 PyTorch's CIFAR-10 tutorial network
alexnet        3 x 224 x 224               torchvision's; ``small_input=True`` for 28/32
vgg11..vgg19   3 x 224 x 224               torchvision's, ``*_bn`` with batch norm;
                                           ``small_input=True`` for 28/32
nin            1 x 224 x 224               d2l's Network in Network; ``small_input=True``
googlenet      3 x 224 x 224               torchvision's (BN, optional aux heads);
                                           ``small_input=True`` for 28/32
resnet18/34/50 3 x 224 x 224               torchvision's; ``small_input=True`` for 28/32
resnet20/32/56 3 x 32 x 32                 He et al. 2016 CIFAR ResNets (option-B shortcuts)
densenet121    3 x 224 x 224               torchvision's; ``small_input=True`` for 28/32
=============  ==========================  =====================================================

Every builder takes ``num_classes`` and ``in_channels``. The ImageNet models have torchvision's
module names, ``state_dict`` keys and parameter counts at 1000 classes and 3 channels, so
torchvision weights (converted to NumPy) load into them.

    >>> from juanji.vision import models
    >>> model = models.get_model("resnet18", num_classes=10, small_input=True)
    >>> "resnet20" in models.list_models()
    True
"""

from __future__ import annotations

from .alexnet import AlexNet, alexnet
from .cnnnet import CNNNet, cnnnet
from .densenet import DenseNet, densenet121
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from .lenet import LeNet5, lenet5
from .nin import NiN, nin
from .resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34, resnet50,
                     resnet56)
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = [
    "get_model", "list_models",
    "LeNet5", "CNNNet", "AlexNet", "VGG", "NiN", "GoogLeNet", "GoogLeNetOutputs", "ResNet", "CifarResNet",
    "BasicBlock", "Bottleneck", "DenseNet",
    "lenet5", "cnnnet", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
    "vgg19_bn", "nin", "googlenet", "resnet18", "resnet34", "resnet50", "resnet20", "resnet32", "resnet56",
    "densenet121",
]

_BUILDERS = {
    "lenet5": lenet5, "cnnnet": cnnnet, "alexnet": alexnet,
    "vgg11": vgg11, "vgg13": vgg13, "vgg16": vgg16, "vgg19": vgg19,
    "vgg11_bn": vgg11_bn, "vgg13_bn": vgg13_bn, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn,
    "nin": nin, "googlenet": googlenet,
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50,
    "resnet20": resnet20, "resnet32": resnet32, "resnet56": resnet56,
    "densenet121": densenet121,
}


def list_models() -> list:
    """The names :func:`get_model` accepts, sorted."""
    return sorted(_BUILDERS)


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (case-insensitive), passing ``kwargs`` to its builder:
    ``get_model("vgg16_bn", num_classes=10, small_input=True)``."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _BUILDERS:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(list_models())}")
    return _BUILDERS[key](**kwargs)
