"""DistributedSampler index lists equal to torch's, index for index, and the permutation
behind them equal to torch.randperm with a seeded generator (torch is the oracle)."""

import itertools

import numpy as np
import pytest

from juanji.utils.data import DistributedSampler
from juanji.kernels.randperm import _LARGE, torch_randperm

torch = pytest.importorskip("torch")
from torch.utils.data.distributed import DistributedSampler as TorchSampler  # noqa: E402


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7, 10, 16, 101, 1000, 60000])
def test_randperm_is_torch_bit_for_bit(n):
    for seed in (0, 1, 42, 12345, 2 ** 31 + 3, 2 ** 32 + 7, 2 ** 40 + 1):
        g = torch.Generator().manual_seed(seed)
        want = torch.randperm(n, generator=g).numpy()
        got = torch_randperm(n, seed)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, want, err_msg=f"n={n} seed={seed}")


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 10, 11, 33, 100, 257])
def test_index_lists_equal_torch(n):
    data = list(range(n))
    for replicas, seed, drop_last, shuffle in itertools.product([1, 2, 3, 4, 7], [0, 3, 2 ** 33], [False, True],
                                                                [True, False]):
        for rank in range(replicas):
            ours = DistributedSampler(data, num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                                      drop_last=drop_last)
            theirs = TorchSampler(data, num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed,
                                  drop_last=drop_last)
            where = f"n={n} K={replicas} rank={rank} seed={seed} drop_last={drop_last} shuffle={shuffle}"
            assert len(ours) == len(theirs), where
            assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size), where
            for epoch in (0, 1, 5):
                ours.set_epoch(epoch)
                theirs.set_epoch(epoch)
                got = list(ours)
                assert got == list(theirs), f"{where} epoch={epoch}"
                assert all(type(i) is int for i in got)


def test_ranks_cover_the_dataset_once_without_drop_last_padding_repeats():
    n, k = 10, 4
    parts = [list(DistributedSampler(range(n), num_replicas=k, rank=r, seed=9)) for r in range(k)]
    assert all(len(p) == 3 for p in parts)
    flat = sorted(sum(parts, []))
    assert set(flat) == set(range(n)) and len(flat) == 12  # two indices padded


def test_arguments_and_errors_as_torch():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(RuntimeError, match="no process group is initialized"):
        DistributedSampler(range(4))
    s = DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)
    assert (s.num_replicas, s.rank, s.epoch, s.shuffle, s.seed, s.drop_last) == (2, 1, 0, False, 0, False)
    assert list(s) == [1, 3, 0]


def test_works_in_a_dataloader():
    from juanji.utils.data import DataLoader
    s = DistributedSampler(list(range(9)), num_replicas=3, rank=1, shuffle=True, seed=5)
    ts = TorchSampler(list(range(9)), num_replicas=3, rank=1, shuffle=True, seed=5)
    batches = [b.tolist() for b in DataLoader(list(range(9)), batch_size=2, sampler=s)]
    assert sum(batches, []) == list(ts)


@pytest.mark.slow
def test_randperm_past_torchs_large_n_switch_is_torch():
    n = _LARGE + 3  # torch's inside-out shuffle with 64-bit draws (1.7 GB per permutation)
    want = torch.randperm(n, generator=torch.Generator().manual_seed(7)).numpy()
    np.testing.assert_array_equal(torch_randperm(n, 7), want)
