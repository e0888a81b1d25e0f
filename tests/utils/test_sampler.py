"""Samplers: torch's lengths, coverage, replacement rules, distributions and errors.

The random sequences differ from torch's (different generators), so random samplers are
checked for their semantics; deterministic ones (Sequential, Batch) are compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

import juanji
from juanji.utils.data import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                               WeightedRandomSampler)

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)


def seeded(seed):
    return juanji.Generator().manual_seed(seed)


def test_base_sampler_iter_is_abstract():
    with pytest.raises(NotImplementedError):
        iter(Sampler())


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sequential_sampler_matches_torch(n):
    assert list(SequentialSampler(range(n))) == list(tdata.SequentialSampler(range(n)))
    assert len(SequentialSampler(range(n))) == n


# ------------------------------------------------------------------ RandomSampler
@pytest.mark.parametrize("n", [1, 2, 9])
def test_random_sampler_without_replacement_is_a_permutation(n):
    order = list(RandomSampler(range(n), generator=seeded(0)))
    assert sorted(order) == list(range(n))
    assert len(RandomSampler(range(n))) == n


@pytest.mark.parametrize("n, num_samples", [(4, 10), (5, 5), (5, 3), (3, 1)])
def test_random_sampler_num_samples_chains_fresh_permutations(n, num_samples):
    order = list(RandomSampler(range(n), num_samples=num_samples, generator=seeded(1)))
    assert len(order) == num_samples == len(RandomSampler(range(n), num_samples=num_samples))
    for start in range(0, num_samples - num_samples % n, n):  # every full block is a permutation
        assert sorted(order[start:start + n]) == list(range(n))
    tail = order[num_samples - num_samples % n:]
    assert len(set(tail)) == len(tail)  # the cut permutation has no repeats


def test_random_sampler_with_replacement_draws_uniformly():
    n, draws = 5, 20000
    order = np.array(list(RandomSampler(range(n), replacement=True, num_samples=draws, generator=seeded(2))))
    assert order.shape == (draws,) and order.min() >= 0 and order.max() < n
    frequencies = np.bincount(order, minlength=n) / draws
    np.testing.assert_allclose(frequencies, 1 / n, atol=0.015)  # ~5 standard deviations
    assert len(set(list(RandomSampler(range(3), replacement=True, num_samples=50, generator=seeded(2))))) == 3


def test_random_sampler_order_depends_only_on_the_generator_state():
    gen = seeded(5)
    state = gen.get_state()
    first = list(RandomSampler(range(20), generator=gen))
    second = list(RandomSampler(range(20), generator=gen))
    assert first != second  # the generator moved on: a new epoch, a new order
    gen.set_state(state)
    assert list(RandomSampler(range(20), generator=gen)) == first


def test_random_sampler_without_generator_follows_manual_seed():
    sampler = RandomSampler(range(30))
    juanji.manual_seed(123)
    first = list(sampler)
    juanji.manual_seed(123)
    assert list(sampler) == first
    assert list(sampler) != first


@pytest.mark.parametrize("kwargs", [{"replacement": 1}, {"replacement": "yes"}, {"num_samples": 0},
                                    {"num_samples": -2}, {"num_samples": 2.0}, {"replacement": True,
                                                                                "num_samples": 0}])
def test_random_sampler_argument_errors_match_torch(kwargs):
    ours = outcome(lambda: RandomSampler(range(4), **kwargs))
    theirs = outcome(lambda: tdata.RandomSampler(range(4), **kwargs))
    assert ours[0] is theirs[0]
    assert ours[1] == theirs[1]


def test_random_sampler_over_an_empty_dataset_is_refused_like_torch():
    assert outcome(lambda: RandomSampler([]))[0] is outcome(lambda: tdata.RandomSampler([]))[0] is ValueError
    with pytest.raises(ValueError, match="RandomSampler: cannot draw 3 samples from an empty data source"):
        list(RandomSampler([], replacement=True, num_samples=3))


def test_random_sampler_refuses_a_torch_generator_clearly():
    with pytest.raises(TypeError, match="RandomSampler: expected generator to be a juanji.Generator"):
        list(RandomSampler(range(3), generator=torch.Generator()))


# ------------------------------------------------------------------ SubsetRandomSampler
def test_subset_random_sampler_permutes_the_given_indices():
    indices = [10, 3, 7, 7, 42]
    sampler = SubsetRandomSampler(indices, generator=seeded(0))
    order = list(sampler)
    assert sorted(order) == sorted(indices)
    assert len(sampler) == 5
    assert list(SubsetRandomSampler(indices, generator=seeded(0))) == order
    juanji.manual_seed(4)
    default_first = list(SubsetRandomSampler(indices))
    juanji.manual_seed(4)
    assert list(SubsetRandomSampler(indices)) == default_first


# ------------------------------------------------------------------ WeightedRandomSampler
def test_weighted_sampler_with_replacement_follows_the_weights():
    weights = [0.1, 0.9, 0.0, 3.0]
    draws = 20000
    order = np.array(list(WeightedRandomSampler(weights, draws, generator=seeded(0))))
    frequencies = np.bincount(order, minlength=4) / draws
    np.testing.assert_allclose(frequencies, np.array(weights) / sum(weights), atol=0.015)
    assert frequencies[2] == 0


def test_weighted_sampler_without_replacement_draws_distinct_indices_zero_weights_last():
    weights = [1.0, 0.0, 2.0, 0.0, 5.0]
    for seed in range(20):
        order = list(WeightedRandomSampler(weights, 5, replacement=False, generator=seeded(seed)))
        assert sorted(order) == [0, 1, 2, 3, 4]
        assert set(order[3:]) == {1, 3}  # zero weight: only once everything else is drawn


def test_weighted_sampler_without_replacement_first_draw_is_proportional():
    weights = np.array([1.0, 2.0, 7.0])
    gen = seeded(9)
    firsts = np.array([next(iter(WeightedRandomSampler(weights, 2, replacement=False, generator=gen)))
                       for _ in range(6000)])
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 6000, weights / weights.sum(), atol=0.025)
    # the second draw is proportional among the rest: P(second = 0 | first = 2) = 1/3
    pairs = [list(WeightedRandomSampler(weights, 2, replacement=False, generator=gen)) for _ in range(6000)]
    after_2 = [p[1] for p in pairs if p[0] == 2]
    assert abs(np.mean(np.array(after_2) == 0) - 1 / 3) < 0.03


def test_weighted_sampler_keeps_float64_weights_and_length():
    sampler = WeightedRandomSampler(juanji.tensor([1, 2, 3]), 4)
    assert sampler.weights.dtype is juanji.float64
    assert len(sampler) == 4
    assert len(list(sampler)) == 4


@pytest.mark.parametrize("weights, num_samples, replacement", [
    ([1.0, -1.0, 2.0], 2, True), ([0.0, 0.0], 1, True), ([1.0, float("inf")], 1, True),
    ([1.0, float("nan")], 1, True), ([1.0, 2.0], 3, False), ([], 1, True)])
def test_weighted_sampler_bad_distributions_fail_like_torch_multinomial(weights, num_samples, replacement):
    ours = outcome(lambda: list(WeightedRandomSampler(weights, num_samples, replacement)))
    theirs = outcome(lambda: list(tdata.WeightedRandomSampler(weights, num_samples, replacement)))
    assert ours[0] is theirs[0] is RuntimeError
    assert ours[1].startswith("WeightedRandomSampler: ")
    if "multinomial" in theirs[1] or "n_sample" in theirs[1] or "probability tensor" in theirs[1]:
        assert theirs[1] in ours[1]


@pytest.mark.parametrize("args", [([1.0, 2.0], 0), ([1.0, 2.0], True), ([1.0, 2.0], 2.0), ([1.0, 2.0], 1, 1),
                                  ([[1.0, 2.0]], 1)])
def test_weighted_sampler_argument_errors_match_torch(args):
    ours = outcome(lambda: WeightedRandomSampler(*args))
    theirs = outcome(lambda: tdata.WeightedRandomSampler(*args))
    assert ours == theirs


# ------------------------------------------------------------------ BatchSampler
@pytest.mark.parametrize("n", [0, 1, 6, 7])
@pytest.mark.parametrize("batch_size", [1, 3, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_batch_sampler_accepts_any_iterable_of_indices():
    assert list(BatchSampler(iter("abcde"), 2, False)) == [["a", "b"], ["c", "d"], ["e"]]


@pytest.mark.parametrize("batch_size, drop_last", [(0, False), (-1, False), (True, False), (2.0, False),
                                                   (2, 1), (2, None)])
def test_batch_sampler_argument_errors_match_torch(batch_size, drop_last):
    ours = outcome(lambda: BatchSampler(range(4), batch_size, drop_last))
    theirs = outcome(lambda: tdata.BatchSampler(range(4), batch_size, drop_last))
    assert ours == theirs
    assert ours[0] is ValueError
