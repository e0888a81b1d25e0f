"""The gradient averaging behind DistributedDataParallel: buckets filled as gradients become
ready, each all-reduced as soon as it is full, so communication runs while the rest of the
backward pass computes (torch's ``Reducer``).

Buckets. The parameters are taken in reverse order of ``module.parameters()`` (a backward pass
produces the last layer's gradients first) and packed, per dtype, into flat buffers of up to
``bucket_cap_mb`` (default 25 MB; then, as in torch, the first bucket is only 1 MB, so that
communication starts early).

One iteration:

1. ``prepare()`` (at forward): every bucket expects all its parameters; with
   ``find_unused_parameters`` the parameters the output does not depend on are marked ready at
   once (a zero gradient), and the map of what this rank used starts its own all-reduce.
2. ``mark_ready(i)`` (a gradient hook, once ``param.grad`` holds this backward's gradient):
   the gradient is copied into its bucket slot; when a bucket is full, it and every full bucket
   after it in order are started (MPI needs the same collectives in the same order on every
   rank, so bucket k never starts before bucket k-1). Each call also polls the running
   reductions, which is what moves MPI's non-blocking collectives along.
3. When the last bucket has started: wait for all of them, and write ``sum / world_size`` back
   into each ``param.grad``. A parameter that no rank used keeps its ``.grad`` untouched.
"""

from __future__ import annotations

import numpy as np

from ...distributed import _mpi
from ...distributed._mpi import message as _msg
from ...distributed.work import Work
from ...tensor import Tensor

__all__ = ["Reducer", "assign_buckets", "FIRST_BUCKET_BYTES"]

FIRST_BUCKET_BYTES = 1024 * 1024  # torch's dist._DEFAULT_FIRST_BUCKET_BYTES


def assign_buckets(params, cap_bytes: int, first_bytes: int = FIRST_BUCKET_BYTES) -> list:
    """Parameter indices grouped into buckets: reversed order, one dtype per bucket, a bucket
    closed once it holds ``first_bytes`` (the first of its dtype) or ``cap_bytes`` (the rest)."""
    open_buckets, limits, done = {}, {}, []
    for i in reversed(range(len(params))):
        arr = params[i]._data
        key = arr.dtype
        bucket = open_buckets.setdefault(key, [[], 0])
        bucket[0].append(i)
        bucket[1] += arr.nbytes
        if bucket[1] >= limits.get(key, first_bytes):
            done.append(bucket[0])
            del open_buckets[key]
            limits[key] = cap_bytes
    done.extend(b[0] for b in open_buckets.values() if b[0])
    return sorted(done, key=lambda b: len(params) - 1 - b[0])  # in the order their first gradient arrives


class _Bucket:
    def __init__(self, index: int, params, members):
        self.index = index
        self.members = list(members)
        dtype = params[self.members[0]]._data.dtype
        sizes = [params[i]._data.size for i in self.members]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.flat = np.zeros(int(self.offsets[-1]), dtype=dtype)
        self.pending = 0
        self.work = None

    def slot(self, position: int):
        return self.flat[self.offsets[position]:self.offsets[position + 1]]


class Reducer:
    """Averages the gradients of ``params`` over the ranks of ``pg`` (see the module doc)."""

    def __init__(self, params, pg, cap_bytes: int, find_unused: bool, first_bytes: int | None = None):
        self.params = list(params)
        self.pg = pg
        self.find_unused = find_unused
        first = cap_bytes if first_bytes is None else first_bytes
        self.buckets = [_Bucket(k, self.params, m) for k, m in
                        enumerate(assign_buckets(self.params, cap_bytes, first))]
        self.where = {}
        for bucket in self.buckets:
            for position, i in enumerate(bucket.members):
                self.where[i] = (bucket, position)
        self.armed = False       # this backward reduces (a forward with grad enabled, outside no_sync)
        self.started = False     # a gradient of this backward has arrived
        self.ready = np.zeros(len(self.params), dtype=bool)
        self.next_bucket = 0
        self.used = None
        self.used_work = None

    # ---------------------------------------------------------------- one iteration
    def prepare(self, unused=()) -> None:
        if self.armed and self.started:
            missing = [i for i in range(len(self.params)) if not self.ready[i]]
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior iteration before starting "
                "a new one. This error indicates that your module has parameters that were not used in producing "
                f"loss (parameter indices {missing}); pass find_unused_parameters=True to DistributedDataParallel, "
                "and make sure all forward outputs participate in calculating loss.")
        self.armed, self.started = True, False
        self.ready[:] = False
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = len(bucket.members)
            bucket.work = None
        if self.find_unused:
            self.used = np.ones(len(self.params), dtype=np.int32)
            self.used[list(unused)] = 0
            MPI = _mpi.mpi()
            request = self.pg.comm.Iallreduce(MPI.IN_PLACE, _msg(self.used), MPI.SUM)
            self.used_work = Work([request], self.pg, "DistributedDataParallel unused-parameter map")
            for i in unused:
                self.mark_ready(i, used=False)

    def disarm(self) -> None:
        self.armed = False

    def mark_ready(self, i: int, used: bool = True) -> None:
        """Parameter ``i``'s gradient for this backward is in ``param.grad``."""
        if not self.armed:
            return
        if self.ready[i]:
            raise RuntimeError(f"DistributedDataParallel: Expected to mark a variable ready only once (parameter "
                               f"index {i}); a parameter was used in several forward passes of one iteration")
        self.started = True
        self.ready[i] = True
        bucket, position = self.where[i]
        grad = self.params[i].grad
        slot = bucket.slot(position)
        if used and grad is not None:
            np.copyto(slot, grad._data.reshape(-1))
        else:
            slot.fill(0)
        bucket.pending -= 1
        self._launch_full_buckets()
        if self.next_bucket == len(self.buckets):
            self._finish()
        else:
            self._progress()

    def _launch_full_buckets(self) -> None:
        MPI = _mpi.mpi()
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            bucket = self.buckets[self.next_bucket]
            request = self.pg.comm.Iallreduce(MPI.IN_PLACE, _msg(bucket.flat), MPI.SUM)
            bucket.work = Work([request], self.pg, f"DistributedDataParallel gradient bucket {bucket.index}")
            self.next_bucket += 1

    def _progress(self) -> None:
        for bucket in self.buckets[:self.next_bucket]:
            if not bucket.work.is_completed():
                break

    def _finish(self) -> None:
        self.armed = False
        if self.used_work is not None:
            self.used_work.wait()
        size = self.pg.size()
        for bucket in self.buckets:
            bucket.work.wait()
            if size > 1:
                np.divide(bucket.flat, size, out=bucket.flat)
            for position, i in enumerate(bucket.members):
                param = self.params[i]
                if self.used is not None and self.used[i] == 0:
                    continue  # no rank used it: its .grad stays as it was
                value = bucket.slot(position).reshape(param._data.shape)
                if param.grad is None or not param.grad._data.flags.writeable:
                    param.grad = Tensor._from_array(value.copy())
                else:
                    np.copyto(param.grad._data, value)
