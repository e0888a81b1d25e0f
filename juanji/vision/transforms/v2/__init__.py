"""torchvision.transforms.v2 for juanji: transforms that take a whole sample — an image with its mask,
boxes and labels — and apply one set of random parameters to all of it.

    from juanji.vision import tv_tensors
    from juanji.vision.transforms import v2

    train = v2.Compose([
        v2.ToImage(),                                   # PIL / ndarray -> tv_tensors.Image (uint8)
        v2.RandomResizedCrop(224, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(juanji.float32, scale=True),         # uint8 0..255 -> float 0..1
        v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    image, mask = train(pil_image, tv_tensors.Mask(pil_mask))   # the same crop and flip for both

The same transform works on PIL images and tensors (the PIL path is Pillow's; the two agree up to
interpolation rounding). Geometric transforms move masks with nearest interpolation and boxes by their
corners; colour transforms leave masks and boxes alone. Randomness: juanji's generator.
"""

from .._interpolation import InterpolationMode
from . import functional
from ._augment import CutMix, MixUp, RandomErasing
from ._auto_augment import AugMix, AutoAugment, AutoAugmentPolicy, RandAugment, TrivialAugmentWide
from ._color import (RGB, ColorJitter, Grayscale, RandomAdjustSharpness, RandomAutocontrast, RandomChannelPermutation,
                     RandomEqualize, RandomGrayscale, RandomInvert, RandomPhotometricDistort, RandomPosterize,
                     RandomSolarize)
from ._container import Compose, RandomApply, RandomChoice, RandomOrder
from ._geometry import (CenterCrop, ElasticTransform, FiveCrop, Pad, RandomAffine, RandomCrop, RandomHorizontalFlip,
                        RandomIoUCrop, RandomPerspective,
                        RandomResize, RandomResizedCrop, RandomRotation, RandomShortestSize, RandomVerticalFlip,
                        RandomZoomOut, Resize, ScaleJitter, TenCrop)
from ._meta import ClampBoundingBoxes, ClampKeyPoints, ConvertBoundingBoxFormat, SanitizeKeyPoints, SetClampingMode
from ._misc import (ConvertImageDtype, GaussianBlur, GaussianNoise, Identity, Lambda, LinearTransformation, Normalize,
                    SanitizeBoundingBoxes, ToDtype)
from ._transform import Transform
from ._type_conversion import PILToTensor, ToImage, ToPILImage, ToPureTensor, ToTensor
from ._utils import check_type, get_bounding_boxes, get_keypoints, has_all, has_any, query_chw, query_size

__all__ = [
    "InterpolationMode", "functional", "Transform", "AutoAugmentPolicy",
    "AugMix", "AutoAugment", "RandAugment", "TrivialAugmentWide",
    "CutMix", "MixUp", "RandomErasing",
    "RGB", "ColorJitter", "Grayscale", "RandomAdjustSharpness", "RandomAutocontrast", "RandomChannelPermutation",
    "RandomEqualize", "RandomGrayscale", "RandomInvert", "RandomPhotometricDistort", "RandomPosterize",
    "RandomSolarize",
    "Compose", "RandomApply", "RandomChoice", "RandomOrder",
    "CenterCrop", "ElasticTransform", "FiveCrop", "Pad", "RandomAffine", "RandomCrop", "RandomHorizontalFlip",
    "RandomIoUCrop", "RandomPerspective",
    "RandomResize", "RandomResizedCrop", "RandomRotation", "RandomShortestSize", "RandomVerticalFlip",
    "RandomZoomOut", "Resize", "ScaleJitter", "TenCrop",
    "ClampBoundingBoxes", "ConvertBoundingBoxFormat", "SetClampingMode", "ClampKeyPoints", "SanitizeKeyPoints",
    "ConvertImageDtype", "GaussianBlur", "GaussianNoise", "Identity", "Lambda", "LinearTransformation", "Normalize",
    "SanitizeBoundingBoxes", "ToDtype",
    "PILToTensor", "ToImage", "ToPILImage", "ToPureTensor", "ToTensor",
    "check_type", "get_bounding_boxes", "get_keypoints", "has_all", "has_any", "query_chw", "query_size",
]
