"""Activation functions (torch.nn.functional surface), plus ``normalize``.

Each function checks its arguments and calls one primitive from ``juanji.ops.activation``
(the formulas and the derivative chosen at each kink are written there). ``inplace=True``
writes the result into ``input`` and returns ``input``, like torch; under autograd a leaf
that requires grad cannot be changed in place.

    relu(x)        = max(x, 0)                  relu6(x)     = min(max(x, 0), 6)
    leaky_relu(x)  = x if x > 0 else a*x        prelu(x, w)  = x if x > 0 else w_c*x
    elu(x)         = x if x > 0 else a*(e^x - 1)
    selu(x)        = s*elu(x, a), a = 1.6732632423543772, s = 1.0507009873554805
    celu(x)        = x if x > 0 else a*(e^(x/a) - 1)
    gelu(x)        = x * Phi(x)                 silu(x)      = x * sigmoid(x)
    mish(x)        = x * tanh(softplus(x))      softsign(x)  = x / (1 + |x|)
    softplus(x)    = log(1 + e^(b*x)) / b       hardswish(x) = x * relu6(x + 3) / 6
    hardsigmoid(x) = relu6(x + 3) / 6           hardtanh(x)  = min(max(x, lo), hi)
    softmax(x)_i   = e^(x_i) / sum_j e^(x_j)    log_softmax  = log(softmax),  softmin(x) = softmax(-x)
    normalize(x)   = x / max(||x||_p, eps) along dim

Example::

    >>> import juanji
    >>> import juanji.nn.functional as F
    >>> F.leaky_relu(juanji.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    >>> F.softmax(juanji.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
"""

from __future__ import annotations

import warnings

import numpy as np

from ... import _dtype as dt
from ...backend import generator
from ...kernels import pointwise as _pointwise
from ...ops import activation as ops
from ...ops.elementwise import Neg
from ...ops.softmax import LogSoftmax, Softmax
from ..._tensor.arguments import _op_dim as _normalize_dim
from ..._tensor.inplace import writes_directly as _writes_directly
from ..._tensor.softmax import softmax_arguments
from ...tensor import Tensor
from ._args import shape_text as _shape

__all__ = [
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_",
    "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "sigmoid", "tanh",
    "hardtanh", "hardtanh_", "hardsigmoid", "hardswish", "softplus", "softsign", "logsigmoid",
    "threshold", "threshold_", "softmax", "log_softmax", "softmin", "normalize",
]

# SELU's constants (Klambauer et al. 2017), the values torch uses
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# -- argument checking shared with the loss functions -------------------------------------------


def _check_tensor(op: str, value, arg: str = "input") -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: expected {arg} to be a Tensor, got {type(value).__name__}")


def _check_floating(op: str, input, arg: str = "input") -> None:
    """Most activations are defined for floating-point tensors only (torch raises the same)."""
    _check_tensor(op, input, arg)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{op}: expected a floating-point {arg}, got a {input.dtype.name} tensor "
                                  f"{_shape(input)}")


def _source(input, inplace: bool):
    """The tensor an activation reads. For an in-place call on a tensor with history, a stand-in
    that keeps the history: ``input`` is about to be rebound to the result, and reading it
    directly would make the new node its own input (and cut the graph above it)."""
    if not inplace or input.grad_fn is None:
        return input
    stand_in = Tensor._from_array(input._data, requires_grad=input.requires_grad)
    stand_in.grad_fn = input.grad_fn
    return stand_in


def _result(input, result, inplace: bool):
    """Return ``result``, or write it into ``input`` (torch's inplace=True) and return input."""
    return input._inplace(result) if inplace else result


def _in_place_direct(input) -> bool:
    """Whether an in-place activation can write straight into ``input``'s memory
    (``_tensor.inplace.writes_directly``): inference with torchvision-style ``ReLU(inplace=True)`` then
    makes no result array and no copy back."""
    return _writes_directly(input)


# -- piecewise-linear --------------------------------------------------------------------------

def relu(input, inplace=False):
    """max(x, 0), elementwise (integer tensors too)."""
    _check_tensor("relu", input)
    if inplace and _in_place_direct(input):
        _pointwise.relu(input._data, out=input._data)
        return input
    return _result(input, _source(input, inplace).relu(), inplace)


def relu_(input):
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """min(max(x, min_val), max_val); the gradient is 1 strictly between the bounds."""
    _check_tensor("hardtanh", input)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, "
                         f"max_val={max_val}")
    if inplace and _in_place_direct(input):
        _pointwise.hardtanh(input._data, min_val, max_val, out=input._data)
        return input
    return _result(input, ops.Hardtanh.apply(_source(input, inplace), min_val, max_val), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6), i.e. hardtanh(x, 0, 6)."""
    _check_tensor("relu6", input)
    if inplace and _in_place_direct(input):
        _pointwise.hardtanh(input._data, 0, 6, out=input._data)
        return input
    return _result(input, ops.Hardtanh.apply(_source(input, inplace), 0, 6), inplace)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else value."""
    _check_tensor("threshold", input)
    return _result(input, ops.Threshold.apply(_source(input, inplace), threshold, value), inplace)


def threshold_(input, threshold, value):
    """In-place :func:`threshold`."""
    _check_tensor("threshold_", input)
    return input._inplace(ops.Threshold.apply(_source(input, True), threshold, value))


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    _check_floating("leaky_relu", input)
    return _result(input, ops.LeakyRelu.apply(_source(input, inplace), negative_slope), inplace)


def leaky_relu_(input, negative_slope=0.01):
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    """x where x > 0, else weight[c] * x, with c the channel (dim 1); weight has 1 or C entries."""
    _check_floating("prelu", input)
    _check_floating("prelu", weight, "weight")
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"prelu: expected weight of the input's dtype {input.dtype.name}, "
                           f"got {weight.dtype.name}")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: expected a 1-d weight (one slope, or one per channel), got weight "
                           f"{_shape(weight)}")
    count = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if count != 1 and count != channels:
        raise RuntimeError(f"prelu: expected weight with 1 or {channels} entries (the channels, dim 1 of "
                           f"input {_shape(input)}), got weight {_shape(weight)}")
    return ops.Prelu.apply(input, weight.reshape(count))


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training each x <= 0 is multiplied by a slope drawn uniformly
    from [lower, upper] (from juanji's generator); in evaluation by the mean (lower + upper) / 2."""
    _check_floating("rrelu", input)
    if lower > upper:
        raise RuntimeError(f"rrelu: lower bound must be less than or equal to the upper bound, got "
                           f"lower={lower}, upper={upper}")
    if not training:
        slope = (lower + upper) / 2
    else:
        slope = generator().uniform(lower, upper, size=tuple(input.shape)).astype(input.dtype.np)
        if not isinstance(input._data, np.ndarray):  # pragma: no cover - GPU: move the slopes there
            from ...backend import xp_of
            slope = xp_of(input._data).asarray(slope)
    return _result(input, ops.LeakyRelu.apply(_source(input, inplace), slope), inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


# -- exponential family and smooth gates ---------------------------------------------------------

def _elu_family(name: str, inplace: bool):
    """The ELU Op under torch's node name: ELU and SELU are EluBackward0, CELU is its own
    CeluBackward0 (one Elu Op computes all three, so the name is chosen here, where the
    function is known); the in-place versions are the ``...Backward1`` overloads."""
    return ops.Elu.variant(f"{name}Backward{1 if inplace else 0}")


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    _check_floating("elu", input)
    op = _elu_family("Elu", inplace)
    return _result(input, op.apply(_source(input, inplace), alpha), inplace)


def elu_(input, alpha=1.0):
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with SELU's self-normalising constants."""
    _check_floating("selu", input)
    op = _elu_family("Elu", inplace)
    return _result(input, op.apply(_source(input, inplace), SELU_ALPHA, scale=SELU_SCALE), inplace)


def selu_(input):
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    _check_floating("celu", input)
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha must not be 0")
    op = _elu_family("Celu", inplace)
    return _result(input, op.apply(_source(input, inplace), alpha, input_scale=1.0 / alpha), inplace)


def celu_(input, alpha=1.0):
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def gelu(input, *, approximate="none"):
    """x * Phi(x) (Phi the standard normal CDF); approximate='tanh' uses the tanh formula."""
    _check_floating("gelu", input)
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either 'none' or 'tanh', got {approximate!r}")
    return ops.Gelu.apply(input, approximate)


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    _check_floating("silu", input)
    return _result(input, ops.Silu.apply(_source(input, inplace)), inplace)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    _check_floating("mish", input)
    return _result(input, ops.Mish.apply(_source(input, inplace)), inplace)


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    _check_tensor("sigmoid", input)
    return input.sigmoid()


def tanh(input):
    """tanh(x)."""
    _check_tensor("tanh", input)
    return input.tanh()


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6, a piecewise-linear sigmoid."""
    _check_floating("hardsigmoid", input)
    return _result(input, ops.Hardsigmoid.apply(_source(input, inplace)), inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    _check_floating("hardswish", input)
    return _result(input, ops.Hardswish.apply(_source(input, inplace)), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold."""
    _check_floating("softplus", input)
    return ops.Softplus.apply(input, beta, threshold)


def softsign(input):
    """x / (1 + |x|)."""
    _check_tensor("softsign", input)
    x = input if input.dtype.is_floating_point else input._cast(dt.get_default_dtype())
    return ops.Softsign.apply(x)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), computed without log(0)."""
    _check_floating("logsigmoid", input)
    # torch's node is LogSigmoidBackward0: the last step (the negation) carries that name
    return _LOG_SIGMOID_LAST_STEP.apply(ops.Softplus.apply(-input, 1.0, float("inf")))


_LOG_SIGMOID_LAST_STEP = Neg.variant("LogSigmoidBackward0")


# -- along a dim ---------------------------------------------------------------------------------

def _softmax_input(op: str, input, dim, dtype, stacklevel: int):
    """Cast to ``dtype`` and pick the dim (torch's deprecated implicit choice when dim is None);
    the rules are the Tensor methods' (juanji/_tensor/softmax.py)."""
    _check_tensor(op, input)
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. "
                      "Change the call to include dim=X as an argument.", stacklevel=stacklevel)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return softmax_arguments(op, input, dim, dtype)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (computed after subtracting the max)."""
    return Softmax.apply(*_softmax_input("softmax", input, dim, dtype, _stacklevel))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x_i - log(sum_j exp(x_j)) along ``dim``; more accurate than log(softmax(x))."""
    return LogSoftmax.apply(*_softmax_input("log_softmax", input, dim, dtype, _stacklevel))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``: the smallest entry gets the largest weight."""
    input, axis = _softmax_input("softmin", input, dim, dtype, _stacklevel)
    return Softmax.apply(-input, axis)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim`` (an int or a tuple of dims)."""
    _check_floating("normalize", input)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    for d in dims:
        _normalize_dim("normalize", d, input.ndim)
    denominator = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denominator
    if out is not None:
        return out.copy_(result.detach())
    return result
