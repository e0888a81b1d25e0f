"""``Embedding``: a learnable lookup table from integer ids to vectors.

    input [*] (int64/int32 ids in [0, num_embeddings))  ->  [*, embedding_dim]

The weight starts as N(0, 1), with the ``padding_idx`` row (if any) zeroed; that row then gets
no gradient, so it stays a zero "padding" vector during training.

    >>> import juanji as torch
    >>> from juanji import nn
    >>> nn.Embedding(10, 3)(torch.tensor([[1, 2, 4], [4, 3, 9]])).shape
    juanji.Size([2, 3, 3])
"""

from __future__ import annotations

from ... import creation
from ...autograd.grad_mode import no_grad
from .. import functional as F
from .. import init
from ..functional.sparse import _normalise_padding_idx
from ..parameter import Parameter
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, indexed by the input.

    Args:
        num_embeddings: size of the table.
        embedding_dim: size of each vector.
        padding_idx: this row is zero-initialised and gets no gradient (negative counts from the end).
        max_norm: rows looked up are renormalised in place to norm at most ``max_norm``.
        norm_type: the p of the p-norm for ``max_norm`` (default 2).
        scale_grad_by_freq: scale gradients by the inverse frequency of the ids in the mini-batch.
        sparse: accepted for compatibility; the gradient is dense in juanji.
        _weight: use this tensor as the table (``from_pretrained`` does).
        _freeze: the table does not require grad.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight=None, _freeze: bool = False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _normalise_padding_idx(padding_idx, num_embeddings)
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(creation.empty((num_embeddings, embedding_dim), dtype=dtype, device=device),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if list(_weight.shape) != [num_embeddings, embedding_dim]:
                raise AssertionError(f"Shape of weight does not match num_embeddings and embedding_dim "
                                     f"(weight {list(_weight.shape)}, expected [{num_embeddings}, {embedding_dim}])")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
        """An Embedding whose table is ``embeddings`` ``[num_embeddings, embedding_dim]``
        (shared, not copied); frozen (no gradient) unless ``freeze=False``."""
        if embeddings.dim() != 2:
            raise AssertionError(f"Embeddings parameter is expected to be 2-dimensional, got {list(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)
