"""torch.optim.Optimizer: parameter groups, per-parameter state, ``zero_grad``, ``step`` and
``state_dict`` / ``load_state_dict`` in PyTorch's layout.

An optimiser holds a list of *parameter groups*. Each group is a dict with the key ``'params'``
(a list of tensors) and one entry per hyper-parameter (``'lr'``, ``'momentum'``, ...); a value
missing from a group is taken from ``defaults``. Per-parameter state (momentum buffers, moment
estimates, step counts) lives in ``optimizer.state[param]``.

    >>> import juanji as torch
    >>> w = torch.zeros(3, requires_grad=True)
    >>> b = torch.zeros(1, requires_grad=True)
    >>> opt = torch.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.5]

Speed: ``step()`` runs after every backward pass, so the concrete optimisers update the arrays
inside the tensors (``p._data``, ``p.grad._data``) in place with ufuncs and ``out=`` arguments.
Temporaries come from a small workspace of scratch arrays reused across parameters and steps
(:meth:`Optimizer._scratch`), so a step allocates nothing once the first one has run.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any

from .. import _dtype as dt
from ..autograd.grad_mode import enable_grad
from ..backend import xp_of
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must give (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return f"juanji.Tensor (dtype {obj.dtype.name}, shape {list(obj.shape)})"
    return type(obj).__name__


def _scalar(value):
    """A hyper-parameter as a Python number (a one-element Tensor is accepted, as in torch)."""
    return value.item() if isinstance(value, Tensor) else value


def _scalar_dtype() -> dt.dtype:
    """dtype of the ``step`` counters: float64 when that is the default dtype, else float32 (torch)."""
    return dt.float64 if dt.get_default_dtype() is dt.float64 else dt.float32


def _step_tensor(value: float = 0.0) -> Tensor:
    """A fresh 0-dim step counter, stored like torch's ``state['step']`` (a CPU float tensor)."""
    import numpy as np
    return Tensor._from_array(np.array(value, dtype=_scalar_dtype().np))


def _with_step_hooks(step_fn):
    """Wrap a class's ``step`` so that the optimiser's pre/post step hooks run around it."""

    @functools.wraps(step_fn)
    def step(self, *args, **kwargs):
        for hook in list(self._optimizer_step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"optimizer step pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result!r}")
                args, kwargs = result
        out = step_fn(self, *args, **kwargs)
        for hook in list(self._optimizer_step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    step._hooked = True
    return step


class Optimizer:
    """Base class of all optimisers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
            groups, each with a ``'params'`` entry and optional per-group hyper-parameters).
        defaults: the default value of every hyper-parameter, used where a group gives none.

    Subclasses implement :meth:`step`.
    """

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._workspace: dict = {}
        self._hook_step_function()

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")

        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"optimizer got an empty parameter list ({type(self).__name__} needs at least one "
                             "tensor to optimize, e.g. model.parameters())")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ pickling and printing
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_optimizer_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_optimizer_step_post_hooks", OrderedDict())
        self.__dict__.setdefault("_workspace", {})
        # groups saved by an older version may miss a hyper-parameter added since: use the default
        for group in self.param_groups:
            for name, default in self.defaults.items():
                if default is not required:
                    group.setdefault(name, default)
        self._hook_step_function()

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def _hook_step_function(self) -> None:
        cls = type(self)
        if not getattr(cls.step, "_hooked", False):
            cls.step = _with_step_hooks(cls.step)

    # ------------------------------------------------------------------ hooks
    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``, run before each step."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None``, run after each step."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ parameter groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (a dict with ``'params'``), e.g. to train more layers as fine-tuning goes on.

        Hyper-parameters the group does not give are taken from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError("param_group must have a 'params' entry (the tensors to optimize)")

        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)

        tensors, names = [], []
        for param in params:
            if isinstance(param, tuple):  # from named_parameters()
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(param)}")
            if not self.defaults.get("differentiable", None) and not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor (the optimizer updates tensors you created, "
                                 f"e.g. model parameters; got one computed by {type(param.grad_fn).__name__})")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(tensors) != len(set(tensors)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        already_present: set = set()
        for group in self.param_groups:
            already_present.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not already_present.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients and steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: ``p.grad = None`` (default) or fill them with zeros in place.

        With ``set_to_none=True`` a parameter that gets no gradient in the next backward keeps
        ``grad is None`` and the optimisers skip it, as torch's do.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad = False
                    arr = grad._data
                    if arr.flags.writeable:
                        arr[...] = 0
                    else:  # a read-only (e.g. broadcast) gradient array: give it fresh zeros
                        grad._data = xp_of(arr).zeros(arr.shape, dtype=arr.dtype)

    def step(self, closure=None):
        """Update the parameters once. ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure):
        """Run the closure of ``step(closure)`` with autograd on; return its loss (or None)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _scratch(self, like, slot: int = 0):
        """A reusable uninitialised array shaped like ``like``: per (shape, dtype, backend, slot)
        one buffer serves every parameter of that shape, so temporaries are allocated once."""
        key = (like.shape, like.dtype, type(like), slot)
        buf = self._workspace.get(key)
        if buf is None:
            buf = xp_of(like).empty(like.shape, dtype=like.dtype)
            self._workspace[key] = buf
        return buf

    def _effective_grad(self, param, grad, weight_decay: float, maximize: bool):
        """``g = (-grad if maximize else grad) + weight_decay * param`` as an array.

        Returns ``grad`` itself when nothing changes it (never written to), else scratch slot 0.
        """
        if not maximize and weight_decay == 0:
            return grad
        xp = xp_of(param)
        g = self._scratch(param, 0)
        source = grad
        if maximize:
            xp.negative(grad, out=g)
            source = g
        if weight_decay != 0:
            decay = self._scratch(param, 1)
            xp.multiply(param, weight_decay, out=decay)
            xp.add(source, decay, out=g)
        return g

    # ------------------------------------------------------------------ saving and loading
    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state in torch's layout::

            {'state': {0: {'momentum_buffer': tensor(...)}, 1: {...}},
             'param_groups': [{'lr': 0.01, ..., 'params': [0, 1]}, ...]}

        Parameters are numbered in the order they appear across the groups; the parameters
        themselves are not saved. Like torch, the state tensors are returned by reference.
        """
        index_of: dict[int, int] = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a :meth:`state_dict`: its groups must match this optimiser's in number and size.

        State tensors are copied (cast to each parameter's dtype, except the ``step`` counters),
        so the loaded optimiser shares no memory with the dict.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' "
                             f"(from Optimizer.state_dict()), got {type(state_dict).__name__}")
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])

        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"(this optimizer has {len(groups)}, the state dict {len(saved_groups)})")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             f"optimizer's group (sizes {[len(g['params']) for g in groups]} here, "
                             f"{[len(s['params']) for s in saved_groups]} in the state dict)")

        param_of = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in groups)))

        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = {name: _copy_state_value(param, name, v) for name, v in value.items()}
            else:
                state[key] = value

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, s) for g, s in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})


def _copy_state_value(param: Tensor, key, value):
    """One entry of a parameter's saved state, copied for loading (torch's casting policy)."""
    if isinstance(value, Tensor):
        arr = value._data
        if key == "step":
            return Tensor._from_array(arr.copy())
        if param.is_floating_point():
            return Tensor._from_array(arr.astype(param._data.dtype, copy=True))
        return Tensor._from_array(arr.copy())
    if key == "step" and isinstance(value, (int, float)):
        return _step_tensor(float(value))  # old checkpoints kept the step as a number
    if isinstance(value, dict):
        return {k: _copy_state_value(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state_value(param, None, v) for v in value)
    return value
