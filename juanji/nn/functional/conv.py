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

from ...kernels.conv import conv_geometry
from ...ops.conv import ConvNd, ConvTransposeNd
from . import _args

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


# -- the calls behind the functions and the Modules ----------------------------------------------

def convolution(op: str, input, weight, bias, window, groups, batched=None):
    """A convolution over a validated ``window`` (``_args.conv_window``): the Module's path with
    its kept Window, and every ``F.conv*d``'s after validating its arguments. ``batched`` is
    what ``_args.conv_tensors`` returned, if the caller ran it already.

    The Op gets the geometry of ``window`` over this input shape (built once per shape, cached)
    and hands it to the forward kernel and to both backward kernels.
    """
    key = _call_key(op, input, weight, bias, window, groups)
    checked = _CHECKED.get(key) if key is not None else None
    if checked is None:
        if batched is None:
            batched = _args.conv_tensors(op, window.ndim, input, weight, bias)
        groups, _ = _args.conv_call(op, input, weight, bias, window, groups)
        shape = tuple(input.shape) if batched else (1,) + tuple(input.shape)
        checked = (batched, conv_geometry(window, shape, weight.shape[0], groups))
        _remember(key, checked)
    batched, geometry = checked
    x = input if batched else input.unsqueeze(0)
    y = ConvNd.apply(x, weight, bias, geometry=geometry)
    return y if batched else y.squeeze(0)


# A layer calls with the same shapes step after step, and everything the checks of ``_args`` look
# at (and the geometry they lead to) is in this key: the op, the Window, the shapes and dtypes of
# the input, weight and bias, and groups. A call whose key was checked before skips the checks
# (~10 us of Python per call, as long as a small layer's kernels).
_CHECKED: dict = {}
_CHECKED_MAX = 4096


def _call_key(op, input, weight, bias, window, groups):
    """The key of a call, or None when it cannot be kept (groups not an int, or arguments that are
    not tensors: the checks then say what is wrong)."""
    if groups.__class__ is not int:
        return None
    try:
        x, w = input._data, weight._data
        if bias is None:
            return op, window, groups, x.shape, x.dtype, w.shape, w.dtype
        b = bias._data
    except AttributeError:
        return None
    return op, window, groups, x.shape, x.dtype, w.shape, w.dtype, b.shape, b.dtype


def _remember(key, checked) -> None:
    if key is None:
        return
    if len(_CHECKED) >= _CHECKED_MAX:
        _CHECKED.clear()
    _CHECKED[key] = checked


def conv_transpose(op: str, input, weight, bias, window, groups, batched=None):
    """A transposed convolution over a validated transposed ``window`` (with its output_padding).

    Its geometry is that of the convolution from the output back to the input: the window over
    the output shape, with the input's channels as that convolution's output channels.
    """
    if batched is None:
        batched = _args.conv_tensors(op, window.ndim, input, weight, bias)
    groups, out_spatial = _args.conv_call(op, input, weight, bias, window, groups)
    x = input if batched else input.unsqueeze(0)
    output_shape = (x.shape[0], weight.shape[1] * groups) + out_spatial
    geometry = conv_geometry(window, output_shape, weight.shape[0], groups)
    y = ConvTransposeNd.apply(x, weight, bias, geometry=geometry)
    return y if batched else y.squeeze(0)


def _conv(op: str, n: int, input, weight, bias, stride, padding, dilation, groups):
    batched = _args.conv_tensors(op, n, input, weight, bias)
    window = _args.conv_window(op, n, tuple(weight.shape[2:]), stride, padding, dilation)
    return convolution(op, input, weight, bias, window, groups, batched)


def _conv_transpose(op: str, n: int, input, weight, bias, stride, padding, output_padding, groups, dilation):
    batched = _args.conv_tensors(op, n, input, weight, bias)
    window = _args.conv_window(op, n, tuple(weight.shape[2:]), stride, padding, dilation, transposed=True,
                               output_padding=output_padding)
    return conv_transpose(op, input, weight, bias, window, groups, batched)


# -- the functions ---------------------------------------------------------------------------

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
