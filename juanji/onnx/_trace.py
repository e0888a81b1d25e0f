"""Recording one forward pass as a list of juanji Ops, through the tracing hook of
``Op.apply`` (``juanji.autograd.function._trace_hook``).

Every Op applied while the tracer runs is recorded with its positional inputs (Tensors and
other values, as passed), its keyword parameters, its result, and the module whose forward
was running (by qualified name, through the global forward hooks of ``nn.Module``), so an
unexportable op can be named with its layer. The inputs are fresh Tensors that require grad,
so every op that depends on them is recorded (not answered by a fast path that skips Ops)
and an in-place op rebinds its Tensor to a new array rather than writing into the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..autograd import function as _function
from ..nn.modules import module as _module
from ..tensor import Tensor

__all__ = ["Step", "trace"]


@dataclass
class Step:
    """One Op applied during the trace."""

    op: object                 # the Op instance (its class tells the primitive, its name the overload)
    inputs: tuple              # positional inputs as passed (Tensors, arrays, numbers, None, ...)
    params: dict               # keyword parameters
    outputs: tuple             # result Tensors (the first differentiable; extras such as indices)
    layer: str = ""            # qualified name of the innermost module running ("" = the model)
    layer_type: str = ""       # its class name
    index: int = 0

    @property
    def kind(self) -> str:
        """The Op's class name (``ConvNd``); ``type(op).__name__`` is torch's node name."""
        return type(self.op).__qualname__

    @property
    def name(self) -> str:
        return type(self.op).__name__

    @property
    def prefix(self) -> str:
        """Node-name prefix: the layer path, as torch.onnx names nodes (``/layer1/0/conv1``)."""
        return "/" + self.layer.replace(".", "/") if self.layer else ""


@dataclass
class Trace:
    steps: list = field(default_factory=list)
    inputs: list = field(default_factory=list)     # the input Tensors
    outputs: object = None                          # what forward returned
    keep: list = field(default_factory=list)        # arrays kept alive so ids stay unique


def _as_input(value):
    """A fresh Tensor for a traced input (requiring grad when floating, to record every op)."""
    if isinstance(value, Tensor):
        arr = value._data.copy()
    else:
        arr = np.array(value)
    t = Tensor._from_array(arr)
    if arr.dtype.kind == "f":
        t.requires_grad = True
    return t


def _snapshot(t, record) -> Tensor:
    """A Tensor on the array ``t`` holds now (kept alive, so its id names it for the export)."""
    record.keep.append(t._data)
    return Tensor._from_array(t._data)


def trace(model, args) -> Trace:
    """Run ``model(*args)`` once, recording every Op; returns the :class:`Trace`."""
    record = Trace()
    names = {id(m): name for name, m in model.named_modules()}
    stack: list = []

    def pre(module, inputs):
        stack.append(module)

    def post(module, inputs, output):
        if stack and stack[-1] is module:
            stack.pop()

    def hook(op, inputs, params, result):
        layer = stack[-1] if stack else model
        outputs = result if isinstance(result, tuple) else (result,)
        # snapshots: an in-place op later rebinds a Tensor to another array, the step keeps this one
        inputs = tuple(_snapshot(t, record) if isinstance(t, Tensor) else t for t in inputs)
        outputs = tuple(_snapshot(t, record) for t in outputs)
        record.steps.append(Step(op, inputs, dict(params), outputs, names.get(id(layer), "?"),
                                 type(layer).__name__, len(record.steps)))

    tensors = [_as_input(a) for a in args]
    record.inputs = tensors
    handles = [_module.register_module_forward_pre_hook(pre), _module.register_module_forward_hook(post)]
    previous = _function._trace_hook
    _function._trace_hook = hook
    try:
        record.outputs = model(*tensors)
    finally:
        _function._trace_hook = previous
        for h in handles:
            h.remove()
    return record
