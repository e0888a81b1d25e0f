"""The run folder (``--out``): the files a run writes there, and the checks before it writes any.

    last.juanji      the checkpoint to resume from (every --checkpoint-every steps, each epoch end,
                     and when the run is stopped by Ctrl-C or SIGTERM)
    best.juanji      the checkpoint of the best validation accuracy so far
    top-epochNNN.juanji   with --save-top-k K > 1: the K best epochs' checkpoints
    metrics.jsonl    one JSON record per logged step and per epoch (see metrics.py)
    curves.png       loss and accuracy curves, redrawn at each epoch end

A file that cannot be written (a full disk, a folder made read-only) stops the run with one
line naming the file; the files written before it stay as they were (writes are atomic).
"""

from __future__ import annotations

import errno
import glob
import os
from contextlib import contextmanager

from ..checkpoint import TEMP_PREFIX
from .errors import TrainingError

__all__ = ["RUN_FILES", "run_file", "resume_path", "trained_checkpoint", "refuse_existing_run", "check_writable_folder", "writing",
           "top_k_file", "remove_stale_temporaries"]

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


def trained_checkpoint(path) -> str:
    """A checkpoint to use a trained model from: ``path`` itself, or a run folder's best.juanji
    (its last.juanji when there is no best one yet)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        best, last = run_file(path, "best"), run_file(path, "last")
        return best if os.path.exists(best) or not os.path.exists(last) else last
    return path


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


def check_writable_folder(out: str, option: str = "--out") -> None:
    """``out`` is a folder that exists and can be written, or can be made: checked before the
    run writes anything, so a mistake costs no training time."""
    path = os.path.abspath(out)
    if os.path.exists(path) and not os.path.isdir(path):
        raise TrainingError(f"{option} {out} is a file; expected a folder for the run's files")
    existing = path
    while not os.path.exists(existing):   # the nearest folder that exists: the new ones go in there
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise TrainingError(f"{option} {out}: '{existing}' is a file, so no folder can be made inside it")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == path else f"cannot be made: '{existing}' is not writable"
        raise TrainingError(f"{option} {out} {what}")


@contextmanager
def writing(path: str):
    """Turn an error while writing ``path`` into one line naming the file."""
    try:
        yield
    except OSError as e:
        reason = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise TrainingError(f"cannot write '{path}': {reason}; the files written before it are intact") from None


def top_k_file(out: str, epoch: int) -> str:
    """Where ``--save-top-k`` keeps the checkpoint of epoch ``epoch`` (numbered from 1)."""
    return os.path.join(out, f"top-epoch{epoch:03d}.juanji")
