"""Using a trained model: accuracy and loss over a dataset, and top-k predictions for image files.

``juanji eval CHECKPOINT`` and ``juanji predict CHECKPOINT IMAGE...`` need nothing but the
checkpoint: it records the model's name and constructor arguments, the class names and the
preprocessing (image size, channels, padding, normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..autograd import no_grad
from ..checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from ..nn import functional as F
from ..tensor import Tensor
from .builders import build_model
from .data import evaluation_loader, load_datasets
from .errors import TrainingError, one_line
from .preprocess import Preprocessing

__all__ = ["evaluate", "EvalResult", "evaluate_checkpoint", "Prediction", "predict_images", "load_trained_model",
           "EVAL_BATCH_SIZE"]

EVAL_BATCH_SIZE = 500


@dataclass
class EvalResult:
    loss: float      # mean cross-entropy
    accuracy: float  # fraction correct
    count: int       # images evaluated


def evaluate(model, loader, on_batch=None) -> EvalResult:
    """Mean cross-entropy and accuracy of ``model`` over ``loader``, in eval mode without a graph.

    ``on_batch(done_batches)`` is called after each batch (a progress bar). The model is left
    in eval mode; a training loop switches it back.
    """
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    with no_grad():
        for done, (images, labels) in enumerate(loader, 1):
            logits = model(images)
            loss_sum += float(F.cross_entropy(logits, labels, reduction="sum").item())
            correct += int((logits._data.argmax(axis=1) == labels._data).sum())
            count += len(labels)
            if on_batch is not None:
                on_batch(done)
    return EvalResult(loss_sum / max(count, 1), correct / max(count, 1), count)


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


def evaluate_checkpoint(path, data=None, data_root=None, batch_size: int = EVAL_BATCH_SIZE,
                        workers: int = 0) -> tuple[EvalResult, str]:
    """Test loss and accuracy of a checkpoint on its recorded test split (or on ``data``).

    Returns the result and a description of the data.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise TrainingError(f"--batch-size must be a positive integer, got {batch_size}")
    if workers < 0:
        raise TrainingError(f"--workers must be >= 0, got {workers}")
    payload, model, preprocessing, classes = load_trained_model(path)
    config = payload["config"]
    same_data = data is None or data == config.get("data")
    datasets = load_datasets(
        config["data"] if data is None else data, data_root or config.get("data_root"),
        seed=int(config.get("seed", 0)), test_samples=config.get("test_samples") if same_data else None,
        image_size=config.get("image_size"), channels=config.get("channels"), pad=preprocessing.pad,
        preprocessing=preprocessing, need_train=False)
    top_label = int(datasets.test.labels.max())
    if top_label >= len(classes):
        raise TrainingError(f"{datasets.description}: label {top_label} found, but the model of '{path}' "
                            f"knows {len(classes)} classes")
    result = evaluate(model, evaluation_loader(datasets.test, batch_size, workers))
    return result, datasets.description


@dataclass
class Prediction:
    path: str
    top: list  # [(class name, probability)], most likely first


def predict_images(path, images, top_k: int = 3, strict: bool = False) -> list[Prediction]:
    """Top-k classes and probabilities for each image file.

    Every image is read and converted (grey/RGB, resized to the trained size) before any is
    classified, so a bad file stops the command before it prints anything. With ``strict``,
    an image must already have the model's size and channels.
    """
    payload, model, preprocessing, classes = load_trained_model(path)
    if top_k < 1:
        raise TrainingError(f"--top-k must be at least 1, got {top_k}")
    arrays = []
    for image_path in images:
        try:
            with Image.open(image_path) as image:
                image.load()
                if strict:
                    _check_fits(image, preprocessing, image_path)
                arrays.append(preprocessing.prepare_image(image, str(image_path)))
        except FileNotFoundError:
            raise TrainingError(f"image file '{image_path}' does not exist") from None
        except (OSError, ValueError, SyntaxError) as e:
            raise TrainingError(f"cannot read image file '{image_path}': {one_line(e)}") from None
    if not arrays:
        return []
    batch = Tensor._from_array(preprocessing.apply(np.stack(arrays)))
    with no_grad():
        probabilities = F.softmax(model(batch), dim=1)._data
    k = min(top_k, len(classes))
    predictions = []
    for image_path, p in zip(images, probabilities):
        order = np.argsort(-p, kind="stable")[:k]
        predictions.append(Prediction(str(image_path), [(classes[i], float(p[i])) for i in order]))
    return predictions


def _check_fits(image: Image.Image, preprocessing: Preprocessing, source) -> None:
    from .preprocess import image_channels
    channels = image_channels(image)
    if (image.size[1], image.size[0]) != (preprocessing.height, preprocessing.width) or \
            channels != preprocessing.channels:
        raise TrainingError(f"image '{source}' is {image.size[1]}x{image.size[0]} with {channels} channel(s), "
                            f"the model takes {preprocessing.describe()} ({preprocessing.channels} channel(s)); "
                            "leave out --strict to convert it")
