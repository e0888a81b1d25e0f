"""Dropout functions (torch.nn.functional surface).

In training, each element (or, for the ``*d`` and feature variants, each whole channel
``input[n, c]``) is zeroed with probability ``p`` and the survivors are scaled by ``1/(1-p)``,
so the expected value of every output equals the input:

    y = x * keep / (1 - p),   keep ~ Bernoulli(1 - p)

Alpha dropout (for SELU networks) sets dropped values to SELU's negative saturation instead
and rescales so that mean and variance are kept (formula in ``juanji.ops.dropout``).

The masks come from juanji's generator (``juanji.manual_seed`` makes them repeatable). Outside
training, with ``p = 0`` or on an empty tensor, the input itself is returned; ``p = 1`` gives
zeros. ``inplace=True`` writes the result into ``input``.

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> F.dropout(juanji.ones(4), p=0.5, training=False).tolist()
    [1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import warnings

from ...backend import generator, xp_of
from ...ops.dropout import AlphaMask, MaskedScale
from ...tensor import Tensor
from ._args import shape_text as _shape

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


def _check(op: str, input, p) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, got {type(input).__name__}")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, p: float, feature: bool):
    """0/1 array of input's dtype, 1 with probability ``1 - p``: one value per element, or per
    (sample, channel) with trailing size-1 dims when ``feature``."""
    if feature:
        if input.ndim < 2:
            raise RuntimeError(f"feature dropout: requires at least 2 dimensions in the input (N, C, *), got "
                               f"input {_shape(input)}")
        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    else:
        shape = tuple(input.shape)
    # float32 uniforms are plenty for a keep/drop decision and half the cost of float64
    keep = generator().random(shape, dtype="float32") >= p
    xp = xp_of(input._data)
    return xp.asarray(keep, dtype=input._data.dtype)


def _dropout(op: str, input, p: float, training: bool, inplace: bool, feature: bool, alpha: bool):
    """The one implementation behind all six public functions."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        result = input * input.new_zeros(())  # torch's rule: multiply by zero (NaN stays NaN)
    elif not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point input, got a {input.dtype.name} tensor "
                           f"{_shape(input)} (the result is scaled, so it cannot be {input.dtype.name})")
    else:
        keep = _keep_mask(input, p, feature)
        if alpha:
            result = AlphaMask.apply(input, keep, p=p)
        else:
            keep *= input._data.dtype.type(1.0 / (1.0 - p))
            result = MaskedScale.apply(input, keep)
    return input._inplace(result) if inplace else result


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``."""
    _check("dropout", input, p)
    return _dropout("dropout", input, p, training, inplace, feature=False, alpha=False)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout (Klambauer et al. 2017), elementwise. Note torch's default ``training=False``."""
    _check("alpha_dropout", input, p)
    return _dropout("alpha_dropout", input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels ``input[n, c]``. Note torch's default ``training=False``."""
    _check("feature_alpha_dropout", input, p)
    return _dropout("feature_alpha_dropout", input, p, training, inplace, feature=True, alpha=True)


def _with_batch_dim(op, input, p, training, inplace, batched: bool):
    """Feature dropout of an input that may lack the batch dim (added, then removed)."""
    if batched:
        return _dropout(op, input, p, training, inplace, feature=True, alpha=False)
    result = _dropout(op, input.unsqueeze(0), p, training, False, feature=True, alpha=False).squeeze(0)
    if inplace and result is not input:
        return input._inplace(result)
    return result


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    op = "dropout1d"
    _check(op, input, p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected 2D or 3D input ((C, L) or (N, C, L)), but received a "
                           f"{input.ndim}D input {_shape(input)}")
    return _with_batch_dim(op, input, p, training, inplace, batched=input.ndim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``.

    As in torch, a 3-D input is taken as ``(N, C, L)`` (channel-wise 1-d dropout, with a
    warning), and other ranks are accepted with a deprecation warning.
    """
    op = "dropout2d"
    _check(op, input, p)
    if input.ndim not in (3, 4):
        warnings.warn(f"{op}: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please "
                      "use dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs "
                      "with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn(f"{op}: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
                      "dim. This behavior will change in a future release to interpret the input as one "
                      "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _dropout(op, input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with probability ``p``."""
    op = "dropout3d"
    _check(op, input, p)
    if input.ndim not in (4, 5):
        warnings.warn(f"{op}: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please "
                      "use dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs "
                      "with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", stacklevel=2)
    return _with_batch_dim(op, input, p, training, inplace, batched=input.ndim == 5)
