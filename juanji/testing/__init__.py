"""torch.testing: ``assert_close`` with torch's default tolerances and messages, and ``make_tensor``.

Two values are close when |actual - expected| <= atol + rtol * |expected| everywhere (NaN only
with ``equal_nan``; infinities of the same sign are close). The default tolerances come from the
dtype (of the expected value):

    dtype                  rtol     atol
    float16                1e-3     1e-5
    float32                1.3e-6   1e-5
    float64 (and Python)   1e-7     1e-7
    integers, bool         0        0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .. import _dtype as dt

__all__ = ["assert_close", "assert_allclose", "make_tensor"]

_TOLERANCES = {"float16": (1e-3, 1e-5), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


class _Mismatch(AssertionError):
    pass


def _tensor_class():
    from ..tensor import Tensor
    return Tensor


def _default_tolerances(*dtypes):
    rtols, atols = zip(*(_TOLERANCES.get(d, (0.0, 0.0)) for d in dtypes))
    return max(rtols), max(atols)


def _tensor_like(value):
    """A juanji Tensor or NumPy array as (array, dtype name, is_tensor)."""
    Tensor = _tensor_class()
    if isinstance(value, Tensor):
        return value._host(), value.dtype.name, True
    if isinstance(value, np.ndarray):
        return value, np.dtype(value.dtype).name, False
    return None


def _number(x) -> str:
    """A number as torch prints it in the messages (integers without a decimal point)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if float(x).is_integer() and isinstance(x, (int, np.integer)):
        return str(int(x))
    return repr(float(x))


def _compare_arrays(actual, expected, rtol, atol, equal_nan, scalar, exact, msg):
    a = actual.astype(np.float64) if actual.dtype.kind in "biu" else actual
    e = expected.astype(np.float64) if expected.dtype.kind in "biu" else expected
    with np.errstate(all="ignore"):
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan) | (a == e)
    if close.all():
        return
    # the differences as torch computes them: in the tensors' dtype (float32 stays float32)
    common = np.result_type(actual.dtype, expected.dtype)
    if common.kind in "biu":
        common = np.dtype(np.float32) if common.kind != "b" else np.dtype(np.float32)
    with np.errstate(all="ignore"):
        diff = np.abs(a.astype(common) - e.astype(common))
        relative = diff / np.abs(e.astype(common))
    if scalar:  # (torch takes the scalars' differences in Python floats)
        a_value, e_value = actual.item(), expected.item()
        difference = abs(a_value - e_value)
        relative_value = difference / abs(e_value) if e_value != 0 else (math.nan if difference == 0 else math.inf)
        text = (f"Scalars are not {'equal' if exact else 'close'}!\n\nExpected {_number(e_value)} but got "
                f"{_number(a_value)}.\nAbsolute difference: {_number(difference)}"
                + ("" if exact else f" (up to {atol} allowed)") + f"\nRelative difference: {relative_value!r}"
                + ("" if exact else f" (up to {rtol} allowed)"))
    else:
        def where(values):
            flat = np.nanargmax(values) if not np.isnan(values).all() else 0
            if np.isnan(values).any():
                flat = int(np.flatnonzero(np.isnan(values))[0])
            return tuple(int(i) for i in np.unravel_index(flat, values.shape)), values.reshape(-1)[flat]
        abs_at, abs_value = where(diff)
        rel_at, rel_value = where(relative)
        bad, total = int((~close).sum()), close.size
        abs_text = _number(abs_value.item() if actual.dtype.kind in "biu" and expected.dtype.kind in "biu"
                           else float(abs_value))
        if actual.dtype.kind in "biu" and expected.dtype.kind in "biu":
            abs_text = str(int(abs_value))
        text = (f"Tensor-likes are not {'equal' if exact else 'close'}!\n\nMismatched elements: {bad} / {total} "
                f"({100 * bad / total:.1f}%)\nGreatest absolute difference: {abs_text} at index {abs_at}"
                + ("" if exact else f" (up to {atol} allowed)") + f"\nGreatest relative difference: "
                f"{float(rel_value)!r} at index {rel_at}" + ("" if exact else f" (up to {rtol} allowed)"))
    raise _Mismatch(text)


def _pair(actual, expected, rtol, atol, equal_nan, check_dtype, path):
    """Compare one pair; raise _Mismatch (message without the item path) or TypeError."""
    a_like, e_like = _tensor_like(actual), _tensor_like(expected)
    if a_like is not None or e_like is not None:
        if a_like is None or e_like is None or a_like[2] != e_like[2]:
            raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                            f"{type(expected)}.")
        (a, a_dtype, _), (e, e_dtype, _) = a_like, e_like
        if a.shape != e.shape:
            size = "torch.Size" if a_like[2] else "torch.Size"
            raise _Mismatch(f"The values for attribute 'shape' do not match: {size}({list(a.shape)}) != "
                            f"{size}({list(e.shape)}).")
        if check_dtype and a_dtype != e_dtype:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: torch.{a_dtype} != torch.{e_dtype}.")
        if rtol is None:
            rtol, atol = _default_tolerances(a_dtype, e_dtype)
        exact = rtol == 0 and atol == 0
        _compare_arrays(a, e, rtol, atol, equal_nan, a.ndim == 0, exact, None)
        return
    numbers = (bool, int, float, np.number, np.bool_)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        if check_dtype and type(actual) is not type(expected):
            raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
        if rtol is None:
            floats = isinstance(actual, (float, np.floating)) or isinstance(expected, (float, np.floating))
            rtol, atol = (1e-7, 1e-7) if floats else (0.0, 0.0)
        exact = rtol == 0 and atol == 0
        _compare_arrays(np.asarray(actual), np.asarray(expected), rtol, atol, equal_nan, True, exact, None)
        return
    if actual is None and expected is None:
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _walk(actual, expected, path, compare):
    """Pairs of leaves of two nested sequences/mappings, with torch's structure errors."""
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                            f"{sorted(set(expected) - set(actual))}\nExtra keys in the actual mapping: "
                            f"{sorted(set(actual) - set(expected))}")
        for key in expected:
            _walk(actual[key], expected[key], path + [repr(key)], compare)
        return
    sequences = isinstance(actual, Sequence) and isinstance(expected, Sequence) and \
        not isinstance(actual, str) and not isinstance(expected, str)
    if sequences:
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for k, (a, e) in enumerate(zip(actual, expected)):
            _walk(a, e, path + [str(k)], compare)
        return
    try:
        compare(actual, expected)
    except _Mismatch as error:
        if path:
            raise _Mismatch(f"{error}\n\nThe failure occurred for item {''.join(f'[{p}]' for p in path)}") from None
        raise


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False, check_device=True,
                 check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Assert that ``actual`` and ``expected`` (tensors, NumPy arrays, numbers, or sequences and
    mappings of them) are close; AssertionError with torch's message otherwise. ``msg`` replaces
    the message (a string) or edits it (a callable)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")

    def compare(a, e):
        _pair(a, e, rtol, atol, equal_nan, check_dtype, None)

    try:
        _walk(actual, expected, [], compare)
    except _Mismatch as error:
        text = str(error)
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise AssertionError(text) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """The deprecated form of assert_close (dtypes need not match, NaN equal by default)."""
    Tensor = _tensor_class()
    from ..tensor import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _default_tolerances(actual.dtype.name, expected.dtype.name)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False,
                 msg=msg or None)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of random values for tests: floats uniform on [low, high) (default [-9, 9)),
    integers on [low, high) (default [-9, 10)), bools 50/50; ``exclude_zero`` replaces zeros."""
    from ..backend import generator
    from ..tensor import Tensor
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    d = dt.to_dtype(dtype)
    rng = generator()
    if d is dt.bool:
        values = rng.random(shape) < 0.5
    elif d.is_floating_point:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo > hi:
            raise ValueError(f"make_tensor: low must be less than or equal to high, but got {lo} > {hi}")
        values = rng.uniform(lo, hi, shape)
        if exclude_zero:
            values[values == 0] = np.finfo(d.np).eps
    else:
        info = np.iinfo(d.np)
        lo = max(-9 if low is None else int(math.ceil(low)), info.min)
        hi = min(10 if high is None else int(math.ceil(high)), info.max)
        values = rng.integers(lo, hi, shape) if hi > lo else np.full(shape, lo)
        if exclude_zero:
            values[values == 0] = 1
    result = Tensor._from_array(np.asarray(values).astype(d.np))
    return result.requires_grad_(True) if requires_grad else result
