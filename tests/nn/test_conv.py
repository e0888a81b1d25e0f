"""Convolution functions and modules against torch: values, gradients for input, weight and
bias, padding forms and modes, transposed convolutions, errors, reprs, the tutorial examples."""

import functools
import math
import pathlib
import runpy
import sys
import types

import numpy as np
import pytest

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from juanji.kernels.sizes import same_padding, transposed_output_size, window_output_size
from tests.helpers import compare_values_and_grads

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
DTYPES = [np.float32, np.float64]
CONV = {1: (F.conv1d, TF.conv1d), 2: (F.conv2d, TF.conv2d), 3: (F.conv3d, TF.conv3d)}
CONV_T = {1: (F.conv_transpose1d, TF.conv_transpose1d), 2: (F.conv_transpose2d, TF.conv_transpose2d),
          3: (F.conv_transpose3d, TF.conv_transpose3d)}
ROOT = pathlib.Path(__file__).resolve().parents[2]
_compare = functools.partial(compare_values_and_grads, tolerances=TOL)


def _conv_grid(n_configs, seed):
    """Random valid conv configs: (n, batch (0 = unbatched), groups, cin, cout, spatial, kernel,
    stride, padding, dilation, bias). Padding is an int, a tuple, 'same' or 'valid'."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < n_configs:
        n = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 1, 2, 3, 4]))
        depthwise = groups > 1 and rng.random() < 0.4
        cin = groups * (1 if depthwise else int(rng.integers(1, 3)))
        cout = groups * int(rng.integers(1, 3))
        spatial = tuple(int(v) for v in rng.integers(1, 12 if n < 3 else 7, size=n))
        kernel = tuple(int(v) for v in rng.integers(1, 8 if n < 3 else 4, size=n))
        dilation = tuple(int(v) for v in rng.integers(1, 4, size=n))
        form = rng.choice(["int", "tuple", "same", "valid"])
        if form == "same":
            stride, padding = 1, "same"
            pads = [same_padding(k, d) for k, d in zip(kernel, dilation)]
        else:
            stride = tuple(int(v) for v in rng.integers(1, 4, size=n))
            padding = {"int": int(rng.integers(0, 4)), "tuple": tuple(int(v) for v in rng.integers(0, 4, size=n)),
                       "valid": "valid"}[form]
            p = (0,) * n if padding == "valid" else (padding,) * n if isinstance(padding, int) else padding
            pads = [(q, q) for q in p]
        s = (stride,) * n if isinstance(stride, int) else stride
        if any(window_output_size(size, k, st, lo, hi, d) < 1
               for size, k, st, (lo, hi), d in zip(spatial, kernel, s, pads, dilation)):
            continue
        batch = int(rng.integers(0, 5))
        configs.append((n, batch, groups, cin, cout, spatial, kernel, stride, padding, dilation,
                        bool(rng.integers(0, 2))))
    return configs


def _arrays(rng, dtype, batch, cin, spatial, weight_shape, bias_size):
    x = rng.standard_normal(((batch,) if batch else ()) + (cin,) + spatial).astype(dtype)
    w = rng.standard_normal(weight_shape).astype(dtype)
    b = rng.standard_normal(bias_size).astype(dtype) if bias_size else None
    return x, w, b


# -- convolution -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", _conv_grid(40, seed=0))
def test_conv_matches_torch_values_and_gradients(config, dtype):
    n, batch, groups, cin, cout, spatial, kernel, stride, padding, dilation, bias = config
    rng = np.random.default_rng(0)
    x, w, b = _arrays(rng, dtype, batch, cin, spatial, (cout, cin // groups) + kernel, cout if bias else 0)
    j_fn, t_fn = CONV[n]
    _compare(lambda x, w, b: j_fn(x, w, b, stride, padding, dilation, groups),
             lambda x, w, b: t_fn(x, w, b, stride, padding, dilation, groups), [x, w, b], dtype)


@pytest.mark.parametrize("config", [
    # LeNet, ResNet-style, AlexNet-style stems, depthwise with a channel multiplier, even kernels
    dict(x=(4, 1, 28, 28), w=(6, 1, 5, 5), padding=2),
    dict(x=(2, 8, 16, 16), w=(8, 8, 3, 3), padding=1, stride=2),
    dict(x=(2, 3, 35, 35), w=(8, 3, 11, 11), padding=2, stride=4),
    dict(x=(3, 4, 9, 10), w=(8, 1, 3, 3), padding=1, groups=4),
    dict(x=(2, 6, 9, 8), w=(4, 6, 4, 2), padding="same", dilation=(2, 3)),
    dict(x=(2, 8, 7, 7), w=(16, 8, 1, 1)),
    dict(x=(2, 8, 7, 7), w=(16, 4, 1, 1), groups=2, stride=2),
])
def test_conv2d_on_typical_layer_shapes(config):
    config = dict(config)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(config.pop("x")).astype(np.float32)
    w = rng.standard_normal(config.pop("w")).astype(np.float32)
    b = rng.standard_normal(w.shape[0]).astype(np.float32)
    _compare(lambda x, w, b: F.conv2d(x, w, b, **config), lambda x, w, b: TF.conv2d(x, w, b, **config),
             [x, w, b], np.float32)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_string_padding_keeps_or_shrinks_the_size(n, padding):
    x = juanji.randn(*((2, 3) + (8,) * n))
    w = juanji.randn(*((4, 3) + (4,) * n))  # even kernel: 'same' puts the odd extra pad on the right
    y = CONV[n][0](x, w, padding=padding, dilation=2)
    expected = 8 if padding == "same" else 8 - 2 * 3
    assert tuple(y.shape) == (2, 4) + (expected,) * n


def test_non_contiguous_inputs():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    _compare(lambda x, w: F.conv2d(x.permute(0, 3, 1, 2), w.transpose(0, 1), None, 1, 1),
             lambda x, w: TF.conv2d(x.permute(0, 3, 1, 2), w.transpose(0, 1), None, 1, 1), [x, w], np.float32)


def test_float16_and_integer_inputs_follow_torch():
    x = np.random.default_rng(7).integers(-3, 4, (2, 3, 6, 6))
    w = np.random.default_rng(8).integers(-3, 4, (4, 3, 3, 3))
    y = F.conv2d(juanji.tensor(x), juanji.tensor(w), padding=1)
    assert y.dtype == juanji.int64
    np.testing.assert_array_equal(y.numpy(), TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy())
    half = F.conv2d(juanji.tensor(x, dtype=juanji.float16), juanji.tensor(w, dtype=juanji.float16), padding=1)
    assert half.dtype == juanji.float16
    np.testing.assert_array_equal(half.numpy(), y.numpy().astype(np.float16))


def test_gy_flows_only_to_inputs_that_need_it():
    x = juanji.randn(2, 3, 6, 6, requires_grad=True)
    w = juanji.randn(4, 3, 3, 3)
    b = juanji.randn(4, requires_grad=True)
    F.conv2d(x, w, b).sum().backward()
    assert x.grad is not None and b.grad is not None and w.grad is None
    with juanji.no_grad():
        y = F.conv2d(x, w, b)
    assert not y.requires_grad


# -- transposed convolution ----------------------------------------------------------------------

def _transpose_grid(n_configs, seed):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < n_configs:
        n = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 1, 2, 3]))
        cin = groups * int(rng.integers(1, 3))
        cout = groups * int(rng.integers(1, 3))
        spatial = tuple(int(v) for v in rng.integers(1, 8 if n < 3 else 5, size=n))
        kernel = tuple(int(v) for v in rng.integers(1, 6 if n < 3 else 4, size=n))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=n))
        dilation = tuple(int(v) for v in rng.integers(1, 4, size=n))
        padding = tuple(int(v) for v in rng.integers(0, 3, size=n))
        out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        if any(transposed_output_size(size, k, s, p, p, d, o) < 1 for size, k, s, p, d, o
               in zip(spatial, kernel, stride, padding, dilation, out_pad)):
            continue
        configs.append((n, int(rng.integers(0, 4)), groups, cin, cout, spatial, kernel, stride, padding,
                        out_pad, dilation, bool(rng.integers(0, 2))))
    return configs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", _transpose_grid(30, seed=1))
def test_conv_transpose_matches_torch_values_and_gradients(config, dtype):
    n, batch, groups, cin, cout, spatial, kernel, stride, padding, out_pad, dilation, bias = config
    rng = np.random.default_rng(0)
    x, w, b = _arrays(rng, dtype, batch, cin, spatial, (cin, cout // groups) + kernel, cout if bias else 0)
    j_fn, t_fn = CONV_T[n]
    _compare(lambda x, w, b: j_fn(x, w, b, stride, padding, out_pad, groups, dilation),
             lambda x, w, b: t_fn(x, w, b, stride, padding, out_pad, groups, dilation), [x, w, b], dtype)


def test_conv_transpose_with_output_padding_beyond_the_stride():
    """stride 1, dilation 3: output_padding 2 is allowed and adds positions only bias reaches."""
    rng = np.random.default_rng(4)
    x, w, b = _arrays(rng, np.float64, 2, 2, (5, 4), (2, 3, 3, 2), 3)
    _compare(lambda x, w, b: F.conv_transpose2d(x, w, b, 1, 1, (2, 1), 1, 3),
             lambda x, w, b: TF.conv_transpose2d(x, w, b, 1, 1, (2, 1), 1, 3), [x, w, b], np.float64)


# -- numerical gradient checks (no torch) ---------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_gradcheck(n):
    rng = np.random.default_rng(n)
    spatial, kernel = {1: ((7,), (3,)), 2: ((5, 4), (3, 2)), 3: ((4, 3, 4), (2, 3, 2))}[n]
    x = juanji.tensor(rng.standard_normal((2, 4) + spatial), requires_grad=True)
    w = juanji.tensor(rng.standard_normal((4, 2) + kernel), requires_grad=True)
    b = juanji.tensor(rng.standard_normal(4), requires_grad=True)
    fn = CONV[n][0]
    assert gradcheck(lambda x, w, b: fn(x, w, b, 2, 1, 1, 2), (x, w, b))
    assert gradcheck(lambda x, w, b: fn(x, w, b, 1, "same", 2, 2), (x, w, b))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_transpose_gradcheck(n):
    rng = np.random.default_rng(10 + n)
    x = juanji.tensor(rng.standard_normal((2, 4) + (3,) * n), requires_grad=True)
    w = juanji.tensor(rng.standard_normal((4, 3) + (2,) * (n - 1) + (3,)), requires_grad=True)
    b = juanji.tensor(rng.standard_normal(6), requires_grad=True)
    fn = CONV_T[n][0]
    assert gradcheck(lambda x, w, b: fn(x, w, b, 2, 1, 1, 2, 1), (x, w, b))


def test_depthwise_and_pointwise_gradcheck():
    rng = np.random.default_rng(9)
    x = juanji.tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    dw = juanji.tensor(rng.standard_normal((6, 1, 3, 2)), requires_grad=True)
    pw = juanji.tensor(rng.standard_normal((4, 3, 1, 1)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv2d(x, w, None, (2, 1), 1, (1, 2), 3), (x, dw))
    assert gradcheck(lambda x, w: F.conv2d(x, w), (x, pw))


# -- errors -----------------------------------------------------------------------------------

def _t(*shape, dtype=None):
    return juanji.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(_t(8, 1, 28, 28), _t(16, 3, 5, 5)), RuntimeError,
     r"conv2d: expected input with 3 channels \(weight \[16, 3, 5, 5\], groups=1\), got input \[8, 1, 28, 28\]"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), groups=2), RuntimeError,
     r"conv2d: expected input with 6 channels \(weight \[4, 3, 3, 3\], groups=2\), got input \[2, 3, 8, 8\]"),
    (lambda: F.conv2d(_t(2, 4, 8, 8), _t(3, 2, 3, 3), groups=2), RuntimeError,
     r"conv2d: expected weight dim 0 \(out_channels\) divisible by groups=2, got weight of size \[3, 2, 3, 3\]"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 9, 9)), RuntimeError,
     r"conv2d: padded input size per channel \(8 x 8\) is smaller than the \(dilated\) kernel size \(9 x 9\)"),
    (lambda: F.conv1d(_t(2, 3, 8), _t(4, 3, 3), dilation=4), RuntimeError,
     r"conv1d: padded input size per channel \(8\) is smaller than the \(dilated\) kernel size \(9\)"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), padding="same", stride=2), RuntimeError,
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), padding="full"), RuntimeError,
     r"conv2d: invalid padding string 'full', expected 'valid' or 'same'"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), stride=0), RuntimeError,
     r"conv2d: non-positive stride is not supported, got stride=\(0, 0\)"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), dilation=(1, -1)), RuntimeError,
     r"conv2d: non-positive dilation"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), padding=-1), RuntimeError,
     r"conv2d: negative padding is not supported"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), groups=0), RuntimeError,
     r"conv2d: non-positive groups is not supported"),
    (lambda: F.conv2d(_t(8, 8), _t(4, 3, 3, 3)), RuntimeError,
     r"conv2d: expected 3D \(unbatched, C, H, W\) or 4D \(batched, N, C, H, W\) input, got input of size \[8, 8\]"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3)), RuntimeError,
     r"conv2d: expected a 4D weight \(out, in/groups, kH, kW\), got weight of size \[4, 3, 3\]"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 0, 3)), RuntimeError,
     r"conv2d: expected kernel sizes > 0, got weight of size \[4, 3, 0, 3\]"),
    (lambda: F.conv2d(_t(2, 3, 0, 8), _t(4, 3, 3, 3)), RuntimeError,
     r"conv2d: expected non-empty spatial dims, got input of size \[2, 3, 0, 8\]"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), stride=(1, 2, 3)), RuntimeError,
     r"conv2d: expected stride to be a single integer value or a list of 2 values"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), stride=1.5), TypeError,
     r"conv2d: stride must be an int or a tuple of 2 ints, got 1.5"),
    (lambda: F.conv2d(_t(2, 3, 8, 8), _t(4, 3, 3, 3), _t(3)), RuntimeError,
     r"conv2d: expected bias to be 1-dimensional with 4 elements \(weight \[4, 3, 3, 3\]\), got bias of size \[3\]"),
    (lambda: F.conv2d(_t(2, 3, 8, 8, dtype=juanji.float64), _t(4, 3, 3, 3)), RuntimeError,
     r"conv2d: expected input and weight of the same dtype, got input .*float64 and weight .*float32"),
    (lambda: F.conv_transpose2d(_t(2, 3, 8, 8), _t(3, 2, 3, 3), stride=2, output_padding=2), RuntimeError,
     r"conv_transpose2d: output padding must be smaller than either stride or dilation, got "
     r"output_padding=\(2, 2\), stride=\(2, 2\), dilation=\(1, 1\)"),
    (lambda: F.conv_transpose2d(_t(2, 3, 8, 8), _t(4, 2, 3, 3)), RuntimeError,
     r"conv_transpose2d: expected input with 4 channels \(weight \[4, 2, 3, 3\], groups=1\), got input \[2, 3, 8, 8\]"),
    (lambda: F.conv_transpose2d(_t(1, 3, 1, 1), _t(3, 2, 3, 3), padding=2), RuntimeError,
     r"conv_transpose2d: output size is too small: input size per channel \(1 x 1\) gives output size \(-1 x -1\)"),
    (lambda: F.conv_transpose2d(_t(2, 3, 8, 8), _t(3, 2, 3, 3), padding="same"), TypeError,
     r"conv_transpose2d: padding must be an int or a tuple of ints, not a string"),
    (lambda: F.conv_transpose2d(_t(2, 3, 8, 8), _t(3, 2, 3, 3), groups=2), RuntimeError,
     r"conv_transpose2d: expected weight dim 0 \(in_channels\) divisible by groups=2"),
    (lambda: F.conv_transpose1d(_t(2, 3, 8), _t(3, 2, 3), _t(3)), RuntimeError,
     r"conv_transpose1d: expected bias to be 1-dimensional with 2 elements"),
])
def test_bad_arguments_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_torch_raises_on_the_same_bad_arguments():
    """The error cases above are errors in torch too (our messages are our own)."""
    z = torch.zeros
    for call in [lambda: TF.conv2d(z(8, 1, 28, 28), z(16, 3, 5, 5)),
                 lambda: TF.conv2d(z(2, 3, 8, 8), z(4, 3, 9, 9)),
                 lambda: TF.conv2d(z(2, 3, 8, 8), z(4, 3, 3, 3), padding="same", stride=2),
                 lambda: TF.conv_transpose2d(z(2, 3, 8, 8), z(3, 2, 3, 3), stride=2, output_padding=2),
                 lambda: TF.conv_transpose2d(z(1, 3, 1, 1), z(3, 2, 3, 3), padding=2)]:
        with pytest.raises(RuntimeError):
            call()


# -- modules ------------------------------------------------------------------------------------

J_MODULES = {(False, 1): nn.Conv1d, (False, 2): nn.Conv2d, (False, 3): nn.Conv3d,
             (True, 1): nn.ConvTranspose1d, (True, 2): nn.ConvTranspose2d, (True, 3): nn.ConvTranspose3d}
T_MODULES = {(False, 1): torch.nn.Conv1d, (False, 2): torch.nn.Conv2d, (False, 3): torch.nn.Conv3d,
             (True, 1): torch.nn.ConvTranspose1d, (True, 2): torch.nn.ConvTranspose2d,
             (True, 3): torch.nn.ConvTranspose3d}


def _module_pair(transposed, n, dtype, *args, **kwargs):
    """The same layer in both frameworks, juanji's holding torch's initial parameters."""
    t_layer = T_MODULES[transposed, n](*args, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    j_layer = J_MODULES[transposed, n](*args, **kwargs, dtype=juanji.float64 if dtype == np.float64 else None)
    with juanji.no_grad():
        j_layer.weight.copy_(juanji.tensor(t_layer.weight.detach().numpy()))
        if t_layer.bias is not None:
            j_layer.bias.copy_(juanji.tensor(t_layer.bias.detach().numpy()))
    return j_layer, t_layer


def _compare_modules(j_layer, t_layer, x, dtype, **forward_kwargs):
    jx, tx = juanji.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    jy, ty = j_layer(jx, **forward_kwargs), t_layer(tx, **forward_kwargs)
    assert tuple(jy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(2).standard_normal(tuple(ty.shape)).astype(dtype)
    jy.backward(juanji.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(j_layer.weight.grad.numpy(), t_layer.weight.grad.numpy(), **TOL[dtype])
    if t_layer.bias is not None:
        np.testing.assert_allclose(j_layer.bias.grad.numpy(), t_layer.bias.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("n, padding, stride, dilation, groups, batch", [
    (1, 2, 1, 1, 1, 3),
    (1, "same", 1, 2, 2, 0),
    (2, (1, 2), (2, 1), 1, 1, 2),
    (2, "same", 1, (1, 2), 2, 1),
    (2, "valid", 2, 1, 4, 2),
    (3, 1, (1, 2, 1), 1, 2, 2),
    (3, "same", 1, 1, 1, 0),
])
def test_conv_modules_match_torch_in_every_padding_mode(n, padding, stride, dilation, groups, batch,
                                                       padding_mode, dtype):
    torch.manual_seed(0)
    kernel = (3, 2, 3)[:n] if n > 1 else 4
    j_layer, t_layer = _module_pair(False, n, dtype, 4, 8, kernel, stride=stride, padding=padding,
                                    dilation=dilation, groups=groups, bias=batch != 1, padding_mode=padding_mode)
    spatial = (9, 8, 7)[:n]
    x = np.random.default_rng(1).standard_normal(((batch,) if batch else ()) + (4,) + spatial).astype(dtype)
    _compare_modules(j_layer, t_layer, x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, stride, padding, output_padding, dilation, groups, output_size", [
    (1, 2, 1, 1, 1, 1, None),
    (1, 3, 0, 0, 2, 2, [18]),
    (2, (2, 3), (1, 0), 0, 1, 2, None),
    (2, 2, 1, 0, 1, 1, [10, 8]),
    (2, 2, 1, 0, 1, 1, [1, 2, 9, 8]),
    (3, 2, 1, (1, 0, 1), 1, 1, None),
    (3, (1, 2, 2), 0, 0, (2, 1, 1), 2, [9, 10, 9]),
])
def test_conv_transpose_modules_match_torch(n, stride, padding, output_padding, dilation, groups,
                                            output_size, dtype):
    torch.manual_seed(0)
    j_layer, t_layer = _module_pair(True, n, dtype, 4, 2, 3, stride=stride, padding=padding,
                                    output_padding=output_padding, groups=groups, dilation=dilation)
    x = np.random.default_rng(1).standard_normal((1, 4) + (5, 4, 4)[:n]).astype(dtype)
    kwargs = {} if output_size is None else {"output_size": output_size}
    _compare_modules(j_layer, t_layer, x, dtype, **kwargs)


@pytest.mark.parametrize("make", [
    lambda m: m.Conv1d(16, 33, 3, stride=2),
    lambda m: m.Conv2d(1, 6, 5, padding=2),
    lambda m: m.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1), bias=False),
    lambda m: m.Conv2d(8, 8, 3, padding="same", groups=8, padding_mode="reflect"),
    lambda m: m.Conv3d(2, 4, 3, padding="valid", padding_mode="circular"),
    lambda m: m.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), output_padding=(1, 0)),
    lambda m: m.ConvTranspose1d(4, 2, 3, groups=2, dilation=2, bias=False),
    lambda m: m.ConvTranspose3d(4, 2, 3, stride=2),
])
def test_reprs_and_parameter_shapes_match_torch(make):
    j_layer, t_layer = make(nn), make(torch.nn)
    assert repr(j_layer) == repr(t_layer)
    assert [(k, tuple(v.shape)) for k, v in j_layer.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t_layer.state_dict().items()]


@pytest.mark.parametrize("transposed", [False, True])
def test_default_init_is_kaiming_uniform_from_juanjis_generator(transposed):
    layer_type = nn.ConvTranspose2d if transposed else nn.Conv2d
    juanji.manual_seed(3)
    layer = layer_type(6, 12, (3, 5), groups=3)
    fan_in = layer.weight.shape[1] * 15  # torch's fan_in: dim 1 times the kernel volume
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.shape == ((6, 4, 3, 5) if transposed else (12, 2, 3, 5)) and b.shape == (12,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound  # uniform(-a, a) has std a/sqrt(3)
    juanji.manual_seed(3)
    again = layer_type(6, 12, (3, 5), groups=3)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)


def test_conv_module_in_float64_and_unbatched():
    layer = nn.Conv2d(3, 4, 3, padding=1, dtype=juanji.float64)
    assert layer.weight.dtype == juanji.float64
    assert tuple(layer(juanji.randn(3, 5, 5, dtype=juanji.float64)).shape) == (4, 5, 5)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv2d(3, 8, 3, groups=2), r"Conv2d: in_channels must be divisible by groups, got in_channels=3"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), r"Conv2d: out_channels must be divisible by groups"),
    (lambda: nn.Conv2d(4, 6, 3, groups=0), r"Conv2d: groups must be a positive integer, got groups=0"),
    (lambda: nn.Conv2d(0, 6, 3), r"Conv2d: in_channels must be a positive integer"),
    (lambda: nn.Conv2d(3, 6, 3, padding="full"), r"Conv2d: invalid padding string 'full'"),
    (lambda: nn.Conv2d(3, 6, 3, padding="same", stride=2), r"Conv2d: padding='same' is not supported for strided"),
    (lambda: nn.Conv2d(3, 6, 3, padding_mode="mirror"), r"Conv2d: padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, padding_mode="reflect"), r'ConvTranspose2d: only "zeros" padding mode'),
])
def test_bad_layer_arguments_fail_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# What torch's constructors do not check, torch's op refuses at the first call; juanji's layers
# refuse it when they are built already, with the exception torch's call raises (one type per
# kind of mistake: the same as F.conv*d's for the same argument).
@pytest.mark.parametrize("make, torch_call, error, message", [
    (lambda: nn.Conv2d(3, 6, (3, 0)), lambda: torch.nn.Conv2d(3, 6, (3, 0))(torch.zeros(1, 3, 8, 8)),
     RuntimeError, r"Conv2d: non-positive kernel_size is not supported, got kernel_size=\(3, 0\)"),
    (lambda: nn.Conv1d(3, 6, 3, stride=0), lambda: torch.nn.Conv1d(3, 6, 3, stride=0)(torch.zeros(1, 3, 8)),
     RuntimeError, r"Conv1d: non-positive stride is not supported"),
    (lambda: nn.Conv3d(3, 6, 3, padding=-1), lambda: torch.nn.Conv3d(3, 6, 3, padding=-1)(torch.zeros(1, 3, 4, 4, 4)),
     RuntimeError, r"Conv3d: negative padding is not supported"),
    (lambda: nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2),
     lambda: torch.nn.ConvTranspose2d(3, 6, 3, stride=2, output_padding=2)(torch.zeros(1, 3, 4, 4)),
     RuntimeError, r"ConvTranspose2d: output padding must be smaller than either stride or dilation"),
    (lambda: nn.ConvTranspose1d(3, 6, 3, padding="same"),
     lambda: torch.nn.ConvTranspose1d(3, 6, 3, padding="same")(torch.zeros(1, 3, 8)),
     TypeError, r"ConvTranspose1d: padding must be an int or a tuple"),
    (lambda: nn.Conv2d(3, 6, 3, stride=1.5), lambda: torch.nn.Conv2d(3, 6, 3, stride=1.5)(torch.zeros(1, 3, 8, 8)),
     TypeError, r"Conv2d: stride must be an int or a tuple of 2 ints, got 1.5"),
])
def test_what_torch_refuses_at_the_call_fails_at_construction_with_its_type(make, torch_call, error, message):
    with pytest.raises(error):
        torch_call()
    with pytest.raises(error, match=message):
        make()


def test_a_changed_layer_attribute_is_read_at_the_next_call_as_in_torch():
    torch.manual_seed(0)
    t_layer = torch.nn.Conv2d(2, 3, 3, padding=1)
    j_layer = nn.Conv2d(2, 3, 3, padding=1)
    j_layer.load_state_dict({k: juanji.tensor(v.numpy()) for k, v in t_layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 2, 9, 9)).astype(np.float32)
    first = j_layer._window()
    for layer in (t_layer, j_layer):
        layer.stride, layer.padding = (2, 2), (0, 0)
    np.testing.assert_allclose(j_layer(juanji.tensor(x)).detach().numpy(), t_layer(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert j_layer._window() is not first and j_layer._window().stride == (2, 2)
    assert j_layer._window() is j_layer._window()  # kept again until the next change


def test_bad_output_size_names_the_valid_range():
    layer = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    x = juanji.randn(1, 4, 5, 5)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[12, 9\], but valid "
                                         r"sizes range from \[9, 9\] to \[10, 10\] \(for an input of \[5, 5\]\)"):
        layer(x, output_size=[12, 9])
    with pytest.raises(ValueError, match=r"ConvTranspose2d: for 4D input, output_size must have 2 or 4 elements"):
        layer(x, output_size=[10])
    with pytest.raises(ValueError):
        torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)(torch.randn(1, 4, 5, 5), output_size=[12, 9])


def test_wrong_input_channels_name_the_layer_and_both_shapes():
    with pytest.raises(RuntimeError, match=r"conv2d: expected input with 3 channels \(weight \[16, 3, 5, 5\], "
                                           r"groups=1\), got input \[8, 1, 28, 28\]"):
        nn.Conv2d(3, 16, 5)(juanji.zeros(8, 1, 28, 28))


# -- the tutorial examples ------------------------------------------------------------------------

def _load_example(name, framework, monkeypatch=None):
    """Run an example's definitions with ``import juanji as torch`` or (rewritten) real torch.

    ``learn_edge_kernel`` imports ``corr2d_by_hand``: it gets that file loaded the same way."""
    if name == "learn_edge_kernel":
        helper = types.ModuleType("corr2d_by_hand")
        helper.__dict__.update(_load_example("corr2d_by_hand", framework))
        monkeypatch.setitem(sys.modules, "corr2d_by_hand", helper)
    source = (ROOT / "examples" / f"{name}.py").read_text()
    if framework == "torch":
        source = source.replace("import juanji as torch", "import torch").replace("from juanji import nn",
                                                                                  "from torch import nn")
    namespace = {"__name__": f"example_{name}", "__file__": str(ROOT / "examples" / f"{name}.py")}
    exec(compile(source, f"{name}.py", "exec"), namespace)
    return namespace


def test_corr2d_example_runs_and_agrees_with_conv2d(capsys):
    runpy.run_path(str(ROOT / "examples" / "corr2d_by_hand.py"), run_name="__main__")
    example = _load_example("corr2d_by_hand", "juanji")
    rng = np.random.default_rng(0)
    X, K = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    by_hand = example["corr2d"](juanji.tensor(X), juanji.tensor(K)).numpy()
    np.testing.assert_allclose(by_hand, TF.conv2d(torch.tensor(X)[None, None], torch.tensor(K)[None, None])[0, 0],
                               rtol=1e-6, atol=1e-6)
    assert "[[19., 25.]," in capsys.readouterr().out.replace(" ", "").replace("[[19.,25.],", "[[19., 25.],")


def test_learn_edge_kernel_example_converges_as_in_torch(capsys, monkeypatch):
    runpy.run_path(str(ROOT / "examples" / "learn_edge_kernel.py"), run_name="__main__")
    assert "learned kernel (nn.Conv2d)" in capsys.readouterr().out
    losses = {}
    for framework, lib in (("juanji", juanji), ("torch", torch)):
        example = _load_example("learn_edge_kernel", framework, monkeypatch)
        X = example["edge_image"]()
        Y = example["corr2d"](X, lib.tensor([[1.0, -1.0]]))
        layer = example["nn"].Conv2d(1, 1, kernel_size=(1, 2), bias=False)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor([[[[0.3, 0.8]]]]))  # the same start in both
        losses[framework] = example["train"](layer, X.reshape((1, 1, 6, 8)), Y.reshape((1, 1, 6, 7)),
                                             report_every=0)
        kernel = layer.weight.detach().numpy().reshape(2)
        assert np.abs(kernel - [1.0, -1.0]).max() < 0.1
    np.testing.assert_allclose(losses["juanji"], losses["torch"], rtol=1e-4)
    assert losses["juanji"][-1] < 0.05 * losses["juanji"][0]
