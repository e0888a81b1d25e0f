"""Data-parallel scaling on this machine: ``python -m benchmarks.bench_distributed [--rounds 3]``.

Each measurement is a fresh ``mpiexec -n K`` job (``bench_distributed_worker.py``); the
configurations are interleaved round by round and each figure is the median over rounds.

- training images/s, LeNet-5 (global batch 256) and ResNet-20 (global batch 128): 1 rank x 2
  threads against 2 ranks x 1 thread (the same 2 cores, used by threads or by processes);
- all_reduce bus bandwidth, 1 KB to 64 MB, 2 ranks: juanji.distributed against a plain
  mpi4py loop on the same MPI;
- the share of backward time communication adds, with bucket overlap and with one bucket.

Writes ``benchmarks/results/distributed.json`` (every record) and ``distributed.md``. Run it
on a quiet machine (``touch /work/QUIET`` style etiquette is the operator's): every record
carries the foreign CPU load, and the Markdown shows it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def mpiexec() -> str:
    here = pathlib.Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit("bench_distributed: no mpiexec (pip install 'juanji[distributed]')")
    return found


def job(ranks: int, *args) -> list:
    command = [mpiexec(), "-n", str(ranks), sys.executable, "-m", "benchmarks.bench_distributed_worker", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=str(ROOT), timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"bench_distributed: {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _median(records, key):
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def _group(records, *keys):
    groups = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return groups


def markdown(records) -> str:
    lines = ["# Data-parallel scaling (juanji.distributed on MPICH, this 2-core machine)", "",
             "Medians over rounds; `load` is the foreign CPU load (share of the machine busy with other work).", "",
             "## Training throughput: 1 rank x 2 threads vs 2 ranks x 1 thread", "",
             "| model | global batch | ranks x threads | images/s | s/step | load |", "|---|---|---|---|---|---|"]
    train = _group([r for r in records if r["kind"] == "train"], "model", "batch", "ranks", "threads")
    for (model, batch, ranks, threads), rs in sorted(train.items()):
        lines.append(f"| {model} | {batch} | {ranks} x {threads} | {_median(rs, 'images_per_s'):.0f} | "
                     f"{_median(rs, 'seconds_per_step'):.4f} | {_median(rs, 'foreign_load'):.2f} |")
    for model in sorted({k[0] for k in train}):
        one = [rs for k, rs in train.items() if k[0] == model and k[2] == 1]
        two = [rs for k, rs in train.items() if k[0] == model and k[2] == 2]
        if one and two:
            ratio = _median(two[0], "images_per_s") / _median(one[0], "images_per_s")
            lines.append(f"\n{model}: 2 ranks x 1 thread / 1 rank x 2 threads = **{ratio:.2f}x**")
    lines += ["", "## all_reduce bus bandwidth, 2 ranks (float32, in place)", "",
              "| bytes | juanji GB/s | mpi4py GB/s | juanji / mpi4py | juanji us | load |", "|---|---|---|---|---|---|"]
    ar = _group([r for r in records if r["kind"] == "allreduce"], "bytes", "via")
    for size in sorted({k[0] for k in ar}):
        j, m = ar.get((size, "juanji"), []), ar.get((size, "mpi4py"), [])
        if j and m:
            bj, bm = _median(j, "bus_gb_per_s"), _median(m, "bus_gb_per_s")
            lines.append(f"| {size:,} | {bj:.3f} | {bm:.3f} | {bj / bm:.2f} | {_median(j, 'seconds') * 1e6:.0f} | "
                         f"{_median(j, 'foreign_load'):.2f} |")
    lines += ["", "## Communication share of backward, 2 ranks x 1 thread", "",
              "| model | batch | buckets | backward s | local backward s | comm share | load |",
              "|---|---|---|---|---|---|---|"]
    ov = _group([r for r in records if r["kind"] == "overlap"], "model", "batch", "mode")
    for (model, batch, mode), rs in sorted(ov.items()):
        lines.append(f"| {model} | {batch} | {rs[0]['buckets']} ({mode}) | {_median(rs, 'backward_s'):.4f} | "
                     f"{_median(rs, 'local_backward_s'):.4f} | {_median(rs, 'comm_share'):.1%} | "
                     f"{_median(rs, 'foreign_load'):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", default="train,allreduce,overlap")
    args = parser.parse_args(argv)
    parts = args.parts.split(",")
    records = []
    for round_ in range(args.rounds):
        configs = []
        if "train" in parts:
            for model, batch, steps in (("lenet5", 256, 10), ("resnet20", 128, 4)):
                configs += [(1, "train", model, batch, steps, 2), (2, "train", model, batch, steps, 1)]
        if "allreduce" in parts:
            configs.append((2, "allreduce", 1))
        if "overlap" in parts:
            configs += [(2, "overlap", "lenet5", 256, 8, 1), (2, "overlap", "resnet20", 128, 3, 1)]
        if round_ % 2:
            configs.reverse()
        for ranks, *rest in configs:
            got = job(ranks, *rest)
            for r in got:
                r["round"] = round_
            records += got
            print(json.dumps(got[:1])[:200], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(records, indent=1))
    (RESULTS / "distributed.md").write_text(markdown(records))
    print(markdown(records))


if __name__ == "__main__":
    main()
