"""Residual networks (He et al. 2016): torchvision's ImageNet ResNet-18/34/50 and the CIFAR
ResNet-20/32/56 of the paper's section 4.2.

A residual block adds its input to what it computes, ``y = relu(F(x) + shortcut(x))``. When the
block changes the size or the channel count, the shortcut is a projection
``downsample = Sequential(conv 1x1 with the block's stride, batch norm)``.

    BasicBlock  (18/34, CIFAR)  conv 3x3 (stride) - bn - relu - conv 3x3 - bn        expansion 1
    Bottleneck  (50)            conv 1x1 - bn - relu - conv 3x3 (stride) - bn - relu
                                - conv 1x1 (4x channels) - bn                         expansion 4
                                (the stride on the 3x3 convolution: "ResNet v1.5", as torchvision)

ImageNet (3 x 224 x 224)::

    conv1 7x7/2 (64) - bn1 - relu - maxpool 3/2 (pad 1)      -> 64 x 56 x 56
    layer1..layer4: [2,2,2,2] (18), [3,4,6,3] (34, 50) blocks of 64, 128, 256, 512 channels
                    (x expansion), stride 2 at the start of layers 2-4   -> 7 x 7
    avgpool (adaptive, 1 x 1) - flatten - fc -> classes

with torchvision's attribute names, ``state_dict`` keys and parameter counts (resnet18
11,689,512; resnet34 21,797,672; resnet50 25,557,032; resnet101 44,549,160; resnet152
60,192,808; resnext50_32x4d 25,028,904; wide_resnet50_2 68,883,240 at 1000 classes).

ResNeXt (Xie et al. 2017) splits each Bottleneck's 3x3 convolution into ``groups`` groups of
``width_per_group`` channels (resnext50_32x4d: 32 groups of 4 per 64 planes); Wide ResNet-50-2
doubles that width (``width_per_group=128``). The 3x3 width of a stage with ``planes`` is
``int(planes * width_per_group / 64) * groups``. ``replace_stride_with_dilation=[False, True,
True]`` keeps layers 3-4 at stride 1 and dilates their 3x3 convolutions instead (output stride
8, as segmentation backbones such as FCN and DeepLab use it). Every builder takes torchvision's
``weights=`` and ``progress=`` (see ``_api.py``). ``small_input=True``
replaces the stem by a 3x3 stride-1 convolution and drops the max pool (a common CIFAR
adaptation), for 28x28/32x32 images.

CIFAR (3 x 32 x 32, the paper's 6n+2 layers, n = 3, 5, 9 for 20, 32, 56)::

    conv1 3x3 (16) - bn1 - relu
    layer1: n blocks of 16 channels (32 x 32), layer2: 32 (16 x 16), layer3: 64 (8 x 8)
    avgpool - flatten - fc 64 -> classes

Shortcuts where the shape changes use **option B** of the paper (the 1x1 convolution + batch
norm projection above; option A, zero-padding identity shortcuts, has no parameters but is
not what torchvision's blocks do). That gives resnet20 272,474 parameters at 10 classes (the
paper's table says 0.27M; 2,752 of them are the two projections).
"""

from __future__ import annotations

from ... import nn
from ...functions import flatten
from ...nn import init
from . import _api
from ._weights import (ResNet18_Weights, ResNet34_Weights, ResNet50_Weights, ResNet101_Weights, ResNet152_Weights,
                       ResNeXt50_32X4D_Weights, ResNeXt101_32X8D_Weights, ResNeXt101_64X4D_Weights,
                       Wide_ResNet50_2_Weights, Wide_ResNet101_2_Weights)

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "CifarResNet", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
           "wide_resnet101_2", "resnet20", "resnet32", "resnet56"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding ``dilation`` (the size is kept at stride 1) and no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut)``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None, groups: int = 1,
                 base_width: int = 64, dilation: int = 1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce to ``width``) - 3x3 (stride, groups, dilation) - 1x1 (expand to 4 x planes),
    each with batch norm, plus the shortcut; ``width = int(planes * base_width / 64) * groups``."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None, groups: int = 1,
                 base_width: int = 64, dilation: int = 1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _make_stage(block, inplanes: int, planes: int, blocks: int, stride: int, groups: int = 1,
                base_width: int = 64, dilation: int = 1, previous_dilation: int = 1, norm_layer=None):
    """``blocks`` residual blocks; the first one strides (with the previous stage's dilation)
    and projects the shortcut if needed. Returns (the stage as a Sequential, its output channels)."""
    norm_layer = norm_layer or nn.BatchNorm2d
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(conv1x1(inplanes, planes * block.expansion, stride),
                                   norm_layer(planes * block.expansion))
    layers = [block(inplanes, planes, stride, downsample, groups, base_width, previous_dilation, norm_layer)]
    inplanes = planes * block.expansion
    for _ in range(1, blocks):
        layers.append(block(inplanes, planes, groups=groups, base_width=base_width, dilation=dilation,
                            norm_layer=norm_layer))
    return nn.Sequential(*layers), inplanes


def _init_weights(model, zero_init_residual: bool) -> None:
    """torchvision's: He-normal convolutions (fan_out, relu), batch norm 1/0; optionally the last
    batch norm of each block starts at 0, so every block starts as the identity."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            init.constant_(m.weight, 1)
            init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                init.constant_(m.bn3.weight, 0)
            elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                init.constant_(m.bn2.weight, 0)


class ResNet(nn.Module):
    """torchvision's ImageNet ResNet / ResNeXt / Wide ResNet (``layers`` = blocks per stage),
    with torchvision's signature; juanji adds ``in_channels`` and ``small_input`` (keywords)."""

    def __init__(self, block, layers, num_classes: int = 1000, zero_init_residual: bool = False, groups: int = 1,
                 width_per_group: int = 64, replace_stride_with_dilation=None, norm_layer=None, *,
                 in_channels: int = 3, small_input: bool = False):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self._norm_layer = norm_layer
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, got "
                             f"{replace_stride_with_dilation}")
        self.groups, self.base_width, self.dilation = groups, width_per_group, 1
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.inplanes = 64
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2, replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], 2, replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], 2, replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        _init_weights(self, zero_init_residual)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1, dilate: bool = False):
        """A stage; ``dilate`` trades its stride for dilation (the resolution is kept)."""
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        stage, self.inplanes = _make_stage(block, self.inplanes, planes, blocks, stride, self.groups,
                                           self.base_width, self.dilation, previous_dilation, self._norm_layer)
        return stage

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = flatten(self.avgpool(x), 1)
        return self.fc(x)


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet: 3 stages of ``blocks_per_stage`` BasicBlocks, 16/32/64 channels."""

    def __init__(self, blocks_per_stage: int, num_classes: int = 10, in_channels: int = 3,
                 zero_init_residual: bool = False):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        channels = 16
        self.layer1, channels = _make_stage(BasicBlock, channels, 16, blocks_per_stage, stride=1)
        self.layer2, channels = _make_stage(BasicBlock, channels, 32, blocks_per_stage, stride=2)
        self.layer3, channels = _make_stage(BasicBlock, channels, 64, blocks_per_stage, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        _init_weights(self, zero_init_residual)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = flatten(self.avgpool(x), 1)
        return self.fc(x)


def _resnet(block, layers, enum_cls, weights, progress, kwargs, **overrides) -> ResNet:
    return _api.build(lambda **kw: ResNet(block, layers, **kw), enum_cls, weights, progress, kwargs, **overrides)


def resnet18(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]."""
    return _resnet(BasicBlock, [2, 2, 2, 2], ResNet18_Weights, weights, progress, kwargs)


def resnet34(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]."""
    return _resnet(BasicBlock, [3, 4, 6, 3], ResNet34_Weights, weights, progress, kwargs)


def resnet50(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3]."""
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNet50_Weights, weights, progress, kwargs)


def resnet101(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-101: Bottlenecks [3, 4, 23, 3]."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNet101_Weights, weights, progress, kwargs)


def resnet152(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-152: Bottlenecks [3, 8, 36, 3]."""
    return _resnet(Bottleneck, [3, 8, 36, 3], ResNet152_Weights, weights, progress, kwargs)


def resnext50_32x4d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32 groups of width 4 in each 3x3 convolution."""
    return _resnet(Bottleneck, [3, 4, 6, 3], ResNeXt50_32X4D_Weights, weights, progress, kwargs,
                   groups=32, width_per_group=4)


def resnext101_32x8d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 32x8d."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_32X8D_Weights, weights, progress, kwargs,
                   groups=32, width_per_group=8)


def resnext101_64x4d(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """ResNeXt-101 64x4d."""
    return _resnet(Bottleneck, [3, 4, 23, 3], ResNeXt101_64X4D_Weights, weights, progress, kwargs,
                   groups=64, width_per_group=4)


def wide_resnet50_2(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with twice the 3x3 width (the outer 1x1 widths unchanged)."""
    return _resnet(Bottleneck, [3, 4, 6, 3], Wide_ResNet50_2_Weights, weights, progress, kwargs,
                   width_per_group=128)


def wide_resnet101_2(*, weights=None, progress: bool = True, **kwargs) -> ResNet:
    """Wide ResNet-101-2."""
    return _resnet(Bottleneck, [3, 4, 23, 3], Wide_ResNet101_2_Weights, weights, progress, kwargs,
                   width_per_group=128)


def resnet20(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-20 (3 blocks per stage)."""
    return CifarResNet(3, num_classes, in_channels, **kwargs)


def resnet32(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-32 (5 blocks per stage)."""
    return CifarResNet(5, num_classes, in_channels, **kwargs)


def resnet56(num_classes: int = 10, in_channels: int = 3, **kwargs) -> CifarResNet:
    """CIFAR ResNet-56 (9 blocks per stage)."""
    return CifarResNet(9, num_classes, in_channels, **kwargs)
