"""Where juanji's time goes in a benchmark case: per-Op forward/backward timings and a cProfile.

    python -m benchmarks.profile_steps [CASE ...] [--steps 5] [--top 25]

Imports juanji only. For each case (default: the training cases and two small-batch ones) it
runs the case's call ``--steps`` times after a warm-up and reports

- per Op class: calls, seconds in ``forward`` and in ``backward`` per call of the case
  (each Op class's own ``forward``/``backward`` wrapped with a timer), sorted by total;
- the step time split into kernels-and-NumPy inside Ops (the sum above) and everything else
  (module calls, argument handling, ``Op.apply``'s bookkeeping, the engine, the optimiser);
- cProfile's top functions by their own time (a separate run: the profiler slows Python).

Writes benchmarks/results/profile_<case>.md and prints it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import defaultdict

from .cases import by_name

# PROFILE_CLOCK=cpu times by this process's CPU time (with PROFILE_THREADS=1 on a loaded machine
# it counts the work, not the waiting); the default is wall time
_clock = time.process_time if __import__("os").environ.get("PROFILE_CLOCK") == "cpu" else time.perf_counter

DEFAULT = ["train/lenet-b64", "train/lenet-b256", "train/resnet20-b128", "train/resnet18-b64",
           "train/mobilenetv2-b64", "small/resnet18-b2", "small/mobilenetv2-b1", "infer/resnet18-b1"]


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


class OpTimer:
    """Wrap every Op class's own forward/backward with a timer (undone by ``restore``)."""

    def __init__(self, op_base):
        self.totals = defaultdict(lambda: [0, 0.0, 0.0])  # class -> [forward calls, fwd s, bwd s]
        self.saved = []
        for cls in set(_subclasses(op_base)):
            for phase in ("forward", "backward"):
                if phase in cls.__dict__:
                    original = cls.__dict__[phase]
                    self.saved.append((cls, phase, original))
                    setattr(cls, phase, self._wrap(original, phase))

    def _wrap(self, original, phase):
        totals = self.totals

        def timed(op, *args, **kwargs):
            start = _clock()
            try:
                return original(op, *args, **kwargs)
            finally:
                entry = totals[type(op).__qualname__]
                if phase == "forward":
                    entry[0] += 1
                    entry[1] += _clock() - start
                else:
                    entry[2] += _clock() - start
        return timed

    def restore(self):
        for cls, phase, original in self.saved:
            setattr(cls, phase, original)


def profile(case_name, steps, top):
    import juanji
    from juanji.autograd.function import Op
    juanji.set_num_threads(int(__import__("os").environ.get("PROFILE_THREADS", "2")))
    case = by_name(case_name)
    call = case.setup(juanji)
    call()
    call()
    start = _clock()
    for _ in range(steps):
        call()
    step = (_clock() - start) / steps

    timer = OpTimer(Op)
    try:
        start = _clock()
        for _ in range(steps):
            call()
        timed_step = (_clock() - start) / steps
    finally:
        timer.restore()
    rows = sorted(((name, c / steps, f / steps, b / steps) for name, (c, f, b) in timer.totals.items()),
                  key=lambda r: -(r[2] + r[3]))
    in_ops = sum(r[2] + r[3] for r in rows)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        call()
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    lines = [f"# Profile of {case.title} (juanji)", "",
             f"step {1e3 * step:.2f} ms; with Op timers {1e3 * timed_step:.2f} ms, of which inside Ops' forward/"
             f"backward {1e3 * in_ops:.2f} ms ({100 * in_ops / timed_step:.0f} %), outside "
             f"{1e3 * (timed_step - in_ops):.2f} ms (modules, arguments, Op.apply, engine, optimiser)", "",
             "| Op | calls/step | forward ms | backward ms | share of step |", "|---|---:|---:|---:|---:|"]
    for name, calls, fwd, bwd in rows:
        lines.append(f"| {name} | {calls:.0f} | {1e3 * fwd:.3f} | {1e3 * bwd:.3f} | "
                     f"{100 * (fwd + bwd) / timed_step:.1f} % |")
    lines += ["", "cProfile (own time):", "", "```", _trim(stream.getvalue()), "```"]
    return "\n".join(lines) + "\n"


def _trim(text):
    body = text.strip().splitlines()
    start = next((i for i, line in enumerate(body) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(line.replace("/work/", "")[:160] for line in body[start:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=DEFAULT)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    from .report import RESULTS
    RESULTS.mkdir(parents=True, exist_ok=True)
    for name in args.cases:
        text = profile(name, args.steps, args.top)
        (RESULTS / f"profile_{name.replace('/', '_')}.md").write_text(text)
        print(text, flush=True)


if __name__ == "__main__":
    main()
