"""Tensor comparisons and tests: ``== != < <= > >=`` (and ``eq``, ``greater``, ...), ``value in t``,
the logical ops, ``isnan``/``isinf``/``isfinite``, and ``equal``/``allclose``/``isclose``.

They give bool tensors (or a Python bool) and record no graph: nothing flows back through a
comparison.
"""

from __future__ import annotations

import numpy as np

from ..backend import xp_of
from .binary import _arr, _compare

__all__ = ["_Comparisons"]


class _Comparisons:
    """Tensor methods: comparisons, logical ops and tests of the values."""

    def __eq__(self, other):
        if other is None:  # ``x == None`` is False in torch, not an error
            return False
        return _compare(self, other, np.equal if xp_of(self._data) is np else xp_of(self._data).equal, "eq")

    def __ne__(self, other):
        if other is None:
            return True
        return _compare(self, other, xp_of(self._data).not_equal, "ne")

    def __contains__(self, element) -> bool:
        """``value in t``: whether any element equals it."""
        return bool((self == element).any())

    def __lt__(self, other):
        return _compare(self, other, xp_of(self._data).less, "lt")

    def __le__(self, other):
        return _compare(self, other, xp_of(self._data).less_equal, "le")

    def __gt__(self, other):
        return _compare(self, other, xp_of(self._data).greater, "gt")

    def __ge__(self, other):
        return _compare(self, other, xp_of(self._data).greater_equal, "ge")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

    def logical_not(self):
        return self._from_array(~self._data.astype(bool))

    def logical_and(self, other):
        return self._from_array(self._data.astype(bool) & _arr(other).astype(bool))

    def logical_or(self, other):
        return self._from_array(self._data.astype(bool) | _arr(other).astype(bool))

    def isnan(self):
        return self._from_array(xp_of(self._data).isnan(self._data))

    def isinf(self):
        return self._from_array(xp_of(self._data).isinf(self._data))

    def isfinite(self):
        return self._from_array(xp_of(self._data).isfinite(self._data))

    def equal(self, other) -> bool:
        return self.shape == other.shape and bool((self._data == other._data).all())

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return bool(np.allclose(self._host(), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return self._from_array(np.isclose(self._host(), np.asarray(other), rtol=rtol, atol=atol, equal_nan=equal_nan))
