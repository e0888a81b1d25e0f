"""``juanji.onnx.export``: a model to an ONNX file, by tracing one forward pass.

    trace (``_trace.py``)      run model(*args) once; every juanji Op applied is recorded with its
                               arguments and the layer that ran it
    translate (``_ops.py``)    one ONNX translation per Op, in the order they ran; parameters and
                               buffers become initializers under their state_dict names
    write                      ``onnx.helper.make_model``, ``onnx.checker``, ``onnx.save``

Dynamic axes (``dynamic_axes={"input": {0: "batch"}}``): the model is traced a second time
with those input axes doubled; a shape argument (``view``/``reshape``/``expand`` targets) whose
entry changed with them is exported as -1 (or 1 for expand), so the graph runs at any batch
size. An op whose count or kind changes between the two traces is data-dependent control flow,
which a traced graph cannot hold: that is an error.
"""

from __future__ import annotations

import os

import numpy as np

from ..tensor import Tensor
from . import _ops
from ..version import __version__
from ._graph import ExportError, Graph
from ._trace import trace

__all__ = ["export", "ExportError"]

_EXTRA_MESSAGE = ("juanji.onnx needs the 'onnx' package: pip install 'juanji[onnx]' "
                  "(or pip install onnx onnxruntime)")


def import_onnx():
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
    except ImportError:
        raise ImportError(_EXTRA_MESSAGE) from None
    return onnx


class _Context:
    """What handlers need beyond their step: shape arguments made batch-independent."""

    def __init__(self, varying: dict):
        self.varying = varying  # step index -> positions (in the shape argument) that changed with the batch

    def shape_of(self, step, batch_value=-1):
        """The step's traced output shape, with the entries that follow the dynamic axes as
        ``batch_value`` (-1 for reshape; 1 for expand, which then keeps the input's size)."""
        shape = [int(v) for v in step.outputs[0].shape]
        changed = self.varying.get(step.index, ())
        if len(changed) > 1 and batch_value == -1:
            raise ExportError(f"a reshape to {shape} with {len(changed)} entries that depend on the dynamic axes")
        for i in changed:
            shape[i] = batch_value
        return shape


_SHAPED = ("Reshape", "Expand")  # ops whose exported shape argument is their traced output shape


def _varying_shapes(first, second) -> dict:
    """Step index -> the positions of its output shape that changed between the two traces."""
    if len(first.steps) != len(second.steps) or any(a.kind != b.kind for a, b in zip(first.steps, second.steps)):
        raise ExportError("the model runs different ops at another batch size (data-dependent control flow), "
                          "which a traced graph cannot hold; export without dynamic_axes")
    varying = {}
    for a, b in zip(first.steps, second.steps):
        if a.kind in _SHAPED:
            sa, sb = a.outputs[0].shape, b.outputs[0].shape
            varying[a.index] = [i for i, (x, y) in enumerate(zip(sa, sb)) if x != y]
    return varying


def _normalise_args(args):
    if isinstance(args, (Tensor, np.ndarray)):
        return (args,)
    if isinstance(args, list):
        return tuple(args)
    if isinstance(args, tuple):
        if args and isinstance(args[-1], dict):
            if args[-1]:
                raise ExportError("keyword arguments to forward are not supported; pass them positionally")
            args = args[:-1]
        return args
    raise TypeError(f"juanji.onnx.export: args must be a Tensor or a tuple of Tensors, got {type(args).__name__}")


def _dynamic_dims(dynamic_axes, name) -> dict:
    axes = (dynamic_axes or {}).get(name)
    if axes is None:
        return {}
    if isinstance(axes, dict):
        return {int(k): str(v) for k, v in axes.items()}
    return {int(k): f"{name}_dynamic_axes_{i + 1}" for i, k in enumerate(axes)}


def _enlarged(args, input_names, dynamic_axes):
    """The inputs with every dynamic axis doubled (for the second trace)."""
    out = []
    for arg, name in zip(args, input_names):
        arr = np.asarray(arg._data if isinstance(arg, Tensor) else arg)
        for axis in sorted(_dynamic_dims(dynamic_axes, name)):
            arr = np.concatenate([arr, arr], axis=axis)
        out.append(Tensor._from_array(arr))
    return tuple(out)


def _flat_outputs(outputs) -> list:
    if isinstance(outputs, Tensor):
        return [outputs]
    if isinstance(outputs, (tuple, list)):
        flat = []
        for o in outputs:
            flat.extend(_flat_outputs(o))
        return flat
    if isinstance(outputs, dict):
        return _flat_outputs(list(outputs.values()))
    raise ExportError(f"the model returned a {type(outputs).__name__}; expected Tensors")


def _value_info(onnx, name, arr, dims: dict):
    shape = [dims.get(i, n) for i, n in enumerate(arr.shape)]
    return onnx.helper.make_tensor_value_info(name, onnx.helper.np_dtype_to_tensor_dtype(arr.dtype), shape)


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, operator_export_type=None, opset_version=17, do_constant_folding=True,
           dynamic_axes=None, keep_initializers_as_inputs=None, custom_opsets=None, dynamo=False,
           check: bool = True, **kwargs):
    """Export ``model`` to ONNX at ``f`` (a path or a binary file object), with
    ``torch.onnx.export``'s signature: ``args`` are the example inputs (a Tensor or a tuple),
    ``input_names``/``output_names`` name the graph's inputs and outputs, ``dynamic_axes`` marks
    axes (e.g. the batch) that may change, ``opset_version`` (default 17) the ONNX opset.

    The model is exported as it is set (call ``model.eval()`` first: dropout and batch norm in
    training mode are refused). An op without an ONNX translation is an error naming the op
    and the layer that ran it. Returns the ``onnx.ModelProto``.
    """
    onnx = import_onnx()
    if opset_version < 13:
        raise ValueError(f"juanji.onnx.export: opset_version must be at least 13, got {opset_version}")
    args = _normalise_args(args)
    input_names = list(input_names or [f"input_{i}" if i else "input" for i in range(len(args))])
    if len(input_names) < len(args):
        input_names += [f"input_{i}" for i in range(len(input_names), len(args))]
    first = trace(model, args)
    varying = {}
    if dynamic_axes:
        defaults = {"output"} | {f"output_{i}" for i in range(1, 64)}  # the names outputs get by default
        known = set(input_names) | (set(output_names) if output_names else defaults)
        unknown = [k for k in dynamic_axes if k not in known]
        if unknown:
            raise ValueError(f"juanji.onnx.export: dynamic_axes names {unknown} that are neither input_names "
                             f"{input_names} nor output_names {list(output_names or [])}")
        varying = _varying_shapes(first, trace(model, _enlarged(args, input_names, dynamic_axes)))

    param_names = {}
    for name, t in list(model.named_buffers()) + list(model.named_parameters()):
        param_names[id(t._data)] = name
    graph = Graph(onnx, param_names)
    inputs = []
    for t, name in zip(first.inputs, input_names):
        graph.bind(t._data, name)
        inputs.append(_value_info(onnx, name, t._data, _dynamic_dims(dynamic_axes, name)))
    ctx = _Context(varying)
    for step in first.steps:
        handler = _ops.HANDLERS.get(step.kind)
        layer = f"layer '{step.layer}' ({step.layer_type})" if step.layer else f"the model ({step.layer_type})"
        if handler is None:
            raise ExportError(f"juanji.onnx.export: cannot export {step.name} (juanji op {type(step.op).__module__}."
                              f"{step.kind}) in {layer}: no ONNX translation")
        try:
            names = handler(graph, step, ctx)
        except ExportError as e:
            raise ExportError(f"juanji.onnx.export: cannot export {step.name} in {layer}: {e}") from None
        for t, name in zip(step.outputs, names):
            if name is not None:
                graph.bind(t._data, name)
                graph.traced.append((t._data, name))

    outputs = _flat_outputs(first.outputs)
    output_names = list(output_names or [f"output_{i}" if i else "output" for i in range(len(outputs))])
    if len(output_names) < len(outputs):
        output_names += [f"output_{i}" for i in range(len(output_names), len(outputs))]
    graph_outputs = []
    taken = set()
    for t, name in zip(outputs, output_names):
        value = graph.name_of(t)
        if value in taken or value in input_names or value in graph.initializers or not graph.rename_output(value, name):
            graph.nodes.append(onnx.helper.make_node("Identity", [value], [name], name=graph.fresh("/Identity")))
        taken.add(value)
        graph_outputs.append(_value_info(onnx, name, t._data, _dynamic_dims(dynamic_axes, name)))

    used = {i for node in graph.nodes for i in node.input}
    initializers = [v for k, v in graph.initializers.items() if k in used]
    onnx_graph = onnx.helper.make_graph(graph.nodes, type(model).__name__, inputs, graph_outputs, initializers)
    proto = onnx.helper.make_model(onnx_graph, opset_imports=[onnx.helper.make_opsetid("", opset_version)],
                                   producer_name="juanji", producer_version=__version__)
    proto.ir_version = min(proto.ir_version, 8 if opset_version <= 17 else proto.ir_version)
    if check:
        onnx.checker.check_model(proto)
    if hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        onnx.save(proto, os.fspath(f))
    return proto

