"""``from d2l import torch as d2l`` (the real d2l 1.0.3) imports on juanji through the swap, and the swap is undone."""

import sys

import pytest

import juanji
from tests.compat.d2l_support import d2l_on


def test_d2l_binds_juanji_for_torch_and_torchvision():
    d2l = d2l_on("juanji")
    assert d2l.torch is juanji and d2l.nn is juanji.nn and d2l.F is juanji.nn.functional
    assert d2l.torchvision is juanji.vision and d2l.transforms is juanji.vision.transforms
    assert d2l.data is juanji.utils.data
    assert issubclass(d2l.Module, juanji.nn.Module)


def test_the_swap_is_off_after_the_import():
    d2l_on("juanji")
    assert not [f for f in sys.meta_path if type(f).__name__ == "ModuleAlias"]
    torch = pytest.importorskip("torch")
    assert sys.modules["torch"] is torch and torch is not juanji
    assert "d2l.torch" not in sys.modules or sys.modules["d2l.torch"].torch is not juanji


def test_every_torch_alias_of_d2l_is_a_juanji_callable():
    """d2l.torch ends with aliases (d2l.sinh = torch.sinh, d2l.concat = torch.cat ...): on juanji each
    one must exist and be juanji's own object, for every alias the torch build defines."""
    torch = pytest.importorskip("torch")
    d2l_j, d2l_t = d2l_on("juanji"), d2l_on("torch")
    checked = 0
    for name, value in vars(d2l_t).items():
        owner = getattr(value, "__module__", None) or ""
        if callable(value) and owner.startswith("torch") and getattr(torch, name, None) is value:
            assert getattr(juanji, name) is getattr(d2l_j, name), name
            checked += 1
    for name in ("int32", "int64", "float32"):
        assert getattr(d2l_j, name) is getattr(juanji, name)
    assert checked >= 10, checked


def test_the_two_d2l_modules_are_separate():
    d2l_j, d2l_t = d2l_on("juanji"), d2l_on("torch")
    assert d2l_j is not d2l_t and d2l_j.Module is not d2l_t.Module
    assert d2l_j.d2l is d2l_j and d2l_t.d2l is d2l_t  # each refers to itself for d2l.xxx lookups
