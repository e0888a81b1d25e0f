"""The output-size rules of sliding-window ops, written once.

Every convolution, pooling layer, unfold and the shape tools (summary, receptive field,
FLOPs) call these functions, so a layer and its explanation can never disagree.

Notation: ``n`` input length along one spatial dim, ``k`` kernel size, ``s`` stride,
``d`` dilation, ``lo``/``hi`` the padding added before/after.

    out = floor((n + lo + hi - d*(k-1) - 1) / s) + 1            (ceil with ceil_mode)
    transposed: out = (n-1)*s - lo - hi + d*(k-1) + output_padding + 1
"""

from __future__ import annotations


def window_output_size(n: int, k: int, s: int = 1, lo: int = 0, hi: int | None = None,
                       d: int = 1, ceil_mode: bool = False) -> int:
    """Number of windows of a (dilated) kernel sliding over a padded length.

    With ``ceil_mode`` a last, partial window is kept only if it *starts* inside the
    input or the left padding (PyTorch's pooling rule): if ``(out-1)*s >= n + lo`` the
    last window would start in the right padding alone and is dropped.
    """
    if hi is None:
        hi = lo
    span = n + lo + hi - d * (k - 1) - 1
    if span < 0:
        return 0
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= n + lo:
            out -= 1
        return out
    return span // s + 1


def transposed_output_size(n: int, k: int, s: int = 1, lo: int = 0, hi: int | None = None,
                           d: int = 1, output_padding: int = 0) -> int:
    """Length produced by a transposed convolution (the input-gradient shape of a conv)."""
    if hi is None:
        hi = lo
    return (n - 1) * s - lo - hi + d * (k - 1) + output_padding + 1


def same_padding(k: int, d: int = 1) -> tuple[int, int]:
    """Padding (lo, hi) that keeps the length at stride 1; the odd extra goes on the right."""
    total = d * (k - 1)
    lo = total // 2
    return lo, total - lo
