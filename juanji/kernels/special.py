"""Special functions on arrays: erf, erfc, erfinv, lgamma, digamma, polygamma, the modified Bessel
functions i0 and i1, and the regularised incomplete gamma functions.

NumPy has none of these, so each is a Numba ufunc (float32 and float64), compiled on first use
and cached on disk. float32 inputs are computed in float64 and rounded once, so a float32
result is the correctly rounded value in nearly every case (torch computes in float32 and may
differ by an ulp).

The algorithms, with x the argument:

- ``erf``, ``erfc``, ``lgamma``: the C library's, through Python's ``math`` module in Numba.
- ``erfinv(y)``: Winitzki's closed-form guess (relative error ~2e-3), then Halley steps on
  ``erf(x) - y`` (``erfc(x) - (1 - y)`` in the tails, where ``1 - y`` is exact), which converge
  cubically: three steps reach double precision.
- ``digamma(x)``: reflection ``psi(x) = psi(1 - x) - pi / tan(pi x)`` for x < 0, the recurrence
  ``psi(x) = psi(x + 1) - 1/x`` up to x >= 10, then the asymptotic series
  ``log x - 1/(2x) - sum_k B_2k / (2k x^2k)``.
- ``polygamma(n, x)`` for n >= 1: ``(-1)^(n+1) n! zeta(n + 1, x)``, with the Hurwitz zeta by
  Euler-Maclaurin summation (``trigamma`` for n = 1 also reflects for x < 0).
- ``i0``, ``i1``: the power series ``sum_k (x/2)^(2k+v) / (k! (k+v)!)`` for |x| <= 30 and the
  asymptotic expansion ``e^|x| / sqrt(2 pi |x|) * sum_k prod_j ((2j-1)^2 - 4v^2) / (8 j |x|)``
  beyond (its smallest term at |x| = 30 is ~1e-26).
- ``igamma(a, x)`` = P(a, x), ``igammac(a, x)`` = Q(a, x) = 1 - P: the series
  ``P = x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a+1)...(a+n))`` for x < a + 1, else Q by its
  continued fraction (modified Lentz), the other one as the complement.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "i0", "i1", "igamma", "igammac"]

_SIGNATURES = ["float32(float32)", "float64(float64)"]
_compiled = {}


def _build():
    """Compile the ufuncs (once per process; Numba's disk cache makes later processes fast)."""
    from numba import njit, vectorize

    @njit(cache=True)
    def erfinv64(y):
        if y != y or y < -1.0 or y > 1.0:
            return math.nan
        if y == 1.0:
            return math.inf
        if y == -1.0:
            return -math.inf
        if y == 0.0:
            return y
        a = 0.147
        ln = math.log((1.0 - y) * (1.0 + y))
        t = 2.0 / (math.pi * a) + 0.5 * ln
        x = math.sqrt(math.sqrt(t * t - ln / a) - t)
        if y < 0:
            x = -x
        tail = abs(y) > 0.5
        rest = 1.0 - abs(y)  # exact for |y| >= 0.5 (Sterbenz)
        for _ in range(3):
            if tail:  # solve erfc(|x|) = 1 - |y| where erf(x) - y would lose the digits
                ax = abs(x)
                f = -(math.erfc(ax) - rest)
                if y < 0:
                    f = -f
            else:
                f = math.erf(x) - y
            slope = 2.0 / math.sqrt(math.pi) * math.exp(-x * x)
            if slope == 0.0:
                break
            ratio = f / slope
            x -= ratio / (1.0 + x * ratio)  # Halley: f'' = -2 x f'
        return x

    @njit(cache=True)
    def digamma64(x):
        if x == 0.0:
            return math.copysign(math.inf, -x)  # torch: psi(+0) = -inf, psi(-0) = +inf
        if x != x or x == -math.inf:
            return math.nan
        if x == math.inf:
            return math.inf
        result = 0.0
        if x < 0.0:
            if x == math.floor(x):
                return math.nan
            result = -math.pi / math.tan(math.pi * x)
            x = 1.0 - x
        while x < 10.0:
            result -= 1.0 / x
            x += 1.0
        z = 1.0 / (x * x)
        # B_2k / (2k) for k = 1..7: 1/12, -1/120, 1/252, -1/240, 1/132, -691/32760, 1/12
        series = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (
            1.0 / 132 - z * (691.0 / 32760 - z / 12))))))
        return result + math.log(x) - 0.5 / x - series

    @njit(cache=True)
    def hurwitz_zeta(s, q):
        """zeta(s, q) = sum_k 1 / (k + q)^s for s > 1, by Euler-Maclaurin with N = 9 terms summed."""
        if q <= 0.0:
            if q == math.floor(q):
                return math.inf
            if s != math.floor(s):
                return math.nan  # (q + k)^-s is not real for q + k < 0
        total = 0.0
        k = 0
        while k < 9 or q + k < 9.0:  # sum directly until q + k >= 9, where the expansion converges
            total += (q + k) ** -s
            k += 1
        a = q + k
        total += a ** (1.0 - s) / (s - 1.0) + 0.5 * a ** -s
        # Bernoulli terms: B_2j / (2j)! * s (s+1) ... (s+2j-2) / a^(s+2j-1)
        b2j = (1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6, -3617.0 / 510,
               43867.0 / 798, -174611.0 / 330, 854513.0 / 138, -236364091.0 / 2730)
        rising = s
        power = a ** (-s - 1.0)
        factorial = 2.0
        for j in range(12):
            term = b2j[j] / factorial * rising * power
            total += term
            if abs(term) < 1e-17 * abs(total):
                break
            rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
            power /= a * a
            factorial *= (2 * j + 3) * (2 * j + 4)
        return total

    @njit(cache=True)
    def polygamma64(n, x):
        if n == 0:
            return digamma64(x)
        if x != x or x == -math.inf:
            return math.nan
        if n == 1 and x < 0.0:  # reflection: psi1(x) + psi1(1 - x) = pi^2 / sin^2(pi x)
            if x == math.floor(x):
                return math.inf
            s = math.sin(math.pi * x)
            return math.pi * math.pi / (s * s) - hurwitz_zeta(2.0, 1.0 - x)
        sign = 1.0 if n % 2 == 1 else -1.0
        return sign * math.gamma(n + 1.0) * hurwitz_zeta(n + 1.0, x)

    @njit(cache=True)
    def bessel_i64(v, x):
        """I_v(x) for v = 0 or 1 (I_1 is odd, I_0 even)."""
        ax = abs(x)
        if ax != ax:
            return math.nan
        if ax <= 30.0:
            half = 0.5 * ax
            term = 1.0 if v == 0 else half
            total = term
            k = 1
            while True:
                term *= half * half / (k * (k + v))
                total += term
                if term <= 1e-17 * total:  # (<=: at x = 0 every term is 0)
                    break
                k += 1
        elif ax > 709.782712893384:
            # torch's: inf where e^x overflows, nan at inf (its exp(x) * series / sqrt(x) is inf * 0)
            return math.nan if ax == math.inf else math.copysign(math.inf, x if v == 1 else 1.0)
        else:
            term = 1.0
            series = 1.0
            for k in range(1, 40):
                term *= ((2 * k - 1) ** 2 - 4 * v * v) / (8.0 * k * ax)
                series += term
                if abs(term) < 1e-17 * abs(series):
                    break
            half_exp = math.exp(0.5 * ax)  # e^x / sqrt(2 pi x) without overflowing e^x first
            total = half_exp * (half_exp / math.sqrt(2.0 * math.pi * ax)) * series
        if v == 1 and x < 0:
            return -total
        return total

    @njit(cache=True)
    def igamma_pair(a, x):
        """(P(a, x), Q(a, x)), torch's edge rules: nan for a < 0 or x < 0; P(a, 0) = 0; P(0, x>0) = 1."""
        if a != a or x != x or a < 0.0 or x < 0.0:
            return math.nan, math.nan
        if a == 0.0:
            if x > 0.0:
                return 1.0, 0.0
            return math.nan, math.nan
        if x == 0.0:
            return 0.0, 1.0
        if a == math.inf:
            if x == math.inf:
                return math.nan, math.nan
            return 0.0, 1.0
        if x == math.inf:
            return 1.0, 0.0
        log_front = a * math.log(x) - x - math.lgamma(a)
        if x < a + 1.0:
            term = 1.0 / a
            total = term
            ap = a
            for _ in range(2000):
                ap += 1.0
                term *= x / ap
                total += term
                if term <= total * 1e-17:
                    break
            p = total * math.exp(log_front)
            return p, 1.0 - p
        tiny = 1e-300
        b = x + 1.0 - a
        c = 1.0 / tiny
        d = 1.0 / b
        h = d
        for i in range(1, 2000):
            an = -i * (i - a)
            b += 2.0
            d = an * d + b
            if abs(d) < tiny:
                d = tiny
            c = b + an / c
            if abs(c) < tiny:
                c = tiny
            d = 1.0 / d
            delta = d * c
            h *= delta
            if abs(delta - 1.0) < 1e-16:
                break
        q = math.exp(log_front) * h
        return 1.0 - q, q

    @vectorize(_SIGNATURES, cache=True)
    def erf(x):
        return math.erf(x)

    @vectorize(_SIGNATURES, cache=True)
    def erfc(x):
        return math.erfc(x)

    @vectorize(_SIGNATURES, cache=True)
    def lgamma(x):
        if x == -math.inf:
            return math.inf  # torch: lgamma(-inf) = inf
        if x <= 0.0 and x == math.floor(x):
            return math.inf
        return math.lgamma(x)

    @vectorize(_SIGNATURES, cache=True)
    def erfinv(y):
        return erfinv64(y)

    @vectorize(_SIGNATURES, cache=True)
    def digamma(x):
        return digamma64(x)

    @vectorize(["float32(int64, float32)", "float64(int64, float64)"], cache=True)
    def polygamma(n, x):
        return polygamma64(n, x)

    @vectorize(_SIGNATURES, cache=True)
    def i0(x):
        return bessel_i64(0, x)

    @vectorize(_SIGNATURES, cache=True)
    def i1(x):
        return bessel_i64(1, x)

    @vectorize(["float32(float32, float32)", "float64(float64, float64)"], cache=True)
    def igamma(a, x):
        return igamma_pair(a, x)[0]

    @vectorize(["float32(float32, float32)", "float64(float64, float64)"], cache=True)
    def igammac(a, x):
        return igamma_pair(a, x)[1]

    return dict(erf=erf, erfc=erfc, lgamma=lgamma, erfinv=erfinv, digamma=digamma, polygamma=polygamma, i0=i0,
                i1=i1, igamma=igamma, igammac=igammac)


def _ufunc(name):
    if not _compiled:
        _compiled.update(_build())
    return _compiled[name]


def _host(fn_name, *arrays):
    """Run a ufunc on NumPy arrays (a CuPy array goes through the host and back)."""
    xp = None
    host = []
    for a in arrays:
        if hasattr(a, "get") and not isinstance(a, np.ndarray):
            import cupy
            xp = cupy
            a = a.get()
        host.append(a)
    with np.errstate(all="ignore"):
        out = np.asarray(_ufunc(fn_name)(*host))
    return xp.asarray(out) if xp is not None else out


def erf(x):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt."""
    return _host("erf", x)


def erfc(x):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is close to 1."""
    return _host("erfc", x)


def erfinv(y):
    """The x with erf(x) = y, for -1 <= y <= 1 (+-inf at +-1, nan outside)."""
    return _host("erfinv", y)


def lgamma(x):
    """log |Gamma(x)| (inf at the poles 0, -1, -2, ...)."""
    return _host("lgamma", x)


def digamma(x):
    """psi(x) = d/dx log Gamma(x)."""
    return _host("digamma", x)


def polygamma(n: int, x):
    """psi^(n)(x), the n-th derivative of digamma."""
    return _host("polygamma", np.int64(n), x)


def i0(x):
    """The modified Bessel function of the first kind of order 0."""
    return _host("i0", x)


def i1(x):
    """The modified Bessel function of the first kind of order 1 (d/dx i0(x))."""
    return _host("i1", x)


def igamma(a, x):
    """The regularised lower incomplete gamma function P(a, x) = gamma(a, x) / Gamma(a)."""
    return _host("igamma", a, x)


def igammac(a, x):
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return _host("igammac", a, x)
