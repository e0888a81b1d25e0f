"""Loading a ResNet-50 state_dict (about 100 MB) from a ``torch.save`` file: ``juanji.load``
against ``torch.load(weights_only=True)``.

Each framework runs in its own fresh process per round, rounds interleaved (torch first in
odd rounds, juanji first in even ones); each process imports its framework, then times only
the load call (``perf_counter`` around it, with the foreign CPU load of that window from
``benchmarks/cpuload.py``) and touches every tensor's last element so that nothing is left
lazy. A round whose load was above 10 % foreign CPU is repeated (up to a limit). The file is
written once by torch in a setup process, and the page cache is warmed by one untimed read.

    python -m benchmarks.bench_load [--rounds 7] [--json out.json]

Prints the medians and the paired ratio juanji / torch (median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SETUP = """
import sys, torch
sys.path.insert(0, {root!r})
from tests.vision.test_models import RefBottleneck, RefResNet
torch.manual_seed(0)
torch.save(RefResNet(RefBottleneck, [3, 4, 6, 3]).state_dict(), {path!r})
"""

_TIMED = """
import sys, time, json
sys.path.insert(0, {root!r})
from benchmarks.cpuload import CpuMeter
{imports}
with CpuMeter() as meter:
    state = {load}
    checksum = sum(float({last}) for v in state.values())
print(json.dumps({{"seconds": meter.wall, "foreign_load": meter.foreign_load, "tensors": len(state)}}))
"""

FRAMEWORKS = {
    "torch": dict(imports="import torch", load="torch.load({path!r}, weights_only=True)",
                  last="v.reshape(-1)[-1] if v.numel() else 0"),
    "juanji": dict(imports="import juanji", load="juanji.load({path!r})",
                   last="v.reshape(-1)[-1] if v.numel() else 0"),
}


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(path: str, framework: str, retries: int = 3, max_load: float = 0.10) -> dict:
    spec = FRAMEWORKS[framework]
    code = _TIMED.format(root=ROOT, imports=spec["imports"], load=spec["load"].format(path=path), last=spec["last"])
    for _ in range(retries):
        result = _run(code)
        if result["foreign_load"] is None or result["foreign_load"] <= max_load:
            break
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "resnet50.pth")
        subprocess.run([sys.executable, "-c", _SETUP.format(root=ROOT, path=path)], check=True)
        size_mb = os.path.getsize(path) / 2**20
        with open(path, "rb") as f:  # warm the page cache: both read from memory
            while f.read(1 << 24):
                pass
        rounds = []
        for r in range(args.rounds):
            order = ("torch", "juanji") if r % 2 == 0 else ("juanji", "torch")
            rounds.append({name: measure(path, name) for name in order})
    torch_s = [r["torch"]["seconds"] for r in rounds]
    juanji_s = [r["juanji"]["seconds"] for r in rounds]
    ratios = [j / t for j, t in zip(juanji_s, torch_s)]
    loads = [r[n]["foreign_load"] for r in rounds for n in r if r[n]["foreign_load"] is not None]
    summary = {"file_mb": round(size_mb, 1), "tensors": rounds[0]["juanji"]["tensors"], "rounds": len(rounds),
               "torch_median_s": statistics.median(torch_s), "juanji_median_s": statistics.median(juanji_s),
               "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
               "foreign_load_max": max(loads) if loads else None,
               "foreign_load_median": statistics.median(loads) if loads else None, "per_round": rounds}
    print(f"resnet50 state_dict, {summary['file_mb']} MB, {summary['tensors']} tensors, {len(rounds)} rounds")
    print(f"torch.load  median {summary['torch_median_s'] * 1e3:.1f} ms")
    print(f"juanji.load median {summary['juanji_median_s'] * 1e3:.1f} ms")
    print(f"juanji / torch: median {summary['ratio_median']:.2f} (min {summary['ratio_min']:.2f}, "
          f"max {summary['ratio_max']:.2f}); foreign load median {summary['foreign_load_median']}, "
          f"max {summary['foreign_load_max']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=1)
    return summary


if __name__ == "__main__":
    main()
