"""Collation: turning a list of samples into one batch (torch's ``default_collate``/``default_convert``).

``default_collate`` adds a leading batch dimension, recursing into the sample's structure:

    =====================================  ===============================================
    each sample is                          the batch is
    =====================================  ===============================================
    Tensor [*s]                             Tensor [B, *s] (stacked)
    NumPy array                             Tensor (stacked, array dtype kept)
    NumPy scalar                            Tensor [B] of its dtype
    float / int / bool                      Tensor [B]: float64 / int64 / bool
    str / bytes                             the batch's sequence of them, unchanged
    dict (any Mapping)                      same mapping type, each key collated
    namedtuple                              same namedtuple, each field collated
    tuple                                   list, one collated entry per position
    list (any Sequence)                     same sequence type, one entry per position
    =====================================  ===============================================

    >>> import juanji as torch
    >>> from juanji.utils.data import default_collate
    >>> batch = default_collate([(torch.zeros(2), 1, "a"), (torch.ones(2), 2, "b")])
    >>> [batch[0].shape, batch[1].dtype, batch[2]]
    [juanji.Size([2, 2]), juanji.int64, ('a', 'b')]

``default_convert`` (used when automatic batching is off, ``batch_size=None``) only turns NumPy
arrays and scalars into Tensors, keeping the structure.
"""

from __future__ import annotations

import collections.abc
import copy
import re

import numpy as np

from ... import _dtype as dt
from ...backend import xp_of
from ...functions import stack
from ...tensor import Tensor, as_tensor, tensor

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map",
           "default_collate_err_msg_format"]

# NumPy dtype codes that have no tensor equivalent: byte strings, unicode, objects
_STRING_OR_OBJECT_DTYPE = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                                  "dicts or lists; found {}")


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate ``batch`` (a sequence of samples with the same structure) recursively.

    ``collate_fn_map`` maps a type (or tuple of types) to a function ``fn(batch, *, collate_fn_map)``
    for leaves of that type: the exact type of ``batch[0]`` is looked up first, then each key in
    order with ``isinstance``. Containers (mappings, namedtuples, sequences) are handled here.
    """
    if len(batch) == 0:
        raise IndexError("default_collate: the batch is empty (expected at least one sample)")
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for leaf_type, fn in collate_fn_map.items():
            if isinstance(elem, leaf_type):
                return fn(batch, collate_fn_map=collate_fn_map)

    def recurse(samples):
        return collate(samples, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: recurse([sample[key] for sample in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple keeps its type
        return elem_type(*(recurse(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        _check_equal_lengths(batch)
        # each column stays the tuple zip makes: strings in a tuple sample collate to a tuple
        columns = [recurse(column) for column in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # tuples become lists, as in torch
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def _check_equal_lengths(batch) -> None:
    expected = len(batch[0])
    for position, sample in enumerate(batch):
        if len(sample) != expected:
            raise RuntimeError(f"each element in list of batch should be of equal size (default_collate: item "
                               f"{position} of the batch has {len(sample)} elements, but item 0 has {expected})")


def _rebuild_mapping(elem, values: dict):
    """A mapping of ``elem``'s type holding ``values`` (a plain dict if the type refuses)."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)  # keeps a subclass's extra attributes (e.g. OrderedDict, defaultdict)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem, values: list):
    """A sequence of ``elem``'s type holding ``values`` (a plain list if the type refuses)."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, value in enumerate(values):
                clone[i] = value
            return clone
        return type(elem)(values)
    except TypeError:
        return values


# ---------------------------------------------------------------------------- leaf collators
def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Stack tensors of one shape along a new dim 0."""
    shape = batch[0].shape
    for position, t in enumerate(batch):
        if t.shape != shape:
            raise RuntimeError(f"default_collate: item {position} of the batch has shape {list(t.shape)}, "
                               f"but item 0 has shape {list(shape)}")
    first = batch[0]
    if any(t.requires_grad for t in batch) or any(t.dtype is not first.dtype for t in batch):
        return stack(batch, 0)  # records the graph / promotes dtypes like torch.stack
    # the common case: plain data, one dtype; one array stack and no autograd bookkeeping
    return Tensor._from_array(xp_of(first._data).stack([t._data for t in batch]))


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _STRING_OR_OBJECT_DTYPE.search(batch[0].dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([as_tensor(array) for array in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    array = np.array(batch)
    if _STRING_OR_OBJECT_DTYPE.search(array.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(array.dtype))
    return as_tensor(array)


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(batch, dtype=dt.float64)  # a Python float is a double


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    # torch.tensor's inference: all ints -> int64, all bools -> bool, ints mixed with floats -> float32
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,  # memmap too (a subclass)
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,  # NumPy's string scalars are left out
    float: collate_float_fn,
    int: collate_int_fn,  # bool too (a subclass of int)
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the type rules).

    Samples whose tensors differ in shape cannot be stacked:
    ``default_collate: item 3 of the batch has shape [3, 30, 30], but item 0 has shape [3, 32, 32]``.
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """Turn NumPy arrays and scalars inside ``data`` into Tensors, keeping the structure
    (tuples become lists). String and object arrays, and everything else, pass through."""
    if isinstance(data, Tensor):
        return data
    kind = type(data)
    if kind.__module__ == "numpy" and kind.__name__ not in ("str_", "bytes_", "string_"):
        if isinstance(data, np.ndarray) and _STRING_OR_OBJECT_DTYPE.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return kind(*(default_convert(value) for value in data))
    if isinstance(data, tuple):
        return [default_convert(value) for value in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(value) for value in data])
    return data
