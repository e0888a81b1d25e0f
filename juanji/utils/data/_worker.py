"""What runs inside a DataLoader worker process, and what it tells the main process.

Each worker:

1. seeds its randomness from the loader's base seed: ``seed = base_seed + worker_id`` for
   juanji's default generator and Python's ``random``, and a seed derived from both for NumPy's
   legacy global generator, so random augmentations differ between workers but repeat run to run;
2. calls ``worker_init_fn(worker_id)``;
3. loops: take ``(task_id, index)`` from its index queue, fetch and collate that batch, put
   ``(task_id, batch)`` on the shared result queue. ``None`` means "exit".

Exceptions never kill a worker: they travel to the main process as an :class:`ExceptionWrapper`
and are raised there when their batch is due. :func:`get_worker_info` tells dataset code which
worker it runs in (``None`` in the main process).
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np

from ... import random as juanji_random  # (the module name random is the standard library's here)
from ._fetch import create_fetcher

__all__ = ["WorkerInfo", "get_worker_info"]

# how often a waiting worker checks that its loader still wants it (seconds)
STATUS_CHECK_INTERVAL = 0.25


class WorkerInfo:
    """Facts about the current worker: ``id`` (0 .. num_workers-1), ``num_workers``, ``seed``
    (this worker's juanji seed) and ``dataset`` (this process's copy of the dataset)."""

    __initialized = False

    def __init__(self, **facts) -> None:
        for name, value in facts.items():
            setattr(self, name, value)
        self.__keys = tuple(facts)
        self.__initialized = True

    def __setattr__(self, name, value):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        facts = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({facts})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's :class:`WorkerInfo` inside a DataLoader worker process, else ``None``.

    An :class:`~juanji.utils.data.IterableDataset` uses it to give each worker its own share::

        info = get_worker_info()
        if info is not None:
            mine = range(start + info.id, end, info.num_workers)
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as its type and formatted
    traceback (tracebacks themselves do not pickle), and raised again there."""

    def __init__(self, where: str) -> None:
        exc_type, exc_value, exc_tb = sys.exc_info()
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
        self.where = where
        try:  # a class defined inside a function cannot travel; its name and traceback still do
            pickle.dumps(exc_type)
            self.exc_type = exc_type
        except Exception:
            self.exc_type = RuntimeError
            self.where = f"{where} (originally {exc_type.__qualname__})"

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            raise KeyError(_PlainMessage(message))
        try:
            error = self.exc_type(message)
        except Exception:  # an exception type that cannot be built from one message
            raise RuntimeError(message) from None
        raise error


class _PlainMessage(str):
    """KeyError prints repr() of its argument; this keeps the traceback's line breaks readable."""

    def __repr__(self) -> str:
        return str(self)


class _IterableDatasetStopIteration:
    """A worker's iterable dataset is exhausted: it sends this instead of a batch."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


class _ResumeIteration:
    """Start a new epoch in a persistent worker (fresh dataset iterator); echoed back as an ack."""


def _pickled(result, where: str) -> bytes:
    """The result as pickled bytes, or a pickled error when it cannot be pickled.

    The queue would pickle it in a background thread, where a failure is only printed and the
    main process waits forever for a batch that never comes; pickling here turns it into an
    error raised where the batch is due.
    """
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps(ExceptionWrapper(where + " (sending the batch to the main process)"))


def _seed_worker(base_seed: int, worker_id: int) -> int:
    seed = base_seed + worker_id
    juanji_random.manual_seed(seed)
    random.seed(seed)
    # NumPy's legacy global generator takes 32-bit words; spread both numbers over them
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def worker_loop(iterable: bool, dataset, index_queue, result_queue, done_event, auto_collation: bool,
                collate_fn, drop_last: bool, base_seed: int, init_fn, worker_id: int, num_workers: int) -> None:
    """The body of a worker process (see the module docstring)."""
    global _worker_info
    parent_pid = os.getppid()
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        pending_error = None  # a failing worker_init_fn is reported with the first batch
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            pending_error = ExceptionWrapper(where)
        stream_ended = False

        while os.getppid() == parent_pid:  # re-parented: the main process died, stop
            try:
                message = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if done_event.is_set():
                    # shut down without our None arriving: when the iterator is collected as part of
                    # a reference cycle, its queues' feeder threads are closed before its __del__ runs
                    break
                continue
            if isinstance(message, _ResumeIteration):
                stream_ended = False
                try:
                    fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
                except Exception:
                    pending_error = ExceptionWrapper(where)
                result_queue.put((message, None))
                continue
            if message is None:
                break
            if done_event.is_set() or stream_ended:
                continue  # shutting down, or nothing left to read: drop the request
            task_id, index = message
            if pending_error is not None:
                result, pending_error = pending_error, None
            else:
                try:
                    result = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        result = ExceptionWrapper(where)
                    else:
                        result = _IterableDatasetStopIteration(worker_id)
                        stream_ended = True
                except Exception:
                    result = ExceptionWrapper(where)
            result_queue.put((task_id, _pickled(result, where)))
            del result, index, message  # do not keep the last batch alive while waiting
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C and shuts the workers down
    if done_event.is_set():
        # the main process stopped reading: do not block exit on unsent results
        result_queue.cancel_join_thread()
        result_queue.close()
