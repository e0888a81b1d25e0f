"""``juanji.onnx.load_model``: an ONNX CNN graph as a juanji ``nn.Module`` with Parameters.

Each ONNX node becomes one step of the module's forward, run with juanji's own functions, so
the module trains (autograd through every step) and can be inspected. Nodes with a juanji layer
become that layer, holding the node's weights as Parameters:

    Conv -> nn.Conv1d/2d/3d     ConvTranspose -> nn.ConvTranspose1d/2d/3d
    Gemm (B transposed) -> nn.Linear    BatchNormalization -> nn.BatchNorm1d/2d/3d (running stats)

Each layer is registered under the dotted path of its weight's name when that is one
(``layer1.0.conv1.weight`` -> ``model.layer1[0].conv1``-like nesting: ``layer1.0.conv1``), so a
graph exported from a named model keeps its ``state_dict`` keys; otherwise under
``node<i>_<OpType>``. Other float initializers are Parameters too (``initializers.<name>``),
except the exporters' ``onnx::Constant*`` values; shape arithmetic (``Shape``, ``Gather`` on shapes, ``Concat`` of
sizes ...) runs on NumPy int64 arrays, as the exporters emit it for ``x.view(x.size(0), -1)``.
"""

from __future__ import annotations

import re

import numpy as np

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor
from ._export import import_onnx

__all__ = ["load_model", "OnnxModule"]


class ImportError_(RuntimeError):
    """A graph juanji cannot turn into a module."""


def _attrs(onnx, node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _decode(value):
    return value.decode() if isinstance(value, bytes) else value


def _is_array(v) -> bool:
    return isinstance(v, np.ndarray)


def _tensor(v):  # noqa: D103
    """A juanji Tensor for a value (NumPy constants become Tensors when they meet tensors)."""
    if isinstance(v, Tensor):
        return v
    return Tensor._from_array(np.asarray(v))


def _binary(fn_np, fn_t):
    def run(args, attrs):
        a, b = args[0], args[1]
        if _is_array(a) and _is_array(b):
            return fn_np(a, b)
        return fn_t(_tensor(a), _tensor(b))
    return run


class _Holder(nn.Module):
    """An empty module on the path of a nested layer name (``layer1`` of ``layer1.0.conv1``)."""


class OnnxModule(nn.Module):
    """An ONNX graph run by juanji (see the module doc)."""

    def __init__(self, model_proto):
        super().__init__()
        onnx = import_onnx()
        graph = model_proto.graph
        self.input_names = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}]
        self.output_names = [o.name for o in graph.output]
        arrays = {t.name: onnx.numpy_helper.to_array(t).copy() for t in graph.initializer}
        self._steps = []
        self._layers = {}
        self._params = {}    # initializer name -> attribute path of its Parameter/buffer
        used_as_layer = set()
        for i, node in enumerate(graph.node):
            if node.op_type == "Identity" and node.input[0] in arrays:  # torch's aliases of shared weights
                arrays[node.output[0]] = arrays[node.input[0]]
                continue
            attrs = {k: _decode(v) for k, v in _attrs(onnx, node).items()}
            layer = self._make_layer(i, node, attrs, arrays)
            if layer is not None:
                used_as_layer.update(n for n in node.input[1:] if n)
            if node.op_type == "Constant":
                arrays[node.output[0]] = self._constant(onnx, attrs)
                continue
            self._steps.append((node.op_type, list(node.input), list(node.output), attrs, layer))
        # the remaining initializers: float ones are Parameters (trainable), others constants
        self.initializers = _Holder()
        self._constants = {}
        for name, arr in arrays.items():
            if name in used_as_layer:
                continue
            if arr.dtype.kind == "f" and arr.ndim > 0 and not name.startswith("onnx::Constant"):
                key = re.sub(r"\W", "_", name)
                while hasattr(self.initializers, key):
                    key += "_"
                self.initializers.register_parameter(key, nn.Parameter(Tensor._from_array(arr)))
                self._params[name] = key
            else:
                self._constants[name] = arr

    @staticmethod
    def _constant(onnx, attrs):
        if "value" in attrs:
            return onnx.numpy_helper.to_array(attrs["value"]).copy()
        for key in ("value_float", "value_int"):
            if key in attrs:
                return np.array(attrs[key])
        if "value_floats" in attrs:
            return np.array(attrs["value_floats"], dtype=np.float32)
        if "value_ints" in attrs:
            return np.array(attrs["value_ints"], dtype=np.int64)
        raise ImportError_(f"Constant node with attributes {sorted(attrs)}")

    # -- layers -----------------------------------------------------------------------------------
    def _place(self, index, op_type, weight_name, module):
        """Register ``module`` under its weight's dotted path, else ``node<i>_<OpType>``."""
        path = weight_name[: -len(".weight")] if weight_name.endswith(".weight") else None
        if path and all(re.fullmatch(r"[A-Za-z0-9_]+", p) for p in path.split(".")):
            parent, parts = self, path.split(".")
            ok = True
            for p in parts[:-1]:
                child = parent._modules.get(p)
                if child is None:
                    if hasattr(parent, p):
                        ok = False
                        break
                    child = _Holder()
                    parent.add_module(p, child)
                parent = child
            if ok and parts[-1] not in parent._modules and not hasattr(parent, parts[-1]):
                parent.add_module(parts[-1], module)
                return module
        self.add_module(f"node{index}_{op_type}", module)
        return module

    def _make_layer(self, i, node, attrs, arrays):
        ins = list(node.input)
        get = lambda k: arrays.get(ins[k]) if len(ins) > k and ins[k] else None  # noqa: E731
        op = node.op_type
        if op in ("Conv", "ConvTranspose") and get(1) is not None:
            w, b = get(1), get(2)
            n = w.ndim - 2
            if op == "Conv" and "auto_pad" in attrs and attrs["auto_pad"] not in ("NOTSET", ""):
                return None
            pads = attrs.get("pads", [0] * 2 * n)
            if any(pads[d] != pads[d + n] for d in range(n)):
                return None  # asymmetric padding: run functionally with an explicit pad
            groups = int(attrs.get("group", 1))
            common = dict(kernel_size=tuple(w.shape[2:]), stride=tuple(attrs.get("strides", [1] * n)),
                          padding=tuple(pads[:n]), dilation=tuple(attrs.get("dilations", [1] * n)), groups=groups,
                          bias=b is not None)
            if op == "Conv":
                cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[n - 1]
                layer = cls(w.shape[1] * groups, w.shape[0], **common)
            else:
                if "output_shape" in attrs:
                    return None
                cls = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[n - 1]
                layer = cls(w.shape[0], w.shape[1] * groups, output_padding=tuple(attrs.get("output_padding", [0] * n)),
                            **common)
            _load(layer, w, b)
        elif op == "Gemm" and get(1) is not None and attrs.get("transB", 0) == 1 and not attrs.get("transA", 0) \
                and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and get(1).ndim == 2 \
                and (get(2) is None or get(2).ndim == 1):
            w, b = get(1), get(2)
            layer = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
            _load(layer, w, b)
        elif op == "BatchNormalization" and all(get(k) is not None for k in (1, 2, 3, 4)):
            scale, bias, mean, var = get(1), get(2), get(3), get(4)
            layer = nn.BatchNorm2d(scale.shape[0], eps=float(attrs.get("epsilon", 1e-5)),
                                   momentum=1 - float(attrs.get("momentum", 0.9)))
            _load(layer, scale, bias)
            layer.running_mean._data[...] = mean
            layer.running_var._data[...] = var
            layer.eval()
        else:
            return None
        return self._place(i, op, ins[1], layer)

    # -- running the graph -----------------------------------------------------------------------------
    def _value(self, env, name):
        if name == "":
            return None
        if name in env:
            return env[name]
        if name in self._params:
            return getattr(self.initializers, self._params[name])
        if name in self._constants:
            return self._constants[name]
        raise ImportError_(f"value {name!r} is used before it is computed")

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"OnnxModule: expected {len(self.input_names)} inputs ({', '.join(self.input_names)}), "
                            f"got {len(inputs)}")
        env = {name: _tensor(x) for name, x in zip(self.input_names, inputs)}
        for op_type, ins, outs, attrs, layer in self._steps:
            if layer is not None:  # the layer holds the node's other inputs (weights) itself
                result = layer(_tensor(self._value(env, ins[0])))
            else:
                args = [self._value(env, n) for n in ins]
                result = _OPS[op_type](args, attrs)
            results = result if isinstance(result, tuple) else (result,)
            for name, value in zip(outs, results):
                env[name] = value
        out = [env[n] for n in self.output_names]
        return out[0] if len(out) == 1 else tuple(out)


def _load(layer, w, b):
    layer.weight._data[...] = w
    if b is not None:
        layer.bias._data[...] = b


# -- functional translations --------------------------------------------------------------------------

def _pads_to_pairs(pads, n):
    """ONNX pads [x1_begin, x2_begin, ..., x1_end, ...] over the last n dims -> F.pad's order."""
    flat = []
    for d in reversed(range(n)):
        flat += [int(pads[d]), int(pads[d + n])]
    return flat


def _conv(args, a):
    x, w = _tensor(args[0]), _tensor(args[1])
    b = _tensor(args[2]) if len(args) > 2 and args[2] is not None else None
    n = w.ndim - 2
    pads = a.get("pads", [0] * 2 * n)
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise NotImplementedError("juanji.onnx: Conv with auto_pad")
    x = F.pad(x, _pads_to_pairs(pads, n))
    fn = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    return fn(x, w, b, stride=tuple(a.get("strides", [1] * n)), dilation=tuple(a.get("dilations", [1] * n)),
              groups=int(a.get("group", 1)))


def _pool(kind):
    def run(args, a):
        x = _tensor(args[0])
        k = list(a["kernel_shape"])
        n = len(k)
        pads = a.get("pads", [0] * 2 * n)
        strides = tuple(a.get("strides", [1] * n))
        ceil = bool(a.get("ceil_mode", 0))
        symmetric = all(pads[d] == pads[d + n] for d in range(n))
        if kind == "max":
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[n - 1]
            dil = tuple(a.get("dilations", [1] * n))
            if symmetric and all(2 * p <= kk for p, kk in zip(pads[:n], k)):
                return fn(x, tuple(k), strides, tuple(pads[:n]), dil, ceil)
            x = F.pad(x, _pads_to_pairs(pads, n), value=-float("inf"))
            return fn(x, tuple(k), strides, 0, dil, ceil)
        fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
        include = bool(a.get("count_include_pad", 0))
        if symmetric and all(2 * p <= kk for p, kk in zip(pads[:n], k)):
            return fn(x, tuple(k), strides, tuple(pads[:n]), ceil, include)
        if not include:
            raise NotImplementedError("juanji.onnx: AveragePool with asymmetric pads and count_include_pad=0")
        return fn(F.pad(x, _pads_to_pairs(pads, n)), tuple(k), strides, 0, ceil, True)
    return run


def _global(kind):
    def run(args, a):
        x = _tensor(args[0])
        dims = tuple(range(2, x.ndim))
        return x.mean(dims, keepdim=True) if kind == "avg" else x.amax(dims, keepdim=True)
    return run


def _gemm(args, a):
    A, B = _tensor(args[0]), _tensor(args[1])
    if a.get("transA", 0):
        A = A.t()
    if a.get("transB", 0):
        B = B.t()
    y = (A @ B) * float(a.get("alpha", 1.0))
    if len(args) > 2 and args[2] is not None:
        y = y + _tensor(args[2]) * float(a.get("beta", 1.0))
    return y


def _batch_norm(args, a):
    x, scale, bias, mean, var = (_tensor(v) for v in args[:5])
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, float(a.get("epsilon", 1e-5)))


def _reshape(args, a):
    x, shape = args[0], [int(v) for v in np.asarray(args[1])]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return x.reshape(shape) if _is_array(x) else x.reshape(*shape)


def _flatten(args, a):
    x = _tensor(args[0])
    axis = int(a.get("axis", 1)) % max(x.ndim, 1)
    lead = int(np.prod(x.shape[:axis])) if axis else 1
    return x.reshape(lead, -1)


def _axes_arg(args, a, position=1):
    if "axes" in a:
        return [int(v) for v in a["axes"]]
    if len(args) > position and args[position] is not None:
        return [int(v) for v in np.asarray(args[position]).reshape(-1)]
    return None


def _reduce(kind):
    def run(args, a):
        x = args[0]
        axes = _axes_arg(args, a)
        keep = bool(a.get("keepdims", 1))
        if axes is None:
            if a.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        if _is_array(x):
            return getattr(np, {"mean": "mean", "sum": "sum", "max": "max", "min": "min"}[kind])(
                x, axis=tuple(axes), keepdims=keep)
        x = _tensor(x)
        if kind == "mean":
            return x.mean(tuple(axes), keepdim=keep)
        if kind == "sum":
            return x.sum(tuple(axes), keepdim=keep)
        return x.amax(tuple(axes), keepdim=keep) if kind == "max" else x.amin(tuple(axes), keepdim=keep)
    return run


def _squeeze(args, a):
    x = args[0]
    axes = _axes_arg(args, a)
    if axes is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    axes = sorted(ax % x.ndim for ax in axes)
    if _is_array(x):
        return np.squeeze(x, axis=tuple(axes))
    for ax in reversed(axes):
        x = x.squeeze(ax)
    return x


def _unsqueeze(args, a):
    x = args[0]
    axes = _axes_arg(args, a)
    rank = x.ndim + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = np.expand_dims(x, ax) if _is_array(x) else x.unsqueeze(ax)
    return x


def _concat(args, a):
    axis = int(a["axis"])
    parts = [v for v in args if v is not None]
    if all(_is_array(v) for v in parts):
        return np.concatenate(parts, axis=axis)
    from ..functions import cat
    return cat([_tensor(v) for v in parts], dim=axis)


def _slice(args, a):
    x = args[0]
    starts, ends = np.asarray(args[1]).reshape(-1), np.asarray(args[2]).reshape(-1)
    axes = np.asarray(args[3]).reshape(-1) if len(args) > 3 and args[3] is not None else np.arange(len(starts))
    steps = np.asarray(args[4]).reshape(-1) if len(args) > 4 and args[4] is not None else np.ones(len(starts), int)
    index = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        n = x.shape[int(ax)]
        s, e, st = int(s), int(e), int(st)
        s = max(-n - 1, min(s, n)) if st > 0 else max(-n - 1, min(s, n - 1))
        e = max(-n - 1, min(e, n))
        if st < 0 and e < -n:
            e = None
        index[int(ax) % x.ndim] = slice(s, e, st)
    if _is_array(x):
        return x[tuple(index)]
    if any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in index):
        from ..functions import flip
        dims = [d for d, i in enumerate(index) if i.step is not None and i.step < 0]
        flipped = flip(x, dims)
        new = []
        for d, i in enumerate(index):
            if d in dims:
                start, stop, step = i.indices(x.shape[d])
                lo = x.shape[d] - 1 - start
                count = len(range(start, stop, step))
                new.append(slice(lo, lo + (count - 1) * (-step) + 1, -step))
            else:
                new.append(i)
        return flipped[tuple(new)]
    return x[tuple(index)]


def _gather(args, a):
    x, idx = args[0], np.asarray(args[1])
    axis = int(a.get("axis", 0))
    if _is_array(x):
        return np.take(x, idx, axis=axis)
    x = _tensor(x)
    if idx.ndim == 0:
        return x.select(axis, int(idx) % x.shape[axis])
    return x.index_select(axis, Tensor._from_array(idx.reshape(-1).astype(np.int64))).reshape(
        *(tuple(x.shape[:axis]) + idx.shape + tuple(x.shape[axis + 1:])))


def _cast(args, a):
    onnx = import_onnx()
    np_dtype = onnx.helper.tensor_dtype_to_np_dtype(int(a["to"]))
    x = args[0]
    if _is_array(x):
        return x.astype(np_dtype)
    from .._dtype import from_numpy_dtype
    return x.to(from_numpy_dtype(np_dtype))


def _clip(args, a):
    x = _tensor(args[0])
    lo = args[1] if len(args) > 1 else a.get("min")
    hi = args[2] if len(args) > 2 else a.get("max")
    lo = None if lo is None else float(np.asarray(lo).reshape(-1)[0])
    hi = None if hi is None else float(np.asarray(hi).reshape(-1)[0])
    return x.clamp(lo, hi)


def _pad(args, a):
    x = _tensor(args[0])
    pads = [int(v) for v in np.asarray(args[1] if len(args) > 1 else a["pads"]).reshape(-1)]
    value = float(np.asarray(args[2])) if len(args) > 2 and args[2] is not None else float(a.get("value", 0.0))
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[a.get("mode", "constant")]
    n = len(pads) // 2
    lead = next((d for d in range(n) if pads[d] or pads[d + n]), n)
    trailing = n - lead
    flat = _pads_to_pairs(pads[lead:n] + pads[n + lead:], trailing)
    return F.pad(x, flat, mode=mode, value=value) if mode == "constant" else F.pad(x, flat, mode=mode)


def _resize(args, a):
    x = _tensor(args[0])
    scales = args[2] if len(args) > 2 and args[2] is not None and np.asarray(args[2]).size else None
    sizes = args[3] if len(args) > 3 and args[3] is not None else None
    if sizes is not None:
        size = [int(v) for v in np.asarray(sizes)[2:]]
    else:
        size = [int(np.floor(n * s)) for n, s in zip(x.shape[2:], np.asarray(scales)[2:])]
    mode, coord = a.get("mode", "nearest"), a.get("coordinate_transformation_mode", "half_pixel")
    n = x.ndim - 2
    if mode == "nearest":
        nearest = a.get("nearest_mode", "round_prefer_floor")
        if coord == "asymmetric" and nearest == "floor":
            return F.interpolate(x, size=size, mode="nearest")
        if coord in ("half_pixel", "pytorch_half_pixel") and nearest in ("round_prefer_ceil", "round_prefer_floor"):
            return F.interpolate(x, size=size, mode="nearest-exact")
    elif mode == "linear":
        name = {1: "linear", 2: "bilinear", 3: "trilinear"}[n]
        if coord == "align_corners":
            return F.interpolate(x, size=size, mode=name, align_corners=True)
        if coord in ("half_pixel", "pytorch_half_pixel"):
            return F.interpolate(x, size=size, mode=name, align_corners=False)
    elif mode == "cubic" and n == 2:
        if coord == "align_corners":
            return F.interpolate(x, size=size, mode="bicubic", align_corners=True)
        if coord in ("half_pixel", "pytorch_half_pixel") and float(a.get("cubic_coeff_a", -0.75)) == -0.75:
            return F.interpolate(x, size=size, mode="bicubic", align_corners=False)
    raise NotImplementedError(f"juanji.onnx: Resize mode={mode!r} coordinate_transformation_mode={coord!r}")


def _prelu(args, a):
    x, slope = _tensor(args[0]), _tensor(args[1])
    return x.clamp(min=0) + slope * x.clamp(max=0)


def _softmax(fn):
    return lambda args, a: fn(_tensor(args[0]), dim=int(a.get("axis", -1)))


def _transpose(args, a):
    x = args[0]
    perm = a.get("perm", list(reversed(range(x.ndim))))
    return np.transpose(x, perm) if _is_array(x) else x.permute(*perm)


def _shape(args, a):
    shape = np.array(args[0].shape, dtype=np.int64)
    start, end = a.get("start", 0), a.get("end", None)
    return shape[start:end]


def _expand(args, a):
    x, shape = _tensor(args[0]), [int(v) for v in np.asarray(args[1])]
    target = np.broadcast_shapes(tuple(x.shape), tuple(shape))
    return x.expand(*target)


def _tile(args, a):
    return _tensor(args[0]).repeat(*[int(v) for v in np.asarray(args[1])])


def _where(args, a):
    from ..functions import where
    return where(_tensor(args[0]).bool(), _tensor(args[1]), _tensor(args[2]))


def _constant_of_shape(args, a):
    onnx = import_onnx()
    value = onnx.numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
    return np.full([int(v) for v in np.asarray(args[0])], value.reshape(-1)[0], dtype=value.dtype)


def _depth_to_space(args, a):
    if a.get("mode", "DCR") != "CRD":
        raise NotImplementedError("juanji.onnx: DepthToSpace in DCR mode")
    return F.pixel_shuffle(_tensor(args[0]), int(a["blocksize"]))


def _unary(method):
    return lambda args, a: getattr(_tensor(args[0]), method)()


_OPS = {
    "Conv": _conv, "MaxPool": _pool("max"), "AveragePool": _pool("avg"), "GlobalAveragePool": _global("avg"),
    "GlobalMaxPool": _global("max"), "Gemm": _gemm, "BatchNormalization": _batch_norm,
    "Relu": lambda args, a: F.relu(_tensor(args[0])), "Sigmoid": _unary("sigmoid"), "Tanh": _unary("tanh"),
    "Exp": _unary("exp"), "Log": _unary("log"), "Sqrt": _unary("sqrt"), "Neg": lambda args, a: -_tensor(args[0]),
    "Abs": _unary("abs"), "Reciprocal": _unary("reciprocal"),
    "LeakyRelu": lambda args, a: F.leaky_relu(_tensor(args[0]), float(a.get("alpha", 0.01))),
    "Elu": lambda args, a: F.elu(_tensor(args[0]), float(a.get("alpha", 1.0))),
    "Selu": lambda args, a: F.selu(_tensor(args[0])),
    "HardSigmoid": lambda args, a: (_tensor(args[0]) * float(a.get("alpha", 0.2)) + float(a.get("beta", 0.5))).clamp(0, 1),
    "HardSwish": lambda args, a: F.hardswish(_tensor(args[0])),
    "Softplus": lambda args, a: F.softplus(_tensor(args[0])), "Softsign": lambda args, a: F.softsign(_tensor(args[0])),
    "PRelu": _prelu, "Clip": _clip, "Softmax": _softmax(F.softmax), "LogSoftmax": _softmax(F.log_softmax),
    "MatMul": lambda args, a: _tensor(args[0]) @ _tensor(args[1]),
    "Add": _binary(np.add, lambda x, y: x + y), "Sub": _binary(np.subtract, lambda x, y: x - y),
    "Mul": _binary(np.multiply, lambda x, y: x * y),
    "Div": _binary(lambda x, y: x // y if x.dtype.kind in "iu" else x / y, lambda x, y: x / y),
    "Pow": _binary(np.power, lambda x, y: x ** y),
    "Max": lambda args, a: _reduce_binary(args, np.maximum, "maximum"),
    "Min": lambda args, a: _reduce_binary(args, np.minimum, "minimum"),
    "Flatten": _flatten, "Reshape": _reshape, "Transpose": _transpose, "Concat": _concat, "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze, "Slice": _slice, "Gather": _gather, "Shape": _shape, "Cast": _cast,
    "Identity": lambda args, a: args[0], "Dropout": lambda args, a: args[0], "Pad": _pad, "Resize": _resize,
    "ReduceMean": _reduce("mean"), "ReduceSum": _reduce("sum"), "ReduceMax": _reduce("max"),
    "ReduceMin": _reduce("min"), "Expand": _expand, "Tile": _tile, "Where": _where,
    "ConstantOfShape": _constant_of_shape, "DepthToSpace": _depth_to_space,
    "LRN": lambda args, a: F.local_response_norm(_tensor(args[0]), int(a["size"]), float(a.get("alpha", 1e-4)),
                                                 float(a.get("beta", 0.75)), float(a.get("bias", 1.0))),
    "ConvTranspose": lambda args, a: _conv_transpose(args, a),
}


def _reduce_binary(args, fn_np, name):
    from ..functions import maximum, minimum
    fn_t = maximum if name == "maximum" else minimum
    out = args[0]
    for v in args[1:]:
        out = fn_np(out, v) if _is_array(out) and _is_array(v) else fn_t(_tensor(out), _tensor(v))
    return out


def _conv_transpose(args, a):
    x, w = _tensor(args[0]), _tensor(args[1])
    b = _tensor(args[2]) if len(args) > 2 and args[2] is not None else None
    n = w.ndim - 2
    pads = a.get("pads", [0] * 2 * n)
    if any(pads[d] != pads[d + n] for d in range(n)) or "output_shape" in a:
        raise NotImplementedError("juanji.onnx: ConvTranspose with asymmetric pads or output_shape")
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
    return fn(x, w, b, stride=tuple(a.get("strides", [1] * n)), padding=tuple(pads[:n]),
              output_padding=tuple(a.get("output_padding", [0] * n)), groups=int(a.get("group", 1)),
              dilation=tuple(a.get("dilations", [1] * n)))


def load_model(source) -> OnnxModule:
    """An ONNX model (path, bytes or ``onnx.ModelProto``) as a juanji module (see the module doc)."""
    onnx = import_onnx()
    if isinstance(source, (bytes, bytearray)):
        proto = onnx.load_from_string(bytes(source))
    elif hasattr(source, "graph"):
        proto = source
    else:
        proto = onnx.load(source)
    unknown = sorted({n.op_type for n in proto.graph.node} - set(_OPS) - {"Constant"})
    if unknown:
        raise NotImplementedError(f"juanji.onnx.load_model: the graph uses ONNX ops juanji cannot run: "
                                  f"{', '.join(unknown)}")
    return OnnxModule(proto).eval()
