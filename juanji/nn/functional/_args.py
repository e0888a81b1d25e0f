"""Helpers shared by the argument checks of ``nn.functional`` and ``nn`` (one home for each):
the shape formatter of the error messages (:func:`shape_text`), and the one validator of
sliding-window arguments: convolutions (transposed too), pooling (max, average, LP, adaptive,
unpooling), unfold/fold and the padding layers.

Each family's arguments go through here once and come out as a
:class:`juanji.kernels.window.Window` (per spatial dim: kernel, stride, padding before/after,
dilation; ``ceil_mode``; ``transposed`` and ``output_padding``). A Module calls the validator
when it is built and keeps the Window; a functional call (``F.conv2d(...)``) calls it per call.
From there on nothing re-reads the user's forms: padding changes form twice, from the user's
(int, tuple, ``'same'``, ``'valid'``) to the Window's ``(pad_lo, pad_hi)``, and from the Window
to the lifted geometry of the kernels.

Errors are those torch raises for the same mistake, with one line naming the op, what it
expected and what it got:

- ``TypeError``: an argument of the wrong type (``stride=1.5``, a string padding for a
  transposed convolution);
- ``RuntimeError``: a value out of range or of the wrong length (``stride=0``, negative
  padding, ``kernel_size=(2, 2, 2)`` for a 2-d layer, padding above half the kernel), and every
  mismatch between the tensors and the arguments (found at the call);
- ``ValueError``: what torch's Module constructors check themselves (channels not divisible by
  ``groups``, a padding string or ``padding_mode`` torch does not know) and ``output_size``
  requests of transposed convolutions and unpooling.

A Module runs the checks torch would run at the first call already when it is built (a bad
layer fails where it is written), with the exception type torch raises at the call.
"""

from __future__ import annotations

import numpy as np

from ...kernels.sizes import same_padding, transposed_output_size
from ...kernels.window import Window

__all__ = ["shape_text", "is_int", "int_tuple", "conv_window", "conv_layer_arguments", "conv_tensors", "conv_call",
           "transposed_output_padding", "pool_window", "divisor_override", "pool_input", "adaptive_output_size",
           "unpool_window", "unpool_output_size", "block_window", "pad_window"]

LAYOUT = {1: "L", 2: "H, W", 3: "D, H, W"}
KERNEL_LAYOUT = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# -- the primitives -------------------------------------------------------------------------------

def shape_text(value) -> str:
    """A shape as torch writes it in error messages, ``[8, 1, 28, 28]``.

    ``value`` is a Tensor or array (its ``.shape`` is used) or a sequence of sizes.

        >>> from juanji.nn.functional._args import shape_text
        >>> shape_text((8, 1, 28, 28))
        '[8, 1, 28, 28]'
    """
    shape = getattr(value, "shape", value)
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _sizes(values) -> str:
    return "(" + " x ".join(str(v) for v in values) + ")"


def is_int(value) -> bool:
    """An int (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def int_tuple(op: str, arg: str, value, n: int, what: str | None = None) -> tuple:
    """An int, or a sequence of 1 or ``n`` ints, as an ``n``-tuple (torch's rule).

    Not ints: ``TypeError``. The wrong number of them: ``RuntimeError``, in torch's words for a
    convolution (``what='convolution'``) or the pools' and unfold's.
    """
    if is_int(value):
        return (int(value),) * n
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}") from None
    if not all(is_int(v) for v in items):
        raise TypeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}")
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        if what is not None:
            raise RuntimeError(f"{op}: expected {arg} to be a single integer value or a list of {n} values "
                               f"to match the {what} dimensions, but got {arg}={list(items)}")
        raise RuntimeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in items)


# -- convolutions ---------------------------------------------------------------------------------

def _conv_padding(op, padding, n, kernel, stride, dilation, transposed, at_construction):
    """``(pad_lo, pad_hi)`` from an int, a tuple, ``'same'`` or ``'valid'``."""
    if isinstance(padding, str):
        if transposed:
            raise TypeError(f"{op}: padding must be an int or a tuple of ints, not a string ({padding!r})")
        error = ValueError if at_construction else RuntimeError  # torch's Module / torch's op
        if padding == "valid":
            return (0,) * n, (0,) * n
        if padding != "same":
            raise error(f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'")
        if any(s != 1 for s in stride):
            raise error(f"{op}: padding='same' is not supported for strided convolutions, got stride={stride}")
        pairs = [same_padding(k, d) for k, d in zip(kernel, dilation)]
        return tuple(lo for lo, _ in pairs), tuple(hi for _, hi in pairs)
    symmetric = int_tuple(op, "padding", padding, n, "convolution")
    if any(p < 0 for p in symmetric):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={symmetric}")
    return symmetric, symmetric


def conv_window(op: str, n: int, kernel_size, stride, padding, dilation, *, transposed: bool = False,
                output_padding=0, at_construction: bool = False) -> Window:
    """The Window of an ``n``-d convolution (``transposed``: of a transposed one)."""
    kernel = int_tuple(op, "kernel_size", kernel_size, n, "convolution")
    stride = int_tuple(op, "stride", stride, n, "convolution")
    dilation = int_tuple(op, "dilation", dilation, n, "convolution")
    out_pad = int_tuple(op, "output_padding", output_padding, n, "convolution")
    for arg, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if any(v <= 0 for v in values):
            raise RuntimeError(f"{op}: non-positive {arg} is not supported, got {arg}={values}")
    pad_lo, pad_hi = _conv_padding(op, padding, n, kernel, stride, dilation, transposed, at_construction)
    if transposed:
        if any(p < 0 for p in out_pad):
            raise RuntimeError(f"{op}: negative output_padding is not supported, got output_padding={out_pad}")
        if any(p >= max(s, d) for p, s, d in zip(out_pad, stride, dilation)):
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, got "
                               f"output_padding={out_pad}, stride={stride}, dilation={dilation}")
    return Window(kernel, stride, pad_lo, pad_hi, dilation, transposed=transposed, output_padding=out_pad)


def conv_layer_arguments(op: str, in_channels, out_channels, groups, padding_mode, transposed: bool) -> None:
    """What torch's conv Module constructors check themselves (``ValueError``); a channel count that
    is not an integer is torch's TypeError (its weight's size), unless the groups check meets it first."""
    for arg, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not is_int(value) and not isinstance(value, bool) and isinstance(value, (int, float)):
            if arg != "groups" and is_int(groups) and groups > 0 and value % groups != 0:
                raise ValueError(f"{op}: {arg} must be divisible by groups, got {arg}={value} and groups={groups}")
            raise TypeError(f"{op}: {arg} must be an integer, got {arg}={value!r}")
        if not is_int(value) or value <= 0:
            raise ValueError(f"{op}: {arg} must be a positive integer, got {arg}={value!r}")
    for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups != 0:
            raise ValueError(f"{op}: {arg} must be divisible by groups, got {arg}={value} and groups={groups}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{op}: padding_mode must be one of {PADDING_MODES}, but got padding_mode={padding_mode!r}")
    if transposed and padding_mode != "zeros":
        raise ValueError(f'{op}: only "zeros" padding mode is supported, got {padding_mode!r}')


def _conv_groups(op: str, groups, weight, transposed: bool) -> int:
    if not is_int(groups):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if weight.shape[0] % groups != 0:
        what = "in_channels" if transposed else "out_channels"
        raise RuntimeError(f"{op}: expected weight dim 0 ({what}) divisible by groups={groups}, "
                           f"got weight of size {shape_text(weight.shape)}")
    return groups


def conv_tensors(op: str, n: int, input, weight, bias) -> bool:
    """Ranks and dtypes of a convolution's tensors; returns whether the input is batched."""
    ndim = input.dim()
    if ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}: expected {n + 1}D (unbatched, C, {LAYOUT[n]}) or {n + 2}D "
                           f"(batched, N, C, {LAYOUT[n]}) input, got input of size {shape_text(input.shape)}")
    if weight.dim() != n + 2:
        raise RuntimeError(f"{op}: expected a {n + 2}D weight (out, in/groups, {KERNEL_LAYOUT[n]}), "
                           f"got weight of size {shape_text(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{op}: expected input and weight of the same dtype, "
                           f"got input {input.dtype} and weight {weight.dtype}")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected bias of dtype {input.dtype} like the input, got {bias.dtype}")
    if input._data.dtype.kind not in "fiu":
        raise RuntimeError(f"{op}: not implemented for {input.dtype} input")
    if any(k <= 0 for k in weight.shape[2:]):
        raise RuntimeError(f"{op}: expected kernel sizes > 0, got weight of size {shape_text(weight.shape)}")
    if any(size <= 0 for size in input.shape[-n:]):
        raise RuntimeError(f"{op}: expected non-empty spatial dims, got input of size {shape_text(input.shape)}")
    return ndim == n + 2


def conv_call(op: str, input, weight, bias, window: Window, groups) -> tuple:
    """Check a convolution's tensors (already through :func:`conv_tensors`) against its Window.

    Returns ``(groups, output spatial size)``; for a transposed window the output size is the
    transposed one (``output_padding`` included).
    """
    n, transposed = window.ndim, window.transposed
    if tuple(weight.shape[2:]) != window.kernel:
        raise RuntimeError(f"{op}: expected a weight with kernel size {window.kernel}, "
                           f"got weight of size {shape_text(weight.shape)}")
    groups = _conv_groups(op, groups, weight, transposed)
    in_channels = input.shape[-n - 1]
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if in_channels != expected:
        raise RuntimeError(f"{op}: expected input with {expected} channels (weight {shape_text(weight.shape)}, "
                           f"groups={groups}), got input {shape_text(input.shape)}")
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(f"{op}: expected bias to be 1-dimensional with {out_channels} elements "
                           f"(weight {shape_text(weight.shape)}), got bias of size {shape_text(bias.shape)}")
    spatial = tuple(input.shape[-n:])
    out_spatial = window.output_spatial(spatial)
    if transposed:
        if any(o <= 0 for o in out_spatial):
            raise RuntimeError(f"{op}: output size is too small: input size per channel {_sizes(spatial)} gives "
                               f"output size {_sizes(out_spatial)} (weight {shape_text(weight.shape)}, "
                               f"stride={window.stride}, padding={window.pad_lo}, dilation={window.dilation})")
    elif any(o < 1 for o in out_spatial):
        padded = tuple(size + lo + hi for size, lo, hi in zip(spatial, window.pad_lo, window.pad_hi))
        raise RuntimeError(f"{op}: padded input size per channel {_sizes(padded)} is smaller than the "
                           f"(dilated) kernel size {_sizes(window.effective_kernel)}; input "
                           f"{shape_text(input.shape)}, weight {shape_text(weight.shape)}, "
                           f"padding={window.padding_pairs}, dilation={window.dilation}")
    return groups, out_spatial


def transposed_output_padding(op: str, window: Window, input, output_size) -> tuple:
    """The ``output_padding`` that gives a transposed convolution ``output_size``.

    ``output_size`` (spatial, or with the batch and channel dims) must lie within ``stride`` of the
    smallest output ``(n-1)*s - 2p + d*(k-1) + 1``: ``ValueError`` otherwise (torch's).
    """
    n = window.ndim
    non_spatial = 2 if input.dim() == n + 2 else 1
    output_size = [int(v) for v in output_size]
    if len(output_size) == non_spatial + n:
        output_size = output_size[non_spatial:]
    if len(output_size) != n:
        raise ValueError(f"{op}: for {input.dim()}D input, output_size must have {n} or {non_spatial + n} "
                         f"elements (got {len(output_size)})")
    spatial = tuple(input.shape[-n:])
    smallest = [transposed_output_size(size, k, s, lo, hi, d, 0) for size, k, s, lo, hi, d in zip(
        spatial, window.kernel, window.stride, window.pad_lo, window.pad_hi, window.dilation)]
    largest = [low + s - 1 for low, s in zip(smallest, window.stride)]
    if any(not low <= size <= high for size, low, high in zip(output_size, smallest, largest)):
        raise ValueError(f"{op}: requested an output size of {output_size}, but valid sizes range from "
                         f"{smallest} to {largest} (for an input of {list(spatial)})")
    return tuple(size - low for size, low in zip(output_size, smallest))


# -- pooling --------------------------------------------------------------------------------------

def _positive(op: str, arg: str, values: tuple) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: {arg} must be greater than zero, got {arg}={values}")


def _non_negative(op: str, arg: str, values: tuple) -> None:
    if any(v < 0 for v in values):
        raise RuntimeError(f"{op}: {arg} must be non-negative, got {arg}={values}")


def _default_stride(stride) -> bool:
    """torch's pools take ``stride=None`` or an empty sequence for "the kernel size"."""
    return stride is None or (not is_int(stride) and hasattr(stride, "__len__") and len(stride) == 0)


def pool_window(op: str, n: int, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> Window:
    """The Window of a max/avg/LP pool; ``stride`` defaults to the kernel size."""
    kernel = int_tuple(op, "kernel_size", kernel_size, n)
    stride = kernel if _default_stride(stride) else int_tuple(op, "stride", stride, n)
    padding = int_tuple(op, "padding", padding, n)
    dilation = int_tuple(op, "dilation", dilation, n)
    _positive(op, "kernel_size", kernel)
    _positive(op, "stride", stride)
    _positive(op, "dilation", dilation)
    _non_negative(op, "padding", padding)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(f"{op}: padding should be at most half of kernel_size, "
                           f"got padding={padding} and kernel_size={kernel}")
    return Window(kernel, stride, padding, padding, dilation, ceil_mode=bool(ceil_mode), output_padding=(0,) * n)


def divisor_override(op: str, value) -> None:
    """An average pool's ``divisor_override``: None or non-zero."""
    if value is not None and value == 0:
        raise RuntimeError(f"{op}: divisor_override must not be zero")


def pool_input(op: str, input, n: int) -> None:
    """(C, *spatial) or (N, C, *spatial), every dim but the batch non-empty."""
    ndim = len(input.shape)
    if not (ndim in (n + 1, n + 2) and all(size > 0 for size in input.shape[ndim - n - 1:])):
        layout = LAYOUT[n]
        raise RuntimeError(
            f"{op}: expected a {n + 1}D (C, {layout}) or {n + 2}D (N, C, {layout}) input with "
            f"non-zero channel and spatial sizes, got input of shape {shape_text(input.shape)}")


def adaptive_output_size(op: str, n: int, spatial, output_size) -> tuple:
    """An adaptive pool's ``output_size`` as an n-tuple; None entries keep the input's size."""
    if output_size is None or is_int(output_size):
        items = (output_size,) * n
    else:
        items = tuple(output_size)
        if len(items) != n:
            raise RuntimeError(f"{op}: output_size must have {n} elements, got {output_size!r}")
    sizes = tuple(int(spatial[i]) if v is None else v for i, v in enumerate(items))
    if not all(is_int(v) for v in sizes) or any(v < 0 for v in sizes):
        raise RuntimeError(f"{op}: output_size must be non-negative ints (or None), got {output_size!r}")
    return tuple(int(v) for v in sizes)


def unpool_window(op: str, n: int, kernel_size, stride=None, padding=0) -> Window:
    """The Window of a max unpooling (the pooling it undoes); ``stride`` defaults to the kernel."""
    kernel = int_tuple(op, "kernel_size", kernel_size, n)
    stride = kernel if _default_stride(stride) else int_tuple(op, "stride", stride, n)
    padding = int_tuple(op, "padding", padding, n)
    return Window(kernel, stride, padding, padding, (1,) * n, transposed=True, output_padding=(0,) * n)


def unpool_output_size(op: str, window: Window, spatial, output_size) -> tuple:
    """The default ``(in-1)*s + k - 2p`` (the transposed output size), or ``output_size`` if it
    lies strictly within ``stride`` of it (``ValueError`` otherwise, as torch)."""
    n = window.ndim
    default = window.output_spatial(spatial)
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(int(v) for v in output_size)
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(f"{op}: output_size should have {n} or {n + 2} elements, got {tuple(output_size)}")
        for d in range(n):
            low, high = default[d] - window.stride[d], default[d] + window.stride[d]
            if not low < sizes[d] < high:
                raise ValueError(f"{op}: invalid output_size {tuple(output_size)}: dim {d} must be strictly "
                                 f"between {low} and {high} (the default is {default[d]})")
    if any(v <= 0 for v in sizes):
        raise ValueError(f"{op}: output size must be positive, got {sizes}")
    return sizes


# -- unfold / fold --------------------------------------------------------------------------------

def block_window(op: str, kernel_size, dilation=1, padding=0, stride=1) -> Window:
    """The Window of ``unfold``/``fold`` (2-d blocks)."""
    kernel = int_tuple(op, "kernel_size", kernel_size, 2)
    dilation = int_tuple(op, "dilation", dilation, 2)
    padding = int_tuple(op, "padding", padding, 2)
    stride = int_tuple(op, "stride", stride, 2)
    for arg, values in (("kernel_size", kernel), ("dilation", dilation), ("stride", stride)):
        _positive(op, arg, values)
    _non_negative(op, "padding", padding)
    return Window(kernel, stride, padding, padding, dilation, output_padding=(0, 0))


# -- padding layers -------------------------------------------------------------------------------

def pad_window(padding, n: int) -> Window:
    """A padding layer as a window of size 1: ``padding`` in ``F.pad``'s order ((left, right) of
    the last dim first, then the dim before it, ...)."""
    flat = tuple(padding)
    lo = tuple(flat[2 * (n - 1 - i)] for i in range(n))
    hi = tuple(flat[2 * (n - 1 - i) + 1] for i in range(n))
    ones = (1,) * n
    return Window(ones, ones, lo, hi, ones, output_padding=(0,) * n)
