"""``juanji.compile``: torch.compile's signature over capture-and-replay (see the package docstring)."""

from __future__ import annotations

import functools

import numpy as np

from ..autograd.grad_mode import _state
from ..random import default_generator
from ..nn.modules.module import Module
from .capture import Uncapturable, capture
from .graph import CompiledGraph, Runner

__all__ = ["compile", "CompiledModule", "CompiledFunction"]

MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
BACKENDS = ("inductor", "aot_eager", "eager", "juanji")

_capturing = [False]  # a capture is running: nested compiled calls run eagerly


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor", mode=None, options=None,
            disable: bool = False):
    """torch.compile: return ``model`` (a Module or a function) compiled for the shapes it meets.

    The first call with a new input signature runs eagerly and records the Ops it applies; the
    second runs the recording and checks it against an eager run (same result bit for bit, same
    buffers and random state afterwards); from the third on, calls with that signature replay
    the recording. A call that cannot be recorded (data-dependent Python code, hooks, a result
    that is not one Tensor, ...) runs eagerly from then on; with ``fullgraph=True`` it raises.

    ``backend``: "inductor" (the default) and "aot_eager"/"juanji" replay; "eager" always runs
    the original. ``mode``/``options``/``dynamic`` are accepted as torch takes them (a new
    shape is simply recorded again). ``disable=True`` returns ``model`` itself. Without
    ``model`` it returns a decorator.
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if mode is not None and mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(MODES)}")
    if isinstance(backend, str):
        if backend not in BACKENDS:
            raise RuntimeError(f"Invalid backend: {backend!r}, juanji.compile knows {', '.join(map(repr, BACKENDS))}")
    elif callable(backend):
        raise NotImplementedError("juanji.compile: custom backend callables (which receive an FX graph in torch) "
                                  "are not supported; use backend='inductor' or 'eager'")
    else:
        raise TypeError(f"compile: backend must be a string, got {type(backend).__name__}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"compile: options must be a dict, got {type(options).__name__}")
    settings = {"fullgraph": bool(fullgraph), "dynamic": dynamic, "backend": backend, "mode": mode,
                "options": options}
    if model is None:
        return lambda fn: compile(fn, disable=disable, **settings)
    if disable:
        return model
    if isinstance(model, Module):
        return CompiledModule(model, settings)
    if callable(model):
        return CompiledFunction(model, settings)
    raise RuntimeError(f"compile: expected a Module or a callable, got {type(model).__name__}")


# ------------------------------------------------------------------------------------------ guards
def _signature(args, kwargs):
    """Hashable description of a call: Tensors by shape, dtype and requires_grad; other values
    by value (or identity when unhashable); None when the arguments cannot be replayed."""
    from ..tensor import Tensor
    parts = []
    for value in list(args) + [v for _, v in sorted(kwargs.items())]:
        if isinstance(value, Tensor):
            parts.append(("T", value._data.shape, value._data.dtype.str, value.requires_grad))
        elif isinstance(value, (list, tuple, dict)):
            return None
        else:
            try:
                hash(value)
                parts.append(("V", type(value).__name__, value))
            except TypeError:
                parts.append(("I", id(value)))
    parts.append(tuple(sorted(kwargs)))
    parts.append(_state.enabled)
    return tuple(parts)


class _Entry:
    """One recorded graph for one signature, with what must still hold to replay it."""

    def __init__(self, graph, modules):
        self.graph = graph
        self.modules = modules
        self.training = tuple(m.training for m in modules)
        self.external_state = self._external_state()
        self._watch = self._watched()
        self.verified = False

    def _external_state(self):
        """Shapes, dtypes and requires_grad of the externals, and which Tensors the modules hold."""
        args = set(self.graph.arg_positions)
        tensors = tuple((t._data.shape, t._data.dtype.str, t.requires_grad)
                        for e, t in enumerate(self.graph.externals) if e not in args)
        held = tuple(id(t) for m in self.modules for t in list(m._parameters.values()) + list(m._buffers.values()))
        return tensors, held

    def _watched(self):
        """What :meth:`holds` compares at every call, by identity where it can: per module its
        flag, its parameter and buffer dicts and the Tensors in them; per external (not an argument)
        the Tensor, its array then and its requires_grad."""
        args = set(self.graph.arg_positions)
        modules = [(m, m.training, m._parameters, tuple(m._parameters.values()), m._buffers,
                    tuple(m._buffers.values())) for m in self.modules]
        externals = [[t, t._data, t.requires_grad] for e, t in enumerate(self.graph.externals) if e not in args]
        return modules, externals

    def state_tensors(self):
        """Everything a call may change: the externals and every module's parameters and buffers."""
        seen, out = set(), []
        for t in list(self.graph.externals) + [t for m in self.modules for t in
                                               list(m._parameters.values()) + list(m._buffers.values())]:
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        return out

    def holds(self) -> bool:
        """Whether the recording still applies: the same training flags, no hooks, the same Tensors
        held by the modules, and externals of the same shapes, dtypes and requires_grad. (Checked
        at every call: by identity first, a full comparison only where an array was replaced.)"""
        modules, externals = self._watch
        for m, training, parameters, held_parameters, buffers, held_buffers in modules:
            if (m.training != training or m._forward_pre_hooks or m._forward_hooks or m._backward_hooks
                    or m._backward_pre_hooks or m._parameters is not parameters or m._buffers is not buffers
                    or len(parameters) != len(held_parameters) or len(buffers) != len(held_buffers)):
                return False
            for t, held in zip(parameters.values(), held_parameters):
                if t is not held:
                    return False
            for t, held in zip(buffers.values(), held_buffers):
                if t is not held:
                    return False
        for watched in externals:
            t, array, requires_grad = watched
            if t.requires_grad != requires_grad:
                return False
            data = t._data
            if data is not array:
                if data.shape != array.shape or data.dtype != array.dtype:
                    return False
                watched[1] = data  # (the same kind of array: remember it, the next check is quick)
        return True


# ------------------------------------------------------------------------------------------ the wrapper
class _Compiler:
    """The cache of recorded graphs of one compiled callable, and the call logic."""

    def __init__(self, function, settings):
        self.function = function
        self.settings = settings
        self.entries = {}       # signature -> list of _Entry (one per set of training flags)
        self.eager = {}         # signature -> why it runs eagerly
        self.replays = 0        # calls answered by a replay (for tests and curiosity)

    def reset(self):
        self.entries.clear()
        self.eager.clear()

    def __call__(self, *args, **kwargs):
        if self.settings["backend"] == "eager" or _capturing[0]:
            return self.function(*args, **kwargs)
        key = _signature(args, kwargs)
        if key is None:
            return self._refused(None, "lists, tuples or dicts among the arguments", args, kwargs)
        if key in self.eager:
            return self.function(*args, **kwargs)
        for entry in self.entries.get(key, ()):
            if entry.holds():
                if entry.verified:
                    self.replays += 1
                    return _replay(entry.graph, args)
                return self._verify(key, entry, args, kwargs)
        return self._capture(key, args, kwargs)

    def _capture(self, key, args, kwargs):
        _capturing[0] = True
        try:
            result, graph, modules, reason = capture(self.function, args, kwargs)
        finally:
            _capturing[0] = False
        if graph is None:
            return self._refused(key, reason, args, kwargs, result)
        self.entries.setdefault(key, []).append(_Entry(graph, modules))
        return result

    def _refused(self, key, reason, args, kwargs, result=None):
        if self.settings["fullgraph"]:
            raise Uncapturable(f"compile(fullgraph=True): the forward cannot be captured as one graph: {reason}")
        if key is not None:
            self.eager[key] = reason
        return result if result is not None else self.function(*args, **kwargs)

    def _verify(self, key, entry, args, kwargs):
        """Replay, then run eagerly from the same state; keep the graph only if both agree bit for bit."""
        externals = entry.state_tensors()
        before = _State(externals)
        replayed = _replay(entry.graph, args)
        after_replay = _State(externals)
        before.restore()
        eager = self.function(*args, **kwargs)
        after_eager = _State(externals)
        same = _same_array(replayed._data, eager._data) and after_replay.same_as(after_eager)
        if not same:
            self.entries[key].remove(entry)
            return self._refused(key, "the replay did not reproduce the eager result", args, kwargs, eager)
        after_replay.restore()
        entry.verified = True
        self.replays += 1
        return replayed


class _State:
    """The arrays of some tensors and the random state, to compare and to put back."""

    def __init__(self, tensors):
        self.tensors = list(tensors)
        self.arrays = [t._data for t in self.tensors]
        self.copies = [np.array(a, copy=True) for a in self.arrays]
        self.random = default_generator.np.bit_generator.state

    def restore(self):
        for t, array, saved in zip(self.tensors, self.arrays, self.copies):
            t._data = array
            np.copyto(array, saved)
        default_generator.np.bit_generator.state = self.random

    def same_as(self, other) -> bool:
        return (self.random == other.random
                and all(_same_array(a, b) for a, b in zip(self.copies, other.copies)))


def _same_array(a, b) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _replay(graph, args):
    from ..tensor import Tensor
    externals = list(graph.externals)
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    for e, i in graph.arg_positions.items():
        externals[e] = tensor_args[i]
    runner = Runner(graph, externals)
    grad_inputs = [externals[e] for e in graph.grad_externals]
    if _state.enabled and grad_inputs:
        return CompiledGraph.apply(*grad_inputs, runner=runner)
    _, out = runner.run_forward([t._data for t in grad_inputs], False)
    return Tensor._from_array(out)


class CompiledFunction:
    """A compiled function (``juanji.compile(fn)``): call it as the function."""

    def __init__(self, function, settings):
        self._compiler = _Compiler(function, settings)
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        return self._compiler(*args, **kwargs)


class CompiledModule(Module):
    """torch's OptimizedModule: wraps ``_orig_mod`` (its state_dict keys carry that prefix, as
    torch's do); attributes not found here are looked up on the original module."""

    def __init__(self, module, settings):
        super().__init__()
        self._orig_mod = module
        object.__setattr__(self, "_compiler", _Compiler(module, settings))

    def forward(self, *args, **kwargs):
        return self._compiler(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)
