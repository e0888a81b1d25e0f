"""Numerical gradient check (no torch needed): compare the analytic gradient with central
differences in float64.

    d f / d x_i  ~=  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

Every output is projected on a fixed random direction v, so one backward pass gives the
analytic vector-Jacobian product J^T v, and the numerical side differentiates the scalar
sum(f(x) * v). A wrong derivative survives a random projection with probability zero.
"""

from __future__ import annotations

import numpy as np

from .tensor_base import TensorBase

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0) -> bool:
    """Check ``fn``'s gradients w.r.t. every input that requires grad (those must be float64).

    Returns True, or raises ``GradcheckError`` naming the input, its shape, the worst element and
    both values (returns False instead with ``raise_exception=False``). Inputs' values and
    ``.grad`` are left as they were.
    """
    from .differentiate import grad as autograd_grad
    from .grad_mode import enable_grad, no_grad
    if isinstance(inputs, TensorBase):
        inputs = (inputs,)
    inputs = tuple(inputs)
    wrt = [t for t in inputs if isinstance(t, TensorBase) and t.requires_grad]
    for t in wrt:
        if t.dtype.name != "float64":
            raise GradcheckError(f"gradcheck: inputs must be float64 for a meaningful check, got {t.dtype}")
    rng = np.random.default_rng(seed)

    with enable_grad():
        outs = _outputs(fn, inputs)
    projections = [rng.standard_normal(tuple(o.shape)) for o in outs]
    differentiable = [(o, v) for o, v in zip(outs, projections) if o.requires_grad]
    if not differentiable:
        raise GradcheckError("gradcheck: no output requires grad")
    analytic = autograd_grad([o for o, _ in differentiable],
                             wrt, [o._from_array(v.astype(o._data.dtype)) for o, v in differentiable],
                             allow_unused=True, materialize_grads=True)

    def projected_value():
        with no_grad():
            return sum(float((o._data * v).sum()) for o, v in zip(_outputs(fn, inputs), projections))

    for k, (t, a) in enumerate(zip(wrt, analytic)):
        a = a._data
        numeric = np.zeros(t.shape)
        arr = t._data
        for idx in np.ndindex(arr.shape):  # perturb the input's own memory, one element at a time
            old = arr[idx]
            arr[idx] = old + eps
            plus = projected_value()
            arr[idx] = old - eps
            minus = projected_value()
            arr[idx] = old
            numeric[idx] = (plus - minus) / (2 * eps)
        if not np.allclose(a, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(a - numeric)), t.shape)
            msg = (f"gradcheck: gradient of input {k} (shape {list(t.shape)}) differs at "
                   f"{tuple(int(i) for i in worst)}: analytic {a[worst]:.6g} vs numerical {numeric[worst]:.6g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
