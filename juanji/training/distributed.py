"""``juanji train`` on several processes: data parallelism over MPI ranks.

    mpiexec -n 2 juanji train --model lenet5 --data fashion-mnist --epochs 2
    juanji train --nproc 2 --model lenet5 --data fashion-mnist --epochs 2   (starts mpiexec itself)

Every rank reads the same data and draws the same epoch order (the seed fixes both), and takes
its own rows of each global batch of ``--batch-size`` images: rank r of K trains on rows
``[r*n//K, (r+1)*n//K)`` of a batch of n. The model is wrapped in ``DistributedDataParallel``
(BatchNorm layers become ``SyncBatchNorm``), and each rank's loss is its rows' summed
cross-entropy times ``K / n``, so that DDP's average over the ranks is the mean over the whole
batch: the run takes the steps one process would take with the same global batch.

Rank 0 alone prints progress and writes the metrics log, curves and checkpoints (atomically,
as a single process does); the checkpoints hold the plain model (``juanji eval`` loads them
in one process) and every rank's generator state (``--resume`` continues the same K ranks
bit for bit). Validation and the final test are split over the ranks and their sums combined.

A failure on one rank ends all of them with one line naming the rank; a rank that waits for a
peer longer than ``JUANJI_DIST_TIMEOUT`` seconds (default 600) gives up instead of hanging.
"""

from __future__ import annotations

import datetime
import os
import sys
import time

import numpy as np

__all__ = ["Ranks", "DEFAULT_TIMEOUT_S", "current", "end_all_ranks"]

DEFAULT_TIMEOUT_S = 600.0


class Ranks:
    """The processes of one run: ``rank`` of ``size`` (a single process is rank 0 of 1)."""

    def __init__(self, rank: int = 0, size: int = 1):
        self.rank = rank
        self.size = size

    @classmethod
    def from_launcher(cls) -> "Ranks":
        """Join the other ranks when started by mpiexec with more than one process, else alone."""
        from ..distributed.run import launcher_env
        env = launcher_env()
        if env is None or int(env["WORLD_SIZE"]) <= 1:
            return cls()
        from .. import distributed as dist
        from .errors import TrainingError
        try:
            seconds = float(os.environ.get("JUANJI_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))
        except ValueError:
            raise TrainingError(f"JUANJI_DIST_TIMEOUT must be a number of seconds, got "
                                f"{os.environ['JUANJI_DIST_TIMEOUT']!r}") from None
        if not dist.is_initialized():
            try:
                dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=seconds))
            except RuntimeError as e:
                raise TrainingError(str(e)) from None
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ training
    def wrap(self, model):
        """The module the training steps call: ``model`` itself, or DDP around it (with
        SyncBatchNorm in place of BatchNorm) when there are several ranks."""
        if not self.active:
            return model
        from ..nn import SyncBatchNorm
        from ..nn.parallel import DistributedDataParallel
        converted = SyncBatchNorm.convert_sync_batchnorm(model)  # in place: the layers are swapped inside
        assert converted is model, "a model that is itself a BatchNorm layer"
        return DistributedDataParallel(model)

    def rows(self, n: int) -> slice:
        """This rank's rows of a global batch of ``n``."""
        return slice(self.rank * n // self.size, (self.rank + 1) * n // self.size)

    def check_batches(self, train_size: int, batch_size: int) -> None:
        """Every global batch (the last, smaller one too) must give each rank at least one row."""
        from .errors import TrainingError
        last = train_size % batch_size or batch_size
        if min(batch_size, last) < self.size:
            raise TrainingError(f"--batch-size {batch_size} over {train_size:,} images leaves a batch of "
                                f"{min(batch_size, last)}, fewer than the {self.size} processes: every process "
                                f"needs at least one image of each batch")

    def sums(self, *values) -> list:
        """The sums over the ranks of some numbers (float64)."""
        if not self.active:
            return [float(v) for v in values]
        from .. import distributed as dist
        from ..tensor import Tensor
        buf = Tensor._from_array(np.array(values, dtype=np.float64))
        dist.all_reduce(buf)
        return [float(v) for v in buf._data]

    def evaluate(self, model, dataset, batch_size: int, on_batch=None):
        """Mean loss and accuracy over ``dataset``, each rank evaluating its own share
        (``on_batch(done_batches)`` after each of this rank's batches)."""
        from .inference import EvalResult, evaluate
        if not self.active:
            from .data import evaluation_loader
            return evaluate(model, evaluation_loader(dataset, batch_size), on_batch)
        from ..random import Generator
        from ..utils.data import BatchSampler, DataLoader
        share = self.rows(len(dataset))
        loader = DataLoader(dataset, batch_size=None, generator=Generator().manual_seed(0),
                            sampler=BatchSampler(range(share.start, share.stop), batch_size, drop_last=False))
        mine = evaluate(model, loader, on_batch)
        loss_sum, correct, count = self.sums(mine.loss * mine.count, mine.accuracy * mine.count, mine.count)
        return EvalResult(loss_sum / max(count, 1), round(correct) / max(count, 1), int(count))

    def silent_progress(self):
        """A progress display that shows nothing (for the ranks other than 0)."""
        import io

        from rich.console import Console

        from .progress import TrainingProgress
        return TrainingProgress(enabled=False, console=Console(file=io.StringIO()))

    # ------------------------------------------------------------------ generator states
    def generator_states(self) -> list | None:
        """Every rank's juanji generator state (a list of uint8 tensors), or None alone."""
        if not self.active:
            return None
        from .. import distributed as dist
        from .. import random
        states = [None] * self.size
        dist.all_gather_object(states, random.get_rng_state())
        return states

    def own_generator_state(self, rng: dict):
        """This rank's generator state from a checkpoint's ``rng`` record."""
        states = rng.get("generators")
        if self.active and states and self.rank < len(states):
            return states[self.rank]
        return rng["generator"]

    # ------------------------------------------------------------------ failure
    def fail(self, line: str, code: int) -> None:
        """End every rank after a failure on this one: rank 0 prints the line; another rank
        waits a moment first (when every rank meets the same bad input, rank 0's line is the
        one shown) and then names itself."""
        from .. import distributed as dist
        if not self.is_main:
            time.sleep(2.0)
            line = f"{line} (on rank {self.rank} of {self.size})"
        dist.abort(line, code)

    def barrier(self) -> None:
        if self.active:
            from .. import distributed as dist
            dist.barrier()


def spawn_train(nproc: int, argv: list) -> int:
    """``juanji train --nproc K ...``: run the same command (without ``--nproc``) as K MPI ranks."""
    from .errors import TrainingError
    if nproc < 1:
        raise TrainingError(f"--nproc must be at least 1, got {nproc}")
    rest, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    command = [sys.executable, "-m", "juanji.cli", *rest]
    if nproc == 1:
        import subprocess
        return subprocess.call(command)
    from ..distributed.run import mpiexec_path, spawn
    try:
        mpiexec_path()
    except RuntimeError as e:
        raise TrainingError(f"--nproc {nproc}: {e}") from None
    return spawn(nproc, command)


def current() -> Ranks:
    """The ranks of the running process group (a single process if there is none)."""
    from .. import distributed as dist
    if not dist.is_initialized():
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size())


def end_all_ranks(line: str, code: int) -> None:
    """In a multi-process run: end every rank with ``line`` (does not return). Alone: nothing."""
    ranks = current()
    if ranks.active:
        ranks.fail(line, code)
