"""Differentiable primitives.

``Op`` is juanji's own primitive: ``forward`` and ``backward`` work on raw arrays, so the
bookkeeping per call stays small (one object, one Tensor). ``Function`` is torch's user-facing
``torch.autograd.Function`` (static ``forward(ctx, ...)``/``backward(ctx, ...)`` on Tensors),
built on top of ``Op`` for code written against torch.

How the graph is wired: when an Op is recorded, it keeps one *edge* per positional input,
taken at that moment: the input's ``grad_fn`` (another Op) if it has one, the leaf's
``AccumulateGrad`` node if it is a leaf that requires grad, or None. Because edges point at
nodes rather than at Tensors, an in-place operation that later gives a Tensor a new
``grad_fn`` does not rewire the Ops that already used its old value (torch builds its graph
the same way).

How nodes are named: as torch names them, so printed tensors read the same
(``grad_fn=<MulBackward0>``). torch names a node after the overload of the operation that
made it: ``x.sum()`` is ``SumBackward0`` and ``x.sum(0)`` ``SumBackward1``, ``4.2 - x`` is
``RsubBackward1``. An Op's name (``type(grad_fn).__name__`` and ``grad_fn.name()``) is its
``node_name``, by default the class name + ``Backward0``; an Op computing several of torch's
overloads picks one per call, either at the call site (``Sum.variant("SumBackward1").apply``)
or in ``node_name_for``, which sees forward's arguments. The Python class keeps its own
``__qualname__`` (``Sum``): that is how the class prints, so it can be found in the code.
"""

from __future__ import annotations

import weakref

from .grad_mode import _state
from .tensor_base import TensorBase

__all__ = ["Op", "Function", "FunctionCtx", "AccumulateGrad", "grad_accumulator", "FREED_MESSAGE"]

# A tracer (juanji.onnx.export) sees every Op applied: ``_trace_hook(op, inputs, params, result)``
# after forward, with ``result`` what apply returns. None when no tracer runs: one check per call.
_trace_hook = None

# torch's error for a second backward through a freed node (see Op._release)
FREED_MESSAGE = ("Trying to backward through the graph a second time (or directly access saved tensors after "
                 "they have already been freed). Saved intermediate values of the graph are freed when you call "
                 ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                 "graph a second time or if you need to access saved tensors after calling backward.")


class AccumulateGrad:
    """The node of a leaf tensor that requires grad: where the gradients for ``variable`` meet.

    An Op's edge for such an input points here (as in torch's graph). The engine sums what
    arrives, and once every node that feeds it has run, runs the leaf's hooks
    (``register_hook``), adds the sum into ``variable.grad`` and runs its post-accumulate hooks
    (``register_post_accumulate_grad_hook``). A leaf has one such node while a graph that uses
    it lives (``grad_accumulator``): the node holds the leaf, the leaf only a weak reference to
    the node, as in torch, so no reference cycle keeps either alive.
    """

    __slots__ = ("variable", "__weakref__")

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def grad_accumulator(leaf) -> AccumulateGrad:
    """The leaf's AccumulateGrad node: the one a live graph already uses, else a new one."""
    ref = leaf.__dict__.get("_grad_accumulator")
    node = ref() if ref is not None else None
    if node is None or node.variable is not leaf:  # (a copy.copy of a leaf shares its __dict__)
        node = AccumulateGrad(leaf)
        leaf._grad_accumulator = weakref.ref(node)
    return node


class Op:
    """A node of the graph: one differentiable primitive applied once.

    Subclasses define ``forward(self, *arrays, **params) -> array`` (or a tuple whose first
    element is the differentiable output and the rest non-differentiable arrays) and
    ``backward(self, grad) -> tuple`` with one gradient (or None) per positional input.

    After recording, ``self.edges`` holds, per positional input, ``(target, shape, dtype)``
    (target: the input's Op, or the leaf's AccumulateGrad) or None when that input needs no gradient;
    shape and dtype let the engine sum a broadcast gradient back and cast it.
    """

    edges: tuple = ()
    needs_input_grad: tuple = ()
    _released = False

    # torch's name of the node (see the module docstring); None: the class name + "Backward0"
    node_name = None
    # optionally a staticmethod taking forward's arguments and returning torch's node name for
    # that call, for Ops that compute several of torch's overloads (Linear: AddmmBackward0 for a
    # batch of rows with a bias, MmBackward0 without)
    node_name_for = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__name__ = cls.__dict__.get("node_name") or cls.__qualname__.rsplit(".", 1)[-1] + "Backward0"
        if "_variants" not in cls.__dict__:
            cls._variants = {}

    @classmethod
    def variant(cls, node_name: str) -> type:
        """This Op under another of torch's node names (a subclass made once per name)."""
        found = cls._variants.get(node_name)
        if found is None:
            namespace = {"node_name": node_name, "node_name_for": None, "_variants": cls._variants,
                         "__module__": cls.__module__, "__qualname__": cls.__qualname__}
            found = cls._variants[node_name] = type(cls)(node_name, (cls,), namespace)
        return found

    @classmethod
    def apply(cls, *inputs, **params):
        """Run ``forward`` on the inputs' arrays and wrap the result in a tensor (made by
        ``_from_array`` of a tensor among the inputs: juanji.Tensor's, see tensor_base.py);
        record this node when grad mode is on and an input requires grad."""
        arrays = []
        needs = []
        record = False
        like = None  # a tensor among the inputs: its _from_array makes the result
        for t in inputs:
            if isinstance(t, TensorBase):
                like = t
                arrays.append(t._data)
                r = t.requires_grad
                needs.append(r)
                record = record or r
            else:
                arrays.append(t)
                needs.append(False)
        if like is None:
            raise TypeError(f"{cls.__qualname__}.apply: expected at least one tensor among the inputs, got "
                            f"({', '.join(type(t).__name__ for t in inputs)})")
        record = record and _state.enabled
        if record and cls.node_name_for is not None:
            cls = cls.variant(cls.node_name_for(*arrays, **params))
        op = cls()
        op.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        out = op.forward(*arrays, **params)
        wrap = like._from_array
        if out.__class__ is tuple:
            main = wrap(out[0])
            extras = tuple(wrap(a) for a in out[1:])
        else:
            main = wrap(out)
            extras = None
        if record:
            edges = []
            for t, need in zip(inputs, needs):
                if need:
                    fn = t.grad_fn
                    edges.append((fn if fn is not None else grad_accumulator(t), t._data.shape, t._data.dtype))
                else:
                    edges.append(None)
            op.edges = tuple(edges)
            main.requires_grad = True
            main.grad_fn = op
        result = main if extras is None else (main,) + extras
        if _trace_hook is not None:
            _trace_hook(op, inputs, params, result)
        return result

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    # torch exposes these names on grad_fn
    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self):
        """``((node, 0), ...)`` per input: its Op, the AccumulateGrad of a leaf, or None."""
        return tuple((None if e is None else e[0], 0) for e in self.edges)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def _release(self) -> None:
        """Free what forward saved (called after a backward without retain_graph)."""
        keep = {"edges": self.edges, "needs_input_grad": self.needs_input_grad}
        for name in ("_hooks", "_retained"):
            if name in self.__dict__:
                keep[name] = self.__dict__[name]
        self.__dict__.clear()
        self.__dict__.update(keep)
        self._released = True


class FunctionCtx:
    """The ``ctx`` of a user-defined Function: ``save_for_backward``, ``saved_tensors``,
    ``needs_input_grad``, ``mark_non_differentiable``, ``set_materialize_grads``, and free
    attributes."""

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if getattr(self, "_freed", False):
            raise RuntimeError(FREED_MESSAGE)
        return getattr(self, "_saved", ())

    def mark_non_differentiable(self, *tensors):
        self._non_diff = tensors

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        self._materialize = bool(value)


class _FunctionOp(Op):
    """Adapter running a user Function's Tensor-level backward inside the engine.

    Each Function subclass gets its own subclass of this one, named as torch names it:
    ``MyFn`` -> ``juanji.autograd.function.MyFnBackward`` (``MyFn._backward_cls``).
    """

    fn_cls = None
    ctx = None
    n_outputs = 1
    wrap = None  # the outputs' _from_array, to hand the gradients to the user's backward as tensors

    def backward(self, grad):
        from .grad_mode import no_grad
        wrap = self.wrap
        grads_in = [wrap(grad)]
        if self.n_outputs > 1:  # only the first output is differentiable in juanji's Functions
            grads_in += [None if not getattr(self.ctx, "_materialize", True) else
                         wrap(_zeros_like(grad, shape)) for shape in self.other_shapes]
        with no_grad():
            grads = self.fn_cls.backward(self.ctx, *grads_in)
        if not isinstance(grads, tuple):
            grads = (grads,)
        n = len(self.edges)
        if len(grads) < n:
            raise RuntimeError(f"function {self.fn_cls.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {n}, got {len(grads)})")
        out = []
        for g in grads[:n]:
            out.append(None if g is None else (g._data if isinstance(g, TensorBase) else g))
        return tuple(out)

    def __repr__(self) -> str:
        return object.__repr__(self)  # torch: <torch.autograd.function.MyFnBackward object at 0x...>

    def _release(self) -> None:
        ctx = self.ctx
        super()._release()
        if ctx is not None:
            ctx._freed = True
            ctx.__dict__.pop("_saved", None)


def _zeros_like(grad, shape):
    from ..backend import xp_of
    return xp_of(grad).zeros(shape, grad.dtype)


class Function:
    """torch.autograd.Function: subclass with static ``forward(ctx, *args)`` and
    ``backward(ctx, *grad_outputs)``, then call ``MyFn.apply(*args)``.

    ``backward`` returns one gradient per argument of ``forward`` (None for non-tensors or
    inputs that need none). Example::

        class Square(juanji.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g

    If forward returns several tensors, the first one that is not marked non-differentiable
    carries the gradient (juanji's engine has one gradient per node).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__name__ + "Backward"
        cls._backward_cls = type(_FunctionOp)(name, (_FunctionOp,), {
            "fn_cls": cls, "node_name": name, "__module__": __name__, "__qualname__": name})

    @classmethod
    def apply(cls, *args, **kwargs):
        from .grad_mode import no_grad
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, TensorBase) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        record = _state.enabled and any(ctx.needs_input_grad)
        if not record:
            return out
        op = cls._backward_cls()
        op.ctx = ctx
        op.needs_input_grad = ctx.needs_input_grad
        edges = []
        for a, need in zip(args, ctx.needs_input_grad):
            if need:
                edges.append((a.grad_fn if a.grad_fn is not None else grad_accumulator(a), a._data.shape,
                              a._data.dtype))
            else:
                edges.append(None)
        op.edges = tuple(edges)
        outs = out if isinstance(out, tuple) else (out,)
        non_diff = {id(t) for t in getattr(ctx, "_non_diff", ())}
        results = []
        chosen = False
        others = []
        for o in outs:
            if isinstance(o, TensorBase):
                fresh = o._from_array(o._data)  # a new node output, like torch's output rebase
                if not chosen and id(o) not in non_diff and o.dtype.is_floating_point:
                    fresh.requires_grad = True
                    fresh.grad_fn = op
                    op.wrap = o._from_array
                    chosen = True
                else:
                    others.append(o._data.shape)
                results.append(fresh)
            else:
                results.append(o)
        op.n_outputs = 1 + len(others)
        op.other_shapes = others
        return tuple(results) if isinstance(out, tuple) else results[0]

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError
