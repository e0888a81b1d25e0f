"""torch.optim.SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum,
weight decay and maximisation.

For each parameter θ with gradient ∇ at step t (γ = lr, λ = weight_decay, μ = momentum,
τ = dampening)::

    g  = -∇ if maximize else ∇
    g  = g + λ θ                                  (if λ ≠ 0)
    b  = g                 at the first step      (if μ ≠ 0; the buffer starts as a copy of g)
    b  = μ b + (1 - τ) g   afterwards
    g  = g + μ b  if nesterov  else  b            (if μ ≠ 0)
    θ  = θ - γ g

    >>> import juanji as torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.8000, -1.6000], requires_grad=True)
"""

from __future__ import annotations

from ..backend import xp_of
from ..tensor import Tensor
from ._checks import check_lr
from .optimizer import Optimizer, _scalar

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), torch.optim.SGD's algorithm.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ (default 1e-3, torch 2.x's default).
        momentum: momentum factor μ (default 0).
        dampening: dampening τ of the momentum (default 0).
        weight_decay: L2 penalty λ added to the gradient (default 0).
        nesterov: Nesterov momentum; needs momentum > 0 and dampening = 0 (default False).
        maximize: ascend the objective instead of descending (default False).
        foreach, differentiable, fused: accepted for torch compatibility; juanji has one
            implementation (in-place NumPy updates), so they change nothing.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        check_lr("SGD", lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum} (SGD expects momentum >= 0)")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay} (SGD expects weight_decay >= 0)")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(SGD got momentum={momentum}, dampening={dampening})")
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One SGD update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            nesterov = group["nesterov"]
            weight_decay = group["weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                param = p._data
                xp = xp_of(param)
                g = self._effective_grad(param, p.grad._data, weight_decay, maximize)
                if momentum != 0:
                    g = self._momentum(p, g, momentum, dampening, nesterov, xp)
                update = self._scratch(param, 1)
                xp.multiply(g, lr, out=update)
                xp.subtract(param, update, out=param)
        return loss

    def _momentum(self, p, g, momentum, dampening, nesterov, xp):
        """Advance the momentum buffer b of ``p``; return the direction to step along."""
        state = self.state[p]
        buf_tensor = state.get("momentum_buffer")
        if buf_tensor is None:
            buf = g.copy()
            state["momentum_buffer"] = Tensor._from_array(buf)
        else:
            buf = buf_tensor._data
            xp.multiply(buf, momentum, out=buf)
            if dampening == 0:
                xp.add(buf, g, out=buf)
            else:
                damped = self._scratch(buf, 1)
                xp.multiply(g, 1 - dampening, out=damped)
                xp.add(buf, damped, out=buf)
        if not nesterov:
            return buf
        # g + μ b, written into scratch slot 0 (g itself may be the caller's gradient array)
        direction = self._scratch(buf, 0)
        ahead = self._scratch(buf, 1)
        xp.multiply(buf, momentum, out=ahead)
        xp.add(g, ahead, out=direction)
        return direction
