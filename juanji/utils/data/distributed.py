"""``DistributedSampler``: each of ``num_replicas`` processes reads its own share of a dataset
(torch.utils.data.distributed.DistributedSampler, index for index).

With n = len(dataset) and K = num_replicas:

    num_samples = ceil((n - K) / K)   if drop_last and n % K != 0   (the tail is dropped)
                  ceil(n / K)         otherwise                     (the list is padded)
    total_size  = num_samples * K

    indices = torch.randperm(n) with a generator seeded seed + epoch   (shuffle)
              0, 1, ..., n-1                                           (no shuffle)
    padded with its own first indices (repeated as often as needed) up to total_size,
    or cut to total_size with drop_last;
    rank r reads indices[r::K].

Every rank computes the same permutation from ``seed + epoch`` without communication; call
``set_epoch(epoch)`` before each epoch for a new order. The permutation is torch's own, bit for
bit (see ``juanji/kernels/randperm.py``), so juanji and torch read the same samples on every rank.

    >>> from juanji.utils.data import DistributedSampler
    >>> sampler = DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False)
    >>> list(sampler)
    [0, 3, 6, 9]
"""

from __future__ import annotations

import math
from typing import Iterator

from ...kernels.randperm import torch_randperm
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _check_int(name: str, value) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"DistributedSampler: expected {name} to be an int, got {type(value).__name__}")
    return int(value)


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads (defaults: the
    default process group's rank and world size)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the process group's, but "
                                   "no process group is initialized (call dist.init_process_group or pass both)")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        num_replicas, rank = _check_int("num_replicas", num_replicas), _check_int("rank", rank)
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas should be a positive integer, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = _check_int("seed", seed)

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = torch_randperm(n, self.seed + self.epoch).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:  # fewer samples than replicas: repeat the whole list
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose permutation the next ``__iter__`` uses (seed + epoch)."""
        self.epoch = epoch
