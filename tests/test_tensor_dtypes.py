"""dtypes and PyTorch's type promotion: every pair of dtypes, with dimensioned tensors, zero-dim
tensors and Python scalars, against ``torch.result_type``, ``torch.promote_types`` and the dtype
an actual operation produces; conversions with ``.to``/``.float()``/``.type()``."""

import itertools

import numpy as np
import pytest

import juanji
from tests.helpers import compare_with_torch

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 3, -2, 2.5]


def _name(d):
    return str(d).split(".")[-1]


def _operand(lib, kind, dtype):
    """A tensor of the given dtype, dimensioned (shape [2]) or zero-dim."""
    shape = (2,) if kind == "dim" else ()
    return lib.ones(shape, dtype=getattr(lib, dtype))


@pytest.mark.parametrize("da", DTYPES)
def test_promote_types_matches_torch(da):
    for db in DTYPES:
        assert _name(juanji.promote_types(getattr(juanji, da), getattr(juanji, db))) == \
            _name(torch.promote_types(getattr(torch, da), getattr(torch, db))), (da, db)


@pytest.mark.parametrize("kinds", list(itertools.product(["dim", "zero"], repeat=2)), ids=str)
def test_result_type_of_tensor_pairs_matches_torch(kinds):
    ka, kb = kinds
    for da, db in itertools.product(DTYPES, repeat=2):
        j = juanji.result_type(_operand(juanji, ka, da), _operand(juanji, kb, db))
        t = torch.result_type(_operand(torch, ka, da), _operand(torch, kb, db))
        assert _name(j) == _name(t), (ka, da, kb, db)


@pytest.mark.parametrize("kind", ["dim", "zero"])
def test_result_type_of_tensor_and_scalar_matches_torch(kind):
    for dtype, scalar in itertools.product(DTYPES, SCALARS):
        j = juanji.result_type(_operand(juanji, kind, dtype), scalar)
        t = torch.result_type(_operand(torch, kind, dtype), scalar)
        assert _name(j) == _name(t), (kind, dtype, scalar)


@pytest.mark.parametrize("op", ["+", "*", "/", "maximum"])
def test_operations_produce_the_promoted_dtype(op):
    def run(lib, a, b):
        if op == "maximum":
            return lib.maximum(a, b)
        return eval(f"a {op} b")

    for (ka, da), (kb, db) in itertools.product(itertools.product(["dim", "zero"], DTYPES), repeat=2):
        if "float16" in (da, db):
            continue  # NumPy float16 arithmetic is not bit-compatible with torch's; dtypes checked above
        ja, jb = _operand(juanji, ka, da), _operand(juanji, kb, db)
        ta, tb = _operand(torch, ka, da), _operand(torch, kb, db)
        assert _name(run(juanji, ja, jb).dtype) == _name(run(torch, ta, tb).dtype), (op, ka, da, kb, db)
    for dtype, scalar in itertools.product(DTYPES, SCALARS):
        if dtype == "float16":
            continue
        j = run(juanji, _operand(juanji, "dim", dtype), scalar) if op == "maximum" else \
            eval(f"a {op} s", {"a": _operand(juanji, "dim", dtype), "s": scalar})
        if op == "maximum":
            continue  # torch.maximum takes tensors only
        t = eval(f"a {op} s", {"a": _operand(torch, "dim", dtype), "s": scalar})
        r = eval(f"s {op} a", {"a": _operand(juanji, "dim", dtype), "s": scalar})
        tr = eval(f"s {op} a", {"a": _operand(torch, "dim", dtype), "s": scalar})
        assert _name(j.dtype) == _name(t.dtype) and _name(r.dtype) == _name(tr.dtype), (op, dtype, scalar)


def test_int64_tensor_with_float32_tensor_stays_float32_unlike_numpy():
    a = juanji.tensor([1, 2])
    b = juanji.tensor([0.5, 0.5])
    assert (a + b).dtype is juanji.float32
    assert (a / 2).dtype is juanji.float32
    assert (juanji.tensor([1, 2], dtype=juanji.int32) + 2 ** 40).dtype is juanji.int32


def test_can_cast_matches_torch():
    for da, db in itertools.product(DTYPES, repeat=2):
        assert juanji.can_cast(getattr(juanji, da), getattr(juanji, db)) == \
            torch.can_cast(getattr(torch, da), getattr(torch, db)), (da, db)


# ------------------------------------------------------------------ conversions
CONVERSIONS = [
    lambda t: t.float(), lambda t: t.double(), lambda t: t.long(), lambda t: t.int(), lambda t: t.bool(),
    lambda t: t.short(), lambda t: t.byte(), lambda t: t.half(),
    lambda t: t.to(torch.float64 if isinstance(t, torch.Tensor) else juanji.float64),
    lambda t: t.to(dtype=torch.int32 if isinstance(t, torch.Tensor) else juanji.int32),
    lambda t: t.to("cpu"), lambda t: t.to("cpu", torch.float64 if isinstance(t, torch.Tensor) else juanji.float64),
    lambda t: t.type(torch.int64 if isinstance(t, torch.Tensor) else juanji.int64),
    lambda t: t.type_as(t.double()),
    lambda t: t.to(t.new_zeros(1, dtype=torch.int16 if isinstance(t, torch.Tensor) else juanji.int16)),
]


@pytest.mark.parametrize("case", range(len(CONVERSIONS)))
def test_conversions_match_torch(case):
    x = np.array([[-2.7, 0.0, 1.5], [3.2, -0.4, 255.9]], np.float32)
    compare_with_torch(CONVERSIONS[case], None, [x], grad=False)
    compare_with_torch(CONVERSIONS[case], None, [np.array([0, 1, -3], np.int64)], grad=False)


def test_float_to_float_conversion_keeps_the_gradient():
    compare_with_torch(lambda t: t.double() * 2, None, [np.array([1.0, 2.0], np.float32)])
    # the gradient passes through float32, so it matches to float32 precision
    compare_with_torch(lambda t: t.to(torch.float32 if isinstance(t, torch.Tensor) else juanji.float32).exp(), None,
                       [np.array([1.0, 2.0])], grad_rtol=1e-6)


def test_type_strings():
    assert juanji.zeros(2).type() == "juanji.FloatTensor"
    assert juanji.zeros(2, dtype=juanji.int64).type() == "juanji.LongTensor"
    assert juanji.zeros(2).type("torch.DoubleTensor").dtype is juanji.float64
    assert juanji.zeros(2).type(juanji.int32).dtype is juanji.int32


def test_dtype_objects():
    assert juanji.float32 is juanji.float and juanji.float64 is juanji.double and juanji.int64 is juanji.long
    assert juanji.int32 is juanji.int and juanji.float16 is juanji.half
    assert juanji.float32.is_floating_point and not juanji.int64.is_floating_point
    assert juanji.float32.itemsize == 4 and repr(juanji.float32) == "juanji.float32"
    assert juanji.tensor([1.0]).element_size() == 4
    assert juanji.tensor([1.0]).is_floating_point() and not juanji.tensor([1]).is_floating_point()
