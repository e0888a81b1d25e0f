"""One ONNX translation per juanji Op (by the Op's class name), from the Op's recorded inputs
and arguments. Each handler ``fn(g, step, ctx) -> [value name, ...]`` adds nodes to the graph
``g`` and returns the names of the step's outputs (None for an output nothing reads).

Pooling Ops carry their windows (start and count of every window, see
``juanji/kernels/pool.py``), not torch's arguments: :func:`_regular_axis` finds the kernel,
stride, dilation and padding that give exactly those windows (the pooling layers' own window
function is re-run on each candidate), and windows that no regular pooling gives (adaptive
pools of uneven sizes) are exported as one slice-and-reduce per output along each axis, which
is exact because max and sum over a box are separable.
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels import pool as pool_kernels
from ..kernels import resample as resample_kernels
from ._graph import ExportError

HANDLERS: dict = {}


def handles(*kinds):
    def register(fn):
        for kind in kinds:
            HANDLERS[kind] = fn
        return fn
    return register


def _dtype(step):
    return step.outputs[0]._data.dtype


def _in(g, step, i=0):
    return g.name_of(step.inputs[i])


def _operand(g, step, value, dtype):
    """A binary op's operand: a traced/param value (cast to the result dtype if needed) or a number."""
    if value is None:
        return None
    arr = getattr(value, "_data", None)
    if arr is None and not isinstance(value, np.ndarray):
        return g.const(value, dtype)
    name = g.name_of(value)
    src = arr if arr is not None else value
    if src.dtype != dtype:
        name = g.one("Cast", [name], step.prefix, to=g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    return name


# -- convolution --------------------------------------------------------------------------------

@handles("ConvNd")
def _conv(g, step, ctx):
    x, w, b = step.inputs[:3]
    geometry = step.params["geometry"]  # the layer's Window over this input (kernels/_conv_geometry.py)
    window = geometry.window
    ins = [g.name_of(x), g.name_of(w)] + ([g.name_of(b)] if b is not None else [])
    return [g.one("Conv", ins, step.prefix, kernel_shape=list(w.shape[2:]), strides=list(window.stride),
                  pads=list(window.pad_lo) + list(window.pad_hi), dilations=list(window.dilation),
                  group=int(geometry.groups))]


@handles("ConvTransposeNd")
def _conv_transpose(g, step, ctx):
    x, w, b = step.inputs[:3]
    # the geometry of the convolution from the output back to x: its input shape is the output's
    geometry = step.params["geometry"]
    window = geometry.window
    ins = [g.name_of(x), g.name_of(w)] + ([g.name_of(b)] if b is not None else [])
    kernel = w.shape[2:]
    out_pad = []
    for n, o, k, s, lo, hi, d in zip(x.shape[2:], geometry.input_shape()[2:], kernel, window.stride,
                                     window.pad_lo, window.pad_hi, window.dilation):
        out_pad.append(o - ((n - 1) * s - lo - hi + d * (k - 1) + 1))
    return [g.one("ConvTranspose", ins, step.prefix, kernel_shape=list(kernel), strides=list(window.stride),
                  pads=list(window.pad_lo) + list(window.pad_hi), dilations=list(window.dilation),
                  group=int(geometry.groups), output_padding=out_pad)]


# -- pooling --------------------------------------------------------------------------------------

def _regular_axis(n, axis):
    """(kernel, stride, dilation, pad_lo, pad_hi) of a floor-mode pooling giving exactly these
    windows along one axis of size ``n``, or None."""
    start, count, d = axis.start, axis.count, axis.step
    out = len(start)
    strides = sorted({int(v) for v in np.diff(start)} - {0}) if out > 1 else [1]
    top = int(count.max()) if out else 1
    for s in strides:
        if s <= 0:
            continue
        for k in range(top, top + 3):
            for p in range(0, k // 2 + 1):
                for ceil in (False, True):
                    try:
                        trial = pool_kernels._axis_sliding(n, k, s, p, d, ceil)
                    except (ValueError, ZeroDivisionError):
                        continue
                    if trial.out == out and np.array_equal(trial.start, start) and np.array_equal(trial.count, count):
                        hi = max(0, (out - 1) * s + d * (k - 1) + 1 - n - p)
                        return k, s, d, p, hi
    return None


def _is_global(windows):
    return all(a.out == 1 and a.start[0] == 0 and a.count[0] == n for a, n in zip(windows.axes, windows.in_spatial))


def _pool_regular(g, step, x, geometry, onnx_op, pad_value, **attrs):
    kernel = [k for k, _, _, _, _ in geometry]
    strides = [s for _, s, _, _, _ in geometry]
    lo = [p for _, _, _, p, _ in geometry]
    hi = [h for _, _, _, _, h in geometry]
    if any(v >= k for v, k in zip(lo + hi, kernel + kernel)):  # onnxruntime wants pads < kernel: pad first
        rank = len(step.inputs[0].shape)
        pads = [0] * (rank - len(lo)) + lo + [0] * (rank - len(hi)) + hi
        x = g.one("Pad", [x, g.i64(pads), g.const(pad_value, _dtype(step))], step.prefix, mode="constant")
        lo, hi = [0] * len(lo), [0] * len(hi)
    return g.one(onnx_op, [x], step.prefix, kernel_shape=kernel, strides=strides, pads=lo + hi, **attrs)


def _pool_by_slices(g, step, x, windows, reduce_op):
    """Exact for any windows: along each spatial axis, reduce each window's slice, concatenate."""
    rank = len(step.inputs[0].shape)
    first = rank - len(windows.axes)
    for i, axis in enumerate(windows.axes):
        ax = first + i
        if axis.step != 1:
            raise ExportError("dilated windows that no regular pooling gives")
        parts = []
        for start, count in zip(axis.start.tolist(), axis.count.tolist()):
            piece = g.one("Slice", [x, g.i64([start]), g.i64([start + count]), g.i64([ax])], step.prefix)
            if reduce_op == "ReduceSum":
                parts.append(g.one("ReduceSum", [piece, g.i64([ax])], step.prefix, keepdims=1))
            else:
                parts.append(g.one(reduce_op, [piece], step.prefix, axes=[ax], keepdims=1))
        x = parts[0] if len(parts) == 1 else g.one("Concat", parts, step.prefix, axis=ax)
    return x


@handles("MaxPool")
def _max_pool(g, step, ctx):
    if step.params.get("return_indices"):
        raise ExportError("max pooling with return_indices (ONNX's indices count over the whole tensor)")
    windows = step.params["windows"]
    x = _in(g, step)
    if _is_global(windows):
        return [g.one("GlobalMaxPool", [x], step.prefix)]
    geometry = [_regular_axis(n, a) for n, a in zip(windows.in_spatial, windows.axes)]
    if all(geometry):
        dil = [d for _, _, d, _, _ in geometry]
        return [_pool_regular(g, step, x, geometry, "MaxPool", -np.inf, dilations=dil)]
    return [_pool_by_slices(g, step, x, windows, "ReduceMax")]


@handles("AvgPool")
def _avg_pool(g, step, ctx):
    windows, divisor = step.params["windows"], step.params["divisor"]
    x = _in(g, step)
    dtype = _dtype(step)
    if _is_global(windows) and np.all(divisor == math.prod(windows.in_spatial)):
        return [g.one("GlobalAveragePool", [x], step.prefix)]
    geometry = [_regular_axis(n, a) for n, a in zip(windows.in_spatial, windows.axes)]
    if all(geometry) and all(d == 1 for _, _, d, _, _ in geometry):
        y = _pool_regular(g, step, x, geometry, "AveragePool", 0.0, count_include_pad=1)
        full = math.prod(k for k, _, _, _, _ in geometry)
        if not np.all(divisor == full):  # ONNX divides every window by the kernel size: correct it
            y = g.one("Mul", [y, g.const(full / divisor.astype(np.float64), dtype)], step.prefix)
        return [y]
    y = _pool_by_slices(g, step, x, windows, "ReduceSum")
    return [g.one("Div", [y, g.const(divisor, dtype)], step.prefix)]


# -- normalisation --------------------------------------------------------------------------------

@handles("BatchNorm")
def _batch_norm(g, step, ctx):
    x, w, b = step.inputs[:3]
    p = step.params
    if p.get("mean") is None:
        raise ExportError("batch norm with batch statistics (training mode): call model.eval() before exporting")
    dtype = _dtype(step)
    channels = x.shape[1]
    scale = g.name_of(w) if w is not None else g.const(np.ones(channels), dtype)
    bias = g.name_of(b) if b is not None else g.const(np.zeros(channels), dtype)
    mean, var = p["mean"], p["var"]
    if mean.shape != (channels,):
        raise ExportError("instance norm with running statistics")
    y = g.one("BatchNormalization", [_in(g, step), scale, bias, g.name_of(mean), g.name_of(var)], step.prefix,
              epsilon=float(p.get("eps", 1e-5)))
    return [y, None, None]


@handles("LocalResponseNorm")
def _lrn(g, step, ctx):
    p = step.params
    args = dict(p) if p else dict(zip(("size", "alpha", "beta", "k"), step.inputs[1:]))
    return [g.one("LRN", [_in(g, step)], step.prefix, size=int(args["size"]), alpha=float(args["alpha"]),
                  beta=float(args["beta"]), bias=float(args["k"]))]


# -- activations ------------------------------------------------------------------------------------

def _simple(onnx_op):
    return lambda g, step, ctx: [g.one(onnx_op, [_in(g, step)], step.prefix)]


for _kind, _onnx in {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Exp": "Exp", "Log": "Log",
                     "Sqrt": "Sqrt", "Neg": "Neg", "Abs": "Abs", "Sin": "Sin", "Cos": "Cos",
                     "Softsign": "Softsign", "_HookIdentity": "Identity"}.items():
    HANDLERS[_kind] = _simple(_onnx)


def _arg(step, i, name, default=None):
    if name in step.params:
        return step.params[name]
    return step.inputs[i] if len(step.inputs) > i else default


@handles("LeakyRelu")
def _leaky_relu(g, step, ctx):
    return [g.one("LeakyRelu", [_in(g, step)], step.prefix, alpha=float(_arg(step, 1, "negative_slope")))]


@handles("Hardtanh")
def _hardtanh(g, step, ctx):
    dtype = _dtype(step)
    lo, hi = _arg(step, 1, "min_val"), _arg(step, 2, "max_val")
    return [g.one("Clip", [_in(g, step), g.const(lo, dtype), g.const(hi, dtype)], step.prefix)]


@handles("Hardsigmoid")
def _hardsigmoid(g, step, ctx):
    return [g.one("HardSigmoid", [_in(g, step)], step.prefix, alpha=1.0 / 6, beta=0.5)]


@handles("Hardswish")
def _hardswish(g, step, ctx):
    return [g.one("HardSwish", [_in(g, step)], step.prefix)]


@handles("Prelu")
def _prelu(g, step, ctx):
    x, w = step.inputs[:2]
    slope = g.name_of(w)
    if w.shape[0] > 1 and x.ndim > 2:  # per channel (dim 1): broadcast as (C, 1, ...)
        slope = g.one("Reshape", [slope, g.i64([w.shape[0]] + [1] * (x.ndim - 2))], step.prefix)
    return [g.one("PRelu", [g.name_of(x), slope], step.prefix)]


@handles("Elu")
def _elu(g, step, ctx):
    alpha, scale, input_scale = _arg(step, 1, "alpha"), _arg(step, 2, "scale", 1.0), _arg(step, 3, "input_scale", 1.0)
    x = _in(g, step)
    if input_scale != 1.0:
        x = g.one("Mul", [x, g.const(input_scale, _dtype(step))], step.prefix)
    y = g.one("Elu", [x], step.prefix, alpha=float(alpha))
    if scale != 1.0:
        y = g.one("Mul", [y, g.const(scale, _dtype(step))], step.prefix)
    return [y]


@handles("Gelu")
def _gelu(g, step, ctx):
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation (ONNX has Gelu from opset 20 only)."""
    dtype, x = _dtype(step), _in(g, step)
    if _arg(step, 1, "approximate", "none") == "tanh":
        cube = g.one("Mul", [g.one("Mul", [x, x], step.prefix), x], step.prefix)
        inner = g.one("Add", [x, g.one("Mul", [cube, g.const(0.044715, dtype)], step.prefix)], step.prefix)
        t = g.one("Tanh", [g.one("Mul", [inner, g.const(math.sqrt(2 / math.pi), dtype)], step.prefix)], step.prefix)
    else:
        t = g.one("Erf", [g.one("Div", [x, g.const(math.sqrt(2.0), dtype)], step.prefix)], step.prefix)
    half = g.one("Mul", [x, g.const(0.5, dtype)], step.prefix)
    return [g.one("Mul", [half, g.one("Add", [t, g.const(1.0, dtype)], step.prefix)], step.prefix)]


@handles("Silu")
def _silu(g, step, ctx):
    x = _in(g, step)
    return [g.one("Mul", [x, g.one("Sigmoid", [x], step.prefix)], step.prefix)]


@handles("Mish")
def _mish(g, step, ctx):
    x = _in(g, step)
    return [g.one("Mul", [x, g.one("Tanh", [g.one("Softplus", [x], step.prefix)], step.prefix)], step.prefix)]


@handles("Softplus")
def _softplus(g, step, ctx):
    beta, x, dtype = _arg(step, 1, "beta", 1.0), _in(g, step), _dtype(step)
    if beta == 1:
        return [g.one("Softplus", [x], step.prefix)]
    scaled = g.one("Softplus", [g.one("Mul", [x, g.const(beta, dtype)], step.prefix)], step.prefix)
    return [g.one("Div", [scaled, g.const(beta, dtype)], step.prefix)]


@handles("Softmax", "LogSoftmax")
def _softmax(g, step, ctx):
    return [g.one(step.kind, [_in(g, step)], step.prefix, axis=int(_arg(step, 1, "axis")))]


# -- elementwise arithmetic -------------------------------------------------------------------------

def _binary(onnx_op):
    def handler(g, step, ctx):
        dtype = _dtype(step)
        a = _operand(g, step, step.inputs[0], dtype)
        b = _operand(g, step, step.inputs[1], dtype)
        return [g.one(onnx_op, [a, b], step.prefix)]
    return handler


for _kind, _onnx in {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Maximum": "Max",
                     "Minimum": "Min"}.items():
    HANDLERS[_kind] = _binary(_onnx)


@handles("Pow")
def _pow(g, step, ctx):
    dtype = _dtype(step)
    return [g.one("Pow", [_operand(g, step, step.inputs[0], dtype), _operand(g, step, step.inputs[1], dtype)],
                  step.prefix)]


@handles("Rsqrt")
def _rsqrt(g, step, ctx):
    return [g.one("Reciprocal", [g.one("Sqrt", [_in(g, step)], step.prefix)], step.prefix)]


@handles("Log1p")
def _log1p(g, step, ctx):
    return [g.one("Log", [g.one("Add", [_in(g, step), g.const(1.0, _dtype(step))], step.prefix)], step.prefix)]


@handles("Clamp")
def _clamp(g, step, ctx):
    dtype = _dtype(step)
    y = _operand(g, step, step.inputs[0], dtype)
    lo, hi = _arg(step, 1, "lo"), _arg(step, 2, "hi")
    if lo is not None:
        y = g.one("Max", [y, _operand(g, step, lo, dtype)], step.prefix)
    if hi is not None:
        y = g.one("Min", [y, _operand(g, step, hi, dtype)], step.prefix)
    return [y]


@handles("Cast")
def _cast(g, step, ctx):
    to = g.helper.np_dtype_to_tensor_dtype(_dtype(step))
    return [g.one("Cast", [_in(g, step)], step.prefix, to=to)]


@handles("Where")
def _where(g, step, ctx):
    dtype = _dtype(step)
    cond = _operand(g, step, step.inputs[0], np.bool_)
    return [g.one("Where", [cond, _operand(g, step, step.inputs[1], dtype), _operand(g, step, step.inputs[2], dtype)],
                  step.prefix)]


# -- linear algebra -------------------------------------------------------------------------------

@handles("Linear")
def _linear(g, step, ctx):
    x, w, b = step.inputs[:3]
    if x.ndim == 2 and (b is None or b.ndim == 1):
        ins = [g.name_of(x), g.name_of(w)] + ([g.name_of(b)] if b is not None else [])
        return [g.one("Gemm", ins, step.prefix, transB=1)]
    wt = g.one("Transpose", [g.name_of(w)], step.prefix, perm=[1, 0])
    y = g.one("MatMul", [g.name_of(x), wt], step.prefix)
    return [g.one("Add", [y, g.name_of(b)], step.prefix) if b is not None else y]


@handles("MatMul")
def _matmul(g, step, ctx):
    return [g.one("MatMul", [_in(g, step, 0), _in(g, step, 1)], step.prefix)]


@handles("Embedding")
def _embedding(g, step, ctx):
    return [g.one("Gather", [_in(g, step, 0), _in(g, step, 1)], step.prefix, axis=0)]


# -- shapes -----------------------------------------------------------------------------------------

@handles("Reshape")
def _reshape(g, step, ctx):
    shape = ctx.shape_of(step)
    return [g.one("Reshape", [_in(g, step), g.i64(shape)], step.prefix)]


@handles("Permute")
def _permute(g, step, ctx):
    return [g.one("Transpose", [_in(g, step)], step.prefix, perm=[int(d) for d in _arg(step, 1, "dims")])]


@handles("Expand")
def _expand(g, step, ctx):
    shape = ctx.shape_of(step, batch_value=1)
    return [g.one("Expand", [_in(g, step), g.i64(shape)], step.prefix)]


@handles("Repeat")
def _repeat(g, step, ctx):
    x = step.inputs[0]
    reps = list(_arg(step, 1, "reps"))
    name = g.name_of(x)
    if len(reps) > x.ndim:
        name = g.one("Reshape", [name, g.i64([1] * (len(reps) - x.ndim) + list(x.shape))], step.prefix)
    return [g.one("Tile", [name, g.i64(reps)], step.prefix)]


@handles("Cat")
def _cat(g, step, ctx):
    dtype = _dtype(step)
    parts = [_operand(g, step, x, dtype) for x in step.inputs if not (x.ndim == 1 and x.shape[0] == 0)]
    axis = int(step.params.get("axis", 0))
    return [parts[0] if len(parts) == 1 else g.one("Concat", parts, step.prefix, axis=axis)]


@handles("Stack")
def _stack(g, step, ctx):
    axis = int(step.params.get("axis", 0))
    parts = [g.one("Unsqueeze", [g.name_of(x), g.i64([axis])], step.prefix) for x in step.inputs]
    return [g.one("Concat", parts, step.prefix, axis=axis)]


@handles("Flip")
def _flip(g, step, ctx):
    dims = [int(d) for d in _arg(step, 1, "dims")]
    big = np.iinfo(np.int64).max
    return [g.one("Slice", [_in(g, step), g.i64([-1] * len(dims)), g.i64([-big] * len(dims)), g.i64(dims),
                            g.i64([-1] * len(dims))], step.prefix)]


@handles("GetItem")
def _getitem(g, step, ctx):
    x = step.inputs[0]
    index = _arg(step, 1, "index")
    index = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, (np.ndarray, list)) or getattr(i, "_data", None) is not None for i in index):
        arrays = [i for i in index if not isinstance(i, slice)]
        if len(index) >= 1 and len(arrays) == 1 and all(isinstance(i, slice) and i == slice(None) for i in index
                                                        if not (i is arrays[0])):
            axis = next(k for k, i in enumerate(index) if i is arrays[0])
            idx = np.asarray(getattr(arrays[0], "_data", arrays[0]))
            if idx.dtype.kind in "iu" and idx.ndim == 1:
                return [g.one("Gather", [g.name_of(x), g.i64(idx)], step.prefix, axis=axis)]
        raise ExportError("advanced indexing (with arrays or masks)")
    if any(i is Ellipsis for i in index):
        at = index.index(Ellipsis)
        used = sum(1 for i in index if i is not None and i is not Ellipsis)
        index = index[:at] + (slice(None),) * (x.ndim - used) + index[at + 1:]
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = out_dim = 0
    for i in index:
        if i is None:
            unsqueeze.append(out_dim)
            out_dim += 1
            continue
        if isinstance(i, slice):
            if i != slice(None):
                start, stop, stride = i.indices(x.shape[dim])
                if stride < 0 and stop < 0:
                    stop = -np.iinfo(np.int64).max
                starts.append(start), ends.append(stop), axes.append(dim), steps.append(stride)
            dim += 1
            out_dim += 1
        else:
            k = int(i) % x.shape[dim]
            starts.append(k), ends.append(k + 1), axes.append(dim), steps.append(1)
            squeeze.append(dim)
            dim += 1
    y = g.name_of(x)
    if axes:
        y = g.one("Slice", [y, g.i64(starts), g.i64(ends), g.i64(axes), g.i64(steps)], step.prefix)
    if squeeze:
        y = g.one("Squeeze", [y, g.i64(squeeze)], step.prefix)
    if unsqueeze:
        y = g.one("Unsqueeze", [y, g.i64(unsqueeze)], step.prefix)
    if not (axes or squeeze or unsqueeze):
        y = g.one("Identity", [y], step.prefix)
    return [y]


# -- reductions -------------------------------------------------------------------------------------

def _axes(step, ndim):
    axis = _arg(step, 1, "axis")
    if axis is None:
        return list(range(ndim))
    axis = axis if isinstance(axis, (tuple, list)) else (axis,)
    return [int(a) % ndim for a in axis]


@handles("Mean", "Sum", "AmaxAmin")
def _reduce(g, step, ctx):
    x = step.inputs[0]
    keep = int(bool(_arg(step, 2, "keepdim", False)))
    axes = _axes(step, x.ndim)
    if step.kind == "Sum":
        y = g.one("ReduceSum", [g.name_of(x), g.i64(axes)], step.prefix, keepdims=keep)
        return [y if x._data.dtype == _dtype(step) else g.one(
            "Cast", [y], step.prefix, to=g.helper.np_dtype_to_tensor_dtype(_dtype(step)))]
    op = "ReduceMean" if step.kind == "Mean" else ("ReduceMax" if _arg(step, 3, "largest", True) else "ReduceMin")
    return [g.one(op, [g.name_of(x)], step.prefix, axes=axes, keepdims=keep)]


# -- padding and resampling ------------------------------------------------------------------------

@handles("ConstantPad", "IndexPad")
def _pad(g, step, ctx):
    x = step.inputs[0]
    pairs = list(_arg(step, 1, "pads"))
    lead = x.ndim - len(pairs)
    pads = [0] * lead + [lo for lo, _ in pairs] + [0] * lead + [hi for _, hi in pairs]
    if step.kind == "ConstantPad":
        value = g.const(_arg(step, 2, "value", 0.0), _dtype(step))
        return [g.one("Pad", [g.name_of(x), g.i64(pads), value], step.prefix, mode="constant")]
    mode = {"reflect": "reflect", "replicate": "edge"}.get(_arg(step, 2, "mode"))
    if mode is None:
        raise ExportError("circular padding (ONNX Pad has mode 'wrap' only from opset 19)")
    return [g.one("Pad", [g.name_of(x), g.i64(pads)], step.prefix, mode=mode)]


def _resize_mode(step, taps, in_spatial, dtype):
    """The ONNX Resize attributes that give exactly these taps, or None."""
    name = step.name
    if "Aa" in name or "Bicubic" in name:
        return None
    candidates = []
    if "NearestExact" in name:
        candidates.append(("nearest-exact", False, dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                                                        nearest_mode="round_prefer_ceil")))
    elif "Nearest" in name:
        candidates.append(("nearest", False, dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                                                  nearest_mode="floor")))
    else:
        candidates.append(("linear", False, dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")))
        candidates.append(("linear", True, dict(mode="linear", coordinate_transformation_mode="align_corners")))
    for mode, align, attrs in candidates:
        ok = True
        for n, (idx, w) in zip(in_spatial, taps):
            try:
                want_idx, want_w = resample_kernels.interpolation_taps(n, idx.shape[0], mode, align, None, dtype, False)
            except (TypeError, ValueError):
                return None
            if not (np.array_equal(np.asarray(want_idx), np.asarray(idx)) and
                    np.allclose(np.asarray(want_w), np.asarray(w), atol=1e-6)):
                ok = False
                break
        if ok:
            return attrs
    return None


@handles("Interpolate")
def _interpolate(g, step, ctx):
    x = step.inputs[0]
    taps = _arg(step, 1, "taps")
    dtype = _dtype(step)
    spatial = x.shape[2:]
    out_spatial = step.outputs[0].shape[2:]
    attrs = _resize_mode(step, taps, spatial, dtype)
    xin = g.name_of(x)
    if attrs is not None:
        # sizes = (N, C) of the input at run time + the traced spatial output (the batch stays dynamic)
        head = g.one("Slice", [g.one("Shape", [xin], step.prefix), g.i64([0]), g.i64([2])], step.prefix)
        sizes = g.one("Concat", [head, g.i64(list(out_spatial))], step.prefix, axis=0)
        return [g.one("Resize", [xin, "", "", sizes], step.prefix, **attrs)]
    # any other separable resampling: one matrix product per spatial axis (exact, fixed sizes)
    y = xin
    rank = x.ndim
    for i, (n, (idx, w)) in enumerate(zip(spatial, taps)):
        idx, w = np.asarray(idx), np.asarray(w)
        matrix = np.zeros((idx.shape[0], n), dtype=np.float64)
        rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1]) if idx.ndim == 2 else np.arange(idx.shape[0])
        np.add.at(matrix, (rows, idx.reshape(-1)), (w.reshape(-1) if w is not None else 1.0))
        axis = 2 + i
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        moved = g.one("Transpose", [y], step.prefix, perm=perm) if axis != rank - 1 else y
        moved = g.one("MatMul", [moved, g.const(matrix.T, dtype)], step.prefix)
        y = g.one("Transpose", [moved], step.prefix, perm=perm) if axis != rank - 1 else moved
    return [y]


@handles("PixelShuffle")
def _pixel_shuffle(g, step, ctx):
    return [g.one("DepthToSpace", [_in(g, step)], step.prefix, blocksize=int(_arg(step, 1, "factor")), mode="CRD")]


@handles("MaskedScale", "AlphaMask")
def _dropout_training(g, step, ctx):
    raise ExportError("dropout in training mode: call model.eval() before exporting")
