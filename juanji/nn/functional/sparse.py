"""``F.embedding`` (a table lookup with a gradient) and ``F.one_hot``.

    input [*] (integer indices),  weight [num_embeddings, embedding_dim]  ->  [*, embedding_dim]
    out[..., :] = weight[input[...], :]

    >>> import juanji as torch
    >>> import juanji.nn.functional as F
    >>> F.one_hot(torch.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as dt
from ...autograd.grad_mode import no_grad
from ...backend import xp_of
from ...ops.embedding import Embedding
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]

_INDEX_TYPES = {np.dtype(np.int64), np.dtype(np.int32)}


def _normalise_padding_idx(padding_idx, num_embeddings: int):
    """A padding index in [0, num_embeddings), negative counting from the end (torch's rule,
    including its AssertionError)."""
    if padding_idx is None:
        return None
    if padding_idx > 0 and padding_idx >= num_embeddings:
        raise AssertionError(f"Padding_idx must be within num_embeddings (got padding_idx={padding_idx} "
                             f"for {num_embeddings} embeddings)")
    if padding_idx < 0:
        if padding_idx < -num_embeddings:
            raise AssertionError(f"Padding_idx must be within num_embeddings (got padding_idx={padding_idx} "
                                 f"for {num_embeddings} embeddings)")
        padding_idx += num_embeddings
    return padding_idx


def _check_indices(op: str, input, num_embeddings: int, weight_shape) -> None:
    if input._data.dtype not in _INDEX_TYPES:
        raise RuntimeError(f"{op}: expected indices of dtype int64 or int32, got {input.type()} "
                           f"(indices {list(input.shape)})")
    if input.numel() == 0:
        return
    low, high = int(input._data.min()), int(input._data.max())
    if low < 0 or high >= num_embeddings:
        bad = low if low < 0 else high
        raise IndexError(f"{op}: index {bad} is out of range for {num_embeddings} embeddings "
                         f"(weight {list(weight_shape)})")


def _renorm_rows_(weight, indices, max_norm: float, norm_type: float) -> None:
    """In place, no gradient: scale each referenced row of ``weight`` whose ``norm_type``-norm
    exceeds ``max_norm`` down to norm ``max_norm`` (torch's embedding_renorm_, with its 1e-7)."""
    xp = xp_of(weight._data)
    rows = xp.unique(indices.reshape(-1))
    table = weight._data
    norms = xp.linalg.norm(table[rows].astype(np.float64), ord=norm_type, axis=1)
    too_big = norms > max_norm
    scale = (max_norm / (norms[too_big] + 1e-7)).astype(table.dtype)
    table[rows[too_big]] *= scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Look rows of ``weight`` up by the integer indices in ``input``.

    Args:
        input: integer tensor (int64 or int32) of any shape ``[*]``.
        weight: ``[num_embeddings, embedding_dim]``.
        padding_idx: this row gets no gradient (negative counts from the end).
        max_norm: if given, rows looked up are first renormalised in place to norm at most
            ``max_norm`` (``norm_type``-norm), as torch does.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in ``input``.
        sparse: accepted for compatibility; juanji has no sparse tensors, so the gradient is dense
            (the same values torch's sparse gradient holds).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        bad = "input" if not isinstance(input, Tensor) else "weight"
        raise TypeError(f"embedding(): argument '{bad}' must be Tensor, not "
                        f"{type(input if bad == 'input' else weight).__name__}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: expected weight [num_embeddings, embedding_dim] with 2 dimensions, "
                           f"got weight {list(weight.shape)}")
    num_embeddings = weight.shape[0]
    padding_idx = _normalise_padding_idx(padding_idx, num_embeddings)
    _check_indices("embedding", input, num_embeddings, weight.shape)
    if max_norm is not None:
        with no_grad():
            _renorm_rows_(weight, input._data, max_norm, norm_type)
    return Embedding.apply(weight, input._data, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)


def one_hot(tensor, num_classes=-1):
    """``[*]`` int64 class indices -> ``[*, num_classes]`` int64 with a 1 at each index.

    ``num_classes=-1`` means ``max(tensor) + 1``.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'input' (position 1) must be Tensor, not {type(tensor).__name__}")
    if tensor.dtype is not dt.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor. (got {tensor.type()})")
    values = tensor._data
    xp = xp_of(values)
    if num_classes == -1:
        if values.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(values.max()) + 1
    if values.size:
        if int(values.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(values.max()) >= num_classes:
            raise RuntimeError(f"Class values must be smaller than num_classes. (got class {int(values.max())}, "
                               f"num_classes={num_classes})")
    if num_classes < 0:
        raise RuntimeError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    out = xp.zeros(values.shape + (num_classes,), dtype=np.int64)
    xp.put_along_axis(out, values[..., None], 1, axis=-1)
    return Tensor._from_array(out)
