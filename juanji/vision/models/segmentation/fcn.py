"""Fully convolutional networks for semantic segmentation (Long, Shelhamer & Darrell 2015).

A classifier's fully connected layers become convolutions, so the network maps an image of any
size to a map of class scores; upsampling brings that map back to the image's size, so every
pixel gets a class.

``fcn_resnet18_d2l`` (d2l's "Fully Convolutional Networks" section)::

    ResNet-18 without its pooling and fc (stride 32: 3 x H x W -> 512 x H/32 x W/32)
    final_conv      1x1 convolution 512 -> num_classes
    transpose_conv  ConvTranspose2d(num_classes, num_classes, kernel 64, stride 32, padding 16),
                    initialised as bilinear upsampling (nn.init.bilinear_): H/32 -> H

An ``nn.Sequential`` with d2l's names (``0`` .. ``7`` for the body's children, then
``final_conv`` and ``transpose_conv``), so weights trained with the book's code load into it.
Its output is the score tensor ``[N, num_classes, H, W]`` (for H and W multiples of 32).

``fcn8s_resnet18``: the same body with the paper's skip connections (:class:`FCN8s`), for
sharper masks than stride 32 allows.

``fcn_resnet50`` / ``fcn_resnet101`` (torchvision's)::

    backbone        ResNet-50/101 with dilation instead of stride in layer3 and layer4
                    (output stride 8), up to layer4 (IntermediateLayerGetter)
    classifier      FCNHead(2048): 3x3 conv -> 512, BN, ReLU, Dropout(0.1), 1x1 conv -> classes
    aux_classifier  FCNHead(1024) on layer3's output, when ``aux_loss``
    forward         {"out": scores, "aux": aux scores}, each resized to the input with bilinear
                    interpolation (align_corners=False)

with torchvision's state_dict keys and parameter counts (fcn_resnet50 35,322,218 and
fcn_resnet101 54,314,346 with 21 classes and the aux head).
"""

from __future__ import annotations

from collections import OrderedDict

from .... import nn
from ....nn import functional as F
from ....nn import init
from .. import resnet as _resnet
from ._utils import IntermediateLayerGetter

__all__ = ["FCN", "FCNHead", "FCN8s", "fcn_resnet18_d2l", "fcn8s_resnet18"]


class _SimpleSegmentationModel(nn.Module):
    """backbone -> classifier (and an optional aux classifier), scores resized to the input."""

    def __init__(self, backbone: nn.Module, classifier: nn.Module, aux_classifier=None):
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier
        self.aux_classifier = aux_classifier

    def forward(self, x):
        size = tuple(x.shape[-2:])
        features = self.backbone(x)
        result = OrderedDict()
        result["out"] = F.interpolate(self.classifier(features["out"]), size=size, mode="bilinear",
                                      align_corners=False)
        if self.aux_classifier is not None:
            result["aux"] = F.interpolate(self.aux_classifier(features["aux"]), size=size, mode="bilinear",
                                          align_corners=False)
        return result


class FCN(_SimpleSegmentationModel):
    """torchvision's FCN: ``forward`` returns ``{"out": [N, C, H, W]}`` (and ``"aux"``)."""


class FCNHead(nn.Sequential):
    """3x3 convolution to in/4 channels, batch norm, ReLU, dropout 0.1, 1x1 convolution to the classes."""

    def __init__(self, in_channels: int, channels: int):
        inter_channels = in_channels // 4
        super().__init__(
            nn.Conv2d(in_channels, inter_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(inter_channels, channels, 1),
        )


def _check_classes(name: str, num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{name}: num_classes must be a positive int, got {num_classes!r}")
    return num_classes


def fcn_resnet18_d2l(num_classes: int = 21, in_channels: int = 3, **backbone_kwargs) -> nn.Sequential:
    """d2l's FCN on a ResNet-18 body (see the module docstring). ``backbone_kwargs`` go to
    ``resnet18`` (e.g. pretrained ``weights=`` for the body, as the book starts from ImageNet)."""
    _check_classes("fcn_resnet18_d2l", num_classes)
    body = _resnet.resnet18(in_channels=in_channels, **backbone_kwargs)
    net = nn.Sequential(*list(body.children())[:-2])
    net.add_module("final_conv", nn.Conv2d(512, num_classes, kernel_size=1))
    net.add_module("transpose_conv", nn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16,
                                                        stride=32))
    init.bilinear_(net.transpose_conv.weight)
    return net


class FCN8s(nn.Module):
    """FCN-8s on a ResNet-18 body (Long et al.'s skip architecture): the stride-32 class scores
    are upsampled x2 and added to class scores read from layer3 (stride 16), that sum x2 again
    and added to scores from layer2 (stride 8), then x8 to the input's size::

        layer4 (512, /32) -> score32 (1x1) -> up x2 (ConvTranspose 4/2/1) --+
        layer3 (256, /16) -> score16 (1x1) ---------------------------------+-> up x2 --+
        layer2 (128, /8)  -> score8 (1x1) ----------------------------------------------+-> up x8 (16/8/4)

    Every upsampling starts as bilinear interpolation (nn.init.bilinear_) and the skip scores
    start at zero, so at initialisation it predicts from the stride-32 scores alone; training then
    lets the finer layers sharpen the boundaries (a stride-32 map of a 96 x 96 scene is only 3 x 3).
    Output: the score tensor ``[N, num_classes, H, W]`` for H, W multiples of 32.
    """

    def __init__(self, num_classes: int = 21, in_channels: int = 3, **backbone_kwargs):
        super().__init__()
        _check_classes("fcn8s_resnet18", num_classes)
        body = _resnet.resnet18(in_channels=in_channels, **backbone_kwargs)
        self.backbone = IntermediateLayerGetter(body, {"layer2": "stride8", "layer3": "stride16",
                                                      "layer4": "stride32"})
        self.score32 = nn.Conv2d(512, num_classes, kernel_size=1)
        self.score16 = nn.Conv2d(256, num_classes, kernel_size=1)
        self.score8 = nn.Conv2d(128, num_classes, kernel_size=1)
        self.up32 = nn.ConvTranspose2d(num_classes, num_classes, kernel_size=4, stride=2, padding=1, bias=False)
        self.up16 = nn.ConvTranspose2d(num_classes, num_classes, kernel_size=4, stride=2, padding=1, bias=False)
        self.up8 = nn.ConvTranspose2d(num_classes, num_classes, kernel_size=16, stride=8, padding=4, bias=False)
        for up in (self.up32, self.up16, self.up8):
            init.bilinear_(up.weight)
        for score in (self.score16, self.score8):
            init.zeros_(score.weight)
            init.zeros_(score.bias)

    def forward(self, x):
        features = self.backbone(x)
        out = self.up32(self.score32(features["stride32"])) + self.score16(features["stride16"])
        out = self.up16(out) + self.score8(features["stride8"])
        return self.up8(out)


def fcn8s_resnet18(num_classes: int = 21, in_channels: int = 3, **backbone_kwargs) -> FCN8s:
    """FCN-8s on a ResNet-18 body (see :class:`FCN8s`)."""
    return FCN8s(num_classes, in_channels, **backbone_kwargs)
