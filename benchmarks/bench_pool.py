"""Max and average pooling, juanji vs PyTorch, interleaved in one process.

For typical CNN feature maps this times ``F.max_pool2d`` / ``F.avg_pool2d`` with 2x2 and 3x3
windows at stride 2, forward only (no graph) and forward + backward, through the public API
of both libraries on the same float32 data. Each repetition runs juanji then torch, so both
see the same machine state; the report gives medians and the juanji/torch ratio.

    python -m benchmarks.bench_pool [--repeats 15] [--quick]

Writes ``benchmarks/results/pool.json`` and ``benchmarks/results/pool.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import time

import numpy as np

import juanji
import juanji.nn.functional as F

SHAPES = [(256, 6, 28, 28), (64, 64, 32, 32), (16, 64, 55, 55)]
WINDOWS = [(2, 2), (3, 2)]  # (kernel, stride)
RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def _interleaved(juanji_call, torch_call, repeats: int, warmup: int = 2):
    """Median seconds of each call, alternating juanji and torch every repetition."""
    for _ in range(warmup):
        juanji_call()
        torch_call()
    j_times, t_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        juanji_call()
        j_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_call()
        t_times.append(time.perf_counter() - start)
    return statistics.median(j_times), statistics.median(t_times)


def _cases(torch, shape, kernel, stride):
    """(op name, juanji forward, torch forward, juanji fwd+bwd, torch fwd+bwd) for one shape."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    jx, tx = juanji.tensor(x), torch.tensor(x)
    jx_grad = juanji.tensor(x, requires_grad=True)
    tx_grad = torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(jx, kernel, stride).shape
    g = np.random.default_rng(1).standard_normal(tuple(out)).astype(np.float32)
    jg, tg = juanji.tensor(g), torch.tensor(g)
    cases = []
    for name, j_fn, t_fn in [("max_pool2d", F.max_pool2d, torch.nn.functional.max_pool2d),
                             ("avg_pool2d", F.avg_pool2d, torch.nn.functional.avg_pool2d)]:
        def j_forward(j_fn=j_fn):
            with juanji.no_grad():
                j_fn(jx, kernel, stride)

        def t_forward(t_fn=t_fn):
            with torch.no_grad():
                t_fn(tx, kernel, stride)

        def j_train(j_fn=j_fn):
            jx_grad.grad = None
            j_fn(jx_grad, kernel, stride).backward(jg)

        def t_train(t_fn=t_fn):
            tx_grad.grad = None
            t_fn(tx_grad, kernel, stride).backward(tg)

        cases.append((name, j_forward, t_forward, j_train, t_train))
    return cases


def run(repeats: int = 15, quick: bool = False) -> list:
    import torch
    shapes = SHAPES[:1] if quick else SHAPES
    rows = []
    for shape in shapes:
        for kernel, stride in WINDOWS:
            for name, j_fwd, t_fwd, j_train, t_train in _cases(torch, shape, kernel, stride):
                for phase, j_call, t_call in [("forward", j_fwd, t_fwd),
                                              ("forward+backward", j_train, t_train)]:
                    j_s, t_s = _interleaved(j_call, t_call, repeats)
                    rows.append({"op": name, "shape": list(shape), "kernel": kernel,
                                 "stride": stride, "phase": phase, "juanji_ms": j_s * 1e3,
                                 "torch_ms": t_s * 1e3, "ratio": j_s / t_s})
    return rows


def markdown(rows) -> str:
    lines = ["| op | input | kernel/stride | phase | juanji ms | torch ms | juanji/torch |",
             "|---|---|---|---|---:|---:|---:|"]
    for r in rows:
        shape = "x".join(str(v) for v in r["shape"])
        lines.append(f"| {r['op']} | {shape} | {r['kernel']}/{r['stride']} | {r['phase']} | "
                     f"{r['juanji_ms']:.2f} | {r['torch_ms']:.2f} | {r['ratio']:.2f} |")
    ratios = [r["ratio"] for r in rows]
    lines.append("")
    lines.append(f"median ratio {statistics.median(ratios):.2f}, worst {max(ratios):.2f} "
                 f"({len(rows)} cases)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="only the first shape")
    args = parser.parse_args(argv)
    import torch
    rows = run(args.repeats, args.quick)
    table = markdown(rows)
    RESULTS.mkdir(exist_ok=True)
    meta = {"machine": platform.machine(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "repeats": args.repeats}
    (RESULTS / "pool.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (RESULTS / "pool.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
