"""What a training run learns: one class per image, or one class per pixel (``--task``).

The loop (loop.py) is the same for both; a task supplies what differs:

===================  ===========================================  ==============================================
                     classification                               segmentation
===================  ===========================================  ==============================================
data                 ``--data sample | fashion-mnist | DIR``        ``--data scenes | DIR`` (images/ + masks/, VOC)
model output         scores ``[N, K]``                            scores ``[N, K, H, W]`` (or torchvision's
                                                                  ``{"out": ..., "aux": ...}``)
loss                 ``cross_entropy(scores, labels)``            ``cross_entropy(scores, masks, ignore_index=255)``
                                                                  per pixel (+ 0.5 x the aux head's, as
                                                                  torchvision's reference recipe)
accuracy             images right / images                        pixels right / labelled pixels
best checkpoint by   validation accuracy                          validation mean IoU
===================  ===========================================  ==============================================

The checkpoint's settings record the task, so ``juanji eval`` and ``juanji predict`` know it.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..nn import functional as F
from .config import TASK_NAMES
from .errors import TrainingError

__all__ = ["Task", "Classification", "Segmentation", "TASKS", "TASK_NAMES", "get_task", "task_of",
           "is_segmentation_model"]


def is_segmentation_model(name: str) -> bool:
    """Whether the zoo model ``name`` is one of ``juanji.vision.models.segmentation``'s."""
    from ..vision.models import segmentation
    return name in getattr(segmentation, "__all__", ()) and name.islower()


class Task:
    """The pieces of the loop that depend on what is predicted (see the module docstring)."""

    name = ""
    score_name = "accuracy"   # what chooses best.juanji

    def check_model_name(self, model: str) -> None:
        raise NotImplementedError

    def check_output(self, output, images, num_classes: int, model: str) -> None:
        raise NotImplementedError

    def model_defaults(self, model: str) -> dict:
        """Constructor arguments the command sets unless ``--model-arg`` says otherwise."""
        return {}

    def load_datasets(self, config, preprocessing=None):
        raise NotImplementedError

    def loss(self, output, labels, reduction: str = "mean"):
        raise NotImplementedError

    def scores(self, output):
        """The class scores (a Tensor) of a model's output."""
        return output

    def counts(self, output, labels) -> tuple[int, int]:
        """``(right, counted)`` for the running accuracy: images, or labelled pixels."""
        raise NotImplementedError

    def evaluate(self, model, loader, on_batch=None, num_classes=None):
        raise NotImplementedError

    def score(self, result) -> float:
        """The number that chooses best.juanji: validation accuracy, or mean IoU."""
        return result.accuracy


class Classification(Task):
    name = "classification"

    def check_model_name(self, model: str) -> None:
        if is_segmentation_model(model):
            raise TrainingError(f"model '{model}' is a segmentation model (a class per pixel); train it with "
                                "--task segmentation")

    def check_output(self, output, images, num_classes: int, model: str) -> None:
        expected = [1, num_classes]
        if isinstance(output, dict) or list(output.shape) != expected:
            shape = "a dict" if isinstance(output, dict) else list(output.shape)
            raise TrainingError(f"model '{model}' returned {shape} for input {list(images.shape)}, expected "
                                f"{expected} (one score per class)")

    def load_datasets(self, config, preprocessing=None):
        from .data import load_datasets
        return load_datasets(config.data, config.data_root, seed=config.seed, val_fraction=config.val_fraction,
                             train_samples=config.train_samples, test_samples=config.test_samples,
                             image_size=config.image_size, channels=config.channels, pad=config.pad,
                             preprocessing=preprocessing,   # (a pretrained preset's resize and centre crop)
                             resize=None if preprocessing is None else preprocessing.resize)

    def loss(self, output, labels, reduction: str = "mean"):
        return F.cross_entropy(output, labels, reduction=reduction)

    def counts(self, output, labels) -> tuple[int, int]:
        return int((output._data.argmax(axis=1) == labels._data).sum()), len(labels)

    def evaluate(self, model, loader, on_batch=None, num_classes=None):
        from .inference import evaluate
        return evaluate(model, loader, on_batch=on_batch, num_classes=num_classes)


class Segmentation(Task):
    name = "segmentation"
    score_name = "mIoU"
    aux_weight = 0.5   # torchvision's reference: loss = loss(out) + 0.5 loss(aux)

    def check_model_name(self, model: str) -> None:
        if not is_segmentation_model(model):
            from ..vision.models import segmentation
            names = ", ".join(n for n in segmentation.__all__ if n.islower())
            raise TrainingError(f"--task segmentation: model '{model}' is not a segmentation model (one class "
                                f"per image); choose from {names}")

    def model_defaults(self, model: str) -> dict:
        # torchvision's fcn_resnet50/101 default to downloading ImageNet weights for the backbone;
        # the command starts from random weights (--model-arg weights_backbone=IMAGENET1K_V1 asks)
        import inspect

        from .builders import zoo_builder
        builder = zoo_builder(model)
        try:
            takes = "weights_backbone" in inspect.signature(builder).parameters
        except (TypeError, ValueError):
            takes = False
        return {"weights_backbone": None} if takes else {}

    def check_output(self, output, images, num_classes: int, model: str) -> None:
        scores = self.scores(output)
        expected = [1, num_classes, *images.shape[2:]]
        if list(scores.shape) != expected:
            hint = ""
            if list(scores.shape[:2]) == expected[:2]:
                hint = "; a stride-32 network needs an --image-size that is a multiple of 32"
            raise TrainingError(f"model '{model}' returned {list(scores.shape)} for input {list(images.shape)}, "
                                f"expected {expected} (a score per class and pixel){hint}")

    def load_datasets(self, config, preprocessing=None):
        from .segmentation_data import load_segmentation_datasets
        if config.channels not in (None, 3):
            raise TrainingError(f"--task segmentation: the models take RGB images; --channels {config.channels}")
        if config.pad:
            raise TrainingError("--task segmentation: --pad would give the padding no mask; use --image-size")
        return load_segmentation_datasets(config.data, config.data_root, seed=config.seed,
                                          val_fraction=config.val_fraction, train_samples=config.train_samples,
                                          test_samples=config.test_samples, image_size=config.image_size,
                                          preprocessing=preprocessing)

    def scores(self, output):
        return output["out"] if isinstance(output, dict) else output

    def loss(self, output, labels, reduction: str = "mean"):
        from .segmentation_data import IGNORE_INDEX
        loss = F.cross_entropy(self.scores(output), labels, ignore_index=IGNORE_INDEX, reduction=reduction)
        if isinstance(output, dict) and output.get("aux") is not None:
            loss = loss + self.aux_weight * F.cross_entropy(output["aux"], labels, ignore_index=IGNORE_INDEX,
                                                            reduction=reduction)
        return loss

    def counts(self, output, labels) -> tuple[int, int]:
        from .segmentation_data import IGNORE_INDEX
        truth = labels._data
        labelled = truth != IGNORE_INDEX
        predicted = self.scores(output)._data.argmax(axis=1)
        return int(((predicted == truth) & labelled).sum()), int(labelled.sum())

    def evaluate(self, model, loader, on_batch=None, num_classes=None):
        """Mean per-pixel loss, pixel accuracy, confusion matrix, per-class IoU and mIoU of ``model``
        over ``loader`` (eval mode, no graph)."""
        from ..vision.metrics import SegmentationMetrics
        from .inference import EvalResult
        from .segmentation_data import IGNORE_INDEX
        model.eval()
        metrics = SegmentationMetrics(num_classes, ignore_index=IGNORE_INDEX)
        loss_sum, pixels, count = 0.0, 0, 0
        with no_grad():
            for done, (images, masks) in enumerate(loader, 1):
                scores = self.scores(model(images))
                loss_sum += float(F.cross_entropy(scores, masks, ignore_index=IGNORE_INDEX, reduction="sum").item())
                pixels += int((masks._data != IGNORE_INDEX).sum())
                count += len(masks)
                metrics.update(scores._data.argmax(axis=1), masks._data)
                if on_batch is not None:
                    on_batch(done)
        r = metrics.compute()
        return EvalResult(loss_sum / max(pixels, 1), r["pixel_accuracy"] if pixels else 0.0, count, r["confusion"],
                          iou=r["iou"], mean_iou=r["mean_iou"] if pixels else 0.0, pixels=pixels)

    def score(self, result) -> float:
        value = result.mean_iou
        return 0.0 if value is None or np.isnan(value) else float(value)


TASKS = {"classification": Classification(), "segmentation": Segmentation()}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise TrainingError(f"unknown --task '{name}' (choose from {', '.join(TASKS)})")
    return TASKS[name]


def task_of(config: dict) -> Task:
    """The task a checkpoint's settings record (checkpoints before --task: classification)."""
    return get_task((config or {}).get("task") or "classification")
