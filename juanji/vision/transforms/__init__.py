"""juanji.vision.transforms: torchvision's image transforms (``transforms.Compose([...])``) and their
functional forms (``transforms.functional``), on PIL images and juanji tensor images."""

from . import functional
from ._interpolation import InterpolationMode
from .transforms import (CenterCrop, ColorJitter, Compose, Grayscale, Lambda, Normalize, Pad, PILToTensor,
                         RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation, RandomVerticalFlip,
                         Resize, ToTensor)

__all__ = ["functional", "InterpolationMode", "Compose", "ToTensor", "PILToTensor", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomRotation", "Pad", "Grayscale", "ColorJitter", "Lambda"]
