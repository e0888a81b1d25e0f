"""Transposed convolution as scattered kernels (d2l figure 14.10.1): each input value scales a
copy of the kernel, placed where that value sits (times the stride); the copies add up.
Computed by ``juanji.nn.functional.conv_transpose2d``; the copies are drawn beside it."""

from __future__ import annotations

import numpy as np

from ...nn import functional as F
from ...tensor import tensor
from ._canvas import Canvas, Diagram, format_value

__all__ = ["transposed"]


def transposed(path, X=None, K=None, stride=1) -> Diagram:
    """d2l: input [[0, 1], [2, 3]], kernel [[0, 1], [2, 3]] -> [[0, 0, 1], [0, 4, 6], [4, 12, 9]].
    ``stride`` is one number or (rows, columns)."""
    X = np.arange(4.0).reshape(2, 2) if X is None else np.asarray(X, dtype=np.float64)
    K = np.arange(4.0).reshape(2, 2) if K is None else np.asarray(K, dtype=np.float64)
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    Y = F.conv_transpose2d(tensor(X[None, None]), tensor(K[None, None]), stride=(sh, sw)).numpy()[0, 0]
    kh, kw = K.shape
    canvas = Canvas(f"Transposed convolution (stride {sh}x{sw}): a scaled kernel per input value, summed")
    canvas.grid("input", X, "Input")
    canvas.symbol(",")
    canvas.grid("kernel", K, "Kernel")
    canvas.new_row()
    cells = {}
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            copy = np.zeros_like(Y)
            copy[i * sh:i * sh + kh, j * sw:j * sw + kw] = X[i, j] * K
            inside = {(i * sh + a, j * sw + b) for a in range(kh) for b in range(kw)}
            outside = {(a, b) for a in range(Y.shape[0]) for b in range(Y.shape[1])} - inside
            if cells:
                canvas.symbol("+")
            canvas.grid(f"copy{i}_{j}", copy, f"{format_value(X[i, j])} × kernel", highlight=inside, blank=outside)
            cells[(i, j)] = copy
    canvas.symbol("=")
    canvas.grid("output", Y, "Output")
    canvas.caption(f"output ({X.shape[0]} - 1)·{sh} + {kh} = {Y.shape[0]} by ({X.shape[1]} - 1)·{sw} + {kw} = "
                   f"{Y.shape[1]}")
    return canvas.save(path)
