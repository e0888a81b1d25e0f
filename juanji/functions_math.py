"""torch's further pointwise functions at the top level: ``juanji.sinh(x)``, ``juanji.atan2(a, b,
out=y)``, ``juanji.polygamma(n, x)``, ``juanji.xlogy(2.0, x)``, ... (the Tensor methods are in
``juanji/_tensor/special.py``).

Each is the Tensor method of the same name called on the first argument, which must be a Tensor
(torch's TypeError otherwise), with torch's ``out=`` where torch has it.
"""

from __future__ import annotations

from ._out import supports_out
from ._tensor.special import require_tensor
from .tensor import Tensor

# torch.f(input, *args, out=None) == input.f(*args)
_WITH_OUT = [
    "sinh", "cosh", "asinh", "acosh", "atanh", "asin", "acos", "atan", "arcsinh", "arccosh", "arctanh", "arcsin",
    "arccos", "arctan", "exp2", "erf", "erfc", "erfinv", "lgamma", "digamma", "mvlgamma", "i0", "sinc", "logit",
    "deg2rad", "rad2deg", "angle", "nan_to_num", "frexp", "fix", "signbit", "atan2", "arctan2", "hypot", "ldexp",
    "igamma", "igammac", "copysign", "fmax", "fmin", "nextafter", "addcmul", "addcdiv", "gcd", "lcm",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "bitwise_not",
    "logical_xor", "heaviside", "logaddexp", "logaddexp2", "conj_physical",
    # order statistics, reductions and scans (juanji/_tensor/statistics.py)
    "median", "nanmedian", "kthvalue", "mode", "quantile", "nanquantile", "nanmean", "aminmax", "msort",
    "isposinf", "isneginf", "cumprod", "cummax", "cummin", "logcumsumexp",
]
# the same without out= (torch has none)
_WITHOUT_OUT = ["positive", "real", "imag", "conj", "resolve_conj", "resolve_neg", "is_complex", "is_conj",
                "is_neg", "dist", "unique_consecutive", "isreal"]

__all__ = _WITH_OUT + _WITHOUT_OUT + ["polygamma", "xlogy", "float_power", "isin"]


def _method_function(name, with_out):
    def fn(input, *args, **kwargs):
        require_tensor(input, name, "input", 1)
        attribute = getattr(input, name)
        return attribute(*args, **kwargs) if callable(attribute) else attribute
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``juanji.{name}(input, ...)`` is ``input.{name}(...)``" + (" (with ``out=``)." if with_out else ".")
    return supports_out(fn) if with_out else fn


for _name in _WITH_OUT:
    globals()[_name] = _method_function(_name, True)
for _name in _WITHOUT_OUT:
    globals()[_name] = _method_function(_name, False)


@supports_out
def polygamma(n, input):
    """The n-th derivative of digamma at each element of ``input``."""
    require_tensor(input, "polygamma", "input", 2)
    return input.polygamma(n)


@supports_out
def xlogy(input, other):
    """input * log(other), 0 where input == 0; either one may be a Python number."""
    if isinstance(input, Tensor):
        return input.xlogy(other)
    require_tensor(other, "xlogy")
    return other._rxlogy(input)


@supports_out
def float_power(input, exponent):
    """input ** exponent in float64; either one may be a Python number."""
    if isinstance(input, Tensor):
        return input.float_power(exponent)
    require_tensor(exponent, "float_power", "exponent")
    return exponent._rfloat_power(input)


@supports_out
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of ``elements`` is in ``test_elements`` (either may be a number)."""
    import numpy as np
    from .tensor import tensor
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments - got (int, int), but expected one of:"
                        " (Tensor elements, Tensor test_elements), (Number element, Tensor test_elements),"
                        " (Tensor elements, Number test_element)")
    shaped = elements if isinstance(elements, Tensor) else tensor(elements)
    tests = test_elements._host() if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    found = np.isin(shaped._host(), tests, assume_unique=assume_unique, invert=invert)
    return Tensor._from_array(np.asarray(found))
