"""torch.optim.Adadelta (the optimiser of PyTorch's own MNIST example).

For each parameter θ with gradient ∇ (γ = lr, ρ = rho, ε = eps, λ = weight_decay; the running
averages v of squared gradients and u of squared updates start at 0)::

    g  = -∇ if maximize else ∇
    g  = g + λ θ                                (if λ ≠ 0)
    v  = ρ v + (1 - ρ) g²
    Δ  = sqrt(u + ε) / sqrt(v + ε) · g
    u  = ρ u + (1 - ρ) Δ²
    θ  = θ - γ Δ

The ratio of the two root-mean-squares gives each coordinate its own step size in the units of
θ (Zeiler, 2012); ``lr`` only scales it, and 1.0 is the method as published.

    >>> import juanji as torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = torch.optim.Adadelta([w], lr=1.0)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9968, -1.9968], requires_grad=True)
"""

from __future__ import annotations

from ..backend import xp_of
from ..tensor import Tensor
from .optimizer import Optimizer, _scalar, _step_tensor
from ._checks import check_lr, check_non_negative

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), torch.optim.Adadelta's algorithm.

    Args:
        params: tensors or parameter groups to optimize.
        lr: γ, scales the computed update (default 1.0).
        rho: ρ, the decay of both running averages (default 0.9).
        eps: ε inside both square roots (default 1e-6).
        weight_decay: L2 penalty λ (default 0).
        maximize: ascend the objective (default False).
        foreach, capturable, differentiable: accepted for torch compatibility; no effect.

    The state (``step``, ``square_avg`` = v, ``acc_delta`` = u) is created at a parameter's first
    step, as torch does.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_lr("Adadelta", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho} (Adadelta expects 0 <= rho <= 1)")
        check_non_negative("Adadelta", "eps", eps, torch_name="epsilon")
        check_non_negative("Adadelta", "weight_decay", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        xp = xp_of(p._data)
        state["step"] = _step_tensor()
        state["square_avg"] = Tensor._from_array(xp.zeros_like(p._data))
        state["acc_delta"] = Tensor._from_array(xp.zeros_like(p._data))
        return state

    def step(self, closure=None):
        """One Adadelta update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state = self._init_state(p)
                self._update(p, state, lr, group["rho"], group["eps"], group["weight_decay"], group["maximize"])
        return loss

    def _update(self, p, state, lr, rho, eps, weight_decay, maximize):
        param = p._data
        xp = xp_of(param)
        state["step"]._data += 1
        g = self._effective_grad(param, p.grad._data, weight_decay, maximize)

        # v = ρ v + ((1 - ρ) g) g, torch's addcmul order
        square_avg = state["square_avg"]._data
        std = self._scratch(param, 1)
        xp.multiply(square_avg, rho, out=square_avg)
        xp.multiply(g, 1 - rho, out=std)
        xp.multiply(std, g, out=std)
        xp.add(square_avg, std, out=square_avg)
        xp.add(square_avg, eps, out=std)
        xp.sqrt(std, out=std)

        # Δ = sqrt(u + ε) / std * g, in a buffer of its own: g may live in scratch slot 0
        acc_delta = state["acc_delta"]._data
        delta = self._scratch(param, 2)
        xp.add(acc_delta, eps, out=delta)
        xp.sqrt(delta, out=delta)
        xp.divide(delta, std, out=delta)
        xp.multiply(delta, g, out=delta)

        # u = ρ u + ((1 - ρ) Δ) Δ
        xp.multiply(acc_delta, rho, out=acc_delta)
        xp.multiply(delta, 1 - rho, out=std)
        xp.multiply(std, delta, out=std)
        xp.add(acc_delta, std, out=acc_delta)

        # θ += (-γ) Δ
        xp.multiply(delta, -lr, out=delta)
        xp.add(param, delta, out=param)
