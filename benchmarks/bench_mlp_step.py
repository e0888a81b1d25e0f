"""One MLP training step, juanji vs PyTorch, interleaved in one process; and juanji's memory
over 10,000 steps.

The model is the classic MNIST MLP 784-256-256-10 with ReLU, CrossEntropyLoss, SGD with
momentum 0.9, batch 128, float32. Both frameworks start from the same weights (torch's
initialisation copied into juanji) and train on the same fixed batch, so they do the same
arithmetic; the first losses are printed as a check. A step is
``zero_grad(); loss = criterion(model(x), y); loss.backward(); optimizer.step()``.

Reported (medians of interleaved repetitions, juanji/torch ratio):
    step          the whole training step
    forward       model(x) and the loss, no graph (under no_grad)
    fwd+bwd       forward with graph + backward
    opt.step      the optimizer step alone (gradients already in place)
    Adam.step     for comparison, an Adam step alone on the same parameters

Then a cProfile of juanji's step (what dominates it), and RSS (resident memory, from
/proc/self/status) sampled during 10,000 juanji steps: it must not grow.

    python -m benchmarks.bench_mlp_step [--repeats 50] [--memory-steps 10000] [--quick] [--name mlp_step]

Writes benchmarks/results/<name>.{json,md} and <name>_memory.{json,md}. Both libraries use their
default thread pools; ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m ... --name mlp_step_1thread``
compares them single-threaded (steadier on a busy machine).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import time

import numpy as np

import juanji

from .common import RESULTS, interleaved, markdown_table, write_report

BATCH, SIZES, LR, MOMENTUM = 128, (784, 256, 256, 10), 0.01, 0.9


def _mlp(nn):
    """784-256-256-10 with ReLUs, from either library's ``nn``."""
    return nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                         nn.Linear(SIZES[2], SIZES[3]))


class Pair:
    """The same model, optimiser and batch in juanji and torch."""

    def __init__(self, torch):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
        y = rng.integers(0, SIZES[-1], BATCH)
        torch.manual_seed(0)
        self.t_model = _mlp(torch.nn)
        self.j_model = _mlp(juanji.nn)
        with juanji.no_grad():
            for jp, tp in zip(self.j_model.parameters(), self.t_model.parameters()):
                jp.copy_(juanji.tensor(tp.detach().numpy().copy()))
        self.j_opt = juanji.optim.SGD(self.j_model.parameters(), lr=LR, momentum=MOMENTUM)
        self.t_opt = torch.optim.SGD(self.t_model.parameters(), lr=LR, momentum=MOMENTUM)
        # timed on their own only (the heaviest per-parameter update of the optimisers)
        self.j_adam = juanji.optim.Adam(self.j_model.parameters(), lr=1e-4)
        self.t_adam = torch.optim.Adam(self.t_model.parameters(), lr=1e-4)
        self.j_loss_fn, self.t_loss_fn = juanji.nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
        self.jx, self.jy = juanji.tensor(x), juanji.tensor(y)
        self.tx, self.ty = torch.tensor(x), torch.tensor(y)
        self.torch = torch

    # one full training step
    def j_step(self):
        self.j_opt.zero_grad()
        loss = self.j_loss_fn(self.j_model(self.jx), self.jy)
        loss.backward()
        self.j_opt.step()
        return loss

    def t_step(self):
        self.t_opt.zero_grad()
        loss = self.t_loss_fn(self.t_model(self.tx), self.ty)
        loss.backward()
        self.t_opt.step()
        return loss

    # the parts
    def j_forward(self):
        with juanji.no_grad():
            return self.j_loss_fn(self.j_model(self.jx), self.jy)

    def t_forward(self):
        with self.torch.no_grad():
            return self.t_loss_fn(self.t_model(self.tx), self.ty)

    def j_forward_backward(self):
        self.j_opt.zero_grad()
        self.j_loss_fn(self.j_model(self.jx), self.jy).backward()

    def t_forward_backward(self):
        self.t_opt.zero_grad()
        self.t_loss_fn(self.t_model(self.tx), self.ty).backward()


def check_same_training(pair: Pair, steps: int = 5) -> list[tuple[float, float]]:
    """The first losses of both (they must agree: same weights, same data, same algorithm)."""
    losses = [(pair.j_step().item(), pair.t_step().item()) for _ in range(steps)]
    for j, t in losses:
        if not np.isclose(j, t, rtol=1e-4):
            raise RuntimeError(f"juanji and torch diverge: losses {losses}")
    return losses


def profile_juanji_step(pair: Pair, steps: int, top: int = 12) -> tuple[list[dict], str]:
    """cProfile of ``steps`` juanji steps: the functions with the most own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        pair.j_step()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).sort_stats("tottime")
    total = stats.total_tt
    rows = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in sorted(
            stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]:
        where = filename.split("/juanji/")[-1] if "/juanji/" in filename else os.path.basename(filename)
        rows.append({"function": f"{where}:{line}({name})", "calls_per_step": ncalls / steps,
                     "own_ms_per_step": tottime / steps * 1e3, "cum_ms_per_step": cumtime / steps * 1e3,
                     "share_of_step": tottime / total})
    stats.print_stats(top)
    return rows, stream.getvalue()


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def memory_over_steps(pair: Pair, steps: int, every: int, warmup: int = 100) -> list[dict]:
    """RSS every ``every`` steps over ``steps`` juanji steps (after ``warmup`` steps)."""
    for _ in range(warmup):
        pair.j_step()
    gc.collect()
    samples = [{"step": 0, "rss_mib": _rss_mib(), "seconds": 0.0}]
    start = time.perf_counter()
    for i in range(1, steps + 1):
        pair.j_step()
        if i % every == 0:
            samples.append({"step": i, "rss_mib": _rss_mib(), "seconds": time.perf_counter() - start})
    return samples


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--memory-steps", type=int, default=10_000)
    parser.add_argument("--profile-steps", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="few repeats, 500 memory steps")
    parser.add_argument("--name", default="mlp_step", help="report name under benchmarks/results/")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.memory_steps, args.profile_steps = 10, 500, 20

    import torch
    pair = Pair(torch)
    losses = check_same_training(pair)
    print("first losses (juanji, torch):", ", ".join(f"({j:.6f}, {t:.6f})" for j, t in losses))

    load_before = os.getloadavg()
    rows = []
    for part, j_call, t_call, repeats in [
            ("step", pair.j_step, pair.t_step, args.repeats),
            ("forward", pair.j_forward, pair.t_forward, args.repeats),
            ("fwd+bwd", pair.j_forward_backward, pair.t_forward_backward, args.repeats),
            ("opt.step", pair.j_opt.step, pair.t_opt.step, args.repeats * 4),
            ("Adam.step", pair.j_adam.step, pair.t_adam.step, args.repeats * 4)]:
        if part == "opt.step":  # gradients in place for the optimisers alone
            pair.j_forward_backward()
            pair.t_forward_backward()
        j, t = interleaved(j_call, t_call, repeats=repeats, warmup=5)
        rows.append({"part": part, "juanji_ms": j * 1e3, "torch_ms": t * 1e3, "ratio": j / t})
        print(f"{part:>9}: juanji {j * 1e3:8.3f} ms   torch {t * 1e3:8.3f} ms   ratio {j / t:5.2f}")
    load_after = os.getloadavg()

    profile_rows, profile_text = profile_juanji_step(pair, args.profile_steps)
    print(profile_text)

    samples = memory_over_steps(pair, args.memory_steps, every=max(1, args.memory_steps // 40))
    growth = samples[-1]["rss_mib"] - samples[0]["rss_mib"]
    print(f"RSS over {args.memory_steps} steps: start {samples[0]['rss_mib']:.1f} MiB, "
          f"end {samples[-1]['rss_mib']:.1f} MiB, max {max(s['rss_mib'] for s in samples):.1f} MiB")

    step_row = rows[0]
    summary = {"juanji/torch (whole step)": step_row["ratio"], "target": "<= 1.5",
               "first losses (juanji, torch)": [tuple(round(v, 6) for v in pair_) for pair_ in losses],
               "load average before/after timing": f"{load_before[0]:.2f} / {load_after[0]:.2f}",
               "rss start MiB": samples[0]["rss_mib"], "rss end MiB": samples[-1]["rss_mib"],
               "rss growth MiB": growth, "memory steps": args.memory_steps}
    top = ", ".join(f"{r['function']} {r['share_of_step']:.0%}" for r in profile_rows[:5])
    notes = [f"MLP {'-'.join(map(str, SIZES))}, ReLU, CrossEntropyLoss, SGD(lr={LR}, momentum={MOMENTUM}), "
             f"batch {BATCH}, float32; medians of {args.repeats} interleaved repetitions "
             f"(opt.step: {args.repeats * 4}).",
             f"cProfile of {args.profile_steps} juanji steps, largest own time: {top}."]
    text = write_report(args.name, rows, columns=[("part", "part", "s"), ("juanji_ms", "juanji ms", ".3f"),
                                                   ("torch_ms", "torch ms", ".3f"), ("ratio", "juanji/torch", ".2f")],
                        summary=summary, notes=notes, title="MLP training step (784-256-256-10, batch 128, SGD momentum)")
    # the profile goes into the same report: a second table in the Markdown, a key in the JSON
    profile_table = "\n## Where juanji's step goes (cProfile, own time per step)\n\n" + _profile_table(profile_rows)
    with open(RESULTS / f"{args.name}.md", "a") as md:
        md.write(profile_table + "\n")
    payload = json.loads((RESULTS / f"{args.name}.json").read_text())
    payload["juanji_profile"] = profile_rows
    (RESULTS / f"{args.name}.json").write_text(json.dumps(payload, indent=2, default=str))
    write_report(f"{args.name}_memory", samples, columns=[("step", "step", "d"), ("rss_mib", "RSS MiB", ".1f"),
                                                      ("seconds", "seconds", ".1f")],
                 summary={"rss start MiB": samples[0]["rss_mib"], "rss end MiB": samples[-1]["rss_mib"],
                          "rss growth MiB": growth},
                 title=f"juanji resident memory over {args.memory_steps} MLP training steps")
    print(text + profile_table)


def _profile_table(rows: list[dict]) -> str:
    return markdown_table(rows, [("function", "function", "s"), ("calls_per_step", "calls/step", ".0f"),
                                 ("own_ms_per_step", "own ms/step", ".3f"),
                                 ("cum_ms_per_step", "cum ms/step", ".3f"), ("share_of_step", "share", ".1%")])


if __name__ == "__main__":
    main()
