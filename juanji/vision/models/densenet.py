"""DenseNet-121 (Huang et al. 2017) in torchvision's form.

In a dense block every layer receives the concatenation of all earlier feature maps of the
block and adds ``growth_rate`` new channels::

    dense layer     norm1 - relu1 - conv1 1x1 (bn_size * growth) - norm2 - relu2 - conv2 3x3 (growth)
    transition      norm - relu - conv 1x1 (halve the channels) - pool (avg 2x2)

DenseNet-121 (3 x 224 x 224; growth 32, blocks of 6, 12, 24, 16 layers, bn_size 4)::

    features   conv0 7x7/2 (64) - norm0 - relu0 - pool0 (max 3/2, pad 1)      -> 64 x 56 x 56
               denseblock1 (-> 256) - transition1 (-> 128, 28 x 28)
               denseblock2 (-> 512) - transition2 (-> 256, 14 x 14)
               denseblock3 (-> 1024) - transition3 (-> 512, 7 x 7)
               denseblock4 (-> 1024) - norm5
    relu - adaptive average pool 1 x 1 - flatten - classifier fc 1024 -> classes

with torchvision's ``state_dict`` keys (``features.denseblock1.denselayer1.norm1.weight``, ...,
``features.transition1.conv.weight``, ``classifier.bias``) and parameter count (7,978,856 at
1000 classes). ``small_input=True`` (28x28/32x32 images) makes conv0 a 3x3 stride-1
convolution and drops pool0 (32 -> 32 -> 16 -> 8 -> 4 through the transitions).
"""

from __future__ import annotations

import re
from collections import OrderedDict

from ... import nn
from ...functions import cat, flatten
from ...nn import functional as F
from ...nn import init
from . import _api
from ._weights import DenseNet121_Weights, DenseNet161_Weights, DenseNet169_Weights, DenseNet201_Weights

__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201"]


class _DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 (bottleneck) then BN-ReLU-Conv3x3, on the concatenated inputs."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int, drop_rate: float):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, features):
        """``features``: the list of all earlier feature maps of the block."""
        x = cat(features, 1) if isinstance(features, (list, tuple)) else features
        bottleneck = self.conv1(self.relu1(self.norm1(x)))
        new = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            new = F.dropout(new, p=self.drop_rate, training=self.training)
        return new


class _DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; the output is the input and every layer's output, concatenated."""

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int,
                 drop_rate: float):
        super().__init__()
        for i in range(num_layers):
            layer = _DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features):
        features = [init_features]
        for _, layer in self.items():
            features.append(layer(features))
        return cat(features, 1)


class _Transition(nn.Sequential):
    """Between blocks: BN-ReLU-Conv1x1 to ``num_output_features``, then 2x2 average pooling."""

    def __init__(self, num_input_features: int, num_output_features: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """torchvision's DenseNet-BC (``block_config``: layers per dense block)."""

    def __init__(self, growth_rate: int = 32, block_config=(6, 12, 24, 16), num_init_features: int = 64,
                 bn_size: int = 4, drop_rate: float = 0.0, num_classes: int = 1000, in_channels: int = 3,
                 small_input: bool = False):
        super().__init__()
        if small_input:
            stem = [("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=3, stride=1, padding=1,
                                        bias=False))]
        else:
            stem = [("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3,
                                        bias=False))]
        stem += [("norm0", nn.BatchNorm2d(num_init_features)), ("relu0", nn.ReLU(inplace=True))]
        if not small_input:
            stem.append(("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        self.features = nn.Sequential(OrderedDict(stem))

        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = _DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        # torchvision's initialisation: He-normal convolutions, BN 1/0, zero linear bias
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                init.constant_(m.bias, 0)

    def forward(self, x):
        features = self.features(x)
        out = F.relu(features, inplace=True)
        out = F.adaptive_avg_pool2d(out, (1, 1))
        return self.classifier(flatten(out, 1))


# torchvision's DenseNet files name a dense layer's parts "norm.1", "conv.2" ...: now "norm1", "conv2"
_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _fix_old_keys(state):
    return type(state)((_OLD_KEY.sub(r"\1\2", k), v) for k, v in state.items())


def _densenet(growth_rate: int, block_config, num_init_features: int, enum_cls, weights, progress, kwargs):
    make = lambda **kw: DenseNet(growth_rate, block_config, num_init_features, **kw)  # noqa: E731
    return _api.build(make, enum_cls, weights, progress, kwargs, fix_state=_fix_old_keys)


def densenet121(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-121: growth 32, blocks (6, 12, 24, 16), 64 initial features."""
    return _densenet(32, (6, 12, 24, 16), 64, DenseNet121_Weights, weights, progress, kwargs)


def densenet161(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-161: growth 48, blocks (6, 12, 36, 24), 96 initial features."""
    return _densenet(48, (6, 12, 36, 24), 96, DenseNet161_Weights, weights, progress, kwargs)


def densenet169(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-169: growth 32, blocks (6, 12, 32, 32), 64 initial features."""
    return _densenet(32, (6, 12, 32, 32), 64, DenseNet169_Weights, weights, progress, kwargs)


def densenet201(*, weights=None, progress: bool = True, **kwargs) -> DenseNet:
    """DenseNet-201: growth 32, blocks (6, 12, 48, 32), 64 initial features."""
    return _densenet(32, (6, 12, 48, 32), 64, DenseNet201_Weights, weights, progress, kwargs)
