"""A library-neutral picture of collated batches, for comparing juanji's results with torch's."""

from __future__ import annotations

import numpy as np

import juanji

try:
    import torch
    _TENSOR_TYPES = (juanji.Tensor, torch.Tensor)
except ImportError:  # the picture of juanji results alone still works
    _TENSOR_TYPES = (juanji.Tensor,)

__all__ = ["describe"]


def describe(obj):
    """A library-neutral picture of a (nested) result: containers by type, tensors by dtype,
    shape and values, so a juanji result and a torch result can be compared with ``==``."""
    if isinstance(obj, _TENSOR_TYPES):
        return ("tensor", str(obj.dtype).split(".")[-1], tuple(obj.shape), obj.detach().numpy().tolist())
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.tolist())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, tuple(describe(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [describe(v) for v in obj])
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, describe(v)) for k, v in obj.items()])
    return (type(obj).__name__, obj)
