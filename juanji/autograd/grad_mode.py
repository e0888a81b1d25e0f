"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``.

Each works as a context manager and as a decorator (``@no_grad()`` and, like torch, the bare
``@no_grad``); ``set_grad_enabled(False)`` also works as a plain call that takes effect at once.
The mode is one global flag (juanji runs operations on one thread).
"""

from __future__ import annotations

import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode"]


class _State:
    enabled = True
    inference = False  # inside inference_mode() (only torch.is_inference_mode_enabled reads it)


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    """Base: sets the grad mode on entry and restores the previous one on exit."""

    mode = True

    def __enter__(self):
        self.__dict__.setdefault("_saved", []).append(_state.enabled)
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._saved.pop()
        return False

    def __call__(self, fn):
        """Use as a decorator: ``fn`` runs in this mode, and the caller's mode comes back after."""
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = previous
        return wrapper

    def clone(self):
        return self.__class__()


class _BareDecoratable(_GradMode):
    """Lets ``@no_grad`` (without parentheses) decorate a function, as torch allows."""

    def __new__(cls, orig_func=None):
        if orig_func is not None and callable(orig_func):
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        pass


class no_grad(_BareDecoratable):
    """Record no graph inside: results have ``requires_grad=False`` (evaluation, weight updates)."""

    mode = False


class enable_grad(_BareDecoratable):
    """Record the graph inside, even within ``no_grad``."""

    mode = True


class inference_mode(_GradMode):
    """``inference_mode()`` is ``no_grad()`` in juanji; ``inference_mode(False)`` records as usual."""

    def __init__(self, mode: bool = True):
        self.mode = not mode

    def __enter__(self):
        self.__dict__.setdefault("_inference_saved", []).append(_state.inference)
        _state.inference = not self.mode
        return super().__enter__()

    def __exit__(self, *exc):
        _state.inference = self._inference_saved.pop()
        return super().__exit__(*exc)

    def __call__(self, fn):
        inner = super().__call__(fn)
        inference = not self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = _state.inference
            _state.inference = inference
            try:
                return inner(*args, **kwargs)
            finally:
                _state.inference = previous
        return wrapper


def is_inference_mode_enabled() -> bool:
    """Whether code runs inside ``inference_mode()``."""
    return _state.inference


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` as a context manager, a decorator, or a plain call (takes effect at once)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = _state.enabled
        _state.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.enabled = self._previous
        return False

    def __call__(self, fn):
        _state.enabled = self._previous  # as a decorator it only applies inside fn
        return super().__call__(fn)

    def clone(self):
        return self.__class__(self.mode)
