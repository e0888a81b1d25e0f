"""Linear, Bilinear and Embedding, juanji vs PyTorch, interleaved in one process.

Times, through the public Module API of both libraries on the same float32 data and weights:

- ``nn.Linear`` forward (no graph) and forward + backward (gradients for input, weight, bias)
  for MLP-sized layers and a 3-D (sequence) input;
- ``nn.Bilinear`` and ``nn.Embedding`` (the scatter-add backward) forward + backward;
- a tiny ``Linear(8, 8)`` call, which measures per-call overhead (Module.__call__, F.linear's
  checks, the Op) rather than arithmetic.

    python -m benchmarks.bench_linear [--repeats 15] [--quick]

On a shared machine under load, multi-threaded BLAS in both libraries stalls on busy cores and the
timings become noise; compare single-threaded instead:

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python -m benchmarks.bench_linear

Writes ``benchmarks/results/linear.json`` and ``benchmarks/results/linear.md`` and prints the table.
"""

from __future__ import annotations

import argparse

import numpy as np

import juanji
import juanji.nn as nn

from .common import geometric_mean, interleaved, write_report


def _pair(make_juanji, make_torch, torch):
    """The same module in both libraries, juanji's weights copied from torch's."""
    t_module = make_torch(torch.nn)
    j_module = make_juanji(nn)
    j_module.load_state_dict({k: juanji.tensor(v.detach().numpy().copy()) for k, v in t_module.state_dict().items()})
    return j_module, t_module


def _float_inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _cases(torch, quick):
    """(name, juanji module, torch module, list of input arrays, whether inputs are float)."""
    cases = [
        ("Linear 784->256, batch 128", lambda m: m.Linear(784, 256), [(128, 784)], True),
        ("Linear 256->256, batch 128", lambda m: m.Linear(256, 256), [(128, 256)], True),
        ("Linear 256->10, batch 128", lambda m: m.Linear(256, 10), [(128, 256)], True),
        ("Linear 512->512, input 32x50x512", lambda m: m.Linear(512, 512), [(32, 50, 512)], True),
        ("Linear 8->8, batch 1 (overhead)", lambda m: m.Linear(8, 8), [(1, 8)], True),
        ("Bilinear 64x64->32, batch 128", lambda m: m.Bilinear(64, 64, 32), [(128, 64), (128, 64)], True),
        ("Embedding 10000x128, ids 32x50", lambda m: m.Embedding(10000, 128), [(32, 50)], False),
    ]
    if quick:
        cases = cases[:2] + cases[4:5]
    out = []
    for name, build, shapes, floats in cases:
        j_module, t_module = _pair(build, build, torch)
        if floats:
            arrays = _float_inputs(shapes)
        else:
            arrays = [np.random.default_rng(0).integers(0, 10000, size=shapes[0])]
        out.append((name, j_module, t_module, arrays, floats))
    return out


def _timers(lib, module, arrays, floats):
    """(forward without graph, forward + backward) callables for one library."""
    inputs = [lib.tensor(a) for a in arrays]
    grad_inputs = [lib.tensor(a, requires_grad=floats) for a in arrays]
    with lib.no_grad():
        out = module(*inputs)
    upstream = lib.tensor(np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32))

    def forward():
        with lib.no_grad():
            module(*inputs)

    def forward_backward():
        module.zero_grad()
        for t in grad_inputs:
            t.grad = None
        module(*grad_inputs).backward(upstream)

    return forward, forward_backward


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="three cases, few repeats (a smoke run)")
    args = parser.parse_args(argv)
    import torch
    repeats = 3 if args.quick else args.repeats
    rows = []
    for name, j_module, t_module, arrays, floats in _cases(torch, args.quick):
        j_fwd, j_fb = _timers(juanji, j_module, arrays, floats)
        t_fwd, t_fb = _timers(torch, t_module, arrays, floats)
        for part, j_call, t_call in (("forward", j_fwd, t_fwd), ("fwd+bwd", j_fb, t_fb)):
            j, t = interleaved(j_call, t_call, repeats=repeats)
            rows.append({"case": name, "part": part, "juanji_ms": j * 1e3, "torch_ms": t * 1e3, "ratio": j / t})
            print(f"{name:36s} {part:8s} juanji {j * 1e3:8.3f} ms  torch {t * 1e3:8.3f} ms  ratio {j / t:5.2f}")
    arithmetic = [r["ratio"] for r in rows if "overhead" not in r["case"]]
    summary = {"geometric mean juanji/torch (excluding the overhead case)": geometric_mean(arithmetic)}
    columns = [("case", "case", "s"), ("part", "part", "s"), ("juanji_ms", "juanji ms", ".3f"),
               ("torch_ms", "torch ms", ".3f"), ("ratio", "juanji/torch", ".2f")]
    notes = [f"float32, medians of {repeats} interleaved repetitions (juanji, torch, juanji, ...) after 2 warm-ups",
             "fwd+bwd: zero_grad, forward with grad-requiring float inputs, backward of a fixed random upstream "
             "gradient (gradients for every input, weight and bias)",
             "juanji: one Op per layer (one GEMM per direction, bias added in place); Embedding backward is a "
             "Numba scatter-add"]
    text = write_report("linear", rows, columns, summary, notes,
                        title="Linear / Bilinear / Embedding: juanji vs PyTorch")
    print()
    print(text)


if __name__ == "__main__":
    main()
