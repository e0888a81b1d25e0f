"""nn.Parameter: a Tensor that a Module registers as learnable (minimal; being completed)."""

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer"]


class Parameter(Tensor):
    def __init__(self, data=None, requires_grad=True):
        from ..creation import empty
        src = data if data is not None else empty(0)
        self._data = src._data
        self.grad = None
        self.grad_fn = None
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    def __init__(self, data=None, persistent=True):
        self._data = data._data
        self.grad = None
        self.grad_fn = None
        self.requires_grad = False
        self.persistent = persistent
