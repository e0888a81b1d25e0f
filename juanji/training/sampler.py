"""The training order: a fresh shuffle every epoch that a resumed run can rebuild exactly.

Epoch ``e``'s order is a permutation drawn from a generator seeded with ``(seed, e)`` alone, so
it does not depend on how much randomness anything else has used. Resuming in the middle of
an epoch rebuilds the same permutation and starts at the first sample not yet trained on
(``set_epoch(e, start=...)``): the skipped batches are neither read nor drawn again.
This is the pattern of torch's ``DistributedSampler.set_epoch``.
"""

from __future__ import annotations

import numpy as np

from ..random import Generator
from ..utils.data import Sampler

__all__ = ["EpochShuffleSampler", "derived_seed"]


def derived_seed(seed: int, *keys: int) -> int:
    """A 64-bit seed for the stream named by ``keys`` (an epoch, a purpose) under ``seed``.

    NumPy's SeedSequence mixes the numbers so that nearby seeds give unrelated streams.
    """
    mixed = np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFFFFFF, *[int(k) for k in keys]])
    return int(mixed.generate_state(1, dtype=np.uint64)[0])


class EpochShuffleSampler(Sampler):
    """Indices ``0 .. n-1`` in epoch ``e``'s random order, from position ``start`` on.

        >>> from juanji.training.sampler import EpochShuffleSampler
        >>> s = EpochShuffleSampler(5, seed=0)
        >>> s.set_epoch(1, start=2)
        >>> len(s)
        3
    """

    def __init__(self, num_samples: int, seed: int) -> None:
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """The epoch to draw, and how many of its samples were already used."""
        if not 0 <= start <= self.num_samples:
            raise ValueError(f"EpochShuffleSampler: start {start} is outside 0..{self.num_samples}")
        self.epoch = int(epoch)
        self.start = int(start)

    def order(self, epoch: int) -> np.ndarray:
        """The whole permutation of epoch ``epoch``."""
        generator = Generator().manual_seed(derived_seed(self.seed, epoch))
        return generator.np.permutation(self.num_samples)

    def __iter__(self):
        return iter(self.order(self.epoch)[self.start:].tolist())

    def __len__(self) -> int:
        return self.num_samples - self.start
