"""Numerical gradient check (no torch needed): compare the analytic gradient with central
differences in float64.

    d f / d x_i  ~=  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

Every output element is checked through a random projection ``sum(f(x) * v)``, so one backward
pass covers the whole Jacobian-vector product.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0) -> bool:
    """Check ``fn``'s gradients w.r.t. every input that requires grad (must be float64)."""
    from ..tensor import Tensor
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in wrt:
        if t.dtype.name != "float64":
            raise GradcheckError(f"gradcheck: inputs must be float64 for a meaningful check, got {t.dtype}")
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, inputs)
    projections = [rng.standard_normal(o.shape) for o in outs]

    def scalar():
        total = 0.0
        for o, v in zip(_outputs(fn, inputs), projections):
            total += float((o.detach()._data * v).sum())
        return total

    for t in wrt:
        t.grad = None
    from ..tensor import tensor
    loss = None
    for o, v in zip(outs, projections):
        if o.requires_grad:
            term = (o * tensor(v)).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        raise GradcheckError("gradcheck: no output requires grad")
    loss.backward()
    for k, t in enumerate(wrt):
        analytic = np.zeros(t.shape) if t.grad is None else t.grad._data.copy()
        numeric = np.zeros(t.shape)
        flat = t._data.reshape(-1)  # a view: perturb in place
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = scalar()
            flat[i] = old - eps
            minus = scalar()
            flat[i] = old
            numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), t.shape)
            msg = (f"gradcheck: gradient of input {k} (shape {list(t.shape)}) differs at {tuple(int(i) for i in worst)}: "
                   f"analytic {analytic[worst]:.6g} vs numerical {numeric[worst]:.6g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
