"""juanji.vision.models.segmentation: torchvision's FCN models and d2l's ResNet-18 FCN."""

from ._utils import IntermediateLayerGetter
from .fcn import FCN, FCN8s, FCNHead, fcn8s_resnet18, fcn_resnet18_d2l

__all__ = ["IntermediateLayerGetter", "FCN", "FCNHead", "FCN8s", "fcn_resnet18_d2l", "fcn8s_resnet18"]
