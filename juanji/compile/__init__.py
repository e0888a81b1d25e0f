"""``juanji.compile(model)``: torch.compile for juanji, by capture and replay.

A training step in eager mode pays, for every layer, the Python around the arithmetic: the
Module call, the argument checks of nn.functional, a Tensor per intermediate value, the graph
bookkeeping of each Op and the engine's walk over the graph. For a given input signature that
work gives the same answer every time, so it can be done once:

1. **capture** (``capture.py``): run the model eagerly once and record every differentiable
   primitive it applies (the Op class and its arguments), with references between them;
2. **check**: on the next call with the same signature, replay the recording and run the model
   eagerly from the same state; keep the recording only if both give the same result, buffers
   and random state, bit for bit;
3. **replay** (``graph.py``): from then on the whole forward is one Op whose forward calls the
   recorded Ops' forwards on arrays, and whose backward calls their backwards in the order the
   engine would have, so the numbers are eager mode's exactly.

Guards, as torch.compile has them: a new signature (shapes, dtypes, requires_grad, grad mode,
non-tensor arguments), another ``training`` flag on a module that ran, a hook on one, or a
parameter whose shape or requires_grad changed, records again. Python attributes that the
forward reads are assumed not to change after compiling (as a torch guard failure would
recompile, here ``compiled._compiler.reset()`` forgets the recordings).

Falls back to eager, for good, for a signature whose forward cannot be recorded: values read
into Python (``.item()``, ``if tensor``), module or tensor hooks, results that are not one
Tensor, or a replay that does not match eager mode.
"""

from .api import CompiledFunction, CompiledModule, compile
from .capture import Uncapturable

__all__ = ["compile", "CompiledModule", "CompiledFunction", "Uncapturable"]


# ``juanji.compile`` is this package, and ``juanji.compile(model)`` must work as torch.compile(model)
# does: the package's module object is made callable (a module may change its class since Python 3.5).
# (A function named compile in juanji/__init__.py would be replaced by this package as soon as it
# is imported, since importing a submodule sets the parent's attribute of that name.)
import sys as _sys
import types as _types


class _CallablePackage(_types.ModuleType):
    def __call__(self, model=None, **kwargs):
        return compile(model, **kwargs)


_sys.modules[__name__].__class__ = _CallablePackage
