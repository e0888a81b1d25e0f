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

from functools import partial

from .... import nn
from ....nn import functional as F
from ....nn import init
from .. import _api
from .. import resnet as _resnet
from .._weights import ResNet50_Weights, ResNet101_Weights
from ._utils import IntermediateLayerGetter

__all__ = ["FCN", "FCNHead", "FCN8s", "SemanticSegmentation", "FCN_ResNet50_Weights", "FCN_ResNet101_Weights",
           "fcn_resnet50", "fcn_resnet101", "fcn_resnet18_d2l", "fcn8s_resnet18", "VOC_CATEGORIES"]

VOC_CATEGORIES = ["__background__", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
                  "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
                  "train", "tvmonitor"]


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


class SemanticSegmentation(nn.Module):
    """torchvision's inference preset for segmentation weights: resize the shorter side to
    ``resize_size`` (bilinear, antialiased; None keeps the size), scale to [0, 1] and normalise
    with ImageNet's ``mean``/``std``. Takes a PIL image or a ``(..., C, H, W)`` tensor."""

    def __init__(self, *, resize_size, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 interpolation="bilinear", antialias: bool = True):
        super().__init__()
        from ...transforms import InterpolationMode
        self.resize_size = [resize_size] if resize_size is not None else None
        self.mean, self.std = list(mean), list(std)
        self.interpolation = InterpolationMode(interpolation) if isinstance(interpolation, str) else interpolation
        self.antialias = antialias

    def forward(self, img):
        from ...._dtype import float32
        from ....tensor import Tensor
        from ...transforms import functional as TF
        if self.resize_size is not None:
            img = TF.resize(img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias)
        if not isinstance(img, Tensor):
            img = TF.pil_to_tensor(img)
        img = img.to(float32) / 255.0 if not img.dtype.is_floating_point else img.to(float32)
        return TF.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n    resize_size={self.resize_size}\n    mean={self.mean}\n    std={self.std}"
                f"\n    interpolation={self.interpolation}\n)")


def _voc_weights(file: str, num_params: int, miou: float, pixel_acc: float, recipe: str) -> _api.Weights:
    meta = {"categories": VOC_CATEGORIES, "min_size": (1, 1), "num_params": num_params, "recipe": recipe,
            "_metrics": {"COCO-val2017-VOC-labels": {"miou": miou, "pixel_acc": pixel_acc}},
            "_docs": "These weights were trained on a subset of COCO, using only the 20 categories that are "
                     "present in the Pascal VOC dataset."}
    return _api.Weights("https://download.pytorch.org/models/" + file, partial(SemanticSegmentation, resize_size=520),
                        meta)


class FCN_ResNet50_Weights(_api.WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "fcn_resnet50_coco-1167a1af.pth", 35_322_218, 60.5, 91.4,
        "https://github.com/pytorch/vision/tree/main/references/segmentation#fcn_resnet50")
    DEFAULT = COCO_WITH_VOC_LABELS_V1


class FCN_ResNet101_Weights(_api.WeightsEnum):
    COCO_WITH_VOC_LABELS_V1 = _voc_weights(
        "fcn_resnet101_coco-7ecb50ca.pth", 54_314_346, 63.7, 91.9,
        "https://github.com/pytorch/vision/tree/main/references/segmentation#deeplabv3_resnet101")
    DEFAULT = COCO_WITH_VOC_LABELS_V1


_api.register("fcn_resnet50", FCN_ResNet50_Weights)
_api.register("fcn_resnet101", FCN_ResNet101_Weights)


def _overwrite(name: str, given, expected):
    if given is not None and given != expected:
        raise ValueError(f"The parameter '{name}' expected value {expected} but got {given} instead.")
    return expected


def _fcn_resnet(builder, enum_cls, backbone_enum, weights, progress, num_classes, aux_loss, weights_backbone,
                in_channels):
    weights = enum_cls.verify(weights)
    weights_backbone = backbone_enum.verify(weights_backbone)
    if weights is not None:
        weights_backbone = None
        if not isinstance(weights, _api.WeightsFile):
            num_classes = _overwrite("num_classes", num_classes, len(weights.meta["categories"]))
            aux_loss = _overwrite("aux_loss", aux_loss, True)
    if num_classes is None:
        num_classes = 21
    _check_classes(builder.__name__.replace("resnet", "fcn_resnet"), num_classes)
    backbone = builder(weights=weights_backbone, progress=progress, in_channels=in_channels,
                       replace_stride_with_dilation=[False, True, True])
    return_layers = {"layer4": "out"}
    if aux_loss:
        return_layers["layer3"] = "aux"
    model = FCN(IntermediateLayerGetter(backbone, return_layers), FCNHead(2048, num_classes),
                FCNHead(1024, num_classes) if aux_loss else None)
    return _api.load_weights(model, weights, progress)


def fcn_resnet50(*, weights=None, progress: bool = True, num_classes=None, aux_loss=None,
                 weights_backbone=ResNet50_Weights.IMAGENET1K_V1, in_channels: int = 3, **kwargs) -> FCN:
    """torchvision's FCN on a dilated ResNet-50 (output stride 8), see the module docstring.

    Args (torchvision's): ``weights`` (an ``FCN_ResNet50_Weights`` member, its name, or a file;
    fixes 21 VOC classes and the aux head), ``progress``, ``num_classes`` (default 21),
    ``aux_loss``, ``weights_backbone`` (ImageNet weights for the ResNet-50, torchvision's default
    ``ResNet50_Weights.IMAGENET1K_V1``: found in torchvision's cache or downloaded; pass None to
    start from random weights). ``in_channels`` is juanji's (the backbone's input channels).
    """
    return _fcn_resnet(_resnet.resnet50, FCN_ResNet50_Weights, ResNet50_Weights, weights, progress, num_classes,
                       aux_loss, weights_backbone, in_channels)


def fcn_resnet101(*, weights=None, progress: bool = True, num_classes=None, aux_loss=None,
                  weights_backbone=ResNet101_Weights.IMAGENET1K_V1, in_channels: int = 3, **kwargs) -> FCN:
    """torchvision's FCN on a dilated ResNet-101 (see :func:`fcn_resnet50`)."""
    return _fcn_resnet(_resnet.resnet101, FCN_ResNet101_Weights, ResNet101_Weights, weights, progress, num_classes,
                       aux_loss, weights_backbone, in_channels)


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
