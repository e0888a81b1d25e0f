"""Helpers of the v2 transforms: flattening a sample, finding its size, checking arguments.

A sample is any nesting of tuples, lists and dicts (``(image, {"boxes": ..., "labels": ...})``);
``tree_flatten`` lists its leaves depth-first and ``tree_unflatten`` rebuilds the same structure
around new leaves, so a transform sees every input and returns the sample in its own shape.
"""

from __future__ import annotations

import collections.abc
import numbers
from collections.abc import Sequence

from PIL import Image as _PILImage

from ... import tv_tensors
from .._params import _check_sequence_input, _setup_angle, _setup_size  # noqa: F401 (re-exported)
from .functional import get_dimensions, get_size, is_pure_tensor

__all__ = ["tree_flatten", "tree_unflatten", "check_type", "has_any", "has_all", "query_size", "query_chw",
           "get_bounding_boxes", "get_keypoints", "setup_fill_arg", "get_fill", "setup_number_or_seq",
           "check_padding_arg", "check_padding_mode_arg", "is_pil_image"]


# ---------------------------------------------------------------------------------- samples
def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def tree_flatten(tree):
    """(leaves, spec): the leaves depth-first; ``spec`` remembers the containers."""
    if isinstance(tree, (list, tuple)):
        leaves, specs = [], []
        for item in tree:
            item_leaves, item_spec = tree_flatten(item)
            leaves += item_leaves
            specs.append((len(item_leaves), item_spec))
        return leaves, (type(tree), None, specs)
    if isinstance(tree, collections.abc.Mapping):
        leaves, specs = [], []
        for value in tree.values():
            item_leaves, item_spec = tree_flatten(value)
            leaves += item_leaves
            specs.append((len(item_leaves), item_spec))
        return leaves, (type(tree), list(tree.keys()), specs)
    return [tree], None


def tree_unflatten(leaves, spec):
    """The structure ``spec`` describes, filled with ``leaves`` in order."""
    if spec is None:
        return leaves[0]
    container, keys, specs = spec
    items, at = [], 0
    for count, item_spec in specs:
        items.append(tree_unflatten(leaves[at:at + count], item_spec))
        at += count
    if keys is not None:
        out = dict(zip(keys, items))
        return out if container is dict else container(out)
    if container is list:
        return items
    if container is tuple:
        return tuple(items)
    return container(*items) if issubclass(container, tuple) and hasattr(container, "_fields") else \
        container(items)


# ---------------------------------------------------------------------------------- types
def is_pil_image(obj) -> bool:
    return isinstance(obj, _PILImage.Image)


def check_type(obj, types_or_checks) -> bool:
    """Whether ``obj`` is an instance of one of the types, or passes one of the check functions."""
    for type_or_check in types_or_checks:
        if isinstance(obj, type_or_check) if isinstance(type_or_check, type) else type_or_check(obj):
            return True
    return False


def has_any(flat_inputs, *types_or_checks) -> bool:
    return any(check_type(inpt, types_or_checks) for inpt in flat_inputs)


def has_all(flat_inputs, *types_or_checks) -> bool:
    return all(has_any(flat_inputs, type_or_check) for type_or_check in types_or_checks)


def _sizes_text(sizes) -> str:
    return ", ".join(str(list(s)) for s in sorted(sizes))


def query_chw(flat_inputs) -> tuple[int, int, int]:
    """(C, H, W) of the images and videos of a sample (they must agree)."""
    chws = {tuple(get_dimensions(inpt)) for inpt in flat_inputs
            if check_type(inpt, (is_pure_tensor, tv_tensors.Image, _PILImage.Image, tv_tensors.Video))}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: {_sizes_text(chws)}")
    return chws.pop()


def query_size(flat_inputs) -> tuple[int, int]:
    """(H, W) of a sample: of its images, videos, masks and boxes' canvas (they must agree, or the
    transform's parameters would not fit them all)."""
    sizes = {tuple(get_size(inpt)) for inpt in flat_inputs
             if check_type(inpt, (is_pure_tensor, tv_tensors.Image, _PILImage.Image, tv_tensors.Video,
                                  tv_tensors.Mask, tv_tensors.BoundingBoxes, tv_tensors.KeyPoints))}
    if not sizes:
        raise TypeError("No image, video, mask, bounding box or keypoints were found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {_sizes_text(sizes)}")
    return sizes.pop()


def get_bounding_boxes(flat_inputs) -> tv_tensors.BoundingBoxes:
    for inpt in flat_inputs:
        if isinstance(inpt, tv_tensors.BoundingBoxes):
            return inpt
    raise ValueError("No bounding boxes were found in the sample")


def get_keypoints(flat_inputs) -> tv_tensors.KeyPoints:
    for inpt in flat_inputs:
        if isinstance(inpt, tv_tensors.KeyPoints):
            return inpt
    raise ValueError("No keypoints were found in the sample")


# ---------------------------------------------------------------------------------- arguments
def setup_number_or_seq(arg, name: str) -> list[float]:
    """A number x -> [x, x]; (x,) -> [x, x]; (a, b) -> [a, b]."""
    if not isinstance(arg, (numbers.Real, Sequence)) or isinstance(arg, (str, bool)):
        raise TypeError(f"{name} should be a number or a sequence of numbers. Got {type(arg)}")
    if isinstance(arg, Sequence):
        if len(arg) not in (1, 2):
            raise ValueError(f"If {name} is a sequence its length should be 1 or 2. Got {len(arg)}")
        if not all(isinstance(v, numbers.Real) for v in arg):
            raise ValueError(f"{name} should be a sequence of numbers. Got {arg}")
        return [float(arg[0]), float(arg[-1])]
    return [float(arg), float(arg)]


def _check_fill(fill) -> None:
    if isinstance(fill, dict):
        for value in fill.values():
            _check_fill(value)
    elif fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg, only Numbers, tuples, lists and dicts are allowed.")


def setup_fill_arg(fill) -> dict:
    """A fill, or a dict {type or 'others': fill}, as a dict (sequences become lists of floats)."""
    _check_fill(fill)

    def convert(value):
        return value if value is None or isinstance(value, numbers.Number) else [float(v) for v in value]

    if isinstance(fill, dict):
        return {key: convert(value) for key, value in fill.items()}
    return {"others": convert(fill)}


def get_fill(fill_dict, input_type):
    """The fill for ``input_type``: its own entry, else 'others'."""
    if input_type in fill_dict:
        return fill_dict[input_type]
    return fill_dict.get("others")


def check_padding_arg(padding) -> None:
    message = f"Padding must be an int or a 1, 2, or 4 element of tuple or list, got {padding}."
    if isinstance(padding, (tuple, list)):
        if len(padding) not in (1, 2, 4) or not all(isinstance(p, int) for p in padding):
            raise ValueError(message)
    elif not isinstance(padding, int) or isinstance(padding, bool):
        raise ValueError(message)


def check_padding_mode_arg(padding_mode) -> None:
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
