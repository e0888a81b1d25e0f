"""Augmentations that cut into images or mix images: RandomErasing, MixUp, CutMix.

MixUp and CutMix work on a batch (images [B, C, H, W] and labels [B] or [B, num_classes]), e.g. as a
DataLoader's collate step or just after it; each image is mixed with its neighbour in the batch
(the batch rolled by one), and the labels (one-hot) with the same weight:

    x' = lam * x + (1 - lam) * roll(x),        y' = lam * y + (1 - lam) * roll(y)
    MixUp: lam ~ Beta(alpha, alpha);   CutMix: a box of area (1 - lam) is pasted from roll(x), lam
    adjusted to the box actually pasted (after clipping at the border).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image as _PILImage

from ....tensor import Tensor
from ... import tv_tensors
from . import functional as F
from ._misc import _find_labels
from ._transform import Transform, _RandomApplyTransform, rng
from ._utils import has_any, query_chw, query_size, tree_flatten, tree_unflatten
from .functional._utils import is_pure_tensor, plain

__all__ = ["RandomErasing", "MixUp", "CutMix"]


class RandomErasing(_RandomApplyTransform):
    """With probability ``p``, erase a box of area fraction ~ U(scale) and aspect ratio (log) ~ U(log ratio)
    with ``value`` (a number, one per channel, or "random" for N(0, 1) noise). Up to 10 tries to fit
    the box inside the image (strictly smaller than it); otherwise nothing is erased."""

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace: bool = False):
        super().__init__(p=p)
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("Scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("Ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        self.scale = scale
        self.ratio = ratio
        if isinstance(value, numbers.Number):
            self.value = [float(value)]
        elif isinstance(value, str):
            self.value = None
        else:
            self.value = [float(v) for v in value]
        self.inplace = inplace

    def _call_kernel(self, functional, inpt, *args, **kwargs):
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints)):
            warnings.warn(f"{type(self).__name__}() is currently passing through inputs of type "
                          f"tv_tensors.{type(inpt).__name__}. This will likely change in the future.")
        return super()._call_kernel(functional, inpt, *args, **kwargs)

    def make_params(self, flat_inputs):
        channels, height, width = query_chw(flat_inputs)
        if self.value is not None and len(self.value) not in (1, channels):
            raise ValueError(f"If value is a sequence, it should have either a single value or {channels} (number of "
                             "inpt channels)")
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            erase_area = area * float(rng().uniform(self.scale[0], self.scale[1]))
            aspect = math.exp(float(rng().uniform(log_ratio[0], log_ratio[1])))
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < height and w < width):
                continue
            if self.value is None:
                value = rng().standard_normal((channels, h, w), dtype=np.float32)
            else:
                value = np.asarray(self.value, dtype=np.float32)[:, None, None]
            i = int(rng().integers(0, height - h + 1))
            j = int(rng().integers(0, width - w + 1))
            return {"i": i, "j": j, "h": h, "w": w, "v": Tensor._from_array(value)}
        return {"i": 0, "j": 0, "h": height, "w": width, "v": None}

    def transform(self, inpt, params):
        if params["v"] is None:
            return inpt
        return self._call_kernel(F.erase, inpt, **params, inplace=self.inplace)


class _BaseMixUpCutMix(Transform):
    def __init__(self, *, alpha: float = 1.0, num_classes=None, labels_getter="default"):
        super().__init__()
        self.alpha = float(alpha)
        self.num_classes = num_classes
        if labels_getter == "default":
            self._labels_getter = _find_labels
        elif callable(labels_getter):
            self._labels_getter = labels_getter
        else:
            raise ValueError(f"labels_getter should either be 'default' or a callable, but got {labels_getter}.")

    def _lam(self) -> float:
        return float(rng().beta(self.alpha, self.alpha))

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        flat_inputs, spec = tree_flatten(inputs)
        needs = self._needs_transform_list(flat_inputs)
        if has_any(flat_inputs, _PILImage.Image, tv_tensors.BoundingBoxes, tv_tensors.Mask, tv_tensors.KeyPoints):
            raise ValueError(f"{type(self).__name__}() does not support PIL images, bounding boxes, keypoints and "
                             "masks.")
        labels = self._labels_getter(inputs)
        if not isinstance(labels, Tensor):
            raise ValueError(f"The labels must be a tensor, but got {type(labels)} instead.")
        if labels.ndim not in (1, 2):
            raise ValueError(f"labels should be index based with shape (batch_size,) or probability based with shape "
                             f"(batch_size, num_classes), but got a tensor of shape {list(labels.shape)} instead.")
        if labels.ndim == 2 and self.num_classes is not None and labels.shape[-1] != self.num_classes:
            raise ValueError(f"When passing 2D labels, the number of elements in last dimension must match "
                             f"num_classes: {labels.shape[-1]} != {self.num_classes}. You can Leave num_classes to "
                             "None.")
        if labels.ndim == 1 and self.num_classes is None:
            raise ValueError("num_classes must be passed if the labels are index-based (1D)")
        params = {"labels": labels, "batch_size": labels.shape[0],
                  **self.make_params([inpt for inpt, need in zip(flat_inputs, needs) if need])}
        needs[next(i for i, inpt in enumerate(flat_inputs) if inpt is labels)] = True
        outputs = [self.transform(inpt, params) if need else inpt for inpt, need in zip(flat_inputs, needs)]
        return tree_unflatten(outputs, spec)

    @staticmethod
    def _check_image(inpt, batch_size: int):
        expected = 5 if isinstance(inpt, tv_tensors.Video) else 4
        if inpt.ndim != expected:
            raise ValueError(f"Expected a batched input with {expected} dims, but got {inpt.ndim} dimensions instead.")
        if inpt.shape[0] != batch_size:
            raise ValueError(f"The batch size of the image or video does not match the batch size of the labels: "
                             f"{inpt.shape[0]} != {batch_size}.")
        if not inpt.is_floating_point():
            raise TypeError(f"{inpt.dtype} images cannot be mixed: convert them to float first (ToDtype)")

    def _mixup_label(self, label, lam: float) -> Tensor:
        arr = label._data
        if arr.ndim == 1:
            arr = np.eye(self.num_classes, dtype=np.int64)[arr]
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float32)
        return Tensor._from_array(np.roll(arr, 1, axis=0) * arr.dtype.type(1.0 - lam) + arr * arr.dtype.type(lam))

    @staticmethod
    def _rewrap(out, inpt):
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)) else out

    @staticmethod
    def _is_image(inpt) -> bool:
        return isinstance(inpt, (tv_tensors.Image, tv_tensors.Video)) or is_pure_tensor(inpt)


class MixUp(_BaseMixUpCutMix):
    """Blend each image of a batch with the next one by lam ~ Beta(alpha, alpha); the labels likewise."""

    def make_params(self, flat_inputs):
        return {"lam": self._lam()}

    def transform(self, inpt, params):
        lam = params["lam"]
        if inpt is params["labels"]:
            return self._mixup_label(inpt, lam)
        if not self._is_image(inpt):
            return inpt
        self._check_image(inpt, params["batch_size"])
        arr = plain(inpt)._data
        mixed = np.roll(arr, 1, axis=0) * arr.dtype.type(1.0 - lam) + arr * arr.dtype.type(lam)
        return self._rewrap(Tensor._from_array(mixed), inpt)


class CutMix(_BaseMixUpCutMix):
    """Paste a box of each next image into each image of a batch (area 1 - lam, lam ~ Beta(alpha, alpha),
    centred at a uniform point and clipped); labels mixed by the pasted area."""

    def make_params(self, flat_inputs):
        lam = self._lam()
        height, width = query_size(flat_inputs)
        cx, cy = int(rng().integers(width)), int(rng().integers(height))
        r = 0.5 * math.sqrt(1.0 - lam)
        half_w, half_h = int(r * width), int(r * height)
        x1, y1 = max(cx - half_w, 0), max(cy - half_h, 0)
        x2, y2 = min(cx + half_w, width), min(cy + half_h, height)
        return {"box": (x1, y1, x2, y2), "lam_adjusted": float(1.0 - (x2 - x1) * (y2 - y1) / (width * height))}

    def transform(self, inpt, params):
        if inpt is params["labels"]:
            return self._mixup_label(inpt, params["lam_adjusted"])
        if not self._is_image(inpt):
            return inpt
        self._check_image(inpt, params["batch_size"])
        x1, y1, x2, y2 = params["box"]
        arr = plain(inpt)._data
        out = arr.copy()
        out[..., y1:y2, x1:x2] = np.roll(arr, 1, axis=0)[..., y1:y2, x1:x2]
        return self._rewrap(Tensor._from_array(out), inpt)
