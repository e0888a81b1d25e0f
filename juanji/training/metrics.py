"""Running loss/accuracy sums and the JSON-lines metrics log (``metrics.jsonl``).

The log has one JSON object per line, each with ``kind`` and the global ``step`` it was
written at:

    {"kind": "step",  "epoch": 1, "step": 50,  "loss": 0.61, "accuracy": 0.78, "lr": 0.05, "images_per_s": 2400.0}
    {"kind": "epoch", "epoch": 1, "step": 94,  "train_loss": ..., "train_accuracy": ..., "val_loss": ...,
     "val_accuracy": ..., "lr": ..., "seconds": ..., "images_per_s": ..., "data_share": ...}

Epochs are numbered from 1 in the log. A resumed run first drops the records written after
its checkpoint (:meth:`MetricsLog.truncate_after`), so the log reads as one uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass

from ..checkpoint import atomic_write_bytes
from .run_folder import writing

__all__ = ["RunningMetrics", "MetricsLog"]


@dataclass
class RunningMetrics:
    """Sums over the samples seen so far in an epoch: ``mean loss = loss_sum / seen``."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    counted: int = 0   # what the accuracy counts: the images, or (segmentation) the labelled pixels

    def update(self, mean_loss: float, correct: int, batch_size: int, counted: int | None = None) -> None:
        self.loss_sum += mean_loss * batch_size
        self.correct += int(correct)
        self.seen += int(batch_size)
        self.counted += int(batch_size if counted is None else counted)

    @property
    def loss(self) -> float:
        return self.loss_sum / self.seen if self.seen else math.nan

    @property
    def accuracy(self) -> float:
        return self.correct / self.counted if self.counted else math.nan

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "RunningMetrics":
        d = d or {}
        seen = int(d.get("seen", 0))
        return cls(float(d.get("loss_sum", 0.0)), int(d.get("correct", 0)), seen, int(d.get("counted", seen)))


class MetricsLog:
    """Append-only JSON lines, flushed after every record.

    ``enabled=False`` (the ranks other than 0 of a multi-process run) writes nothing; reading
    still reads the file. A write that fails is one TrainingError line naming the file.
    """

    def __init__(self, path, enabled: bool = True) -> None:
        self.path = os.fspath(path)
        self.enabled = enabled

    def append(self, record: dict) -> None:
        if not self.enabled:
            return
        with writing(self.path), open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def read(self) -> list[dict]:
        """Every complete record (a line cut short by a kill is skipped)."""
        if not os.path.exists(self.path):
            return []
        records = []
        with open(self.path) as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def truncate_after(self, step: int) -> None:
        """Keep only the records written at or before global step ``step`` (atomically)."""
        if not self.enabled:
            return
        kept = [r for r in self.read() if r.get("step", 0) <= step]
        with writing(self.path):
            atomic_write_bytes(self.path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    def reset(self) -> None:
        if self.enabled:
            with writing(self.path):
                atomic_write_bytes(self.path, b"")
