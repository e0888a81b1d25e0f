"""``juanji predict`` for a segmentation checkpoint: a class for every pixel, as pictures.

For each image (files, folders, globs, as for classification):

1. the image is resized (bilinear) to the training size and normalised as in training;
2. the network gives class scores ``[K, h, w]``; they are resized (bilinear, as torchvision's
   FCN does) to the image's own size ``H x W`` and each pixel takes its highest-scoring class;
3. ``NAME-mask.png``: the predicted classes as a palette PNG at the image's size: each pixel's
   value is its class index (VOC's format: it reads back with ``np.asarray(Image.open(...))``)
   and the palette gives every class a fixed colour (:func:`class_palette`);
4. ``NAME-overlay.png``: the image, the coloured mask and the mask laid over the image at half
   opacity, side by side, with a legend of the class names, their colours and each class's share
   of the pixels.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor
from ..vision.datasets.scenes import SCENE_PALETTE
from ..vision.datasets.voc import voc_palette
from .errors import TrainingError, one_line
from .predict import expand_inputs

__all__ = ["class_palette", "mask_image", "overlay", "predict_segmentation", "SegmentationPrediction"]

OVERLAY_OPACITY = 0.5
VOID_COLOUR = (224, 224, 192)   # VOC's colour for the ignore label 255


def class_palette(num_classes: int) -> np.ndarray:
    """uint8 ``[256, 3]``: a fixed colour per class index (the scenes' six colours, background
    black, for up to 6 classes; VOC's colour map for more), 255 in VOC's 'void' cream."""
    palette = voc_palette()
    if num_classes <= len(SCENE_PALETTE):
        palette[:len(SCENE_PALETTE)] = SCENE_PALETTE
    palette[255] = VOID_COLOUR
    return palette


def mask_image(mask: np.ndarray, num_classes: int) -> Image.Image:
    """A class-index mask ``[H, W]`` as a palette ('P') PIL image."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    out = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    out.putpalette(class_palette(num_classes).reshape(-1).tolist())
    return out


def overlay(image: np.ndarray, mask: np.ndarray, num_classes: int, opacity: float = OVERLAY_OPACITY) -> np.ndarray:
    """``(1 - opacity) * image + opacity * colour(mask)`` where the class is not background (0);
    background pixels keep the image as it is, so the objects stand out."""
    colours = class_palette(num_classes)[mask].astype(np.float64)
    blended = (1 - opacity) * image.astype(np.float64) + opacity * colours
    out = np.where((mask != 0)[..., None], blended, image.astype(np.float64))
    return np.round(out).astype(np.uint8)


@dataclass
class SegmentationPrediction:
    path: str
    mask_path: str
    overlay_path: str
    shares: list      # [(class name, share of the pixels)], largest first, classes present only


@dataclass
class SegmentationPredictions:
    predictions: list = field(default_factory=list)
    skipped: list = field(default_factory=list)      # [(path, reason)]
    legend: str = ""


def _figure(image, mask, classes, title) -> bytes:
    """image | mask | overlay with a legend of the classes (share of pixels in brackets)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    palette = class_palette(len(classes))
    figure = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    titles = ("image", "predicted class of every pixel", "prediction over the image (background untinted)")
    for ax, picture, name in zip(axes, (image, palette[mask], overlay(image, mask, len(classes))), titles):
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    counts = np.bincount(mask.ravel(), minlength=len(classes))
    handles = [Patch(facecolor=palette[c] / 255.0, edgecolor="grey",
                     label=f"{name} ({100 * counts[c] / mask.size:.0f} %)" if counts[c] else f"{name} (-)")
               for c, name in enumerate(classes)]
    figure.legend(handles=handles, loc="center right", fontsize=9, title="class (share of pixels)",
                  title_fontsize=9, frameon=False)
    figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.01, right=0.82, bottom=0.03, top=0.86, wspace=0.04)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def predict_segmentation(path, images, out=None) -> SegmentationPredictions:
    """Predict a mask for each readable image and write its two PNGs into ``out`` (default:
    ``predictions/`` in the checkpoint's run folder); unreadable files are skipped and listed."""
    from ..checkpoint import atomic_write_bytes
    from .inference import load_trained_model
    from .run_folder import trained_checkpoint, writing
    path = trained_checkpoint(path)
    payload, model, preprocessing, classes = load_trained_model(path)
    out = out or os.path.join(os.path.dirname(os.path.abspath(path)), "predictions")
    result = SegmentationPredictions()
    palette = class_palette(len(classes))
    result.legend = "colours: " + ", ".join(f"{name} {tuple(int(v) for v in palette[c])}"
                                            for c, name in enumerate(classes))
    model.eval()
    for image_path in expand_inputs(images):
        try:
            with Image.open(image_path) as opened:
                original = np.asarray(opened.convert("RGB"), dtype=np.uint8)
        except FileNotFoundError:
            result.skipped.append((image_path, f"image file '{image_path}' does not exist"))
            continue
        except (OSError, ValueError, SyntaxError) as e:
            result.skipped.append((image_path, f"cannot read image file '{image_path}': {one_line(e)}"))
            continue
        resized = preprocessing.prepare_image(Image.fromarray(original), image_path)
        with no_grad():
            output = model(Tensor._from_array(preprocessing.apply(resized[None])))
            scores = output["out"] if isinstance(output, dict) else output
            if tuple(scores.shape[2:]) != original.shape[:2]:
                scores = F.interpolate(scores, size=original.shape[:2], mode="bilinear", align_corners=False)
        mask = scores._data[0].argmax(axis=0).astype(np.uint8)
        stem = os.path.splitext(os.path.basename(image_path))[0]
        mask_path, overlay_path = (os.path.join(out, f"{stem}-{kind}.png") for kind in ("mask", "overlay"))
        with writing(out):
            os.makedirs(out, exist_ok=True)
        buffer = io.BytesIO()
        mask_image(mask, len(classes)).save(buffer, format="PNG")
        with writing(mask_path):
            atomic_write_bytes(mask_path, buffer.getvalue())
        with writing(overlay_path):
            atomic_write_bytes(overlay_path, _figure(original, mask, classes,
                                                     f"{os.path.basename(image_path)}: {payload['model']['name']} "
                                                     f"({os.path.basename(path)})"))
        counts = np.bincount(mask.ravel(), minlength=len(classes))
        order = np.argsort(-counts, kind="stable")
        shares = [(classes[c], counts[c] / mask.size) for c in order if counts[c]]
        result.predictions.append(SegmentationPrediction(image_path, mask_path, overlay_path, shares))
    if not result.predictions:
        problems = [reason for _, reason in result.skipped]
        if len(problems) == 1:
            raise TrainingError(problems[0])
        raise TrainingError(f"none of the {len(problems)} images could be read (first: {problems[0]})")
    return result


def run_predict(args) -> bool:
    """``juanji predict`` for a segmentation checkpoint (False: not one)."""
    from ..checkpoint import load_checkpoint
    from .run_folder import trained_checkpoint
    from .tasks import task_of
    path = trained_checkpoint(args.checkpoint)
    if task_of(load_checkpoint(path).get("config")).name != "segmentation":
        return False
    result = predict_segmentation(path, args.images, out=getattr(args, "out", None))
    import sys
    for _, reason in result.skipped:
        print(f"juanji predict: skipped: {reason}", file=sys.stderr)
    print(result.legend)
    for p in result.predictions:
        shares = ", ".join(f"{name} {100 * share:.0f}%" for name, share in p.shares)
        print(f"{p.path}: {shares}")
        print(f"  mask: {p.mask_path}")
        print(f"  overlay: {p.overlay_path}")
    return True
