"""Colour transforms of v2. They change images and videos only: masks, boxes and labels in the same
sample pass through untouched."""

from __future__ import annotations

import collections.abc

from .._params import color_jitter_range
from . import functional as F
from ._transform import Transform, _RandomApplyTransform, rng
from ._utils import query_chw

__all__ = ["Grayscale", "RandomGrayscale", "RGB", "ColorJitter", "RandomChannelPermutation",
           "RandomPhotometricDistort", "RandomEqualize", "RandomInvert", "RandomPosterize", "RandomSolarize",
           "RandomAutocontrast", "RandomAdjustSharpness"]


class Grayscale(Transform):
    """To grey (luma), with 1 or 3 equal channels."""

    def __init__(self, num_output_channels: int = 1):
        super().__init__()
        self.num_output_channels = num_output_channels

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt, num_output_channels=self.num_output_channels)


class RandomGrayscale(_RandomApplyTransform):
    """To grey with probability ``p``, keeping the number of channels."""

    def __init__(self, p: float = 0.1):
        super().__init__(p=p)

    def make_params(self, flat_inputs):
        return {"num_input_channels": query_chw(flat_inputs)[0]}

    def transform(self, inpt, params):
        return self._call_kernel(F.rgb_to_grayscale, inpt, num_output_channels=params["num_input_channels"])


class RGB(Transform):
    """Grey images to three channels (RGB images unchanged)."""

    def transform(self, inpt, params):
        return self._call_kernel(F.grayscale_to_rgb, inpt)


def _uniform(low: float, high: float) -> float:
    return float(rng().uniform(low, high))


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, in a random order.

    A number b (brightness, contrast, saturation) means a factor ~ U(max(0, 1 - b), 1 + b); for hue,
    h means a shift ~ U(-h, h), 0 <= h <= 0.5; a (min, max) pair is taken as is; None (the default)
    leaves that property alone.
    """

    def __init__(self, brightness=None, contrast=None, saturation=None, hue=None):
        super().__init__()
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    @staticmethod
    def _check_input(value, name, center=1.0, bound=(0, float("inf")), clip_first_on_zero=True):
        """v1's check (a number or a pair, within ``bound``; None for the identity range), plus None."""
        if value is None:
            return None
        if isinstance(value, collections.abc.Sequence) and not isinstance(value, (list, tuple)):
            value = list(value)
        return color_jitter_range(value, name, center, bound, clip_first_on_zero)

    def make_params(self, flat_inputs):
        order = [int(i) for i in rng().permutation(4)]
        draw = lambda bounds: None if bounds is None else _uniform(*bounds)  # noqa: E731
        return {"fn_idx": order, "brightness_factor": draw(self.brightness), "contrast_factor": draw(self.contrast),
                "saturation_factor": draw(self.saturation), "hue_factor": draw(self.hue)}

    def transform(self, inpt, params):
        steps = {0: (F.adjust_brightness, "brightness_factor"), 1: (F.adjust_contrast, "contrast_factor"),
                 2: (F.adjust_saturation, "saturation_factor"), 3: (F.adjust_hue, "hue_factor")}
        for fn_id in params["fn_idx"]:
            functional, name = steps[fn_id]
            if params[name] is not None:
                inpt = self._call_kernel(functional, inpt, **{name: params[name]})
        return inpt


class RandomChannelPermutation(Transform):
    """Shuffle the channels of the image."""

    def make_params(self, flat_inputs):
        return {"permutation": [int(i) for i in rng().permutation(query_chw(flat_inputs)[0])]}

    def transform(self, inpt, params):
        return self._call_kernel(F.permute_channels, inpt, params["permutation"])


class RandomPhotometricDistort(Transform):
    """SSD's photometric distortion: each of brightness, contrast, saturation, hue (factors drawn from
    the given ranges) and a channel shuffle is applied with probability ``p``; contrast goes before or
    after the other colour changes with equal chance."""

    def __init__(self, brightness=(0.875, 1.125), contrast=(0.5, 1.5), saturation=(0.5, 1.5), hue=(-0.05, 0.05),
                 p: float = 0.5):
        super().__init__()
        self.brightness = brightness
        self.contrast = contrast
        self.hue = hue
        self.saturation = saturation
        self.p = p

    def make_params(self, flat_inputs):
        channels = query_chw(flat_inputs)[0]
        params = {}
        for key, bounds in (("brightness_factor", self.brightness), ("contrast_factor", self.contrast),
                            ("saturation_factor", self.saturation), ("hue_factor", self.hue)):
            params[key] = _uniform(*bounds) if rng().random() < self.p else None
        params["contrast_before"] = bool(rng().random() < 0.5)
        permute = rng().random() < self.p
        params["channel_permutation"] = [int(i) for i in rng().permutation(channels)] if permute else None
        return params

    def transform(self, inpt, params):
        if params["brightness_factor"] is not None:
            inpt = self._call_kernel(F.adjust_brightness, inpt, brightness_factor=params["brightness_factor"])
        if params["contrast_factor"] is not None and params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, contrast_factor=params["contrast_factor"])
        if params["saturation_factor"] is not None:
            inpt = self._call_kernel(F.adjust_saturation, inpt, saturation_factor=params["saturation_factor"])
        if params["hue_factor"] is not None:
            inpt = self._call_kernel(F.adjust_hue, inpt, hue_factor=params["hue_factor"])
        if params["contrast_factor"] is not None and not params["contrast_before"]:
            inpt = self._call_kernel(F.adjust_contrast, inpt, contrast_factor=params["contrast_factor"])
        if params["channel_permutation"] is not None:
            inpt = self._call_kernel(F.permute_channels, inpt, permutation=params["channel_permutation"])
        return inpt


class RandomEqualize(_RandomApplyTransform):
    """Equalise the histogram with probability ``p``."""

    def transform(self, inpt, params):
        return self._call_kernel(F.equalize, inpt)


class RandomInvert(_RandomApplyTransform):
    """Invert the colours with probability ``p``."""

    def transform(self, inpt, params):
        return self._call_kernel(F.invert, inpt)


class RandomPosterize(_RandomApplyTransform):
    """Keep ``bits`` bits per channel with probability ``p``."""

    def __init__(self, bits: int, p: float = 0.5):
        super().__init__(p=p)
        self.bits = bits

    def transform(self, inpt, params):
        return self._call_kernel(F.posterize, inpt, bits=self.bits)


class RandomSolarize(_RandomApplyTransform):
    """Invert the values at or above ``threshold`` with probability ``p``."""

    def __init__(self, threshold: float, p: float = 0.5):
        super().__init__(p=p)
        self.threshold = threshold

    def transform(self, inpt, params):
        return self._call_kernel(F.solarize, inpt, threshold=self.threshold)


class RandomAutocontrast(_RandomApplyTransform):
    """Stretch the contrast to the full range with probability ``p``."""

    def transform(self, inpt, params):
        return self._call_kernel(F.autocontrast, inpt)


class RandomAdjustSharpness(_RandomApplyTransform):
    """Sharpen (factor > 1) or blur (< 1) with probability ``p``."""

    def __init__(self, sharpness_factor: float, p: float = 0.5):
        super().__init__(p=p)
        self.sharpness_factor = sharpness_factor

    def transform(self, inpt, params):
        return self._call_kernel(F.adjust_sharpness, inpt, sharpness_factor=self.sharpness_factor)
