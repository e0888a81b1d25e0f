"""Printed form against torch's: alignment, fixed/scientific/integer modes, summarised large
tensors, line wrapping, dtype/size/grad suffixes (torch's ``torch.`` prefix reads ``juanji.``)."""

import re

import pytest

import juanji

torch = pytest.importorskip("torch")

CASES = [
    "[[4., 6.], [8., 10.]]",
    "[1.5, 2.25, -3.0]",
    "[1e-5, 1.0]",
    "[1e10, 1.0]",
    "[123456.7, 1.0]",
    "[1, 2, 3]",
    "[[1, -20], [300, 4]]",
    "[True, False]",
    "[float('nan'), float('inf'), -float('inf'), 1.0]",
    "[0.1, 0.25]",
    "[-0.0, 0.0]",
    "[1e-10, 0.0]",
    "[[1.123456789, 2.0], [3.0, 4.0]]",
    "3.5",
    "2",
    "True",
    "[0.0, 0.0]",
    "[[[1.5, 2.0], [3.0, -4.25]], [[5.0, 6.0], [7.0, 8.0]]]",
    "[1e9, 2e9]",
    "[0.5, 1500.0]",
    "[[0.0001, 0.5]]",
]


def _normalise(text: str) -> str:
    """torch's dtype prefix and autograd node names are not juanji's."""
    return re.sub(r"grad_fn=<\w+>", "grad_fn=<...>", text.replace("torch.", "juanji."))


@pytest.mark.parametrize("data", CASES)
def test_repr_matches_torch(data):
    value = eval(data)
    assert repr(juanji.tensor(value)) == _normalise(repr(torch.tensor(value)))


@pytest.mark.parametrize("expr", [
    "lib.arange(2000.0)",
    "lib.arange(1001)",
    "lib.arange(30.0).reshape(5, 6) / 7",
    "lib.arange(2000.0).reshape(2, 1000) / 3",
    "lib.arange(4000).reshape(20, 200)",
    "lib.arange(40.0) * 1.5",
    "lib.zeros(2, 3, 4)",
    "lib.zeros(2, 0)",
    "lib.zeros(0, dtype=lib.int64)",
    "lib.zeros(0)",
    "lib.ones(2, dtype=lib.float64)",
    "lib.ones(2, dtype=lib.int32)",
    "lib.ones(2, dtype=lib.uint8)",
    "lib.ones(2, 2, requires_grad=True)",
    "lib.ones(2, requires_grad=True) * 2",
    "lib.ones(40, dtype=lib.float64, requires_grad=True) / 3",
    "lib.ones(3, dtype=lib.float64, requires_grad=True).sum()",
    "lib.tensor([1.0, 2.0]).double()",
    "lib.arange(12).reshape(2, 3, 2) > 4",
])
def test_repr_of_built_tensors_matches_torch(expr):
    j = eval(expr, {"lib": juanji})
    t = eval(expr, {"lib": torch})
    assert _normalise(repr(j)) == _normalise(repr(t))


def test_str_is_repr_and_format_of_a_scalar():
    x = juanji.tensor([1.0, 2.0])
    assert str(x) == repr(x)
    assert f"{juanji.tensor(3.14159):.2f}" == "3.14"


def test_size_repr():
    assert repr(juanji.zeros(2, 3).shape) == "juanji.Size([2, 3])"
    assert juanji.zeros(2, 3).shape == (2, 3) and juanji.zeros(2, 3).size(1) == 3
