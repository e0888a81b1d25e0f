"""``nn.init``: fill a tensor in place with the values a layer should start from.

Every function works under ``no_grad`` (so it can fill a Parameter), draws from juanji's one
generator (``juanji.manual_seed`` makes it repeatable; pass ``generator=`` for another one), and
returns the tensor it filled.

Why the scales: for a layer ``y = W x`` with ``fan_in`` inputs of unit variance and weights of
variance ``s^2``, ``Var(y) = fan_in * s^2``. Keeping activations (and gradients) at the same
scale through many layers needs ``s^2 = 1 / fan_in`` times a correction for the nonlinearity
(its *gain*): that is Kaiming/He (``std = gain / sqrt(fan)``). Glorot/Xavier compromise between
the forward and backward passes: ``std = gain * sqrt(2 / (fan_in + fan_out))``. A uniform
distribution on ``[-a, a]`` has ``std = a / sqrt(3)``, hence the ``sqrt(3)`` in the uniform variants.

Fans of a weight ``[out, in, k1, k2, ...]``: ``fan_in = in * k1 * k2 * ...``,
``fan_out = out * k1 * k2 * ...`` (a Linear weight ``[out, in]`` has no kernel dims).

    >>> import juanji as torch
    >>> from juanji import nn
    >>> w = torch.empty(3, 5)
    >>> nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu").shape
    juanji.Size([3, 5])
"""

from __future__ import annotations

import math
import statistics
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..backend import generator as _numpy_generator
from ..backend import xp_of

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "dirac_", "bilinear_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "sparse_", "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]

_LINEAR_FUNCTIONS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                     "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (how much it shrinks the std of its input).

    ========================  ====================================
    linear, conv*, sigmoid    1
    tanh                      5/3
    relu                      sqrt(2)
    leaky_relu                sqrt(2 / (1 + negative_slope^2))   (param = negative_slope, default 0.01)
    selu                      3/4
    ========================  ====================================
    """
    if nonlinearity in _LINEAR_FUNCTIONS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        # torch's choice (it keeps SELU's self-normalisation closer than the exact 1)
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight ``[out, in, *kernel]``: ``in * prod(kernel)``, ``out * prod(kernel)``."""
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = 1
    for n in tensor.shape[2:]:
        receptive_field *= n
    fan_in = tensor.shape[1] * receptive_field
    fan_out = tensor.shape[0] * receptive_field
    return fan_in, fan_out


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    """Write ``values`` (a host array or scalar) into ``tensor`` in place, without recording autograd."""
    with no_grad():
        data = tensor._data
        xp = xp_of(data)
        if xp is not np and isinstance(values, np.ndarray):  # pragma: no cover - GPU only
            values = xp.asarray(values)
        data[...] = values
    return tensor


def _rng(generator):
    return _numpy_generator(generator)


# ------------------------------------------------------------------ plain distributions
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    return _fill(tensor, _rng(generator).uniform(a, b, tuple(tensor.shape)))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, _rng(generator).normal(mean, std, tuple(tensor.shape)))


def _standard_normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) conditioned on lying in [a, b] (``a`` and ``b`` are absolute
    bounds, not multiples of std).

    Exact sampling: draw normals and keep those inside [a, b] (fast when the interval holds a
    fair share of the mass, as usual); when it holds less than 5%, invert the CDF instead:
    u ~ U(cdf(a), cdf(b)), x = cdf^-1(u).
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    rng = _rng(generator)
    shape = tuple(tensor.shape)
    count = int(np.prod(shape)) if shape else 1
    low = _standard_normal_cdf((a - mean) / std)
    high = _standard_normal_cdf((b - mean) / std)
    mass = high - low
    if mass >= 0.05:
        kept = []
        have = 0
        while have < count:
            draw = rng.normal(mean, std, max(int((count - have) / mass * 1.1) + 16, 16))
            draw = draw[(draw >= a) & (draw <= b)]
            kept.append(draw)
            have += draw.size
        values = np.concatenate(kept)[:count]
    else:
        inverse = statistics.NormalDist(mean, std).inv_cdf
        eps = np.finfo(np.float64).tiny
        u = rng.uniform(low, high, count).clip(eps, 1 - 1e-16)
        values = np.clip(np.array([inverse(p) for p in u]), a, b)
    return _fill(tensor, values.reshape(shape))


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _fill(tensor, val)


def ones_(tensor):
    return _fill(tensor, 1)


def zeros_(tensor):
    return _fill(tensor, 0)


# ------------------------------------------------------------------ structured
def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal of a possibly non-square matrix),
    so a Linear layer starts as (a slice of) the identity map."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Fill a conv weight ``[out, in, *kernel]`` (3-, 4- or 5-D) with the Dirac delta: output
    channel ``d`` of each group copies input channel ``d``, through the kernel's centre tap.
    A convolution initialised this way (with enough padding) is the identity on as many
    channels as it has."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    identity_channels = min(out_per_group, sizes[1])
    values = np.zeros(sizes)
    centre = tuple(k // 2 for k in sizes[2:])
    for g in range(groups):
        for d in range(identity_channels):
            values[(g * out_per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def bilinear_kernel(kernel_size) -> np.ndarray:
    """The bilinear interpolation filter of a transposed convolution that upsamples by
    ``factor = ceil(k / 2)``: per spatial dim ``f(i) = 1 - |i - c| / factor`` with the centre
    ``c = factor - 1`` for odd ``k`` and ``factor - 0.5`` for even ``k``; the N-d filter is the
    product of the per-dim ones (float64, shape ``kernel_size``).

        >>> from juanji.nn.init import bilinear_kernel
        >>> bilinear_kernel(4).tolist()
        [0.25, 0.75, 0.75, 0.25]
        >>> bilinear_kernel((4, 4))[0].tolist()
        [0.0625, 0.1875, 0.1875, 0.0625]
    """
    sizes = (kernel_size,) if isinstance(kernel_size, int) else tuple(kernel_size)
    kernel = np.ones(())
    for k in sizes:
        factor = (k + 1) // 2
        centre = factor - 1 if k % 2 == 1 else factor - 0.5
        taps = 1 - np.abs(np.arange(k) - centre) / factor
        kernel = np.multiply.outer(kernel, taps)
    return kernel


def bilinear_(tensor):
    """Fill a transposed-convolution weight ``[in, out / groups, *kernel]`` (3-, 4- or 5-D) so the
    layer starts as bilinear upsampling (the initialisation of the fully convolutional network's
    upsampling layer): input channel ``i`` feeds output channel ``i`` through
    :func:`bilinear_kernel` and nothing else (for ``out / groups == 1``, a depthwise layer, every
    channel gets the filter). With ``stride = factor`` and ``padding = factor / 2`` the layer
    enlarges each map ``factor`` times by bilinear interpolation.

        >>> import juanji as torch
        >>> from juanji import nn
        >>> up = nn.ConvTranspose2d(3, 3, kernel_size=4, stride=2, padding=1, bias=False)
        >>> _ = nn.init.bilinear_(up.weight)
        >>> up(torch.ones(1, 3, 2, 2))[0, 0, 1:3, 1:3].tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError(f"bilinear_: expected a transposed-convolution weight with 3, 4 or 5 dimensions "
                         f"[in, out / groups, *kernel], got shape {list(tensor.shape)}")
    sizes = tuple(tensor.shape)
    kernel = bilinear_kernel(sizes[2:])
    values = np.zeros(sizes)
    if sizes[1] == 1:
        values[:, 0] = kernel
    else:
        for c in range(min(sizes[0], sizes[1])):
            values[c, c] = kernel
    return _fill(tensor, values)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013). The tensor is seen
    as ``[rows, numel / rows]``; rows (or columns, whichever are fewer) come out orthonormal.

    Q from the QR decomposition of a Gaussian matrix, with the signs of R's diagonal folded into
    Q, is uniformly distributed over orthogonal matrices.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor  # nothing to fill
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tuple(tensor.shape)))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor with N(0, std^2) and then zero a fraction ``sparsity`` of each column
    (``ceil(sparsity * rows)`` randomly chosen entries per column)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    rng = _rng(generator)
    values = rng.normal(0.0, std, (rows, cols))
    for col in range(cols):
        values[rng.permutation(rows)[:num_zeros], col] = 0
    return _fill(tensor, values)


# ------------------------------------------------------------------ scaled by fan
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot/Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot/Xavier normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Kaiming/He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan).

    Args:
        a: the negative slope of the leaky_relu that follows (only used with 'leaky_relu').
        mode: 'fan_in' keeps the forward activations' scale, 'fan_out' the backward gradients'.
        nonlinearity: 'relu' or 'leaky_relu' (or any name calculate_gain knows).
    """
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Kaiming/He normal: N(0, std^2), std = gain / sqrt(fan) (see kaiming_uniform_ for the args)."""
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


# ------------------------------------------------------------------ torch's deprecated spellings
def _deprecated(new_fn):
    old_name = new_fn.__name__[:-1]

    def old_fn(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_fn.__name__}`.",
                      FutureWarning, stacklevel=2)
        return new_fn(*args, **kwargs)

    old_fn.__name__ = old_name
    old_fn.__doc__ = f"Deprecated spelling of :func:`{new_fn.__name__}`."
    return old_fn


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
