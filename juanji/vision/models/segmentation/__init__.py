"""juanji.vision.models.segmentation: torchvision's FCN models and d2l's ResNet-18 FCN."""

from ._utils import IntermediateLayerGetter
from .fcn import FCN, FCNHead, fcn_resnet18_d2l

__all__ = ["IntermediateLayerGetter", "FCN", "FCNHead", "fcn_resnet18_d2l"]
