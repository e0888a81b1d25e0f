"""Run every juanji-vs-PyTorch benchmark in turn (``make bench``) and gather their Markdown
reports into ``benchmarks/results/ALL.md``.

Each benchmark module has ``main(argv)`` and writes its own JSON + Markdown under
``benchmarks/results/``; this script only sequences them, so a benchmark can also be run alone:
``python -m benchmarks.bench_conv``. Pass names to run a subset: ``python -m benchmarks.run conv pool``.
"""

from __future__ import annotations

import importlib
import sys
import time

from benchmarks.common import RESULTS

BENCHMARKS = ["core", "linear", "mlp_step", "conv", "pool", "training"]


def main(argv=None) -> None:
    names = (argv if argv is not None else sys.argv[1:]) or BENCHMARKS
    before = time.time()
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== bench_{name}", flush=True)
        module.main([])
    reports = sorted(p for p in RESULTS.glob("*.md") if p.name != "ALL.md" and p.stat().st_mtime >= before)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ALL.md").write_text("\n\n".join(p.read_text() for p in reports))
    print(f"wrote {RESULTS / 'ALL.md'} ({len(reports)} reports)")


if __name__ == "__main__":
    main()
