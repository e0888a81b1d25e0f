"""How raw images become the model's input; recorded in every checkpoint so that ``juanji eval``
and ``juanji predict`` prepare images exactly as training did.

For an image of uint8 values ``v`` (``[H, W]`` grey or ``[H, W, C]`` colour):

    x[c] = (pad(v)[c] / 255 - mean[c]) / std[c]

Before that, an image file is converted to the model's channels and brought to ``height x width``:
resized (bilinear) straight to it, or, with ``resize`` set (a pretrained model's preset, e.g.
ImageNet's 256 then 224), its shorter side resized to ``resize`` and the centre ``height x width``
cropped, as torchvision's ``Resize(resize)`` then ``CenterCrop``.

``pad`` adds ``pad`` zero pixels on every side (Fashion-MNIST's 28x28 padded to ResNet-20's
32x32 with ``pad=2``), as torchvision's ``Pad`` before ``ToTensor`` and ``Normalize`` would.
``mean`` and ``std`` are measured on the training images (:func:`channel_statistics`).

The arithmetic is one table lookup: every uint8 value maps to its float32 result, computed once
in float64, so training, evaluation and prediction give bit-identical inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import TrainingError

__all__ = ["Preprocessing", "channel_statistics", "image_channels", "fit_image", "GREY_MODES"]

# Pillow modes whose pixels are one value (grey); everything else is read as RGB
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def image_channels(image: Image.Image) -> int:
    """1 for a grey image, 3 for anything else (RGB, RGBA, palette, CMYK, ...)."""
    return 1 if image.mode in GREY_MODES else 3


def channel_statistics(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of ``images / 255``.

    ``images`` is uint8 ``[N, H, W]`` or ``[N, H, W, C]``. A histogram of the 256 possible
    values gives both moments exactly, without a float copy of the data:
    ``mean = sum_v p(v) v / 255``, ``var = sum_v p(v) (v / 255)^2 - mean^2``.
    """
    if images.dtype != np.uint8:
        raise TypeError(f"channel_statistics: expected uint8 images, got {images.dtype}")
    per_channel = images[..., None] if images.ndim == 3 else images
    values = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for c in range(per_channel.shape[-1]):
        counts = np.bincount(per_channel[..., c].ravel(), minlength=256).astype(np.float64)
        p = counts / counts.sum()
        mean = float(p @ values)
        var = max(float(p @ values ** 2) - mean ** 2, 0.0)
        means.append(mean)
        # a constant image set has std 0: divide by 1 instead of producing infinities
        stds.append(var ** 0.5 if var > 0 else 1.0)
    return tuple(means), tuple(stds)


def fit_image(image: Image.Image, height: int, width: int, resize: int | None = None) -> Image.Image:
    """``image`` brought to ``height x width``: resized (bilinear) straight to it, or with
    ``resize``, the shorter side scaled to ``resize`` (the longer by the same factor, rounded
    down as torchvision's ``Resize(int)``) and the centre ``height x width`` cropped."""
    if resize:
        w, h = image.size
        new = (resize, int(resize * h / w)) if w <= h else (int(resize * w / h), resize)
        if new != (w, h):
            image = image.resize(new, Image.Resampling.BILINEAR)
        w, h = image.size
        if (w, h) != (width, height):
            top, left = int(round((h - height) / 2.0)), int(round((w - width) / 2.0))
            if top < 0 or left < 0:   # a crop larger than the resized image: as a plain resize
                return image.resize((width, height), Image.Resampling.BILINEAR)
            image = image.crop((left, top, left + width, top + height))
        return image
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return image


@dataclass(frozen=True)
class Preprocessing:
    """The image format a model was trained on, and the normalisation applied.

    Attributes:
        channels: 1 (grey) or 3 (RGB).
        height, width: the image size before padding.
        pad: zero pixels added on each side.
        mean, std: one value per channel, on the [0, 1] scale.
        resize: None (image files resized straight to height x width), or the shorter side's
            size before a centre crop of height x width (a pretrained model's preset).
    """

    channels: int
    height: int
    width: int
    pad: int = 0
    mean: tuple = (0.0,)
    std: tuple = (1.0,)
    resize: int | None = None

    def __post_init__(self):
        if self.channels not in (1, 3):
            raise TrainingError(f"preprocessing: channels must be 1 or 3, got {self.channels}")
        if self.height < 1 or self.width < 1 or self.pad < 0:
            raise TrainingError(f"preprocessing: bad image size {self.height}x{self.width} or pad {self.pad}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise TrainingError(f"preprocessing: expected {self.channels} mean and std values, "
                                f"got {len(self.mean)} and {len(self.std)}")

    # ------------------------------------------------------------------ description
    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one model input, padding included."""
        return self.channels, self.height + 2 * self.pad, self.width + 2 * self.pad

    def describe(self) -> str:
        kind = "grey" if self.channels == 1 else "RGB"
        crop = f" (shorter side resized to {self.resize}, centre crop)" if self.resize else ""
        return f"{self.height}x{self.width} {kind}{crop}"

    def to_dict(self) -> dict:
        record = {"channels": self.channels, "height": self.height, "width": self.width, "pad": self.pad,
                  "mean": [float(m) for m in self.mean], "std": [float(s) for s in self.std]}
        if self.resize:
            record["resize"] = int(self.resize)
        return record

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        try:
            return cls(channels=int(d["channels"]), height=int(d["height"]), width=int(d["width"]),
                       pad=int(d.get("pad", 0)), mean=tuple(float(m) for m in d["mean"]),
                       std=tuple(float(s) for s in d["std"]), resize=int(d["resize"]) if d.get("resize") else None)
        except (KeyError, TypeError, ValueError) as e:
            raise TrainingError(f"preprocessing record is incomplete or malformed ({e!r})") from None

    # ------------------------------------------------------------------ arithmetic
    def _lookup_tables(self) -> np.ndarray:
        """``[C, 256]`` float32: the normalised value of every uint8 value, per channel."""
        values = np.arange(256, dtype=np.float64) / 255.0
        mean = np.asarray(self.mean, dtype=np.float64)[:, None]
        std = np.asarray(self.std, dtype=np.float64)[:, None]
        return ((values[None, :] - mean) / std).astype(np.float32)

    def apply(self, images: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W]`` (grey) or ``[N, H, W, C]`` -> float32 ``[N, C, H + 2 pad, W + 2 pad]``."""
        tables = getattr(self, "_tables", None)
        if tables is None:
            tables = self._lookup_tables()
            object.__setattr__(self, "_tables", tables)  # a cache, not part of the record
        if images.ndim == 3:
            images = images[..., None]
        images = np.moveaxis(images, -1, 1)  # [N, C, H, W] view
        if self.pad:
            p = self.pad
            images = np.pad(images, ((0, 0), (0, 0), (p, p), (p, p)))
        out = np.empty(images.shape, dtype=np.float32)
        for c in range(self.channels):
            np.take(tables[c], images[:, c], out=out[:, c])
        return out

    # ------------------------------------------------------------------ images from files
    def prepare_image(self, image: Image.Image, source: str, resize: bool = True) -> np.ndarray:
        """A PIL image as uint8 in this format: grey or RGB, brought to height x width
        (:func:`fit_image`: resized, or resized and centre-cropped when ``self.resize`` is set).

        With ``resize=False`` an image of another size is an error naming ``source``.
        """
        converted = image.convert("L" if self.channels == 1 else "RGB")
        if converted.size != (self.width, self.height):
            if not resize:
                raise TrainingError(f"{source}: image is {image.size[1]}x{image.size[0]}, "
                                    f"the model takes {self.height}x{self.width}")
            converted = fit_image(converted, self.height, self.width, self.resize)
        array = np.asarray(converted, dtype=np.uint8)
        expected = (self.height, self.width) if self.channels == 1 else (self.height, self.width, 3)
        if array.shape != expected:  # a Pillow mode that converts oddly: say so instead of failing later
            raise TrainingError(f"{source}: image became {list(array.shape)} after conversion, "
                                f"expected {list(expected)}")
        return array
