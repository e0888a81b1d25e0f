"""In-place methods (``add_``, ``mul_``, ``zero_``, ``fill_``, ``copy_``, ``clamp_``, ``exp_``, ...,
``unsqueeze_``, ``t_``, ``resize_``, ``apply_``) and how an in-place change is recorded.

Outside autograd an in-place method writes into the tensor's memory, so its views see the
change. While a graph is recorded it computes the result out of place and the tensor takes over
the result's array and history (``_inplace``, ``_rebind``); a view made by indexing writes
through to the tensor it views. torch's refusals are kept: a leaf that requires grad (or a view
of one) cannot be changed in place while recording.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd import recompute
from ..autograd.grad_mode import _state
from ..autograd.tensor_base import TensorBase
from ..backend import xp_of
from ..kernels import pointwise as _pointwise
from ..ops import elementwise as E
from ..ops import shape as S
from .arguments import _SCALARS, _dim, _py_float, _sizes, numpy_aliases
from .binary import _to_operand

__all__ = ["_InPlace", "_write", "inplace_watchers", "writes_directly"]

# How many observers watch every in-place write through ``Tensor._inplace`` (``juanji.compile``'s
# capture): while any does, shortcuts that write into a tensor without it (the in-place activations
# outside autograd, ``nn.functional.activation``) take the general path, so each write is seen.
inplace_watchers = [0]


def writes_directly(tensor) -> bool:
    """Whether an in-place elementwise kernel may write its result straight into ``tensor``'s memory:
    nothing is recorded (grad mode off, or a tensor that needs no gradient), no capture watches the
    in-place writes (``inplace_watchers``), and the kernel takes the array as its own output
    (``pointwise.writes_in_place``). The one rule of ``Tensor.relu_`` and the in-place activations.
    When it says yes, the array's recompute recipe is forgotten (the caller is about to write it)."""
    if (not (_state.enabled and tensor.requires_grad) and not inplace_watchers[0]
            and _pointwise.writes_in_place(tensor._data)):
        recompute.forget(tensor._data)
        return True
    return False

# torch names a node after the overload that made it (see juanji/autograd/function.py)
_FILL = E.ZeroGrad.variant("FillBackward2")                 # in-place writes that forget the old value
_ZERO = E.ZeroGrad.variant("ZeroBackward0")
_COPY_CONSTANT = E.ZeroGrad.variant("CopyBackwards")
_COPY_TENSOR = E.Where.variant("CopyBackwards")             # copy_ of a tensor that requires grad


def _write(arr, index, value) -> None:
    """``arr[index] = value`` with torch's error for tensors whose elements share memory."""
    recompute.forget(arr)  # (its values change: a recipe no longer tells them)
    try:
        arr[index] = value
    except ValueError as e:
        if "read-only" in str(e):
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                               "a single memory location. Please clone() the tensor before performing the "
                               "operation.") from None
        raise


class _InPlace:
    """Tensor methods: in-place changes, and the recording of them under autograd."""

    def _check_inplace_allowed(self) -> None:
        """torch refuses in-place changes, while recording, to a leaf that requires grad or a view of one."""
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        view = self.__dict__.get("_view_of")
        while view is not None:
            base = view[0]
            if base.requires_grad and base.grad_fn is None:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
            view = base.__dict__.get("_view_of")

    def _rebind(self, result: "Tensor") -> "Tensor":
        """An in-place op while recording: this tensor takes over the result's array and history.

        The Ops that already used this tensor keep its old value (their edges point at the old
        node). If this tensor is a view made by basic indexing, the result is written through to
        the tensor it views (recorded there too) and this view is taken again from it, so both
        see the change, as in torch.
        """
        view = self.__dict__.get("_view_of")
        if view is not None:
            base, index = view
            base[index] = result
            fresh = base[index]
            self._data, self.grad_fn, self.requires_grad = fresh._data, fresh.grad_fn, fresh.requires_grad
            return self
        self._data = result._data
        self.grad_fn = result.grad_fn
        self.requires_grad = result.requires_grad
        return self

    def _inplace(self, result: "Tensor") -> "Tensor":
        """Make ``result`` (computed out of place from self) the new value of self.

        Without a graph being recorded the values are written into self's memory, so views of
        self see them. While recording, self takes over the result's array and history (see
        ``_rebind``).
        """
        if result.shape != self.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        if not dt.can_cast(result.dtype, self.dtype):
            raise RuntimeError(f"result type {result.dtype.scalar_name} can't be cast to the desired output type "
                               f"{self.dtype.scalar_name}")
        if _state.enabled and (self.requires_grad or result.requires_grad):
            self._check_inplace_allowed()
            if result.dtype is not self.dtype:
                result = result._cast(self.dtype)
            return self._rebind(result)
        _write(self._data, Ellipsis, result._data)
        return self

    def _fast_inplace(self, ufunc, other) -> bool:
        """Apply ``ufunc(self, other, out=self)`` directly when nothing is recorded (the hot path
        of optimisers and ``w.data -= ...``). Returns False when the general path is needed."""
        if _state.enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return False
        o = other._data if isinstance(other, TensorBase) else other
        if isinstance(o, (np.ndarray,)) or hasattr(o, "shape"):
            if o.dtype != self._data.dtype and (o.dtype.kind == "f") != (self._data.dtype.kind == "f"):
                return False
            if np.broadcast_shapes(o.shape, self._data.shape) != self._data.shape:
                return False
        elif not isinstance(o, _SCALARS) or (isinstance(o, _py_float) and self._data.dtype.kind != "f"):
            return False
        recompute.forget(self._data)
        ufunc(self._data, o, out=self._data, casting="unsafe")
        return True

    def add_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        if self._fast_inplace(np.add, other):
            return self
        return self._inplace(self + other)

    def sub_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        if self._fast_inplace(np.subtract, other):
            return self
        return self._inplace(self - other)

    def mul_(self, other):
        if self._fast_inplace(np.multiply, other):
            return self
        return self._inplace(self * other)

    def div_(self, other, rounding_mode=None):
        if rounding_mode is None and self.dtype.is_floating_point and self._fast_inplace(np.true_divide, other):
            return self
        return self._inplace(self.div(other, rounding_mode=rounding_mode))

    def pow_(self, exponent):
        return self._inplace(self ** exponent)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def zero_(self):
        """Set every element to 0 in place."""
        return self._fill(0, _ZERO)

    def fill_(self, value):
        """Set every element to ``value`` in place (under autograd: no gradient flows to the old value)."""
        return self._fill(value, _FILL)

    def _fill(self, value, node):
        if isinstance(value, TensorBase):
            value = value.item()
        if _state.enabled and self.requires_grad:
            self._check_inplace_allowed()
            xp = xp_of(self._data)
            return self._rebind(node.apply(self, lambda a: xp.full(a.shape, value, a.dtype)))
        _write(self._data, Ellipsis, value)
        return self

    def copy_(self, src, non_blocking=False):
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor in place."""
        src = _to_operand(src, self)
        if not isinstance(src, TensorBase):
            src = self.new_tensor(src)
        if _state.enabled and (self.requires_grad or src.requires_grad):
            self._check_inplace_allowed()
            result = src._cast(self.dtype)
            if result.shape != self.shape:
                result = result.expand(self.shape)
            if result.requires_grad:
                # a copy of src's value and history (never src's own memory); the old value of
                # self gets a zero gradient, as in torch: "where everywhere, src, else self"
                everywhere = xp_of(self._data).ones((), dtype=bool)
                return self._rebind(_COPY_TENSOR.apply(everywhere, result, self))
            # a constant src: the old value of self gets a zero gradient, and self keeps requiring grad
            value = result._data
            return self._rebind(_COPY_CONSTANT.apply(self, lambda a: value.copy()))
        arr = src._data
        if xp_of(arr) is not xp_of(self._data):
            arr = xp_of(self._data).asarray(arr) if xp_of(self._data) is not np else arr.get()
        try:
            _write(self._data, Ellipsis, arr)
        except ValueError:
            raise RuntimeError(f"copy_: the source of shape {list(src.shape)} cannot be broadcast to the "
                               f"destination of shape {list(self.shape)}") from None
        return self

    def clamp_(self, min=None, max=None):
        return self._inplace(self.clamp(min, max))

    clip_ = clamp_

    def clamp_min_(self, min):
        return self._inplace(self.clamp(min=min))

    def clamp_max_(self, max):
        return self._inplace(self.clamp(max=max))

    def sign_(self):
        return self._inplace(self.sign())

    def ceil_(self):
        return self._inplace(self.ceil())

    def trunc_(self):
        return self._inplace(self.trunc())

    def reciprocal_(self):
        return self._inplace(self.reciprocal())

    def rsqrt_(self):
        return self._inplace(self.rsqrt())

    def sin_(self):
        return self._inplace(self.sin())

    def cos_(self):
        return self._inplace(self.cos())

    def square_(self):
        return self._inplace(self.square())

    def log1p_(self):
        return self._inplace(self.log1p())

    def neg_(self):
        return self._inplace(-self)

    def abs_(self):
        return self._inplace(self.abs())

    def exp_(self):
        return self._inplace(self.exp())

    def log_(self):
        return self._inplace(self.log())

    def sqrt_(self):
        return self._inplace(self.sqrt())

    def relu_(self):
        if writes_directly(self):  # nothing recorded: straight into this memory
            _pointwise.relu(self._data, out=self._data)
            return self
        return self._inplace(self.relu())

    def sigmoid_(self):
        return self._inplace(self.sigmoid())

    def tanh_(self):
        return self._inplace(self.tanh())

    def floor_(self):
        return self._inplace(self.floor())

    def round_(self):
        return self._inplace(self.round())

    def lerp_(self, end, weight):
        return self._inplace(self.lerp(end, weight))

    def addcmul_(self, t1, t2, value=1):
        return self._inplace(self + value * t1 * t2)

    def addcdiv_(self, t1, t2, value=1):
        return self._inplace(self + value * t1 / t2)

    @numpy_aliases
    def unsqueeze_(self, dim):
        d = _dim(dim, self.ndim + 1)
        shape = self._data.shape
        return self._reshape_in_place(shape[:d] + (1,) + shape[d:], S.UnsqueezeInPlace)

    @numpy_aliases
    def squeeze_(self, dim=None):
        if dim is None:
            node = S.SqueezeAllInPlace
        else:
            node = S.SqueezeDimsInPlace if isinstance(dim, (tuple, list)) else S.SqueezeDimInPlace
        return self._reshape_in_place(self.squeeze(dim)._data.shape, node)

    def _reshape_in_place(self, shape, node):
        """A new shape for this tensor itself; while recording, as the ``node`` (torch's in-place
        overload) taking over this tensor's history, so the gradient flows back in the old shape."""
        if _state.enabled and self.requires_grad:
            self._check_inplace_allowed()
            result = node.apply(self, shape)
            self._data, self.grad_fn = result._data, result.grad_fn
            return self
        self._data = self._data.reshape(shape)
        return self

    def t_(self):
        if self._data.ndim > 2:
            raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        if _state.enabled and self.requires_grad and self._data.ndim == 2:
            self._check_inplace_allowed()
            result = S.TInPlace.apply(self, (1, 0))
            self._data, self.grad_fn = result._data, result.grad_fn
            return self
        self._data = self._data.T
        return self

    def resize_(self, *sizes):
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        self._data = xp_of(self._data).resize(self._data, _sizes(sizes))
        return self

    def apply_(self, fn):
        recompute.forget(self._data)
        self._data[...] = np.vectorize(fn)(self._data)
        return self
