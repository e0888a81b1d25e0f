"""``Flatten`` and ``Unflatten``: reshape between conv feature maps and vectors.

    >>> import juanji as torch
    >>> from juanji import nn
    >>> nn.Flatten()(torch.zeros(8, 16, 5, 5)).shape       # [N, C, H, W] -> [N, C*H*W]
    juanji.Size([8, 400])
    >>> nn.Unflatten(1, (16, 5, 5))(torch.zeros(8, 400)).shape
    juanji.Size([8, 16, 5, 5])
"""

from __future__ import annotations

from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim`` .. ``end_dim`` (inclusive) into one; by default every dim but
    the batch dim: ``[N, d1, d2, ...] -> [N, d1*d2*...]``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (whose product must equal that dim's size;
    one entry may be -1 to be inferred): ``[N, 400] -> [N, 16, 5, 5]``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, str):
            raise NotImplementedError("Unflatten: named tensors (a str dim) are not supported in juanji")
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"invalid argument: dim should be of type int, but found type {type(dim).__name__}")
        _require_tuple_of_ints(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _require_tuple_of_ints(sizes) -> None:
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(f"unflattened_size must be a tuple of ints, but found type {type(sizes).__name__}")
    for position, value in enumerate(sizes):
        if not isinstance(value, int):
            raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                            f"{type(value).__name__} at pos {position}")
