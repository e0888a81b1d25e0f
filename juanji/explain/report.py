"""``juanji explain CHECKPOINT_OR_MODEL [--image FILE]``: the pictures that show what a trained
network computes, for one image prepared exactly as its training images were.

    juanji explain runs/lenet5-sample                 # the run's best checkpoint, a sample image
    juanji explain runs/lenet5-sample --image shoe.png
    juanji explain resnet20 --out resnet20-pictures   # a zoo model, untrained

Writes, into ``--out`` (default: the run folder's ``explain/``, or ``explain-MODEL/``):

    kernels.png          the first convolution's kernels, one colour scale around 0
    feature_maps.png     the image and the outputs of up to four convolution layers, channel
                         numbers on the maps, a colour bar per row
    receptive_field.png  the receptive field of a central unit of the last convolution drawn on
                         the image, and its effective receptive field (the gradient), colour bar
    saliency.png         which pixels the predicted class's score depends on most, colour bar

The image is ``--image`` (converted to the model's channels and size, normalised with the
checkpoint's statistics), or else a test image of the Fashion-MNIST sample that ships with
juanji, prepared the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["explain", "Report"]


@dataclass
class Report:
    title: str
    image: str                                   # where the image came from, and how it was prepared
    prediction: str                              # the model's answer for it
    pictures: list = field(default_factory=list)  # [(what, Picture)]


def _model(target: str, model_args: dict):
    """``(model, preprocessing or None, classes or None, title, default out folder)``."""
    from ..training.preprocess import Preprocessing
    from .command import is_checkpoint, model_and_input
    model, size, title = model_and_input(target, model_args)
    if is_checkpoint(target):
        from ..checkpoint import load_checkpoint
        from ..training.run_folder import trained_checkpoint
        path = trained_checkpoint(target)
        payload = load_checkpoint(path)
        return (model, Preprocessing.from_dict(payload["preprocessing"]), [str(c) for c in payload["classes"]],
                title, os.path.join(os.path.dirname(os.path.abspath(path)), "explain"))
    channels, height, width = size
    # an untrained zoo model: normalise as the embedded sample's statistics would (any is arbitrary)
    pre = Preprocessing(channels=channels, height=height, width=width, mean=(0.2860,) * channels,
                        std=(0.3530,) * channels)
    return model, pre, None, title, f"explain-{target.lower()}"


def _image(preprocessing, image_path):
    """``(normalised image [C, H, W] float32, description)``."""
    from PIL import Image

    from ..training.errors import TrainingError, one_line
    if image_path is not None:
        try:
            with Image.open(image_path) as picture:
                picture.load()
                raw = preprocessing.prepare_image(picture, str(image_path))
                described = f"{image_path} ({picture.size[0]}x{picture.size[1]} {picture.mode})"
        except FileNotFoundError:
            raise TrainingError(f"image file '{image_path}' does not exist") from None
        except (OSError, ValueError, SyntaxError) as e:
            raise TrainingError(f"cannot read image file '{image_path}': {one_line(e)}") from None
    else:
        from ..vision.datasets import load_sample
        from ..vision.datasets.mnist import FashionMNIST
        images, labels = load_sample(train=False)
        raw = preprocessing.prepare_image(Image.fromarray(images[0]), "the sample")
        described = f"the Fashion-MNIST sample's test image 0 (a {FashionMNIST.classes[int(labels[0])]})"
    kind = "grey" if preprocessing.channels == 1 else "RGB"
    return (preprocessing.apply(raw[None])[0],
            f"{described}, prepared as the training images: {kind} {preprocessing.height}x{preprocessing.width}, "
            "normalised with their mean and std")


def _convolutions(model) -> list:
    from .windows import CONV_LAYERS
    return [name for name, module in model.named_modules() if isinstance(module, CONV_LAYERS)]


def _spread(names: list, count: int) -> list:
    """Up to ``count`` of ``names``, evenly spread, the first and the last included."""
    if len(names) <= count:
        return names
    picks = np.linspace(0, len(names) - 1, count).round().astype(int)
    return [names[i] for i in sorted(set(picks))]


def explain(target: str, image=None, out=None, model_args=None) -> Report:
    """Draw the four pictures for a checkpoint / run folder / zoo model name (see the module docstring)."""
    from ..tensor import Tensor
    from . import pictures
    from .saliency import saliency_map

    model, preprocessing, classes, title, default_out = _model(target, dict(model_args or {}))
    model.eval()
    array, described = _image(preprocessing, image)
    batch = Tensor._from_array(np.ascontiguousarray(array[None]))
    out = out or default_out
    os.makedirs(out, exist_ok=True)
    convolutions = _convolutions(model)
    if not convolutions:
        raise ValueError(f"explain: {type(model).__name__} has no 2-d convolution layer to show")
    report = Report(title=title, image=described, prediction="")
    result = saliency_map(model, batch)
    name = classes[result.target] if classes else f"class {result.target}"
    report.prediction = f"{name} ({100 * result.probabilities[result.target]:.1f}%)"
    report.pictures.append(("kernels", pictures.plot_kernels(model, os.path.join(out, "kernels.png"))))
    report.pictures.append(("feature maps", pictures.plot_feature_maps(
        model, batch, _spread(convolutions, 4), os.path.join(out, "feature_maps.png"))))
    report.pictures.append(("receptive field", pictures.plot_receptive_field(
        model, batch, convolutions[-1], os.path.join(out, "receptive_field.png"))))
    report.pictures.append(("saliency", pictures.plot_saliency(model, batch, os.path.join(out, "saliency.png"),
                                                               classes=classes)))
    return report
