"""Samplers: which dataset indices a DataLoader reads, in which order (torch.utils.data.sampler).

A sampler is any iterable of indices (``__len__`` optional). :class:`BatchSampler` groups
another sampler's indices into lists, one list per mini-batch.

All randomness comes from a ``juanji.Generator`` (``generator=``) or juanji's default one, so
``juanji.manual_seed`` makes every shuffle repeatable. The sequences are not bit-identical to
torch's (different random number generators), but the semantics are: lengths, coverage, with or
without replacement, and the sampling distribution.

    >>> from juanji.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
"""

from __future__ import annotations

import itertools
from typing import Generic, TypeVar

import numpy as np

from ... import random
from ._rng import draw_seed, numpy_rng

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


_T_co = TypeVar("_T_co", covariant=True)


class Sampler(Generic[_T_co]):
    """Base class: subclasses implement ``__iter__`` (indices or lists of indices) and may
    implement ``__len__``, which ``len(DataLoader)`` needs. Generic, as ``Sampler[int]`` in hints."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, always in that order."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class RandomSampler(Sampler):
    """Random indices into ``data_source`` (``n = len(data_source)``).

    - ``replacement=False``: a random permutation of ``0 .. n-1``; with ``num_samples > n``,
      whole fresh permutations follow each other, the last one cut to ``num_samples % n``.
    - ``replacement=True``: ``num_samples`` independent uniform draws from ``0 .. n-1``.

    ``num_samples`` defaults to ``n``. Without a ``generator``, each pass draws a seed from
    juanji's default generator (as torch does), so ``juanji.manual_seed`` fixes the order.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if n == 0:
            raise ValueError(f"RandomSampler: cannot draw {self.num_samples} samples from an empty data source")
        rng = self._pass_rng()
        count = int(self.num_samples)
        if self.replacement:
            yield from rng.integers(0, n, size=count).tolist()
            return
        for _ in range(count // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:count % n].tolist()

    def _pass_rng(self) -> np.random.Generator:
        """This pass's random stream: the given generator, or a fresh one seeded from the default."""
        if self.generator is not None:
            return numpy_rng(self.generator, "RandomSampler")
        return random.Generator().manual_seed(draw_seed(None, "RandomSampler")).np

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a permutation, no replacement)."""

    def __init__(self, indices, generator=None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        order = numpy_rng(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        for i in order.tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices into ``weights``, index ``i`` drawn with probability
    ``weights[i] / sum(weights)`` (weights need not sum to 1).

    With ``replacement=False`` an index is drawn at most once: each draw picks among the indices
    not drawn yet, in proportion to their weights. That is sampled in one go by giving index
    ``i`` the key ``weights[i] / E_i`` (``E_i`` exponential(1)) and taking the ``num_samples``
    largest keys (Efraimidis and Spirakis); zero-weight indices come only after all others.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        from ...tensor import Tensor
        self.weights = Tensor._from_array(weights)  # a float64 tensor, as torch keeps it
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        w = self.weights.numpy()
        self._check_distribution(w)
        rng = numpy_rng(self.generator, "WeightedRandomSampler")
        if self.replacement:
            drawn = rng.choice(w.shape[0], size=self.num_samples, replace=True, p=w / w.sum())
        else:
            keys = w / rng.exponential(size=w.shape[0])
            drawn = np.argsort(-keys, kind="stable")[:self.num_samples]
        yield from drawn.tolist()

    def _check_distribution(self, w: np.ndarray) -> None:
        """torch.multinomial's conditions on the weights, raised when a pass starts."""
        who = "WeightedRandomSampler"
        if w.shape[0] == 0:
            raise RuntimeError(f"{who}: cannot sample from an empty weights sequence")
        if not np.all(np.isfinite(w)):
            raise RuntimeError(f"{who}: probability tensor contains either `inf`, `nan` or element < 0")
        if np.any(w < 0):
            raise RuntimeError(f"{who}: invalid multinomial distribution (encountering probability entry < 0)")
        if w.sum() <= 0:
            raise RuntimeError(f"{who}: invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and self.num_samples > w.shape[0]:
            raise RuntimeError(f"{who}: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                               f"(num_samples={self.num_samples}, {w.shape[0]} weights)")

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``; the last list is shorter
    when ``len(sampler)`` is not a multiple of ``batch_size``, or dropped with ``drop_last``.

    ``len = floor(N / batch_size)`` with ``drop_last``, else ``ceil(N / batch_size)``.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        indices = iter(self.sampler)
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the DataLoader's placeholder "indices" for an iterable dataset, which
    picks its own samples."""

    def __iter__(self):
        while True:
            yield None
