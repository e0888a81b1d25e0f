"""A captured forward pass as a straight list of nodes, and its replay without Python dispatch.

A *node* is one differentiable primitive applied once, as it was recorded during an eager call
(``capture.py``):

- an :class:`OpNode` is an ``autograd.function.Op`` class with the arguments it got: the
  replay makes a fresh instance and calls its ``forward`` on arrays, then its ``backward``;
- an :class:`OpaqueNode` is a function of ``nn.functional`` that has effects besides its result
  (batch norm's running statistics, dropout's random mask): the replay calls the function
  itself on Tensors, so the effect happens exactly as in eager mode.

Each input of a node is a *reference*: ``("node", j, k)`` (output ``k`` of node ``j``),
``("ext", e)`` (external tensor ``e``: an argument of the call, a parameter or buffer, or a
tensor the forward made from nothing, read afresh on every replay) or ``("const", value)``.

The replay is one Op, :class:`CompiledGraph` (torch's node name ``CompiledFunctionBackward``):
its inputs are the external tensors that require a gradient, its forward runs the nodes'
forwards in order and its backward their backwards in the order the autograd engine would have
used (taken from the captured graph), adding the gradients of a value used twice in the same
order as the engine. So the numbers are the same as eager mode's, bit for bit, with none of the
per-op work around them: no Module calls, no argument checks, no Tensor per intermediate value,
no graph bookkeeping per op.
"""

from __future__ import annotations

from ..autograd.engine import run_backward, unbroadcast
from ..autograd.function import Op
from ..autograd.grad_mode import no_grad

__all__ = ["OpNode", "OpaqueNode", "ParamRef", "Graph", "CompiledGraph"]


class ParamRef:
    """A keyword parameter of an Op that is an array the replay must look up (a buffer's
    array, or a value computed by an earlier node), not a constant."""

    __slots__ = ("ref",)

    def __init__(self, ref):
        self.ref = ref

    def __eq__(self, other):
        return isinstance(other, ParamRef) and _same(self.ref, other.ref)

    def __repr__(self):
        return f"ParamRef({self.ref[:2]})"


def _same(a, b) -> bool:
    """Equality for recorded values: arrays by content, everything else by ==."""
    import numpy as np
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects that cannot be compared are not the same
        return a is b


class OpNode:
    """``cls.forward(*inputs, **params)`` with the needs and edge shapes it was recorded with."""

    __slots__ = ("cls", "inputs", "params", "needs", "edges", "outputs", "live_params")

    def __init__(self, cls, inputs, params, needs, edges, outputs):
        self.cls, self.inputs, self.params = cls, inputs, params
        self.needs, self.edges, self.outputs = needs, edges, outputs
        self.live_params = [k for k, v in params.items() if isinstance(v, ParamRef)]

    def describe(self) -> str:
        return self.cls.__qualname__


class OpaqueNode:
    """``function(*args, **kwargs)``: a function of nn.functional or a stateful Module, its Tensor
    arguments given as references in ``tensor_slots`` (positions in ``args``/``kwargs``) with
    their gradient needs; ``parameters``: (Tensor, reference) of a module's own parameters that
    require a gradient (the module uses them itself; their gradients are routed by reference)."""

    __slots__ = ("function", "args", "kwargs", "tensor_slots", "needs", "outputs", "parameters")

    def __init__(self, function, args, kwargs, tensor_slots, needs, outputs, parameters=()):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.tensor_slots, self.needs, self.outputs = tensor_slots, needs, outputs
        self.parameters = list(parameters)

    def describe(self) -> str:
        return getattr(self.function, "__name__", type(self.function).__name__)


class Graph:
    """The nodes, the external tensors, which node output is the result, and the backward order.

    ``externals``: the Tensors the forward read that no node made (call arguments are replaced
    by the new call's at replay: ``arg_positions`` maps argument index -> external index);
    ``last_use[j]``: the output references node ``j`` is the last reader of (freed after it).
    """

    def __init__(self, nodes, externals, arg_positions, output_ref, backward_order):
        self.nodes = nodes
        self.externals = externals
        self.arg_positions = arg_positions
        self.output_ref = output_ref
        self.backward_order = backward_order
        self.grad_externals = [e for e, t in enumerate(externals) if t.requires_grad]
        self.last_use = _last_uses(nodes, output_ref)

    def describe(self) -> list[str]:
        return [node.describe() for node in self.nodes]


def _last_uses(nodes, output_ref):
    last = {}
    for j, node in enumerate(nodes):
        refs = node.inputs if isinstance(node, OpNode) else [ref for _, ref in node.tensor_slots]
        for ref in refs:
            if ref[0] == "node":
                last[(ref[1], ref[2])] = j
        if isinstance(node, OpNode):
            for key in node.live_params:
                ref = node.params[key].ref
                if ref[0] == "node":
                    last[(ref[1], ref[2])] = j
    frees = [[] for _ in nodes]
    for (i, k), j in last.items():
        if (i, k) != output_ref[1:]:
            frees[j].append((i, k))
    return frees


class CompiledGraph(Op):
    """The whole captured forward as one Op: ``CompiledGraph.apply(*grad_inputs, runner=...)``."""

    node_name = "CompiledFunctionBackward"

    def forward(self, *grad_arrays, runner):
        self.runner = runner
        self.saved, out = runner.run_forward(grad_arrays, any(self.needs_input_grad))
        return out

    def backward(self, grad):
        saved, self.saved = self.saved, None
        return self.runner.run_backward(saved, grad, self.needs_input_grad)


class Runner:
    """One replay of a graph with the arrays of one call (built per call: cheap)."""

    def __init__(self, graph: Graph, externals):
        self.graph = graph
        self.externals = externals  # Tensors, the call's arguments in their places

    # ---------------------------------------------------------------------------- forward
    def run_forward(self, grad_arrays, record):
        graph = self.graph
        ext_arrays = [t._data for t in self.externals]
        for e, array in zip(graph.grad_externals, grad_arrays):
            ext_arrays[e] = array
        values = [None] * len(graph.nodes)
        saved = [None] * len(graph.nodes) if record else None

        def resolve(ref):
            kind = ref[0]
            if kind == "node":
                return values[ref[1]][ref[2]]
            if kind == "ext":
                return ext_arrays[ref[1]]
            return ref[1]

        for j, node in enumerate(graph.nodes):
            if isinstance(node, OpNode):
                op = node.cls()
                op.needs_input_grad = node.needs if record else (False,) * len(node.needs)
                params = node.params
                if node.live_params:
                    params = dict(params)
                    for key in node.live_params:
                        params[key] = resolve(params[key].ref)
                out = op.forward(*[resolve(ref) for ref in node.inputs], **params)
                values[j] = out if out.__class__ is tuple else (out,)
                if record and any(node.needs):
                    saved[j] = op
            else:
                values[j], local = self._run_opaque(node, resolve, record)
                if record:
                    saved[j] = local
            for i, k in graph.last_use[j]:
                if values[i] is not None:
                    row = list(values[i])
                    row[k] = None
                    values[i] = tuple(row)
        return saved, resolve(graph.output_ref)

    def _run_opaque(self, node, resolve, record):
        """Call the functional on Tensors: externals are the live Tensors (so in-place effects
        on buffers land), node outputs fresh leaves; returns (output arrays, (inputs, output))."""
        from ..tensor import Tensor
        args, kwargs = list(node.args), dict(node.kwargs)
        leaves = []
        for (slot, ref), need in zip(node.tensor_slots, node.needs):
            if ref[0] == "ext" and ref[1] not in self.graph.grad_externals:
                tensor = self.externals[ref[1]]
            else:
                tensor = Tensor._from_array(resolve(ref), requires_grad=bool(need and record))
            leaves.append(tensor)
            if isinstance(slot, int):
                args[slot] = tensor
            else:
                kwargs[slot] = tensor
        if record:
            out = node.function(*args, **kwargs)
        else:
            with no_grad():
                out = node.function(*args, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        return tuple(t._data for t in outs), ((leaves, outs[0]) if record else None)

    # ---------------------------------------------------------------------------- backward
    def run_backward(self, saved, grad, needs):
        graph = self.graph
        pending = {graph.output_ref[1]: grad}
        ext_grads = {}
        for j in graph.backward_order:
            g = pending.pop(j, None)
            if g is None or saved[j] is None:
                continue
            node = graph.nodes[j]
            if isinstance(node, OpNode):
                op = saved[j]
                saved[j] = None
                in_grads = op.backward(g)
                if in_grads.__class__ is not tuple:
                    in_grads = tuple(in_grads) if isinstance(in_grads, list) else (in_grads,)
                routes = zip(node.inputs, node.edges, in_grads)
            else:
                leaves, out = saved[j]
                saved[j] = None
                tensors = leaves + [p for p, _ in node.parameters]
                refs = [ref for _, ref in node.tensor_slots] + [ref for _, ref in node.parameters]
                wanted = [t for t in tensors if t.requires_grad]
                got = iter(run_backward([out], [g], capture=wanted) if wanted and out.grad_fn is not None else ())
                in_grads = [next(got, None) if t.requires_grad else None for t in tensors]
                routes = ((ref, (None, t._data.shape, t._data.dtype), gi) for ref, t, gi in zip(refs, tensors, in_grads))
            for ref, edge, g_in in routes:
                if edge is None or g_in is None or ref[0] == "const":
                    continue
                _, shape, dtype = edge
                if g_in.shape != shape:
                    g_in = unbroadcast(g_in, shape)
                if g_in.dtype != dtype:
                    g_in = g_in.astype(dtype)
                if ref[0] == "node":
                    i = ref[1]
                    pending[i] = pending[i] + g_in if i in pending else g_in
                else:
                    e = ref[1]
                    ext_grads[e] = ext_grads[e] + g_in if e in ext_grads else g_in
        return tuple(ext_grads.get(e) if need else None for e, need in zip(graph.grad_externals, needs))
