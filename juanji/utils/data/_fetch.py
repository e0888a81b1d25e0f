"""Fetchers: read the samples for one "index" from the sampler and collate them.

The same fetcher runs in the main process (``num_workers=0``) and inside each worker process,
which is what makes both give the same batches.

- map-style dataset, automatic batching: the index is a list of sample indices;
- map-style dataset, ``batch_size=None``: the index is one sample index;
- iterable dataset: the "index" is a placeholder; samples come from the dataset's own iterator.
"""

from __future__ import annotations

from ._collate import default_collate

__all__ = ["create_fetcher"]


class _MapDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.collate_fn is default_collate:
            # Fast path: TensorDataset (and Subsets of it) gather the whole batch with one
            # fancy index per tensor, which equals default_collate of the samples.
            gather = getattr(self.dataset, "_collated_batch", None)
            if gather is not None:
                batch = gather(index)
                if batch is not NotImplemented:
                    return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):  # torch 2.x's batched-fetch protocol
            samples = getitems(index)
        else:
            samples = [self.dataset[i] for i in index]
        return self.collate_fn(samples)


class _IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, index):
        """One batch (``len(index)`` samples) or one sample; StopIteration when the stream ends
        (or when only a short last batch is left and ``drop_last`` is set)."""
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        samples = []
        for _ in index:
            try:
                samples.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if len(samples) == 0 or (self.drop_last and len(samples) < len(index)):
            raise StopIteration
        return self.collate_fn(samples)


def create_fetcher(iterable: bool, dataset, auto_collation: bool, collate_fn, drop_last: bool):
    fetcher = _IterableDatasetFetcher if iterable else _MapDatasetFetcher
    return fetcher(dataset, auto_collation, collate_fn, drop_last)
