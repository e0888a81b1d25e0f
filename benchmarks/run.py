"""``make bench``: juanji against PyTorch, each in its own fresh process, with the load recorded.

    python -m benchmarks.run [--suites train,small,infer,conv,ops] [--rounds 3] [--quick]
                             [--memory] [--cold] [--under-load] [--readme] [--cases TEXT]

How it measures (the project's rule: "Speed is measured honestly"):

- this runner imports neither framework; every measurement runs in a fresh worker process
  (``benchmarks/worker.py``) that imports exactly one of them, with the environment this
  runner was started with, unchanged, and 2 threads (``set_num_threads``);
- rounds are interleaved: in each round every suite runs once in juanji and once in torch
  (the order alternates between rounds), so slow drifts of the machine hit both;
- a framework's time for a case is the median over rounds of each process's median;
- every record carries the foreign CPU load measured over its timing window
  (``benchmarks/cpuload.py``); before each process the runner waits (up to ``--wait`` s) for
  the machine to drop under ``--max-load``, and a record above it is measured again in a new
  process, up to ``--retries`` times; one still above it is kept but marked ``loaded``, and
  loaded records count in a median only when a case has no unloaded round;
- the same holds for the distance between the two CPUs: the worker measures a cache line's
  round trip between two threads before its first case and after each (``benchmarks/coreprobe.py``,
  in a process of its own; 50-60 ns on this machine, 300-2,000 ns while the hypervisor keeps the
  two virtual CPUs apart, which slows two-thread steps of both frameworks, juanji's more), and a
  record whose reading before or after is above ``--max-round-trip`` counts as loaded; the runner
  also waits (``--wait``) for a close reading before each process.

Optional phases: ``--memory`` (peak resident-memory rise of a call, each case in its own
process), ``--cold`` (first training step in a fresh process, juanji with an empty Numba cache:
``NUMBA_CACHE_DIR`` pointed at a new empty folder, the one variable this runner sets, and only
there), ``--under-load`` (the training cases again while a busy loop keeps one core occupied:
each framework's slowdown).

Writes ``benchmarks/results/bench.json`` (every record, the machine) and ``bench.md`` (the
table of issue 9's targets); a run of some suites replaces only their records, so the table
can be measured in short quiet windows. ``--readme`` copies the table into the README's
performance section.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

from .coreprobe import round_trip_ns
from .cpuload import CpuMeter

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FRAMEWORKS = ("juanji", "torch")
ENVIRONMENT = dict(os.environ)  # as started; handed to every worker unchanged


# ------------------------------------------------------------------------------------------ processes
def worker(framework, cases, args, mode=None, extra_env=None):
    """Run one worker process; its records (one dict per case), or one error record per case."""
    command = [sys.executable, "-m", "benchmarks.worker", framework, *cases, "--threads", str(args.threads),
               "--min-time", str(args.min_time), "--warmup", str(args.warmup)]
    if mode:
        command.append(f"--{mode}")
    else:
        command.append("--probe")
    env = dict(ENVIRONMENT, **(extra_env or {}))
    started = time.time()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return [{"case": c, "framework": framework, "error": f"timed out after {args.timeout} s"} for c in cases]
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for record in records:
        record["process_s"] = time.time() - started
        record["mode"] = mode or "time"
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["exit status %d" % done.returncode]
        seen = {r["case"] for r in records}
        records += [{"case": c, "framework": framework, "mode": mode or "time", "error": tail[0]}
                    for c in cases if c not in seen]
    return records


def wait_for_quiet(args, timed=True, max_wait=None):
    """Wait (1 s samples) until the machine's load from others is at most ``--max-load`` and, for
    timings, the two CPUs' cache-line round trip (``coreprobe``) at most ``--max-round-trip`` ns,
    or ``max_wait`` (default ``--wait``) seconds have passed; return the last round trip (None
    when not probed)."""
    deadline = time.time() + (args.wait if max_wait is None else max_wait)
    while True:
        with CpuMeter() as meter:
            time.sleep(1.0)
        round_trip = round_trip_ns() if timed else None
        quiet = meter.foreign_load is None or meter.foreign_load <= args.max_load
        close = round_trip is None or round_trip <= args.max_round_trip
        if (quiet and close) or time.time() >= deadline:
            return round_trip


def is_loaded(record, args):
    """Measured under foreign load, or with the two CPUs far apart (see ``coreprobe``)."""
    loaded = record.get("load") is not None and record["load"] > args.max_load
    apart = record.get("round_trip_ns") is not None and record["round_trip_ns"] > args.max_round_trip
    return loaded or apart


def measure(framework, cases, args, mode=None, extra_env=None, label=""):
    """Records for ``cases`` in one fresh process, each loaded one measured again (bounded).

    A case measured again runs in a new process after the first of ``cases`` (untimed: its
    record is dropped), so that it finds the process as warm as in the full run: torch's small
    convolutions, for one, run twice as fast in a process that has already run the 2048^3
    product which opens the convolution suite (15 against 30 ms for LeNet's conv1)."""
    timed = mode is None
    wait_for_quiet(args, timed)
    records = worker(framework, cases, args, mode, extra_env)
    final = []
    for record in records:
        attempts = [record]
        while is_loaded(attempts[-1], args) and len(attempts) <= args.retries:
            wait_for_quiet(args, timed, args.wait * 2)
            warm = [cases[0]] if cases[0] != record["case"] else []
            again = worker(framework, warm + [record["case"]], args, mode, extra_env)
            attempts += [r for r in again if r["case"] == record["case"]][-1:] or again[-1:]
        best = min(attempts, key=lambda r: (is_loaded(r, args), r.get("load") is None, r.get("load") or 0.0))
        best["attempts"] = len(attempts)
        best["loaded"] = is_loaded(best, args)
        best["label"] = label
        final.append(best)
        _print_record(best)
    return final


def _print_record(record):
    if "error" in record:
        print(f"  {record['framework']:6s} {record['case']:40s} ERROR {record['error']}", flush=True)
        return
    load = record.get("load")
    load_text = "  n/a" if load is None else f"{100 * load:4.0f}%"
    if record["mode"] == "time":
        value = f"{1e3 * record['median_s']:10.3f} ms"
    elif record["mode"] == "memory":
        value = f"{record['peak_rise_mib']:10.1f} MiB"
    else:
        value = f"{record['process_s']:10.2f} s"
    flag = " LOADED" if record.get("loaded") else ""
    trip = record.get("round_trip_ns")
    load_text += "" if trip is None else f"  trip {trip:5.0f} ns"
    print(f"  {record['framework']:6s} {record['case']:40s} {value}  load {load_text}"
          f"  (x{record.get('attempts', 1)}){flag}", flush=True)


# ------------------------------------------------------------------------------------------ phases
def timing_rounds(cases_by_suite, args, label="quiet"):
    records = []
    for round_index in range(args.rounds):
        for suite, names in cases_by_suite.items():
            order = FRAMEWORKS if round_index % 2 == 0 else FRAMEWORKS[::-1]
            for framework in order:
                print(f"[{label} round {round_index + 1}/{args.rounds}] {suite}: {framework}", flush=True)
                for record in measure(framework, names, args, label=label):
                    record["round"] = round_index
                    records.append(record)
    return records


def memory_phase(names, args):
    records = []
    for name in names:
        for framework in FRAMEWORKS:  # one case per process: nothing else in its memory
            records += measure(framework, [name], args, mode="memory", label="memory")
    return records


def cold_phase(names, args):
    """First call in a fresh process: juanji with an empty Numba cache ("cold"), and with the cache
    that install's ``python -m juanji.warmup`` leaves ("cold after install warm-up"; the warm-up
    itself is not timed); torch as it is in both."""
    records = []
    for label, warm in (("cold", False), ("cold after install warm-up", True)):
        for name in names:
            for framework in FRAMEWORKS:
                with tempfile.TemporaryDirectory(prefix="juanji-numba-cache-") as cache:
                    extra = {"NUMBA_CACHE_DIR": cache} if framework == "juanji" else {}
                    if warm and framework == "juanji":
                        subprocess.run([sys.executable, "-m", "juanji.warmup"], cwd=ROOT, env=dict(ENVIRONMENT, **extra),
                                       capture_output=True, timeout=args.timeout)
                    records += measure(framework, [name], args, mode="cold", extra_env=extra, label=label)
    return records


def under_load_phase(cases_by_suite, args):
    """The timing rounds again with a busy loop pinned to no core in particular (one core's worth)."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"], env=ENVIRONMENT)
    try:
        time.sleep(0.5)
        saved = args.max_load, args.retries, args.wait, args.max_round_trip
        # the load is the point here (and a busy core makes the round trip a matter of time slices)
        args.max_load, args.retries, args.wait, args.max_round_trip = 1.0, 0, 0, float("inf")
        try:
            return timing_rounds(cases_by_suite, args, label="busy core")
        finally:
            args.max_load, args.retries, args.wait, args.max_round_trip = saved
    finally:
        busy.kill()
        busy.wait()


# ------------------------------------------------------------------------------------------ results
def machine():
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            lines = cpuinfo.readlines()
        models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
        # juanji's 512-bit loops run where the CPU has AVX-512 (some of them, split in two, on AVX2)
        flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
        info["vectors"] = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
        with open("/proc/meminfo") as meminfo:
            info["memory_gib"] = round(int(meminfo.readline().split()[1]) / 2 ** 20, 1)
    except OSError:
        info["cpu"] = platform.processor()
    return info


def load_previous():
    path = RESULTS / "bench.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            pass
    return {"records": []}


def merge(previous, new_records):
    """Keep old records except those of a (label, case) measured again now."""
    measured = {(r.get("label"), r["case"]) for r in new_records}
    kept = [r for r in previous.get("records", []) if (r.get("label"), r["case"]) not in measured]
    return kept + new_records


def main(argv=None) -> None:
    from .cases import CASES, SUITES
    from .report import write_results
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", default="train,small,infer,conv,convfwd,ops",
                        help=f"comma-separated, of {','.join(SUITES)}")
    parser.add_argument("--cases", default="", help="only cases whose name contains this text")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-time", type=float, default=1.0, help="seconds of timed calls per process and case")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--max-load", type=float, default=0.10)
    parser.add_argument("--max-round-trip", type=float, default=250.0,
                        help="ns: a timing whose two-CPU cache-line round trip is longer counts as loaded")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for quiet before a process")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--memory", action="store_true", help="also the peak memory of the memory cases")
    parser.add_argument("--cold", action="store_true", help="also the cold start of LeNet and ResNet-20")
    parser.add_argument("--under-load", action="store_true", help="also LeNet/ResNet-20 with one core kept busy")
    parser.add_argument("--all", action="store_true", help="--memory --cold --under-load")
    parser.add_argument("--quick", action="store_true", help="1 round, 0.3 s per case: a smoke run")
    parser.add_argument("--readme", action="store_true", help="copy the table into README.md")
    args = parser.parse_args(argv)
    if args.all:
        args.memory = args.cold = args.under_load = True
    if args.quick:
        args.rounds, args.min_time, args.retries, args.wait = 1, 0.3, 0, 2.0

    suites = [s for s in args.suites.split(",") if s]
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suites {unknown}; known: {SUITES}")
    chosen = [c for c in CASES if c.suite in suites and args.cases in c.name]
    cases_by_suite = {s: [c.name for c in chosen if c.suite == s] for s in suites}
    cases_by_suite = {s: names for s, names in cases_by_suite.items() if names}

    started = time.time()
    print(f"measuring {len(chosen)} cases x {args.rounds} rounds; foreign load limit {args.max_load:.0%}, "
          f"cache-line round trip limit {args.max_round_trip:.0f} ns", flush=True)
    records = timing_rounds(cases_by_suite, args)
    if args.memory:
        records += memory_phase([c.name for c in chosen if c.memory], args)
    if args.cold:
        records += cold_phase(["train/lenet-b64", "train/resnet20-b128"], args)
    if args.under_load:
        busy_cases = {"train": [n for n in ("train/lenet-b256", "train/resnet20-b128")
                                if args.cases in n]}
        records += under_load_phase({k: v for k, v in busy_cases.items() if v}, args)

    previous = load_previous()
    payload = {"machine": machine(), "settings": {k: v for k, v in vars(args).items() if k != "readme"},
               "updated": time.strftime("%Y-%m-%d %H:%M:%S"), "records": merge(previous, records)}
    text = write_results(payload, readme=args.readme)
    print(text)
    print(f"took {(time.time() - started) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
