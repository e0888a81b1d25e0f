"""Run the ``juanji`` command with a fault injected through the training loop's callbacks.

    python -m tests.fault_runner stall-at-step 14 train --model lenet5 ...
    python -m tests.fault_runner pause-in-checkpoint-write 2 train ...
    python -m tests.fault_runner sigterm-at-step 5 train ...

``stall-at-step N`` stops making progress once global step N is done; ``pause-in-checkpoint-write
N`` stops inside the N-th checkpoint write of the process, after its temporary file is complete
and before the rename. Each prints a line saying so and sleeps, so that a test can kill the
process at that exact point (tests/test_train.py, tests/test_checkpoint.py).
``sigterm-at-step N`` / ``sigint-at-step N`` send the process that signal during step N, as a
``kill`` or a Ctrl-C arriving then would (tests/training/test_interrupt.py).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from juanji.cli import main
from juanji.training import Callback


class StallAtStep(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, run) -> None:
        if run.global_step == self.step:
            print(f"fault: stalled after step {run.global_step}", flush=True)
            time.sleep(3600)


class PauseInCheckpointWrite(Callback):
    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.writes = 0

    def before_checkpoint_rename(self, path: str) -> None:
        self.writes += 1
        if self.writes == self.nth:
            print(f"fault: paused before renaming into {path}", flush=True)
            time.sleep(3600)


class SignalAtStep(Callback):
    def __init__(self, step: int, signum: int) -> None:
        self.step, self.signum = step, signum

    def on_step_end(self, run) -> None:
        if run.global_step == self.step:
            os.kill(os.getpid(), self.signum)


FAULTS = {"stall-at-step": StallAtStep, "pause-in-checkpoint-write": PauseInCheckpointWrite,
          "sigterm-at-step": lambda n: SignalAtStep(n, signal.SIGTERM),
          "sigint-at-step": lambda n: SignalAtStep(n, signal.SIGINT)}

if __name__ == "__main__":
    fault, value, *argv = sys.argv[1:]
    sys.exit(main(argv, callbacks=[FAULTS[fault](int(value))]))
