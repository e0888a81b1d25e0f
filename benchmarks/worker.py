"""One benchmark process: one framework, some cases, one JSON line per case on stdout.

    python -m benchmarks.worker juanji|torch CASE [CASE ...] [--threads 2] [--min-time 1.0]
    python -m benchmarks.worker juanji|torch CASE --memory
    python -m benchmarks.worker juanji|torch CASE --cold

The process imports exactly one framework (``torch``, or ``juanji`` under the name torch) and
never touches its environment; ``run.py`` starts a fresh one per framework and round. Modes:

- *time* (default): per case, ``setup`` then ``--warmup`` calls (the first compiles), then
  timed repetitions until ``--min-time`` seconds and ``--min-reps`` repetitions have passed
  (calls faster than 5 ms are grouped so that one repetition takes about 5 ms). The record
  holds the median seconds per call, every repetition, and the foreign CPU load and this
  process's own cores-in-use over the timed window (``benchmarks/cpuload.py``).
- *memory*: how far the resident memory rises above its level after ``setup`` while three
  calls run (Linux ``VmHWM`` after resetting it through ``/proc/self/clear_refs``): the
  gradients, optimiser state, saved activations, workspaces and caches a step needs. Each
  framework's runtime is started first by a tiny convolution (juanji: Numba's LLVM, ~68 MiB
  once per process; torch: its kernels and thread pools), and then the case runs once on a
  model of its own, which is deleted (with ``torch.cuda.empty_cache()``: juanji's arena lets its
  slabs go; a no-op in torch's CPU build), so that neither framework pays its one-time start-up
  in a model's figure. (Without that warm-up model the first call's loading of compiled code
  counted as the step's: 18 MiB of juanji's 63 for ResNet-18 forward+backward at batch 1, 12 of
  torch's 65.)
- *cold*: seconds to import the framework, set the case up and run its first call, stamped
  from the process's start; ``run.py`` gives juanji an empty Numba cache for this.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

from .cpuload import CpuMeter

START = time.perf_counter()
ROOT = pathlib.Path(__file__).resolve().parent.parent
GROUP_SECONDS = 0.005  # calls faster than this are timed in groups


def import_framework(name: str):
    if name == "torch":
        import torch
        return torch
    if name == "juanji":
        import juanji
        return juanji
    raise SystemExit(f"worker: unknown framework {name!r} (expected juanji or torch)")


def versions(torch, framework: str) -> dict:
    import numpy
    info = {"framework": framework, "version": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "numpy": numpy.__version__}
    if framework == "juanji":
        import numba
        info["numba"] = numba.__version__
    return info


def _scalar(result):
    try:
        if result is not None and result.numel() == 1:
            return float(result.detach().item())
    except AttributeError:
        pass
    return None


def time_case(case, torch, warmup: int, min_time: float, min_reps: int, max_reps: int,
              clock=time.perf_counter) -> dict:
    """Times per call by ``clock``: wall time (``perf_counter``, what the table reports), or
    this process's CPU time (``process_time``, a development aid on a loaded machine: with one
    thread it counts the work done, not the waiting; never a result)."""
    call = case.setup(torch)
    value = _scalar(call())
    for _ in range(warmup - 1):
        call()
    start = time.perf_counter()
    call()
    once = time.perf_counter() - start
    inner = max(1, int(GROUP_SECONDS / once)) if once < GROUP_SECONDS else 1
    gc.collect()
    times = []
    with CpuMeter() as meter:
        begin = time.perf_counter()
        while True:
            start = clock()
            for _ in range(inner):
                call()
            times.append((clock() - start) / inner)
            elapsed = time.perf_counter() - begin
            if len(times) >= max_reps or (len(times) >= min_reps and elapsed >= min_time):
                break
    ordered = sorted(times)
    median = (ordered[(len(ordered) - 1) // 2] + ordered[len(ordered) // 2]) / 2
    return {"median_s": median, "times_s": times, "inner": inner, "load": meter.foreign_load,
            "own_cores": meter.own_cores, "window_s": meter.wall, "value": value}


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def start_runtime(torch) -> None:
    """3x3 convolutions forward and backward: load the framework's compiled code and start its thread
    pool (the second is large enough for both frameworks to split it over their threads)."""
    for shape in ((1, 1, 6, 6), (4, 16, 32, 32)):
        x = torch.zeros(*shape, requires_grad=True)
        torch.nn.functional.conv2d(x, torch.zeros(shape[1] * 2, shape[1], 3, 3)).sum().backward()


def memory_case(case, torch) -> dict:
    start_runtime(torch)
    # the case once on a model of its own, then let go: the code its first call loads (juanji's Numba
    # functions from the cache, torch's oneDNN kernels) is the runtime's one-time cost, not the step's
    warm = case.setup(torch)
    warm()
    del warm
    gc.collect()
    torch.cuda.empty_cache()  # juanji: the arena lets its free slabs go (torch's CPU build: a no-op)
    call = case.setup(torch)
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap back to the OS: reuse shows as a rise
    except OSError:
        pass
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # VmHWM := VmRSS
    before = _status_kib("VmRSS")
    with CpuMeter() as meter:
        for _ in range(3):
            call()
    model = getattr(call, "model", None)  # the bytes of its parameters' gradients: a floor for any framework
    gradients = None if model is None else sum(p.numel() * p.element_size() for p in model.parameters()
                                               if p.requires_grad)
    return {"peak_rise_mib": (_status_kib("VmHWM") - before) / 1024, "rss_before_mib": before / 1024,
            "held_after_mib": (_status_kib("VmRSS") - before) / 1024, "load": meter.foreign_load,
            "own_cores": meter.own_cores, "gradients_mib": None if gradients is None else gradients / 2 ** 20}


def probe_round_trip() -> float | None:
    """The two CPUs' cache-line round trip in ns (``coreprobe``), measured in a process of its own:
    this one loads no Numba (the torch worker must stay torch alone)."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.coreprobe", "--ns"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    try:
        return float(done.stdout.strip())
    except ValueError:
        return None


def cold_case(case, torch, imported: float) -> dict:
    call = case.setup(torch)
    built = time.perf_counter()
    with CpuMeter() as meter:
        call()
    first = time.perf_counter()
    return {"import_s": imported - START, "setup_s": built - imported, "first_call_s": first - built,
            "in_process_s": first - START, "load": meter.foreign_load}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=["juanji", "torch"])
    parser.add_argument("cases", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=1.0)
    parser.add_argument("--min-reps", type=int, default=3)
    parser.add_argument("--max-reps", type=int, default=200)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--memory", action="store_true")
    mode.add_argument("--cold", action="store_true")
    parser.add_argument("--cpu-clock", action="store_true", help="time by CPU time (development aid, see time_case)")
    parser.add_argument("--probe", action="store_true",
                        help="measure the two CPUs' cache-line round trip before the first case and after each")
    args = parser.parse_args(argv)

    torch = import_framework(args.framework)
    imported = time.perf_counter()
    torch.set_num_threads(args.threads)
    from .cases import by_name
    header = versions(torch, args.framework)
    trip_before = probe_round_trip() if args.probe else None
    for name in args.cases:
        case = by_name(name)
        if args.memory:
            record = memory_case(case, torch)
        elif args.cold:
            record = cold_case(case, torch, imported)
        else:
            record = time_case(case, torch, args.warmup, args.min_time, args.min_reps, args.max_reps,
                               time.process_time if args.cpu_clock else time.perf_counter)
            record["clock"] = "cpu" if args.cpu_clock else "wall"
            if args.probe:
                trip_after = probe_round_trip()
                trips = [t for t in (trip_before, trip_after) if t is not None]
                record["round_trip_ns"] = max(trips) if trips else None
                trip_before = trip_after
        other = "juanji" if args.framework == "torch" else "torch"
        record.update(case=name, framework=args.framework, pid=os.getpid(), env=header,
                      other_framework_loaded=other in sys.modules)
        print(json.dumps(record), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
