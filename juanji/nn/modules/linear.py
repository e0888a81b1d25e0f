"""``Identity``, ``Linear`` and ``Bilinear``: the fully connected layers.

    Linear:   [*, in_features] -> [*, out_features],             y = x W^T + b
    Bilinear: [*, in1], [*, in2] -> [*, out_features],           y_k = x1^T A_k x2 + b_k

Default initialisation (torch's): Linear draws W from kaiming_uniform_(a=sqrt(5)), which is
U(-1/sqrt(in), 1/sqrt(in)), and b from the same range; Bilinear draws both from
U(-1/sqrt(in1), 1/sqrt(in1)).

    >>> import juanji as torch
    >>> from juanji import nn
    >>> nn.Linear(20, 30)(torch.randn(128, 20)).shape
    juanji.Size([128, 30])
"""

from __future__ import annotations

import math

from ... import creation
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any constructor arguments, so it can
    stand in for a layer (``model.fc = nn.Identity()``)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b.

    Args:
        in_features: size of each input's last dim.
        out_features: size of each output's last dim.
        bias: learn an additive bias (default True).

    Attributes:
        weight: ``[out_features, in_features]``.
        bias: ``[out_features]`` (None with ``bias=False``).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty((out_features, in_features), dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a=sqrt(5) gives gain sqrt(1/3), so bound = 1/sqrt(fan_in)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError:
            # say which layer refused which input (checked only after a failure: no cost per call)
            shape = getattr(input, "shape", None)
            if shape is not None and (len(shape) == 0 or shape[-1] != self.in_features):
                raise RuntimeError(f"{self._get_name()}({self.extra_repr()}): expected input with last dimension "
                                   f"{self.in_features}, got input {list(shape)}") from None
            raise

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y_k = x1^T A_k x2 + b_k.

    Args:
        in1_features, in2_features: last-dim sizes of the two inputs.
        out_features: last-dim size of the output.
        bias: learn an additive bias (default True).

    Attributes:
        weight: ``[out_features, in1_features, in2_features]``.
        bias: ``[out_features]`` (None with ``bias=False``).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(creation.empty((out_features, in1_features, in2_features), dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        for input, features in ((input1, self.in1_features), (input2, self.in2_features)):
            shape = getattr(input, "shape", None)
            if shape is not None and (len(shape) == 0 or shape[-1] != features):
                raise RuntimeError(f"{self._get_name()}({self.extra_repr()}): expected inputs with last dimensions "
                                   f"{self.in1_features} and {self.in2_features}, got inputs "
                                   f"{list(getattr(input1, 'shape', []))} and {list(getattr(input2, 'shape', []))}")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
