"""The collectives on Tensors, in place as torch.distributed does them.

Each works on the tensors' own memory: a C-contiguous tensor of a dtype MPI knows (float32,
float64, int8...int64, uint8, bool) is handed to MPI as it is, through the buffer protocol (no
pickling, no copy); any other layout goes through one contiguous staging copy, written back
when the collective completes. Each is started as MPI's non-blocking collective; with
``async_op=True`` the :class:`~juanji.distributed.work.Work` handle is returned at once,
otherwise it is waited on (bounded by the group's timeout) and None is returned.

``src``/``dst`` are global ranks, as in torch (``group_src``/``group_dst`` give a rank inside
the group instead). On a rank outside ``group`` a collective does nothing and returns None.

    all_reduce(t, op)               t = op(t_0, ..., t_{K-1}) on every rank
    broadcast(t, src)               t = t_src
    reduce(t, dst, op)              on dst: t = op(t_0, ..., t_{K-1})
    all_gather(list, t)             list[i] = t_i
    all_gather_into_tensor(out, t)  out = cat(t_0, ..., t_{K-1})  (or stacked: out[i] = t_i)
    reduce_scatter(out, list, op)   out on rank r = op(list_0[r], ..., list_{K-1}[r])
    reduce_scatter_tensor(out, t)   out on rank r = op over ranks of the r-th chunk of t
    gather(t, list, dst)            on dst: list[i] = t_i
    scatter(t, list, src)           t on rank r = list_src[r]
    barrier()                       every rank has reached it
    send/recv, isend/irecv          point to point
"""

from __future__ import annotations

import numpy as np

from ..autograd import recompute
from ..tensor import Tensor
from . import _mpi
from .process_group import resolve
from .reduce_op import RedOpType, ReduceOp, as_red_op, mpi_op
from .work import Work

__all__ = ["all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "gather", "scatter", "barrier", "monitored_barrier", "send", "recv",
           "isend", "irecv", "all_to_all_single"]


def _check_tensor(t, who: str, what: str = "tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: expected {what} to be a juanji.Tensor, got {type(t).__name__}")
    if not isinstance(t._data, np.ndarray):
        raise TypeError(f"{who}: juanji.distributed sends CPU (NumPy) tensors, got a tensor on {t.device}")
    if _mpi.mpi_type(t._data.dtype) is None:
        raise TypeError(f"{who}: juanji.distributed sends float32, float64, int8, int16, int32, int64, uint8 and bool "
                        f"tensors, got {t.dtype}")


def _start(group, who: str, **tensors):
    """The group a collective runs on (None on a non-member: nothing to do), after checking
    its tensors."""
    pg = resolve(group, who)
    for name, t in tensors.items():
        _check_tensor(t, who, name)
    return pg


def buffer_of(t: Tensor):
    """The array MPI reads and writes for ``t``: ``t``'s own array when it is C-contiguous
    (zero-copy), else a contiguous copy (which :func:`_write_back` copies into ``t``)."""
    arr = t._data
    recompute.forget(arr)  # (MPI may write it: a recipe of it would no longer tell its values)
    if arr.flags.c_contiguous and arr.flags.writeable:
        return arr
    return np.ascontiguousarray(arr)


def _write_back(t: Tensor, buf) -> None:
    if buf is not t._data:
        np.copyto(t._data, buf.reshape(t._data.shape))


_msg = _mpi.message


def _reduction(op, t: Tensor, who: str):
    op = as_red_op(op, who)
    kind = t._data.dtype.kind
    if op is RedOpType.AVG and kind not in "f":
        raise ValueError(f"{who}: ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and kind == "f":
        raise ValueError(f"{who}: bitwise ReduceOp.{op.name} needs an integer or bool tensor, got {t.dtype}")
    return op, mpi_op(_mpi.mpi(), op, kind == "b")


def _run(requests, pg, who, finish, outputs, async_op):
    work = Work(requests, pg, who, finish, outputs)
    if async_op:
        return work
    work.wait()
    return None


def _finisher(*steps):
    steps = [s for s in steps if s is not None]
    if not steps:
        return None

    def finish():
        for step in steps:
            step()
    return finish


def _average(buf, pg, op):
    if op is RedOpType.AVG and pg.size() > 1:
        return lambda: np.divide(buf, pg.size(), out=buf)
    return None


def _root(pg, rank, group_rank, who: str, name: str) -> int:
    """The group rank of the root: from ``group_rank`` if given, else the global ``rank``."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"{who}: give either {name} or group_{name}, not both")
        if not 0 <= int(group_rank) < pg.size():
            raise ValueError(f"{who}: group_{name} {group_rank} is out of range for a group of {pg.size()}")
        return int(group_rank)
    return pg.group_rank(0 if rank is None else rank, who)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduce ``tensor`` over the group's ranks with ``op``; every rank gets the result in place."""
    pg = _start(group, "all_reduce", tensor=tensor)
    if pg is None:
        return None
    red, mop = _reduction(op, tensor, "all_reduce")
    buf = buffer_of(tensor)
    request = pg.comm.Iallreduce(_mpi.mpi().IN_PLACE, _msg(buf), mop)
    finish = _finisher(_average(buf, pg, red), lambda: _write_back(tensor, buf))
    return _run([request], pg, "all_reduce", finish, [tensor], async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every rank."""
    pg = _start(group, "broadcast", tensor=tensor)
    if pg is None:
        return None
    root = _root(pg, src, group_src, "broadcast", "src")
    buf = buffer_of(tensor)
    request = pg.comm.Ibcast(_msg(buf), root)
    return _run([request], pg, "broadcast", _finisher(lambda: _write_back(tensor, buf)), [tensor], async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduce ``tensor`` over the ranks into ``tensor`` on rank ``dst`` (the others keep theirs)."""
    pg = _start(group, "reduce", tensor=tensor)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "reduce", "dst")
    red, mop = _reduction(op, tensor, "reduce")
    buf = buffer_of(tensor)
    MPI = _mpi.mpi()
    if pg.rank() == root:
        request = pg.comm.Ireduce(MPI.IN_PLACE, _msg(buf), mop, root)
        finish = _finisher(_average(buf, pg, red), lambda: _write_back(tensor, buf))
    else:
        request = pg.comm.Ireduce(_msg(buf), None, mop, root)
        finish = None
    return _run([request], pg, "reduce", finish, [tensor], async_op)


def _check_list(tensors, n: int, like: Tensor, who: str, what: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != n:
        got = f"{len(tensors)} tensors" if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{who}: expected {what} to be a list of {n} tensors (one per rank of the group), got {got}")
    for i, t in enumerate(tensors):
        _check_tensor(t, who, f"{what}[{i}]")
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(f"{who}: expected {what}[{i}] of shape {list(like.shape)} and dtype {like.dtype} "
                             f"(as the input), got {list(t.shape)} {t.dtype}")


def _scatter_rows(rows, tensors) -> None:
    for row, t in zip(rows, tensors):
        recompute.forget(t._data)
        np.copyto(t._data, row.reshape(t._data.shape))


def _stack(tensors, like):
    return np.stack([np.asarray(t._data).reshape(like._data.shape) for t in tensors])


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[i]`` = rank i's ``tensor``, on every rank."""
    pg = _start(group, "all_gather", tensor=tensor)
    if pg is None:
        return None
    _check_list(tensor_list, pg.size(), tensor, "all_gather", "tensor_list")
    send = buffer_of(tensor)
    recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
    request = pg.comm.Iallgather(_msg(send), _msg(recv))
    return _run([request], pg, "all_gather", lambda: _scatter_rows(recv, tensor_list), list(tensor_list), async_op)


def _check_multiple(out: Tensor, inp: Tensor, k: int, who: str, big: str, small: str) -> None:
    if out.dtype != inp.dtype:
        raise TypeError(f"{who}: expected the output and input tensors to have one dtype, got {out.dtype} and {inp.dtype}")
    n_big = out.numel() if big == "output" else inp.numel()
    n_small = inp.numel() if big == "output" else out.numel()
    if n_big != k * n_small:
        raise ValueError(f"{who}: expected the {big} tensor to hold {k} x the {small} tensor's {n_small} elements "
                         f"(world size {k}), got {n_big}")


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """``output_tensor`` = every rank's ``input_tensor`` concatenated along dim 0 (or stacked
    along a new dim 0): the output has world_size times the input's elements."""
    pg = _start(group, "all_gather_into_tensor", output_tensor=output_tensor, input_tensor=input_tensor)
    if pg is None:
        return None
    _check_multiple(output_tensor, input_tensor, pg.size(), "all_gather_into_tensor", "output", "input")
    send, recv = buffer_of(input_tensor), buffer_of(output_tensor)
    request = pg.comm.Iallgather(_msg(send), _msg(recv))
    return _run([request], pg, "all_gather_into_tensor", _finisher(lambda: _write_back(output_tensor, recv)),
                [output_tensor], async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """``output`` on rank r = ``op`` over the ranks of their ``input_list[r]``."""
    pg = _start(group, "reduce_scatter", output=output)
    if pg is None:
        return None
    _check_list(input_list, pg.size(), output, "reduce_scatter", "input_list")
    red, mop = _reduction(op, output, "reduce_scatter")
    send = _stack(input_list, output)
    recv = buffer_of(output)
    request = pg.comm.Ireduce_scatter_block(_msg(send), _msg(recv), mop)
    finish = _finisher(_average(recv, pg, red), lambda: _write_back(output, recv))
    return _run([request], pg, "reduce_scatter", finish, [output], async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """``output`` on rank r = ``op`` over the ranks of the r-th of world_size equal chunks of ``input``."""
    pg = _start(group, "reduce_scatter_tensor", output=output, input=input)
    if pg is None:
        return None
    _check_multiple(output, input, pg.size(), "reduce_scatter_tensor", "input", "output")
    red, mop = _reduction(op, output, "reduce_scatter_tensor")
    send, recv = buffer_of(input), buffer_of(output)
    request = pg.comm.Ireduce_scatter_block(_msg(send), _msg(recv), mop)
    finish = _finisher(_average(recv, pg, red), lambda: _write_back(output, recv))
    return _run([request], pg, "reduce_scatter_tensor", finish, [output], async_op)


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """On rank ``dst``: ``gather_list[i]`` = rank i's ``tensor`` (other ranks pass no list)."""
    pg = _start(group, "gather", tensor=tensor)
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "gather", "dst")
    send = buffer_of(tensor)
    if pg.rank() == root:
        _check_list(gather_list, pg.size(), tensor, "gather", "gather_list")
        recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
        request = pg.comm.Igather(_msg(send), _msg(recv), root)
        return _run([request], pg, "gather", lambda: _scatter_rows(recv, gather_list), list(gather_list), async_op)
    if gather_list:
        raise ValueError("gather: Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    request = pg.comm.Igather(_msg(send), None, root)
    return _run([request], pg, "gather", None, [], async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """``tensor`` on rank r = ``scatter_list[r]`` of rank ``src`` (other ranks pass no list)."""
    pg = _start(group, "scatter", tensor=tensor)
    if pg is None:
        return None
    root = _root(pg, src, group_src, "scatter", "src")
    recv = buffer_of(tensor)
    if pg.rank() == root:
        _check_list(scatter_list, pg.size(), tensor, "scatter", "scatter_list")
        send = _msg(_stack(scatter_list, tensor))
    else:
        if scatter_list:
            raise ValueError("scatter: Argument ``scatter_list`` must NOT be specified on non-source ranks.")
        send = None
    request = pg.comm.Iscatter(send, _msg(recv), root)
    return _run([request], pg, "scatter", _finisher(lambda: _write_back(tensor, recv)), [tensor], async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None, async_op=False):
    """Rank r sends the i-th of K equal chunks (dim 0) of ``input`` to rank i and receives rank
    i's r-th chunk into the i-th chunk of ``output`` (equal splits only)."""
    pg = _start(group, "all_to_all_single", output=output, input=input)
    if pg is None:
        return None
    if output_split_sizes is not None or input_split_sizes is not None:
        raise NotImplementedError("all_to_all_single: juanji splits the tensors equally (no split sizes)")
    if output.numel() != input.numel() or input.numel() % pg.size():
        raise ValueError(f"all_to_all_single: expected input and output of one size divisible by the group's "
                         f"{pg.size()} ranks, got {input.numel()} and {output.numel()}")
    send, recv = buffer_of(input), buffer_of(output)
    request = pg.comm.Ialltoall(_msg(send), _msg(recv))
    return _run([request], pg, "all_to_all_single", _finisher(lambda: _write_back(output, recv)), [output], async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group has called barrier."""
    pg = resolve(group, "barrier")
    if pg is None:
        return None
    return _run([pg.comm.Ibarrier()], pg, "barrier", None, [], async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier that raises after ``timeout`` (default: the group's) instead of hanging."""
    pg = resolve(group, "monitored_barrier")
    if pg is None:
        return None
    Work([pg.comm.Ibarrier()], pg, "monitored_barrier").wait(timeout)
    return None


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work."""
    pg = _start(group, "isend", tensor=tensor)
    if pg is None:
        return None
    peer = _root(pg, dst, group_dst, "isend", "dst")
    buf = buffer_of(tensor)
    return Work([pg.comm.Isend(_msg(buf), peer, tag)], pg, "send")


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank if None); returns a Work."""
    pg = _start(group, "irecv", tensor=tensor)
    if pg is None:
        return None
    MPI = _mpi.mpi()
    peer = MPI.ANY_SOURCE if src is None and group_src is None else _root(pg, src, group_src, "irecv", "src")
    buf = buffer_of(tensor)
    status = MPI.Status()
    request = pg.comm.Irecv(_msg(buf), peer, tag)
    work = Work([_StatusRequest(request, status)], pg, "recv", lambda: _write_back(tensor, buf), [tensor])
    work.source = lambda: pg.ranks[status.Get_source()]
    return work


class _StatusRequest:
    """A receive request that fills ``status`` (who sent) when it completes."""

    def __init__(self, request, status):
        self.request, self.status = request, status

    def Test(self):
        return self.request.Test(self.status)


def send(tensor, dst=None, group=None, tag=0, group_dst=None) -> None:
    """Send ``tensor`` to rank ``dst`` (returns when it has been handed over)."""
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any, if None); returns the sender's global rank."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work.source()
