"""Convolutions (torch.nn.functional surface): conv1d/2d/3d and conv_transpose1d/2d/3d.

One implementation serves every spatial rank; the ``1d/2d/3d`` suffix only says how many
trailing dims are spatial. Inputs are ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.

Notation: ``n`` input size along one spatial dim, ``k`` kernel size, ``s`` stride, ``p``
padding, ``d`` dilation, ``op`` output_padding, ``G`` groups.

    conv            weight (C_out, C_in/G, *k)
                    y[b, o] = bias[o] + sum_{c in o's group} sum_t w[o, c, t] * x_pad[b, c, pos*s + t*d]
                    out = floor((n + 2p - d*(k-1) - 1) / s) + 1
    conv_transpose  weight (C_in, C_out/G, *k): the gradient of a conv w.r.t. its input
                    out = (n - 1)*s - 2p + d*(k-1) + op + 1,   op < max(s, d)

``padding='same'`` pads ``d*(k-1)`` in total per dim, the odd extra on the right (stride 1
only); ``padding='valid'`` is no padding.

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> x = juanji.ones(1, 1, 4, 4)
    >>> F.conv2d(x, juanji.ones(1, 1, 3, 3)).tolist()
    [[[[9.0, 9.0], [9.0, 9.0]]]]
    >>> F.conv2d(x, juanji.ones(1, 1, 2, 2), padding='same').shape
    juanji.Size([1, 1, 4, 4])
"""

from __future__ import annotations

import numpy as np

from ...kernels.sizes import same_padding, transposed_output_size, window_output_size
from ...ops.conv import ConvNd, ConvTransposeNd
from ._args import shape_text as _shape

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

_LAYOUT = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL_LAYOUT = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


# -- argument checking and normalising (shared with the conv Modules) --------------------------


def _sizes(values) -> str:
    return "(" + " x ".join(str(v) for v in values) + ")"


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _ntuple(op: str, arg: str, value, n: int) -> tuple[int, ...]:
    """An int, or a sequence of 1 or ``n`` ints, as an ``n``-tuple (torch's rule)."""
    if _is_int(value):
        return (int(value),) * n
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}") from None
    if not all(_is_int(v) for v in items):
        raise TypeError(f"{op}: {arg} must be an int or a tuple of {n} ints, got {value!r}")
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise RuntimeError(f"{op}: expected {arg} to be a single integer value or a list of {n} values "
                           f"to match the convolution dimensions, but got {arg}={list(items)}")
    return tuple(int(v) for v in items)


def _check_positive(op: str, arg: str, values: tuple[int, ...]) -> None:
    if any(v <= 0 for v in values):
        raise RuntimeError(f"{op}: non-positive {arg} is not supported, got {arg}={values}")


def same_or_valid_padding(op: str, padding: str, kernel, stride, dilation) -> tuple[tuple[int, int], ...]:
    """``'valid'`` -> no padding; ``'same'`` -> ``(lo, hi)`` per dim keeping the size (stride 1)."""
    if padding == "valid":
        return tuple((0, 0) for _ in kernel)
    if padding == "same":
        if any(s != 1 for s in stride):
            raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions, "
                               f"got stride={tuple(stride)}")
        return tuple(same_padding(k, d) for k, d in zip(kernel, dilation))
    raise RuntimeError(f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'")


def _check_tensors(op: str, input, weight, bias, n: int) -> bool:
    """Ranks and dtypes of input, weight and bias; returns whether the input is batched."""
    ndim = input.dim()
    if ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}: expected {n + 1}D (unbatched, C, {_LAYOUT[n]}) or {n + 2}D "
                           f"(batched, N, C, {_LAYOUT[n]}) input, got input of size {_shape(input.shape)}")
    if weight.dim() != n + 2:
        raise RuntimeError(f"{op}: expected a {n + 2}D weight (out, in/groups, {_KERNEL_LAYOUT[n]}), "
                           f"got weight of size {_shape(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{op}: expected input and weight of the same dtype, "
                           f"got input {input.dtype} and weight {weight.dtype}")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected bias of dtype {input.dtype} like the input, got {bias.dtype}")
    if input._data.dtype.kind not in "fiu":
        raise RuntimeError(f"{op}: not implemented for {input.dtype} input")
    if any(k <= 0 for k in weight.shape[2:]):
        raise RuntimeError(f"{op}: expected kernel sizes > 0, got weight of size {_shape(weight.shape)}")
    if any(size <= 0 for size in input.shape[-n:]):
        raise RuntimeError(f"{op}: expected non-empty spatial dims, got input of size {_shape(input.shape)}")
    return ndim == n + 2


def _check_groups(op: str, groups, weight, transposed: bool) -> int:
    if not _is_int(groups):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if weight.shape[0] % groups != 0:
        what = "in_channels" if transposed else "out_channels"
        raise RuntimeError(f"{op}: expected weight dim 0 ({what}) divisible by groups={groups}, "
                           f"got weight of size {_shape(weight.shape)}")
    return groups


def _check_bias(op: str, bias, out_channels: int, weight) -> None:
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(f"{op}: expected bias to be 1-dimensional with {out_channels} elements "
                           f"(weight {_shape(weight.shape)}), got bias of size {_shape(bias.shape)}")


def conv_arguments(op: str, n: int, input, weight, bias, stride, padding, dilation, groups):
    """Check a convolution call; returns (batched, stride, (lo, hi) pairs, dilation, groups)."""
    batched = _check_tensors(op, input, weight, bias, n)
    stride = _ntuple(op, "stride", stride, n)
    dilation = _ntuple(op, "dilation", dilation, n)
    _check_positive(op, "stride", stride)
    _check_positive(op, "dilation", dilation)
    groups = _check_groups(op, groups, weight, transposed=False)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        pads = same_or_valid_padding(op, padding, kernel, stride, dilation)
    else:
        symmetric = _ntuple(op, "padding", padding, n)
        if any(p < 0 for p in symmetric):
            raise RuntimeError(f"{op}: negative padding is not supported, got padding={symmetric}")
        pads = tuple((p, p) for p in symmetric)
    in_channels = input.shape[-n - 1]
    expected = weight.shape[1] * groups
    if in_channels != expected:
        raise RuntimeError(f"{op}: expected input with {expected} channels (weight {_shape(weight.shape)}, "
                           f"groups={groups}), got input {_shape(input.shape)}")
    _check_bias(op, bias, weight.shape[0], weight)
    spatial = tuple(input.shape[-n:])
    if any(window_output_size(size, k, s, lo, hi, d) < 1
           for size, k, s, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation)):
        padded = tuple(size + lo + hi for size, (lo, hi) in zip(spatial, pads))
        dilated = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        raise RuntimeError(f"{op}: padded input size per channel {_sizes(padded)} is smaller than the "
                           f"(dilated) kernel size {_sizes(dilated)}; input {_shape(input.shape)}, "
                           f"weight {_shape(weight.shape)}, padding={padding!r}, dilation={dilation}")
    return batched, stride, pads, dilation, groups


def conv_transpose_arguments(op: str, n: int, input, weight, bias, stride, padding, output_padding,
                             groups, dilation):
    """Check a transposed-convolution call; returns (batched, stride, pads, dilation, groups,
    output spatial size)."""
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a tuple of ints, not a string ({padding!r})")
    batched = _check_tensors(op, input, weight, bias, n)
    stride = _ntuple(op, "stride", stride, n)
    dilation = _ntuple(op, "dilation", dilation, n)
    symmetric = _ntuple(op, "padding", padding, n)
    out_pad = _ntuple(op, "output_padding", output_padding, n)
    _check_positive(op, "stride", stride)
    _check_positive(op, "dilation", dilation)
    if any(p < 0 for p in symmetric):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={symmetric}")
    if any(p < 0 for p in out_pad):
        raise RuntimeError(f"{op}: negative output_padding is not supported, got output_padding={out_pad}")
    if any(p >= max(s, d) for p, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, got "
                           f"output_padding={out_pad}, stride={stride}, dilation={dilation}")
    groups = _check_groups(op, groups, weight, transposed=True)
    in_channels = input.shape[-n - 1]
    if in_channels != weight.shape[0]:
        raise RuntimeError(f"{op}: expected input with {weight.shape[0]} channels (weight "
                           f"{_shape(weight.shape)}, groups={groups}), got input {_shape(input.shape)}")
    _check_bias(op, bias, weight.shape[1] * groups, weight)
    spatial = tuple(input.shape[-n:])
    out_spatial = tuple(transposed_output_size(size, k, s, p, p, d, o) for size, k, s, p, d, o
                        in zip(spatial, weight.shape[2:], stride, symmetric, dilation, out_pad))
    if any(o <= 0 for o in out_spatial):
        raise RuntimeError(f"{op}: output size is too small: input size per channel {_sizes(spatial)} gives "
                           f"output size {_sizes(out_spatial)} (weight {_shape(weight.shape)}, "
                           f"stride={stride}, padding={symmetric}, dilation={dilation})")
    pads = tuple((p, p) for p in symmetric)
    return batched, stride, pads, dilation, groups, out_spatial


# -- the functions ---------------------------------------------------------------------------

def _conv(op: str, n: int, input, weight, bias, stride, padding, dilation, groups):
    batched, stride, pads, dilation, groups = conv_arguments(
        op, n, input, weight, bias, stride, padding, dilation, groups)
    x = input if batched else input.unsqueeze(0)
    y = ConvNd.apply(x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return y if batched else y.squeeze(0)


def _conv_transpose(op: str, n: int, input, weight, bias, stride, padding, output_padding, groups, dilation):
    batched, stride, pads, dilation, groups, out_spatial = conv_transpose_arguments(
        op, n, input, weight, bias, stride, padding, output_padding, groups, dilation)
    x = input if batched else input.unsqueeze(0)
    output_shape = (x.shape[0], weight.shape[1] * groups) + out_spatial
    y = ConvTransposeNd.apply(x, weight, bias, stride=stride, padding=pads, dilation=dilation,
                              groups=groups, output_shape=output_shape)
    return y if batched else y.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution over ``(N, C_in, L)``; weight ``(C_out, C_in/groups, kL)``."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution over ``(N, C_in, H, W)``; weight ``(C_out, C_in/groups, kH, kW)``."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution over ``(N, C_in, D, H, W)``; weight ``(C_out, C_in/groups, kD, kH, kW)``."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-d transposed convolution; weight ``(C_in, C_out/groups, kL)``."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution; weight ``(C_in, C_out/groups, kH, kW)``."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-d transposed convolution; weight ``(C_in, C_out/groups, kD, kH, kW)``."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)
