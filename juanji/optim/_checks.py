"""The hyper-parameter checks the optimisers share, with torch's messages (one home for each).

    >>> from juanji.optim._checks import check_non_negative
    >>> check_non_negative("Adam", "eps", -1.0, torch_name="epsilon")
    Traceback (most recent call last):
    ...
    ValueError: Invalid epsilon value: -1.0 (Adam expects eps >= 0)
"""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["check_lr", "check_non_negative"]


def check_lr(optimizer: str, lr) -> None:
    """``lr >= 0``, a number or a one-element Tensor (torch's rule for every optimiser)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError(f"Tensor lr must be 1-element ({optimizer} got lr of shape {list(lr.shape)})")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr} ({optimizer} expects lr >= 0)")


def check_non_negative(optimizer: str, arg: str, value, torch_name: str | None = None) -> None:
    """``value >= 0`` (NaN fails too); torch names some arguments differently in its message
    (``eps`` is "epsilon"), hence ``torch_name``."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {torch_name or arg} value: {value} ({optimizer} expects {arg} >= 0)")
