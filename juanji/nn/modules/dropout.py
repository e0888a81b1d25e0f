"""Dropout modules (torch.nn surface): Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout.

In training mode they zero values at random with probability ``p`` (whole channels for the
``*d`` variants) and scale the survivors by ``1/(1-p)``; in eval mode (``model.eval()``) they
return the input unchanged. The masks come from juanji's generator (``juanji.manual_seed``).

    >>> import juanji as torch
    >>> torch.nn.Dropout(0.5).eval()(torch.ones(3)).tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """Holds ``p`` (checked here, so a bad layer fails where it is built) and ``inplace``."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p``; scale the rest by ``1/(1-p)``. Any shape."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of ``(N, C, H, W)`` input (a 3-D input is taken as ``(N, C, L)``, as
    in torch, with a warning)."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: dropped values become SELU's negative saturation and the
    result is rescaled to keep zero mean and unit variance."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
