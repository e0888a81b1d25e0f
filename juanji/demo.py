"""``make demo`` / ``python -m juanji.demo``: train LeNet-5 on the Fashion-MNIST sample that ships
with juanji (no download), then print the test accuracy and where the curves and checkpoints are.

It is exactly this command (the run folder is ``runs/demo``, or ``runs/demo-2``, ... when that
one is taken, so an earlier demo run is never overwritten)::

    juanji train --model lenet5 --data sample --epochs 8 --batch-size 64 \
                 --optimizer sgd --lr 0.05 --momentum 0.9 --scheduler cosine --seed 0 --out runs/demo
"""

from __future__ import annotations

import os
import sys

from .cli import main as cli_main

__all__ = ["main", "DEMO_ARGS"]

DEMO_ARGS = ["--model", "lenet5", "--data", "sample", "--epochs", "8", "--batch-size", "64",
             "--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9", "--scheduler", "cosine", "--seed", "0"]


def _free_run_folder(base: str = os.path.join("runs", "demo")) -> str:
    if not os.path.exists(base):
        return base
    n = 2
    while os.path.exists(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


def main(argv=None) -> int:
    """Run the demo; extra arguments are passed on to ``juanji train`` (e.g. ``--epochs 3``)."""
    extra = list(sys.argv[1:] if argv is None else argv)
    out = [] if "--out" in extra else ["--out", _free_run_folder()]
    return cli_main(["train", *DEMO_ARGS, *out, *extra])


if __name__ == "__main__":
    sys.exit(main())
