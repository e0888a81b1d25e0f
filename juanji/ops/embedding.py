"""The embedding lookup as an autograd Op: a row gather forward, a scatter-add backward."""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels.embedding import embedding_backward, embedding_forward

__all__ = ["Embedding"]


class Embedding(Op):
    """out[..., :] = weight[indices[...], :];  dL/dweight[r] = sum of dL/dout at positions with index r
    (zero for ``padding_idx``; divided by the index's count with ``scale_grad_by_freq``).
    ``indices`` is an integer array and gets no gradient."""

    def forward(self, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        self.indices = indices
        self.num_embeddings = weight.shape[0]
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq
        return embedding_forward(indices, weight)

    def backward(self, grad):
        if not self.needs_input_grad[0]:
            return None, None
        grad_weight = embedding_backward(grad, self.indices, self.num_embeddings,
                                         self.padding_idx, self.scale_grad_by_freq)
        return grad_weight, None
