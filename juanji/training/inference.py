"""Using a trained model: loss, accuracy and confusion matrix over a dataset (``juanji eval``).

``juanji eval CHECKPOINT`` (and ``juanji predict``, in predict.py) need nothing but the
checkpoint: it records the model's name and constructor arguments, the class names and the
preprocessing (image size, channels, padding, normalisation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..autograd import no_grad
from ..checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from ..nn import functional as F
from .builders import build_model
from .confusion import confusion_matrix
from .data import evaluation_loader, load_datasets
from .errors import TrainingError
from .preprocess import Preprocessing

__all__ = ["evaluate", "EvalResult", "evaluate_checkpoint", "class_name_mismatch", "load_trained_model",
           "EVAL_BATCH_SIZE"]

EVAL_BATCH_SIZE = 500


@dataclass
class EvalResult:
    loss: float      # mean cross-entropy
    accuracy: float  # fraction correct
    count: int       # images evaluated
    confusion: np.ndarray | None = None   # [K, K] counts (true class, predicted class), where counted
    classes: list | None = None           # the model's class names, in label order
    data_classes: list | None = None      # the data's class names, in label order (may differ)
    # segmentation (--task segmentation): accuracy is then the pixel accuracy over ``pixels``
    iou: list | None = None               # per-class intersection over union (NaN: class absent)
    mean_iou: float | None = None         # mean over the classes present
    pixels: int | None = None             # labelled pixels evaluated (255 = ignore excluded)


def evaluate(model, loader, on_batch=None, num_classes: int | None = None) -> EvalResult:
    """Mean cross-entropy and accuracy of ``model`` over ``loader``, in eval mode without a graph.

    ``on_batch(done_batches)`` is called after each batch (a progress bar). With
    ``num_classes`` the result also holds the confusion matrix. The model is left in eval
    mode; a training loop switches it back.
    """
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    confusion = None if num_classes is None else np.zeros((num_classes, num_classes), dtype=np.int64)
    with no_grad():
        for done, (images, labels) in enumerate(loader, 1):
            logits = model(images)
            loss_sum += float(F.cross_entropy(logits, labels, reduction="sum").item())
            predicted = logits._data.argmax(axis=1)
            correct += int((predicted == labels._data).sum())
            count += len(labels)
            if confusion is not None:
                confusion += confusion_matrix(labels._data, predicted, num_classes)
            if on_batch is not None:
                on_batch(done)
    return EvalResult(loss_sum / max(count, 1), correct / max(count, 1), count, confusion)


def _build_by_name(name, num_classes=None, in_channels=None, **model_args):
    """``build_model`` with a checkpoint's recorded keyword arguments."""
    return build_model(name, num_classes, in_channels, **model_args)


def load_trained_model(path):
    """``(payload, model, preprocessing, classes)`` from a checkpoint file; one-line errors."""
    payload = load_checkpoint(path)
    preprocessing = Preprocessing.from_dict(payload["preprocessing"])
    classes = [str(c) for c in payload["classes"]]
    kwargs = payload["model"].get("kwargs") or {}
    if kwargs.get("num_classes") not in (None, len(classes)) or \
            kwargs.get("in_channels") not in (None, preprocessing.channels):
        raise CheckpointError(f"checkpoint '{path}' is inconsistent: model arguments {kwargs} but "
                              f"{len(classes)} classes and {preprocessing.channels} channel(s)")
    model = model_from_checkpoint(payload, path, build=_build_by_name)
    model.eval()
    return payload, model, preprocessing, classes


def evaluate_checkpoint(path, data=None, data_root=None, batch_size: int = EVAL_BATCH_SIZE, workers: int = 0,
                        image_size=None, channels=None, progress=None) -> tuple[EvalResult, str]:
    """Test loss, accuracy and confusion matrix of a checkpoint (or a run folder's best.juanji)
    on its recorded test split, or on ``data``.

    An image folder is converted to the model's input (size and channels) unless ``image_size``
    / ``channels`` say otherwise, and its classes are matched to the model's by name where they
    are all among them; a class tree the model was not trained on is evaluated whole (the one
    it was trained on, on its held-out test share). ``progress`` (a TrainingProgress) draws a bar. Returns the result and a
    description of the data.
    """
    from .run_folder import trained_checkpoint
    if not isinstance(batch_size, int) or batch_size < 1:
        raise TrainingError(f"--batch-size must be a positive integer, got {batch_size}")
    if workers < 0:
        raise TrainingError(f"--workers must be >= 0, got {workers}")
    if channels not in (None, 1, 3):
        raise TrainingError(f"--channels must be 1 or 3, got {channels}")
    if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
        raise TrainingError(f"--image-size takes two positive numbers H W, got {list(image_size)}")
    path = trained_checkpoint(path)
    payload, model, preprocessing, classes = load_trained_model(path)
    config = payload["config"]
    same_data = data is None or os.path.abspath(data) == os.path.abspath(str(config.get("data")))
    source = config["data"] if data is None else data
    folder = source not in ("sample", "mnist", "fashion-mnist")
    resize = None
    if folder:   # an image folder: the model's own input unless told otherwise
        if not image_size:   # (as trained: a pretrained preset's resize and centre crop too)
            resize = preprocessing.resize
        image_size = list(image_size) if image_size else (config.get("image_size") or
                                                          [preprocessing.height, preprocessing.width])
        channels = channels or config.get("channels") or preprocessing.channels
    datasets = load_datasets(
        source, data_root or config.get("data_root"),
        seed=int(config.get("seed", 0)), test_samples=config.get("test_samples") if same_data else None,
        image_size=image_size, channels=channels, pad=preprocessing.pad,
        preprocessing=preprocessing, need_train=False, known_classes=classes, all_for_test=not same_data,
        resize=resize)
    top_label = int(datasets.test.labels.max())
    if top_label >= len(classes):
        raise TrainingError(f"{datasets.description}: label {top_label} found, but the model of '{path}' "
                            f"knows {len(classes)} classes")
    loader = evaluation_loader(datasets.test, batch_size, workers)
    if progress is None:
        result = evaluate(model, loader, num_classes=len(classes))
    else:
        with progress.evaluating("evaluating", len(loader)) as advance:
            result = evaluate(model, loader, on_batch=advance, num_classes=len(classes))
    result.classes, result.data_classes = classes, list(datasets.classes)
    return result, datasets.description


def class_name_mismatch(result: EvalResult) -> str | None:
    """A warning when the data's class names are not the model's (labels are then compared by
    position), or None."""
    model, data = result.classes or [], result.data_classes or []
    if model == data or not data:
        return None
    differ = [f"{i}: {d!r} vs {m!r}" for i, (d, m) in enumerate(zip(data, model)) if d != m]
    extra = f"; the data has {len(data)} classes, the model {len(model)}" if len(data) != len(model) else ""
    return (f"the data's class names are not the checkpoint's ({', '.join(differ[:3])}"
            f"{' ...' if len(differ) > 3 else ''}{extra}): labels are compared by position")
