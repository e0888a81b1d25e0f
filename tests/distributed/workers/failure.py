"""A job in which one rank fails: ``raise`` (rank 1 raises after a collective) or ``exit``
(rank 1 leaves quietly, the others wait in a collective until their timeout)."""

import datetime
import sys
import time

import juanji as torch
import juanji.distributed as dist

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=float(sys.argv[2])))
rank = dist.get_rank()
t = torch.ones(4)
dist.all_reduce(t)
if rank == 1:
    if sys.argv[1] == "raise":
        raise ZeroDivisionError("rank one divided by zero")
    sys.exit(0)
time.sleep(0.2)
dist.all_reduce(t)  # never completes: rank 1 is gone
print("unreachable", flush=True)
