"""The Tensor: an n-dimensional array with reverse-mode automatic differentiation.

A Tensor wraps one NumPy (or CuPy) array in ``_data``. Every differentiable operation is an
``Op`` (see ``juanji/ops``); when any input requires grad, the result remembers the Op in
``grad_fn`` and ``backward()`` walks those Ops in reverse.

    >>> import juanji as torch
    >>> w = torch.tensor([2.0, -1.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> w.grad
    tensor([ 4., -2.])

This file holds the class itself: its array and attributes (dtype, shape, device), conversion
(to other dtypes and devices, to Python and NumPy), autograd (``backward``, ``detach``, hooks)
and the Python protocol (``len``, ``iter``, ``bool``, pickling). The rest of its methods come
from mixin classes in ``juanji/_tensor/``, one file per concern (arithmetic, comparisons, matrix
products, elementwise math, reductions, shape, indexing, in-place changes, ...): see that
package's docstring for the map, and for how the mixins make tensors without naming this class.
Below the class: ``tensor``, ``as_tensor`` and ``from_numpy``, the functions that make a Tensor
from data.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _dtype as dt
from ._tensor import check_each_name_defined_once
from ._tensor.arguments import _dim, _py_bool, _py_float, _py_int, numpy_aliases
from ._tensor.arithmetic import _Arithmetic
from ._tensor.comparison import _Comparisons
from ._tensor.constructors import LEGACY_TYPE_NAMES, _array_from_data, _copied_array, _legacy_array, _NewTensors
from ._tensor.indexing import _Indexing
from ._tensor.inplace import _InPlace
from ._tensor.matmul import _MatrixProducts
from ._tensor.pieces import _Pieces
from ._tensor.pointwise import _Pointwise
from ._tensor.printing import _tensor_repr
from ._tensor.random_fills import _RandomFills
from ._tensor.reductions import _Reductions
from ._tensor.shape import _ShapeMethods
from ._tensor.softmax import _Softmax
from ._tensor.special import _SpecialMath
from ._tensor.statistics import _Statistics
from ._tensor.matrices import _Matrices
from ._tensor.placement import _Placement
from ._tensor.sampling import _Sampling
from ._tensor.decompositions import _Decompositions
from ._tensor.devices import _Devices
from ._tensor.inplace_forms import _InPlaceForms
from ._tensor.size import Size
from ._tensor.reductions import return_types
from .autograd.engine import run_backward
from .autograd.grad_mode import _state
from .autograd.tensor_base import TensorBase
from .backend import CPU, device as Device, xp_for, xp_of
from .ops import elementwise as E
from .ops import shape as S
from .utils.hooks import RemovableHandle

__all__ = ["Tensor", "Size", "tensor", "as_tensor", "from_numpy", "return_types"]

# torch's name for the node of a dtype change, x.double() or x.to(dtype) (see juanji/autograd/function.py)
_TO_COPY = E.Cast.variant("ToCopyBackward0")


# The methods by concern, one mixin class per file in juanji/_tensor/ (no name is defined twice)
class Tensor(_Arithmetic, _Comparisons, _MatrixProducts, _Pointwise, _Softmax, _Reductions, _ShapeMethods,
             _Pieces, _Indexing, _InPlace, _RandomFills, _NewTensors, _SpecialMath, _InPlaceForms,
             _Statistics, _Matrices, _Placement, _Sampling, _Decompositions, _Devices, TensorBase):
    """juanji.Tensor; build one with ``juanji.tensor(data)`` or the creation functions."""

    __array_priority__ = 1000  # so that ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, *args, dtype=None, device=None):
        """torch's legacy constructor: ``Tensor(data)`` or ``Tensor(2, 3)`` (see ``_legacy_array``)."""
        arr = _legacy_array("Tensor", dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype(), args)
        if device is not None and xp_for(device) is not np:
            arr = xp_for(device).asarray(arr)
        self._data = arr
        self.requires_grad = False
        self.grad = None
        self.grad_fn = None

    @staticmethod
    def _from_array(arr, requires_grad=False) -> "Tensor":
        """Wrap an array without copying (the one way every op makes its result)."""
        if arr.__class__ is not np.ndarray and isinstance(arr, np.generic):
            arr = np.asarray(arr)  # NumPy reductions of 0-d data return scalars; a Tensor holds an array
        t = Tensor.__new__(Tensor)
        t._data = arr
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = None
        return t

    # ---------------------------------------------------------------- attributes
    @property
    def dtype(self) -> dt.dtype:
        return dt._FROM_NP[self._data.dtype]

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @numpy_aliases
    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def device(self) -> Device:
        return CPU if xp_of(self._data) is np else Device("cuda", 0)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> "Tensor":
        """The same storage without autograd history (``w.data[:] -= lr * w.grad``)."""
        return Tensor._from_array(self._data)

    @data.setter
    def data(self, value: "Tensor"):
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    @numpy_aliases
    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_dim(dim, self.ndim)]

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0] if xp_of(self._data) is np else int(self._data.data.ptr)

    # ---------------------------------------------------------------- conversion
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item() if xp_of(self._data) is np else self._data.item()

    def tolist(self):
        return self._host().tolist()

    def _host(self):
        return self._data if xp_of(self._data) is np else self._data.get()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if xp_of(self._data) is not np:
            raise TypeError("can't convert cuda tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        return arr if dtype is None else arr.astype(dtype)

    def _cast(self, d: dt.dtype) -> "Tensor":
        """Differentiable dtype conversion (float to float keeps the gradient)."""
        if self.dtype is d:
            return self
        if self.requires_grad and d.is_floating_point and _state.enabled:
            return _TO_COPY.apply(self, d.np)
        return Tensor._from_array(self._data.astype(d.np))

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; copy=False returns self if unchanged."""
        dtype = kwargs.get("dtype")
        device = kwargs.get("device")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, dt.dtype) or a in (_py_float, _py_int, _py_bool):
                dtype = dt.to_dtype(a)
            elif a is not None:
                device = a
        out = self
        if device is not None:
            target = xp_for(device)
            if target is not xp_of(self._data):
                arr = target.asarray(self._data) if target is not np else self._data.get()
                out = Tensor._from_array(arr, requires_grad=self.requires_grad)
        if dtype is not None:
            out = out._cast(dt.to_dtype(dtype))
        if kwargs.get("copy") and out is self:
            out = self.clone()
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self._cast(dt.float32)

    def double(self) -> "Tensor":
        return self._cast(dt.float64)

    def half(self) -> "Tensor":
        return self._cast(dt.float16)

    def long(self) -> "Tensor":
        return self._cast(dt.int64)

    def int(self) -> "Tensor":
        return self._cast(dt.int32)

    def short(self) -> "Tensor":
        return self._cast(dt.int16)

    def byte(self) -> "Tensor":
        return self._cast(dt.uint8)

    def bool(self) -> "Tensor":
        return self._cast(dt.bool)

    def type(self, dtype=None):
        """``x.type()`` is the legacy type name (``'juanji.FloatTensor'``); ``x.type(juanji.LongTensor)``,
        ``x.type('torch.LongTensor')`` or ``x.type(juanji.int64)`` converts."""
        if dtype is None:
            return "juanji." + LEGACY_TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            by_name = {v: k for k, v in LEGACY_TYPE_NAMES.items()}
            dtype = by_name[dtype.split(".")[-1]]
        elif isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), dt.dtype):
            dtype = dtype.dtype  # juanji.LongTensor and friends
        return self._cast(dt.to_dtype(dtype))

    def type_as(self, other: "Tensor") -> "Tensor":
        return self._cast(other.dtype)

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    # ---------------------------------------------------------------- autograd
    def detach(self) -> "Tensor":
        return Tensor._from_array(self._data)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self, memory_format=None) -> "Tensor":
        if self.requires_grad and _state.enabled:
            return S.Clone.apply(self, self._data.shape)._own()
        return Tensor._from_array(self._data.copy())

    def _own(self) -> "Tensor":
        """Give this (fresh, non-leaf) tensor its own memory."""
        self._data = self._data.copy()
        return self

    def contiguous(self, memory_format=None) -> "Tensor":
        if self._data.flags.c_contiguous:
            return self
        return self.clone()

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            self.grad_fn._retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn.__dict__.get("_retained") is not None

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        holder = self.grad_fn if self.grad_fn is not None else self
        hooks = holder.__dict__.setdefault("_hooks", {})

        def on_grad(grad):  # the engine works on arrays; the user's hook sees a Tensor
            res = hook(Tensor._from_array(grad))
            return None if res is None else res._data
        handle = RemovableHandle(hooks)
        hooks[handle.id] = on_grad
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` after a backward pass has added into this leaf's ``.grad`` (the hook
        may change ``self.grad`` in place; it returns None). Runs as soon as this leaf's gradient
        is complete, while the rest of the pass goes on, as in torch."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self.__dict__.setdefault("_post_accumulate_grad_hooks", {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): higher-order gradients are not supported by "
                                      "juanji (the backward pass records no graph)")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs "
                                   f"(this tensor has shape {list(self.shape)}; pass gradient=...)")
            g = xp_of(self._data).ones(self._data.shape, self._data.dtype)
        else:
            g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient, self._data.dtype)
            if g.shape != self._data.shape:
                raise RuntimeError(f"backward: gradient has shape {list(g.shape)} but the tensor has shape "
                                   f"{list(self.shape)}")
        if inputs is not None:
            from .autograd import grad as _grad
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            grads = _grad([self], inputs, [Tensor._from_array(g)], retain_graph=retain_graph, allow_unused=True)
            for t, gi in zip(inputs, grads):
                if gi is not None:
                    t.grad = gi if t.grad is None else t.grad + gi
            return
        run_backward([self], [g], retain_graph=bool(retain_graph))

    # ---------------------------------------------------------------- printing
    def __repr__(self) -> str:
        """torch's layout: ``tensor([[ 4.,  6.],\\n        [ 8., 10.]], requires_grad=True)``."""
        return _tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return repr(self)

    # ---------------------------------------------------------------- python protocol
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self):
        return _py_float(self.item())

    def __int__(self):
        return _py_int(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return _py_int(self.item())

    __hash__ = object.__hash__  # by identity, as torch's; needed here because _Comparisons defines __eq__

    def __reduce__(self):
        return (_rebuild, (self._host(), self.requires_grad))

    def __deepcopy__(self, memo):
        out = Tensor._from_array(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            out.grad = Tensor._from_array(self.grad._data.copy())
        memo[id(self)] = out
        return out


check_each_name_defined_once(Tensor)


def _rebuild(arr, requires_grad):
    """What unpickling calls (see ``__reduce__``); pickles name it ``juanji.tensor._rebuild``, so it stays here."""
    return Tensor._from_array(arr, requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Build a tensor by copying ``data`` (nested lists, scalars, NumPy arrays, tensors)."""
    t = Tensor._from_array(_copied_array(data, dtype, device))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or Tensor when it can."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype is dt.to_dtype(dtype)):
        return data
    d = dt.to_dtype(dtype) if dtype is not None else None
    return Tensor._from_array(_array_from_data(data, d))


def from_numpy(arr: np.ndarray) -> Tensor:
    """Share memory with a NumPy array (no copy)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    dt.from_numpy_dtype(arr.dtype)
    return Tensor._from_array(arr)
