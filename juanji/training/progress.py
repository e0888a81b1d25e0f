"""What a run shows while it works: live bars (rich) for each epoch and each evaluation pass,
one summary line per epoch, and warnings.

    epoch 3/10 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 94/94 0:00:05 -0:00:00 loss 0.4123  acc 85.21%  2,410 img/s
    validating ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 2/4 0:00:01 -0:00:01

Each bar shows the time spent and the time remaining (from the pace so far). On a terminal
the bars redraw in place; elsewhere (a log file, a pipe) rich prints nothing live, so only the
summary lines appear. ``enabled=False`` turns the bars off everywhere. Warnings go to stderr.
"""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["TrainingProgress"]


def _columns(label: str, status: bool):
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("-"), TimeRemainingColumn()]
    return columns + ([TextColumn("{task.fields[status]}")] if status else [])


class TrainingProgress:
    """Live progress bars for the epochs and evaluation passes of a run, plus printed lines."""

    def __init__(self, enabled: bool = True, console: Console | None = None,
                 error_console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.error_console = error_console or Console(stderr=True, highlight=False)
        # off a terminal rich cannot redraw a bar, and would leave blank lines behind
        self.enabled = enabled and self.console.is_terminal
        self._progress = None
        self._task = None

    def print(self, message: str) -> None:
        """A line above the bars (or plain output when there are none)."""
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def warn(self, message: str) -> None:
        """``warning: message`` on stderr."""
        self.error_console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)

    # ------------------------------------------------------------------ training epochs
    def start_epoch(self, epoch: int, epochs: int, total_batches: int, done_batches: int = 0) -> None:
        if not self.enabled:
            return
        self._progress = Progress(*_columns(f"epoch {epoch}/{epochs}", status=True), console=self.console,
                                  transient=True)
        self._progress.start()
        self._task = self._progress.add_task("train", total=total_batches, completed=done_batches, status="")

    def update(self, done_batches: int, loss: float, accuracy: float, images_per_s: float) -> None:
        if self._progress is None:
            return
        status = f"loss {loss:.4f}  acc {100 * accuracy:.2f}%  {images_per_s:,.0f} img/s"
        self._progress.update(self._task, completed=done_batches, status=status)

    def end_epoch(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # ------------------------------------------------------------------ evaluation passes
    @contextmanager
    def evaluating(self, label: str, total_batches: int):
        """A bar for one pass over a dataset; yields ``advance(done_batches)`` for the loop."""
        if not self.enabled:
            yield lambda done: None
            return
        bar = Progress(*_columns(label, status=False), console=self.console, transient=True)
        task = bar.add_task(label, total=total_batches)
        bar.start()
        try:
            yield lambda done: bar.update(task, completed=done)
        finally:
            bar.stop()

    def close(self) -> None:
        self.end_epoch()
