"""Collectives on picklable Python objects (torch.distributed's ``*_object`` functions).

An object travels as its pickle: the byte counts go first (one int64 per rank), then the bytes,
both as non-blocking MPI collectives bounded by the group's timeout like the tensor ones. As in
torch, unpickling runs code from the other ranks: use them only between processes you trust.
"""

from __future__ import annotations

import pickle

import numpy as np

from . import _mpi
from .collectives import _root
from .process_group import resolve
from .work import Work

__all__ = ["all_gather_object", "broadcast_object_list", "gather_object", "scatter_object_list"]


def _wait(requests, pg, who) -> None:
    Work(requests, pg, who).wait()


def _pickle(obj) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def _unpickle(buf: np.ndarray):
    return pickle.loads(buf.tobytes())


def _allgather_bytes(pg, payload: np.ndarray, who: str) -> list:
    MPI = _mpi.mpi()
    sizes = np.empty(pg.size(), dtype=np.int64)
    _wait([pg.comm.Iallgather([np.array([payload.size], dtype=np.int64), MPI.INT64_T], [sizes, MPI.INT64_T])], pg, who)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    _wait([pg.comm.Iallgatherv([payload, MPI.BYTE], [out, (sizes, offsets), MPI.BYTE])], pg, who)
    return [out[o:o + n] for o, n in zip(offsets, sizes)]


def _bcast_bytes(pg, payload, root: int, who: str) -> np.ndarray:
    MPI = _mpi.mpi()
    size = np.array([payload.size if payload is not None else 0], dtype=np.int64)
    _wait([pg.comm.Ibcast([size, MPI.INT64_T], root)], pg, who)
    buf = payload.copy() if pg.rank() == root else np.empty(int(size[0]), dtype=np.uint8)
    _wait([pg.comm.Ibcast([buf, MPI.BYTE], root)], pg, who)
    return buf


def all_gather_object(object_list, obj, group=None) -> None:
    """``object_list[i]`` = rank i's ``obj``, on every rank (the list must have world_size slots)."""
    pg = resolve(group, "all_gather_object")
    if pg is None:
        return None
    if not isinstance(object_list, list) or len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: expected object_list to be a list of {pg.size()} entries "
                         f"(one per rank), got {len(object_list) if isinstance(object_list, list) else type(object_list).__name__}")
    for i, piece in enumerate(_allgather_bytes(pg, _pickle(obj), "all_gather_object")):
        object_list[i] = _unpickle(piece)
    return None


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None) -> None:
    """Replace the entries of ``object_list`` on every rank by those of rank ``src`` (the lists
    must have the same length on every rank)."""
    pg = resolve(group, "broadcast_object_list")
    if pg is None:
        return None
    root = _root(pg, src, group_src, "broadcast_object_list", "src")
    payload = _pickle(list(object_list)) if pg.rank() == root else None
    received = _unpickle(_bcast_bytes(pg, payload, root, "broadcast_object_list"))
    if len(received) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {pg.ranks[root]} sent {len(received)} objects, this rank's "
                         f"object_list has {len(object_list)} slots")
    object_list[:] = received
    return None


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None) -> None:
    """On rank ``dst``: ``object_gather_list[i]`` = rank i's ``obj``."""
    pg = resolve(group, "gather_object")
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "gather_object", "dst")
    if pg.rank() == root and (not isinstance(object_gather_list, list) or len(object_gather_list) != pg.size()):
        raise ValueError(f"gather_object: expected object_gather_list on the destination rank to be a list of "
                         f"{pg.size()} entries")
    pieces = _allgather_bytes(pg, _pickle(obj), "gather_object")  # small objects: one exchange for all
    if pg.rank() == root:
        for i, piece in enumerate(pieces):
            object_gather_list[i] = _unpickle(piece)
    return None


def scatter_object_list(scatter_object_output_list, scatter_object_input_list=None, src=None, group=None,
                        group_src=None) -> None:
    """``scatter_object_output_list[0]`` on rank r = ``scatter_object_input_list[r]`` of rank ``src``."""
    pg = resolve(group, "scatter_object_list")
    if pg is None:
        return None
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("scatter_object_list: expected scatter_object_output_list to be a list with at least one slot")
    root = _root(pg, src, group_src, "scatter_object_list", "src")
    payload = None
    if pg.rank() == root:
        if not isinstance(scatter_object_input_list, list) or len(scatter_object_input_list) != pg.size():
            raise ValueError(f"scatter_object_list: expected scatter_object_input_list on the source rank to be a "
                             f"list of {pg.size()} entries")
        payload = _pickle(list(scatter_object_input_list))
    everything = _unpickle(_bcast_bytes(pg, payload, root, "scatter_object_list"))
    scatter_object_output_list[0] = everything[pg.rank()]
    return None
