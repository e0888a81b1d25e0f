"""Datasets and random_split against torch.utils.data (lengths, indexing, errors)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import juanji
from juanji.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                               TensorDataset, random_split)

torch = pytest.importorskip("torch")
tdata = torch.utils.data


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    def __init__(self, values):
        self.values = list(values)

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


def outcome(fn):
    """('ok', value) or (exception type, message) for comparing behaviour with torch."""
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - we compare whatever happens
        return type(e), str(e)


# ------------------------------------------------------------------ Dataset / IterableDataset
def test_base_dataset_getitem_is_abstract_and_has_no_len():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__"):
        Dataset()[0]
    with pytest.raises(TypeError):
        len(Dataset())


def test_datasets_and_samplers_are_generic_for_type_hints_like_torch():
    from juanji.utils.data import DataLoader, Sampler

    class Pairs(Dataset[tuple]):
        def __getitem__(self, i):
            return i, -i

        def __len__(self):
            return 2

    assert [b.tolist() for b in next(iter(DataLoader(Pairs(), batch_size=2)))] == [[0, 1], [0, -1]]
    assert Sampler[int] is not None and DataLoader[int] is not None and IterableDataset[int] is not None


def test_adding_datasets_concatenates_them():
    both = Squares(3) + Squares(2)
    assert isinstance(both, ConcatDataset)
    assert [both[i] for i in range(len(both))] == [0, 1, 4, 0, 1]


def test_adding_iterable_datasets_chains_them():
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset)
    assert list(chained) == [1, 2, 3]
    assert len(chained) == 3


# ------------------------------------------------------------------ TensorDataset
@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("index", [0, -1, slice(None, 2), [0, 0]])
def test_tensor_dataset_rows_match_torch(n, index):
    x = np.arange(n * 6, dtype=np.float32).reshape(n, 2, 3)
    y = np.arange(n, dtype=np.int64)
    ours = TensorDataset(juanji.tensor(x), juanji.tensor(y))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == n
    for a, b in zip(ours[index], theirs[index]):
        assert a.shape == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_tensor_dataset_size_mismatch_names_the_sizes():
    with pytest.raises(AssertionError, match=r"Size mismatch between tensors.*\[3, 4\]"):
        TensorDataset(juanji.zeros(3, 2), juanji.zeros(4))
    with pytest.raises(AssertionError):
        tdata.TensorDataset(torch.zeros(3, 2), torch.zeros(4))


def test_tensor_dataset_refuses_non_tensors_and_scalars():
    with pytest.raises(TypeError, match="TensorDataset: expected Tensors, but argument 1 is a ndarray"):
        TensorDataset(juanji.zeros(3), np.zeros(3))
    with pytest.raises(IndexError, match="zero-dimensional"):
        TensorDataset(juanji.tensor(1.0))


def test_tensor_dataset_collated_batch_is_one_gather_equal_to_stacking_rows():
    x = juanji.randn(7, 3)
    y = juanji.arange(7)
    ds = TensorDataset(x, y)
    rows = [5, 0, 0, 6, -1]
    batch = ds._collated_batch(rows)
    np.testing.assert_array_equal(batch[0].numpy(), x.numpy()[rows])
    np.testing.assert_array_equal(batch[1].numpy(), y.numpy()[rows])
    batch[0][0] = 100.0  # a copy, never a view into the dataset
    assert x.numpy().max() < 100


def test_tensor_dataset_subclass_with_own_getitem_opts_out_of_the_gather():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            return tuple(2 * t[i] for t in self.tensors)

    assert Doubled(juanji.arange(3))._collated_batch([0, 1]) is NotImplemented


# ------------------------------------------------------------------ StackDataset
def test_stack_dataset_tuple_and_dict_samples_match_torch():
    a, b = list(range(4)), [str(i) for i in range(4)]
    for ours, theirs in [(StackDataset(a, b), tdata.StackDataset(a, b)),
                         (StackDataset(x=a, y=b), tdata.StackDataset(x=a, y=b))]:
        assert len(ours) == len(theirs) == 4
        assert [ours[i] for i in range(4)] == [theirs[i] for i in range(4)]
        assert ours.__getitems__([3, 1]) == theirs.__getitems__([3, 1])


def test_stack_dataset_uses_nested_getitems():
    inner = Subset(list(range(10)), [9, 8, 7])
    assert StackDataset(inner, inner).__getitems__([0, 2]) == [(9, 9), (7, 7)]


@pytest.mark.parametrize("args, kwargs", [((), {}), (([1, 2], [1]), {}), (([1],), {"y": [1]})])
def test_stack_dataset_errors_match_torch(args, kwargs):
    ours = outcome(lambda: StackDataset(*args, **kwargs))
    theirs = outcome(lambda: tdata.StackDataset(*args, **kwargs))
    assert ours[0] is theirs[0] is ValueError
    assert ours[1].startswith(theirs[1])


# ------------------------------------------------------------------ ConcatDataset
@pytest.mark.parametrize("sizes", [[3], [2, 0, 4], [1, 1, 1]])
def test_concat_dataset_indexing_matches_torch(sizes):
    parts = [list(range(100 * k, 100 * k + s)) for k, s in enumerate(sizes)]
    ours, theirs = ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(ours) == len(theirs)
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    n = len(theirs)
    for i in range(-n - 1, n):
        ours_result, theirs_result = outcome(lambda: ours[i]), outcome(lambda: theirs[i])
        assert ours_result[0] == theirs_result[0]
        if theirs_result[0] == "ok":
            assert ours_result == theirs_result


def test_concat_dataset_index_past_the_end_is_a_clear_index_error():
    with pytest.raises(IndexError, match="ConcatDataset: index 5 is out of range for a dataset of length 5"):
        ConcatDataset([[1, 2], [3, 4, 5]])[5]


class TorchStream(tdata.IterableDataset):
    def __iter__(self):
        return iter([1])


def test_concat_dataset_errors_match_torch():
    for ours_bad, theirs_bad in (([], []), ([Stream([1])], [TorchStream()])):
        ours, theirs = outcome(lambda: ConcatDataset(ours_bad)), outcome(lambda: tdata.ConcatDataset(theirs_bad))
        assert ours[0] is theirs[0] is AssertionError
        assert theirs[1] in ours[1]


# ------------------------------------------------------------------ ChainDataset
def test_chain_dataset_iterates_lazily_and_checks_members():
    assert list(ChainDataset([Stream("ab"), Stream("c")])) == ["a", "b", "c"]
    assert len(ChainDataset([Stream("ab"), Stream("c")])) == 3
    bad = ChainDataset([Stream("a"), [1, 2]])
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(bad)
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        len(bad)


# ------------------------------------------------------------------ Subset
def test_subset_indexes_through_its_indices():
    base = Squares(10)
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3
    assert [sub[i] for i in range(3)] == [49, 4, 25]
    assert sub.__getitems__([2, 0]) == [25, 49]
    # a list index goes to the parent as one list of parent indices (torch's behaviour)
    assert Subset(TensorDataset(juanji.arange(10) * 3), [4, 5])[[1, 0]][0].tolist() == [15, 12]


def test_subset_getitems_uses_the_parent_batched_fetch():
    calls = []

    class Batched(Squares):
        def __getitems__(self, indices):
            calls.append(list(indices))
            return [self[i] for i in indices]

    assert Subset(Batched(10), [3, 1, 4]).__getitems__([0, 2]) == [9, 16]
    assert calls == [[3, 4]]


def test_subset_subclass_overriding_only_getitem_is_refused_like_torch():
    class Shifted(Subset):
        def __getitem__(self, i):
            return super().__getitem__(i) + 1

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Shifted([1, 2], [0])


def test_subset_of_tensor_dataset_gathers_through_the_parent():
    ds = TensorDataset(juanji.arange(10) * 10)
    batch = Subset(ds, [9, 3, 1])._collated_batch([2, 0])
    assert batch[0].tolist() == [10, 90]
    assert Subset(Squares(4), [1])._collated_batch([0]) is NotImplemented


# ------------------------------------------------------------------ random_split
SPLITS = [
    (10, [3, 7]), (10, [0, 10]), (10, [0.5, 0.5]), (10, [0.3, 0.3, 0.4]), (11, [0.3, 0.3, 0.4]),
    (7, [0.1, 0.2, 0.7]), (5, [1.0]), (1, [1]), (3, [0.25, 0.25, 0.25, 0.25]), (100, [0.33, 0.33, 0.34]),
    (9, [0.7, 0.2, 0.1]), (4, [0.0, 1.0]),
]


@pytest.mark.parametrize("n, lengths", SPLITS)
def test_random_split_lengths_match_torch_and_cover_the_dataset(n, lengths):
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_split(range(n), lengths, generator=juanji.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    picked = [i for s in ours for i in s.indices]
    assert sorted(picked) == list(range(n))  # disjoint and complete
    assert all(isinstance(s, Subset) for s in ours)


def test_random_split_is_determined_by_the_generator():
    def split(seed):
        return [s.indices for s in random_split(range(50), [20, 30], generator=juanji.Generator().manual_seed(seed))]

    assert split(3) == split(3)
    assert split(3) != split(4)


def test_random_split_default_generator_follows_manual_seed():
    juanji.manual_seed(11)
    first = [s.indices for s in random_split(range(30), [0.5, 0.5])]
    juanji.manual_seed(11)
    assert [s.indices for s in random_split(range(30), [0.5, 0.5])] == first


@pytest.mark.parametrize("n, lengths", [(10, [3, 3]), (10, [5, 6]), (10, [1.5, -0.5]), (10, [0.6, 0.6])])
def test_random_split_errors_match_torch(n, lengths):
    ours = outcome(lambda: random_split(range(n), lengths))
    theirs = outcome(lambda: tdata.random_split(range(n), lengths))
    assert ours[0] is theirs[0] is ValueError
    assert ours[1].startswith(theirs[1])


def test_random_split_rejects_a_torch_generator_with_a_clear_error():
    with pytest.raises(TypeError, match="random_split: expected generator to be a juanji.Generator"):
        random_split(range(4), [2, 2], generator=torch.Generator())


def test_random_split_fraction_out_of_range_names_the_index():
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.5, 1.5, -1.0])


def test_random_split_subsets_read_the_dataset():
    ds = TensorDataset(juanji.arange(6))
    a, b = random_split(ds, [4, 2], generator=juanji.Generator().manual_seed(1))
    values = sorted(itertools.chain((a[i][0].item() for i in range(4)), (b[i][0].item() for i in range(2))))
    assert values == list(range(6))


# ------------------------------------------------------------------ property checks against torch

@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 60), weights=st.lists(st.integers(1, 9), min_size=1, max_size=5))
def test_random_split_fraction_lengths_always_match_torch(n, weights):
    fractions = [w / sum(weights) for w in weights]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-length splits warn in both
        theirs = outcome(lambda: [len(s) for s in tdata.random_split(range(n), fractions)])
        ours = outcome(lambda: [len(s) for s in random_split(range(n), fractions)])
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert ours == theirs
