"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The graph is made of ``Op`` nodes (a Tensor's ``grad_fn``) whose ``inputs`` are Tensors.
Gradients are summed per node in reverse topological order, then each node's ``backward``
hands one gradient to each input; a leaf (no ``grad_fn``) that requires grad accumulates it
in ``.grad``.
"""

from __future__ import annotations

from .grad_mode import no_grad

__all__ = ["run_backward", "unbroadcast"]

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed when "
          "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
          "through the graph a second time or if you need to access saved tensors after calling backward.")


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
        for t in node.inputs:
            fn = getattr(t, "grad_fn", None)
            if fn is not None and fn not in seen:
                stack.append((fn, False))
    order.reverse()
    return order


def _apply_hooks(hooks, grad):
    from ..tensor import Tensor
    for hook in hooks:
        res = hook(Tensor._from_array(grad))
        if res is not None:
            grad = res._data
    return grad


def run_backward(outputs, grads, retain_graph=False, capture=None):
    """Backpropagate ``grads`` (arrays) from ``outputs`` (Tensors).

    With ``capture`` (a list of Tensors) the gradients with respect to those tensors are
    returned instead of being accumulated into any ``.grad`` (``autograd.grad``).
    """
    pending = {}
    roots = []
    captured = {} if capture is not None else None
    capture_ids = {id(t): t for t in capture} if capture is not None else None
    capture_nodes = {t.grad_fn: t for t in capture if t.grad_fn is not None} if capture is not None else None
    leaf_grads = []
    for out, g in zip(outputs, grads):
        g = g.copy()
        if out.grad_fn is None:
            leaf_grads.append((out, g))
            continue
        fn = out.grad_fn
        pending[fn] = pending[fn] + g if fn in pending else g
        roots.append(fn)
    order = _topological_order(roots) if roots else []

    def deliver_leaf(t, g):
        if captured is not None:
            if id(t) in capture_ids:
                captured[id(t)] = captured[id(t)] + g if id(t) in captured else g
            return
        hooks = t.__dict__.get("_hooks")
        if hooks:
            g = _apply_hooks(hooks, g)
        if t.grad is None:
            from ..tensor import Tensor
            t.grad = Tensor._from_array(g)
        else:
            old = t.grad._data
            if old.shape == g.shape and old.dtype == g.dtype and old.flags.writeable:
                old += g
            else:
                t.grad._data = old + g

    with no_grad():
        for t, g in leaf_grads:
            deliver_leaf(t, g)
        for node in order:
            grad = pending.pop(node, None)
            if grad is None:
                continue
            hooks = node.__dict__.get("_hooks")
            if hooks:
                grad = _apply_hooks(hooks, grad)
            if captured is not None:
                t = capture_nodes.get(node)
                if t is not None:
                    captured[id(t)] = grad
            else:
                out_ref = node.__dict__.get("_retained")
                out = out_ref() if out_ref is not None else None
                if out is not None:
                    from ..tensor import Tensor
                    if out.grad is None:
                        out.grad = Tensor._from_array(grad.copy())
                    else:
                        out.grad = Tensor._from_array(out.grad._data + grad)
            if node._released:
                raise RuntimeError(_FREED)
            in_grads = node.backward(grad)
            seen_arrays = []
            for t, g in zip(node.inputs, in_grads):
                if g is None or t is None or not getattr(t, "requires_grad", False):
                    continue
                data = t._data
                if g.shape != data.shape:
                    g = unbroadcast(g, data.shape)
                if g.dtype != data.dtype:
                    g = g.astype(data.dtype)
                # one array handed to two inputs (x + x, add's two branches) must not be shared
                for s in seen_arrays:
                    if s is g:
                        g = g.copy()
                        break
                seen_arrays.append(g)
                fn = t.grad_fn
                if fn is None:
                    deliver_leaf(t, g)
                else:
                    pending[fn] = pending[fn] + g if fn in pending else g
            if not retain_graph:
                node._release()
    if captured is not None:
        return [captured.get(id(t)) for t in capture]
    return None
