"""Gradient clipping: rescale (``clip_grad_norm_``) or clamp (``clip_grad_value_``) the ``.grad``
of parameters in place, between ``backward()`` and ``optimizer.step()``.

    total_norm = || (||g_1||_p, ||g_2||_p, ...) ||_p      (= the p-norm of all grads as one vector)
    g_i <- g_i * min(1, max_norm / (total_norm + 1e-6))
"""

from __future__ import annotations

import math

import numpy as np

from ...autograd.grad_mode import no_grad
from ...backend import xp_of
from ...ops.elementwise import quiet
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


# @quiet: gradients of a diverging run overflow when squared and summed; the norm is then inf
# (and clipping by it gives 0 or nan), which torch computes silently and NumPy would warn about.
@quiet
def _vector_norm(arr, p: float):
    """The p-norm of an array taken as one vector (p may be inf, -inf or 0), in arr's dtype."""
    xp = xp_of(arr)
    magnitude = xp.abs(arr.reshape(-1))
    if p == math.inf:
        return magnitude.max() if magnitude.size else xp.zeros((), arr.dtype)
    if p == -math.inf:
        return magnitude.min() if magnitude.size else xp.asarray(math.inf, arr.dtype)
    if p == 0:
        return xp.asarray(xp.count_nonzero(magnitude), arr.dtype)
    if p == 2:
        return xp.sqrt(xp.dot(magnitude, magnitude))
    if p == 1:
        return magnitude.sum()
    return (magnitude ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together, as a 0-d tensor (0 if there are none)."""
    arrays = [t._data for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor._from_array(np.asarray(0.0, dtype=np.float32))
    dtype = np.result_type(*[a.dtype for a in arrays])
    norms = xp_of(arrays[0]).stack([_vector_norm(a, norm_type).astype(dtype) for a in arrays])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not bool(xp_of(total).isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor._from_array(xp_of(total).asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    xp = xp_of(total)
    # a non-finite norm makes inf * 0 = nan, which torch produces silently
    with no_grad(), np.errstate(invalid="ignore", over="ignore"):
        # computed in the norm's dtype like torch; minimum() keeps a nan coefficient nan
        coef = xp.minimum(total.dtype.type(max_norm) / (total + total.dtype.type(1e-6)), total.dtype.type(1.0))
        for g in grads:
            g._data *= coef.astype(g._data.dtype)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients of ``parameters`` so that their total ``norm_type``-norm is at most
    ``max_norm``; return the total norm measured *before* clipping (a 0-d tensor).

    Args:
        parameters: a Tensor or an iterable of Tensors (those without ``.grad`` are skipped).
        max_norm: the largest allowed total norm.
        norm_type: p of the p-norm; ``float('inf')`` for the largest absolute value.
        error_if_nonfinite: raise if the total norm is nan or inf (otherwise the gradients are
            scaled by it anyway, which makes them nan/0, as in torch).
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated spelling of :func:`clip_grad_norm_`."""
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of ``parameters`` into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                xp_of(p.grad._data).clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
