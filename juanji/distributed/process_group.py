"""Process groups on MPI: ``init_process_group``, the default group, sub-groups, ranks.

The processes are started by ``mpiexec -n K`` (or ``juanji train --nproc K``, or
``python -m juanji.distributed.run``); MPI knows how many there are and which one this is, so
no address or port is exchanged. ``init_process_group`` takes torch's arguments:

- ``backend``: ``"mpi"`` (also ``None`` or ``"gloo"``, torch's CPU backend, so CPU scripts run
  unchanged: both mean MPI here).
- ``init_method``: ``"env://"`` (torch's default) reads ``RANK`` and ``WORLD_SIZE`` when they are
  set (the launcher sets them, with ``LOCAL_RANK``) and checks them against MPI's; ``tcp://``
  and ``file://`` addresses are accepted and unused (mpiexec did the rendezvous).
- ``rank``/``world_size``: checked against MPI's (a rank may be renumbered: the group is split
  from ``MPI.COMM_WORLD`` ordered by the requested rank).
- ``timeout`` (a ``datetime.timedelta``, default 30 minutes as torch's CPU backend): how long a
  collective may wait before it raises instead of hanging.

Once a group is initialised, an exception that escapes on any rank prints its traceback and one
line naming the rank and the error, then ends every rank (``MPI_Abort``), so a job never hangs
on a dead peer. Each group has its own communicator, so juanji's messages never mix with a
program's own use of MPI.

    $ mpiexec -n 2 python -c "import juanji.distributed as dist; dist.init_process_group('mpi'); print(dist.get_rank())"
"""

from __future__ import annotations

import datetime
import os
import sys
import time

from . import _mpi

__all__ = ["Backend", "ProcessGroup", "GroupMember", "group", "init_process_group", "destroy_process_group",
           "is_initialized", "is_available", "is_mpi_available", "is_gloo_available", "is_nccl_available",
           "is_torchelastic_launched", "get_rank", "get_world_size", "get_backend", "new_group", "get_global_rank",
           "get_group_rank", "get_process_group_ranks", "abort", "default_pg_timeout"]

default_pg_timeout = datetime.timedelta(minutes=30)


class Backend(str):
    """torch.distributed.Backend: the backend names (``Backend.MPI == "mpi"``)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"

    def __new__(cls, name: str):
        return str.__new__(cls, str(name).lower())


class ProcessGroup:
    """A set of ranks that run collectives together: an MPI communicator, the global ranks of
    its members (in group-rank order) and the timeout of its collectives."""

    def __init__(self, comm, ranks, timeout: datetime.timedelta):
        self.comm = comm
        self.ranks = list(ranks)
        self.timeout = timeout

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def name(self) -> str:
        return Backend.MPI

    # array-level collectives for code below the Tensor (the SyncBatchNorm Op): NumPy arrays in
    # and out, bounded by the group's timeout like every collective
    def all_gather_array(self, arr, what: str):
        """Every rank's ``arr`` (all of one shape), stacked: shape ``(size, *arr.shape)``."""
        import numpy as np

        from .work import Work
        arr = np.ascontiguousarray(arr)
        out = np.empty((self.size(),) + arr.shape, dtype=arr.dtype)
        Work([self.comm.Iallgather(_mpi.message(arr), _mpi.message(out))], self, what).wait()
        return out

    def all_reduce_array_(self, arr, what: str):
        """Sum ``arr`` (C-contiguous) over the ranks, in place."""
        from .work import Work
        MPI = _mpi.mpi()
        Work([self.comm.Iallreduce(MPI.IN_PLACE, _mpi.message(arr), MPI.SUM)], self, what).wait()
        return arr

    def group_rank(self, global_rank: int, who: str) -> int:
        """The rank inside this group of the process with ``global_rank``."""
        try:
            return self.ranks.index(int(global_rank))
        except ValueError:
            raise ValueError(f"{who}: global rank {global_rank} is not part of the group (ranks {self.ranks})") from None

    def __repr__(self):
        return f"ProcessGroup(backend='mpi', ranks={self.ranks})"


class GroupMember:
    """torch.distributed.GroupMember: ``WORLD`` (the default group) and ``NON_GROUP_MEMBER``
    (what ``new_group`` returns on a rank outside the new group)."""

    WORLD = None
    NON_GROUP_MEMBER = object()


class group:
    """torch.distributed.group: ``group.WORLD``."""

    WORLD = None


class _State:
    world: ProcessGroup | None = None
    previous_excepthook = None


_state = _State()


def _set_world(pg) -> None:
    _state.world = pg
    group.WORLD = GroupMember.WORLD = pg

_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")


def is_available() -> bool:
    """True: juanji.distributed is always importable (mpi4py is checked when a group starts)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed (the ``juanji[distributed]`` extra)."""
    return _mpi.available()


def is_gloo_available() -> bool:
    """``backend="gloo"`` is accepted and runs on MPI, so gloo is 'available' when MPI is."""
    return _mpi.available()


def is_nccl_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return False


def is_initialized() -> bool:
    return _state.world is not None


def _world() -> ProcessGroup:
    if _state.world is None:
        raise ValueError(_NOT_INITIALIZED)
    return _state.world


def resolve(group, who: str):
    """The ProcessGroup a call works on: ``group`` or the default one; None on a rank that is
    not a member (torch then does nothing)."""
    if group is None or group is GroupMember.WORLD:
        if _state.world is None:
            raise ValueError(f"{who}: {_NOT_INITIALIZED}")
        return _state.world
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"{who}: expected group to be a ProcessGroup from dist.new_group or None, "
                        f"got {type(group).__name__}")
    return group


def _env_int(name: str):
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"init_process_group: environment variable {name} must be an integer, got {value!r}") from None


def _as_timeout(timeout) -> datetime.timedelta:
    if timeout is None:
        return default_pg_timeout
    if isinstance(timeout, (int, float)):
        return datetime.timedelta(seconds=timeout)
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"init_process_group: expected timeout to be a datetime.timedelta, got {type(timeout).__name__}")
    return timeout


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None) -> None:
    """Start the default process group over the processes mpiexec started (see the module doc)."""
    if _state.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = str(backend).lower() if backend is not None else "mpi"
    if name.startswith("cpu:"):
        name = name[4:]
    if name not in ("mpi", "gloo"):
        raise RuntimeError(f"init_process_group: juanji runs on MPI: expected backend 'mpi' (or 'gloo', which means "
                           f"the same here), got {backend!r}")
    if init_method is not None and not str(init_method).startswith(("env://", "tcp://", "file://", "mpi://")):
        raise ValueError(f"init_process_group: expected init_method 'env://', 'tcp://...' or 'file://...', "
                         f"got {init_method!r}")
    timeout = _as_timeout(timeout)
    MPI = _mpi.mpi()
    world = MPI.COMM_WORLD
    mpi_size, mpi_rank = world.Get_size(), world.Get_rank()

    env = init_method is None or str(init_method).startswith("env://")
    want_size = world_size if world_size not in (None, -1) else (_env_int("WORLD_SIZE") if env else None)
    want_rank = rank if rank not in (None, -1) else (_env_int("RANK") if env else None)
    if want_size is not None and want_size != mpi_size:
        raise RuntimeError(f"init_process_group: world_size {want_size} was asked for but MPI started {mpi_size} "
                           f"process(es): start the job with `mpiexec -n {want_size} ...`")
    key = mpi_rank
    if want_rank is not None:
        if not 0 <= want_rank < mpi_size:
            raise RuntimeError(f"init_process_group: rank {want_rank} is out of range for world size {mpi_size}")
        key = want_rank
    comm = world.Split(0, key)  # our own communicator, ranked as requested
    if comm.Get_rank() != key:
        comm.Free()
        raise RuntimeError(f"init_process_group: the requested ranks are not a permutation of 0..{mpi_size - 1} "
                           f"(this process asked for rank {key})")
    _set_world(ProcessGroup(comm, range(mpi_size), timeout))
    if mpi_size > 1 and _state.previous_excepthook is None:
        _state.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_exception


def destroy_process_group(group=None) -> None:
    """Free ``group`` (or the default group and every group made from it)."""
    if group is None or group is _state.world:
        if _state.world is None:
            raise ValueError(_NOT_INITIALIZED)
        _state.world.comm.Free()
        _set_world(None)
        if _state.previous_excepthook is not None:
            sys.excepthook = _state.previous_excepthook
            _state.previous_excepthook = None
    elif isinstance(group, ProcessGroup):
        group.comm.Free()


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (default: the world), -1 if it is not a member."""
    pg = resolve(group, "get_rank")
    return -1 if pg is None else pg.rank()


def get_world_size(group=None) -> int:
    """How many processes ``group`` has (default: the world), -1 on a non-member."""
    pg = resolve(group, "get_world_size")
    return -1 if pg is None else pg.size()


def get_backend(group=None) -> str:
    resolve(group, "get_backend")
    return Backend.MPI


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A sub-group of the given global ranks (all ranks, if None). Every rank of the world must
    call it, members or not, in the same order, as in torch. Group ranks follow the sorted
    global ranks; a non-member gets ``GroupMember.NON_GROUP_MEMBER``."""
    world = _world()
    size = world.size()
    members = sorted(range(size) if ranks is None else (int(r) for r in ranks))
    if len(set(members)) != len(members) or any(not 0 <= r < size for r in members):
        raise ValueError(f"new_group: expected distinct ranks in [0, {size - 1}], got {list(ranks)}")
    MPI = _mpi.mpi()
    me = world.rank()
    color = 0 if me in members else MPI.UNDEFINED
    comm = world.comm.Split(color, members.index(me) if me in members else 0)
    if me not in members:
        return GroupMember.NON_GROUP_MEMBER
    return ProcessGroup(comm, members, _as_timeout(timeout) if timeout is not None else world.timeout)


def get_process_group_ranks(group) -> list:
    """The global ranks of ``group``'s members, in group-rank order."""
    pg = resolve(group, "get_process_group_ranks")
    return list(pg.ranks) if pg is not None else []


def get_global_rank(group, group_rank: int) -> int:
    """The global rank of the member with ``group_rank`` in ``group``."""
    pg = resolve(group, "get_global_rank")
    if not 0 <= group_rank < len(pg.ranks):
        raise ValueError(f"get_global_rank: group rank {group_rank} is not part of the group (size {len(pg.ranks)})")
    return pg.ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    """The rank inside ``group`` of the process with ``global_rank``."""
    return resolve(group, "get_group_rank").group_rank(global_rank, "get_group_rank")


def abort(message: str, code: int = 1) -> None:
    """End every rank of the job now, after writing ``message`` (one line) to stderr."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    # mpiexec forwards a rank's output through a pipe; MPI_Abort ends the job at once and what is
    # still in the pipe can be lost, so give the forwarder a moment to read the last line.
    time.sleep(0.5)
    MPI = _mpi.mpi()
    MPI.COMM_WORLD.Abort(code)
    os._exit(code)  # (MPICH's MPI_Abort can return once it has told mpiexec, which then ends the others)


def _abort_on_exception(exc_type, exc, tb) -> None:
    """sys.excepthook while a multi-process group is up: the usual traceback, one line naming the
    rank and the error, then MPI_Abort, which makes mpiexec end the other ranks."""
    (_state.previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)
    world = _state.world
    where = f"rank {world.rank()} of {world.size()}" if world is not None else "a rank"
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    abort(f"juanji.distributed: {where} failed with {exc_type.__name__}: {first}; ending all ranks")
