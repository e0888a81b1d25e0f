"""Transforms of bounding-box metadata: ConvertBoundingBoxFormat, ClampBoundingBoxes, SetClampingMode."""

from __future__ import annotations

import numpy as np

from ....tensor import Tensor
from ... import tv_tensors
from . import functional as F
from ._transform import Transform
from ._utils import get_keypoints, tree_flatten, tree_unflatten
from .functional._utils import plain

__all__ = ["ConvertBoundingBoxFormat", "ClampBoundingBoxes", "SetClampingMode", "ClampKeyPoints", "SanitizeKeyPoints"]


class ConvertBoundingBoxFormat(Transform):
    """Boxes to ``format`` (XYXY, XYWH, CXCYWH)."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, format):
        super().__init__()
        self.format = format

    def transform(self, inpt, params):
        return F.convert_bounding_box_format(inpt, new_format=self.format)


class ClampBoundingBoxes(Transform):
    """Clamp boxes to their canvas (``clamping_mode='auto'``: each boxes' own mode)."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, clamping_mode="auto"):
        super().__init__()
        self.clamping_mode = clamping_mode

    def transform(self, inpt, params):
        return F.clamp_bounding_boxes(inpt, clamping_mode=self.clamping_mode)


class SetClampingMode(Transform):
    """Give the boxes ``clamping_mode`` ('soft', 'hard' or None) for the transforms that follow."""

    _transformed_types = (tv_tensors.BoundingBoxes,)

    def __init__(self, clamping_mode):
        super().__init__()
        if clamping_mode not in (None, "soft", "hard"):
            raise ValueError(f"clamping_mode must be soft, hard or None, got {clamping_mode}")
        self.clamping_mode = clamping_mode

    def transform(self, inpt, params):
        out = inpt.clone()
        out.clamping_mode = self.clamping_mode
        return out


class ClampKeyPoints(Transform):
    """Clamp keypoints to their canvas: x to [0, W - 1], y to [0, H - 1]."""

    _transformed_types = (tv_tensors.KeyPoints,)

    def transform(self, inpt, params):
        return F.clamp_keypoints(inpt)


class SanitizeKeyPoints(Transform):
    """Drop the keypoint groups (first axis) with a point outside the canvas, and the labels of the same
    objects (found by ``labels_getter``, as SanitizeBoundingBoxes does; None: keypoints only)."""

    def __init__(self, labels_getter=None):
        super().__init__()
        self.labels_getter = labels_getter

    def forward(self, *inputs):
        from ._misc import _find_labels
        inputs = inputs if len(inputs) > 1 else inputs[0]
        getter = _find_labels if self.labels_getter == "default" else self.labels_getter
        labels = getter(inputs) if getter is not None else None
        labels = (labels,) if labels is not None and not isinstance(labels, (tuple, list)) else labels
        flat_inputs, spec = tree_flatten(inputs)
        points = get_keypoints(flat_inputs)
        _, valid = F.sanitize_keypoints(points)
        keep = valid.numpy()
        outputs = []
        for inpt in flat_inputs:
            if isinstance(inpt, tv_tensors.KeyPoints) or any(inpt is label for label in labels or ()):
                kept = Tensor._from_array(np.ascontiguousarray(plain(inpt)._data[keep]))
                inpt = tv_tensors.wrap(kept, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else kept
            outputs.append(inpt)
        return tree_unflatten(outputs, spec)
