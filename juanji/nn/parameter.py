"""``nn.Parameter`` and ``nn.Buffer``: the two kinds of tensor a Module keeps as its state.

A :class:`Parameter` is a Tensor that is learnable: assigning one to a Module attribute
(``self.weight = nn.Parameter(w)``) registers it, so it shows up in ``module.parameters()`` and
the optimiser updates it. It requires grad by default and shares memory with the tensor it wraps.

A :class:`Buffer` marks a tensor as module state that is *not* learnable (BatchNorm's running
mean): assigning one to a Module attribute registers it as a buffer. As in torch 2.x, ``Buffer(t)``
returns a plain Tensor carrying a marker, and ``isinstance(x, Buffer)`` looks for that marker.

    >>> import juanji as torch
    >>> p = torch.nn.Parameter(torch.zeros(2))
    >>> p
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter"]


def _tensor_or_empty(data, who: str) -> Tensor:
    if data is None:
        from ..creation import empty
        return empty(0)
    if not isinstance(data, Tensor):
        raise TypeError(f"{who}: expected a Tensor as data, got {type(data).__name__}")
    return data


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter.

    Args:
        data: the tensor to wrap (its memory is shared, not copied); an empty tensor if None.
        requires_grad: whether the parameter requires gradient (default True).
    """

    def __init__(self, data=None, requires_grad=True):
        data = _tensor_or_empty(data, "Parameter")
        self._data = data._data          # share memory, like torch
        self.grad = None
        self.grad_fn = None              # a Parameter is always a leaf
        self.requires_grad = False
        if requires_grad:
            if not data.dtype.is_floating_point:
                raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
            self.requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(Tensor._from_array(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor._from_array(self.grad._data.copy())
        memo[id(self)] = out
        return out

    def __reduce__(self):
        return (_rebuild_parameter, (self._host(), self.requires_grad))


def _rebuild_parameter(arr, requires_grad):
    return Parameter(Tensor._from_array(arr), requires_grad)


class UninitializedParameter(Parameter):
    """Placeholder type for lazy modules; juanji has no lazy modules, so it only exists for
    ``isinstance`` checks in code written for torch."""


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` is true for any Tensor made by ``Buffer(...)``."""

    def __instancecheck__(cls, instance):
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Mark a tensor as a (non-learnable) Module buffer.

    Args:
        data: the tensor (detached; its memory is shared); an empty tensor if None.
        persistent: whether the buffer goes into the module's ``state_dict`` (default True).
    """

    def __new__(cls, data=None, *, persistent=True):
        data = _tensor_or_empty(data, "Buffer")
        t = Tensor._from_array(data._data, requires_grad=data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t
