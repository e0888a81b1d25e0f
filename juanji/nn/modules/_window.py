"""The base of every layer that slides a window: it keeps its Window.

A convolution, pooling, unpooling or unfold/fold layer has its arguments checked once, when it
is built, by ``nn/functional/_args.py``, and keeps the resulting
:class:`~juanji.kernels.window.Window`; every forward hands that Window to ``nn.functional``
as it is, and ``juanji.explain`` reads the layer's geometry from it. Like torch, the layer reads
its attributes at every call: if one of those the Window is built from was changed since
(``layer.stride = 1``), the Window is built again from the new values (with the exception
torch raises at the call, if they are bad).
"""

from __future__ import annotations

from .module import Module

__all__ = ["KeepsWindow"]


class KeepsWindow(Module):
    """Subclasses say which attributes the Window is built from (``_window_arguments``) and
    how (``_make_window(op, arguments, at_construction)``), and call ``_keep_window()`` at the
    end of ``__init__`` (with the Window, if they built it already)."""

    n_spatial = 0
    _op = ""  # the functional op's name, as its errors say it ("conv2d", "max_pool2d")

    def _window_arguments(self) -> tuple:
        raise NotImplementedError

    def _make_window(self, op: str, arguments: tuple, at_construction: bool):
        raise NotImplementedError

    def _keep_window(self, window=None) -> None:
        """Keep the Window built at construction (errors name the layer: ``Conv2d: ...``)."""
        arguments = self._window_arguments()
        if window is None:
            window = self._make_window(type(self).__name__, arguments, True)
        # a plain attribute (not a parameter, buffer or submodule): written past Module.__setattr__
        self.__dict__["_kept_window"] = (arguments, window)

    def _window(self):
        """The layer's Window, built again only if its arguments have changed."""
        arguments = self._window_arguments()
        kept = self.__dict__.get("_kept_window")
        if kept is None or kept[0] != arguments:
            kept = (arguments, self._make_window(self._op, arguments, False))
            self.__dict__["_kept_window"] = kept
        return kept[1]
