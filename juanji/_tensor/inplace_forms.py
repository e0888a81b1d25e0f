"""The in-place ``_`` forms of methods, made from the out-of-place method: ``x.sinh_()`` is
``x._inplace(x.sinh())``, so it follows the rules of ``juanji/_tensor/inplace.py`` (written into
x's memory outside autograd; recorded, with torch's refusals, while a graph is being built; the
result cast to x's dtype, and refused when torch's casting rules forbid it, e.g. ``atan2_`` on an
integer tensor).

The hand-written in-place methods (``add_``, ``mul_``, ``clamp_``, ``copy_``, ...) stay in
``inplace.py``; this file holds only the forms that are the method's result written back.
"""

from __future__ import annotations

from .. import _dtype as dt
from ..autograd.grad_mode import _state
from ..ops import special as P
from .special import _dtype_label

__all__ = ["_InPlaceForms", "IN_PLACE_FORMS"]

# methods whose ``name_`` form is ``self._inplace(self.name(...))``
IN_PLACE_FORMS = (
    # pointwise (juanji/_tensor/special.py)
    "sinh", "cosh", "asinh", "acosh", "atanh", "asin", "acos", "atan", "arcsinh", "arccosh", "arctanh", "arcsin",
    "arccos", "arctan", "exp2", "erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma", "mvlgamma", "i0",
    "sinc", "logit", "deg2rad", "rad2deg", "nan_to_num", "fix", "atan2", "arctan2", "hypot", "ldexp", "igamma",
    "igammac", "copysign", "xlogy", "nextafter", "gcd",
    "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
    "bitwise_not", "logical_xor", "heaviside", "conj_physical",
    # the basic pointwise methods and comparisons that had no in-place form
    "absolute", "divide", "true_divide", "floor_divide", "fmod", "remainder", "multiply", "subtract", "negative",
    "expm1", "frac", "log2", "log10", "tan", "sgn", "logical_and", "logical_or", "logical_not",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal", "not_equal",
)


def _in_place_form(name):
    def in_place(self, *args, **kwargs):
        return self._inplace(getattr(self, name)(*args, **kwargs))
    in_place.__name__ = in_place.__qualname__ = name + "_"
    in_place.__doc__ = f"In place: ``x.{name}_(...)`` writes ``x.{name}(...)`` into x."
    return in_place


# torch records these in-place forms under its own node names but has no derivative for them
_WITHOUT_DERIVATIVE = {name: P.without_derivative(op, f"{op.__qualname__}Backward1", f"inplace version of {torch_name}")
                       for name, op, torch_name in (("asinh", P.Asinh, "asinh"), ("acosh", P.Acosh, "acosh"),
                                                    ("atanh", P.Atanh, "atanh"))}
_WITHOUT_DERIVATIVE.update(arcsinh=_WITHOUT_DERIVATIVE["asinh"], arccosh=_WITHOUT_DERIVATIVE["acosh"],
                           arctanh=_WITHOUT_DERIVATIVE["atanh"])


def _recorded_without_derivative(name, op):
    def in_place(self):
        if _state.enabled and self.requires_grad:
            return self._inplace(op.apply(self._floating()))
        return self._inplace(getattr(self, name)())
    in_place.__name__ = in_place.__qualname__ = name + "_"
    in_place.__doc__ = f"In place: ``x.{name}_()`` writes ``x.{name}()`` into x (no derivative, as in torch)."
    return in_place


class _InPlaceForms:
    """Tensor methods: the in-place ``_`` forms listed in ``IN_PLACE_FORMS``."""

    def float_power_(self, exponent):
        """In place: self ** exponent in float64, so self must be float64 (torch's rule)."""
        if self.dtype is not dt.float64:
            raise RuntimeError(f"the base given to float_power_ has dtype {_dtype_label(self.dtype)} but the "
                               "operation's result requires dtype Double")
        return self._inplace(self.float_power(exponent))


for _name in IN_PLACE_FORMS:
    if _name in _WITHOUT_DERIVATIVE:
        setattr(_InPlaceForms, _name + "_", _recorded_without_derivative(_name, _WITHOUT_DERIVATIVE[_name]))
    else:
        setattr(_InPlaceForms, _name + "_", _in_place_form(_name))
