"""Padding kernels on arrays: constant, reflect, replicate and circular padding of the last dims.

``pads`` is a tuple of ``(lo, hi)`` pairs for the last ``len(pads)`` dims, in dim order (the
first pair pads the first of those dims). A negative ``lo``/``hi`` crops instead of padding.

Constant padding writes the input into a block filled with ``value``; its gradient is the
gradient cropped back, i.e. constant padding by ``(-lo, -hi)``.

The other modes are gathers: along a padded dim of length ``n``, output position ``o`` reads
input position ``src[o]`` (with ``p = o - lo``):

    reflect    src = -p if p < 0;  2(n-1) - p if p > n-1;  p otherwise   (needs lo, hi < n)
    replicate  src = clip(p, 0, n-1)
    circular   the input, cropped by any negative lo/hi, repeated: src = c0 + (o - max(lo, 0)) mod m
               with c0 = max(-lo, 0) and m = n - max(-lo, 0) - max(-hi, 0)   (PyTorch's rule)

A multi-dim pad is one gather per dim; the gradient is one scatter-add per dim in reverse.
"""

from __future__ import annotations

import numpy as np

from ..backend import xp_of

__all__ = ["constant_pad", "constant_pad_backward", "pad_source_index", "index_pad",
           "index_pad_backward"]


def _padded_dims(x, pads):
    return range(x.ndim - len(pads), x.ndim)


def constant_pad(x, pads, value=0.0):
    """Pad (or crop, for negative amounts) the last ``len(pads)`` dims with ``value``."""
    xp = xp_of(x)
    out_shape = list(x.shape)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    for axis, (lo, hi) in zip(_padded_dims(x, pads), pads):
        n = x.shape[axis]
        out_shape[axis] = n + lo + hi
        # the part of the input that survives cropping, and where it lands in the output
        src[axis] = slice(max(-lo, 0), n - max(-hi, 0))
        dst[axis] = slice(max(lo, 0), max(lo, 0) + n - max(-lo, 0) - max(-hi, 0))
    y = xp.full(out_shape, value, dtype=x.dtype)
    y[tuple(dst)] = x[tuple(src)]
    return y


def constant_pad_backward(grad_y, pads):
    """Gradient of :func:`constant_pad`: the padded border is dropped, cropped parts get zeros."""
    return constant_pad(grad_y, tuple((-lo, -hi) for lo, hi in pads), 0)


def pad_source_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """``src[o]``: the input position that output position ``o`` copies along one dim."""
    o = np.arange(n + lo + hi, dtype=np.int64)
    p = o - lo
    if mode == "reflect":
        return np.where(p < 0, -p, np.where(p > n - 1, 2 * (n - 1) - p, p))
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    if mode == "circular":
        c0 = max(-lo, 0)
        m = n - c0 - max(-hi, 0)
        return c0 + (o - max(lo, 0)) % m
    raise ValueError(f"pad: unknown gather mode {mode!r}")


def index_pad(x, pads, mode):
    """Reflect, replicate or circular padding of the last ``len(pads)`` dims (one gather per dim)."""
    xp = xp_of(x)
    y = x
    for axis, (lo, hi) in zip(_padded_dims(x, pads), pads):
        if lo == 0 and hi == 0:
            continue
        src = xp.asarray(pad_source_index(x.shape[axis], lo, hi, mode))
        y = xp.take(y, src, axis=axis)
    return y


def _take_backward(grad, src, n, axis):
    """Gradient of ``take(x, src, axis)`` for an ``x`` of length ``n`` along ``axis``.

    Most outputs copy the input unshifted (the centre of the padded array): those are added as
    one slice; the border positions, which may hit the same input more than once, are added
    one slice at a time.
    """
    xp = xp_of(grad)
    gx = xp.zeros(grad.shape[:axis] + (n,) + grad.shape[axis + 1:], dtype=grad.dtype)
    if src.shape[0] == 0:  # everything was cropped away
        return gx
    lead = (slice(None),) * axis

    def at(index):  # index along ``axis``, everything else whole
        return lead + (index,)

    out = np.arange(src.shape[0])
    shift = src - out
    # the centre: the run of the most common shift (for reflect/replicate it is exactly the
    # unpadded part; circular padding repeats the input, so any one repetition will do)
    values, counts = np.unique(shift, return_counts=True)
    centre_shift = int(values[np.argmax(counts)])
    o0 = int(np.nonzero(shift == centre_shift)[0][0])
    o1 = o0 + 1
    while o1 < out.shape[0] and shift[o1] == centre_shift:  # keep to one contiguous run
        o1 += 1
    gx[at(slice(o0 + centre_shift, o1 + centre_shift))] += grad[at(slice(o0, o1))]
    for o in np.concatenate([out[:o0], out[o1:]]):
        gx[at(int(src[o]))] += grad[at(int(o))]
    return gx


def index_pad_backward(grad_y, in_shape, pads, mode):
    """Gradient of :func:`index_pad`: scatter-add back through each dim's gather, last dim first."""
    grad = grad_y
    ndim = len(in_shape)
    axes = list(range(ndim - len(pads), ndim))
    for axis, (lo, hi) in reversed(list(zip(axes, pads))):
        if lo == 0 and hi == 0:
            continue
        n = in_shape[axis]
        grad = _take_backward(grad, pad_source_index(n, lo, hi, mode), n, axis)
    return grad
