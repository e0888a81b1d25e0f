"""juanji.utils.hooks.RemovableHandle: the one handle every register_*_hook returns, as torch's."""

from collections import OrderedDict

import pytest

import juanji
from juanji import nn
from juanji.utils.hooks import RemovableHandle

torch = pytest.importorskip("torch")


def _handles(lib):
    """One handle from each kind of hook store: Tensor, Module (forward, backward), Optimizer."""
    w = lib.ones(2, requires_grad=True)
    layer = lib.nn.Linear(2, 2)
    opt = lib.optim.SGD(layer.parameters(), lr=0.1)
    return [(w * 1).register_hook(lambda g: g), w.register_hook(lambda g: g),
            layer.register_forward_hook(lambda *a: None), layer.register_full_backward_hook(lambda *a: None),
            opt.register_step_pre_hook(lambda *a: None)]


def test_every_hook_store_returns_the_one_class_as_torch_does():
    assert {type(h) for h in _handles(juanji)} == {RemovableHandle}
    assert {type(h).__name__ for h in _handles(torch)} == {"RemovableHandle"}
    assert juanji.utils.hooks.RemovableHandle is RemovableHandle
    assert nn.modules.module.RemovableHandle is RemovableHandle


@pytest.mark.parametrize("lib", ["juanji", "torch"])
def test_remove_cleans_the_store_and_the_extra_dicts_once(lib):
    cls = RemovableHandle if lib == "juanji" else torch.utils.hooks.RemovableHandle
    hooks, flags, more = OrderedDict(), OrderedDict(), OrderedDict()
    first = cls(hooks, extra_dict=[flags, more])
    second = cls(hooks, extra_dict=flags)
    assert second.id > first.id
    for h in (first, second):
        hooks[h.id] = flags[h.id] = more[h.id] = True
    first.remove()
    first.remove()  # twice is harmless
    assert list(hooks) == list(flags) == [second.id] and list(more) == [second.id]
    with second:
        pass
    assert not hooks and not flags


@pytest.mark.parametrize("lib", ["juanji", "torch"])
def test_a_removed_tensor_hook_no_longer_runs(lib):
    lib = juanji if lib == "juanji" else torch
    x = lib.ones(3, requires_grad=True)
    doubled = x.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: g + 1)      # hooks run in registration order: (g * 2) + 1
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0, 5.0]
    doubled.remove()
    x.grad = None
    (x * x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0]
