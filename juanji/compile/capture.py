"""Record one eager call as a :class:`~juanji.compile.graph.Graph`, or say why it cannot be.

While the call runs, four things are watched (and put back as they were afterwards):

- ``autograd.function._trace_hook`` sees every Op applied: its class, its inputs (a Tensor is
  looked up among the values recorded so far, else it becomes an external), its keyword
  parameters and its outputs;
- the functions of ``nn.functional`` listed in ``OPAQUE`` (effects besides the result: running
  statistics, random masks) are wrapped: one call becomes one opaque node, and the Ops inside
  it are not recorded on their own;
- ``Tensor.item/tolist/numpy/__array__`` outside those functions mean the Python code looks at
  values (data-dependent control flow): the call cannot be captured;
- ``Tensor._inplace`` (an in-place method) and ``Module.__call__`` (which modules ran: their
  ``training`` flags are guarded, and a module with hooks cannot be captured); a module with
  state of its own (batch norm and its ``num_batches_tracked``, dropout) becomes one opaque node.
  Batch norm in evaluation mode changes no state: module and function are then recorded Op by
  Op like any other layer (the replay skips their Python: MobileNetV2's batch-1 inference took
  0.88 of eager mode's time against ~1.0 as opaque nodes), its running estimates registered as
  external tensors so that every replay reads their current arrays.

What is not seen here (an in-place NumPy write outside any Op, a random draw outside the opaque
functions, a constant that depends on the data) is caught by the check the compiled wrapper
makes before it trusts a graph: the replay must give the eager result bit for bit.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import numpy as np

from ..autograd import function as _function
from ..autograd.engine import _topological_order
from ..autograd.function import Op
from .._tensor.inplace import inplace_watchers
from .graph import Graph, OpaqueNode, OpNode, ParamRef

__all__ = ["capture", "Uncapturable", "OPAQUE"]

# nn.functional names whose calls become opaque nodes (replayed by calling them)
OPAQUE = ("batch_norm", "instance_norm", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
          "feature_alpha_dropout", "rrelu", "embedding")


class Uncapturable(Exception):
    """The call cannot be replayed as a fixed graph; the message says why."""


class _Recorder:
    def __init__(self, args):
        self.nodes = []
        self.externals = []          # Tensors
        self._external_ids = {}      # id(Tensor) -> index
        self._by_tensor = {}         # id(Tensor) -> (Tensor, array, ref)
        self._by_array = {}          # id(array) -> (array, ref)
        self._keep = []              # everything referenced, so no id is reused during the call
        self.op_nodes = {}           # id(Op instance) -> node index
        self.modules = []
        self._module_ids = set()
        self.depth = 0               # > 0 inside an opaque function
        self.reason = None
        self.arg_positions = {}
        for i, t in enumerate(args):
            self.arg_positions[self._external(t)] = i

    # ------------------------------------------------------------------------ references
    def _external(self, tensor) -> int:
        e = self._external_ids.get(id(tensor))
        if e is None:
            e = self._external_ids[id(tensor)] = len(self.externals)
            self.externals.append(tensor)
            self._keep.append(tensor)
        return e

    def ref(self, value):
        from ..tensor import Tensor
        if isinstance(value, Tensor):
            entry = self._by_tensor.get(id(value))
            if entry is not None and entry[1] is value._data:
                return entry[2]
            found = self._by_array.get(id(value._data))
            if found is not None and found[0] is value._data:
                return found[1]
            return ("ext", self._external(value))
        if isinstance(value, np.ndarray):
            found = self._by_array.get(id(value))
            if found is not None and found[0] is value:
                return found[1]
            owner = self._array_owner(value)
            if owner is not None:
                return ("ext", owner)
        self._keep.append(value)
        return ("const", value)

    def _array_owner(self, array):
        """The external Tensor whose array this is (a buffer handed to an Op as an array)."""
        for e, t in enumerate(self.externals):
            if t._data is array:
                return e
        return None

    def produced(self, tensor, ref):
        self._keep += [tensor, tensor._data]
        self._by_tensor[id(tensor)] = (tensor, tensor._data, ref)
        self._by_array[id(tensor._data)] = (tensor._data, ref)

    # ------------------------------------------------------------------------ events
    def on_op(self, op, inputs, params, result):
        if self.depth:
            return
        j = len(self.nodes)
        refs = [self.ref(t) if t is not None else ("const", None) for t in inputs]
        param_refs = {k: (ParamRef(self.ref(v)) if isinstance(v, np.ndarray) else v) for k, v in params.items()}
        outs = result if isinstance(result, tuple) else (result,)
        edges = tuple(op.edges) if op.edges else (None,) * len(inputs)
        edges = tuple(None if e is None else (None, e[1], e[2]) for e in edges)
        self.nodes.append(OpNode(type(op), refs, param_refs, tuple(op.needs_input_grad), edges, len(outs)))
        self.op_nodes[id(op)] = j
        self._keep.append(op)
        for k, t in enumerate(outs):
            self.produced(t, ("node", j, k))

    def on_opaque(self, function, args, kwargs, result, parameters=()):
        from ..tensor import Tensor
        j = len(self.nodes)
        param_refs = [self.ref(p) for p in parameters]
        slots, needs, plain_args, plain_kwargs = [], [], list(args), dict(kwargs)
        for slot, value in list(enumerate(args)) + list(kwargs.items()):
            if isinstance(value, Tensor):
                slots.append((slot, self.ref(value)))
                needs.append(value.requires_grad)
                if isinstance(slot, int):
                    plain_args[slot] = None
                else:
                    plain_kwargs[slot] = None
        outs = result if isinstance(result, tuple) else (result,)
        self.nodes.append(OpaqueNode(function, tuple(plain_args), plain_kwargs, slots, tuple(needs), len(outs),
                                     list(zip(parameters, param_refs))))
        for t in outs:
            if t.grad_fn is not None:
                self.op_nodes[id(t.grad_fn)] = j
                self._keep.append(t.grad_fn)
        for k, t in enumerate(outs):
            self.produced(t, ("node", j, k))

    def on_inplace(self, tensor, result):
        """``tensor._inplace(result)``: tensor now holds result's value (same array or written into)."""
        if self.depth:
            return
        ref = self.ref(result)
        self.produced(tensor, ref)

    def refuse(self, why):
        if self.reason is None:
            self.reason = why


def _opaque_module_classes():
    """Modules whose call changes state besides its result (running statistics and their
    counter, random masks): one call is one opaque node, replayed by calling the module."""
    from ..nn.modules.activation import RReLU
    from ..nn.modules.dropout import _DropoutNd
    from ..nn.modules.normalization import _NormBase
    return (_NormBase, _DropoutNd, RReLU)


def _evaluating(args, kwargs) -> bool:
    """Whether a ``batch_norm(input, running_mean, running_var, weight, bias, training, ...)`` call
    normalises by its running estimates (``training`` False): it then changes nothing but its result."""
    training = args[5] if len(args) > 5 else kwargs.get("training", False)
    return not training


def _running_estimates(args, kwargs):
    from ..tensor import Tensor
    found = [args[i] if len(args) > i else kwargs.get(name) for i, name in ((1, "running_mean"), (2, "running_var"))]
    return [t for t in found if isinstance(t, Tensor)]


def _stateless_norm(module) -> bool:
    """A batch norm module in evaluation mode: no running estimate or counter changes (its call is
    then recorded Op by Op, not as one opaque node)."""
    from ..nn.modules.normalization import _BatchNorm
    return isinstance(module, _BatchNorm) and not module.training


@contextmanager
def _watching(recorder):
    from ..nn import functional as F
    from ..nn.modules import module as module_file
    from ..tensor import Tensor
    with ExitStack() as stack:
        previous_hook = _function._trace_hook

        def hook(op, inputs, params, result):
            recorder.on_op(op, inputs, params, result)
            if previous_hook is not None:
                previous_hook(op, inputs, params, result)
        _function._trace_hook = hook
        stack.callback(setattr, _function, "_trace_hook", previous_hook)

        for name in OPAQUE:
            original = getattr(F, name, None)
            if original is None:
                continue

            def wrapped(*args, __original=original, __name=name, **kwargs):
                if recorder.depth:
                    return __original(*args, **kwargs)
                if __name == "batch_norm" and _evaluating(args, kwargs):
                    # no effect besides the result: its Ops are recorded as any others, the running
                    # estimates (arrays the Op reads) looked up afresh from their buffers at each replay
                    for buffer in _running_estimates(args, kwargs):
                        recorder._external(buffer)
                    return __original(*args, **kwargs)
                recorder.depth += 1
                try:
                    result = __original(*args, **kwargs)
                finally:
                    recorder.depth -= 1
                recorder.on_opaque(__original, args, kwargs, result)
                return result
            setattr(F, name, wrapped)
            stack.callback(setattr, F, name, original)

        for name in ("item", "tolist", "numpy", "__array__"):
            original = getattr(Tensor, name)

            def looked_at(self, *args, __original=original, __name=name, **kwargs):
                if not recorder.depth:
                    recorder.refuse(f"the forward reads tensor values (Tensor.{__name}): data-dependent code")
                return __original(self, *args, **kwargs)
            setattr(Tensor, name, looked_at)
            stack.callback(setattr, Tensor, name, original)

        original_inplace = Tensor._inplace

        def inplace(self, result):
            out = original_inplace(self, result)
            recorder.on_inplace(self, result)
            return out
        Tensor._inplace = inplace
        stack.callback(setattr, Tensor, "_inplace", original_inplace)
        inplace_watchers[0] += 1  # (the in-place activations' shortcut past _inplace stands aside)
        stack.callback(inplace_watchers.__setitem__, 0, inplace_watchers[0] - 1)

        module_class = module_file.Module
        original_call = module_class.__call__

        opaque_modules = _opaque_module_classes()

        def call(self, *args, **kwargs):
            if id(self) not in recorder._module_ids:
                recorder._module_ids.add(id(self))
                recorder.modules.append(self)
            if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks:
                recorder.refuse(f"module {type(self).__name__} has hooks")
            if recorder.depth or not isinstance(self, opaque_modules) or _stateless_norm(self):
                return original_call(self, *args, **kwargs)
            recorder.depth += 1
            try:
                result = original_call(self, *args, **kwargs)
            finally:
                recorder.depth -= 1
            recorder.on_opaque(self, args, kwargs, result, [p for p in self.parameters() if p.requires_grad])
            return result
        module_class.__call__ = call
        stack.callback(setattr, module_class, "__call__", original_call)
        yield


def capture(function, args, kwargs):
    """Run ``function(*args, **kwargs)`` eagerly and record it.

    Returns ``(result, graph, modules, reason)``: the eager result (always), the Graph (None
    when the call cannot be captured), the modules that ran, and why not (a string or None).
    Only the Tensors among ``args`` are arguments of the graph; ``kwargs`` must hold none.
    """
    from ..tensor import Tensor
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    recorder = _Recorder(tensor_args)
    if any(isinstance(v, Tensor) for v in kwargs.values()):
        recorder.refuse("Tensor keyword arguments")
    with _watching(recorder):
        result = function(*args, **kwargs)
    if not isinstance(result, Tensor):
        recorder.refuse(f"the result is a {type(result).__name__}, not one Tensor")
    if recorder.reason is None and not recorder.nodes:
        recorder.refuse("no operation was recorded")
    if recorder.reason is not None:
        return result, None, recorder.modules, recorder.reason
    output_ref = recorder.ref(result)
    if output_ref[0] != "node":
        return result, None, recorder.modules, "the result is not computed by the forward"
    order = []
    if result.grad_fn is not None:
        for op in _topological_order([result.grad_fn]):
            if getattr(op, "_released", False) or "_hooks" in op.__dict__ or "_retained" in op.__dict__:
                return result, None, recorder.modules, "tensor hooks, retain_grad or a backward inside the call"
            j = recorder.op_nodes.get(id(op))
            if j is not None and j not in order:
                order.append(j)
    arg_positions = {e: i for e, i in recorder.arg_positions.items()}
    graph = Graph(recorder.nodes, recorder.externals, arg_positions, output_ref, order)
    return result, graph, recorder.modules, None

