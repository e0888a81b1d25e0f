"""DataLoader with worker processes: same batches as num_workers=0, deterministic worker seeds,
worker info, iterable datasets, errors from workers, timeouts, persistent workers, shutdown.

Few and small: each loader starts two processes (fork), which takes a few milliseconds.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import juanji
from juanji.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

from ._describe import describe


class Noisy(Dataset):
    """Each sample draws from juanji's default generator: the worker's seed shows in the data."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        info = get_worker_info()
        worker = -1 if info is None else info.id
        return {"index": i, "noise": juanji.rand(2), "worker": worker, "pid": os.getpid()}

    def __len__(self):
        return self.n


class Shards(IterableDataset):
    """0..n-1, split between workers by worker id (the pattern torch's docs recommend)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def labels(loader):
    return [y.tolist() for _, y in loader]


def test_workers_give_the_same_shuffled_batches_as_the_main_process():
    ds = TensorDataset(juanji.randn(23, 3), juanji.arange(23))
    juanji.manual_seed(5)
    main = [describe(b) for b in DataLoader(ds, batch_size=4, shuffle=True)]
    juanji.manual_seed(5)
    workers = [describe(b) for b in DataLoader(ds, batch_size=4, shuffle=True, num_workers=2)]
    assert workers == main
    assert sorted(v for batch in main for v in batch[1][1][3]) == list(range(23))


def test_worker_seeds_are_deterministic_distinct_and_reported():
    def run():
        juanji.manual_seed(3)
        return list(DataLoader(Noisy(8), batch_size=2, num_workers=2))

    first, second = run(), run()
    assert [describe(b["noise"]) for b in first] == [describe(b["noise"]) for b in second]
    # batches go round robin to the workers, in order
    assert [b["worker"].tolist() for b in first] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    # the two workers draw different noise: batch 0 (worker 0) and batch 1 (worker 1) are each
    # the first draws of their worker's generator
    assert not np.array_equal(first[0]["noise"].numpy(), first[1]["noise"].numpy())
    assert len({pid for b in first for pid in b["pid"].tolist()} - {os.getpid()}) == 2


def test_worker_info_and_worker_init_fn():
    seeds = {}

    class Report(Dataset):
        def __getitem__(self, i):
            info = get_worker_info()
            return [info.id, info.num_workers, info.seed, int(info.dataset is self), os.environ["JUANJI_WORKER"]]

        def __len__(self):
            return 4

    def init(worker_id):
        os.environ["JUANJI_WORKER"] = f"w{worker_id}"

    gen = juanji.Generator().manual_seed(42)
    rows = list(DataLoader(Report(), batch_size=None, num_workers=2, worker_init_fn=init, generator=gen))
    for index, (wid, count, seed, same_dataset, tag) in enumerate(rows):
        assert wid == index % 2 and count == 2 and same_dataset == 1  # batch_size=None: no collation
        assert tag == f"w{index % 2}"
        seeds[wid] = seed
    assert seeds[1] == seeds[0] + 1  # seed = base_seed + worker_id, base drawn from the generator
    assert "JUANJI_WORKER" not in os.environ  # the init ran in the workers only


def test_iterable_dataset_sharded_between_workers():
    loader = DataLoader(Shards(10), batch_size=2, num_workers=2)
    # worker 0 yields 0,2,4,6,8 and worker 1 yields 1,3,5,7,9; batches alternate between them
    assert [b.tolist() for b in loader] == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    loader = DataLoader(Shards(9), batch_size=2, num_workers=2, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 2], [1, 3], [4, 6], [5, 7]]


def test_persistent_workers_are_reused_and_restart_their_streams():
    loader = DataLoader(Shards(6), batch_size=2, num_workers=2, persistent_workers=True)
    first, second = [b.tolist() for b in loader], [b.tolist() for b in loader]
    assert first == second == [[0, 2], [1, 3], [4], [5]]
    iterator = loader._iterator
    assert iter(loader) is iterator and all(w.is_alive() for w in iterator._workers)
    workers = list(iterator._workers)
    ds = TensorDataset(juanji.arange(10))
    shuffled = DataLoader(ds, batch_size=3, shuffle=True, num_workers=2, persistent_workers=True)
    epochs = [[v for b in shuffled for v in b[0].tolist()] for _ in range(2)]
    assert all(sorted(e) == list(range(10)) for e in epochs) and epochs[0] != epochs[1]
    del loader, iterator
    assert not any(w.is_alive() for w in workers)  # a persistent loader's workers go with it


def test_an_abandoned_epoch_does_not_leak_into_the_next_with_persistent_workers():
    loader = DataLoader(TensorDataset(juanji.arange(12)), batch_size=2, num_workers=2, persistent_workers=True)
    it = iter(loader)
    next(it)  # leave the epoch after one batch; prefetched batches are still in flight
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]


def test_workers_exit_at_the_end_of_an_epoch_and_when_the_iterator_is_dropped():
    loader = DataLoader(TensorDataset(juanji.arange(8)), batch_size=2, num_workers=2)
    it = iter(loader)
    workers = list(it._workers)
    assert len(list(it)) == 4
    assert not any(w.is_alive() for w in workers)
    it = iter(loader)
    next(it)
    workers = list(it._workers)
    del it
    assert not any(w.is_alive() for w in workers)


def test_an_iterator_collected_in_a_reference_cycle_still_stops_its_workers():
    import gc
    it = iter(DataLoader(TensorDataset(juanji.arange(8)), batch_size=2, num_workers=2))
    next(it)
    it.cycle = it  # like a traceback holding the frame that holds the iterator
    workers = list(it._workers)
    del it
    gc.collect()  # the queues' finalizers run before __del__: the workers must not need our None
    assert not any(w.is_alive() for w in workers)
    # they stopped by themselves (exit code 0), not killed after the join timeout (-SIGTERM)
    assert [w.exitcode for w in workers] == [0, 0]


def test_an_exception_in_a_worker_is_raised_in_the_main_process():
    class Broken(Dataset):
        def __getitem__(self, i):
            if i == 3:
                raise KeyError(f"no sample {i}")
            return i

        def __len__(self):
            return 6

    it = iter(DataLoader(Broken(), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1]
    with pytest.raises(KeyError, match=r"Caught KeyError in DataLoader worker process 1\.[\s\S]*no sample 3"):
        next(it)
    assert next(it).tolist() == [4, 5]  # the loader goes on, as torch's does


def test_a_batch_that_cannot_be_pickled_is_an_error_not_a_hang():
    class Lambdas(Dataset):
        def __getitem__(self, i):
            return lambda: i  # cannot be sent from a worker

        def __len__(self):
            return 2

    with pytest.raises(Exception, match=r"in DataLoader worker process 0 \(sending the batch to the main process\)"):
        list(DataLoader(Lambdas(), batch_size=None, num_workers=1, timeout=10))


def test_an_exception_class_local_to_a_function_arrives_by_name():
    class LocalError(Exception):
        pass

    class Raises(Dataset):
        def __getitem__(self, i):
            raise LocalError("bad sample")

        def __len__(self):
            return 1

    with pytest.raises(RuntimeError, match=r"originally .*LocalError[\s\S]*bad sample"):
        list(DataLoader(Raises(), num_workers=1, timeout=10))


def test_a_failing_worker_init_fn_is_reported():
    def init(worker_id):
        raise ValueError(f"cannot start {worker_id}")

    with pytest.raises(ValueError, match="in DataLoader worker process 0[\\s\\S]*cannot start 0"):
        list(DataLoader(TensorDataset(juanji.arange(4)), num_workers=2, worker_init_fn=init))


def test_a_worker_that_dies_is_an_error_not_a_hang():
    class Crash(Dataset):
        def __getitem__(self, i):
            os._exit(3)

        def __len__(self):
            return 2

    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) .*\) exited unexpectedly"):
        list(DataLoader(Crash(), num_workers=1))


def test_timeout_when_a_batch_takes_too_long():
    class Slow(Dataset):
        def __getitem__(self, i):
            time.sleep(0.5)
            return i

        def __len__(self):
            return 1

    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.1))


def test_out_of_order_delivery_still_delivers_every_batch():
    class SlowFirst(Dataset):
        def __getitem__(self, i):
            if i == 0:
                time.sleep(0.3)
            return i

        def __len__(self):
            return 6

    ordered = [b.tolist() for b in DataLoader(SlowFirst(), batch_size=1, num_workers=2)]
    assert ordered == [[i] for i in range(6)]
    loose = [b.tolist() for b in DataLoader(SlowFirst(), batch_size=1, num_workers=2, in_order=False)]
    assert sorted(loose) == ordered and loose[0] != [0]


def test_spawn_context_gives_the_same_batches():
    ds = TensorDataset(juanji.arange(9.0), juanji.arange(9))
    juanji.manual_seed(1)
    main = [describe(b) for b in DataLoader(ds, batch_size=2, shuffle=True)]
    juanji.manual_seed(1)
    spawned = [describe(b) for b in DataLoader(ds, batch_size=2, shuffle=True, num_workers=2,
                                               multiprocessing_context="spawn")]
    assert spawned == main
