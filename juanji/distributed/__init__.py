"""torch.distributed on MPI: process groups and collectives on Tensors.

Start the processes with ``mpiexec -n K python script.py`` (MPI from ``pip install
'juanji[distributed]'``: mpi4py and the mpich wheel); in the script, as with torch::

    import juanji as torch
    import juanji.distributed as dist

    dist.init_process_group("mpi")          # "gloo" means the same here
    t = torch.ones(3) * dist.get_rank()
    dist.all_reduce(t)                      # in place: t = sum over the ranks
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    work.wait()

The modules: ``process_group`` (init, ranks, groups), ``collectives`` (tensors, in place),
``objects`` (picklable objects), ``work`` (async handles), ``reduce_op``, ``_mpi`` (the only
place mpi4py is imported; importing this package does not start MPI).
"""

from .collectives import (all_gather, all_gather_into_tensor, all_reduce, all_to_all_single, barrier, broadcast,
                          gather, irecv, isend, monitored_barrier, recv, reduce, reduce_scatter, reduce_scatter_tensor,
                          scatter, send)
from .objects import all_gather_object, broadcast_object_list, gather_object, scatter_object_list
from .process_group import (Backend, GroupMember, ProcessGroup, abort, default_pg_timeout, destroy_process_group,
                            get_backend, get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                            get_world_size, group, init_process_group, is_available, is_gloo_available,
                            is_initialized, is_mpi_available, is_nccl_available, is_torchelastic_launched, new_group)
from .reduce_op import ReduceOp
from .work import Work

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized", "is_mpi_available",
           "is_gloo_available", "is_nccl_available", "is_torchelastic_launched", "get_rank", "get_world_size",
           "get_backend", "new_group", "get_global_rank", "get_group_rank", "get_process_group_ranks", "Backend",
           "ProcessGroup", "GroupMember", "group", "ReduceOp", "Work", "abort", "default_pg_timeout",
           "all_reduce", "broadcast", "reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter",
           "reduce_scatter_tensor", "gather", "scatter", "all_to_all_single", "barrier", "monitored_barrier",
           "send", "recv", "isend", "irecv", "all_gather_object", "broadcast_object_list", "gather_object",
           "scatter_object_list"]
