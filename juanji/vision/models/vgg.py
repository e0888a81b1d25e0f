"""VGG (Simonyan & Zisserman 2014) in torchvision's form: VGG-11/13/16/19 (configurations A, B,
D, E), each with or without batch norm after every convolution.

Every convolution is 3x3 with padding 1 (the size stays) followed by ReLU; "M" is a 2x2 max
pool (the size halves)::

    vgg11  64 M 128 M 256 256 M 512 512 M 512 512 M
    vgg13  64 64 M 128 128 M 256 256 M 512 512 M 512 512 M
    vgg16  64 64 M 128 128 M 256 256 256 M 512 512 512 M 512 512 512 M
    vgg19  64 64 M 128 128 M 256 256 256 256 M 512 512 512 512 M 512 512 512 512 M

then an adaptive average pool to 7 x 7 and the classifier
``fc 25088 -> 4096 - relu - dropout - fc 4096 -> 4096 - relu - dropout - fc -> classes``.
Parameter counts and ``state_dict`` keys (``features.N.*``, ``classifier.{0,3,6}.*``) are
torchvision's (vgg16: 138,357,544 at 1000 classes).

Small images (``small_input=True``, 28 x 28 or 32 x 32, no resizing): the same layers at the
same indices, but the pools use ``ceil_mode=True`` so five halvings still leave one pixel
(28 -> 14 -> 7 -> 4 -> 2 -> 1), the adaptive pool goes to 1 x 1 and the classifier is 512
wide (512 -> 512 -> 512 -> classes), the usual CIFAR VGG head.
"""

from __future__ import annotations

from ... import nn
from ...functions import flatten
from ...nn import init
from . import _api
from ._weights import (VGG11_BN_Weights, VGG11_Weights, VGG13_BN_Weights, VGG13_Weights, VGG16_BN_Weights,
                       VGG16_Weights, VGG19_BN_Weights, VGG19_Weights)

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
           "VGG_CONFIGS"]

VGG_CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def make_layers(config, batch_norm: bool, in_channels: int = 3, ceil_mode: bool = False) -> nn.Sequential:
    """The feature extractor: [conv 3x3 - (bn) - relu] per number, a 2x2 max pool per "M"."""
    layers = []
    channels = in_channels
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
            continue
        layers.append(nn.Conv2d(channels, item, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item))
        layers.append(nn.ReLU(inplace=True))
        channels = item
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG network around a given feature extractor (see :func:`make_layers`)."""

    def __init__(self, features, num_classes: int = 1000, init_weights: bool = True, dropout: float = 0.5,
                 small_input: bool = False):
        super().__init__()
        pooled, width = (1, 512) if small_input else (7, 4096)
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Linear(512 * pooled * pooled, width), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(width, width), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(width, num_classes),
        )
        if init_weights:
            self._initialize_weights()

    def _initialize_weights(self) -> None:
        """torchvision's: He-normal convolutions (fan_out), BN 1/0, N(0, 0.01) linear layers."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                init.normal_(m.weight, 0, 0.01)
                init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)


def _vgg(name: str, batch_norm: bool, enum_cls, weights, progress, kwargs) -> VGG:
    def make(num_classes: int = 1000, in_channels: int = 3, small_input: bool = False, **rest) -> VGG:
        features = make_layers(VGG_CONFIGS[name], batch_norm, in_channels, ceil_mode=small_input)
        return VGG(features, num_classes=num_classes, small_input=small_input, **rest)
    if weights is not None:
        kwargs.setdefault("init_weights", False)
    return _api.build(make, enum_cls, weights, progress, kwargs)


def vgg11(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 (configuration A)."""
    return _vgg("vgg11", False, VGG11_Weights, weights, progress, kwargs)


def vgg13(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 (configuration B)."""
    return _vgg("vgg13", False, VGG13_Weights, weights, progress, kwargs)


def vgg16(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 (configuration D)."""
    return _vgg("vgg16", False, VGG16_Weights, weights, progress, kwargs)


def vgg19(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 (configuration E)."""
    return _vgg("vgg19", False, VGG19_Weights, weights, progress, kwargs)


def vgg11_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-11 with batch norm after every convolution."""
    return _vgg("vgg11", True, VGG11_BN_Weights, weights, progress, kwargs)


def vgg13_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-13 with batch norm after every convolution."""
    return _vgg("vgg13", True, VGG13_BN_Weights, weights, progress, kwargs)


def vgg16_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-16 with batch norm after every convolution."""
    return _vgg("vgg16", True, VGG16_BN_Weights, weights, progress, kwargs)


def vgg19_bn(*, weights=None, progress: bool = True, **kwargs) -> VGG:
    """VGG-19 with batch norm after every convolution."""
    return _vgg("vgg19", True, VGG19_BN_Weights, weights, progress, kwargs)
