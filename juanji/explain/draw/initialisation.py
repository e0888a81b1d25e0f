"""The 100-layer initialisation experiment: the standard deviation of the activations, layer by
layer, of a 100-layer 256-wide MLP for four ways of drawing the weights, on one log-scale plot.

A layer computes ``y = x W`` with ``W`` ``[n, n]``: if ``x`` has variance ``v`` and ``W``'s
entries variance ``s²``, then ``Var(y) = n s² v``; after ``L`` layers the variance has been
multiplied by ``(n s²)^L``:

    N(0, 1), no activation       n s² = 256: the std grows 16x per layer and overflows float32
    N(0, 1/n), tanh              n s² = 1, tanh shrinks slowly: bounded
    Xavier (gain 5/3), tanh      Glorot's scale with tanh's gain: bounded
    Kaiming (ReLU), ReLU         s² = 2/n makes up for ReLU zeroing half: stays near 1

Computed with juanji's ``nn.init`` and tensors in float32, as a torch script would
(``examples/init_experiment.py`` is the same experiment as a script).
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from ... import nn
from ...random import manual_seed
from ...autograd import no_grad
from ...creation import empty, randn
from ._canvas import Diagram

__all__ = ["initialisation_experiment", "activation_stds", "SCHEMES"]


def _identity(x):
    return x


SCHEMES = {
    "N(0, 1), no activation": (lambda w: nn.init.normal_(w), _identity),
    "N(0, 1/n), tanh": (lambda w: nn.init.normal_(w, std=math.sqrt(1.0 / w.shape[0])), lambda x: x.tanh()),
    "Xavier (gain 5/3), tanh": (lambda w: nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh")),
                                lambda x: x.tanh()),
    "Kaiming (ReLU), ReLU": (lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), lambda x: x.relu()),
}


def activation_stds(scheme: str, depth: int = 100, width: int = 256, batch: int = 256, seed: int = 0) -> list:
    """The std of the activations after each layer (NaN from the first layer whose float32
    activations overflowed)."""
    init, activation = SCHEMES[scheme]
    manual_seed(seed)
    x = randn(batch, width)
    stds = []
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):
        for _ in range(depth):
            w = empty(width, width)
            init(w)
            x = activation(x @ w)
            values = x.numpy()
            stds.append(float(values.astype(np.float64).std()) if np.isfinite(values).all() else math.nan)
    return stds


def initialisation_experiment(path, depth: int = 100, width: int = 256, batch: int = 256) -> Diagram:
    """Plot :func:`activation_stds` of every scheme against the layer, log scale, to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ...checkpoint import atomic_write_bytes

    results = {name: activation_stds(name, depth, width, batch) for name in SCHEMES}
    figure = Figure(figsize=(12, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    every, bounded = figure.subplots(1, 2)
    layers = np.arange(1, depth + 1)
    notes = []
    for name, stds in results.items():
        line, = every.plot(layers, stds, marker=".", markersize=3, linewidth=1.5, label=name)
        finite = [s for s in stds if math.isfinite(s)]
        if len(finite) < len(stds):
            last = len(finite)
            every.plot([last], [finite[-1]], marker="x", markersize=10, color=line.get_color())
            every.annotate(f"overflow (inf) at layer {last + 1}", (last, finite[-1]), textcoords="offset points",
                           xytext=(8, -4), fontsize=8, color=line.get_color())
            notes.append(f"{name}: overflow at layer {last + 1}")
        else:   # the schemes that stay bounded, on a scale of their own
            bounded.plot(layers, stds, marker=".", markersize=3, linewidth=1.5, label=name, color=line.get_color())
    for axes, title in ((every, "all four (log scale)"), (bounded, "the bounded ones, closer (log scale)")):
        axes.set_yscale("log")
        axes.set_xlabel("layer")
        axes.set_ylabel("std of the activations")
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3, which="both")
        axes.legend(fontsize=8, loc="best")
    figure.suptitle(f"Why initialisation matters: {depth} layers of x W, {width} wide, batch {batch} (float32)",
                    fontsize=11, weight="bold")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())
    return Diagram(path, grids={name: np.array([stds]) for name, stds in results.items()}, captions=notes)
