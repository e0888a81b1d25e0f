"""``juanji train`` (run under mpiexec) with a fault: ``raise-at-step RANK STEP`` makes rank RANK
raise after step STEP; ``stall-at-step STEP`` makes every rank stop making progress after STEP
(and its checkpoint), so that a test can kill the job there and resume it."""

import sys
import time

from juanji.cli import main
from juanji.training import Callback


class RaiseAtStep(Callback):
    def __init__(self, rank, step):
        self.rank, self.step = rank, step

    def on_step_end(self, run):
        if run.ranks.rank == self.rank and run.global_step == self.step:
            raise RuntimeError(f"injected failure after step {run.global_step}")


class StallAtStep(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, run):
        if run.global_step == self.step:
            print(f"fault: rank {run.ranks.rank} stalled after step {run.global_step}", flush=True)
            time.sleep(3600)


if __name__ == "__main__":
    fault, *rest = sys.argv[1:]
    if fault == "raise-at-step":
        callback, argv = RaiseAtStep(int(rest[0]), int(rest[1])), rest[2:]
    else:
        callback, argv = StallAtStep(int(rest[0])), rest[1:]
    sys.exit(main(argv, callbacks=[callback]))
