"""Miscellaneous v2 transforms: Identity, Lambda, Normalize, GaussianBlur, GaussianNoise, ToDtype,
ConvertImageDtype, LinearTransformation, SanitizeBoundingBoxes."""

from __future__ import annotations

import collections.abc
import warnings

import numpy as np

from .... import _dtype
from ....tensor import Tensor
from ... import tv_tensors
from . import functional as F
from ._transform import Transform, rng
from ._utils import _setup_size, get_bounding_boxes, setup_number_or_seq, tree_flatten, tree_unflatten
from .functional._meta import to_xyxy
from .functional._misc import _valid_boxes
from .functional._utils import is_pure_tensor, plain

__all__ = ["Identity", "Lambda", "Normalize", "GaussianBlur", "GaussianNoise", "ToDtype", "ConvertImageDtype",
           "LinearTransformation", "SanitizeBoundingBoxes"]


class Identity(Transform):
    """Return the input unchanged."""

    def transform(self, inpt, params):
        return inpt


class Lambda(Transform):
    """Apply ``lambd`` to the inputs of the given ``types`` (all inputs by default)."""

    _transformed_types = (object,)

    def __init__(self, lambd, *types):
        super().__init__()
        self.lambd = lambd
        self.types = types or self._transformed_types

    def transform(self, inpt, params):
        return self.lambd(inpt) if isinstance(inpt, self.types) else inpt

    def extra_repr(self) -> str:
        name = getattr(self.lambd, "__name__", None)
        return ", ".join(([name] if name else []) + [f"types={[t.__name__ for t in self.types]}"])


class Normalize(Transform):
    """``(x[c] - mean[c]) / std[c]`` on float images and videos."""

    def __init__(self, mean, std, inplace: bool = False):
        super().__init__()
        self.mean = list(mean)
        self.std = list(std)
        self.inplace = inplace

    def transform(self, inpt, params):
        return self._call_kernel(F.normalize, inpt, mean=self.mean, std=self.std, inplace=self.inplace)


class GaussianBlur(Transform):
    """Gaussian blur of ``kernel_size`` with sigma ~ U(sigma) (a number: that sigma)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        super().__init__()
        self.kernel_size = _setup_size(kernel_size, "Kernel size should be a tuple/list of two integers")
        for size in self.kernel_size:
            if size <= 0 or size % 2 == 0:
                raise ValueError("Kernel size value should be an odd and positive number.")
        self.sigma = setup_number_or_seq(sigma, "sigma")
        if not 0.0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"sigma values should be positive and of the form (min, max). Got {self.sigma}")

    def make_params(self, flat_inputs):
        sigma = float(rng().uniform(self.sigma[0], self.sigma[1]))
        return {"sigma": [sigma, sigma]}

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_blur, inpt, self.kernel_size, **params)


class GaussianNoise(Transform):
    """Add N(mean, sigma^2) noise to images (clipped to the range with ``clip``)."""

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip=True):
        super().__init__()
        self.mean = mean
        self.sigma = sigma
        self.clip = clip

    def transform(self, inpt, params):
        return self._call_kernel(F.gaussian_noise, inpt, mean=self.mean, sigma=self.sigma, clip=self.clip)


class ToDtype(Transform):
    """Images and videos to ``dtype`` (``scale=True`` moves the value range: uint8 255 -> 1.0). A dict
    {type: dtype or None, "others": ...} converts each input type its own way (masks never scale)."""

    _transformed_types = (Tensor,)

    def __init__(self, dtype, scale: bool = False):
        super().__init__()
        if not isinstance(dtype, (dict, _dtype.dtype)):
            raise ValueError(f"dtype must be a dict or a juanji dtype, got {type(dtype)} instead")
        if isinstance(dtype, dict) and Tensor in dtype and any(c in dtype for c in (tv_tensors.Image,
                                                                                     tv_tensors.Video)):
            warnings.warn("Got `dtype` values for `torch.Tensor` and either `tv_tensors.Image` or `tv_tensors.Video`. "
                          "Note that a plain `torch.Tensor` will *not* be transformed by this (or any other "
                          "transformation) in case a `tv_tensors.Image` or `tv_tensors.Video` is present in the input.")
        self.dtype = dtype
        self.scale = scale

    def transform(self, inpt, params):
        is_image = is_pure_tensor(inpt) or isinstance(inpt, (tv_tensors.Image, tv_tensors.Video))
        if isinstance(self.dtype, _dtype.dtype):
            if not is_image:
                return inpt
            dtype = self.dtype
        elif type(inpt) in self.dtype:
            dtype = self.dtype[type(inpt)]
        elif "others" in self.dtype:
            dtype = self.dtype["others"]
        else:
            raise ValueError(f"No dtype was specified for type {type(inpt)}. If you only need to convert the dtype of "
                             "images or videos, you can just pass e.g. dtype=torch.float32. If you're passing a dict "
                             'as dtype, you can use "others" as a catch-all key e.g. dtype={tv_tensors.Mask: '
                             'torch.int64, "others": None} to pass-through the rest of the inputs.')
        if dtype is None:
            if self.scale and is_image:
                warnings.warn("scale was set to True but no dtype was specified for images or videos: no scaling "
                              "will be done.")
            return inpt
        return self._call_kernel(F.to_dtype, inpt, dtype=dtype, scale=self.scale)


class ConvertImageDtype(Transform):
    """``ToDtype(dtype, scale=True)`` (torchvision's older name)."""

    def __init__(self, dtype=_dtype.float32):
        super().__init__()
        self.dtype = dtype

    def transform(self, inpt, params):
        return self._call_kernel(F.to_dtype, inpt, dtype=self.dtype, scale=True)


class LinearTransformation(Transform):
    """``(x.flatten() - mean_vector) @ transformation_matrix``, reshaped back (ZCA whitening)."""

    def __init__(self, transformation_matrix, mean_vector):
        super().__init__()
        if transformation_matrix.shape[0] != transformation_matrix.shape[1]:
            raise ValueError("transformation_matrix should be square. Got "
                             f"{tuple(transformation_matrix.size())} rectangular matrix.")
        if mean_vector.shape[0] != transformation_matrix.shape[0]:
            raise ValueError(f"mean_vector should have the same length {mean_vector.shape[0]} as any one of the "
                             f"dimensions of the transformation_matrix [{tuple(transformation_matrix.size())}]")
        self.transformation_matrix = transformation_matrix
        self.mean_vector = mean_vector

    def transform(self, inpt, params):
        if not isinstance(inpt, Tensor) or isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask)):
            return inpt
        shape = inpt.shape
        n = shape[-3] * shape[-2] * shape[-1]
        if n != self.transformation_matrix.shape[0]:
            raise ValueError("Input tensor and transformation matrix have incompatible shape."
                             f"[{shape[-3]} x {shape[-2]} x {shape[-1]}] != {self.transformation_matrix.shape[0]}")
        flat = plain(inpt).reshape(-1, n) - self.mean_vector
        out = (flat @ self.transformation_matrix).reshape(shape)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


def _find_labels(inputs):
    """The default labels_getter: the second item of a tuple, a tensor, or a dict entry named *label*."""
    if isinstance(inputs, (tuple, list)):
        inputs = inputs[1]
    if is_pure_tensor(inputs):
        return inputs
    if not isinstance(inputs, collections.abc.Mapping):
        raise ValueError("When using the default labels_getter, the input passed to forward must be a dictionary or "
                         f"a two-tuple whose second item is a dictionary or a tensor, but got {inputs} instead.")
    keys = [k for k in inputs if k.lower() == "labels"] or [k for k in inputs if "label" in k.lower()]
    if not keys:
        raise ValueError("Could not infer where the labels are in the sample. Try passing a callable as the "
                         "labels_getter parameter? If there are no labels in the sample by design, pass "
                         "labels_getter=None.")
    return inputs[keys[0]]


class SanitizeBoundingBoxes(Transform):
    """Drop the boxes smaller than ``min_size`` / ``min_area`` or outside the canvas, with their labels
    (found by ``labels_getter``) and the masks of the same objects."""

    def __init__(self, min_size: float = 1.0, min_area: float = 1.0, labels_getter="default"):
        super().__init__()
        if min_size < 1:
            raise ValueError(f"min_size must be >= 1, got {min_size}.")
        if min_area < 1:
            raise ValueError(f"min_area must be >= 1, got {min_area}.")
        self.min_size = min_size
        self.min_area = min_area
        self.labels_getter = labels_getter
        if labels_getter == "default":
            self._labels_getter = _find_labels
        elif callable(labels_getter):
            self._labels_getter = labels_getter
        elif labels_getter is None:
            self._labels_getter = lambda inputs: None
        else:
            raise ValueError(f"labels_getter should either be 'default', a callable, or None, but got "
                             f"{labels_getter}.")

    def forward(self, *inputs):
        inputs = inputs if len(inputs) > 1 else inputs[0]
        labels = self._labels_getter(inputs)
        if labels is not None:
            labels = (labels,) if isinstance(labels, Tensor) else labels
            if not isinstance(labels, (tuple, list)) or not all(isinstance(x, Tensor) for x in labels):
                raise ValueError(f"The labels in the input to forward() must be a tensor or None, got "
                                 f"{type(labels)} instead.")
        flat_inputs, spec = tree_flatten(inputs)
        boxes = get_bounding_boxes(flat_inputs)
        for label in labels or ():
            if boxes.shape[0] != label.shape[0]:
                raise ValueError(f"Number of boxes (shape={list(boxes.shape)}) and must match the number of labels."
                                 f"Found labels with shape={list(label.shape)}).")
        valid = _valid_boxes(to_xyxy(plain(boxes)._data, boxes.format), boxes.canvas_size, self.min_size,
                             self.min_area)
        params = {"valid": valid, "labels": labels}
        return tree_unflatten([self.transform(inpt, params) for inpt in flat_inputs], spec)

    def transform(self, inpt, params):
        is_label = params["labels"] is not None and any(inpt is label for label in params["labels"])
        if not (is_label or isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask))):
            return inpt
        kept = Tensor._from_array(np.ascontiguousarray(plain(inpt)._data[params["valid"]]))
        return tv_tensors.wrap(kept, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else kept
