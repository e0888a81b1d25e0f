"""torch.optim.RMSprop.

For each parameter θ with gradient ∇ (γ = lr, α = alpha, ε = eps, λ = weight_decay,
μ = momentum)::

    g  = -∇ if maximize else ∇
    g  = g + λ θ                             (if λ ≠ 0)
    v  = α v + (1 - α) g²
    ḡ  = α ḡ + (1 - α) g                     (centered only: a lerp of ḡ towards g)
    d  = sqrt(v - ḡ²) + ε  if centered  else  sqrt(v) + ε
    b  = μ b + g / d ;  θ = θ - γ b          (if μ > 0)
    θ  = θ - γ g / d                          (otherwise)

    >>> import juanji as torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = torch.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
"""

from __future__ import annotations

from ..backend import xp_of
from ..tensor import Tensor
from .adam import lerp_
from .optimizer import Optimizer, _scalar, _step_tensor
from ._checks import check_lr, check_non_negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), torch.optim.RMSprop's algorithm.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ (default 1e-2).
        alpha: smoothing constant α of the squared-gradient average (default 0.99).
        eps: ε added to the denominator (default 1e-8).
        weight_decay: L2 penalty λ (default 0).
        momentum: momentum factor μ (default 0).
        centered: normalise by an estimate of the gradient's variance (default False).
        maximize: ascend the objective (default False).
        capturable, foreach, differentiable: accepted for torch compatibility; no effect.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_lr("RMSprop", lr)
        check_non_negative("RMSprop", "eps", eps, torch_name="epsilon")
        check_non_negative("RMSprop", "momentum", momentum)
        check_non_negative("RMSprop", "weight_decay", weight_decay)
        check_non_negative("RMSprop", "alpha", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = self.state[p]
        xp = xp_of(p._data)
        state["step"] = _step_tensor()
        state["square_avg"] = Tensor._from_array(xp.zeros_like(p._data))
        if group["momentum"] > 0:
            state["momentum_buffer"] = Tensor._from_array(xp.zeros_like(p._data))
        if group["centered"]:
            state["grad_avg"] = Tensor._from_array(xp.zeros_like(p._data))
        return state

    def step(self, closure=None):
        """One RMSprop update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            alpha, eps, momentum = group["alpha"], group["eps"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state = self._init_state(p, group)
                self._update(p, state, lr, alpha, eps, group["weight_decay"], momentum, group["centered"],
                             group["maximize"])
        return loss

    def _update(self, p, state, lr, alpha, eps, weight_decay, momentum, centered, maximize):
        param = p._data
        xp = xp_of(param)
        state["step"]._data += 1
        g = self._effective_grad(param, p.grad._data, weight_decay, maximize)

        # v = α v + ((1 - α) g) g, torch's addcmul order
        square_avg = state["square_avg"]._data
        denom = self._scratch(param, 1)
        xp.multiply(square_avg, alpha, out=square_avg)
        xp.multiply(g, 1 - alpha, out=denom)
        xp.multiply(denom, g, out=denom)
        xp.add(square_avg, denom, out=square_avg)

        if centered:
            grad_avg = state["grad_avg"]._data
            lerp_(xp, grad_avg, g, 1 - alpha, denom)
            # v + ((-1) ḡ) ḡ, then the square root
            xp.negative(grad_avg, out=denom)
            xp.multiply(denom, grad_avg, out=denom)
            xp.add(square_avg, denom, out=denom)
            xp.sqrt(denom, out=denom)
        else:
            xp.sqrt(square_avg, out=denom)
        xp.add(denom, eps, out=denom)

        if momentum > 0:
            buf = state["momentum_buffer"]._data
            xp.multiply(buf, momentum, out=buf)
            xp.divide(g, denom, out=denom)
            xp.add(buf, denom, out=buf)
            xp.multiply(buf, lr, out=denom)
            xp.subtract(param, denom, out=param)
        else:
            # θ += ((-γ) g) / d; slot 0 is scratch (g may be the caller's gradient array)
            update = self._scratch(param, 0)
            xp.multiply(g, -lr, out=update)
            xp.divide(update, denom, out=update)
            xp.add(param, update, out=param)
