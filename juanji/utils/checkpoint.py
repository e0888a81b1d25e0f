"""torch.utils.checkpoint: activation checkpointing, as code written for torch calls it.

torch's checkpoint trades compute for memory: it drops the activations inside ``function`` and
runs it again during backward. juanji runs ``function`` once and keeps its graph, so values and
gradients are torch's and the memory is that of an ordinary forward. (RNG state handling is moot
for the same reason: the function is not run twice.)
"""

from __future__ import annotations

import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, early_stop=True, **kwargs):
    """``function(*args, **kwargs)``, differentiable as usual (see the module's note). torch's
    argument rules: a warning when ``use_reentrant`` is not given (it then means True), and the
    reentrant form refuses keyword arguments for ``function`` and ``context_fn``/``debug``."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
                      "use_reentrant=False is recommended.", stacklevel=2)
        use_reentrant = True
    kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant and (context_fn is not None or debug is not False):
        raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or a list of modules) on ``input``; ``segments`` split it in torch
    (each segment checkpointed); the result is the same."""
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments!r}")
    for module in (functions.children() if hasattr(functions, "children") else functions):
        input = module(input)
    return input
