"""Datasets: what a DataLoader reads samples from (torch.utils.data's dataset classes).

Two kinds, as in PyTorch:

- a *map-style* dataset (:class:`Dataset`) answers ``dataset[i]`` for ``0 <= i < len(dataset)``;
  the DataLoader's sampler decides which indices to read and in which order;
- an *iterable-style* dataset (:class:`IterableDataset`) is a stream: ``iter(dataset)`` yields
  samples, and the DataLoader just pulls from it.

    >>> import juanji as torch
    >>> from juanji.utils.data import TensorDataset, random_split
    >>> ds = TensorDataset(torch.arange(10), torch.arange(10) * 2)
    >>> [t.tolist() for t in ds[3]]
    [3, 6]
    >>> train, val = random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
    >>> len(train), len(val)
    (8, 2)
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Generic, TypeVar

import numpy as np

from ... import random
from ...tensor import Tensor
from ._rng import numpy_rng

_T_co = TypeVar("_T_co", covariant=True)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset",
           "Subset", "random_split"]


class Dataset(Generic[_T_co]):
    """A map-style dataset: subclasses implement ``__getitem__(index)`` and usually ``__len__``.

    Generic like torch's, so type hints such as ``Dataset[tuple[Tensor, int]]`` work.

    A subclass may also implement ``__getitems__(indices)`` returning the list of samples for a
    whole batch of indices at once; the DataLoader then calls it instead of ``__getitem__`` once
    per index (torch 2.x's batched-fetch protocol).

    ``a + b`` concatenates two datasets into a :class:`ConcatDataset`.
    """

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])

    # No default __len__: a dataset without one simply has no length (len() raises TypeError),
    # exactly as in torch.


class IterableDataset(Dataset[_T_co]):
    """An iterable-style dataset: subclasses implement ``__iter__`` yielding samples.

    With ``num_workers > 0`` every worker process iterates its own copy of the dataset, so a
    dataset that should not repeat its samples splits the work with
    :func:`juanji.utils.data.get_worker_info` (``id`` and ``num_workers``).

    ``a + b`` chains two iterable datasets into a :class:`ChainDataset`.
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: "Dataset") -> "ChainDataset":
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are rows of tensors: ``dataset[i] == tuple(t[i] for t in tensors)``.

    All tensors must have the same size in dim 0 (the number of samples).
    """

    def __init__(self, *tensors: Tensor) -> None:
        for position, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, but argument {position} is a "
                                f"{type(t).__name__}")
            if t.ndim == 0:
                raise IndexError(f"TensorDataset: tensor {position} is zero-dimensional; every tensor needs a "
                                 "first dimension that indexes the samples")
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            sizes = [t.shape[0] for t in tensors]
            raise AssertionError(f"Size mismatch between tensors: TensorDataset got first-dimension sizes {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _collated_batch(self, indices):
        """``default_collate([self[i] for i in indices])`` computed with one fancy index per tensor.

        Stacking rows one by one costs a Python call and a Tensor per sample; gathering the rows
        with one integer-array index per tensor is a single NumPy copy. Used by the DataLoader
        when the collate function is ``default_collate``.
        """
        overridden = type(self).__getitem__ is not TensorDataset.__getitem__ or hasattr(self, "__getitems__")
        if overridden:  # a subclass that changes how samples are read gets the per-sample path
            return NotImplemented
        rows = np.asarray(indices, dtype=np.int64)
        return [t[rows] for t in self.tensors]


class StackDataset(Dataset[_T_co]):
    """Zip datasets of equal length: samples are tuples (positional) or dicts (keyword datasets).

        StackDataset(images, texts)[i]            == (images[i], texts[i])
        StackDataset(image=images, text=texts)[i] == {"image": images[i], "text": texts[i]}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                             "input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError(f"Size mismatch between datasets: StackDataset got lengths {[len(d) for d in parts]}")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list):
        named = isinstance(self.datasets, dict)
        parts = self.datasets.items() if named else enumerate(self.datasets)
        samples = [{} if named else [] for _ in indices]
        for key, d in parts:
            column = _fetch_many(d, indices)
            for sample, value in zip(samples, column):
                if named:
                    sample[key] = value
                else:
                    sample.append(value)
        return samples if named else [tuple(s) for s in samples]

    def __len__(self) -> int:
        return self._length


def _fetch_many(dataset, indices: list) -> list:
    """``[dataset[i] for i in indices]``, through ``__getitems__`` when the dataset has it."""
    getitems = getattr(dataset, "__getitems__", None)
    if not callable(getitems):
        return [dataset[i] for i in indices]
    items = getitems(indices)
    if len(items) != len(indices):
        raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, got {len(items)}")
    return items


class ConcatDataset(Dataset[_T_co]):
    """Several map-style datasets one after the other: index ``i`` falls in the first dataset
    whose cumulative size exceeds it (``cumulative_sizes[k] = len(d_0) + ... + len(d_k)``)."""

    @staticmethod
    def cumsum(sequence) -> list:
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = n + idx
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other, chained lazily while iterating."""

    def __init__(self, datasets) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            _require_iterable(d)
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            _require_iterable(d)
            total += len(d)
        return total


def _require_iterable(d) -> None:
    if not isinstance(d, IterableDataset):
        raise AssertionError(f"ChainDataset only supports IterableDataset, got a {type(d).__name__}")


class Subset(Dataset[_T_co]):
    """The samples of ``dataset`` at ``indices``: ``Subset(d, idx)[i] == d[idx[i]]``."""

    def __init__(self, dataset: Dataset, indices) -> None:
        self.dataset = dataset
        self.indices = indices
        # __getitems__ would silently bypass an overridden __getitem__ in the DataLoader
        if type(self).__getitem__ is not Subset.__getitem__ and type(self).__getitems__ is Subset.__getitems__:
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. When subclassing Subset and "
                "overriding __getitem__, you must also override __getitems__ to ensure DataLoader works correctly "
                "with your custom logic. A simple implementation:\n\n"
                "def __getitems__(self, indices):\n    return [self.__getitem__(idx) for idx in indices]")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        return _fetch_many(self.dataset, [self.indices[i] for i in indices])

    def __len__(self) -> int:
        return len(self.indices)

    def _collated_batch(self, indices):
        """The parent's one-gather batch (see TensorDataset), when the parent has one."""
        if type(self).__getitems__ is not Subset.__getitems__:
            return NotImplemented  # a subclass decides itself how to fetch
        parent = getattr(self.dataset, "_collated_batch", None)
        if parent is None:
            return NotImplemented
        return parent([self.indices[i] for i in indices])


def random_split(dataset: Dataset, lengths, generator=random.default_generator) -> list:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given lengths.

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1: each
    split then gets ``floor(len(dataset) * fraction)`` samples, and the ``r`` samples left over
    go one each to splits ``0, 1, ..., r-1`` (round robin), as in torch.

    The indices are one random permutation drawn from ``generator``, cut into consecutive pieces.
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * fraction)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths does not equal the length of the input dataset! "
                         f"(random_split got lengths {lengths} summing to {sum(lengths)}, dataset length {n})")
    permutation = numpy_rng(generator, "random_split").permutation(n).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, permutation[end - length:end]) for end, length in zip(ends, lengths)]
