"""What a run shows while it trains: a live bar per epoch (rich) and one summary line per epoch.

    epoch 3/10 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 94/94 0:00:05 loss 0.4123  acc 85.21%  2,410 img/s

On a terminal the bar redraws in place; elsewhere (a log file, a pipe) rich prints nothing
live, so only the summary lines appear. ``enabled=False`` turns the bars off everywhere.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["TrainingProgress"]


class TrainingProgress:
    """Live progress bars for the epochs of a run, plus printed lines."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        # off a terminal rich cannot redraw a bar, and would leave blank lines behind
        self.enabled = enabled and self.console.is_terminal
        self._progress = None
        self._task = None

    def print(self, message: str) -> None:
        """A line above the bars (or plain output when there are none)."""
        self.console.print(message, markup=False, highlight=False, soft_wrap=True)

    def start_epoch(self, epoch: int, epochs: int, total_batches: int, done_batches: int = 0) -> None:
        if not self.enabled:
            return
        self._progress = Progress(
            TextColumn(f"epoch {epoch}/{epochs}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"), console=self.console, transient=True)
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

    def close(self) -> None:
        self.end_epoch()
