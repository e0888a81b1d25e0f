"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The graph is made of ``Op`` nodes (a Tensor's ``grad_fn``). Each node's ``edges`` say where
the gradient of each of its inputs goes: to another node, or to a leaf Tensor. The engine

1. orders the nodes reachable from the outputs so that every node comes after all the nodes
   that feed gradient into it (reverse topological order),
2. for each node, sums the gradients that arrived, calls its ``backward`` once, sums each
   input gradient back to the input's shape (undoing broadcasting) and passes it on,
3. at the end adds each leaf's total into ``leaf.grad`` (after the leaf's hooks).

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
from .function import FREED_MESSAGE, Op
from .grad_mode import _state

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
    """Nodes reachable from ``roots``, each after every node that feeds gradient into it."""
    order = []
    seen = set()
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
                if isinstance(target, Op) and target not in seen:
                    stack.append((target, False))
    order.reverse()
    return order


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
    pending = {}      # node -> gradient summed so far
    leaf_grads = {}   # id(leaf) -> [leaf, gradient summed so far]
    roots = []
    for out, g in zip(outputs, grads):
        g = g.copy()  # never hand the caller's own array to a leaf
        fn = out.grad_fn
        if fn is None:
            _add_leaf(leaf_grads, out, g)
            continue
        pending[fn] = pending[fn] + g if fn in pending else g
        roots.append(fn)

    capturing = capture is not None
    if capturing:
        captured = {}
        capture_nodes = {t.grad_fn: t for t in capture if t.grad_fn is not None}

    previous_mode = _state.enabled
    _state.enabled = False  # the backward pass itself records nothing
    try:
        for node in _topological_order(roots) if roots else ():
            grad = pending.pop(node, None)
            if grad is None:
                continue
            if node._released:
                raise RuntimeError(FREED_MESSAGE)
            extras = node.__dict__
            if "_hooks" in extras:
                grad = _apply_hooks(extras["_hooks"], grad)
            if capturing:
                t = capture_nodes.get(node)
                if t is not None:
                    captured[id(t)] = grad
            elif "_retained" in extras:
                _retain(extras["_retained"], grad)
            in_grads = node.backward(grad)
            if in_grads.__class__ is not tuple:
                in_grads = tuple(in_grads) if isinstance(in_grads, list) else (in_grads,)
            for edge, g in zip(node.edges, in_grads):
                if edge is None or g is None:
                    continue
                target, shape, dtype = edge
                if g.shape != shape:
                    g = unbroadcast(g, shape)
                if g.dtype != dtype:
                    g = g.astype(dtype)
                if not isinstance(target, Op):  # a leaf tensor
                    entry = leaf_grads.get(id(target))
                    if entry is None:
                        leaf_grads[id(target)] = [target, g]
                    else:
                        entry[1] = entry[1] + g
                elif target in pending:
                    pending[target] = pending[target] + g
                else:
                    pending[target] = g
            if not retain_graph:
                node._release()

        if capturing:
            for t, g in leaf_grads.values():
                captured[id(t)] = g
            return [captured.get(id(t)) for t in capture]

        delivered = {}
        for leaf, g in leaf_grads.values():
            if not leaf.requires_grad:
                continue
            hooks = leaf.__dict__.get("_hooks")
            if hooks:
                g = _apply_hooks(hooks, g)
            g = _owned(g, delivered)
            if leaf.grad is None:
                leaf.grad = leaf._from_array(g)
            else:
                old = leaf.grad._data
                leaf.grad._data = old + g if old.shape == g.shape else (old + g).reshape(old.shape)
    finally:
        _state.enabled = previous_mode
    return None


def _add_leaf(leaf_grads, leaf, g):
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _retain(ref, grad):
    """``retain_grad()`` on a non-leaf: keep (a copy of) its gradient in ``.grad``."""
    out = ref()
    if out is None:
        return
    if out.grad is None:
        out.grad = out._from_array(grad.copy())
    else:
        out.grad = out._from_array(out.grad._data + grad)
