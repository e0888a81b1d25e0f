"""The run folder (``--out``): the files a run writes there, and the checks before it writes any.

    last.juanji      the checkpoint to resume from (every --checkpoint-every steps, each epoch end)
    best.juanji      the checkpoint of the best validation accuracy so far
    metrics.jsonl    one JSON record per logged step and per epoch (see metrics.py)
    curves.png       loss and accuracy curves, redrawn at each epoch end
"""

from __future__ import annotations

import glob
import os

from ..checkpoint import TEMP_PREFIX
from .errors import TrainingError

__all__ = ["RUN_FILES", "run_file", "resume_path", "refuse_existing_run", "remove_stale_temporaries"]

RUN_FILES = {"last": "last.juanji", "best": "best.juanji", "metrics": "metrics.jsonl", "curves": "curves.png"}


def run_file(out: str, kind: str) -> str:
    """The path of one of the run's files (a key of ``RUN_FILES``)."""
    return os.path.join(out, RUN_FILES[kind])


def resume_path(resume, out) -> str:
    """``--resume PATH`` (a checkpoint or a run folder), or ``--resume`` alone with ``--out``."""
    if resume is True:
        if not out:
            raise TrainingError("--resume without a path needs --out (the run folder to continue)")
        resume = out
    resume = os.fspath(resume)
    if os.path.isdir(resume):
        return run_file(resume, "last")
    return resume


def refuse_existing_run(out: str) -> None:
    """A fresh run never overwrites another run's checkpoints."""
    for kind in ("last", "best"):
        path = run_file(out, kind)
        if os.path.exists(path):
            raise TrainingError(f"--out {out} already holds a run ({path}); pass --resume to continue it, "
                                "or choose another --out")


def remove_stale_temporaries(out: str) -> None:
    """Delete the temporary files of writes that were killed before their rename."""
    for stale in glob.glob(os.path.join(out, TEMP_PREFIX + "*")):
        os.remove(stale)
