"""juanji.vision.transforms: torchvision's image transforms (``transforms.Compose([...])``), their
functional forms (``transforms.functional``) and the v2 transforms (``transforms.v2``), on PIL images
and juanji tensor images.

The v1 classes written here keep v1's behaviour (one input); the v1 names that torchvision added later
(AutoAugment, RandomErasing, GaussianBlur, RandomAffine, ...) are the v2 classes, which take a single
image exactly as v1's do (torchvision documents v2 as a drop-in replacement for v1).
"""

from . import functional, v2
from ._interpolation import InterpolationMode
from .transforms import (CenterCrop, ColorJitter, Compose, Grayscale, Lambda, Normalize, Pad, PILToTensor, RandomCrop,
                         RandomHorizontalFlip, RandomResizedCrop, RandomRotation, RandomVerticalFlip, Resize, ToTensor)
from .v2 import (AugMix, AutoAugment, AutoAugmentPolicy, ConvertImageDtype, ElasticTransform, FiveCrop, GaussianBlur,
                 LinearTransformation, RandAugment, RandomAdjustSharpness, RandomAffine, RandomApply,
                 RandomAutocontrast, RandomChoice, RandomEqualize, RandomErasing, RandomGrayscale, RandomInvert,
                 RandomOrder, RandomPerspective, RandomPosterize, RandomSolarize, TenCrop, ToPILImage,
                 TrivialAugmentWide)

__all__ = ["functional", "v2", "InterpolationMode", "Compose", "ToTensor", "PILToTensor", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomRotation", "Pad", "Grayscale", "ColorJitter", "Lambda",
           "AugMix", "AutoAugment", "AutoAugmentPolicy", "ConvertImageDtype", "ElasticTransform", "FiveCrop",
           "GaussianBlur",
           "LinearTransformation", "RandAugment", "RandomAdjustSharpness", "RandomAffine", "RandomApply",
           "RandomAutocontrast", "RandomChoice", "RandomEqualize", "RandomErasing", "RandomGrayscale", "RandomInvert",
           "RandomOrder", "RandomPerspective", "RandomPosterize", "RandomSolarize", "TenCrop", "ToPILImage",
           "TrivialAugmentWide"]
