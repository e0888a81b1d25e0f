"""Convolutions, juanji vs PyTorch, interleaved in one process.

Times ``F.conv2d`` / ``F.conv_transpose2d`` through the public API of both libraries on the
same float32 data, forward only (under no_grad) and forward + backward (gradients for input,
weight and bias), for the layers a CNN course meets: LeNet's two convolutions, ResNet-CIFAR
3x3 layers, a 1x1, a depthwise 3x3, a dilated 3x3, AlexNet's 11x11 stride-4 stem and a
stride-2 transposed convolution. Each repetition runs juanji then torch (see
``benchmarks/common.py``); the table gives medians and the juanji/torch ratio.

It also reports, for the large 3x3 layers, the achieved GFLOP/s against NumPy's own float32
matrix product measured in the same run (a 2048^3 product, and a product of the same shape
as the layer's im2col GEMM), and the peak memory of one ResNet-CIFAR layer's forward +
backward in juanji and in torch.

    python -m benchmarks.bench_conv [--repeats 10] [--quick] [--no-memory]

Writes ``benchmarks/results/conv.json`` and ``benchmarks/results/conv.md``.

Threads: torch and NumPy's OpenBLAS use every core by default; so do juanji's Numba loops.
Torch ships the OpenMP runtime (libgomp) whose idle workers busy-wait after each parallel
region. ``import juanji`` asks OpenMP for passive waiting (OMP_WAIT_POLICY=PASSIVE), which
would slow torch down if torch loaded libgomp after that, so torch is imported first here
and runs as it does by default. Numba's OpenMP layer would then share torch's (busy-waiting)
runtime, so, unless told otherwise (``NUMBA_THREADING_LAYER`` in the environment), this
benchmark runs Numba's own ``workqueue`` pool, whose idle workers sleep, as juanji's OpenMP
workers do in a process without torch. It also sleeps ``--pause`` seconds before each timed
call so that the previous call's workers are idle.
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")  # before Numba is imported (see above)

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402,F401  (before juanji: torch keeps its default OpenMP settings, see above)

import juanji  # noqa: E402
import juanji.nn.functional as F  # noqa: E402

from .common import geometric_mean, interleaved, peak_memory, traced_peak, write_report

# name, input shape, weight shape, keyword arguments, transposed, "large 3x3" (GFLOP/s reported)
CASES = [
    ("LeNet conv1 1->6 5x5 pad 2, 28x28", (256, 1, 28, 28), (6, 1, 5, 5), dict(padding=2), False, False),
    ("LeNet conv2 6->16 5x5, 14x14", (256, 6, 14, 14), (16, 6, 5, 5), {}, False, False),
    ("ResNet 64->64 3x3, 32x32", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), False, True),
    ("ResNet 128->128 3x3, 16x16", (64, 128, 16, 16), (128, 128, 3, 3), dict(padding=1), False, True),
    ("ResNet 64->128 3x3 stride 2, 32x32", (64, 64, 32, 32), (128, 64, 3, 3), dict(padding=1, stride=2), False, True),
    ("1x1 64->128, 32x32", (64, 64, 32, 32), (128, 64, 1, 1), {}, False, False),
    ("depthwise 3x3 64ch, 32x32", (64, 64, 32, 32), (64, 1, 3, 3), dict(padding=1, groups=64), False, False),
    ("dilated 3x3 64->64 dil 2, 32x32", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=2, dilation=2), False, True),
    ("AlexNet stem 3->64 11x11 stride 4, 224x224", (16, 3, 224, 224), (64, 3, 11, 11), dict(stride=4, padding=2),
     False, False),
    ("ConvTranspose 64->32 4x4 stride 2, 16x16", (64, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1),
     True, False),
]


def _functions(torch, transposed):
    if transposed:
        return F.conv_transpose2d, torch.nn.functional.conv_transpose2d
    return F.conv2d, torch.nn.functional.conv2d


def _inputs(x_shape, w_shape, transposed):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    out_channels = w_shape[1] if transposed else w_shape[0]
    b = rng.standard_normal(out_channels).astype(np.float32)
    return x, w, b


def _calls(torch, x_shape, w_shape, kwargs, transposed):
    """(juanji forward, torch forward, juanji fwd+bwd, torch fwd+bwd, output shape)."""
    j_fn, t_fn = _functions(torch, transposed)
    x, w, b = _inputs(x_shape, w_shape, transposed)
    jx, jw, jb = (juanji.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    with juanji.no_grad():
        out_shape = tuple(j_fn(jx, jw, jb, **kwargs).shape)
    g = np.random.default_rng(1).standard_normal(out_shape).astype(np.float32)
    jg, tg = juanji.tensor(g), torch.tensor(g)

    def j_forward():
        with juanji.no_grad():
            j_fn(jx, jw, jb, **kwargs)

    def t_forward():
        with torch.no_grad():
            t_fn(tx, tw, tb, **kwargs)

    def j_train():
        jx.grad = jw.grad = jb.grad = None
        j_fn(jx, jw, jb, **kwargs).backward(jg)

    def t_train():
        tx.grad = tw.grad = tb.grad = None
        t_fn(tx, tw, tb, **kwargs).backward(tg)

    return j_forward, t_forward, j_train, t_train, out_shape


def _forward_flops(out_shape, w_shape, transposed):
    """2 * multiply-adds of the forward pass (the backward pass costs twice this)."""
    n = out_shape[0]
    if transposed:  # every input position meets every weight entry of its group once
        return None
    return 2.0 * np.prod(out_shape) * np.prod(w_shape[1:]) * (1 if n else 0)


def _matmul_gflops(m, k, n, repeats):
    """NumPy float32 ``(m, k) @ (k, n)`` GFLOP/s, median of ``repeats``."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2.0 * m * k * n / np.median(times) / 1e9


# -- memory: module-level so a child process can build them ----------------------------------

MEMORY_CASE = CASES[2]  # ResNet 64->64 3x3 at 32x32, batch 64


def memory_juanji():
    import torch
    return _calls(torch, *MEMORY_CASE[1:5])[2]


def memory_torch():
    import torch
    return _calls(torch, *MEMORY_CASE[1:5])[3]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 repeats, no memory measurement")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds of sleep before each timed call")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats

    import numba
    import torch

    square_gflops = _matmul_gflops(2048, 2048, 2048, repeats)
    rows = []
    for name, x_shape, w_shape, kwargs, transposed, large in CASES:
        if args.only not in name:
            continue
        j_fwd, t_fwd, j_train, t_train, out_shape = _calls(torch, x_shape, w_shape, kwargs, transposed)
        jf, tf = interleaved(j_fwd, t_fwd, repeats, pause=args.pause)
        jt, tt = interleaved(j_train, t_train, repeats, pause=args.pause)
        row = {"case": name, "batch": x_shape[0], "fwd_juanji_ms": jf * 1e3, "fwd_torch_ms": tf * 1e3,
               "fwd_ratio": jf / tf, "train_juanji_ms": jt * 1e3, "train_torch_ms": tt * 1e3,
               "train_ratio": jt / tt}
        flops = _forward_flops(out_shape, w_shape, transposed)
        if large and flops:
            rows_gemm = out_shape[0] * int(np.prod(out_shape[2:]))
            gemm_gflops = _matmul_gflops(rows_gemm, int(np.prod(w_shape[1:])), w_shape[0], repeats)
            row.update(fwd_gflops=flops / jf / 1e9, train_gflops=3 * flops / jt / 1e9,
                       torch_fwd_gflops=flops / tf / 1e9, same_shape_matmul_gflops=gemm_gflops,
                       fwd_pct_of_square_matmul=100 * flops / jf / 1e9 / square_gflops,
                       fwd_pct_of_same_shape_matmul=100 * flops / jf / 1e9 / gemm_gflops)
        rows.append(row)
        print(f"{name:45s} fwd {jf * 1e3:8.2f} ms vs {tf * 1e3:8.2f} (x{jf / tf:.2f})   "
              f"fwd+bwd {jt * 1e3:8.2f} ms vs {tt * 1e3:8.2f} (x{jt / tt:.2f})", flush=True)

    summary = {
        "geomean fwd ratio (juanji/torch)": geometric_mean(r["fwd_ratio"] for r in rows),
        "geomean fwd+bwd ratio (juanji/torch)": geometric_mean(r["train_ratio"] for r in rows),
        "worst fwd+bwd ratio": max(r["train_ratio"] for r in rows),
        "numpy float32 matmul 2048^3 GFLOP/s": square_gflops,
        "numba threads": numba.get_num_threads(),
        "torch threads": torch.get_num_threads(),
    }
    if not (args.quick or args.no_memory):
        j_peak, t_peak = peak_memory(memory_juanji), peak_memory(memory_torch)
        summary["ResNet 64->64 fwd+bwd peak memory rise, juanji MiB"] = j_peak / 2 ** 20
        summary["ResNet 64->64 fwd+bwd peak memory rise, torch MiB"] = t_peak / 2 ** 20
        summary["ResNet 64->64 fwd+bwd traced NumPy peak, juanji MiB"] = traced_peak(memory_juanji()) / 2 ** 20

    columns = [("case", "case", "s"), ("batch", "N", "d"),
               ("fwd_juanji_ms", "fwd juanji ms", ".2f"), ("fwd_torch_ms", "fwd torch ms", ".2f"),
               ("fwd_ratio", "fwd ratio", ".2f"),
               ("train_juanji_ms", "fwd+bwd juanji ms", ".2f"), ("train_torch_ms", "fwd+bwd torch ms", ".2f"),
               ("train_ratio", "fwd+bwd ratio", ".2f"),
               ("fwd_gflops", "juanji fwd GFLOP/s", ".0f"), ("torch_fwd_gflops", "torch fwd GFLOP/s", ".0f"),
               ("same_shape_matmul_gflops", "same-shape matmul GFLOP/s", ".0f"),
               ("fwd_pct_of_square_matmul", "% of 2048^3 matmul", ".0f")]
    notes = ["ratio = juanji time / torch time (lower is better); medians of interleaved repetitions",
             "fwd: forward under no_grad; fwd+bwd: forward + backward w.r.t. input, weight and bias",
             "GFLOP/s counts 2 x multiply-adds of the forward pass",
             "peak memory: rise of resident memory (VmHWM) during the second forward+backward, in a fresh process",
             "torch is imported before juanji, so torch's OpenMP keeps its default (busy-wait) policy even "
             "where OMP_WAIT_POLICY=PASSIVE shows below (juanji sets it at import); Numba runs the "
             f"{numba.config.THREADING_LAYER!r} threading layer; {args.pause} s pause before each timed call"]
    text = write_report("conv", rows, columns, summary, notes, title="Convolution: juanji vs PyTorch (float32, CPU)")
    print(text)


if __name__ == "__main__":
    main()
