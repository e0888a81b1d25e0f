"""Stopping a run on request: Ctrl-C (SIGINT) and SIGTERM end a run at the next step boundary
with a checkpoint of that very step, so ``--resume`` loses nothing.

A signal arriving in the middle of a step (or a validation pass) only raises a flag; the loop
looks at it between steps, writes ``last.juanji`` and raises :class:`TrainingInterrupted`,
which the command turns into one line and exit status 130 (SIGINT) or 143 (SIGTERM). A second
Ctrl-C while the checkpoint is being written stops at once (the write is atomic, so the previous
checkpoint is still whole).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["TrainingInterrupted", "StopRequests", "stop_requests", "EXIT_CODES"]

# the shell's convention: 128 + the signal's number
EXIT_CODES = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


class TrainingInterrupted(Exception):
    """A run stopped by a signal after writing the checkpoint ``path`` at ``global_step``."""

    def __init__(self, signal_name: str, path: str | None, epoch: int, step_in_epoch: int, global_step: int):
        self.signal_name = signal_name
        self.path = path
        self.epoch, self.step_in_epoch, self.global_step = epoch, step_in_epoch, global_step
        where = f"epoch {epoch + 1}, batch {step_in_epoch} (step {global_step})"
        saved = f"checkpoint written: {path}" if path else "no checkpoint written"
        super().__init__(f"stopped by {signal_name} at {where}; {saved}")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signal_name, 130)


class StopRequests:
    """The signal that asked the run to stop (None while none has)."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def _handler(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.signal_name = name


@contextmanager
def stop_requests():
    """Within the block, SIGINT and SIGTERM set a flag instead of stopping the process (only in
    the main thread, where Python delivers signals); the handlers before are restored after."""
    requests = StopRequests()
    if threading.current_thread() is not threading.main_thread():
        yield requests
        return
    previous = {sig: signal.signal(sig, requests._handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield requests
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
