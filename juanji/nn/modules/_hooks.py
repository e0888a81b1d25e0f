"""Hook plumbing for ``nn.Module``: full backward hooks (the handles are ``juanji.utils.hooks``).

A full backward hook ``hook(module, grad_input, grad_output)`` must see the gradients with
respect to the module's inputs and outputs *as a whole*, and may replace ``grad_input``. The
autograd graph knows nothing about modules, so ``Module.__call__`` wraps the forward between
two identity Ops:

    inputs -> [_HookIdentity (input side)] -> forward(...) -> [_HookIdentity (output side)] -> outputs

In backward the output-side identity sees ``grad_output`` first (it runs the backward
*pre*-hooks, which may replace it, and remembers it); the input-side identity runs last, when
every gradient with respect to the inputs is complete, calls the hooks with both, and hands the
(possibly replaced) ``grad_input`` on to the rest of the graph.

An ``Op`` has one differentiable output, so several tensors are first packed into one flat
array (one identity node for all of them, which is what makes "call the hook once with every
gradient" possible) and unpacked again with differentiable slices. A single tensor, the usual
case, goes through the identity unpacked and uncopied.
"""

from __future__ import annotations

import math
import warnings

from ...autograd.function import Op
from ...autograd.grad_mode import is_grad_enabled
from ...tensor import Tensor
from ...utils.hooks import RemovableHandle  # re-exported: module.py and older imports take it from here

__all__ = ["RemovableHandle", "BackwardHook"]


class _HookIdentity(Op):
    """Identity in forward; in backward hands the gradient(s) to ``on_grad`` and passes on
    whatever it returns. Several inputs are packed into one flat array (see module docstring)."""

    def forward(self, *arrays, on_grad, arrived):
        self.on_grad = on_grad
        self.arrived = arrived
        if len(arrays) == 1:
            self.shapes = None
            return arrays[0]
        xp = _xp(arrays[0])
        self.shapes = [a.shape for a in arrays]
        self.dtypes = [a.dtype for a in arrays]
        common = xp.result_type(*arrays)
        return xp.concatenate([a.astype(common, copy=False).reshape(-1) for a in arrays])

    def backward(self, grad):
        if self.shapes is None:
            return tuple(self.on_grad([grad]))
        grads = []
        start = 0
        for k, (shape, dtype) in enumerate(zip(self.shapes, self.dtypes)):
            size = math.prod(shape)
            piece = grad[start:start + size].reshape(shape).astype(dtype, copy=False)
            grads.append(piece if self.arrived[k] else None)   # None: no gradient reached it
            start += size
        return tuple(self.on_grad(grads))


class _Unpack(Op):
    """One tensor's slice of the packed array; notes in ``arrived`` that a gradient reached it."""

    def forward(self, packed, start, stop, shape, dtype, arrived, position):
        self.packed_shape, self.packed_dtype = packed.shape, packed.dtype
        self.start, self.stop = start, stop
        self.arrived, self.position = arrived, position
        return packed[start:stop].reshape(shape).astype(dtype, copy=False)

    def backward(self, grad):
        self.arrived[self.position] = True
        full = _xp(grad).zeros(self.packed_shape, self.packed_dtype)
        full[self.start:self.stop] = grad.reshape(-1)
        return (full,) + (None,) * 6


def _xp(arr):
    from ...backend import xp_of
    return xp_of(arr)


def _through_identity(tensors, on_grad):
    """Route ``tensors`` through one ``_HookIdentity``; return the new tensors in order."""
    arrived = [len(tensors) == 1] * len(tensors)
    packed = _HookIdentity.apply(*tensors, on_grad=on_grad, arrived=arrived)
    if len(tensors) == 1:
        return [packed]
    out = []
    start = 0
    for k, t in enumerate(tensors):
        stop = start + t.numel()
        piece = _Unpack.apply(packed, start, stop, tuple(t.shape), t._data.dtype, arrived, k)
        if not t.requires_grad:  # torch marks these non-differentiable: the hook sees zeros
            piece = piece.detach()
        out.append(piece)
        start = stop
    return out


def _to_tensor(arr):
    return None if arr is None else Tensor._from_array(arr)


def _to_array(t):
    return None if t is None else (t._data if isinstance(t, Tensor) else t)


class BackwardHook:
    """One module call's worth of full backward (pre-)hooks (see the module docstring)."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = list(user_hooks)
        self.user_pre_hooks = list(user_pre_hooks)
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_index = None      # positions of the tensor inputs that require grad
        self.n_outputs = 0
        self.output_index = None

    # ------------------------------------------------------------------ forward side
    def setup_input_hook(self, args: tuple) -> tuple:
        """Put the input-side identity in front of the tensor positional arguments."""
        self.n_inputs = len(args)
        # like torch: if any tensor input requires grad, every tensor input is routed through
        # the identity (and the hook sees a gradient, zeros if need be, for each of them)
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not any(args[i].requires_grad for i in index) or not is_grad_enabled():
            return args
        self.input_index = index
        self.input_arrays = [args[i]._data for i in index]
        wrapped = _through_identity([args[i] for i in index], self._on_grad_input)
        args = list(args)
        for i, t in zip(index, wrapped):
            args[i] = t
        return tuple(args)

    def setup_output_hook(self, result):
        """Put the output-side identity behind the tensor output(s)."""
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)
        index = [i for i, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
        if not index or not is_grad_enabled():
            return result
        self.output_index = index
        wrapped = _through_identity([outputs[i] for i in index], self._on_grad_output)
        outputs = list(outputs)
        for i, t in zip(index, wrapped):
            outputs[i] = t
        return outputs[0] if single else tuple(outputs)

    # ------------------------------------------------------------------ backward side
    def _pack(self, index, grads, n):
        full = [None] * n
        for i, g in zip(index, grads):
            full[i] = _to_tensor(g)
        return tuple(full)

    def _on_grad_output(self, grads):
        grad_outputs = self._pack(self.output_index, grads, self.n_outputs)
        for hook in self.user_pre_hooks:
            res = hook(self.module, grad_outputs)
            if res is None:
                continue
            if not isinstance(res, tuple):
                res = (res,)
            if len(res) != len(grad_outputs):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, "
                                   f"got {len(res)}, but expected {len(grad_outputs)}")
            grad_outputs = res
        self.grad_outputs = grad_outputs
        if self.input_index is None:
            # No input requires grad: the input side never runs, so the hooks fire here.
            if self.user_hooks:
                warnings.warn("Full backward hook is firing when gradients are computed with respect to module "
                              "outputs since no inputs require gradients. See the documentation of "
                              "register_full_backward_hook for more details.", stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                       "always return None or None for all gradients.")
        return [_to_array(grad_outputs[i]) for i in self.output_index]

    def _on_grad_input(self, grads):
        # torch materialises a missing input gradient as zeros
        grads = [g if g is not None else _xp(self.input_arrays[k]).zeros_like(self.input_arrays[k])
                 for k, g in enumerate(grads)]
        grad_inputs = self._pack(self.input_index, grads, self.n_inputs)
        grad_outputs = self.grad_outputs
        if grad_outputs is None:  # the output side saw no gradient (outputs not requiring grad)
            grad_outputs = (None,) * self.n_outputs
        for hook in self.user_hooks:
            res = hook(self.module, grad_inputs, grad_outputs)
            if res is None:
                continue
            if not isinstance(res, tuple):
                res = (res,)
            if len(res) != len(grad_inputs):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                   f"got {len(res)}, but expected {len(grad_inputs)}")
            grad_inputs = res
        return [_to_array(grad_inputs[i]) for i in self.input_index]
