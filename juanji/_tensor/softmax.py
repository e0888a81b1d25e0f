"""Softmax along a dim: ``softmax`` and ``log_softmax``, and the argument rules they share with
``nn.functional``'s ``softmax``, ``log_softmax`` and ``softmin`` (``softmax_arguments``).

Both call the Ops of juanji/ops/softmax.py directly. torch computes them for floating-point
tensors only; ``dtype=`` casts the input first (``x.softmax(1, dtype=juanji.float64)``).
"""

from __future__ import annotations

from .. import _dtype as dt
from ..ops.softmax import LogSoftmax, Softmax
from .arguments import _op_dim, numpy_aliases

__all__ = ["_Softmax", "softmax_arguments"]


def softmax_arguments(op: str, x, dim, dtype):
    """``x`` cast to ``dtype`` (when given) and ``dim`` as an axis in [0, ndim), with the errors
    naming ``op``: NotImplementedError for a tensor that is not floating point."""
    if dtype is not None:
        x = x._cast(dt.to_dtype(dtype))
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"{op}: expected a floating-point input, got a {x.dtype.name} tensor "
                                  f"{list(x.shape)}")
    return x, _op_dim(op, dim, x.ndim)


class _Softmax:
    """Tensor methods: softmax and log-softmax along a dim."""

    @numpy_aliases
    def softmax(self, dim, dtype=None):
        """exp(x_i) / sum_j exp(x_j) along ``dim`` (computed after subtracting the max)."""
        x, axis = softmax_arguments("softmax", self, dim, dtype)
        return Softmax.apply(x, axis)

    @numpy_aliases
    def log_softmax(self, dim, dtype=None):
        """x_i - log(sum_j exp(x_j)) along ``dim``; more accurate than log(softmax(x))."""
        x, axis = softmax_arguments("log_softmax", self, dim, dtype)
        return LogSoftmax.apply(x, axis)
