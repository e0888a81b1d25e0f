"""LeNet-5 (ReLU, max pooling) on the full Fashion-MNIST: juanji and PyTorch, each in its own process.

    python -m benchmarks.train_lenet_fashion [--epochs 10] [--data-root ../shared/data]

Slow (about a minute per epoch and framework on 2 cores); not part of the test run. The
recipe is ``juanji train --model lenet5 --data fashion-mnist --scheduler cosine``: 60,000 training
images normalised with their mean and standard deviation, shuffled every epoch (one NumPy
permutation per epoch from the seed, the same order for both), batch 64, SGD lr 0.05 with
momentum 0.9 annealed to 0 by a cosine schedule stepped every batch, cross-entropy; the
10,000 test images are measured after every epoch. Both start from the same weights
(``benchmarks.models.init_weights``), so the two curves differ only by rounding as it compounds.

Each framework trains in its own fresh process (this script imports neither; the environment
is handed on unchanged, 2 threads each); each epoch's time carries the foreign CPU load
measured over it (``benchmarks/cpuload.py``). The two runs are sequential, not interleaved, so
compare epoch times only where both loads are low. Writes
benchmarks/results/train_lenet_fashion.{json,md,png}.

Targets from issue 1: juanji >= 89 % test accuracy within 10 epochs, and within 1 point of torch.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import pathlib
import statistics
import subprocess
import sys

import numpy as np

from .cpuload import CpuMeter

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent


def read_idx(path: pathlib.Path) -> np.ndarray:
    """An IDX file (gzip): big-endian header of dimension sizes, then uint8 values."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root: pathlib.Path):
    folder = root / "fashion-mnist"
    train_x = read_idx(folder / "train-images-idx3-ubyte.gz").astype(np.float32) / 255
    test_x = read_idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    mean, std = train_x.mean(), train_x.std()
    return (((train_x - mean) / std)[:, None], read_idx(folder / "train-labels-idx1-ubyte.gz").astype(np.int64),
            ((test_x - mean) / std)[:, None], read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64))


def train(framework: str, args) -> None:
    """The child: train in ``framework`` and print one JSON line per epoch."""
    if framework == "torch":
        import torch
    else:
        import juanji as torch
    from .models import build, init_weights
    torch.set_num_threads(args.threads)
    train_x, train_y, test_x, test_y = load(pathlib.Path(args.data_root))
    if args.train_samples:
        train_x, train_y = train_x[:args.train_samples], train_y[:args.train_samples]
    torch.manual_seed(args.seed)
    model = build(torch, "lenet")
    init_weights(torch, model, args.seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    steps_per_epoch = len(train_x) // args.batch_size
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    F = torch.nn.functional
    rng = np.random.default_rng(args.seed)
    tx, ty = torch.tensor(test_x), torch.tensor(test_y)
    for epoch in range(args.epochs):
        order = rng.permutation(len(train_x))
        model.train()
        with CpuMeter() as meter:
            for i in range(steps_per_epoch):
                index = order[i * args.batch_size:(i + 1) * args.batch_size]
                x, y = torch.tensor(train_x[index]), torch.tensor(train_y[index])
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                schedule.step()
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(tx[i:i + 1000]) for i in range(0, len(test_x), 1000)])
            test_loss = float(F.cross_entropy(logits, ty))
            accuracy = float((logits.argmax(1) == ty).float().mean())
        print(json.dumps({"framework": framework, "epoch": epoch + 1, "seconds": meter.wall, "load": meter.foreign_load,
                          "accuracy": 100 * accuracy, "test_loss": test_loss}), flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--train-samples", type=int, default=None, help="a subset, for a quick check")
    parser.add_argument("--framework", choices=["juanji", "torch"], help=argparse.SUPPRESS)  # the child
    args = parser.parse_args(argv)
    if args.framework:
        train(args.framework, args)
        return

    child_args = [a for a in (argv if argv is not None else sys.argv[1:])]
    rows = {}
    for framework in ("juanji", "torch"):
        done = subprocess.run([sys.executable, "-m", "benchmarks.train_lenet_fashion", *child_args,
                               "--framework", framework], cwd=ROOT, env=dict(os.environ), capture_output=True,
                              text=True)
        if done.returncode:
            raise SystemExit(f"{framework} run failed: {done.stderr.strip().splitlines()[-1:]}")
        rows[framework] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        for r in rows[framework]:
            load = "n/a" if r["load"] is None else f"{100 * r['load']:.0f} %"
            print(f"{framework:6s} epoch {r['epoch']:2d}: test accuracy {r['accuracy']:.2f} %, {r['seconds']:.1f} s "
                  f"(foreign load {load})", flush=True)
    table = []
    for j, t in zip(rows["juanji"], rows["torch"]):
        table.append({"epoch": j["epoch"], "juanji_accuracy": j["accuracy"], "torch_accuracy": t["accuracy"],
                      "juanji_s": j["seconds"], "torch_s": t["seconds"], "juanji_load": j["load"],
                      "torch_load": t["load"]})
    summary = {"juanji final test accuracy %": table[-1]["juanji_accuracy"],
               "torch final test accuracy %": table[-1]["torch_accuracy"],
               "first epoch where juanji >= 89 %": next((r["epoch"] for r in table if r["juanji_accuracy"] >= 89),
                                                        "never"),
               "median s/epoch juanji": statistics.median(r["juanji_s"] for r in table),
               "median s/epoch torch": statistics.median(r["torch_s"] for r in table),
               "highest foreign load": max((r[k] or 0) for r in table for k in ("juanji_load", "torch_load"))}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_lenet_fashion.json").write_text(json.dumps({"rows": table, "summary": summary}, indent=1))
    lines = ["# LeNet-5 on Fashion-MNIST: juanji vs PyTorch (each in its own process)", "",
             "| epoch | juanji acc % | torch acc % | juanji s | torch s | juanji load % | torch load % |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in table:
        lines.append(f"| {r['epoch']} | {r['juanji_accuracy']:.2f} | {r['torch_accuracy']:.2f} | {r['juanji_s']:.1f} | "
                     f"{r['torch_s']:.1f} | {100 * (r['juanji_load'] or 0):.0f} | {100 * (r['torch_load'] or 0):.0f} |")
    lines += [""] + [f"- {k}: {v:.3g}" if isinstance(v, float) else f"- {k}: {v}" for k, v in summary.items()]
    (RESULTS / "train_lenet_fashion.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _plot(table)


def _plot(rows) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    epochs = [r["epoch"] for r in rows]
    axes.plot(epochs, [r["juanji_accuracy"] for r in rows], "o-", label="juanji")
    axes.plot(epochs, [r["torch_accuracy"] for r in rows], "s--", label="torch")
    axes.axhline(89, color="grey", linewidth=0.8, linestyle=":")
    axes.set(xlabel="epoch", ylabel="test accuracy (%)", title="LeNet-5 on Fashion-MNIST")
    axes.legend()
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    (RESULTS / "train_lenet_fashion.png").write_bytes(buffer.getvalue())


if __name__ == "__main__":
    main()
