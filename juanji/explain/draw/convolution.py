"""Convolution diagrams (d2l chapter 7): cross-correlation, padding and stride, several input and
output channels, and the 1x1 convolution, each computed by ``juanji.nn.functional.conv2d`` on
the numbers given and drawn with every value in its cell.
"""

from __future__ import annotations

import numpy as np

from ...kernels.sizes import window_output_size
from ...nn import functional as F
from ...tensor import tensor
from ._canvas import Canvas, Diagram, format_value

__all__ = ["correlation", "padding_stride", "channels_in", "channels_out", "conv1x1"]

D2L_X = np.arange(9.0).reshape(3, 3)
D2L_K = np.arange(4.0).reshape(2, 2)


def _conv(x: np.ndarray, k: np.ndarray, **kwargs) -> np.ndarray:
    """``F.conv2d`` of one image ``[C, H, W]`` (or ``[H, W]``) with kernels ``[O, C, kh, kw]``."""
    x = x[None] if x.ndim == 2 else x
    k = k[None, None] if k.ndim == 2 else k
    return F.conv2d(tensor(x[None]), tensor(k), **kwargs).numpy()[0]


def _window(top: int, left: int, height: int, width: int) -> set:
    return {(top + a, left + b) for a in range(height) for b in range(width)}


def _sum_text(window: np.ndarray, kernel: np.ndarray) -> str:
    terms = " + ".join(f"{format_value(a)}×{format_value(b)}" for a, b in zip(window.ravel(), kernel.ravel()))
    return f"{terms} = {format_value((window * kernel).sum())}"


def correlation(path, X=None, K=None) -> Diagram:
    """d2l's figure 7.2.1: ``Y = X * K`` with the first window, the kernel and the output cell it
    makes highlighted, and that cell's sum written out (3x3 ⋆ 2x2 -> 19, 25, 37, 43)."""
    X = D2L_X if X is None else np.asarray(X, dtype=np.float64)
    K = D2L_K if K is None else np.asarray(K, dtype=np.float64)
    Y = _conv(X, K)[0]
    kh, kw = K.shape
    canvas = Canvas("Two-dimensional cross-correlation")
    canvas.grid("input", X, "Input", highlight=_window(0, 0, kh, kw))
    canvas.symbol("*")
    canvas.grid("kernel", K, "Kernel", highlight=_window(0, 0, kh, kw))
    canvas.symbol("=")
    canvas.grid("output", Y, "Output", highlight={(0, 0)})
    canvas.caption(_sum_text(X[:kh, :kw], K))
    canvas.caption(f"Y[i, j] = Σ_a Σ_b X[i + a, j + b] K[a, b];  output {X.shape[0]} - {kh} + 1 = {Y.shape[0]} "
                   f"by {X.shape[1]} - {kw} + 1 = {Y.shape[1]}")
    return canvas.save(path)


def padding_stride(path, X=None, K=None, padding=(1, 1), stride=(3, 2)) -> Diagram:
    """d2l's figure 7.3.3: zero padding around the input (grey), the windows the stride visits
    (the first highlighted), and the output-size formula with the numbers filled in."""
    X = D2L_X if X is None else np.asarray(X, dtype=np.float64)
    K = D2L_K if K is None else np.asarray(K, dtype=np.float64)
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    sh, sw = (stride, stride) if np.isscalar(stride) else stride
    Y = _conv(X, K, padding=(ph, pw), stride=(sh, sw))[0]
    padded = np.pad(X, ((ph, ph), (pw, pw)))
    h, w = X.shape
    kh, kw = K.shape
    border = {(i, j) for i in range(padded.shape[0]) for j in range(padded.shape[1])
              if not (ph <= i < ph + h and pw <= j < pw + w)}
    first, second = _window(0, 0, kh, kw), _window(0, sw, kh, kw) if Y.shape[1] > 1 else set()
    canvas = Canvas(f"Padding {ph}x{pw} and stride {sh}x{sw}")
    canvas.grid("input", padded, f"Input, padded by {ph}x{pw} (grey: zeros)", faded=border - first - second,
                highlight=first, second=second - first)
    canvas.symbol("*")
    canvas.grid("kernel", K, "Kernel", highlight=_window(0, 0, kh, kw))
    canvas.symbol("=")
    canvas.grid("output", Y, f"Output (stride {sh}x{sw})", highlight={(0, 0)}, second={(0, 1)} if second else ())
    canvas.caption("blue: " + _sum_text(padded[:kh, :kw], K)
                   + (f";  orange, {sw} columns on: " + _sum_text(padded[:kh, sw:sw + kw], K) if second else ""))
    out_h = window_output_size(h, kh, s=sh, lo=ph)
    out_w = window_output_size(w, kw, s=sw, lo=pw)
    canvas.caption(f"height ⌊({h} + 2·{ph} - {kh}) / {sh}⌋ + 1 = {out_h},  "
                   f"width ⌊({w} + 2·{pw} - {kw}) / {sw}⌋ + 1 = {out_w}")
    return canvas.save(path)


def channels_in(path, X=None, K=None) -> Diagram:
    """d2l's figure 7.4.1: two input channels, one kernel per channel; the channels' results add
    up to one output (56, 72, 104, 120)."""
    X = np.stack([D2L_X, D2L_X + 1]) if X is None else np.asarray(X, dtype=np.float64)
    K = np.stack([D2L_K, D2L_K + 1]) if K is None else np.asarray(K, dtype=np.float64)
    if X.ndim != 3 or K.ndim != 3 or X.shape[0] != K.shape[0]:
        raise ValueError(f"draw channels-in: expected input [C, H, W] and kernel [C, kh, kw] with one kernel per "
                         f"channel, got {list(X.shape)} and {list(K.shape)}")
    Y = _conv(X, K[None])[0]
    kh, kw = K.shape[1:]
    canvas = Canvas("Several input channels: one kernel per channel, the results summed")
    parts = []
    for c in range(X.shape[0]):
        part = _conv(X[c], K[c])[0]
        parts.append(part)
        canvas.grid(f"input{c}", X[c], f"Input channel {c}", highlight=_window(0, 0, kh, kw))
        canvas.symbol("*")
        canvas.grid(f"kernel{c}", K[c], f"Kernel channel {c}", highlight=_window(0, 0, kh, kw))
        canvas.symbol("=")
        canvas.grid(f"part{c}", part, f"Channel {c}'s share", highlight={(0, 0)})
        canvas.new_row()
    for c, part in enumerate(parts):
        if c:
            canvas.symbol("+")
        canvas.grid(f"sum{c}", part, f"channel {c}", highlight={(0, 0)})
    canvas.symbol("=")
    canvas.grid("output", Y, "Output", highlight={(0, 0)})
    canvas.caption(" + ".join(f"({_sum_text(X[c, :kh, :kw], K[c])})" for c in range(X.shape[0]))
                   + f" = {format_value(Y[0, 0])}")
    return canvas.save(path)


def channels_out(path, X=None, K=None) -> Diagram:
    """d2l's ``corr2d_multi_in_out``: three output channels, each with its own kernel per input
    channel (K, K + 1, K + 2), each summing over the input channels."""
    X = np.stack([D2L_X, D2L_X + 1]) if X is None else np.asarray(X, dtype=np.float64)
    if K is None:
        base = np.stack([D2L_K, D2L_K + 1])
        K = np.stack([base, base + 1, base + 2])
    K = np.asarray(K, dtype=np.float64)
    if X.ndim != 3 or K.ndim != 4 or K.shape[1] != X.shape[0]:
        raise ValueError(f"draw channels-out: expected input [C, H, W] and kernels [O, C, kh, kw], got "
                         f"{list(X.shape)} and {list(K.shape)}")
    Y = _conv(X, K)
    canvas = Canvas(f"{K.shape[0]} output channels: a kernel per (output, input) channel pair")
    for c in range(X.shape[0]):
        canvas.grid(f"input{c}", X[c], f"Input channel {c}")
    canvas.new_row()
    for o in range(K.shape[0]):
        for c in range(X.shape[0]):
            if c:
                canvas.symbol(",")
            canvas.grid(f"kernel{o}_{c}", K[o, c], f"Kernel {o},{c}")
        canvas.symbol("→")
        canvas.grid(f"output{o}", Y[o], f"Output channel {o}", highlight={(0, 0)})
        canvas.new_row()
    canvas.caption(f"Y[o] = Σ_c X[c] * K[o, c]: input {list(X.shape)}, kernels {list(K.shape)}, "
                   f"output {list(Y.shape)}")
    return canvas.save(path)


def conv1x1(path, X=None, K=None) -> Diagram:
    """d2l's figure 7.4.2: a 1x1 convolution is a fully connected layer applied at every pixel:
    ``Y[:, i, j] = K @ X[:, i, j]`` (3 input channels, 2 output channels)."""
    X = np.stack([D2L_X, D2L_X + 1, D2L_X + 2]) if X is None else np.asarray(X, dtype=np.float64)
    K = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]) if K is None else np.asarray(K, dtype=np.float64)
    if X.ndim != 3 or K.ndim != 2 or K.shape[1] != X.shape[0]:
        raise ValueError(f"draw conv1x1: expected input [C, H, W] and weights [O, C], got {list(X.shape)} and "
                         f"{list(K.shape)}")
    Y = _conv(X, K[:, :, None, None])
    canvas = Canvas("1x1 convolution: the same fully connected layer at every pixel")
    for c in range(X.shape[0]):
        canvas.grid(f"input{c}", X[c], f"Input channel {c}", highlight={(0, 0)})
    canvas.new_row()
    canvas.grid("weights", K, "Weights [out, in]")
    canvas.symbol("·")
    canvas.grid("pixel", X[:, 0, 0][:, None], "Pixel (0, 0)", highlight={(c, 0) for c in range(X.shape[0])})
    canvas.symbol("=")
    canvas.grid("pixel_out", Y[:, 0, 0][:, None], "Out (0, 0)", highlight={(o, 0) for o in range(K.shape[0])})
    canvas.new_row()
    for o in range(K.shape[0]):
        canvas.grid(f"output{o}", Y[o], f"Output channel {o}", highlight={(0, 0)})
    canvas.caption(f"Y[:, i, j] = K · X[:, i, j] for every pixel (i, j): weights {list(K.shape)} shared by all "
                   f"{X.shape[1] * X.shape[2]} pixels")
    return canvas.save(path)
