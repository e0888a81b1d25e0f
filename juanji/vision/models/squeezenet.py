"""SqueezeNet (Iandola et al. 2016), torchvision's 1.0 and 1.1, with its module names,
``state_dict`` keys and parameter counts (1,248,424 and 1,235,496 at 1000 classes).

A Fire module squeezes the channels with 1x1 convolutions, then expands with 1x1 and 3x3
convolutions side by side, concatenated::

    squeeze 1x1 (s) - relu  ->  [expand1x1 1x1 (e1) - relu | expand3x3 3x3 (e3) - relu]  -> e1 + e3 channels

There is no linear layer: a final 1x1 convolution gives one channel per class, averaged over
the image (``classifier`` = dropout - conv 1x1 - relu - global average pool). Version 1.1 has a
3x3/2 stem of 64 channels and pools earlier: 2.4x less computation for the same accuracy.
"""

from __future__ import annotations

from ... import nn
from ...functions import cat, flatten
from ...nn import init
from . import _api
from ._weights import SqueezeNet1_0_Weights, SqueezeNet1_1_Weights

__all__ = ["SqueezeNet", "Fire", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """squeeze 1x1 - relu, then 1x1 and 3x3 expansions (each with relu) concatenated."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return cat([self.expand1x1_activation(self.expand1x1(x)),
                    self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """torchvision's SqueezeNet (``version`` "1_0" or "1_1")."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5, *,
                 in_channels: int = 3):
        super().__init__()
        self.num_classes = num_classes
        pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)  # noqa: E731
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                pool(), Fire(512, 64, 256, 256))
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        # torchvision's initialisation: the class convolution small, the others He-uniform
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    init.constant_(m.bias, 0)

    def forward(self, x):
        return flatten(self.classifier(self.features(x)), 1)


def squeezenet1_0(*, weights=None, progress: bool = True, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.0."""
    return _api.build(SqueezeNet, SqueezeNet1_0_Weights, weights, progress, kwargs, version="1_0")


def squeezenet1_1(*, weights=None, progress: bool = True, **kwargs) -> SqueezeNet:
    """SqueezeNet 1.1: 2.4x less computation than 1.0 for the same accuracy."""
    return _api.build(SqueezeNet, SqueezeNet1_1_Weights, weights, progress, kwargs, version="1_1")
