"""``juanji explain`` on a segmentation checkpoint: how the transposed convolution turns the coarse
class-score map back into a class for every pixel (``upsampling.png``).

A fully convolutional network ends with class scores on a coarse grid: d2l's FCN reads a
96 x 96 image down to 3 x 3 cells (stride 32), and its 1 x 1 convolution gives every cell a score
per class. The last layer, a transposed convolution with stride ``s``, kernel ``2s`` and padding
``s / 2``, paints every coarse score onto the fine grid as a copy of its kernel scaled by the
score, the copies ``s`` pixels apart and overlapping; where they overlap they add up::

    up[c, y, x] = bias[c] + sum_{c', i, j} score[c', i, j] * W[c', c, y + p - s i, x + p - s j]

Initialised with the bilinear kernel (``nn.init.bilinear_``: channel ``c`` feeds only ``c``,
through the tent ``(1 - |u - centre| / s)(1 - |v - centre| / s)``), this is exactly bilinear
interpolation of each class's score map; training may change the kernel, and the picture says
how far it moved from bilinear.

The picture, for one image and the class ``c`` the network finds most of (background aside):

    image | coarse scores of class c (values in the cells) | the kernel W[c, c] (its profile below)
    coarse classes (arg-max per cell) | upsampled scores of class c | upsampled classes over the image
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["explain_upsampling", "UpsamplingReport"]


@dataclass
class UpsamplingReport:
    title: str
    image: str
    prediction: str
    path: str
    layer: str
    caption: str


def _last_transposed(model):
    from ..nn import ConvTranspose2d
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, ConvTranspose2d)]
    return found[-1] if found else (None, None)


def _scene_image(preprocessing):
    from ..vision.datasets.scenes import SCENE_CLASSES, _split, render_scene
    split = _split(False)
    size = preprocessing.height
    image, mask = render_scene(split["background"][0], split["noise"][0], split["object_index"][0],
                               split["objects"][0], split["garments"], split["garment_labels"], size)
    present = ", ".join(SCENE_CLASSES[c] for c in np.unique(mask) if c)
    return image, f"the embedded scenes' test scene 0 ({present} on a background)"


def _read_image(path, preprocessing):
    from PIL import Image

    from ..training.errors import TrainingError, one_line
    try:
        with Image.open(path) as picture:
            picture.load()
            return (preprocessing.prepare_image(picture, str(path)),
                    f"{path} ({picture.size[0]}x{picture.size[1]} {picture.mode})")
    except FileNotFoundError:
        raise TrainingError(f"image file '{path}' does not exist") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise TrainingError(f"cannot read image file '{path}': {one_line(e)}") from None


def _heatmap(ax, values, title, vmin, vmax, annotate=False):
    shown = ax.imshow(values, cmap="RdBu_r", vmin=vmin, vmax=vmax, interpolation="nearest")
    if annotate:
        for (y, x), v in np.ndenumerate(values):
            ax.text(x, y, f"{v:.1f}", ha="center", va="center", fontsize=8,
                    color="white" if abs(v) > 0.6 * max(abs(vmin), abs(vmax)) else "black")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def explain_upsampling(target: str, image=None, out=None) -> UpsamplingReport:
    """Write ``upsampling.png`` for a segmentation checkpoint or run folder (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from ..autograd import no_grad
    from ..checkpoint import atomic_write_bytes
    from ..nn.init import bilinear_kernel
    from ..tensor import Tensor
    from ..training.errors import TrainingError
    from ..training.inference import load_trained_model
    from ..training.run_folder import trained_checkpoint, writing
    from ..training.segment_predict import class_palette, overlay

    path = trained_checkpoint(target)
    payload, model, preprocessing, classes = load_trained_model(path)
    name = payload["model"]["name"]
    layer, up = _last_transposed(model)
    if up is None:
        raise TrainingError(f"explain: {name} has no transposed convolution (it upsamples with bilinear "
                            "interpolation); the picture needs fcn_resnet18_d2l or fcn8s_resnet18")
    raw, described = _read_image(image, preprocessing) if image is not None else _scene_image(preprocessing)
    captured = {}
    handle = up.register_forward_hook(lambda module, inputs, output: captured.update(x=inputs[0], y=output))
    try:
        with no_grad():
            model(Tensor._from_array(preprocessing.apply(raw[None])))
    finally:
        handle.remove()
    coarse, fine = captured["x"].numpy()[0], captured["y"].numpy()[0]     # [K, h, w], [K, H, W]
    fine_classes, coarse_classes = fine.argmax(0), coarse.argmax(0)
    counts = np.bincount(fine_classes.ravel(), minlength=len(classes))
    objects = counts[1:]
    c = int(1 + objects.argmax()) if objects.any() else int(counts.argmax())
    weight = up.weight.detach().numpy()                                 # [K_in, K_out, k, k]
    kernel = weight[c, c]
    bilinear = bilinear_kernel(kernel.shape)
    moved = float(np.abs(kernel - bilinear).max())
    off_diagonal = float(np.abs(weight - np.einsum("ij,kl->ijkl", np.eye(*weight.shape[:2]), bilinear)).max())
    stride, padding = up.stride[0], up.padding[0]
    palette = class_palette(len(classes))

    figure = Figure(figsize=(12, 8.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 3)
    axes[0, 0].imshow(raw, interpolation="nearest")
    axes[0, 0].set_title(f"image {raw.shape[0]}x{raw.shape[1]}", fontsize=9)
    axes[0, 0].set_xticks([])
    axes[0, 0].set_yticks([])
    limit = float(max(np.abs(coarse[c]).max(), np.abs(fine[c]).max(), 1e-6))
    h, w = coarse.shape[1:]
    shown = _heatmap(axes[0, 1], coarse[c], f"coarse scores of '{classes[c]}': {h}x{w} cells\n(the input of {layer})",
                     -limit, limit, annotate=h * w <= 64)
    figure.colorbar(shown, ax=axes[0, 1], fraction=0.046, pad=0.04)
    k = kernel.shape[0]
    klim = float(max(np.abs(kernel).max(), 1e-6))
    shown = _heatmap(axes[0, 2], kernel, f"{layer}.weight[{c}, {c}]: {k}x{k} kernel, stride {stride}, "
                                         f"padding {padding}\nlargest change from bilinear: {moved:.3f}",
                     -klim, klim)
    figure.colorbar(shown, ax=axes[0, 2], fraction=0.046, pad=0.04)
    profile = axes[0, 2].inset_axes([0.0, -0.32, 1.0, 0.25])
    profile.plot(kernel[k // 2], color="tab:red", label="kernel, middle row")
    profile.plot(bilinear[k // 2], "--", color="grey", label="bilinear (initial)")
    profile.legend(fontsize=7, loc="upper right", frameon=False)
    profile.tick_params(labelsize=7)
    axes[1, 0].imshow(palette[coarse_classes], interpolation="nearest")
    axes[1, 0].set_title(f"coarse classes (arg-max per cell): {h}x{w}", fontsize=9)
    axes[1, 0].set_xticks([])
    axes[1, 0].set_yticks([])
    shown = _heatmap(axes[1, 1], fine[c], f"upsampled scores of '{classes[c]}': {fine.shape[1]}x{fine.shape[2]}\n"
                                          "(every cell's score times the kernel, added up)", -limit, limit)
    figure.colorbar(shown, ax=axes[1, 1], fraction=0.046, pad=0.04)
    axes[1, 2].imshow(overlay(raw, fine_classes.astype(np.uint8), len(classes)), interpolation="nearest")
    axes[1, 2].set_title("upsampled classes (arg-max per pixel) over the image", fontsize=9)
    axes[1, 2].set_xticks([])
    axes[1, 2].set_yticks([])
    figure.legend(handles=[Patch(facecolor=palette[i] / 255.0, edgecolor="grey", label=n)
                           for i, n in enumerate(classes)], loc="lower center", ncol=min(len(classes), 8),
                  fontsize=8, frameon=False)
    figure.suptitle(f"{name}: the transposed convolution {layer} upsamples the class scores x{stride}", fontsize=11)
    # why the bottom-right classes need not be the bottom-left cells enlarged
    figure.text(0.5, 0.04, "the scores of every class are upsampled, then each pixel takes the largest: between "
                "cell centres a class can win that won no cell;\na trained kernel also mixes classes (largest "
                f"weight off the bilinear diagonal pattern: {off_diagonal:.3f}) and adds a bias per class",
                ha="center", fontsize=8, color="dimgrey")
    figure.subplots_adjust(left=0.02, right=0.95, bottom=0.1, top=0.9, wspace=0.3, hspace=0.5)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    out = out or os.path.join(os.path.dirname(os.path.abspath(path)), "explain")
    picture = os.path.join(out, "upsampling.png")
    with writing(out):
        os.makedirs(out, exist_ok=True)
    with writing(picture):
        atomic_write_bytes(picture, buffer.getvalue())
    share = counts[c] / fine_classes.size
    caption = (f"{layer}: {h}x{w} -> {fine.shape[1]}x{fine.shape[2]} (stride {stride}); kernel [{c}, {c}] differs from "
               f"bilinear by at most {moved:.3f} (all weights: {off_diagonal:.3f})")
    return UpsamplingReport(title=f"{name} from {path}", image=described,
                            prediction=f"{classes[c]} on {100 * share:.0f}% of the pixels" if objects.any() else
                            f"{classes[c]} everywhere", path=picture, layer=layer, caption=caption)


def run_explain(args) -> bool:
    """``juanji explain`` for a segmentation checkpoint (False: not one)."""
    from ..checkpoint import load_checkpoint
    from ..training.run_folder import trained_checkpoint
    from ..training.tasks import task_of
    from .command import is_checkpoint
    if not is_checkpoint(args.model):
        return False
    path = trained_checkpoint(args.model)
    if task_of(load_checkpoint(path).get("config")).name != "segmentation":
        return False
    report = explain_upsampling(path, image=args.image, out=args.out)
    print(report.title)
    print(f"image: {report.image}")
    print(f"predicted: {report.prediction}")
    print(f"upsampling: {report.path}  ({report.caption})")
    return True
