"""torch.nn.parallel: ``DistributedDataParallel`` (processes on MPI, see ``juanji.distributed``)
and ``DataParallel`` (a pass-through on the CPU)."""

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
