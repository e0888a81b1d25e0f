"""Random draws whose distribution's parameters are tensors that require grad (``torch.normal(mean,
std)``): torch records them with a gradient of zero for every parameter (the draw is not
reparametrised), under its own node names."""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp_of

__all__ = ["Sampled"]


class Sampled(Op):
    """y = the draws (computed beforehand from the parameters' values);  dL/dparameter = 0."""

    def forward(self, *parameters, draws):
        self.count = len(parameters)
        return draws

    def backward(self, g):
        zeros = xp_of(g).zeros_like(g)
        return tuple(zeros if need else None for need in self.needs_input_grad)
