"""Pooling diagrams (d2l figure 7.5.1): max or average over each window, computed by
``juanji.nn.functional.max_pool2d`` / ``avg_pool2d`` on the numbers given."""

from __future__ import annotations

import numpy as np

from ...nn import functional as F
from ...tensor import tensor
from ._canvas import Canvas, Diagram, format_value
from .convolution import D2L_X, _window

__all__ = ["pooling"]


def pooling(path, X=None, mode: str = "max", kernel_size=2, stride=1) -> Diagram:
    """``mode`` 'max' or 'avg' pooling of ``X`` with a ``kernel_size`` window (d2l: 3x3 input,
    2x2 window, stride 1 -> max 4, 5, 7, 8 and average 2, 3, 5, 6)."""
    if mode not in ("max", "avg"):
        raise ValueError(f"draw pooling: mode must be 'max' or 'avg', got {mode!r}")
    X = D2L_X if X is None else np.asarray(X, dtype=np.float64)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    Y = pool(tensor(X[None, None]), kernel_size, stride).numpy()[0, 0]
    kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
    what = "Maximum" if mode == "max" else "Average"
    canvas = Canvas(f"{what} pooling with a {kh}x{kw} window, stride {stride}")
    canvas.grid("input", X, "Input", highlight=_window(0, 0, kh, kw))
    canvas.symbol("→")
    canvas.grid("output", Y, "Output", highlight={(0, 0)})
    window = X[:kh, :kw].ravel()
    values = ", ".join(format_value(v) for v in window)
    canvas.caption(f"{'max' if mode == 'max' else 'mean'}({values}) = {format_value(Y[0, 0])}")
    return canvas.save(path)
