"""juanji.vision.models.segmentation: torchvision's FCN models and d2l's ResNet-18 FCN."""

from ._utils import IntermediateLayerGetter
from .fcn import (FCN, FCN8s, FCN_ResNet50_Weights, FCN_ResNet101_Weights, FCNHead, SemanticSegmentation,
                  fcn8s_resnet18, fcn_resnet18_d2l, fcn_resnet50, fcn_resnet101)

__all__ = ["IntermediateLayerGetter", "FCN", "FCNHead", "FCN8s", "SemanticSegmentation", "FCN_ResNet50_Weights",
           "FCN_ResNet101_Weights", "fcn_resnet50", "fcn_resnet101", "fcn_resnet18_d2l", "fcn8s_resnet18"]
