"""Run a library written for torch, unchanged, on juanji: ``torch`` -> ``juanji``, ``torchvision`` -> ``juanji.vision``.

``import juanji as torch`` in one's own file is enough for one's own code. A library that says
``import torch`` in *its* files (the d2l book's ``d2l.torch``, a model zoo) looks the name up in
``sys.modules``; the swap puts alias finders first on ``sys.meta_path`` so that those statements
hand out juanji's modules:

    >>> import juanji
    >>> with juanji.install_as_torch():      # the swap lasts as long as the block
    ...     import torch, torchvision
    ...     from torch import nn
    >>> torch is juanji and nn is juanji.nn and torchvision is juanji.vision
    True

A module imported while the swap is on keeps the juanji objects it bound (``d2l.torch`` keeps
``torch = juanji`` after the block), so the usual pattern is: swap, import the library, unswap.
``install_as_torch()`` without ``with`` leaves the swap on until :func:`uninstall_as_torch`.
A real torch (or torchvision) imported before is set aside and comes back on uninstall.

How each alias works (every file runs once, under its real name): see
``juanji.vision._alias.ModuleAlias``.
"""

from __future__ import annotations

__all__ = ["install_as_torch", "uninstall_as_torch"]


class TorchSwap:
    """The pair of aliases ``torch -> juanji`` and ``torchvision -> juanji.vision`` as one switch."""

    def __init__(self):
        self._aliases = None

    def _make(self):
        # juanji.vision is a heavy import: load it only when the swap is asked for
        if self._aliases is None:
            from .vision._alias import _TORCHVISION, ModuleAlias
            self._aliases = (ModuleAlias("torch", "juanji"), _TORCHVISION)
        return self._aliases

    @property
    def installed(self) -> bool:
        return self._aliases is not None and any(alias.installed for alias in self._aliases)

    def install(self) -> "TorchSwap":
        for alias in self._make():
            alias.install()
        return self

    def uninstall(self) -> None:
        if self._aliases is not None:
            for alias in self._aliases:
                alias.uninstall()

    def __enter__(self) -> "TorchSwap":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()


_SWAP = TorchSwap()


def install_as_torch() -> TorchSwap:
    """Make ``import torch[.sub]`` give ``juanji[.sub]`` and ``import torchvision[.sub]`` give
    ``juanji.vision[.sub]``, until :func:`uninstall_as_torch` (or the end of a ``with`` block)."""
    return _SWAP.install()


def uninstall_as_torch() -> None:
    """Undo :func:`install_as_torch`: remove both aliases and give back a real torch/torchvision
    imported before (modules imported meanwhile keep the juanji objects they bound)."""
    _SWAP.uninstall()
