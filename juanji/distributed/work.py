"""``Work``: the handle an ``async_op=True`` collective returns (torch.distributed.Work).

The MPI requests are already running when it is returned; ``wait()`` finishes them (with the
group's timeout) and then runs what completes the collective on juanji's side: copying a
result out of a staging buffer into non-contiguous tensors, dividing for ``ReduceOp.AVG``.
"""

from __future__ import annotations

import time

from . import _mpi

__all__ = ["Work"]


class Work:
    """A running collective: ``wait()``, ``is_completed()``, ``is_success()``, ``exception()``,
    ``result()`` (its output tensors)."""

    def __init__(self, requests, pg, what: str, finish=None, outputs=()):
        self._requests = list(requests)
        self._pg = pg
        self._what = what
        self._finish = finish
        self._outputs = list(outputs)
        self._deadline = time.monotonic() + pg.timeout.total_seconds()
        self._done = False
        self._error = None

    def _complete(self) -> None:
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()

    def wait(self, timeout=None) -> bool:
        """Block until the collective is done (raises past the group's timeout, or ``timeout``)."""
        if self._done:
            return True
        deadline = self._deadline
        if timeout is not None:
            seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
            deadline = min(deadline, time.monotonic() + seconds)
        try:
            for request in self._requests:
                _mpi.wait(request, deadline, self._what)
        except _mpi.CollectiveTimeout:
            limit = self._pg.timeout.total_seconds()
            self._error = _mpi.CollectiveTimeout(
                f"juanji.distributed: {self._what} on rank {self._pg.rank()} (group of {self._pg.size()}) did not "
                f"complete within {limit:g} s: another rank failed, exited or never called it")
            raise self._error from None
        self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether the collective has finished (checks without waiting)."""
        if not self._done and all(r.Test() for r in self._requests):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed() and self._error is None

    def exception(self):
        return self._error

    def result(self) -> list:
        self.wait()
        return list(self._outputs)

    def synchronize(self) -> None:
        self.wait()

    def __repr__(self):
        return f"<juanji.distributed.Work {self._what} {'done' if self._done else 'running'}>"
