"""DataLoader in the main process (num_workers=0) against torch: batches, lengths, shuffling,
iterable datasets, custom samplers and collate functions, argument errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import juanji
from juanji.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler,
                               SequentialSampler, Subset, TensorDataset, default_collate, get_worker_info)

from ._describe import describe

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def tensor_datasets(n):
    """The same data as a juanji and a torch TensorDataset: float32 images, int64 labels."""
    x = np.arange(n * 6, dtype=np.float32).reshape(n, 1, 2, 3)
    y = np.arange(n, dtype=np.int64) % 3
    return (TensorDataset(juanji.tensor(x), juanji.tensor(y)),
            tdata.TensorDataset(torch.tensor(x), torch.tensor(y)))


class Records(Dataset):
    """Per-sample dicts of mixed types, read one by one (no batched fetch)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return {"x": np.full(2, i, np.float32), "id": i, "w": i / 2, "name": f"s{i}"}

    def __len__(self):
        return self.n


class TorchRecords(tdata.Dataset):
    def __init__(self, n):
        self.inner = Records(n)

    def __getitem__(self, i):
        return self.inner[i]

    def __len__(self):
        return self.inner.n


class Counter(IterableDataset):
    def __init__(self, n, with_len=True):
        self.n = n
        self.with_len = with_len

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.with_len:
            raise TypeError("Counter has no length")
        return self.n


class TorchCounter(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def batches(loader):
    return [describe(b) for b in loader]


# ------------------------------------------------------------------ map-style, in order
@pytest.mark.parametrize("n", [1, 7, 8])
@pytest.mark.parametrize("batch_size", [1, 3, 8, None])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_batches_match_torch(n, batch_size, drop_last):
    if batch_size is None and drop_last:
        return  # an argument error, tested below
    ours_ds, theirs_ds = tensor_datasets(n)
    ours = DataLoader(ours_ds, batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert batches(ours) == batches(theirs)


@pytest.mark.parametrize("batch_size", [2, None])
def test_mixed_type_samples_match_torch(batch_size):
    ours = DataLoader(Records(5), batch_size=batch_size)
    theirs = tdata.DataLoader(TorchRecords(5), batch_size=batch_size)
    assert batches(ours) == batches(theirs)


def test_fast_tensor_dataset_path_equals_per_sample_collate():
    ds, _ = tensor_datasets(10)

    class PerSample(Dataset):  # same samples, no gather fast path
        def __getitem__(self, i):
            return ds[i]

        def __len__(self):
            return len(ds)

    order = [[3, 1, 4], [1, 5, 9], [2, 6]]
    assert batches(DataLoader(ds, batch_sampler=order)) == batches(DataLoader(PerSample(), batch_sampler=order))
    subset = Subset(ds, [9, 8, 7, 6])
    assert batches(DataLoader(subset, batch_size=3)) == [describe(default_collate([subset[i] for i in idx]))
                                                        for idx in ([0, 1, 2], [3])]


def test_custom_collate_fn_gets_the_list_of_samples_even_for_tensor_datasets():
    ds, _ = tensor_datasets(5)
    seen = []

    def collate(samples):
        seen.append(type(samples))
        samples.sort(key=lambda s: -s[1].item())  # a real list, as in torch
        return len(samples)

    assert list(DataLoader(ds, batch_size=2, collate_fn=collate)) == [2, 2, 1]
    assert seen == [list, list, list]


def test_dataset_getitems_is_used_for_whole_batches():
    calls = []

    class Batched(Records):
        def __getitems__(self, indices):
            calls.append(list(indices))
            return [self[i] for i in indices]

    out = list(DataLoader(Batched(5), batch_size=2))
    assert calls == [[0, 1], [2, 3], [4]]
    assert out[2]["id"].tolist() == [4]


def test_loader_can_be_iterated_again_after_an_epoch():
    ds, _ = tensor_datasets(5)
    loader = DataLoader(ds, batch_size=2)
    assert batches(loader) == batches(loader)
    it = iter(loader)
    assert len(list(it)) == 3
    with pytest.raises(StopIteration):
        next(it)
    assert len(it) == 3


def test_pin_memory_is_accepted_and_changes_nothing():
    ds, _ = tensor_datasets(4)
    assert batches(DataLoader(ds, batch_size=3, pin_memory=True)) == batches(DataLoader(ds, batch_size=3))


def test_main_process_has_no_worker_info():
    class WhoAmI(Records):
        def __getitem__(self, i):
            return get_worker_info() is None

    assert [b.tolist() for b in DataLoader(WhoAmI(3), batch_size=3)] == [[True, True, True]]


# ------------------------------------------------------------------ shuffling
def labels_per_epoch(loader, epochs):
    return [[v for _, y in loader for v in y.tolist()] for _ in range(epochs)]


def test_shuffle_gives_a_new_permutation_each_epoch_repeatable_with_manual_seed():
    ds = TensorDataset(juanji.zeros(20), juanji.arange(20))
    loader = DataLoader(ds, batch_size=6, shuffle=True)
    juanji.manual_seed(0)
    epochs = labels_per_epoch(loader, 3)
    assert all(sorted(e) == list(range(20)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    juanji.manual_seed(0)
    assert labels_per_epoch(loader, 3) == epochs
    assert len(loader) == 4


def test_shuffle_order_is_reproduced_from_a_saved_generator_state():
    gen = juanji.Generator().manual_seed(7)
    loader = DataLoader(TensorDataset(juanji.zeros(16), juanji.arange(16)), batch_size=4, shuffle=True,
                        generator=gen)
    labels_per_epoch(loader, 2)  # two epochs already trained
    state = gen.get_state()  # a checkpoint taken here ...
    third = labels_per_epoch(loader, 1)
    gen.set_state(state)  # ... and restored in a resumed run
    assert labels_per_epoch(loader, 1) == third


def test_loader_generator_isolates_shuffling_from_the_default_generator():
    ds = TensorDataset(juanji.zeros(12), juanji.arange(12))
    first = labels_per_epoch(DataLoader(ds, batch_size=5, shuffle=True, generator=juanji.Generator().manual_seed(1)), 1)
    juanji.manual_seed(999)  # the default generator is irrelevant when one is passed
    second = labels_per_epoch(DataLoader(ds, batch_size=5, shuffle=True, generator=juanji.Generator().manual_seed(1)), 1)
    assert first == second


def test_shuffle_with_drop_last_drops_the_short_batch():
    loader = DataLoader(TensorDataset(juanji.arange(10)), batch_size=4, shuffle=True, drop_last=True)
    sizes = [len(b[0]) for b in loader]
    assert sizes == [4, 4] and len(loader) == 2


# ------------------------------------------------------------------ samplers given by the user
def test_sampler_and_batch_sampler_arguments_match_torch():
    ours_ds, theirs_ds = tensor_datasets(9)
    order = [8, 0, 7, 1, 6]
    assert batches(DataLoader(ours_ds, batch_size=2, sampler=order)) == \
        batches(tdata.DataLoader(theirs_ds, batch_size=2, sampler=order))
    groups = [[4, 4], [0], [8, 2, 1]]
    ours = DataLoader(ours_ds, batch_sampler=groups)
    theirs = tdata.DataLoader(theirs_ds, batch_sampler=groups)
    assert batches(ours) == batches(theirs)
    assert len(ours) == len(theirs) == 3
    assert ours.batch_size is None and ours.drop_last is False


def test_loader_exposes_torch_attributes():
    ds, _ = tensor_datasets(6)
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    assert isinstance(loader.sampler, RandomSampler)
    assert isinstance(loader.batch_sampler, BatchSampler) and loader.batch_sampler.batch_size == 4
    assert loader.collate_fn is default_collate
    plain = DataLoader(ds, batch_size=None)
    assert isinstance(plain.sampler, SequentialSampler) and plain.batch_sampler is None
    assert len(plain) == 6


def test_sampler_without_len_gives_a_loader_without_len():
    loader = DataLoader(TensorDataset(juanji.arange(5)), batch_size=2, sampler=iter([4, 3, 2]))
    assert [b[0].tolist() for b in loader] == [[4, 3], [2]]
    with pytest.raises(TypeError):
        len(DataLoader(TensorDataset(juanji.arange(5)), batch_size=2, sampler=iter([1])))


# ------------------------------------------------------------------ iterable datasets
@pytest.mark.parametrize("batch_size", [1, 3, None])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_batches_and_len_match_torch(batch_size, drop_last):
    if batch_size is None and drop_last:
        return
    ours = DataLoader(Counter(7), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(TorchCounter(7), batch_size=batch_size, drop_last=drop_last)
    assert batches(ours) == batches(theirs)
    assert len(ours) == len(theirs)


def test_iterable_dataset_without_len_still_iterates():
    loader = DataLoader(Counter(5, with_len=False), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    with pytest.raises(TypeError):
        len(loader)


def test_iterable_dataset_longer_than_its_len_warns_like_torch():
    class Liar(Counter):
        def __len__(self):
            return 2

    loader = DataLoader(Liar(4), batch_size=1)
    assert len(loader) == 2
    with pytest.warns(UserWarning, match="was reported to be 2"):
        assert len(list(loader)) == 4


# ------------------------------------------------------------------ argument errors
ERROR_CASES = {
    "shuffle with sampler": dict(shuffle=True, sampler=[0, 1]),
    "batch_sampler with batch_size": dict(batch_sampler=[[0]], batch_size=2),
    "batch_sampler with shuffle": dict(batch_sampler=[[0]], shuffle=True),
    "batch_sampler with sampler": dict(batch_sampler=[[0]], sampler=[0]),
    "batch_sampler with drop_last": dict(batch_sampler=[[0]], drop_last=True),
    "batch_size None with drop_last": dict(batch_size=None, drop_last=True),
    "negative num_workers": dict(num_workers=-1),
    "negative timeout": dict(timeout=-1),
    "prefetch without workers": dict(prefetch_factor=2),
    "negative prefetch": dict(num_workers=1, prefetch_factor=-1),
    "persistent without workers": dict(persistent_workers=True),
    "context without workers": dict(multiprocessing_context="spawn"),
    "unknown start method": dict(num_workers=1, multiprocessing_context="nope"),
    "context of wrong type": dict(num_workers=1, multiprocessing_context=3),
    "batch_size zero": dict(batch_size=0),
    "drop_last not bool": dict(drop_last=1),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_argument_conflicts_raise_torch_errors(case):
    ours_ds, theirs_ds = tensor_datasets(4)
    with pytest.raises(Exception) as theirs:
        tdata.DataLoader(theirs_ds, **ERROR_CASES[case])
    with pytest.raises(theirs.type) as ours:
        DataLoader(ours_ds, **ERROR_CASES[case])
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_iterable_dataset_refuses_sampling_options_like_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(TorchCounter(3), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(Counter(3), **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                  "persistent_workers"])
def test_batch_defining_attributes_are_frozen_after_init(name):
    loader = DataLoader(TensorDataset(juanji.arange(3)))
    with pytest.raises(ValueError, match=f"{name} attribute should not be set after DataLoader is initialized"):
        setattr(loader, name, None)
    loader.num_workers = 0  # the others stay settable, as in torch


def test_too_many_workers_warns():
    with pytest.warns(UserWarning, match="This DataLoader will create 1000 worker processes"):
        DataLoader(TensorDataset(juanji.arange(3)), num_workers=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader(TensorDataset(juanji.arange(3)), num_workers=1)


def test_loader_iterator_cannot_be_pickled():
    import pickle
    with pytest.raises(NotImplementedError, match="cannot be pickled"):
        pickle.dumps(iter(DataLoader(TensorDataset(juanji.arange(3)))))


# ------------------------------------------------------------------ property checks against torch

@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(), shuffle=st.booleans())
def test_batch_count_and_sizes_always_match_torch(n, batch_size, drop_last, shuffle):
    ours = DataLoader(TensorDataset(juanji.arange(n)), batch_size=batch_size, drop_last=drop_last, shuffle=shuffle)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.arange(n)), batch_size=batch_size, drop_last=drop_last,
                              shuffle=shuffle)
    ours_batches = [b[0].tolist() for b in ours]
    theirs_batches = [b[0].tolist() for b in theirs]
    assert len(ours) == len(theirs) == len(ours_batches)
    assert [len(b) for b in ours_batches] == [len(b) for b in theirs_batches]
    seen = [v for b in ours_batches for v in b]
    assert len(set(seen)) == len(seen)  # no sample twice in an epoch
    if not drop_last:
        assert sorted(seen) == list(range(n))
    if not shuffle:
        assert ours_batches == theirs_batches
