"""``summary(model, input_size)``: a model's layers as a table, from one forward pass.

For every module call, in the order the calls happen: the module's path in the model (the name
``state_dict`` keys start with), its type, its output shape, its parameters (trainable and
not), its MACs and FLOPs (conventions in ``juanji.explain.flops``) and, for convolution and
pooling layers and for blocks, the receptive field of its units (``juanji.explain.receptive_field``).
Then the totals, and an estimate of the memory one forward pass needs.

    >>> import juanji
    >>> from juanji import nn
    >>> from juanji.explain import summary
    >>> model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    ...                       nn.Flatten(), nn.Linear(6 * 14 * 14, 10))
    >>> s = summary(model, (1, 28, 28))
    >>> s.rows[0]["output_shape"], s.rows[0]["params"], s.rows[0]["macs"]
    ([1, 6, 28, 28], 156, 117600)
    >>> s.totals["params"]
    11926

``str(s)`` is a plain-text table, ``s.print()`` (or ``rich.print(s)``) draws it with rich, and
``s.rows`` / ``s.totals`` hold the numbers as dicts.

How it works: forward pre-hooks and hooks on every module record each call (``_trace.py``);
the model runs once in eval mode (so batch norm uses, and does not update, its running
statistics, and dropout is off) on zeros, then the hooks are removed and the training flags
restored. Nothing else about the model changes, and no random numbers are drawn.
"""

from __future__ import annotations

from .. import _dtype, creation
from ..autograd import enable_grad
from ..tensor import Tensor
from . import table
from ._trace import Tracer
from .receptive_field import ReceptiveField
from .windows import window_of

__all__ = ["summary", "ModelSummary"]


class ModelSummary:
    """The result of :func:`summary`.

    Attributes:
        rows: one dict per module call, in call order, with keys ``name``, ``type``, ``depth``
            (1 for the model's children), ``call`` (1, or 2.. when a module runs again),
            ``leaf`` (no child modules), ``input_shape``, ``output_shape``, ``output_shapes``,
            ``params``, ``trainable_params``, ``non_trainable_params`` (the module's own, on its
            first call), ``macs``, ``flops`` (None where unknown, and for blocks, whose
            children hold the work), ``receptive_field`` (dict of ``size``, ``jump``,
            ``start`` tuples, or None) and ``output_bytes``.
        totals: ``params``, ``trainable_params``, ``non_trainable_params`` (every parameter of
            the model, once), ``macs``, ``flops`` (sum over the layers), ``unknown_cost``
            (names of layers whose cost is not known), ``input_bytes``, ``param_bytes``,
            ``buffer_bytes``, ``activation_bytes`` (the layers' new outputs, which training
            keeps for backward), ``total_bytes`` (their sum) and ``receptive_field`` (of the
            model's output, as in the rows; None when it has none, e.g. after a Linear layer).
        model_name, input_shapes, dtype: what was run.
        depth, columns: what the tables show (see :func:`summary`); ``rows`` always holds every call.
    """

    def __init__(self, model_name: str, input_shapes: list, dtype, rows: list, totals: dict, depth=None,
                 columns=None):
        self.model_name = model_name
        self.input_shapes = input_shapes
        self.dtype = dtype
        self.rows = rows
        self.totals = totals
        self.depth = depth
        self.columns = table.check_columns(columns)
        if depth is not None and (not isinstance(depth, int) or depth < 1):
            raise ValueError(f"summary: depth must be a positive int (1: the model's children), got {depth!r}")

    def __str__(self) -> str:
        return table.plain_text(self)

    __repr__ = __str__

    def __rich__(self):
        return table.rich_renderable(self)

    def print(self, console=None) -> None:
        """Draw the table with rich (on ``console``, default a new one on stdout)."""
        table.print_rich(self, console)


# -- checking and building the input ----------------------------------------------------------

def _check_size(size) -> tuple:
    if isinstance(size, int) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                        for v in size) or len(size) == 0:
        raise ValueError("summary: input_size must be a tuple of positive ints for one sample, without the "
                         f"batch dim, e.g. (1, 28, 28), got {size!r}")
    return tuple(size)


def _input_sizes(input_size) -> list:
    """One size per model input: a tuple of ints, or a list of them for several inputs."""
    if isinstance(input_size, (tuple, list)) and input_size and all(isinstance(s, (tuple, list)) for s in input_size):
        return [_check_size(s) for s in input_size]
    if not isinstance(input_size, (tuple, list)):
        raise ValueError("summary: input_size must be a tuple of positive ints for one sample, without the "
                         f"batch dim, e.g. (1, 28, 28), got {input_size!r}")
    return [_check_size(input_size)]


def _model_dtype_and_device(model):
    """The dtype and device of the model's first floating-point parameter (the input must
    match them), else the default dtype on the CPU."""
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return p.dtype, p.device
    return _dtype.get_default_dtype(), None


def _inputs(model, input_size, input_data, batch_size, dtype) -> list:
    if input_data is not None:
        data = [input_data] if isinstance(input_data, Tensor) else list(input_data)
        if not data or not all(isinstance(t, Tensor) for t in data):
            raise TypeError("summary: input_data must be a Tensor or a list of Tensors, got "
                            f"{type(input_data).__name__}")
        return [t.detach() for t in data]
    if input_size is None:
        raise ValueError("summary: give input_size (one sample's shape, e.g. (1, 28, 28)) or input_data")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive int, got {batch_size!r}")
    model_dtype, device = _model_dtype_and_device(model)
    dtype = dtype if dtype is not None else model_dtype
    return [creation.zeros((batch_size,) + size, dtype=dtype, device=device) for size in _input_sizes(input_size)]


# -- running and tabulating -------------------------------------------------------------------

def _run(model, inputs, tracer: Tracer):
    """One forward pass with the tracer's hooks, in eval mode, recording the graph (which the
    receptive fields follow); the training flags are restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with enable_grad(), tracer:
            traced = []
            for t in inputs:
                if t.dtype.is_floating_point:
                    # a non-leaf copy: the graph starts here, and in-place layers may write to it
                    t = t.requires_grad_(True).clone()
                tracer.register(t, ReceptiveField.of_input(len(t.shape) - 2) if t.dim() > 2 else None)
                traced.append(t)
            try:
                model(*traced)
            except Exception as error:
                where = tracer.current
                place = (f"in layer {where.name!r} ({type(where.module).__name__}) on input "
                         f"{where.input_shapes[0] if where.input_shapes else '?'}" if where is not None else "")
                shapes = ", ".join(str(list(t.shape)) for t in inputs)
                error.add_note(f"summary: the forward pass of {type(model).__name__} on input {shapes} failed "
                               f"{place}; input_size is one sample's shape without the batch dim")
                raise
    finally:
        for module, mode in modes:
            module.training = mode


def _own_params(module) -> tuple:
    trainable = frozen = 0
    for p in module.parameters(recurse=False):
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
    return trainable, frozen


def _row(call) -> dict:
    module = call.module
    leaf = not any(True for _ in module.children())
    trainable, frozen = _own_params(module) if call.call == 1 else (0, 0)
    cost = call.cost
    shows_field = window_of(module) is not None or not leaf
    return {
        "name": call.name,
        "type": type(module).__name__,
        "depth": call.depth,
        "call": call.call,
        "leaf": leaf,
        "input_shape": call.input_shapes[0] if call.input_shapes else None,
        "output_shape": call.output_shapes[0] if call.output_shapes else None,
        "output_shapes": call.output_shapes,
        "params": trainable + frozen,
        "trainable_params": trainable,
        "non_trainable_params": frozen,
        "macs": cost.macs if cost is not None else None,
        "flops": cost.flops if cost is not None else None,
        "receptive_field": call.field.as_dict() if shows_field and call.field is not None else None,
        "output_bytes": call.output_bytes,
    }


def _totals(model, inputs, rows, root_field) -> dict:
    params = list(model.parameters())   # each parameter once, shared or not
    trainable = sum(p.numel() for p in params if p.requires_grad)
    frozen = sum(p.numel() for p in params if not p.requires_grad)
    leaves = [r for r in rows if r["leaf"]]
    totals = {
        "params": trainable + frozen,
        "trainable_params": trainable,
        "non_trainable_params": frozen,
        "macs": sum(r["macs"] for r in leaves if r["macs"] is not None),
        "flops": sum(r["flops"] for r in leaves if r["flops"] is not None),
        "unknown_cost": [r["name"] for r in leaves if r["flops"] is None],
        "input_bytes": sum(t.numel() * t.element_size() for t in inputs),
        "param_bytes": sum(p.numel() * p.element_size() for p in params),
        "buffer_bytes": sum(b.numel() * b.element_size() for b in model.buffers()),
        "activation_bytes": sum(r["output_bytes"] for r in leaves),
        "receptive_field": root_field.as_dict() if root_field is not None else None,
    }
    totals["total_bytes"] = (totals["input_bytes"] + totals["param_bytes"] + totals["buffer_bytes"]
                             + totals["activation_bytes"])
    return totals


def summary(model, input_size=None, dtype=None, batch_size: int = 1, input_data=None, depth=None,
            columns=None) -> ModelSummary:
    """Run ``model`` once on zeros and tabulate its layers (see the module docstring).

    Args:
        model: an ``nn.Module``.
        input_size: one sample's shape without the batch dim, e.g. ``(1, 28, 28)``; a list of
            shapes for a model with several inputs.
        dtype: the input's dtype (default: that of the model's parameters; not used with
            ``input_data``). The input is made on the parameters' device.
        batch_size: samples per forward pass (default 1); shapes, MACs, FLOPs and activation
            memory scale with it.
        input_data: a Tensor (or list of Tensors) to run instead of zeros, batch dim included.
        depth: show the modules down to this depth (1: the model's children; torchinfo's
            ``depth``); a block at the limit then shows its descendants' MACs and FLOPs.
            Default: every depth. The totals are the whole model's either way.
        columns: which columns to show after Layer and Type, from ``table.COLUMNS``
            (``input``, ``output``, ``params``, ``frozen``, ``macs``, ``flops``, ``rf``,
            ``memory``), like torchinfo's ``col_names``. Default: output, params, (frozen),
            macs, flops, rf.

    Returns:
        A :class:`ModelSummary`: ``str()`` gives a plain-text table, ``.print()`` a rich one,
        ``.rows`` and ``.totals`` the numbers.
    """
    from ..nn import Module

    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    inputs = _inputs(model, input_size, input_data, batch_size, dtype)
    tracer = Tracer(model)
    _run(model, inputs, tracer)
    calls = [c for c in tracer.calls if c.depth >= 1] or tracer.calls   # a bare layer is its own row
    rows = [_row(c) for c in calls]
    if calls is tracer.calls and rows:
        rows[0]["depth"] = 1
    root_field = tracer.calls[0].field if tracer.calls else None
    return ModelSummary(type(model).__name__, [list(t.shape) for t in inputs], inputs[0].dtype, rows,
                        _totals(model, inputs, rows, root_field), depth=depth, columns=columns)
