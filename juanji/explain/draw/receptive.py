"""The receptive field growing through a stack of layers: the input pixels one output unit of each
layer sees, as nested squares on the input, sizes from ``juanji.explain.chain_receptive_fields``
(the same arithmetic ``juanji summary`` uses)."""

from __future__ import annotations

import io
import os

import numpy as np

from ... import nn
from ..receptive_field import chain_receptive_fields
from ._canvas import Diagram

__all__ = ["receptive_field_growth", "DEFAULT_STACK"]


def DEFAULT_STACK():
    """conv 3x3, conv 3x3, max pool 2x2 (stride 2), conv 3x3: fields 3, 5, 6, 10."""
    return nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))


def _layer_text(layer) -> str:
    name = type(layer).__name__
    k = getattr(layer, "kernel_size", None)
    s = getattr(layer, "stride", None)
    k = k if isinstance(k, tuple) else (k, k)
    s = s if isinstance(s, tuple) else (s, s)
    return f"{name} {k[0]}x{k[1]}" + (f", stride {s[0]}" if s and s[0] != 1 else "")


def receptive_field_growth(path, layers=None, input_size: int = 14) -> Diagram:
    """Draw the receptive field of the top-left output unit of every layer of ``layers`` (default
    :func:`DEFAULT_STACK`) on an ``input_size`` square input, one colour per layer, with a
    legend of sizes and the rule: ``r_out = r_in + (k - 1) · j_in``, ``j_out = j_in · s``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from ...checkpoint import atomic_write_bytes

    layers = DEFAULT_STACK() if layers is None else layers
    steps = chain_receptive_fields(layers, (1, input_size, input_size))
    colours = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    figure = Figure(figsize=(9, 5.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_axes([0.04, 0.06, 0.5, 0.8])
    for i in range(input_size + 1):
        axes.plot([0, input_size], [i, i], color="#cccccc", linewidth=0.6)
        axes.plot([i, i], [0, input_size], color="#cccccc", linewidth=0.6)
    sizes = {}
    legend = []
    for n, step in enumerate(steps):
        field = step.receptive_field
        size, start = field.size[0], field.start[0]
        left = start - (size - 1) / 2   # the top-left unit's field, in input pixels (may reach into padding)
        colour = colours[n % len(colours)]
        inset = 0.06 * n
        axes.add_patch(Rectangle((left + inset, left + inset), size - 2 * inset, size - 2 * inset, fill=False,
                                 edgecolor=colour, linewidth=2.5))
        sizes[f"layer{n}"] = np.array([[size, field.jump[0]]], dtype=np.float64)
        legend.append((colour, f"after layer {n + 1} ({_layer_text(step.layer)}): field {size}x{size}, "
                               f"jump {field.jump[0]}, output {step.output_shape[-2]}x{step.output_shape[-1]}"))
    axes.set_xlim(-0.5, input_size + 0.5)
    axes.set_ylim(input_size + 0.5, -0.5)
    axes.set_aspect("equal")
    axes.set_xticks(range(0, input_size + 1, 2))
    axes.set_yticks(range(0, input_size + 1, 2))
    axes.tick_params(labelsize=7)
    axes.set_title(f"input {input_size}x{input_size}: what the top-left unit of each layer sees", fontsize=9)
    text = figure.add_axes([0.57, 0.06, 0.42, 0.8])
    text.set_axis_off()
    for k, (colour, line) in enumerate(legend):
        text.add_patch(Rectangle((0.0, 0.93 - 0.1 * k), 0.05, 0.05, color=colour, transform=text.transAxes))
        text.text(0.08, 0.955 - 0.1 * k, line, fontsize=8, va="center", transform=text.transAxes, wrap=True)
    text.text(0.0, 0.95 - 0.1 * len(legend) - 0.05,
              "r_out = r_in + (k - 1) · j_in\nj_out = j_in · s\n(r: field size, j: jump between\n"
              "neighbouring units, in input pixels)", fontsize=8, va="top", transform=text.transAxes,
              family="monospace")
    figure.suptitle("The receptive field grows through the layers", fontsize=11, weight="bold")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return Diagram(path, grids=sizes, captions=[line for _, line in legend])
