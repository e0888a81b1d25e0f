"""torchvision.io's image functions for juanji, on Pillow: read, decode, encode and write images as
uint8 tensors [C, H, W].

    image = read_image("cat.jpg")                         # uint8 [3, H, W] (channels as stored)
    grey = read_image("cat.jpg", ImageReadMode.GRAY)      # uint8 [1, H, W]
    write_png(image, "copy.png")

torchvision decodes with libjpeg/libpng; Pillow links the same libraries, so the pixels are the ones
those libraries give. Video and the GPU decoders are not part of this module.
"""

from __future__ import annotations

import io as _bytes_io
import os
from enum import Enum

import numpy as np
from PIL import Image, ImageOps

from ..tensor import Tensor

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "decode_png", "decode_jpeg", "read_image",
           "encode_png", "encode_jpeg", "write_png", "write_jpeg"]


class ImageReadMode(Enum):
    """How many channels to decode to: as stored, grey, grey + alpha, RGB, RGB + alpha."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA", ImageReadMode.RGB: "RGB",
              ImageReadMode.RGB_ALPHA: "RGBA"}


def read_file(path) -> Tensor:
    """The bytes of a file as a uint8 tensor [N]."""
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    return Tensor._from_array(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename, data) -> None:
    """Write a uint8 tensor [N] of bytes to ``filename``."""
    with open(os.fspath(filename), "wb") as f:
        f.write(_bytes_of(data, "write_file"))


def _bytes_of(data, where: str) -> bytes:
    if not isinstance(data, Tensor) or data.dtype.name != "uint8" or data.ndim != 1:
        raise TypeError(f"{where}: expected the encoded bytes as a uint8 tensor [N], got {_described(data)}")
    return data.numpy().tobytes()


def _described(value) -> str:
    return f"{value.dtype} {list(value.shape)}" if isinstance(value, Tensor) else type(value).__name__


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"mode should be an ImageReadMode or its name, got {mode!r}")
    return mode


def _decode(picture: Image.Image, mode, apply_exif_orientation: bool) -> Tensor:
    if apply_exif_orientation:
        picture = ImageOps.exif_transpose(picture)
    mode = _mode(mode)
    if mode is ImageReadMode.UNCHANGED:
        if picture.mode == "P":
            picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
        elif picture.mode not in ("L", "LA", "RGB", "RGBA"):
            picture = picture.convert("RGBA" if picture.mode.endswith("A") else "RGB")
    else:
        picture = picture.convert(_PIL_MODES[mode])
    arr = np.asarray(picture)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return Tensor._from_array(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) -> Tensor:
    """Decode an image (a uint8 tensor of its bytes, or a path) to a uint8 tensor [C, H, W]."""
    if isinstance(input, (str, os.PathLike)):
        return read_image(input, mode, apply_exif_orientation)
    try:
        picture = Image.open(_bytes_io.BytesIO(_bytes_of(input, "decode_image")))
        picture.load()
    except (OSError, ValueError) as e:
        raise RuntimeError(f"decode_image: the bytes are not an image Pillow can decode ({e})") from None
    return _decode(picture, mode, apply_exif_orientation)


decode_png = decode_jpeg = decode_image


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False) -> Tensor:
    """Read an image file (JPEG, PNG, GIF, WebP, BMP ...) as a uint8 tensor [C, H, W]."""
    path = os.fspath(path)
    try:
        with Image.open(path) as picture:
            picture.load()
            return _decode(picture, mode, apply_exif_orientation)
    except FileNotFoundError:
        raise FileNotFoundError(f"read_image: no such file: '{path}'") from None
    except (OSError, ValueError) as e:
        raise RuntimeError(f"read_image: cannot decode '{path}' ({e})") from None


def _picture(image, where: str) -> Image.Image:
    is_image = isinstance(image, Tensor) and image.dtype.name == "uint8" and image.ndim == 3
    if not is_image or image.shape[0] not in (1, 3):
        raise ValueError(f"{where}: expected a uint8 image tensor [1 or 3, H, W], got {_described(image)}")
    arr = image.detach().numpy().transpose(1, 2, 0)
    return Image.fromarray(np.ascontiguousarray(arr[:, :, 0] if arr.shape[2] == 1 else arr))


def _encode(picture: Image.Image, **options) -> Tensor:
    buffer = _bytes_io.BytesIO()
    picture.save(buffer, **options)
    return Tensor._from_array(np.frombuffer(buffer.getvalue(), dtype=np.uint8).copy())


def encode_png(input, compression_level: int = 6) -> Tensor:
    """PNG bytes (uint8 tensor [N]) of a uint8 image [C, H, W]; ``compression_level`` 0 (none) .. 9."""
    if not 0 <= compression_level <= 9:
        raise ValueError(f"encode_png: compression_level should be between 0 and 9, got {compression_level}")
    return _encode(_picture(input, "encode_png"), format="PNG", compress_level=compression_level)


def encode_jpeg(input, quality: int = 75) -> Tensor:
    """JPEG bytes (uint8 tensor [N]) of a uint8 image [C, H, W] at ``quality`` 1..100."""
    if not 1 <= quality <= 100:
        raise ValueError(f"encode_jpeg: image quality should be a positive number between 1 and 100, got {quality}")
    return _encode(_picture(input, "encode_jpeg"), format="JPEG", quality=quality)


def write_png(input, filename, compression_level: int = 6) -> None:
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input, filename, quality: int = 75) -> None:
    write_file(filename, encode_jpeg(input, quality))
