"""Activation primitives: each forward with its derivative, on arrays.

Notation: ``x`` input, ``y`` output, ``g`` the gradient arriving at ``y``; every backward
returns ``g * dy/dx``. Where a function has a kink, the derivative chosen at the kink is
PyTorch's (written next to each formula), so gradients at the kinks match torch's too:

    leaky_relu   y = x (x > 0),  slope*x (x <= 0)                  dy/dx at 0: slope
    elu family   y = s*x (x > 0),  s*a*(exp(i*x) - 1) (x <= 0)      dy/dx at 0: s*a*i
    hardtanh     y = min(max(x, lo), hi)                           dy/dx = 1 only for lo < x < hi
    threshold    y = x (x > t),  v (x <= t)                          dy/dx = 1 only for x > t

Saving a boolean mask (1 byte per element) instead of the input keeps the memory a training
step holds on to small. Choices between two branches are written as arithmetic on such masks
(see ``sign_factor``), not ``np.where``: on random data the CPU mispredicts where's branch on
every other element, which makes it 5-10 times slower than a few vectorised passes.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Op
from ..backend import xp_of
from ..kernels import pointwise
from ..kernels.special import erf
from .elementwise import Activated, keep_output
from .softmax import LogSoftmax, Softmax, log_softmax_array  # noqa: F401  (their home is ops/softmax.py)

__all__ = ["LeakyRelu", "Elu", "Gelu", "Silu", "Mish", "Hardtanh", "Hardsigmoid", "Hardswish",
           "Softplus", "Softsign", "Threshold", "Prelu", "Softmax", "LogSoftmax", "erf",
           "log_softmax_array", "sigmoid_array", "softplus_array", "sign_factor"]

# torch computes with inf and nan silently (a diverging run's overflow, inf - inf, 0 * inf) where
# NumPy would warn; the ops that can meet them switch NumPy's error state off (about 1 us a call).
# One np.errstate object works as a decorator any number of times (not as a ``with`` block).
_quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


# -- array helpers shared with the loss primitives ----------------------------------------------

def sigmoid_array(x):
    """``1 / (1 + exp(-x))`` computed as ``(1 + tanh(x/2)) / 2``, which never overflows."""
    y = xp_of(x).tanh(x * 0.5)
    y += 1
    y *= 0.5
    return y


def softplus_array(z):
    """``log(1 + exp(z)) = max(z, 0) + log(1 + exp(-|z|))``: never overflows, and much faster
    than ``np.logaddexp(0, z)``."""
    xp = xp_of(z)
    result = xp.log1p(xp.exp(-abs(z)))
    result += xp.maximum(z, 0)
    return result


def sign_factor(positive, slope, dtype):
    """1 where ``positive``, else ``slope`` (a number, or an array broadcasting against the
    mask), as an array of ``dtype``: ``(not positive) * slope + positive``. Exact, since one of
    the two terms is always 0 (for a finite slope)."""
    if not hasattr(slope, "shape"):
        slope = dtype.type(slope)
    factor = (~positive) * slope
    factor += positive
    return factor.astype(dtype, copy=False)


# -- piecewise-linear activations ----------------------------------------------------------------

class LeakyRelu(Op):
    """y = x (x > 0), slope * x (x <= 0); dy/dx = 1 or slope (slope at 0, as torch).

    ``negative_slope`` may be a float or an array of per-element slopes (RReLU's random ones).
    """

    def forward(self, x, negative_slope):
        xp = xp_of(x)
        self.positive, self.slope = x > 0, negative_slope
        if hasattr(negative_slope, "shape"):
            return x * sign_factor(self.positive, negative_slope, x.dtype)
        slope = x.dtype.type(negative_slope)
        # for slope <= 1, max(x, slope*x) is x when x > 0 and slope*x when x <= 0 (min for a
        # slope above 1): exact, and two vectorised passes
        return xp.maximum(x, x * slope) if slope <= 1 else xp.minimum(x, x * slope)

    def backward(self, g):
        return (g * sign_factor(self.positive, self.slope, g.dtype),)


class Hardtanh(Op):
    """y = min(max(x, lo), hi); dy/dx = 1 strictly inside (lo, hi), else 0 (torch's rule).

    The gradient is read off the output (kernels/pointwise.hardtanh_grad): y is lo or hi exactly
    where x was outside, so no mask is kept (ReLU6 in MobileNetV2: forward + backward 3x faster
    than NumPy's clip and where, measured)."""

    def forward(self, x, min_val, max_val):
        self.bounds = (min_val, max_val)
        if x.dtype.kind != "f":  # integer tensors: NumPy's clip, the mask from x
            self.inside = ~((x <= min_val) | (x >= max_val))
            return xp_of(x).clip(x, min_val, max_val).astype(x.dtype, copy=False)
        y = pointwise.hardtanh(x, min_val, max_val)
        self.y = keep_output(self, x, y, pointwise.hardtanh, (min_val, max_val))  # (after batch norm: a recipe)
        return y

    def backward(self, g):  # a selection, not a product: an infinite g outside gives 0, not nan
        if "y" in self.__dict__:
            y = self.y
            if y.__class__ is Activated:
                grad = pointwise.hardtanh_grad(g, y.value(), *self.bounds)
                y.drop()  # every Op that used y has run its backward
                return (grad,)
            return (pointwise.hardtanh_grad(g, y, *self.bounds),)
        return (xp_of(g).where(self.inside, g, g.dtype.type(0)),)


class Threshold(Op):
    """y = x where x > threshold, else value; dy/dx = 1 where x > threshold."""

    def forward(self, x, threshold, value):
        self.keep = ~(x <= threshold)  # torch: x <= threshold ? value : x (NaN is kept)
        return xp_of(x).where(self.keep, x, x.dtype.type(value))

    def backward(self, g):  # a selection (see Hardtanh)
        return (xp_of(g).where(self.keep, g, g.dtype.type(0)),)


class Hardsigmoid(Op):
    """y = min(max(x/6 + 1/2, 0), 1); dy/dx = 1/6 strictly inside (-3, 3)."""

    def forward(self, x):
        self.inside = (x > -3) & (x < 3)
        return xp_of(x).clip(x / 6 + 0.5, 0, 1)

    def backward(self, g):  # a selection (see Hardtanh)
        return (xp_of(g).where(self.inside, g / 6, g.dtype.type(0)),)


class Hardswish(Op):
    """y = x * min(max(x + 3, 0), 6) / 6;
    dy/dx = 0 (x <= -3), x/3 + 1/2 (-3 < x < 3), 1 (x >= 3)."""

    @_quiet
    def forward(self, x):
        self.x = x
        return x * xp_of(x).clip(x + 3, 0, 6) / 6

    @_quiet
    def backward(self, g):
        x = self.x
        slope = x / 3 + 0.5
        slope *= (x > -3) & (x < 3)
        slope += x >= 3
        return (g * slope,)


class Prelu(Op):
    """y = x (x > 0), w_c * x (x <= 0) with one learnable slope per channel (dim 1).

    dy/dx = 1 or w_c (w_c at 0);  dL/dw_c = sum over positions of channel c where x <= 0 of g * x.
    ``weight`` has 1 entry (shared) or one per channel.
    """

    node_name = "PreluKernelBackward0"  # torch's name for its prelu kernel

    def forward(self, x, weight):
        # a weight of C slopes lines up with dim 1 of (N, C, *); a single slope broadcasts anyway
        shape = [1] * x.ndim
        if x.ndim >= 2:
            shape[1] = weight.shape[0]
        self.w = weight.reshape(shape) if x.ndim else weight.reshape(())
        self.x, self.weight_shape = x, weight.shape
        self.positive = x > 0
        return x * sign_factor(self.positive, self.w, x.dtype)

    def backward(self, g):
        need_x, need_w = self.needs_input_grad
        gx = g * sign_factor(self.positive, self.w, g.dtype) if need_x else None
        gw = None
        if need_w:
            contribution = g * self.x
            contribution *= ~self.positive
            if self.weight_shape[0] == 1 or self.x.ndim < 2:
                gw = contribution.sum().reshape(self.weight_shape)
            else:
                axes = (0,) + tuple(range(2, self.x.ndim))
                gw = contribution.sum(axis=axes)
        return gx, gw


# -- smooth activations -------------------------------------------------------------------------

class Elu(Op):
    """The ELU family: y = scale*x (x > 0), scale*alpha*(exp(input_scale*x) - 1) (x <= 0).

    ELU: scale = input_scale = 1; SELU: fixed alpha and scale; CELU: input_scale = 1/alpha.
    dy/dx = scale (x > 0), scale*alpha*input_scale*exp(input_scale*x) (x <= 0, so also at 0).
    """

    @staticmethod
    def node_name_for(x, alpha, scale=1.0, input_scale=1.0):
        # the default when called directly; F.elu/selu/celu pick torch's exact name with variant()
        return "EluBackward0" if input_scale == 1.0 else "CeluBackward0"

    def forward(self, x, alpha, scale=1.0, input_scale=1.0):
        xp = xp_of(x)
        self.positive = x > 0
        # the negative branch of min(x, 0) (0 for x > 0, so no overflow) plus the positive
        # branch max(x, 0) (0 for x <= 0): each element gets exactly one of the two
        negative_part = xp.expm1(xp.minimum(x, 0) * x.dtype.type(input_scale))
        negative_part *= x.dtype.type(alpha)
        self.negative_part, self.alpha = negative_part, alpha
        self.scale, self.input_scale = scale, input_scale
        y = negative_part + xp.maximum(x, 0)
        if scale != 1.0:
            y *= x.dtype.type(scale)
        return y

    def backward(self, g):
        # alpha*exp(i*x) = negative_part + alpha, reusing what forward computed
        dtype = g.dtype.type
        negative_slope = self.negative_part + dtype(self.alpha)
        negative_slope *= dtype(self.input_scale)
        factor = sign_factor(self.positive, negative_slope, g.dtype)
        factor *= dtype(self.scale)
        return (g * factor,)


class Gelu(Op):
    """GELU: y = x * Phi(x), Phi the standard normal CDF.

    approximate='none':  Phi(x) = (1 + erf(x / sqrt 2)) / 2,  dy/dx = Phi(x) + x * phi(x),
                         phi(x) = exp(-x^2/2) / sqrt(2 pi)
    approximate='tanh':  y = x/2 * (1 + tanh(u)),  u = sqrt(2/pi) * (x + 0.044715 x^3),
                         dy/dx = (1 + t)/2 + x/2 * (1 - t^2) * sqrt(2/pi) * (1 + 3*0.044715 x^2)
    """

    @_quiet
    def forward(self, x, approximate="none"):
        xp = xp_of(x)
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(x * _SQRT_HALF))
        return x * self.cdf

    @_quiet
    def backward(self, g):
        xp, x = xp_of(g), self.x
        if self.approximate == "tanh":
            t = self.t
            du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)
        pdf = xp.exp(-0.5 * x * x) * _INV_SQRT_2PI
        return (g * (self.cdf + x * pdf),)


class Silu(Op):
    """SiLU (swish): y = x * s, s = sigmoid(x);  dy/dx = s * (1 + x * (1 - s))."""

    @_quiet
    def forward(self, x):
        self.x, self.s = x, sigmoid_array(x)
        return x * self.s

    @_quiet
    def backward(self, g):
        s = self.s
        return (g * s * (1 + self.x * (1 - s)),)


class Mish(Op):
    """Mish: y = x * tanh(softplus(x));  dy/dx = t + x * sigmoid(x) * (1 - t^2), t = tanh(softplus(x))."""

    @_quiet
    def forward(self, x):
        self.x = x
        self.t = xp_of(x).tanh(softplus_array(x))
        return x * self.t

    @_quiet
    def backward(self, g):
        t, x = self.t, self.x
        return (g * (t + x * sigmoid_array(x) * (1 - t * t)),)


class Softplus(Op):
    """y = log(1 + exp(beta*x)) / beta, or x where beta*x > threshold (linear there, as torch);
    dy/dx = sigmoid(beta*x), or 1 past the threshold."""

    def forward(self, x, beta=1.0, threshold=20.0):
        xp = xp_of(x)
        z = x * x.dtype.type(beta)
        self.linear, self.z = z > threshold, z
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = xp.asarray(softplus_array(z) / x.dtype.type(beta))  # an array even for 0-d input
        xp.putmask(y, self.linear, x)  # usually few elements: much cheaper than a where
        return y

    def backward(self, g):
        xp = xp_of(g)
        slope = xp.asarray(sigmoid_array(self.z))
        xp.putmask(slope, self.linear, 1)
        return (g * slope,)


class Softsign(Op):
    """y = x / (1 + |x|);  dy/dx = 1 / (1 + |x|)^2."""

    node_name = "DivBackward0"  # torch computes softsign as that division

    @_quiet
    def forward(self, x):
        self.denominator = 1 + abs(x)
        return x / self.denominator

    @_quiet
    def backward(self, g):
        return (g / (self.denominator * self.denominator),)
