"""Conversions between PIL images, NumPy arrays and tensors for transforms.v2."""

from __future__ import annotations

import numpy as np
from PIL import Image as _PILImage

from .....tensor import Tensor
from .... import tv_tensors
from ..._conversion import pil_to_tensor, to_pil_image, to_tensor

__all__ = ["to_image", "pil_to_tensor", "to_pil_image", "to_tensor"]


def to_image(inpt) -> tv_tensors.Image:
    """An ``Image`` from a PIL image (uint8 CHW, values kept), an HWC NumPy array, or a tensor (CHW kept)."""
    if isinstance(inpt, np.ndarray):
        arr = inpt[:, :, None] if inpt.ndim == 2 else inpt
        return tv_tensors.Image(Tensor._from_array(np.ascontiguousarray(arr.transpose(2, 0, 1))))
    if isinstance(inpt, _PILImage.Image):
        return tv_tensors.Image(pil_to_tensor(inpt))
    if isinstance(inpt, Tensor):
        return tv_tensors.Image(inpt)
    raise TypeError(f"Input can either be a pure Tensor, a numpy array, or a PIL image, but got {type(inpt)} instead.")
