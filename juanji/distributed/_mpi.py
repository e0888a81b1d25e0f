"""The one door to MPI: mpi4py is imported here, on first use, and nowhere else.

``import juanji`` and ``import juanji.distributed`` never load mpi4py (importing ``mpi4py.MPI``
initialises MPI, which must happen only in a program that asked for it). Without the optional
extra, the first call that needs MPI raises one line that names it.

Waiting. Every collective is started as MPI's non-blocking version and finished by :func:`wait`,
which polls ``Test`` until it completes or the group's timeout passes. That gives two things a
blocking MPI call cannot: a rank whose partner died raises (naming the collective) instead of
hanging, and a rank that waits long lets go of its core (MPICH's blocking waits spin forever),
which matters when more ranks than cores share a machine. Short waits spin, as MPI's own do:
a collective's stages advance only while every rank polls (measured on 2 ranks, under load:
sleeping from the first microseconds on made 1 MB all_reduces 2.6x slower than mpi4py's
blocking call; spinning for the first 5 ms brought them to 0.9x).
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np

__all__ = ["MPI", "available", "mpi", "wait", "CollectiveTimeout", "MISSING_MESSAGE", "mpi_type", "message"]

MISSING_MESSAGE = ("juanji.distributed needs mpi4py and an MPI library: pip install 'juanji[distributed]' "
                   "(mpi4py + the mpich wheel)")

MPI = None  # mpi4py.MPI once loaded


def available() -> bool:
    """True when mpi4py can be imported (it is not imported, so MPI is not started)."""
    return importlib.util.find_spec("mpi4py") is not None


def mpi():
    """``mpi4py.MPI`` (importing it initialises MPI), or the one-line error naming the extra."""
    global MPI
    if MPI is None:
        try:
            from mpi4py import MPI as _MPI
        except ImportError as exc:  # no mpi4py, or no MPI library for it to load
            raise RuntimeError(f"{MISSING_MESSAGE}; importing it failed: {exc}") from None
        MPI = _MPI
    return MPI


class CollectiveTimeout(RuntimeError):
    """A collective did not complete within the process group's timeout."""


# numpy dtype -> MPI datatype name; these buffers go to MPI as they are (no pickling, no copy)
_MPI_TYPES = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE", np.dtype(np.int64): "INT64_T",
              np.dtype(np.int32): "INT32_T", np.dtype(np.int16): "INT16_T", np.dtype(np.int8): "INT8_T",
              np.dtype(np.uint8): "UINT8_T", np.dtype(np.bool_): "C_BOOL"}


def mpi_type(dtype: np.dtype):
    """The MPI datatype of a NumPy dtype, or None where MPI has none (float16, complex...)."""
    name = _MPI_TYPES.get(np.dtype(dtype))
    return getattr(mpi(), name) if name is not None else None


def message(arr):
    """What mpi4py sends or receives: the array (read through the buffer protocol, no copy) and
    its MPI datatype."""
    return [arr, mpi_type(arr.dtype)]


SPIN_SECONDS = 0.005    # poll without pause this long: most collectives finish well within it
YIELD_SECONDS = 0.1     # then poll giving up the time slice each time, then sleep between polls


def wait(request, deadline: float, what: str) -> None:
    """Finish ``request``: poll ``Test`` busily for 5 ms (a collective's stages move on only
    while every rank polls, so pausing early would slow every transfer), then yielding the CPU
    between polls up to 100 ms, then sleeping up to 1 ms between polls (a rank waiting long,
    say for rank 0's checkpoint, should not burn a core); raise :class:`CollectiveTimeout`
    past ``deadline`` (a ``time.monotonic()`` value)."""
    if request.Test():
        return
    start = time.monotonic()
    while not request.Test():
        now = time.monotonic()
        waited = now - start
        if waited < SPIN_SECONDS:
            continue
        if now > deadline:
            raise CollectiveTimeout(what)
        time.sleep(0 if waited < YIELD_SECONDS else min(1e-3, waited / 100))
