"""juanji.vision.models: classic CNNs, built from juanji.nn layers.

=============  ==========================  =====================================================
name           intended input              notes
=============  ==========================  =====================================================
lenet5         1 x 28 x 28 (or 32)         LeNet-5: ReLU + max pool; ``variant='classic'``: d2l's
cnnnet         3 x 32 x 32                 PyTorch's CIFAR-10 tutorial network
alexnet        3 x 224 x 224               torchvision's; ``small_input=True`` for 28/32
vgg11..vgg19   3 x 224 x 224               torchvision's, ``*_bn`` with batch norm;
                                           ``small_input=True`` for 28/32
nin            1 x 224 x 224               d2l's Network in Network; ``small_input=True``
googlenet      3 x 224 x 224               torchvision's (BN, optional aux heads);
                                           ``small_input=True`` for 28/32
resnet18..152  3 x 224 x 224               torchvision's (also resnext50_32x4d, resnext101_32x8d,
                                           resnext101_64x4d, wide_resnet50_2, wide_resnet101_2);
                                           ``small_input=True`` for 28/32
resnet20/32/56 3 x 32 x 32                 He et al. 2016 CIFAR ResNets (option-B shortcuts)
densenet121..  3 x 224 x 224               torchvision's 121/161/169/201; ``small_input=True``
mobilenet_v2   3 x 224 x 224               torchvision's
squeezenet1_0  3 x 224 x 224               torchvision's (also squeezenet1_1)
=============  ==========================  =====================================================

Every builder takes ``num_classes`` and ``in_channels``. The ImageNet models have torchvision's
module names, ``state_dict`` keys and parameter counts at 1000 classes and 3 channels, and take
torchvision's ``weights=`` (``ResNet50_Weights.DEFAULT``, a name, or a path) and ``progress=``:
the files come from torchvision's cache (``$TORCH_HOME/hub/checkpoints``) or are downloaded
(``juanji.hub``); ``weights.transforms()`` is the matching preprocessing.

    >>> from juanji.vision import models
    >>> model = models.get_model("resnet18", num_classes=10, small_input=True)
    >>> "resnet20" in models.list_models()
    True
"""

from __future__ import annotations

from . import _weights, transfer
from ._registry import get_model, list_models
from ._api import ImageClassification, Weights, WeightsEnum, get_model_weights, get_weight
from ._weights import *  # noqa: F401,F403  (the <Model>_Weights enums)
from .alexnet import AlexNet, alexnet
from .cnnnet import CNNNet, cnnnet
from .densenet import DenseNet, densenet121, densenet161, densenet169, densenet201
from .googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from .lenet import LeNet5, lenet5
from .mobilenetv2 import MobileNetV2, mobilenet_v2
from .nin import NiN, nin
from .resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34, resnet50,
                     resnet56, resnet101, resnet152, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d,
                     wide_resnet50_2, wide_resnet101_2)
from .squeezenet import SqueezeNet, squeezenet1_0, squeezenet1_1
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn
from . import segmentation  # noqa: E402  (after the classifiers its backbones come from)

__all__ = [
    "get_model", "list_models", "get_model_weights", "get_weight", "Weights", "WeightsEnum", "ImageClassification",
    "LeNet5", "CNNNet", "AlexNet", "VGG", "NiN", "GoogLeNet", "GoogLeNetOutputs", "ResNet", "CifarResNet",
    "BasicBlock", "Bottleneck", "DenseNet", "MobileNetV2", "SqueezeNet",
    "lenet5", "cnnnet", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
    "vgg19_bn", "nin", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    "resnet20", "resnet32", "resnet56", "densenet121", "densenet161", "densenet169", "densenet201",
    "mobilenet_v2", "squeezenet1_0", "squeezenet1_1",
] + list(_weights.__all__)
