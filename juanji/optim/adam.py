"""torch.optim.Adam and torch.optim.AdamW.

For each parameter θ with gradient ∇ at step t (γ = lr, β1, β2 = betas, ε = eps,
λ = weight_decay)::

    g  = -∇ if maximize else ∇
    θ  = θ (1 - γ λ)               AdamW (decoupled weight decay)
    g  = g + λ θ                   Adam  (L2 penalty in the gradient)
    m  = β1 m + (1 - β1) g         first moment  (computed as a lerp of m towards g)
    v  = β2 v + (1 - β2) g²        second moment
    v̂  = max(v̂, v)                 amsgrad only; v̂ replaces v below
    θ  = θ - γ / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + ε)

The arithmetic follows torch's for-loop implementation operation by operation (the same
roundings in float32), so the parameters agree with torch's to float precision.

    >>> import juanji as torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = torch.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
"""

from __future__ import annotations

from ..backend import xp_of
from ..tensor import Tensor
from .optimizer import Optimizer, _scalar, _step_tensor
from ._checks import check_lr, check_non_negative

__all__ = ["Adam", "AdamW"]


def lerp_(xp, start, end, weight, scratch):
    """``start += weight * (end - start)`` in place, with torch's two-sided formula.

    torch computes ``start + w (end - start)`` for |w| < 0.5 and ``end - (end - start)(1 - w)``
    otherwise (both exact at their own end point); ``1 - w`` is taken in the array's precision.
    """
    w = start.dtype.type(weight)
    xp.subtract(end, start, out=scratch)
    if abs(w) < 0.5:
        xp.multiply(scratch, w, out=scratch)
        xp.add(start, scratch, out=start)
    else:
        xp.multiply(scratch, start.dtype.type(1) - w, out=scratch)
        xp.subtract(end, scratch, out=start)


def _check_adam_args(name, lr, betas, eps, weight_decay):
    check_lr(name, lr)
    check_non_negative(name, "eps", eps, torch_name="epsilon")
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta} ({name} expects 0 <= beta < 1)")
    check_non_negative(name, "weight_decay", weight_decay)
    both_floats = isinstance(betas[0], float) and isinstance(betas[1], float)
    both_tensors = isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor)
    if not (both_floats or both_tensors):
        raise ValueError(f"betas must be either both floats or both Tensors ({name} got "
                         f"{type(betas[0]).__name__} and {type(betas[1]).__name__})")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), torch.optim.Adam's algorithm.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ (default 1e-3).
        betas: (β1, β2), decay rates of the moment estimates (default (0.9, 0.999)).
        eps: ε added to the denominator (default 1e-8).
        weight_decay: λ (default 0): an L2 penalty in the gradient, or with
            ``decoupled_weight_decay=True`` a shrink of θ as in AdamW.
        amsgrad: use the running maximum of the second moment (default False).
        maximize: ascend the objective (default False).
        foreach, capturable, differentiable, fused: accepted for torch compatibility; they
            change nothing here.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        _check_adam_args(type(self).__name__, lr, betas, eps, weight_decay)
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _init_state(self, p, amsgrad):
        state = self.state[p]
        xp = xp_of(p._data)
        state["step"] = _step_tensor()
        state["exp_avg"] = Tensor._from_array(xp.zeros_like(p._data))
        state["exp_avg_sq"] = Tensor._from_array(xp.zeros_like(p._data))
        if amsgrad:
            state["max_exp_avg_sq"] = Tensor._from_array(xp.zeros_like(p._data))
        return state

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            beta1, beta2 = (_scalar(b) for b in group["betas"])
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            decoupled = group["decoupled_weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state = self._init_state(p, amsgrad)
                self._update(p, state, lr, beta1, beta2, eps, weight_decay, amsgrad, group["maximize"], decoupled)
        return loss

    def _update(self, p, state, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled):
        param = p._data
        xp = xp_of(param)
        step_array = state["step"]._data
        step_array += 1
        step = float(step_array)

        if weight_decay != 0 and decoupled:
            xp.multiply(param, 1 - lr * weight_decay, out=param)
            weight_decay = 0
        g = self._effective_grad(param, p.grad._data, weight_decay, maximize)

        exp_avg = state["exp_avg"]._data
        exp_avg_sq = state["exp_avg_sq"]._data
        work = self._scratch(param, 1)
        lerp_(xp, exp_avg, g, 1 - beta1, work)
        # v = β2 v + ((1 - β2) g) g, in torch's addcmul order
        xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
        xp.multiply(g, 1 - beta2, out=work)
        xp.multiply(work, g, out=work)
        xp.add(exp_avg_sq, work, out=exp_avg_sq)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5

        second_moment = exp_avg_sq
        if amsgrad:
            second_moment = state["max_exp_avg_sq"]._data
            xp.maximum(second_moment, exp_avg_sq, out=second_moment)
        denom = work
        xp.sqrt(second_moment, out=denom)
        xp.divide(denom, bias_correction2_sqrt, out=denom)
        xp.add(denom, eps, out=denom)
        # θ += ((-step_size) m) / denom, in torch's addcdiv order; g is no longer needed, so its
        # scratch slot holds the update (never the caller's gradient: slot 0 is always scratch)
        update = self._scratch(param, 0)
        xp.multiply(exp_avg, -step_size, out=update)
        xp.divide(update, denom, out=update)
        xp.add(param, update, out=param)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2017): Adam with decoupled weight decay θ ← θ(1 - γλ).

    Same arguments as :class:`Adam`, with ``weight_decay`` defaulting to 1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
