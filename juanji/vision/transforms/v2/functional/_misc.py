"""Normalisation, blur, noise, dtype conversion, erasing and box sanitising for transforms.v2."""

from __future__ import annotations

import numbers

import numpy as np
from PIL import Image as _PILImage

from ..... import _dtype
from .....backend import generator
from .....tensor import Tensor
from .... import tv_tensors
from ... import _conversion, _tensor, _tensor_color
from ._meta import to_xyxy
from ._type_conversion import pil_to_tensor, to_pil_image
from ._utils import dispatch, is_pure_tensor, plain, register_internal

__all__ = ["normalize", "normalize_image", "normalize_video", "gaussian_blur", "gaussian_blur_image",
           "gaussian_blur_video", "gaussian_noise", "gaussian_noise_image", "gaussian_noise_video", "to_dtype",
           "to_dtype_image", "to_dtype_video", "convert_image_dtype", "erase", "erase_image", "erase_video",
           "sanitize_bounding_boxes"]

IMAGE_TYPES = (Tensor, tv_tensors.Image, tv_tensors.Video)


def _t(arr) -> Tensor:
    return Tensor._from_array(arr)


def normalize(inpt, mean, std, inplace: bool = False):
    """``(x[c] - mean[c]) / std[c]`` for a float tensor image."""
    return dispatch(normalize, inpt, mean=mean, std=std, inplace=inplace)


@register_internal(normalize, *IMAGE_TYPES)
def normalize_image(image, mean, std, inplace: bool = False):
    return _conversion.normalize(image, mean, std, inplace)  # one implementation, v1's (autograd aware)


normalize_video = normalize_image


# ---------------------------------------------------------------------------------- blur and noise
def _blur_args(kernel_size, sigma):
    if isinstance(kernel_size, numbers.Integral):
        kernel_size = [int(kernel_size)] * 2
    elif len(kernel_size) != 2:
        raise ValueError(f"If kernel_size is a sequence its length should be 2. Got {len(kernel_size)}")
    for size in kernel_size:
        if size % 2 == 0 or size < 0:
            raise ValueError(f"kernel_size should have odd and positive integers. Got {kernel_size}")
    if sigma is None:
        sigma = [size * 0.15 + 0.35 for size in kernel_size]
    elif isinstance(sigma, (list, tuple)):
        if len(sigma) == 1:
            sigma = [sigma[0], sigma[0]]
        elif len(sigma) != 2:
            raise ValueError(f"If sigma is a sequence, its length should be 2. Got {len(sigma)}")
    elif isinstance(sigma, numbers.Real):
        sigma = [float(sigma)] * 2
    else:
        raise TypeError(f"sigma should be either float or sequence of floats. Got {type(sigma)}")
    for s in sigma:
        if s <= 0.0:
            raise ValueError(f"sigma should have positive values. Got {sigma}")
    return list(kernel_size), [float(s) for s in sigma]


def gaussian_blur(inpt, kernel_size, sigma=None):
    """Blur with a Gaussian of ``kernel_size`` (odd, (kx, ky) or one number) and ``sigma`` (default
    ``0.3 * ((k - 1) * 0.5 - 1) + 0.8`` = ``0.15 k + 0.35``), reflecting at the border."""
    return dispatch(gaussian_blur, inpt, kernel_size=kernel_size, sigma=sigma)


@register_internal(gaussian_blur, *IMAGE_TYPES)
def gaussian_blur_image(image, kernel_size, sigma=None):
    kernel_size, sigma = _blur_args(kernel_size, sigma)
    return _t(_tensor_color.gaussian_blur(image._data, kernel_size, sigma))


@register_internal(gaussian_blur, _PILImage.Image)
def _gaussian_blur_image_pil(image, kernel_size, sigma=None):
    return to_pil_image(gaussian_blur_image(pil_to_tensor(image), kernel_size, sigma), mode=image.mode)


gaussian_blur_video = gaussian_blur_image


def gaussian_noise(inpt, mean: float = 0.0, sigma: float = 0.1, clip: bool = True):
    """Add N(mean, sigma^2) noise (in [0, 1] units; times 255 for uint8), drawn from juanji's generator."""
    return dispatch(gaussian_noise, inpt, mean=mean, sigma=sigma, clip=clip)


@register_internal(gaussian_noise, *IMAGE_TYPES)
def gaussian_noise_image(image, mean: float = 0.0, sigma: float = 0.1, clip: bool = True):
    if sigma < 0:
        raise ValueError(f"sigma shouldn't be negative. Got {sigma}")
    arr = image._data
    rng = generator()
    if arr.dtype.kind == "f":
        out = arr + (arr.dtype.type(mean) + rng.standard_normal(arr.shape).astype(arr.dtype) * arr.dtype.type(sigma))
        return _t(np.clip(out, 0, 1) if clip else out)
    if arr.dtype == np.uint8:
        noise = (np.float32(mean * 255) + rng.standard_normal(arr.shape, dtype=np.float32) * np.float32(sigma * 255))
        out = arr.astype(np.int16) + noise.astype(np.int16)
        return _t((np.clip(out, 0, 255) if clip else out).astype(np.uint8))
    raise ValueError(f"Input tensor is expected to be in uint8 or float dtype, got dtype={image.dtype}")


@register_internal(gaussian_noise, _PILImage.Image)
def _gaussian_noise_pil(image, mean: float = 0.0, sigma: float = 0.1, clip: bool = True):
    raise ValueError("Gaussian Noise is not implemented for PIL images.")


gaussian_noise_video = gaussian_noise_image


# ---------------------------------------------------------------------------------- dtypes
def to_dtype(inpt, dtype=_dtype.float32, scale: bool = False):
    """Convert to ``dtype``; with ``scale`` an image's values move to the new range (uint8 255 -> 1.0).
    Masks and boxes are converted without scaling."""
    return dispatch(to_dtype, inpt, dtype=dtype, scale=scale)


@register_internal(to_dtype, *IMAGE_TYPES)
def to_dtype_image(image, dtype=_dtype.float32, scale: bool = False):
    target = _dtype.to_dtype(dtype)
    if image.dtype is target:
        return image
    return _t(_tensor.to_dtype(image._data, target.np, scale=bool(scale)))


to_dtype_video = to_dtype_image


@register_internal(to_dtype, tv_tensors.Mask, tv_tensors.BoundingBoxes)
def _to_dtype_unscaled(inpt, dtype=_dtype.float32, scale: bool = False):
    return inpt.to(_dtype.to_dtype(dtype))


def convert_image_dtype(image, dtype=_dtype.float32):
    """``to_dtype(image, dtype, scale=True)`` (torchvision's older name)."""
    return to_dtype_image(image, dtype, scale=True)


# ---------------------------------------------------------------------------------- erase
def erase(inpt, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Overwrite the ``h x w`` box at row ``i``, column ``j`` with ``v`` (a tensor broadcast over the box)."""
    return dispatch(erase, inpt, i=i, j=j, h=h, w=w, v=v, inplace=inplace)


@register_internal(erase, *IMAGE_TYPES)
def erase_image(image, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    value = v._data if isinstance(v, Tensor) else np.asarray(v)
    if inplace:
        _tensor_color.erase(image._data, i, j, h, w, value, inplace=True)
        return image
    return _t(_tensor_color.erase(image._data, i, j, h, w, value))


@register_internal(erase, _PILImage.Image)
def _erase_image_pil(image, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    return to_pil_image(erase_image(pil_to_tensor(image), i, j, h, w, v), mode=image.mode)


erase_video = erase_image


# ---------------------------------------------------------------------------------- boxes
def _valid_boxes(xyxy, canvas_size, min_size, min_area):
    height, width = canvas_size
    ws, hs = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    valid = (ws >= min_size) & (hs >= min_size) & (xyxy >= 0).all(axis=-1) & (ws * hs >= min_area)
    valid &= (xyxy[:, 0] <= width) & (xyxy[:, 2] <= width) & (xyxy[:, 1] <= height) & (xyxy[:, 3] <= height)
    return valid


def sanitize_bounding_boxes(bounding_boxes, format=None, canvas_size=None, min_size: float = 1.0,
                            min_area: float = 1.0):
    """Keep the boxes at least ``min_size`` wide and high, of area >= ``min_area``, inside the canvas;
    returns (kept boxes, boolean mask of the kept ones)."""
    if is_pure_tensor(bounding_boxes):
        if format is None or canvas_size is None:
            raise ValueError("format and canvas_size cannot be None if bounding_boxes is a pure tensor. "
                             f"Got format={format} and canvas_size={canvas_size}. Set those to appropriate values or "
                             "pass bounding_boxes as a tv_tensors.BoundingBoxes object.")
        format = tv_tensors._box_format(format)
    elif isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        if format is not None or canvas_size is not None:
            raise ValueError("format and canvas_size must be None when bounding_boxes is a tv_tensors.BoundingBoxes "
                             f"instance. Got format={format} and canvas_size={canvas_size}.")
        format, canvas_size = bounding_boxes.format, bounding_boxes.canvas_size
    else:
        raise ValueError("bounding_boxes must be a tv_tensors.BoundingBoxes instance or a pure tensor.")
    arr = plain(bounding_boxes)._data
    xyxy = to_xyxy(arr, format)
    valid = _valid_boxes(xyxy, canvas_size, min_size, min_area)
    kept = _t(arr[valid])
    if isinstance(bounding_boxes, tv_tensors.BoundingBoxes):
        kept = tv_tensors.wrap(kept, like=bounding_boxes)
    return kept, _t(valid)
