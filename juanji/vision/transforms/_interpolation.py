"""Interpolation modes: torchvision's ``InterpolationMode`` and its Pillow equivalents."""

from __future__ import annotations

from enum import Enum

from PIL import Image

__all__ = ["InterpolationMode", "to_interpolation_mode", "pil_filter"]


class InterpolationMode(Enum):
    """How to sample between pixels. The value is the name used in reprs (``interpolation=bilinear``)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    # Pillow-only filters
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_FROM_PIL_INT = {
    0: InterpolationMode.NEAREST,
    2: InterpolationMode.BILINEAR,
    3: InterpolationMode.BICUBIC,
    4: InterpolationMode.BOX,
    5: InterpolationMode.HAMMING,
    1: InterpolationMode.LANCZOS,
}

_TO_PIL = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}


def to_interpolation_mode(interpolation, where: str = "interpolation",
                          allow_names: bool = False) -> InterpolationMode:
    """Accept an ``InterpolationMode`` or one of Pillow's integer filter constants; with ``allow_names``
    (transforms.v2) also the mode's name, ``"bilinear"``."""
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, str) and allow_names:  # v2 takes the names: "bilinear", "nearest-exact", ...
        try:
            return InterpolationMode(interpolation)
        except ValueError:
            raise ValueError(f"{where}: invalid interpolation mode {interpolation!r}; the names are "
                             f"{[m.value for m in InterpolationMode]}") from None
    if isinstance(interpolation, int) and not isinstance(interpolation, bool) and int(interpolation) in _FROM_PIL_INT:
        return _FROM_PIL_INT[int(interpolation)]
    raise TypeError(f"{where}: argument interpolation should be an InterpolationMode or a corresponding Pillow "
                    f"integer constant, got {interpolation!r}")


def pil_filter(mode: InterpolationMode) -> Image.Resampling:
    return _TO_PIL[mode]
