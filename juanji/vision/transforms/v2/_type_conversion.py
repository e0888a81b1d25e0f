"""Conversions as transforms: ToImage, ToPureTensor, PILToTensor, ToPILImage, ToTensor (deprecated)."""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image as _PILImage

from ... import tv_tensors
from . import functional as F
from ._transform import Transform
from .functional._utils import is_pure_tensor, plain

__all__ = ["ToImage", "ToPureTensor", "PILToTensor", "ToPILImage", "ToTensor"]


class PILToTensor(Transform):
    """PIL image -> CHW tensor with the same values and dtype."""

    _transformed_types = (_PILImage.Image,)

    def transform(self, inpt, params):
        return F.pil_to_tensor(inpt)


class ToImage(Transform):
    """PIL image, HWC ndarray or plain tensor -> ``tv_tensors.Image`` (values and dtype kept: use
    ``ToDtype(float32, scale=True)`` for floats in [0, 1])."""

    _transformed_types = (is_pure_tensor, _PILImage.Image, np.ndarray)

    def transform(self, inpt, params):
        return F.to_image(inpt)


class ToPILImage(Transform):
    """Tensor or ndarray -> PIL image (see ``to_pil_image``)."""

    _transformed_types = (is_pure_tensor, tv_tensors.Image, np.ndarray)

    def __init__(self, mode=None):
        super().__init__()
        self.mode = mode

    def transform(self, inpt, params):
        return F.to_pil_image(inpt, mode=self.mode)


class ToPureTensor(Transform):
    """Every TVTensor -> a plain Tensor (the type and metadata dropped), e.g. at the end of a pipeline."""

    _transformed_types = (tv_tensors.TVTensor,)

    def transform(self, inpt, params):
        return plain(inpt)


class ToTensor(Transform):
    """v1's ToTensor (PIL/ndarray -> float CHW in [0, 1]); deprecated in v2 for ToImage + ToDtype."""

    _transformed_types = (is_pure_tensor, _PILImage.Image, np.ndarray)

    def __init__(self):
        warnings.warn("The transform `ToTensor()` is deprecated and will be removed in a future release. "
                      "Instead, please use `v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])`.")
        super().__init__()

    def transform(self, inpt, params):
        return F.to_tensor(inpt)
