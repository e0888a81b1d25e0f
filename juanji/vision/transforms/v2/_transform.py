"""The base of the v2 transforms: one call transforms a whole sample with one set of random parameters.

    out = transform(image)                        # one input
    image, mask = transform(image, mask)          # several: the same crop, flip, turn ... for each
    sample = transform({"image": img, "boxes": boxes, "labels": labels})

``forward`` flattens the sample (tuples, lists, dicts), decides which leaves to transform, draws the
parameters once (``make_params``) and calls ``transform(leaf, params)`` on each of those leaves.
Which leaves: the types in ``_transformed_types`` (Tensors and PIL images); of the plain tensors only
the first, and only when the sample holds no PIL image, ``Image`` or ``Video`` (torchvision's rule:
a plain tensor beside an image is data such as labels). Everything else passes through unchanged.

Randomness comes from juanji's generator (``juanji.manual_seed``), so runs repeat exactly; the
numbers drawn are not torch's, their distributions are.
"""

from __future__ import annotations

import enum

from PIL import Image as _PILImage

from .._params import rng
from ....nn import Module
from ....tensor import Tensor
from ... import tv_tensors
from ._utils import check_type, has_any, tree_flatten, tree_unflatten
from .functional._utils import get_kernel, is_pure_tensor

__all__ = ["Transform", "rng"]


class Transform(Module):
    """Base class of the v2 transforms; subclasses define ``make_params`` and ``transform``."""

    _transformed_types = (Tensor, _PILImage.Image)

    def check_inputs(self, flat_inputs) -> None:
        """Refuse samples this transform cannot handle (override)."""

    def make_params(self, flat_inputs) -> dict:
        """The random parameters, drawn once per call from the leaves to be transformed (override)."""
        return {}

    def transform(self, inpt, params: dict):
        """Transform one leaf with the call's parameters (override)."""
        raise NotImplementedError(f"{type(self).__name__} must implement transform(inpt, params)")

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        """Run ``functional``'s kernel for this input's type; types it has no kernel for pass through."""
        return get_kernel(functional, type(inpt), allow_passthrough=True)(inpt, *args, **kwargs)

    def _needs_transform_list(self, flat_inputs) -> list[bool]:
        transform_pure_tensor = not has_any(flat_inputs, tv_tensors.Image, tv_tensors.Video, _PILImage.Image)
        needs = []
        for inpt in flat_inputs:
            need = check_type(inpt, self._transformed_types)
            if need and is_pure_tensor(inpt):
                need, transform_pure_tensor = transform_pure_tensor, False
            needs.append(need)
        return needs

    def _apply(self, flat_inputs, spec):
        needs = self._needs_transform_list(flat_inputs)
        params = self.make_params([inpt for inpt, need in zip(flat_inputs, needs) if need])
        outputs = [self.transform(inpt, params) if need else inpt for inpt, need in zip(flat_inputs, needs)]
        return tree_unflatten(outputs, spec)

    def forward(self, *inputs):
        """Do not override this; define ``make_params`` and ``transform`` instead."""
        flat_inputs, spec = tree_flatten(inputs if len(inputs) > 1 else inputs[0])
        self.check_inputs(flat_inputs)
        return self._apply(flat_inputs, spec)

    def extra_repr(self) -> str:
        parts = []
        for name, value in self.__dict__.items():
            if name.startswith("_") or name == "training":
                continue
            if isinstance(value, (bool, int, float, str, tuple, list, enum.Enum)):
                parts.append(f"{name}={value}")
        return ", ".join(parts)


class _RandomApplyTransform(Transform):
    """A transform applied with probability ``p`` (one draw per call, for the whole sample)."""

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        super().__init__()
        self.p = p

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        self.check_inputs(flat_inputs)
        if rng().random() >= self.p:
            return inputs
        return self._apply(flat_inputs, spec)
