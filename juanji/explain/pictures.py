"""Pictures of what a CNN learned and computes, written as PNG files.

- :func:`plot_kernels`: a layer's kernels as a grid of small images, on one colour scale that
  is symmetric around zero (so a weight of 0 is always the same neutral colour, and positive
  and negative weights of equal size look equally strong).
- :func:`plot_feature_maps`: the input and the activations (feature maps) of chosen layers for
  one image, one row per layer, captured with forward hooks.
- :func:`plot_receptive_field`: the receptive field of one unit of a layer drawn on the input,
  next to its *effective* receptive field: how strongly each input pixel moves that unit, the
  gradient of the unit with respect to the input (computed in ``effective_receptive_field.py``).
- :func:`plot_saliency`: the input and how strongly each pixel moves the predicted class's
  score (computed in ``saliency.py``).

Each function returns a :class:`Picture` (the path and the grid's rows and columns). They draw
on matplotlib's Agg canvas directly (no pyplot), so they work without a display and leave
matplotlib's global state alone.

    >>> import os, tempfile
    >>> from juanji import nn
    >>> from juanji.explain import plot_kernels
    >>> picture = plot_kernels(nn.Conv2d(1, 6, 5), os.path.join(tempfile.mkdtemp(), "kernels.png"))
    >>> picture.rows, picture.cols, os.path.exists(picture.path)
    (2, 3, True)
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .. import nn
from ..tensor import Tensor
from ._probe import as_array as _array, check_layers as _check_layers, image_batch as _image_batch, layer_outputs
from .effective_receptive_field import effective_receptive_field, unit_position
from .summary import summary
from .windows import CONV_LAYERS, CONV_TRANSPOSE_LAYERS

__all__ = ["Picture", "plot_kernels", "plot_feature_maps", "plot_receptive_field", "plot_saliency",
           "figure_inches", "CELL_INCHES", "DPI"]

CELL_INCHES = 1.0    # each small image of a grid gets a square this size
DPI = 100
_MARGIN_INCHES = (1.0, 0.9)   # (width, height) added around a grid: labels, colour bar, title
_MIN_WIDTH_INCHES = 4.0       # room for the title above a narrow grid


def figure_inches(rows: int, cols: int) -> tuple:
    """(width, height) in inches of a picture of a rows x cols grid: ``CELL_INCHES`` per cell
    plus margins, at least ``_MIN_WIDTH_INCHES`` wide. At ``DPI`` dots per inch this is the
    PNG's size in pixels."""
    width = max(cols * CELL_INCHES + _MARGIN_INCHES[0], _MIN_WIDTH_INCHES)
    return width, rows * CELL_INCHES + _MARGIN_INCHES[1]


class Picture(NamedTuple):
    """A written picture: its path and the grid's shape."""

    path: str
    rows: int
    cols: int


def _figure(rows: int, cols: int) -> Figure:
    """A figure sized for a rows x cols grid (``CELL_INCHES`` per cell plus margins)."""
    figure = Figure(figsize=figure_inches(rows, cols), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path, rows: int, cols: int) -> Picture:
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png")
    return Picture(path, rows, cols)


def _grid_axes(figure: Figure, rows: int, cols: int, right: float = 0.98, left_inches: float = 0.6):
    # fixed margins (not tight_layout) keep the picture's size exactly the grid's
    left = left_inches / figure.get_figwidth()
    bottom = 0.2 / figure.get_figheight()
    top = 1 - 0.6 / figure.get_figheight()
    axes = figure.subplots(rows, cols, squeeze=False,
                           gridspec_kw=dict(left=left, right=right, bottom=bottom, top=top, wspace=0.15,
                                            hspace=0.35))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return axes


# -- kernels ------------------------------------------------------------------------------------

def _first_conv(model):
    for name, module in model.named_modules():
        if isinstance(module, CONV_LAYERS + CONV_TRANSPOSE_LAYERS):
            return name, module
    return None, None


def _kernel_weight(source):
    """(weight array, title) from a conv layer, a model (its first conv layer) or a weight."""
    if isinstance(source, nn.Module):
        if isinstance(source, CONV_LAYERS + CONV_TRANSPOSE_LAYERS):
            name, conv, title = "", source, type(source).__name__
        else:
            name, conv = _first_conv(source)
            if conv is None:
                raise ValueError(f"plot_kernels: {type(source).__name__} has no convolution layer to draw")
            title = f"{type(source).__name__}.{name} ({type(conv).__name__})"
        weight = _array(conv.weight)
        if isinstance(conv, CONV_TRANSPOSE_LAYERS):
            # stored [C_in, C_out/G, ...]: swap so that rows are output channels, as for a convolution
            weight = weight.swapaxes(0, 1)
        return weight, title
    return _array(source), "weight"


def plot_kernels(conv_layer_or_weight, path, max_kernels: int = 64, cmap: str = "RdBu_r") -> Picture:
    """Draw a convolution's kernels as a grid of images and write it to ``path`` (PNG).

    ``conv_layer_or_weight`` is a Conv layer, a model (its first Conv layer is drawn) or a
    weight ``[C_out, C_in, kH, kW]`` (``[C_out, C_in, k]`` for 1-d kernels, drawn as strips).
    One kernel per cell when ``C_in`` is 1; with 3 input channels each kernel is one colour
    image (the first-layer filters of an RGB network: grey is 0); otherwise each row is one
    output channel and each column one input channel. At most ``max_kernels`` cells.

    All cells share one colour scale, symmetric around zero: ``[-m, m]`` with ``m`` the
    largest ``|w|``, on the diverging colour map ``cmap`` (red positive, blue negative).
    """
    weight, title = _kernel_weight(conv_layer_or_weight)
    if weight.ndim == 3:
        weight = weight[:, :, None, :]   # 1-d kernels as one-pixel-high images
    if weight.ndim != 4:
        raise ValueError(f"plot_kernels: expected a Conv1d/Conv2d weight [C_out, C_in, kH, kW] or "
                         f"[C_out, C_in, k], got a weight of shape {list(weight.shape)}")
    if not isinstance(max_kernels, int) or max_kernels < 1:
        raise ValueError(f"plot_kernels: max_kernels must be a positive int, got {max_kernels!r}")
    n_out, n_in = weight.shape[:2]
    m = float(np.abs(weight).max()) or 1.0   # an all-zero weight still gets a valid scale
    rgb = n_in == 3
    if n_in == 1 or rgb:
        count = min(n_out, max_kernels)
        cols = math.ceil(math.sqrt(count))
        rows = math.ceil(count / cols)
        cells = [(o, None) for o in range(count)]
    else:
        cols = min(n_in, max_kernels)
        rows = max(1, min(n_out, max_kernels // cols))
        cells = [(o, i) for o in range(rows) for i in range(cols)]
    figure = _figure(rows, cols)
    axes = _grid_axes(figure, rows, cols, right=0.98 - 0.8 / figure.get_figwidth())
    image = None
    for ax, (o, i) in zip(axes.flat, cells):
        if rgb:
            # the shared symmetric scale as colours: -m -> 0, 0 -> 0.5 (grey), +m -> 1
            ax.imshow(np.clip(weight[o].transpose(1, 2, 0) / (2 * m) + 0.5, 0, 1), interpolation="nearest")
            ax.set_title(str(o), fontsize=7)
        else:
            image = ax.imshow(weight[o, 0 if i is None else i], cmap=cmap, vmin=-m, vmax=m,
                              interpolation="nearest", aspect="auto" if weight.shape[2] == 1 else "equal")
            ax.set_title(str(o) if i is None else f"{o},{i}", fontsize=7)
    for ax in axes.flat[len(cells):]:
        ax.set_axis_off()
    shown = f"{len(cells)} of {n_out * (1 if n_in == 1 or rgb else n_in)}"
    shown += "" if n_in == 1 or rgb else " (cells: output,input channel)"
    figure.suptitle(f"{title}\nkernels {list(weight.shape)}, {shown} shown, colour scale [-{m:.3g}, {m:.3g}]",
                    fontsize=8)
    if image is not None:
        colour_bar = figure.add_axes([1 - 0.7 / figure.get_figwidth(), 0.2 / figure.get_figheight(),
                                      0.15 / figure.get_figwidth(), 1 - 0.8 / figure.get_figheight()])
        figure.colorbar(image, cax=colour_bar).ax.tick_params(labelsize=7)
    return _save(figure, path, rows, cols)


# -- feature maps -----------------------------------------------------------------------------

def _capture(model, batch: Tensor, names: list) -> dict:
    """The first output of each named layer on ``batch`` as arrays (eval mode, no graph);
    None for a layer the forward pass did not reach."""
    outputs = layer_outputs(model, batch, names)
    return {name: _array(outputs[name]) if name in outputs else None for name in names}


def _planes(activation: np.ndarray) -> list:
    """The 2-d pictures of one sample's activation: a channel each for [C, H, W]; a strip per
    channel for [C, L]; one strip for a vector [F]."""
    sample = activation[0]
    if sample.ndim == 3:
        return list(sample)
    if sample.ndim == 2:
        return [channel[None, :] for channel in sample]
    if sample.ndim == 1:
        return [sample[None, :]]
    raise ValueError(f"expected a layer output [N, C, H, W], [N, C, L] or [N, F], got {list(activation.shape)}")


def plot_feature_maps(model, image, layer_names, path, max_channels: int = 16, cmap: str = "viridis") -> Picture:
    """Run ``model`` on one ``image`` and draw the outputs of ``layer_names`` (module paths as in
    ``named_modules()``, e.g. ``"0"`` or ``"layer1.0.conv1"``) to ``path`` (PNG).

    The first row is the input, then one row per layer with up to ``max_channels`` channels,
    each map titled with its channel number. The maps of one row share a colour scale (the
    row's minimum to maximum), drawn as a colour bar at the row's end, so brighter means more
    active within that layer. The model runs once in eval mode without recording a graph; its
    training flags are restored.
    """
    names = _check_layers("plot_feature_maps", model, layer_names)
    if not isinstance(max_channels, int) or max_channels < 1:
        raise ValueError(f"plot_feature_maps: max_channels must be a positive int, got {max_channels!r}")
    try:
        batch = _image_batch(image)
    except ValueError as error:
        raise ValueError(f"plot_feature_maps: {error}") from None
    captured = _capture(model, batch, names)
    missing = [n for n in names if captured.get(n) is None]
    if missing:
        raise ValueError(f"plot_feature_maps: the forward pass of {type(model).__name__} did not call "
                         f"{', '.join(missing)} (or it returned no Tensor)")
    rows_of_planes = [("input", _planes(_array(batch)))]
    for name in names:
        try:
            planes = _planes(captured[name])
        except ValueError as error:
            raise ValueError(f"plot_feature_maps: layer {name!r}: {error}") from None
        rows_of_planes.append((name, planes))
    rows = len(rows_of_planes)
    cols = min(max_channels, max(len(planes) for _, planes in rows_of_planes))
    figure = _figure(rows, cols)
    longest = max(len(name) for name, _ in rows_of_planes)   # room for the row labels (6-point type)
    axes = _grid_axes(figure, rows, cols, right=0.98 - 0.8 / figure.get_figwidth(),
                      left_inches=max(0.6, 0.06 * longest + 0.1))
    modules = dict(model.named_modules())
    for r, (name, planes) in enumerate(rows_of_planes):
        shown = planes[:cols]
        lo = min(float(p.min()) for p in shown)
        hi = max(float(p.max()) for p in shown)
        image = None
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(shown):
                ax.set_axis_off()
                continue
            image = ax.imshow(shown[c], cmap="gray" if name == "input" else cmap, vmin=lo, vmax=hi,
                              interpolation="nearest", aspect="auto" if shown[c].shape[0] == 1 else "equal")
            ax.set_title(f"ch {c}", fontsize=6, pad=2)
        kind = "input" if name == "input" else f"{name}\n{type(modules[name]).__name__}"
        axes[r, 0].set_ylabel(f"{kind}\n{len(planes)} ch", fontsize=6, rotation=0, ha="right", va="center")
        _row_colour_bar(figure, axes[r, 0], image, after=axes[r, len(shown) - 1])
    figure.suptitle(f"{type(model).__name__}: feature maps", fontsize=9)
    return _save(figure, path, rows, cols)


def _row_colour_bar(figure: Figure, row_axes, image, label: str = "", after=None) -> None:
    """A colour bar as tall as the row of ``row_axes``: just right of the axes ``after`` (the
    row's last map), or in the right margin."""
    box = row_axes.get_position()
    width = figure.get_figwidth()
    x = after.get_position().x1 + 0.1 / width if after is not None else 1 - 0.7 / width
    colour_bar = figure.add_axes([x, box.y0, 0.12 / width, box.height])
    bar = figure.colorbar(image, cax=colour_bar)
    bar.ax.tick_params(labelsize=6)
    if label:
        bar.set_label(label, fontsize=6)


# -- receptive fields -------------------------------------------------------------------------

def _show_image(ax, batch: Tensor) -> None:
    pixels = _array(batch)[0]
    lo, hi = float(pixels.min()), float(pixels.max())
    scaled = (pixels - lo) / (hi - lo) if hi > lo else np.zeros_like(pixels)
    if scaled.shape[0] == 3:
        ax.imshow(scaled.transpose(1, 2, 0), interpolation="nearest")
    else:
        ax.imshow(scaled.mean(axis=0), cmap="gray", interpolation="nearest", vmin=0, vmax=1)


def plot_receptive_field(model, image, layer_name: str, path, position=None) -> Picture:
    """Draw the receptive field of one unit of ``layer_name`` (at ``position``, default the centre
    of its output) on ``image`` (left), and its effective receptive field (right), to ``path``.

    The box is the theoretical field from ``summary`` (the part outside the image is padding);
    the right picture is :func:`effective_receptive_field`. Only 2-d layers can be drawn.
    """
    name = _check_layers("plot_receptive_field", model, layer_name)[0]
    try:
        batch = _image_batch(image)
    except ValueError as error:
        raise ValueError(f"plot_receptive_field: {error}") from None
    rows = [r for r in summary(model, input_data=batch).rows if r["name"] == name]
    field = rows[0]["receptive_field"] if rows else None
    if field is None or len(field["size"]) != 2:
        kind = type(dict(model.named_modules())[name]).__name__
        raise ValueError(f"plot_receptive_field: layer {name!r} ({kind}) has no known 2-d receptive field; "
                         "pick a convolution or pooling layer (or a block of them)")
    strength = effective_receptive_field(model, batch, name, position)
    position = unit_position(rows[0]["output_shape"], position, "plot_receptive_field")
    bounds = []
    for size, jump, start, p in zip(field["size"], field["jump"], field["start"], position):
        centre = start + p * jump
        bounds.append((centre - (size - 1) / 2, centre + (size - 1) / 2))
    (top, bottom), (left, right) = bounds
    figure = _figure(1, 2)
    figure.set_size_inches(2 * 2.5 + _MARGIN_INCHES[0], 2.5 + _MARGIN_INCHES[1])   # two large cells
    axes = _grid_axes(figure, 1, 2, right=0.98 - 0.8 / figure.get_figwidth())
    _show_image(axes[0, 0], batch)
    shown = axes[0, 1].imshow(strength, cmap="magma", interpolation="nearest")
    _row_colour_bar(figure, axes[0, 1], shown, "|d unit / d pixel|")
    height, width = strength.shape
    for ax in axes[0]:
        # pixel i covers [i - 0.5, i + 0.5]; the box may reach into the padding
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False,
                               edgecolor="#00e5ff", linewidth=1.5))
        ax.set_xlim(min(-0.5, left - 1), max(width - 0.5, right + 1))
        ax.set_ylim(max(height - 0.5, bottom + 1), min(-0.5, top - 1))
    axes[0, 0].set_title("receptive field", fontsize=8)
    axes[0, 1].set_title("effective: |d unit / d input|", fontsize=8)
    size = "x".join(str(s) for s in field["size"])
    beyond = any(s > n for s, n in zip(field["size"], (height, width)))
    figure.suptitle(f"{type(model).__name__}.{name}, unit {list(position)}: receptive field {size}"
                    + (f"\n(larger than the {height}x{width} image: the white is padding)" if beyond else ""),
                    fontsize=9)
    return _save(figure, path, 1, 2)


# -- saliency -----------------------------------------------------------------------------------

def plot_saliency(model, image, path, classes=None, target=None) -> Picture:
    """Draw ``image`` (left) and its saliency map for the predicted class, or ``target`` (right,
    with a colour bar) to ``path``; :func:`juanji.explain.saliency.saliency_map` computes it.
    ``classes`` names the classes in the title."""
    from .saliency import saliency_map
    try:
        batch = _image_batch(image)
    except ValueError as error:
        raise ValueError(f"plot_saliency: {error}") from None
    result = saliency_map(model, batch, target)
    figure = _figure(1, 2)
    figure.set_size_inches(2 * 2.5 + _MARGIN_INCHES[0], 2.5 + _MARGIN_INCHES[1])   # two large cells
    axes = _grid_axes(figure, 1, 2, right=0.98 - 0.8 / figure.get_figwidth())
    _show_image(axes[0, 0], batch)
    shown = axes[0, 1].imshow(result.map, cmap="hot", interpolation="nearest")
    _row_colour_bar(figure, axes[0, 1], shown, "|d score / d pixel|")
    name = classes[result.target] if classes is not None else f"class {result.target}"
    axes[0, 0].set_title("input", fontsize=8)
    axes[0, 1].set_title(f"saliency of '{name}'", fontsize=8)
    figure.suptitle(f"{type(model).__name__}: predicted '{name}' "
                    f"({100 * result.probabilities[result.target]:.1f}%)", fontsize=9)
    return _save(figure, path, 1, 2)
