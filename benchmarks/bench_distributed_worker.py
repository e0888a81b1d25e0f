"""One distributed benchmark job, run under ``mpiexec -n K`` by ``bench_distributed.py``;
rank 0 prints one JSON line per measurement.

    mpiexec -n K python -m benchmarks.bench_distributed_worker train MODEL BATCH STEPS THREADS
    mpiexec -n K python -m benchmarks.bench_distributed_worker allreduce THREADS
    mpiexec -n K python -m benchmarks.bench_distributed_worker overlap MODEL BATCH STEPS THREADS

- ``train``: DistributedDataParallel training steps of juanji's MODEL (lenet5 28x28x1,
  resnet20 32x32x3) with global batch BATCH split over the K ranks; images/s of the global
  batch, median over the timed steps after two warm-up steps.
- ``allreduce``: for buffers of 1 KB to 64 MB (float32), seconds per in-place all_reduce
  through juanji.distributed and through a plain mpi4py ``Allreduce(IN_PLACE)`` loop, and the
  bus bandwidth ``2 (K-1)/K * bytes / seconds`` (the osu/nccl-tests convention).
- ``overlap``: one training step's backward, timed three ways on each rank: without DDP (the
  local compute alone), with DDP in 0.25 MB buckets (communication started by the gradient
  hooks while backward goes on), and with DDP in one bucket (nothing is sent before the last
  gradient: no overlap). The communication share of backward = 1 - local / ddp.

Every record carries the foreign CPU load over its window: the machine's busy time from
/proc/stat minus the CPU time of all K ranks (``benchmarks/cpuload.py``).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from .cpuload import machine_busy_seconds, own_cpu_seconds


def _setup(threads: int):
    import juanji
    import juanji.distributed as dist
    juanji.set_num_threads(threads)
    dist.init_process_group("mpi")
    return juanji, dist


class _Window:
    """Wall time and foreign load of a window, the CPU time of every rank counted as ours."""

    def __init__(self, dist):
        self.dist = dist

    def __enter__(self):
        self.dist.barrier()
        self.busy, self.own, self.start = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.dist.barrier()
        self.wall = time.perf_counter() - self.start
        own = [None] * self.dist.get_world_size()
        self.dist.all_gather_object(own, own_cpu_seconds() - self.own)
        busy = machine_busy_seconds()
        cpus = len(__import__("os").sched_getaffinity(0))
        self.foreign_load = None if busy is None else max(0.0, (busy - self.busy - sum(own)) / (self.wall * cpus))
        return False


def _model(juanji, name):
    from juanji.vision import models
    juanji.manual_seed(0)
    if name == "lenet5":
        return models.lenet5(), (1, 28, 28)
    return models.resnet20(), (3, 32, 32)


def train(model_name, batch, steps, threads):
    juanji, dist = _setup(threads)
    from juanji import nn
    rank, k = dist.get_rank(), dist.get_world_size()
    model, shape = _model(juanji, model_name)
    if k > 1:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = juanji.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    local = batch // k
    rng = np.random.default_rng(rank)
    x = juanji.tensor(rng.standard_normal((local, *shape)).astype(np.float32))
    y = juanji.tensor(rng.integers(0, 10, size=local))
    times = []
    for step in range(steps + 2):
        with _Window(dist) as window:
            opt.zero_grad()
            loss_fn(ddp(x), y).backward()
            opt.step()
        if step >= 2:
            times.append((window.wall, window.foreign_load))
    if rank == 0:
        walls = [t for t, _ in times]
        loads = [f for _, f in times if f is not None]
        print(json.dumps({"kind": "train", "model": model_name, "ranks": k, "threads": threads, "batch": batch,
                          "seconds_per_step": float(np.median(walls)), "images_per_s": batch / float(np.median(walls)),
                          "foreign_load": float(np.median(loads)) if loads else None}), flush=True)


def allreduce(threads):
    juanji, dist = _setup(threads)
    from mpi4py import MPI
    rank, k = dist.get_rank(), dist.get_world_size()
    comm = MPI.COMM_WORLD.Dup()
    size = 1024
    while size <= 64 * 1024 * 1024:
        n = size // 4
        t = juanji.ones(n)
        a = np.ones(n, dtype=np.float32)
        reps = max(3, min(200, int(2e8 // max(size, 1))))
        for label, call in (("juanji", lambda: dist.all_reduce(t)),
                            ("mpi4py", lambda: comm.Allreduce(MPI.IN_PLACE, a, MPI.SUM))):
            call()
            with _Window(dist) as window:
                for _ in range(reps):
                    call()
            seconds = window.wall / reps
            if rank == 0:
                print(json.dumps({"kind": "allreduce", "via": label, "ranks": k, "bytes": size,
                                  "seconds": seconds, "bus_gb_per_s": 2 * (k - 1) / k * size / seconds / 1e9,
                                  "foreign_load": window.foreign_load}), flush=True)
        size *= 4


def overlap(model_name, batch, steps, threads):
    juanji, dist = _setup(threads)
    from juanji import nn
    rank, k = dist.get_rank(), dist.get_world_size()
    loss_fn = nn.CrossEntropyLoss()
    local = batch // k
    results = {}
    for label, cap in (("local", None), ("overlap", 0.25), ("one_bucket", 1024.0)):
        model, shape = _model(juanji, model_name)
        run = model if cap is None else nn.parallel.DistributedDataParallel(model, bucket_cap_mb=cap)
        rng = np.random.default_rng(rank)
        x = juanji.tensor(rng.standard_normal((local, *shape)).astype(np.float32))
        y = juanji.tensor(rng.integers(0, 10, size=local))
        walls, loads = [], []
        for step in range(steps + 2):
            run.zero_grad()
            loss = loss_fn(run(x), y)
            with _Window(dist) as window:
                loss.backward()
            if step >= 2:
                walls.append(window.wall)
                if window.foreign_load is not None:
                    loads.append(window.foreign_load)
        buckets = None if cap is None else len(run.reducer.buckets)
        results[label] = (float(np.median(walls)), float(np.median(loads)) if loads else None, buckets)
    if rank == 0:
        local_s = results["local"][0]
        for label in ("overlap", "one_bucket"):
            seconds, load, buckets = results[label]
            print(json.dumps({"kind": "overlap", "model": model_name, "ranks": k, "batch": batch, "mode": label,
                              "buckets": buckets, "backward_s": seconds, "local_backward_s": local_s,
                              "comm_share": 1 - local_s / seconds, "foreign_load": load}), flush=True)


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "train":
        train(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif kind == "allreduce":
        allreduce(int(args[0]))
    elif kind == "overlap":
        overlap(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        raise SystemExit(f"unknown benchmark {kind!r}")
