"""The settings of a training run: one dataclass, the defaults, and their checks.

A checkpoint stores the resolved settings (every default filled in), so a resumed run, and
``juanji eval`` / ``juanji predict``, know exactly how the model was trained.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from .choices import OPTIMIZERS, SCHEDULERS
from .errors import TrainingError

__all__ = ["TrainConfig", "RESUME_OVERRIDABLE", "DEFAULT_VAL_FRACTION"]

# settings a resumed run may change: they do not alter what the remaining steps compute
RESUME_OVERRIDABLE = ("epochs", "workers", "checkpoint_every", "log_every", "data_root", "progress",
                      "early_stopping", "save_top_k")
# the share of the training images held out for validation unless --val-fraction says otherwise
DEFAULT_VAL_FRACTION = 0.1
# what a run learns (tasks.py): a class per image, or a class per pixel
TASK_NAMES = ("classification", "segmentation")


@dataclass
class TrainConfig:
    """Everything ``juanji train`` accepts (the CLI option ``--batch-size`` is ``batch_size``).

    ``None`` means "the usual value for the chosen optimiser / scheduler / data", filled in
    by :meth:`resolved`.
    """

    task: str = "classification"        # or "segmentation" (tasks.py)
    model: str = "lenet5"
    model_args: dict | None = None      # extra keyword arguments for get_model
    data: str = "sample"
    data_root: str | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None
    optimizer: str = "sgd"
    momentum: float | None = None       # defaults per optimiser: choices.OPTIMIZERS
    weight_decay: float | None = None
    scheduler: str = "none"
    step_size: int | None = None        # step: epochs // 3 (at least 1)
    gamma: float | None = None          # defaults per schedule: choices.SCHEDULERS
    seed: int = 0
    out: str | None = None              # default: runs/<model>-<data>
    workers: int = 0
    checkpoint_every: int = 0           # steps between mid-epoch checkpoints; 0: at epoch ends only
    log_every: int = 50                 # steps between the metrics log's step records
    val_fraction: float = DEFAULT_VAL_FRACTION   # held out of the training images; 0: the test split
    early_stopping: int = 0             # stop after this many epochs without a better val accuracy; 0: never
    save_top_k: int = 1                 # keep the K best epochs' checkpoints (best.juanji is the best)
    train_samples: int | None = None    # a seeded subset of the training images
    test_samples: int | None = None
    pad: int = 0                        # zero pixels around every image (2: 28x28 -> 32x32)
    image_size: list | None = None      # [H, W]: resize image-folder images
    channels: int | None = None         # 1 or 3: convert image-folder images
    progress: bool = True               # live progress bars
    weights: str | None = None          # pretrained weights: a name (DEFAULT, ResNet18_Weights.IMAGENET1K_V1) or a path
    freeze_backbone: bool = False       # with weights: train the new classifier head only

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TrainingError(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def resolved(self) -> "TrainConfig":
        """A checked copy with every ``None`` default filled in."""
        self.check()
        c = dataclasses.replace(self)
        c.model_args = dict(c.model_args or {})   # the builder's own defaults, as in the library
        optimizer, schedule = OPTIMIZERS[c.optimizer], SCHEDULERS[c.scheduler]
        if c.lr is None:
            c.lr = optimizer.lr
        if c.momentum is None:
            c.momentum = optimizer.momentum or 0.0
        if c.weight_decay is None:
            c.weight_decay = optimizer.weight_decay
        if schedule.uses_step_size and c.step_size is None:
            c.step_size = max(1, c.epochs // 3)
        if c.gamma is None:
            c.gamma = schedule.gamma
        if c.task == "segmentation" and c.data == "sample":
            c.data = "scenes"   # the embedded segmentation sample
        if c.out is None:
            data_name = os.path.basename(os.path.normpath(c.data)) or "data"
            c.out = os.path.join("runs", f"{c.model}-{data_name}")
        if c.image_size is not None:
            c.image_size = [int(v) for v in c.image_size]
        return c

    def check(self) -> None:
        """One TrainingError for the first setting that cannot work."""
        if self.task not in TASK_NAMES:
            raise TrainingError(f"unknown --task '{self.task}' (choose from {', '.join(TASK_NAMES)})")
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"unknown optimizer '{self.optimizer}' (choose from {', '.join(OPTIMIZERS)})")
        if self.scheduler not in SCHEDULERS:
            raise TrainingError(f"unknown scheduler '{self.scheduler}' (choose from {', '.join(SCHEDULERS)})")
        positive = {"epochs": self.epochs, "batch_size": self.batch_size}
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise TrainingError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
        if self.lr is not None and not self.lr > 0:
            raise TrainingError(f"--lr must be positive, got {self.lr}")
        for name in ("momentum", "weight_decay"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise TrainingError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
        for name in ("workers", "checkpoint_every", "pad", "early_stopping"):
            if getattr(self, name) < 0:
                raise TrainingError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if not isinstance(self.save_top_k, int) or self.save_top_k < 1:
            raise TrainingError(f"--save-top-k must be at least 1 (best.juanji), got {self.save_top_k}")
        if self.log_every < 1:
            raise TrainingError(f"--log-every must be at least 1, got {self.log_every}")
        if self.step_size is not None and self.step_size < 1:
            raise TrainingError(f"--step-size must be at least 1, got {self.step_size}")
        if self.gamma is not None and not 0 < self.gamma <= 1:
            raise TrainingError(f"--gamma must be in (0, 1], got {self.gamma}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise TrainingError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")
        if self.model_args is not None:
            reserved = sorted({"num_classes", "in_channels"} & set(self.model_args))
            if reserved:
                raise TrainingError(f"--model-arg {reserved[0]}: set by the data (number of classes, image channels)")
        if self.freeze_backbone and not self.weights:
            raise TrainingError("--freeze-backbone needs --weights (a randomly initialised backbone would stay random)")
        if self.channels not in (None, 1, 3):
            raise TrainingError(f"--channels must be 1 or 3, got {self.channels}")
        if self.image_size is not None and (len(self.image_size) != 2 or min(self.image_size) < 1):
            raise TrainingError(f"--image-size takes two positive numbers H W, got {self.image_size}")
