"""Learned and random augmentation policies: AutoAugment (Cubuk et al. 2019), RandAugment (Cubuk et al.
2020), TrivialAugmentWide (Müller & Hutter 2021), AugMix (Hendrycks et al. 2020).

Each policy applies a few operations from one table, each with a magnitude taken from ``num_bins``
evenly spaced levels (``linspace(0, max, num_bins)``, in float32 as torchvision computes them);
"signed" operations flip the sign with probability 1/2:

    ShearX/ShearY    shear by atan(m) (as a fraction of the size, about the top-left corner)
    TranslateX/Y     shift by int(m) pixels;  Rotate  m degrees
    Brightness, Color (saturation), Contrast, Sharpness   factor 1 + m
    Posterize        keep int(m) bits;  Solarize  threshold m * max_value
    AutoContrast, Equalize, Invert, Identity             no magnitude

These transforms work on one image or video (PIL or tensor) per sample; masks and boxes are refused
(the operations are not defined for them), labels pass through.
"""

from __future__ import annotations

import math
from enum import Enum

import numpy as np
from PIL import Image as _PILImage

from ....tensor import Tensor
from ... import tv_tensors
from .. import _tensor
from .._warp import linspace_like_torch
from . import functional as F
from ._transform import Transform, rng
from ._utils import check_type, get_fill, setup_fill_arg, tree_flatten, tree_unflatten
from .functional._utils import is_pure_tensor, plain

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "AugMix"]


class AutoAugmentPolicy(Enum):
    """The data sets AutoAugment learned its policies on."""

    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


def _levels(top: float, bins: int, start: float = 0.0) -> np.ndarray:
    """``torch.linspace(start, top, bins)`` in float32, value for value (the magnitudes torchvision uses)."""
    return linspace_like_torch(start, top, bins, np.float32)


def _posterize_levels(first: int, bins: int, span: int) -> np.ndarray:
    """``first - round(arange(bins) / ((bins - 1) / span))`` (round half to even, float32)."""
    return (first - np.rint(np.arange(bins, dtype=np.float32) / np.float32((bins - 1) / span))).astype(np.int32)


def _space(shear, translate, rotate, enhance, posterize=(8, 4), identity=True, invert=False):
    """An augmentation table {name: (levels(num_bins, height, width) or None, signed)}."""
    table = {"Identity": (None, False)} if identity else {}
    table.update({
        "ShearX": (lambda n, h, w: _levels(shear, n), True),
        "ShearY": (lambda n, h, w: _levels(shear, n), True),
        "TranslateX": (lambda n, h, w: _levels(translate(w), n), True),
        "TranslateY": (lambda n, h, w: _levels(translate(h), n), True),
        "Rotate": (lambda n, h, w: _levels(rotate, n), True),
        "Brightness": (lambda n, h, w: _levels(enhance, n), True),
        "Color": (lambda n, h, w: _levels(enhance, n), True),
        "Contrast": (lambda n, h, w: _levels(enhance, n), True),
        "Sharpness": (lambda n, h, w: _levels(enhance, n), True),
        "Posterize": (lambda n, h, w: _posterize_levels(posterize[0], n, posterize[1]), False),
        "Solarize": (lambda n, h, w: _levels(0.0, n, start=1.0), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
    })
    if invert:
        table["Invert"] = (None, False)
    return table


class _AutoAugmentBase(Transform):
    def __init__(self, *, interpolation="nearest", fill=None):
        super().__init__()
        self.interpolation = interpolation
        self.fill = fill
        self._fill = setup_fill_arg(fill)

    @staticmethod
    def _random_item(table: dict):
        keys = list(table)
        key = keys[int(rng().integers(len(keys)))]
        return key, table[key]

    @staticmethod
    def _magnitude(levels, index: int, signed: bool) -> float:
        if levels is None:
            return 0.0
        magnitude = float(levels[index])
        if signed and rng().random() <= 0.5:
            magnitude *= -1
        return magnitude

    def _extract_image(self, inputs):
        """(flat inputs, spec, index of the image) and the single image or video of the sample."""
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        needs = self._needs_transform_list(flat_inputs)
        found = []
        for index, (inpt, need) in enumerate(zip(flat_inputs, needs)):
            if need and check_type(inpt, (tv_tensors.Image, _PILImage.Image, is_pure_tensor, tv_tensors.Video)):
                found.append((index, inpt))
            elif isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints)):
                raise TypeError(f"Inputs of type {type(inpt).__name__} are not supported by {type(self).__name__}()")
        if not found:
            raise TypeError("Found no image in the sample.")
        if len(found) > 1:
            raise TypeError(f"Auto augment transformations are only properly defined for a single image or video, "
                            f"but found {len(found)}.")
        index, image = found[0]
        return (flat_inputs, spec, index), image

    @staticmethod
    def _insert_image(flat, image):
        flat_inputs, spec, index = flat
        flat_inputs[index] = image
        return tree_unflatten(flat_inputs, spec)

    def _apply(self, image, op: str, magnitude: float):
        """One operation of the tables on one image (torchvision's definitions)."""
        fill = get_fill(self._fill, type(image))
        interpolation = self.interpolation
        if op == "Identity":
            return image
        if op in ("ShearX", "ShearY"):
            degrees = math.degrees(math.atan(magnitude))
            shear = [degrees, 0.0] if op == "ShearX" else [0.0, degrees]
            return F.affine(image, angle=0.0, translate=[0, 0], scale=1.0, shear=shear, interpolation=interpolation,
                            fill=fill, center=[0, 0])
        if op in ("TranslateX", "TranslateY"):
            translate = [int(magnitude), 0] if op == "TranslateX" else [0, int(magnitude)]
            return F.affine(image, angle=0.0, translate=translate, scale=1.0, shear=[0.0, 0.0],
                            interpolation=interpolation, fill=fill)
        if op == "Rotate":
            return F.rotate(image, angle=magnitude, interpolation=interpolation, fill=fill)
        if op == "Brightness":
            return F.adjust_brightness(image, brightness_factor=1.0 + magnitude)
        if op == "Color":
            return F.adjust_saturation(image, saturation_factor=1.0 + magnitude)
        if op == "Contrast":
            return F.adjust_contrast(image, contrast_factor=1.0 + magnitude)
        if op == "Sharpness":
            return F.adjust_sharpness(image, sharpness_factor=1.0 + magnitude)
        if op == "Posterize":
            return F.posterize(image, bits=int(magnitude))
        if op == "Solarize":
            bound = _tensor.max_value(image._data.dtype) if isinstance(image, Tensor) else 255.0
            return F.solarize(image, threshold=bound * magnitude)
        if op == "AutoContrast":
            return F.autocontrast(image)
        if op == "Equalize":
            return F.equalize(image)
        if op == "Invert":
            return F.invert(image)
        raise ValueError(f"No transform available for {op}")


# (first operation, probability, magnitude level), (second ...): the learned sub-policies
_POLICIES = {
    AutoAugmentPolicy.IMAGENET: [
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)), (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)), (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)), (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)), (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ],
    AutoAugmentPolicy.CIFAR10: [
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)), (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)), (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)), (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)), (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)), (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)), (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)), (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)), (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)), (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)), (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)), (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)), (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ],
    AutoAugmentPolicy.SVHN: [
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)), (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)), (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)), (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)), (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)), (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)), (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)), (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)), (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)), (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)), (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ],
}


class AutoAugment(_AutoAugmentBase):
    """A random sub-policy of the learned ``policy``; each of its two operations runs with its
    probability, at its level of 10."""

    _AUGMENTATION_SPACE = _space(shear=0.3, translate=lambda size: 150.0 / 331.0 * size, rotate=30.0, enhance=0.9,
                                 identity=False, invert=True)

    def __init__(self, policy: AutoAugmentPolicy = AutoAugmentPolicy.IMAGENET, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        if policy not in _POLICIES:
            raise ValueError(f"The provided policy {policy} is not recognized.")
        self.policy = policy
        self._policies = _POLICIES[policy]

    def forward(self, *inputs):
        flat, image = self._extract_image(inputs)
        height, width = F.get_size(image)
        policy = self._policies[int(rng().integers(len(self._policies)))]
        for op, probability, level in policy:
            if not rng().random() <= probability:
                continue
            levels_fn, signed = self._AUGMENTATION_SPACE[op]
            levels = levels_fn(10, height, width) if levels_fn is not None else None
            image = self._apply(image, op, self._magnitude(levels, level, signed))
        return self._insert_image(flat, image)


class RandAugment(_AutoAugmentBase):
    """``num_ops`` operations picked uniformly, all at level ``magnitude`` of ``num_magnitude_bins``."""

    _AUGMENTATION_SPACE = _space(shear=0.3, translate=lambda size: 150.0 / 331.0 * size, rotate=30.0, enhance=0.9)

    def __init__(self, num_ops: int = 2, magnitude: int = 9, num_magnitude_bins: int = 31,
                 interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        if not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"num_ops should be a non-negative integer, but got {num_ops} instead.")
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.num_magnitude_bins = num_magnitude_bins

    def forward(self, *inputs):
        flat, image = self._extract_image(inputs)
        height, width = F.get_size(image)
        for _ in range(self.num_ops):
            op, (levels_fn, signed) = self._random_item(self._AUGMENTATION_SPACE)
            levels = levels_fn(self.num_magnitude_bins, height, width) if levels_fn is not None else None
            image = self._apply(image, op, self._magnitude(levels, self.magnitude, signed))
        return self._insert_image(flat, image)


class TrivialAugmentWide(_AutoAugmentBase):
    """One operation picked uniformly, at a level picked uniformly (wide ranges)."""

    _AUGMENTATION_SPACE = _space(shear=0.99, translate=lambda size: 32.0, rotate=135.0, enhance=0.99,
                                 posterize=(8, 6))

    def __init__(self, num_magnitude_bins: int = 31, interpolation="nearest", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self.num_magnitude_bins = num_magnitude_bins

    def forward(self, *inputs):
        flat, image = self._extract_image(inputs)
        height, width = F.get_size(image)
        op, (levels_fn, signed) = self._random_item(self._AUGMENTATION_SPACE)
        levels = levels_fn(self.num_magnitude_bins, height, width) if levels_fn is not None else None
        index = int(rng().integers(self.num_magnitude_bins)) if levels is not None else 0
        image = self._apply(image, op, self._magnitude(levels, index, signed))
        return self._insert_image(flat, image)


_ENHANCEMENTS = ("Brightness", "Color", "Contrast", "Sharpness")
_AUGMIX_ALL = _space(shear=0.3, translate=lambda size: size / 3.0, rotate=30.0, enhance=0.9, posterize=(4, 4),
                     identity=False)


class AugMix(_AutoAugmentBase):
    """``mixture_width`` chains of 1-3 (or ``chain_depth``) random operations at levels below ``severity``,
    mixed with Dirichlet(alpha) weights, then blended with the original by a Beta(alpha, alpha) weight."""

    _PARTIAL_AUGMENTATION_SPACE = {k: v for k, v in _AUGMIX_ALL.items() if k not in _ENHANCEMENTS}
    _AUGMENTATION_SPACE = {**_PARTIAL_AUGMENTATION_SPACE, **{k: _AUGMIX_ALL[k] for k in _ENHANCEMENTS}}

    def __init__(self, severity: int = 3, mixture_width: int = 3, chain_depth: int = -1, alpha: float = 1.0,
                 all_ops: bool = True, interpolation="bilinear", fill=None):
        super().__init__(interpolation=interpolation, fill=fill)
        self._PARAMETER_MAX = 10
        if not 1 <= severity <= self._PARAMETER_MAX:
            raise ValueError(f"The severity must be between [1, {self._PARAMETER_MAX}]. Got {severity} instead.")
        self.severity = severity
        self.mixture_width = mixture_width
        self.chain_depth = chain_depth
        self.alpha = alpha
        self.all_ops = all_ops

    def forward(self, *inputs):
        flat, original = self._extract_image(inputs)
        height, width = F.get_size(original)
        image = F.pil_to_tensor(original) if isinstance(original, _PILImage.Image) else plain(original)
        space = self._AUGMENTATION_SPACE if self.all_ops else self._PARTIAL_AUGMENTATION_SPACE
        dims = list(image.shape)
        expected = 5 if isinstance(original, tv_tensors.Video) else 4
        batch = image.reshape([1] * max(expected - image.ndim, 0) + dims)
        n = batch.shape[0]
        weight_shape = [n] + [1] * (batch.ndim - 1)
        m = rng().dirichlet([self.alpha, self.alpha], size=n).astype(np.float32)
        weights = rng().dirichlet([self.alpha] * self.mixture_width, size=n).astype(np.float32) * m[:, 1:2]
        mix = m[:, 0].reshape(weight_shape) * batch._data
        for i in range(self.mixture_width):
            augmented = batch
            depth = self.chain_depth if self.chain_depth > 0 else int(rng().integers(1, 4))
            for _ in range(depth):
                op, (levels_fn, signed) = self._random_item(space)
                levels = levels_fn(self._PARAMETER_MAX, height, width) if levels_fn is not None else None
                index = int(rng().integers(self.severity)) if levels is not None else 0
                augmented = self._apply(augmented, op, self._magnitude(levels, index, signed))
            mix = mix + weights[:, i].reshape(weight_shape) * augmented._data
        out = Tensor._from_array(mix.reshape(dims).astype(image._data.dtype))
        if isinstance(original, (tv_tensors.Image, tv_tensors.Video)):
            out = tv_tensors.wrap(out, like=original)
        elif isinstance(original, _PILImage.Image):
            out = F.to_pil_image(out)
        return self._insert_image(flat, out)

