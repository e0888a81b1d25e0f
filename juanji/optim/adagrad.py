"""torch.optim.Adagrad.

For each parameter θ with gradient ∇ at step t (γ = lr, η = lr_decay, λ = weight_decay,
ε = eps, the accumulator s starts at ``initial_accumulator_value``)::

    g  = -∇ if maximize else ∇
    g  = g + λ θ                    (if λ ≠ 0)
    γ̃  = γ / (1 + (t - 1) η)
    s  = s + g²
    θ  = θ - γ̃ g / (sqrt(s) + ε)

    >>> import juanji as torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = torch.optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
"""

from __future__ import annotations

from ..backend import xp_of
from ..tensor import Tensor
from .optimizer import Optimizer, _scalar, _step_tensor
from ._checks import check_lr, check_non_negative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), torch.optim.Adagrad's algorithm.

    Args:
        params: tensors or parameter groups to optimize.
        lr: learning rate γ (default 1e-2).
        lr_decay: η, the learning rate decays as γ / (1 + (t - 1) η) (default 0).
        weight_decay: L2 penalty λ (default 0).
        initial_accumulator_value: starting value of the squared-gradient sum (default 0).
        eps: ε added to the denominator (default 1e-10).
        foreach, maximize, differentiable, fused: as torch's (only maximize changes anything).

    The state (``step`` and ``sum``) is created for every parameter at construction, as torch does
    (for groups added later, at their first step).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr("Adagrad", lr)
        check_non_negative("Adagrad", "lr_decay", lr_decay)
        check_non_negative("Adagrad", "weight_decay", weight_decay)
        check_non_negative("Adagrad", "initial_accumulator_value", initial_accumulator_value)
        check_non_negative("Adagrad", "eps", eps, torch_name="epsilon")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group["initial_accumulator_value"])

    def _init_state(self, p, initial_accumulator_value):
        state = self.state[p]
        xp = xp_of(p._data)
        state["step"] = _step_tensor()
        state["sum"] = Tensor._from_array(xp.full(p._data.shape, initial_accumulator_value, dtype=p._data.dtype))

    def step(self, closure=None):
        """One Adagrad update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = _scalar(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                if len(self.state[p]) == 0:
                    self._init_state(p, group["initial_accumulator_value"])
                self._update(p, self.state[p], lr, group["lr_decay"], group["weight_decay"], group["eps"],
                             group["maximize"])
        return loss

    def _update(self, p, state, lr, lr_decay, weight_decay, eps, maximize):
        param = p._data
        xp = xp_of(param)
        step_array = state["step"]._data
        step_array += 1
        step = float(step_array)
        g = self._effective_grad(param, p.grad._data, weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)

        state_sum = state["sum"]._data
        std = self._scratch(param, 1)
        xp.multiply(g, g, out=std)
        xp.add(state_sum, std, out=state_sum)
        xp.sqrt(state_sum, out=std)
        xp.add(std, eps, out=std)
        # θ += ((-γ̃) g) / std, torch's addcdiv order; slot 0 is scratch
        update = self._scratch(param, 0)
        xp.multiply(g, -clr, out=update)
        xp.divide(update, std, out=update)
        xp.add(param, update, out=param)
