"""Differentiable primitives.

``Op`` is juanji's own primitive: ``forward`` and ``backward`` work on raw arrays, so the
bookkeeping per call stays small (one object, one Tensor). ``Function`` is torch's user-facing
``torch.autograd.Function`` (static ``forward(ctx, ...)``/``backward(ctx, ...)`` on Tensors),
built on top of ``Op`` for code written against torch.
"""

from __future__ import annotations

from .grad_mode import _state

__all__ = ["Op", "Function", "FunctionCtx"]


class Op:
    """A node of the graph: one differentiable primitive applied once.

    Subclasses define ``forward(self, *arrays, **params) -> array`` (or a tuple whose first
    element is the differentiable output and the rest non-differentiable arrays) and
    ``backward(self, grad) -> tuple`` with one gradient (or None) per positional input.
    """

    inputs: tuple = ()
    needs_input_grad: tuple = ()
    _released = False

    @classmethod
    def apply(cls, *inputs, **params):
        from ..tensor import Tensor
        op = cls()
        arrays = []
        needs = []
        record = False
        for t in inputs:
            if t.__class__ is Tensor or isinstance(t, Tensor):
                arrays.append(t._data)
                r = t.requires_grad
                needs.append(r)
                record = record or r
            else:
                arrays.append(t)
                needs.append(False)
        record = record and _state.enabled
        op.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        out = op.forward(*arrays, **params)
        if out.__class__ is tuple:
            main = Tensor._from_array(out[0])
            extras = tuple(Tensor._from_array(a) for a in out[1:])
        else:
            main = Tensor._from_array(out)
            extras = None
        if record:
            op.inputs = inputs
            main.requires_grad = True
            main.grad_fn = op
        return main if extras is None else (main,) + extras

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    # torch exposes these names on grad_fn
    def name(self) -> str:
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self):
        return tuple((getattr(t, "grad_fn", None), 0) for t in self.inputs)

    def __repr__(self) -> str:
        return f"<{self.name()} object>"

    def _release(self) -> None:
        """Free what forward saved (called after a backward without retain_graph)."""
        keep = {"inputs": self.inputs, "needs_input_grad": self.needs_input_grad}
        hooks = self.__dict__.get("_hooks")
        self.__dict__.clear()
        self.__dict__.update(keep)
        if hooks:
            self._hooks = hooks
        self._released = True


class FunctionCtx:
    """The ``ctx`` of a user-defined Function: ``save_for_backward``, ``saved_tensors``,
    ``needs_input_grad``, ``mark_non_differentiable``, and free attributes."""

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        return getattr(self, "_saved", ())

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool):
        self._materialize = value


class _FunctionOp(Op):
    """Adapter running a user Function's Tensor-level forward/backward inside the engine."""

    fn_cls = None

    def backward(self, grad):
        from ..tensor import Tensor
        from .grad_mode import no_grad
        with no_grad():
            grads = self.fn_cls.backward(self.ctx, Tensor._from_array(grad))
        if not isinstance(grads, tuple):
            grads = (grads,)
        out = []
        for g in grads[: len(self.inputs)]:
            out.append(None if g is None else (g._data if isinstance(g, Tensor) else g))
        out += [None] * (len(self.inputs) - len(out))
        return tuple(out)

    def name(self) -> str:
        return self.fn_cls.__name__ + "Backward"


class Function:
    """torch.autograd.Function: subclass with static ``forward(ctx, *args)`` and
    ``backward(ctx, *grad_outputs)``, then call ``MyFn.apply(*args)``.

    Example::

        class Square(juanji.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
    """

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        from .grad_mode import no_grad
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        record = _state.enabled and any(ctx.needs_input_grad)
        if not record:
            return out
        op = _FunctionOp()
        op.fn_cls = cls
        op.ctx = ctx
        op.inputs = args
        op.needs_input_grad = ctx.needs_input_grad
        outs = out if isinstance(out, tuple) else (out,)
        non_diff = {id(t) for t in getattr(ctx, "_non_diff", ())}
        first = True
        results = []
        for o in outs:
            if isinstance(o, Tensor):
                o = Tensor._from_array(o._data)  # a fresh node output, like torch's view/rebase
                if first and id(outs[len(results)]) not in non_diff and o.dtype.is_floating_point:
                    o.requires_grad = True
                    o.grad_fn = op
                    first = False
            results.append(o)
        return tuple(results) if isinstance(out, tuple) else results[0]

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError
