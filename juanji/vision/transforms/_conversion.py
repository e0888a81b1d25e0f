"""The conversions between PIL images, arrays and tensor images, and ``normalize``: one
implementation that ``transforms.functional`` (v1) exports and ``transforms.v2.functional`` calls
(so that v2 builds on this module, not on v1's ``functional``, and the two never import each other).
"""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image

from ... import _dtype
from ...backend import xp_of
from ...tensor import Tensor, from_numpy

__all__ = ["to_tensor", "pil_to_tensor", "to_pil_image", "normalize"]


def _is_pil(img) -> bool:
    return isinstance(img, Image.Image)


def _is_tensor(img) -> bool:
    return isinstance(img, Tensor)


def _wrap(arr) -> Tensor:
    return Tensor._from_array(arr)


# ---------------------------------------------------------------------------------- conversion
def to_tensor(pic) -> Tensor:
    """PIL image or HWC ndarray -> CHW tensor; uint8 data becomes float in [0, 1] (``x / 255``).

    Other dtypes (PIL modes 'I', 'I;16', 'F'; non-uint8 arrays) keep their values and dtype.
    """
    is_array = isinstance(pic, np.ndarray)
    if not (_is_pil(pic) or is_array):
        raise TypeError(f"to_tensor: pic should be PIL Image or ndarray. Got {type(pic)}")
    if is_array:
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        hwc = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        hwc = _pil_array(pic)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    if chw.dtype == np.uint8:
        float_dtype = _dtype.get_default_dtype().np
        return _wrap(chw.astype(float_dtype) / float_dtype.type(255))
    return from_numpy(chw)  # refuses, with a clear error, dtypes juanji has no tensor for


_PIL_MODE_DTYPES = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}


def _pil_array(pic) -> np.ndarray:
    """The pixels of a PIL image as an [H, W, C] array (mode '1' scaled to 0/255)."""
    arr = np.array(pic, dtype=_PIL_MODE_DTYPES.get(pic.mode, np.uint8), copy=True)
    if pic.mode == "1":
        arr = arr * np.uint8(255)
    width, height = pic.size
    return arr.reshape(height, width, len(pic.getbands()))


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> CHW tensor of the same values and dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be PIL Image. Got {type(pic)}")
    arr = np.asarray(pic).copy()
    width, height = pic.size
    arr = arr.reshape(height, width, len(pic.getbands()))
    return _wrap(np.ascontiguousarray(arr.transpose(2, 0, 1)))


_ONE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16" if sys.byteorder == "little" else "I;16B",
                      np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
_MODES_BY_CHANNELS = {2: ["LA"], 3: ["RGB", "YCbCr", "HSV"], 4: ["RGBA", "CMYK", "RGBX"]}


def to_pil_image(pic, mode=None):
    """CHW tensor or HWC ndarray -> PIL image; floats are scaled by 255 and cast to uint8 (``mode='F'`` keeps them).

    Without ``mode``: 1 channel gives 'L' (uint8), 'I;16' (int16), 'I' (int32) or 'F' (float32);
    2 channels 'LA', 3 'RGB', 4 'RGBA' (uint8). A given ``mode`` reinterprets the bytes (e.g. 'HSV').
    """
    if isinstance(pic, Tensor):
        arr = pic.detach()._host()
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        arr = pic
    else:
        raise TypeError(f"to_pil_image: pic should be Tensor or ndarray. Got {type(pic)}.")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"to_pil_image: pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
    channels = arr.shape[-1]
    if channels > 4:
        raise ValueError(f"to_pil_image: pic should not have > 4 channels. Got {channels} channels.")
    if arr.dtype.kind == "f" and mode != "F":
        arr = (arr * 255).astype(np.uint8)
    if channels == 1:
        arr = arr[:, :, 0]
        expected = _ONE_CHANNEL_MODES.get(arr.dtype)
        if mode is not None and mode != expected:
            raise ValueError(f"to_pil_image: incorrect mode ({mode}) supplied for input type {arr.dtype}. "
                             f"Should be {expected}")
        mode = expected
    else:
        permitted = _MODES_BY_CHANNELS[channels]
        if mode is not None and mode not in permitted:
            raise ValueError(f"to_pil_image: only modes {permitted} are supported for {channels}-channel inputs")
        if mode is None and arr.dtype == np.uint8:
            mode = permitted[0]
    if mode is None:
        raise TypeError(f"to_pil_image: input type {arr.dtype} is not supported")
    height, width = arr.shape[:2]
    # frombuffer reads the bytes in the given mode (so 'HSV' data stays HSV, 'I;16' stays 16-bit)
    return Image.frombuffer(mode, (width, height), np.ascontiguousarray(arr).tobytes(), "raw", mode, 0, 1)


def normalize(tensor, mean, std, inplace: bool = False) -> Tensor:
    """``out[c] = (tensor[c] - mean[c]) / std[c]`` for a float tensor image [..., C, H, W]."""
    if not _is_tensor(tensor):
        raise TypeError(f"normalize: img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"normalize: input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("normalize: expected tensor to be a tensor image of size (..., C, H, W). "
                         f"Got tensor.size() = {tensor.size()}")
    np_dtype = tensor.dtype.np
    mean_arr = np.asarray(mean.numpy() if _is_tensor(mean) else mean, dtype=np_dtype)
    std_arr = np.asarray(std.numpy() if _is_tensor(std) else std, dtype=np_dtype)
    if (std_arr == 0).any():
        raise ValueError(f"normalize: std evaluated to zero after conversion to {tensor.dtype}, "
                         "leading to division by zero.")
    channels = tensor.shape[-3]
    for name, arr in (("mean", mean_arr), ("std", std_arr)):
        if arr.ndim > 1 or arr.size not in (1, channels):
            raise RuntimeError(f"normalize: expected {name} with 1 or {channels} values (one per channel of "
                               f"the tensor {list(tensor.shape)}), got {arr.size}")
    xp = xp_of(tensor._data)  # the statistics go where the image is (NumPy or CuPy)
    mean_arr = xp.asarray(mean_arr.reshape(-1, 1, 1))
    std_arr = xp.asarray(std_arr.reshape(-1, 1, 1))
    if inplace:
        if tensor.requires_grad:
            raise RuntimeError("normalize: inplace=True on a tensor that requires grad; use inplace=False")
        tensor._data -= mean_arr
        tensor._data /= std_arr
        return tensor
    if tensor.requires_grad:  # keep the graph: Tensor arithmetic
        return (tensor - _wrap(mean_arr)) / _wrap(std_arr)
    return _wrap((tensor._data - mean_arr) / std_arr)
