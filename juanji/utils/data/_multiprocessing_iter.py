"""``num_workers > 0``: worker processes fetch batches while the main process trains.

How the work flows::

    main process                                   worker k (of num_workers)
    ------------                                   -------------------------
    sampler -> (task_id, indices) --index_queue[k]-->  fetch + collate
               round robin over active workers          |
    reorder by task_id  <------- result_queue ---------(task_id, batch)

- At most ``prefetch_factor * num_workers`` tasks are in flight; each batch handed to the
  caller sends the next task, so the workers stay ahead of the training loop.
- Batches come back in any order and are released in ``task_id`` order (``in_order=True``),
  which is the sampler's order: the same batches as ``num_workers=0``.
- A batch travels as bytes the worker pickled itself, so a batch that cannot be pickled is
  an error raised here rather than a batch that never arrives.
- An iterable dataset's worker that runs dry says so once and gets no more tasks.
- Shutdown (end of pass, ``del``, error): set ``done_event``, send ``None`` to every worker,
  join them, terminate any that do not stop.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue

from ._loader_iter import _BaseDataLoaderIter
from ._worker import (STATUS_CHECK_INTERVAL, ExceptionWrapper, _IterableDatasetStopIteration, _ResumeIteration,
                      worker_loop)

__all__ = []

# seconds to wait for a worker to exit cleanly before terminating it
_JOIN_TIMEOUT = 5.0


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._result_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues = []
        self._workers = []
        self._shutdown = False  # set first: __del__ must work even if starting a worker fails
        self._owner_pid = os.getpid()
        for worker_id in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()  # never block the main process's exit on it
            worker = context.Process(
                target=worker_loop,
                args=(self._iterable, self._dataset, index_queue, self._result_queue, self._done_event,
                      self._auto_collation, self._collate_fn, self._drop_last, self._base_seed,
                      loader.worker_init_fn, worker_id, self._num_workers),
                daemon=True)  # dies with the main process
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._reset(loader, first_iter=True)

    # ------------------------------------------------------------------ a new pass
    def _reset(self, loader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0  # the next task id to send
        self._rcvd_idx = 0  # the next task id to hand to the caller
        self._task_info = {}  # task id -> (worker id,) while in flight, (worker id, batch) once back
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers  # False: this pass's stream has ended there
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:  # persistent workers: drop the last pass's leftovers, restart the streams
            for index_queue in self._index_queues:
                index_queue.put(_ResumeIteration())
            waiting = self._num_workers
            while waiting > 0:
                task_id, _ = self._get_data()
                if isinstance(task_id, _ResumeIteration):
                    waiting -= 1
        for _ in range(self._max_tasks()):
            self._try_put_index()

    def _max_tasks(self) -> int:
        return max(1, self._prefetch_factor * self._num_workers)

    def _try_put_index(self) -> None:
        """Send the sampler's next index to the next active worker (round robin)."""
        if self._tasks_outstanding >= self._max_tasks():
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker's stream has ended
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    # ------------------------------------------------------------------ receiving
    def _next_data(self):
        while True:
            # skip task ids already handed out (in_order=False) or whose worker ran dry first
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration

            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:  # it arrived earlier, ahead of its turn
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process_data(info[1])

            task_id, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableDatasetStopIteration):
                self._stop_sending_to(data.worker_id)
                self._try_put_index()
                continue
            if task_id == self._rcvd_idx:
                del self._task_info[task_id]
                self._rcvd_idx += 1
                return self._process_data(data)
            if not self._in_order:
                del self._task_info[task_id]
                return self._process_data(data)
            self._task_info[task_id] += (data,)  # keep it until its turn

    def _process_data(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get_data(self):
        if self._timeout > 0:
            received, data = self._try_get_data(self._timeout)
            if not received:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            return data
        while True:
            received, data = self._try_get_data(STATUS_CHECK_INTERVAL)
            if received:
                return data

    def _try_get_data(self, timeout: float):
        """(True, result) or (False, None) after ``timeout``; a worker that died is an error."""
        try:
            task_id, payload = self._result_queue.get(timeout=timeout)
        except queue.Empty:
            pass
        else:  # a batch comes pickled by the worker (see _worker._pickled); acks come as None
            return True, (task_id, None if payload is None else pickle.loads(payload))
        dead = [w for w, active in zip(self._workers, self._workers_status) if active and not w.is_alive()]
        if dead:
            pids = ", ".join(str(w.pid) for w in dead)
            codes = ", ".join(str(w.exitcode) for w in dead)
            self._shutdown_workers()
            raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code(s) {codes})")
        return False, None

    # ------------------------------------------------------------------ shutdown
    def _stop_sending_to(self, worker_id: int) -> None:
        """A worker's stream ended: a persistent one waits for the next pass, others exit."""
        self._workers_status[worker_id] = False
        if not self._persistent_workers:
            self._index_queues[worker_id].put(None)

    def _shutdown_workers(self) -> None:
        if self._shutdown or os.getpid() != self._owner_pid:
            return  # done already, or a forked child's copy of this iterator: not its workers
        self._shutdown = True
        try:
            self._done_event.set()
            for index_queue in self._index_queues:
                index_queue.put(None)
            for worker in self._workers:
                worker.join(timeout=_JOIN_TIMEOUT)
            for index_queue in self._index_queues:
                index_queue.close()
        finally:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join()

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # interpreter teardown: the modules we need may be gone already
            pass
