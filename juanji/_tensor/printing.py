"""How a tensor prints: torch's layout and number format, ``tensor([[ 4.,  6.], ...], requires_grad=True)``.

One element format is chosen from all the shown values (``_ElementFormat``), then ``_nested_text``
writes the brackets: a vector's elements wrapped at 80 columns, the rows of higher dims under each
other (blank lines between blocks of 3-D and up). The dtype, device and autograd suffixes follow.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from ..backend import xp_of

__all__ = ["_tensor_repr", "PRINT_OPTIONS"]


class _PrintOptions:
    """torch's print options (``juanji.set_printoptions`` changes them): by default 4 decimals,
    80 columns, more than 1000 elements shown as 3 at each end; ``sci_mode`` None lets each
    tensor's values choose."""

    def __init__(self):
        self.precision, self.linewidth, self.threshold, self.edgeitems, self.sci_mode = 4, 80, 1000, 3, None


PRINT_OPTIONS = _PrintOptions()


class _ElementFormat:
    """How every element of one tensor is written, chosen from all its (shown) values as torch does:

    - integers and bools: ``str(v)``;
    - floats that are all whole numbers: ``4.`` (sci notation if max/min > 1000 or max > 1e8);
    - other floats: 4 decimals, or ``1.0000e-05`` sci notation if max/min > 1000, max > 1e8 or
      min < 1e-4 (max and min over the non-zero finite magnitudes).

    Every element is right-aligned to the widest one (non-finite values do not count).
    """

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = arr.reshape(-1)
        if not self.floating:
            self.width = max((len(str(v)) for v in flat.tolist()), default=1)
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        magnitudes = np.abs(finite)
        lo, hi = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if PRINT_OPTIONS.sci_mode is not None:
            self.sci_mode = PRINT_OPTIONS.sci_mode
        elif self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        if self.sci_mode:
            texts = [f"{v:.{PRINT_OPTIONS.precision}e}" for v in finite.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in finite.tolist()]
        else:
            texts = [f"{v:.{PRINT_OPTIONS.precision}f}" for v in finite.tolist()]
        self.width = max(len(t) for t in texts)

    def __call__(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:.{PRINT_OPTIONS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRINT_OPTIONS.precision}f}"
        return " " * (self.width - len(text)) + text


def _edges(arr):
    """The elements shown for a large tensor: the first and last few along every dim."""
    edge = PRINT_OPTIONS.edgeitems
    for axis, n in enumerate(arr.shape):
        if n > 2 * edge:
            keep = list(range(edge)) + list(range(n - edge, n))
            arr = arr.take(keep, axis=axis)
    return arr


def _vector_text(values, indent, summarize, fmt) -> str:
    per_line = max(1, (PRINT_OPTIONS.linewidth - indent) // (fmt.width + 2))
    n, edge = len(values), PRINT_OPTIONS.edgeitems
    if summarize and n > 2 * edge:
        items = [fmt(v) for v in values[:edge]] + [" ..."] + [fmt(v) for v in values[-edge:]]
    else:
        items = [fmt(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_text(arr, indent, summarize, fmt) -> str:
    if arr.ndim == 0:
        return fmt(arr.item())
    if arr.ndim == 1:
        return _vector_text(arr.tolist(), indent, summarize, fmt)
    n, edge = arr.shape[0], PRINT_OPTIONS.edgeitems
    if summarize and n > 2 * edge:
        rows = [_nested_text(arr[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."] + \
               [_nested_text(arr[i], indent + 1, summarize, fmt) for i in range(n - edge, n)]
    else:
        rows = [_nested_text(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _tensor_repr(t) -> str:
    arr = t._host()
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    default = dt.get_default_dtype()
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        body = "[]"
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
    else:
        summarize = arr.size > PRINT_OPTIONS.threshold
        fmt = _ElementFormat(_edges(arr) if summarize else arr)
        body = _nested_text(arr, indent, summarize, fmt)
        if t.dtype not in (default, dt.int64, dt.bool):
            suffixes.append(f"dtype={t.dtype}")
    if xp_of(t._data) is not np:
        suffixes.append("device='cuda:0'")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:  # a suffix that would pass 80 columns goes on its own line
        if last_line + len(suffix) + 2 > PRINT_OPTIONS.linewidth:
            text += ",\n" + " " * indent + suffix
            last_line = indent + len(suffix)
        else:
            text += ", " + suffix
            last_line += len(suffix) + 2
    return text + ")"
