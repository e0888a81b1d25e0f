"""Whether operations record a graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as a context manager and as a decorator, like torch's.
"""

from __future__ import annotations

import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode"]


class _State:
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode:
    """Base: sets the grad mode on entry, restores the previous one on exit."""

    mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__.__new__(self.__class__) as ctx:
                ctx.mode = self.mode
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Record no graph inside: results have ``requires_grad=False``."""

    mode = False


class enable_grad(_GradMode):
    mode = True


class inference_mode(_GradMode):
    def __init__(self, mode: bool = True):
        self.mode = not mode


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` as a context manager, decorator, or plain call (takes effect at once)."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False
