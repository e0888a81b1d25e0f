"""The pretrained weights of the model zoo: torchvision's file names, URLs, SHA-256 prefixes (in
the file names), parameter counts, ImageNet accuracies and inference presets, one enum per model
with torchvision's names (``ResNet50_Weights.IMAGENET1K_V2``, ``.DEFAULT``).
"""

from __future__ import annotations

from ._api import Weights, WeightsEnum, classification_transforms, register
from ._categories import IMAGENET_CATEGORIES

__all__ = [
    "AlexNet_Weights", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
    "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "ResNet18_Weights",
    "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights",
    "ResNeXt50_32X4D_Weights", "ResNeXt101_32X8D_Weights", "ResNeXt101_64X4D_Weights",
    "Wide_ResNet50_2_Weights", "Wide_ResNet101_2_Weights", "GoogLeNet_Weights",
    "DenseNet121_Weights", "DenseNet161_Weights", "DenseNet169_Weights", "DenseNet201_Weights",
    "MobileNet_V2_Weights", "SqueezeNet1_0_Weights", "SqueezeNet1_1_Weights"
]

_BASE = "https://download.pytorch.org/models/"


def _imagenet(file, num_params, acc1, acc5, min_size, recipe, resize_size=None, categories=IMAGENET_CATEGORIES,
              **preset):
    """One ImageNet-1K classifier's weights (torchvision's metadata)."""
    meta = {"categories": categories, "num_params": num_params, "min_size": min_size, "recipe": recipe,
            "_metrics": {"ImageNet-1K": {"acc@1": acc1, "acc@5": acc5}}}
    return Weights(_BASE + file, classification_transforms(224, resize_size, **preset), meta)


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "alexnet-owt-7be5be79.pth", 61_100_840, 56.522, 79.066, (63, 63),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("alexnet", AlexNet_Weights)


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg11-8a719046.pth", 132_863_336, 69.02, 88.628, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg11", VGG11_Weights)


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg11_bn-6002323d.pth", 132_868_840, 70.37, 89.81, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg11_bn", VGG11_BN_Weights)


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg13-19584684.pth", 133_047_848, 69.928, 89.246, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg13", VGG13_Weights)


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg13_bn-abd245e5.pth", 133_053_736, 71.586, 90.374, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg13_bn", VGG13_BN_Weights)


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg16-397923af.pth", 138_357_544, 71.592, 90.382, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    IMAGENET1K_FEATURES = _imagenet(
        "vgg16_features-amdegroot-88682ab5.pth", 138_357_544, float("nan"), float("nan"), (32, 32),
        "https://github.com/amdegroot/ssd.pytorch#training-ssd",
        mean=(0.48235, 0.45882, 0.40784), std=(1 / 255, 1 / 255, 1 / 255), categories=None)
    DEFAULT = IMAGENET1K_V1


register("vgg16", VGG16_Weights)


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg16_bn-6c64b313.pth", 138_365_992, 73.36, 91.516, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg16_bn", VGG16_BN_Weights)


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg19-dcbb9e9d.pth", 143_667_240, 72.376, 90.876, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg19", VGG19_Weights)


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "vgg19_bn-c79401a0.pth", 143_678_248, 74.218, 91.842, (32, 32),
        "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg")
    DEFAULT = IMAGENET1K_V1


register("vgg19_bn", VGG19_BN_Weights)


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnet18-f37072fd.pth", 11_689_512, 69.758, 89.078, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet")
    DEFAULT = IMAGENET1K_V1


register("resnet18", ResNet18_Weights)


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnet34-b627a593.pth", 21_797_672, 73.314, 91.42, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet")
    DEFAULT = IMAGENET1K_V1


register("resnet34", ResNet34_Weights)


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnet50-0676ba61.pth", 25_557_032, 76.13, 92.862, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet")
    IMAGENET1K_V2 = _imagenet(
        "resnet50-11ad3fa6.pth", 25_557_032, 80.858, 95.434, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("resnet50", ResNet50_Weights)


class ResNet101_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnet101-63fe2227.pth", 44_549_160, 77.374, 93.546, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet")
    IMAGENET1K_V2 = _imagenet(
        "resnet101-cd907fc2.pth", 44_549_160, 81.886, 95.78, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("resnet101", ResNet101_Weights)


class ResNet152_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnet152-394f9c45.pth", 60_192_808, 78.312, 94.046, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet")
    IMAGENET1K_V2 = _imagenet(
        "resnet152-f82ba261.pth", 60_192_808, 82.284, 96.002, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("resnet152", ResNet152_Weights)


class ResNeXt50_32X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnext50_32x4d-7cdf4587.pth", 25_028_904, 77.618, 93.698, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnext")
    IMAGENET1K_V2 = _imagenet(
        "resnext50_32x4d-1a0047aa.pth", 25_028_904, 81.198, 95.34, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("resnext50_32x4d", ResNeXt50_32X4D_Weights)


class ResNeXt101_32X8D_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnext101_32x8d-8ba56ff5.pth", 88_791_336, 79.312, 94.526, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#resnext")
    IMAGENET1K_V2 = _imagenet(
        "resnext101_32x8d-110c445d.pth", 88_791_336, 82.834, 96.228, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("resnext101_32x8d", ResNeXt101_32X8D_Weights)


class ResNeXt101_64X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "resnext101_64x4d-173b62eb.pth", 83_455_272, 83.246, 96.454, (1, 1),
        "https://github.com/pytorch/vision/pull/5935", resize_size=232)
    DEFAULT = IMAGENET1K_V1


register("resnext101_64x4d", ResNeXt101_64X4D_Weights)


class Wide_ResNet50_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "wide_resnet50_2-95faca4d.pth", 68_883_240, 78.468, 94.086, (1, 1),
        "https://github.com/pytorch/vision/pull/912#issue-445437439")
    IMAGENET1K_V2 = _imagenet(
        "wide_resnet50_2-9ba9bcbe.pth", 68_883_240, 81.602, 95.758, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("wide_resnet50_2", Wide_ResNet50_2_Weights)


class Wide_ResNet101_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "wide_resnet101_2-32ee1156.pth", 126_886_696, 78.848, 94.284, (1, 1),
        "https://github.com/pytorch/vision/pull/912#issue-445437439")
    IMAGENET1K_V2 = _imagenet(
        "wide_resnet101_2-d733dc28.pth", 126_886_696, 82.51, 96.02, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("wide_resnet101_2", Wide_ResNet101_2_Weights)


class GoogLeNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "googlenet-1378be20.pth", 6_624_904, 69.778, 89.53, (15, 15),
        "https://github.com/pytorch/vision/tree/main/references/classification#googlenet")
    DEFAULT = IMAGENET1K_V1


register("googlenet", GoogLeNet_Weights)


class DenseNet121_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "densenet121-a639ec97.pth", 7_978_856, 74.434, 91.972, (29, 29),
        "https://github.com/pytorch/vision/pull/116")
    DEFAULT = IMAGENET1K_V1


register("densenet121", DenseNet121_Weights)


class DenseNet161_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "densenet161-8d451a50.pth", 28_681_000, 77.138, 93.56, (29, 29),
        "https://github.com/pytorch/vision/pull/116")
    DEFAULT = IMAGENET1K_V1


register("densenet161", DenseNet161_Weights)


class DenseNet169_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "densenet169-b2777c0a.pth", 14_149_480, 75.6, 92.806, (29, 29),
        "https://github.com/pytorch/vision/pull/116")
    DEFAULT = IMAGENET1K_V1


register("densenet169", DenseNet169_Weights)


class DenseNet201_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "densenet201-c1103571.pth", 20_013_928, 76.896, 93.37, (29, 29),
        "https://github.com/pytorch/vision/pull/116")
    DEFAULT = IMAGENET1K_V1


register("densenet201", DenseNet201_Weights)


class MobileNet_V2_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "mobilenet_v2-b0353104.pth", 3_504_872, 71.878, 90.286, (1, 1),
        "https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv2")
    IMAGENET1K_V2 = _imagenet(
        "mobilenet_v2-7ebf99e0.pth", 3_504_872, 72.154, 90.822, (1, 1),
        "https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning", resize_size=232)
    DEFAULT = IMAGENET1K_V2


register("mobilenet_v2", MobileNet_V2_Weights)


class SqueezeNet1_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "squeezenet1_0-b66bff10.pth", 1_248_424, 58.092, 80.42, (21, 21),
        "https://github.com/pytorch/vision/pull/49#issuecomment-277560717")
    DEFAULT = IMAGENET1K_V1


register("squeezenet1_0", SqueezeNet1_0_Weights)


class SqueezeNet1_1_Weights(WeightsEnum):
    IMAGENET1K_V1 = _imagenet(
        "squeezenet1_1-b8a52dc0.pth", 1_235_496, 58.178, 80.624, (17, 17),
        "https://github.com/pytorch/vision/pull/49#issuecomment-277560717")
    DEFAULT = IMAGENET1K_V1


register("squeezenet1_1", SqueezeNet1_1_Weights)
