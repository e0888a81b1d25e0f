"""The core Tensor engine, juanji vs PyTorch, interleaved in one process.

Three groups, all float32:

- *overhead*: one small op (16 x 16) at a time, so the time is the Python/dispatch cost per op
  (Tensor creation, type promotion, recording the graph);
- *compute*: the same ops on 512 x 512 tensors, where NumPy's kernels dominate;
- *training*: one MLP training step (forward, cross-entropy, backward, SGD update), written
  once with core ops only (matmul, relu, logsumexp, a hand SGD step under no_grad) and once
  with nn.Linear / nn.CrossEntropyLoss / optim.SGD when those are importable.

Each repetition runs juanji then torch; the report gives medians and juanji/torch ratios.

    python -m benchmarks.bench_core [--repeats 200] [--quick] [--threads N]

``--threads 1`` pins torch to one thread; set ``OPENBLAS_NUM_THREADS=1`` (or ``OMP_NUM_THREADS``)
in the environment to do the same for NumPy's BLAS. On a small shared machine this is the fair
setting: a multi-threaded torch pool spinning against other processes measures contention.

Writes ``benchmarks/results/core.json`` and ``benchmarks/results/core.md`` and prints the table.
"""

from __future__ import annotations

import argparse

import numpy as np

import juanji

from .common import geometric_mean, interleaved, write_report


def _leaves(lib, arrays, requires_grad):
    return [lib.tensor(a, requires_grad=requires_grad) for a in arrays]


def _op_cases(torch, n):
    """(name, juanji call, torch call) for single ops on n x n inputs."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    cases = []
    for grad in (False, True):
        ja, jb = _leaves(juanji, [a, b], grad)
        ta, tb = _leaves(torch, [a, b], grad)
        suffix = " (grad)" if grad else ""
        ops = [
            ("a + b", lambda x, y: x + y),
            ("a * 2.0", lambda x, y: x * 2.0),
            ("a @ b", lambda x, y: x @ y),
            ("a.sum()", lambda x, y: x.sum()),
            ("a.sum(1)", lambda x, y: x.sum(1)),
            ("a.relu()", lambda x, y: x.relu()),
            ("a.exp()", lambda x, y: x.exp()),
            ("a.reshape(-1)", lambda x, y: x.reshape(-1)),
            ("a[1:3]", lambda x, y: x[1:3]),
            ("a.t()", lambda x, y: x.t()),
        ]
        for name, fn in ops:
            cases.append((name + suffix, lambda fn=fn, x=ja, y=jb: fn(x, y), lambda fn=fn, x=ta, y=tb: fn(x, y)))
    ja, jb = _leaves(juanji, [a, b], True)
    ta, tb = _leaves(torch, [a, b], True)

    def j_backward():
        ja.grad = jb.grad = None
        ((ja * jb).relu() @ jb).sum().backward()

    def t_backward():
        ta.grad = tb.grad = None
        ((ta * tb).relu() @ tb).sum().backward()

    cases.append(("((a*b).relu() @ b).sum().backward()", j_backward, t_backward))
    return cases


def _core_mlp_step(lib, sizes, x, y, lr=0.01):
    """An MLP training step from core ops only: returns a callable doing one step."""
    rng = np.random.default_rng(1)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32)
        params += [lib.tensor(w, requires_grad=True), lib.zeros(fan_out, requires_grad=True)]
    X, Y = lib.tensor(x), lib.tensor(y)
    rows = lib.arange(len(y))

    def step():
        h = X
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if k + 2 < len(params):
                h = h.relu()
        loss = (h.logsumexp(1) - h[rows, Y]).mean()  # cross-entropy
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss

    return step


def _nn_mlp_step(lib, sizes, x, y):
    lib.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [lib.nn.Linear(fan_in, fan_out), lib.nn.ReLU()]
    model = lib.nn.Sequential(*layers[:-1])
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    criterion = lib.nn.CrossEntropyLoss()
    X, Y = lib.tensor(x), lib.tensor(y)

    def step():
        optimizer.zero_grad()
        loss = criterion(model(X), Y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def _training_cases(torch):
    cases = []
    for sizes, batch in (([784, 256, 10], 64), ([20, 64, 64, 3], 32), ([784, 512, 512, 10], 128)):
        rng = np.random.default_rng(2)
        x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
        y = rng.integers(0, sizes[-1], batch)
        label = f"MLP {'-'.join(map(str, sizes))}, batch {batch}"
        cases.append((f"{label}: core ops", _core_mlp_step(juanji, sizes, x, y), _core_mlp_step(torch, sizes, x, y)))
        try:
            cases.append((f"{label}: nn + optim", _nn_mlp_step(juanji, sizes, x, y), _nn_mlp_step(torch, sizes, x, y)))
        except (ImportError, AttributeError) as e:  # nn or optim not there yet
            print(f"skipping the nn version: {e}")
    return cases


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    args = parser.parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 20 if args.quick else args.repeats
    groups = [("overhead (16x16)", _op_cases(torch, 16), repeats),
              ("compute (512x512)", _op_cases(torch, 512), max(5, repeats // 10)),
              ("training step", _training_cases(torch), max(5, repeats // 4))]
    rows = []
    for group, cases, reps in groups:
        for name, j_call, t_call in cases:
            j, t = interleaved(j_call, t_call, repeats=reps, warmup=5)
            rows.append({"group": group, "case": name, "juanji_us": j * 1e6, "torch_us": t * 1e6, "ratio": j / t})
            print(f"{group:18s} {name:45s} juanji {j * 1e6:9.1f} us  torch {t * 1e6:9.1f} us  ratio {j / t:5.2f}")
    summary = {}
    for group, _, _ in groups:
        ratios = [r["ratio"] for r in rows if r["group"] == group]
        summary[f"geometric-mean ratio, {group}"] = geometric_mean(ratios)
    columns = [("group", "group", "s"), ("case", "case", "s"), ("juanji_us", "juanji (us)", ".1f"),
               ("torch_us", "torch (us)", ".1f"), ("ratio", "juanji/torch", ".2f")]
    notes = ["medians of interleaved runs in one process; ratio < 1 means juanji is faster",
             "the training steps include zero_grad, forward, cross-entropy, backward and the SGD update"]
    print(write_report("core", rows, columns, summary, notes, title="Core tensor engine: juanji vs PyTorch"))


if __name__ == "__main__":
    main()
