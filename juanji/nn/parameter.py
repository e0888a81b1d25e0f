"""``nn.Parameter`` and ``nn.Buffer``: the two kinds of tensor a Module keeps as its state.

A :class:`Parameter` is a Tensor that is learnable: assigning one to a Module attribute
(``self.weight = nn.Parameter(w)``) registers it, so it shows up in ``module.parameters()`` and
the optimiser updates it. It requires grad by default and shares memory with the tensor it wraps.

A :class:`Buffer` marks a tensor as module state that is *not* learnable (BatchNorm's running
mean): assigning one to a Module attribute registers it as a buffer. As in torch 2.x, ``Buffer(t)``
returns a plain Tensor carrying a marker, and ``isinstance(x, Buffer)`` looks for that marker.

:class:`UninitializedParameter` and :class:`UninitializedBuffer` are a lazy module's state before
its first batch (``nn.LazyLinear``, juanji/nn/modules/lazy.py): a dtype and a device but no shape
yet; ``materialize(shape)`` gives them one and turns them into a Parameter or a plain Tensor.
``is_lazy(t)`` says whether ``t`` is still one of them.

    >>> import juanji as torch
    >>> p = torch.nn.Parameter(torch.zeros(2))
    >>> p
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

from .. import creation
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "UninitializedTensorMixin",
           "is_lazy"]


def _tensor_or_empty(data, who: str) -> Tensor:
    if data is None:
        return creation.empty(0)
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


# -- tensors without a shape yet -------------------------------------------------------------

def _uninitialized_use_error(kind: str, what: str) -> ValueError:
    return ValueError(f"Attempted to use an uninitialized parameter in {what}. This error happens when you are "
                      f"using a `LazyModule` or explicitly manipulating `juanji.nn.{kind}` objects. When using "
                      "LazyModules call `forward` with a dummy batch to initialize the parameters before calling "
                      "juanji functions")


class _NotMaterialized:
    """Stands in for the array of an uninitialized parameter or buffer. It knows the dtype and
    device the real array will have; any other use (shape, arithmetic, NumPy functions) raises
    the ValueError above, so every op that reaches for the data fails with the same message."""

    __slots__ = ("dtype", "device", "kind")

    def __init__(self, dtype, device, kind: str):
        self.dtype = dtype          # a NumPy dtype, as an array's
        self.device = device        # a juanji.device
        self.kind = kind            # "UninitializedParameter" or "UninitializedBuffer"

    def __getattr__(self, name):
        # only reached for names the class does not define: .shape, .reshape, .T, ...
        if name.startswith("__"):  # protocol probes (copy, pickle, NumPy) just find nothing
            raise AttributeError(name)
        raise _uninitialized_use_error(self.kind, name)

    def __array__(self, *args, **kwargs):
        raise _uninitialized_use_error(self.kind, "numpy.asarray")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise _uninitialized_use_error(self.kind, f"numpy.{ufunc.__name__}")

    def __array_function__(self, function, types, args, kwargs):
        raise _uninitialized_use_error(self.kind, f"numpy.{function.__name__}")


def _refuse(operator: str):
    def refused(self, *args):
        raise _uninitialized_use_error(self.kind, operator)
    return refused


# Python looks operators up on the class, not through __getattr__: refuse them one by one.
for _operator in ("__getitem__", "__setitem__", "__len__", "__iter__", "__bool__", "__float__", "__int__",
                  "__index__", "__neg__", "__pos__", "__abs__", "__add__", "__radd__", "__iadd__", "__sub__",
                  "__rsub__", "__isub__", "__mul__", "__rmul__", "__imul__", "__truediv__", "__rtruediv__",
                  "__itruediv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__lt__", "__le__",
                  "__gt__", "__ge__"):
    setattr(_NotMaterialized, _operator, _refuse(_operator))
del _operator


class UninitializedTensorMixin:
    """What uninitialized parameters and buffers share: a dtype and a device but no shape until
    :meth:`materialize` gives them one (and turns them into ``cls_to_become``)."""

    cls_to_become = None

    def _start_uninitialized(self, requires_grad, device, dtype) -> None:
        probe = creation.empty(0, dtype=dtype, device=device)  # resolves the defaults and checks them
        self._data = _NotMaterialized(probe._data.dtype, probe.device, type(self).__name__)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor ``shape`` (values uninitialized: zeros in juanji) on its device and
        dtype or the given ones, and turn it into a ``cls_to_become`` (a Parameter or Tensor)."""
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        self._data = creation.empty(tuple(shape), dtype=dtype, device=device)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError("Can't access the shape of an uninitialized parameter or buffer. This error usually "
                           "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
                           "initialized one. Call `forward` to initialize the parameters before accessing their "
                           "attributes.")

    @property
    def device(self):
        return self._data.device

    def detach(self):
        raise _uninitialized_use_error(type(self).__name__, "detach")

    def _like(self, dtype=None, device=None):
        """A new uninitialized tensor of this kind, with another dtype and/or device."""
        raise NotImplementedError

    def _cast(self, d):
        # .float(), .double(), .type(...) and Module.to(dtype) keep it uninitialized
        return self if d is self.dtype else self._like(dtype=d)

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ...: an uninitialized tensor with that dtype/device."""
        # Tensor.to reads the arguments; an empty tensor of ours stands in for this one
        target = Tensor.to(creation.empty(0, dtype=self.dtype, device=self.device), *args, **kwargs)
        if target.dtype is self.dtype and target.device == self.device:
            return self
        return self._like(dtype=target.dtype, device=target.device)

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = self._like()
        return memo[id(self)]


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's, until its first forward).

    Args:
        requires_grad: as for Parameter (default True).
        device, dtype: what the parameter will be materialized with (default: juanji's defaults).
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        self._start_uninitialized(requires_grad, device, dtype)

    @property
    def data(self):
        """torch's answer: a new empty tensor of shape [0] with this dtype and device. Writing into it
        (``lazy.weight.data.normal_(0, 0.01)`` before the first forward, as the d2l book does) changes
        nothing: the layer initialises its parameters itself when they materialize."""
        return creation.empty(0, dtype=self.dtype, device=self.device)

    @data.setter
    def data(self, value):
        Tensor.data.fset(self, value)

    def _like(self, dtype=None, device=None):
        return UninitializedParameter(self.requires_grad, self.device if device is None else device,
                                      self.dtype if dtype is None else dtype)

    def __reduce__(self):
        return (UninitializedParameter, (self.requires_grad, str(self.device), self.dtype.name))


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy batch norm's running statistics).

    Args:
        requires_grad: default False.
        device, dtype: what the buffer will be materialized with.
        persistent: whether it goes into the module's ``state_dict`` (default True).
    """

    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        self._start_uninitialized(requires_grad, device, dtype)
        self.persistent = persistent
        self._is_buffer = True  # assigning it to a Module attribute registers a buffer

    def _like(self, dtype=None, device=None):
        return UninitializedBuffer(self.requires_grad, self.device if device is None else device,
                                   self.dtype if dtype is None else dtype, self.persistent)

    def __reduce__(self):
        return (UninitializedBuffer, (self.requires_grad, str(self.device), self.dtype.name, self.persistent))


def is_lazy(param) -> bool:
    """Whether ``param`` is an :class:`UninitializedParameter` or :class:`UninitializedBuffer`."""
    return isinstance(param, UninitializedTensorMixin)
