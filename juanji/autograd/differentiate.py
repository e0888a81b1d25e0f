"""``grad`` and ``backward``: start a backward pass from tensors (``juanji.autograd.grad``,
``juanji.autograd.backward``; ``Tensor.backward`` calls the engine directly)."""

from __future__ import annotations

import numpy as np

from .engine import run_backward
from .tensor_base import TensorBase

__all__ = ["grad", "backward"]


def _grad_arrays(outputs, grad_outputs):
    arrays = []
    for o, g in zip(outputs, grad_outputs):
        if g is None:
            if o._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            arrays.append(np.ones(o.shape, o._data.dtype))
        else:
            arrays.append(g._data if isinstance(g, TensorBase) else np.asarray(g, o._data.dtype))
    return arrays


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated in ``.grad``)."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by juanji")
    outputs = [outputs] if isinstance(outputs, TensorBase) else list(outputs)
    single = isinstance(inputs, TensorBase)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, TensorBase):
        grad_outputs = [grad_outputs]
    for o in outputs:
        if not o.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    res = run_backward(outputs, _grad_arrays(outputs, grad_outputs), retain_graph=bool(retain_graph), capture=inputs)
    out = []
    for t, g in zip(inputs, res):
        if g is None:
            if materialize_grads:
                            g = np.zeros(t.shape, t._data.dtype)
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. "
                                   "Set allow_unused=True if this is the desired behavior.")
        out.append(None if g is None else t._from_array(g))
    return tuple(out)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``juanji.autograd.backward([y1, y2], [g1, g2])``: accumulate into the leaves' ``.grad``."""
    if create_graph:
        raise NotImplementedError("backward(create_graph=True): higher-order gradients are not supported by juanji")
    tensors = [tensors] if isinstance(tensors, TensorBase) else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, TensorBase):
        grad_tensors = [grad_tensors]
    run_backward(tensors, _grad_arrays(tensors, grad_tensors), retain_graph=bool(retain_graph))
