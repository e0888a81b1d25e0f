"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The graph is made of ``Op`` nodes (a Tensor's ``grad_fn``). Each node's ``edges`` say where
the gradient of each of its inputs goes: to another Op, or to the ``AccumulateGrad`` node of
a leaf that requires grad. The engine

1. orders the Ops reachable from the outputs so that every Op comes after all the Ops that
   feed gradient into it (reverse topological order), and counts the edges into each leaf's
   AccumulateGrad,
2. for each Op, sums the gradients that arrived, calls its ``backward`` once, sums each
   input gradient back to the input's shape (undoing broadcasting) and passes it on,
3. as soon as the last edge into an AccumulateGrad has delivered, runs the leaf's hooks, adds
   the total into ``leaf.grad`` and runs the leaf's post-accumulate hooks (as torch does: a
   distributed run can start reducing a layer's gradients while backward goes on).

Without ``retain_graph`` each node frees what it saved once used, and a second backward
through it raises torch's error.

A backward pass meets inf and nan as torch does: silently. In a diverging run the sums over
broadcast axes and the accumulation of gradients reach ``inf - inf`` or overflow, and NumPy
would warn; the whole pass runs under ``quiet`` (NumPy's floating-point warnings off), one
switch per backward call rather than one per node. (That covers every node's ``backward``,
hooks and custom Functions included.)
"""

from __future__ import annotations

import numpy as np

from ..kernels.errstate import quiet
from ..kernels.pointwise import add
from .function import FREED_MESSAGE, AccumulateGrad, grad_accumulator
from .grad_mode import _state
from .tensor_base import TensorBase

__all__ = ["run_backward", "unbroadcast", "FREED_MESSAGE"]


def unbroadcast(grad, shape):
    """Sum a broadcast gradient back down to ``shape`` (the inverse of broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _topological_order(roots):
    """The Ops reachable from ``roots``, each after every Op that feeds gradient into it."""
    return _ordered_graph(roots)[0]


def _ordered_graph(roots):
    """``_topological_order(roots)``, and for each leaf's AccumulateGrad reached, the number of
    edges into it from those Ops."""
    order = []
    seen = set()
    into_leaves = {}
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for edge in node.edges:
            if edge is not None:
                target = edge[0]
                if target.__class__ is AccumulateGrad:
                    into_leaves[target] = into_leaves.get(target, 0) + 1
                elif target not in seen:
                    stack.append((target, False))
    order.reverse()
    return order, into_leaves


def _apply_hooks(hooks, grad):
    """Run a tensor's gradient hooks in registration order (``hooks``: {handle id: hook}). Each
    takes and returns an array (or None to keep the gradient): ``Tensor.register_hook`` wraps
    the user's hook, which sees tensors."""
    for hook in list(hooks.values()):
        res = hook(grad)
        if res is not None:
            grad = res
    return grad


def _owned(g, delivered):
    """A gradient array safe to hand to a leaf as its ``.grad``: writeable, and sharing memory
    with no other leaf's gradient (``a + b`` passes one array to both)."""
    if not isinstance(g, np.ndarray):
        g = np.asarray(g) if isinstance(g, np.generic) else g
    base = g.base if getattr(g, "base", None) is not None else g
    if not getattr(g.flags, "writeable", True) or id(base) in delivered:  # (CuPy arrays have no such flag)
        g = g.copy()
        base = g
    delivered[id(base)] = base
    return g


@quiet
def run_backward(outputs, grads, retain_graph=False, capture=None):
    """Backpropagate ``grads`` (arrays) from ``outputs`` (Tensors).

    With ``capture`` (a list of Tensors) the gradients with respect to those tensors are
    returned instead of being accumulated into any ``.grad`` (``autograd.grad``).
    """
    pending = {}  # node (an Op, or a leaf's AccumulateGrad) -> gradient summed so far
    roots = []
    for out, g in zip(outputs, grads):
        g = g.copy()  # never hand the caller's own array to a leaf
        fn = out.grad_fn
        if fn is None:
            fn = grad_accumulator(out)  # a leaf given as an output
        else:
            roots.append(fn)
        pending[fn] = pending[fn] + g if fn in pending else g

    leaves = _Leaves(capture)
    previous_mode = _state.enabled
    _state.enabled = False  # the backward pass itself records nothing
    try:
        order, into_leaves = _ordered_graph(roots) if roots else ((), {})
        for node in order:
            grad = pending.pop(node, None)
            if grad is None:
                continue
            if node._released:
                raise RuntimeError(FREED_MESSAGE)
            extras = node.__dict__
            if "_hooks" in extras:
                grad = _apply_hooks(extras["_hooks"], grad)
            if leaves.capturing:
                leaves.capture_node(node, grad)
            elif "_retained" in extras:
                _retain(extras["_retained"], grad)
            in_grads = node.backward(grad)
            if in_grads.__class__ is not tuple:
                in_grads = tuple(in_grads) if isinstance(in_grads, list) else (in_grads,)
            ready = None  # leaves whose every incoming edge has now delivered
            for edge, g in zip(node.edges, in_grads):
                if edge is None:
                    continue
                target, shape, dtype = edge
                if g is not None:
                    if g.shape != shape:
                        g = unbroadcast(g, shape)
                    if g.dtype != dtype:
                        g = g.astype(dtype)
                    pending[target] = add(pending[target], g) if target in pending else g
                if target.__class__ is AccumulateGrad:
                    left = into_leaves[target] - 1
                    into_leaves[target] = left
                    if left == 0:
                        ready = [target] if ready is None else ready + [target]
            if not retain_graph:
                node._release()
            if ready is not None:
                for target in ready:
                    if target in pending:
                        leaves.accumulate(target.variable, pending.pop(target), pending)
        for target, g in list(pending.items()):  # leaves given as outputs, or fed by nodes that got no gradient
            leaves.accumulate(target.variable, pending.pop(target), pending)
    finally:
        _state.enabled = previous_mode
    return leaves.captured_for(capture) if leaves.capturing else None


class _Leaves:
    """What a backward pass does with a leaf's total gradient: add it into ``leaf.grad`` (after
    the leaf's hooks; then its post-accumulate hooks run), or, for ``autograd.grad``, keep it."""

    def __init__(self, capture):
        self.capturing = capture is not None
        self.delivered = {}  # see _owned
        if self.capturing:
            self.captured = {}
            self.capture_nodes = {t.grad_fn: t for t in capture if t.grad_fn is not None}

    def capture_node(self, node, grad):
        t = self.capture_nodes.get(node)
        if t is not None:
            self.captured[id(t)] = grad

    def captured_for(self, capture):
        return [self.captured.get(id(t)) for t in capture]

    def accumulate(self, leaf, g, pending):
        """``pending``: the gradients still to be used by the rest of the pass."""
        if self.capturing:
            self.captured[id(leaf)] = g
            return
        if not leaf.requires_grad:
            return
        extras = leaf.__dict__
        hooks = extras.get("_hooks")
        if hooks:
            g = _apply_hooks(hooks, g)
        post = extras.get("_post_accumulate_grad_hooks")
        if post and _shares_memory(g, pending.values()):
            g = g.copy()  # a post-accumulate hook may change .grad in place: never a gradient still to be used
        g = _owned(g, self.delivered)
        if leaf.grad is None:
            leaf.grad = leaf._from_array(g)
        else:
            old = leaf.grad._data
            leaf.grad._data = old + g if old.shape == g.shape else (old + g).reshape(old.shape)
        if post:
            for hook in list(post.values()):  # {handle id: hook}, in registration order
                res = hook(leaf)
                if res is not None:
                    if isinstance(res, TensorBase):
                        raise RuntimeError("Tensor post accumulate grad hooks should return None.")
                    raise TypeError(f"expected Variable, but hook returned '{type(res).__name__}'")


def _shares_memory(g, arrays) -> bool:
    """Whether ``g`` may share memory with any of ``arrays`` (a conservative yes off NumPy)."""
    if not isinstance(g, np.ndarray):
        return True
    return any(np.may_share_memory(g, a) for a in arrays if isinstance(a, np.ndarray))


def _retain(ref, grad):
    """``retain_grad()`` on a non-leaf: keep (a copy of) its gradient in ``.grad``."""
    out = ref()
    if out is None:
        return
    if out.grad is None:
        out.grad = out._from_array(grad.copy())
    else:
        out.grad = out._from_array(out.grad._data + grad)
