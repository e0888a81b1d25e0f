"""Recording one forward pass: every module call in call order, and the receptive field of
every tensor that flows between them.

``Tracer`` registers a forward pre-hook and a forward hook on every module of a model. The
pre-hook opens a :class:`Call` record (so records are in the order the calls *start*, parents
before children), the hook fills in what came out.

Receptive fields travel with the tensors. Each module output is registered under its autograd
node (``grad_fn``) with its field. A module's input is looked up the same way; when it was made
by code that is no module (a residual ``out + identity``, a ``torch.cat`` of branches), the
tracer walks the autograd graph back (``grad_fn.next_functions``) through element-wise
operations to the module outputs it came from, and takes the union of their fields. Any other
operation on the way (a functional ``max_pool2d``, a reshape, indexing) could change the
geometry in ways the graph does not say, so the field becomes unknown rather than wrong.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field as dataclass_field

from ..tensor import Tensor
from . import windows
from .flops import Cost, layer_cost
from .receptive_field import PASS_THROUGH_LAYERS, ReceptiveField, union

__all__ = ["Call", "Tracer", "tensors_in"]

# autograd operations after which each output position still sees only the same positions of
# its inputs: elementwise ones (names as grad_fn.name() gives them, torch's node names, lower
# case, without "Backward<n>": RsubBackward1 -> "rsub", PreluKernelBackward0 -> "prelukernel")
_GEOMETRY_KEEPING_OPS = frozenset({
    "add", "sub", "rsub", "mul", "div", "neg", "abs", "pow", "reciprocal", "remainder",
    "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "sin", "cos", "tan",
    "sign", "sgn", "floor", "ceil", "trunc", "round", "frac", "lerp",
    "maximum", "minimum", "clamp", "clampmin", "clampmax", "where", "maskedfill", "cast", "tocopy", "clone",
    "relu", "sigmoid", "tanh", "leakyrelu", "hardtanh", "threshold", "hardsigmoid", "hardswish",
    "elu", "celu", "gelu", "silu", "mish", "softplus", "softsign", "prelukernel",
    "cat", "_hookidentity", "_unpack",
})
_UNKNOWN = object()   # the walk met an operation that may change the geometry
_NOTHING = object()   # no module output upstream (a constant, a parameter)


def _op_name(node) -> str:
    return re.sub(r"backward\d*$", "", node.name().lower())


def tensors_in(obj):
    """The Tensors in a module's input or output: a Tensor, or tuples, lists, dicts of them."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from tensors_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from tensors_in(item)


@dataclass
class Call:
    """One call of one module during the traced forward pass."""

    module: object
    name: str
    depth: int                 # 1 for the model's children, 2 for theirs, ...
    call: int                  # 1 for the module's first call, 2 for its second, ...
    input_shapes: list
    input_field: ReceptiveField | None
    output_shapes: list = dataclass_field(default_factory=list)
    output_bytes: int = 0      # bytes of the outputs that are new tensors (not an input returned)
    field: ReceptiveField | None = None
    cost: Cost | None = None   # counted during the call: it depends on the mode (train/eval)


class Tracer:
    """Hooks on every module of ``model``; use as a context manager around one forward pass."""

    def __init__(self, model):
        self.model = model
        self.names = {}
        for name, module in model.named_modules():
            self.names.setdefault(id(module), name)
        self.names[id(model)] = type(model).__name__   # the root's path is "": show its class
        self.calls: list[Call] = []
        self._stack: list[Call] = []
        self._counts: Counter = Counter()
        self._handles = []
        # id -> (the node or tensor, kept alive so the id is not reused; spatial shape; field)
        self._node_fields: dict = {}
        self._tensor_fields: dict = {}

    # ------------------------------------------------------------------ hooks
    def __enter__(self):
        seen = set()
        for module in self.model.modules():
            if id(module) in seen:
                continue
            seen.add(id(module))
            self._handles.append(module.register_forward_pre_hook(self._before))
            self._handles.append(module.register_forward_hook(self._after))
        return self

    def __exit__(self, *exc_info):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        return False

    @property
    def current(self) -> Call | None:
        """The innermost call still running (where an exception was raised)."""
        return self._stack[-1] if self._stack else None

    def _before(self, module, args):
        self._counts[id(module)] += 1
        inputs = list(tensors_in(args))
        record = Call(module=module, name=self.names.get(id(module), type(module).__name__),
                      depth=len(self._stack), call=self._counts[id(module)],
                      input_shapes=[list(t.shape) for t in inputs],
                      # looked up now: an in-place layer gives its input a new grad_fn
                      input_field=self.field_of(inputs[0]) if inputs else None)
        self.calls.append(record)
        self._stack.append(record)

    def _after(self, module, args, output):
        record = self._stack.pop()
        outputs = list(tensors_in(output))
        input_ids = {id(t) for t in tensors_in(args)}
        record.output_shapes = [list(t.shape) for t in outputs]
        record.output_bytes = sum(t.numel() * t.element_size() for t in outputs if id(t) not in input_ids)
        if outputs:
            record.field = self._output_field(module, record.input_field, outputs[0])
            self.register(outputs[0], record.field)
        if record.input_shapes and outputs:
            record.cost = layer_cost(module, record.input_shapes[0], record.output_shapes[0])

    def _output_field(self, module, input_field, output):
        window = windows.window_of(module)
        if window is not None:
            return input_field.through(window) if input_field is not None else None
        if isinstance(module, PASS_THROUGH_LAYERS):
            return input_field
        # containers and layers without a rule: follow the graph from their output
        return self.field_of(output)

    # ------------------------------------------------------------------ fields
    def register(self, tensor, field: ReceptiveField | None) -> None:
        """Remember ``tensor``'s receptive field (None: unknown, and so is all that follows)."""
        spatial = tuple(tensor.shape[2:])
        if field is not None and field.n_spatial != len(spatial):
            field = None
        node = tensor.grad_fn
        if node is not None:
            self._node_fields[id(node)] = (node, spatial, field)
        self._tensor_fields[id(tensor)] = (tensor, spatial, field)

    def field_of(self, tensor) -> ReceptiveField | None:
        """The receptive field of a tensor (None if unknown)."""
        spatial = tuple(tensor.shape[2:])
        node = tensor.grad_fn
        if node is None:
            entry = self._tensor_fields.get(id(tensor))
            return entry[2] if entry is not None and entry[1] == spatial else None
        found = self._walk(node, spatial)
        return found if isinstance(found, ReceptiveField) else None

    def _known(self, node, spatial):
        _, known_spatial, field = self._node_fields[id(node)]
        if field is None or known_spatial != spatial:
            return _UNKNOWN
        return field

    def _walk(self, start, spatial):
        """Union of the fields of the module outputs that ``start`` was computed from through
        geometry-keeping operations (iterative depth-first, children before parents)."""
        memo = {}   # id -> (node, result); holding the node keeps its id from being reused
        stack = [(start, None)]
        while stack:
            node, children = stack.pop()
            if id(node) in memo:
                continue
            if children is None:
                result = self._settled(node, spatial)
                if result is None:   # an operation to look through: its inputs first
                    # (next_functions is read once: juanji builds fresh leaf nodes on each read)
                    children = [child for child, _ in node.next_functions if child is not None]
                    stack.append((node, children))
                    stack.extend((child, None) for child in children if id(child) not in memo)
                else:
                    memo[id(node)] = (node, result)
                continue
            results = [memo[id(child)][1] for child in children]
            if any(r is _UNKNOWN for r in results):
                result = _UNKNOWN
            else:
                fields = [r for r in results if isinstance(r, ReceptiveField)]
                merged = union(fields) if fields else _NOTHING
                result = _UNKNOWN if merged is None else merged
            memo[id(node)] = (node, result)
        return memo[id(start)][1]

    def _settled(self, node, spatial):
        """A node's result when it needs no walk: a known module output, a leaf, or an
        operation that may change the geometry; None for an operation to look through."""
        if id(node) in self._node_fields:
            return self._known(node, spatial)
        if not hasattr(node, "next_functions"):   # a leaf: a parameter's AccumulateGrad
            return _NOTHING
        if _op_name(node) not in _GEOMETRY_KEEPING_OPS:
            return _UNKNOWN
        return None
