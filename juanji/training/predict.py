"""``juanji predict``: the top-k classes of image files, prepared exactly as the training images were.

Inputs are files, folders (every image inside, recursively, in sorted order) and glob patterns
(``'photos/*.jpg'``, quoted so the shell leaves them alone). A file that cannot be read is
reported and skipped; the others are still predicted.

Each image is converted to the model's channels (grey or RGB), resized (bilinear) to its size,
optionally inverted (``--invert``: ``v -> 255 - v``), then normalised with the training mean
and standard deviation. :func:`describe_preparation` states once what was done.

A model learns the look of its training images. Fashion-MNIST is light clothes on a black
background; a photo of a dark shoe on a white table is the opposite, and the model's answer
means little. :func:`statistics_warning` flags an image whose mean brightness is far from the
training images' (and says whether inverting it would bring it close).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from ..vision.datasets.folder import IMG_EXTENSIONS
from .errors import TrainingError, one_line
from .inference import load_trained_model
from .preprocess import GREY_MODES, Preprocessing, image_channels

__all__ = ["Prediction", "Predictions", "predict_images", "expand_inputs", "describe_preparation",
           "statistics_warning", "BRIGHTNESS_TOLERANCE"]

# how far (on the 0..1 scale) an image's mean brightness may be from the training images' mean
BRIGHTNESS_TOLERANCE = 0.25


@dataclass
class Prediction:
    path: str
    top: list  # [(class name, probability)], most likely first


@dataclass
class Predictions:
    """What ``juanji predict`` reports: the predictions, the skipped files and the notes."""

    predictions: list = field(default_factory=list)
    skipped: list = field(default_factory=list)       # [(path, reason)]
    preparation: str = ""                              # what was done to the images, said once
    warnings: list = field(default_factory=list)       # statistics far from the training data's


def expand_inputs(inputs) -> list:
    """Files as given, folders as their image files (recursively, sorted), globs as their matches.
    A name that is none of these stays as it is (reading it then reports it missing)."""
    paths = []
    for item in map(os.fspath, inputs):
        if os.path.isdir(item):
            found = [os.path.join(root, name) for root, _, names in os.walk(item) for name in names
                     if name.lower().endswith(IMG_EXTENSIONS)]
            if not found:
                raise TrainingError(f"folder '{item}' holds no image files ({', '.join(IMG_EXTENSIONS)})")
            paths += sorted(found)
        elif not os.path.exists(item) and glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            if not matches:
                raise TrainingError(f"no file matches '{item}'")
            paths += matches
        else:
            paths.append(item)
    return paths


@dataclass
class _Read:
    path: str
    array: np.ndarray    # uint8 in the model's format, before normalisation
    size: tuple          # (width, height) as read
    mode: str            # Pillow mode as read


def _read(path: str, preprocessing: Preprocessing, strict: bool, invert: bool) -> _Read:
    with Image.open(path) as image:
        image.load()
        if strict:
            _check_fits(image, preprocessing, path)
        array = preprocessing.prepare_image(image, path)
        read = _Read(path, array, image.size, image.mode)
    if invert:
        read.array = 255 - read.array
    return read


def describe_preparation(reads: list, preprocessing: Preprocessing, invert: bool) -> str:
    """One sentence: the model's input, and what was done to how many images."""
    pre = preprocessing
    target = (pre.width, pre.height)
    kind = "grey" if pre.channels == 1 else "RGB"
    resized = sorted({f"{w}x{h}" for w, h in (r.size for r in reads) if (w, h) != target})
    converted = sum(1 for r in reads if (1 if r.mode in GREY_MODES else 3) != pre.channels)
    steps = []
    n_resized = sum(1 for r in reads if r.size != target)
    if n_resized:
        sizes = ", ".join(resized[:3]) + (" ..." if len(resized) > 3 else "")
        how = f"resized (bilinear, shorter side to {pre.resize}) and centre-cropped" if pre.resize else "resized (bilinear)"
        steps.append(f"{n_resized} of {len(reads)} {how} from {sizes} (width x height)")
    if converted:
        steps.append(f"{converted} converted to {kind}")
    if invert:
        steps.append("all inverted (--invert)")
    mean = ", ".join(f"{m:.4f}" for m in pre.mean)
    std = ", ".join(f"{s:.4f}" for s in pre.std)
    done = "; ".join(steps) if steps else "none needed resizing or converting"
    whose = "the pretrained weights' preset" if pre.resize else "the training"
    return (f"preprocessing as in training: {pre.height}x{pre.width} {kind}"
            + (f", padded by {pre.pad}" if pre.pad else "")
            + f", normalised with {whose} mean {mean} and std {std}; {done}")


def statistics_warning(read: _Read, preprocessing: Preprocessing, invert: bool) -> str | None:
    """A warning when the image's mean brightness (0..1, after any --invert) is more than
    ``BRIGHTNESS_TOLERANCE`` from the training images' mean; None when it is close."""
    train_mean = float(np.mean(preprocessing.mean))
    mean = float(read.array.mean()) / 255.0
    if abs(mean - train_mean) <= BRIGHTNESS_TOLERANCE:
        return None
    hint = ""
    if abs((1.0 - mean) - train_mean) <= BRIGHTNESS_TOLERANCE:
        hint = "; it looks inverted (e.g. dark on light where training was light on dark): " + \
               ("leave out --invert" if invert else "try --invert")
    return (f"{read.path}: mean brightness {mean:.2f}, far from the training images' {train_mean:.2f}, "
            f"so the prediction may mean little{hint}")


def predict_images(path, images, top_k: int = 3, strict: bool = False, invert: bool = False) -> Predictions:
    """Top-k classes and probabilities for each readable image file (see the module docstring).

    ``images``: files, folders and glob patterns. An unreadable or missing file is skipped and
    listed in ``skipped``; when none can be read, the first problem is raised as a TrainingError.
    With ``strict``, an image must already have the model's size and channels.
    """
    from .run_folder import trained_checkpoint
    if top_k < 1:
        raise TrainingError(f"--top-k must be at least 1, got {top_k}")
    path = trained_checkpoint(path)
    payload, model, preprocessing, classes = load_trained_model(path)
    result = Predictions()
    reads = []
    for image_path in expand_inputs(images):
        try:
            reads.append(_read(image_path, preprocessing, strict, invert))
        except FileNotFoundError:
            result.skipped.append((image_path, f"image file '{image_path}' does not exist"))
        except TrainingError as e:
            if strict:
                raise
            result.skipped.append((image_path, str(e)))
        except (OSError, ValueError, SyntaxError) as e:
            result.skipped.append((image_path, f"cannot read image file '{image_path}': {one_line(e)}"))
    if not reads:
        problems = [reason for _, reason in result.skipped]
        if len(problems) == 1:
            raise TrainingError(problems[0])
        raise TrainingError(f"none of the {len(problems)} images could be read (first: {problems[0]})")
    result.preparation = describe_preparation(reads, preprocessing, invert)
    result.warnings = [w for w in (statistics_warning(r, preprocessing, invert) for r in reads) if w]
    batch = Tensor._from_array(preprocessing.apply(np.stack([r.array for r in reads])))
    model.eval()
    with no_grad():
        probabilities = F.softmax(model(batch), dim=1)._data
    k = min(top_k, len(classes))
    for read, p in zip(reads, probabilities):
        order = np.argsort(-p, kind="stable")[:k]
        result.predictions.append(Prediction(read.path, [(classes[i], float(p[i])) for i in order]))
    return result


def _check_fits(image: Image.Image, preprocessing: Preprocessing, source) -> None:
    channels = image_channels(image)
    if (image.size[1], image.size[0]) != (preprocessing.height, preprocessing.width) or \
            channels != preprocessing.channels:
        raise TrainingError(f"image '{source}' is {image.size[1]}x{image.size[0]} with {channels} channel(s), "
                            f"the model takes {preprocessing.describe()} ({preprocessing.channels} channel(s)); "
                            "leave out --strict to convert it")
