"""Leaves accumulate through their AccumulateGrad node, as in torch: one node per leaf while a
graph uses it, the leaf's hooks and post-accumulate hooks (``register_post_accumulate_grad_hook``)
run once per backward on the total, as soon as the leaf's gradient is complete, in torch's
order; against torch."""

import copy

import numpy as np
import pytest

import juanji
from tests.helpers import assert_close

torch = pytest.importorskip("torch")


def _pair(values, requires_grad=True):
    arr = np.asarray(values, dtype="float64")
    return juanji.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad)


def test_one_accumulator_per_leaf_while_a_graph_uses_it():
    for lib, x in zip((juanji, torch), _pair([1.0, 2.0])):
        a, b = x * 2, x * 3
        node = a.grad_fn.next_functions[0][0]
        assert node is b.grad_fn.next_functions[0][0], lib.__name__
        assert type(node).__name__ == "AccumulateGrad" and node.variable is x and node.next_functions == ()


def test_the_graph_keeps_the_leaf_and_its_gradient_reachable():
    for lib in (juanji, torch):
        y = (lib.ones(2, dtype=lib.float64, requires_grad=True) * 3).sum()
        y.backward()
        leaf = y.grad_fn.next_functions[0][0].next_functions[0][0].variable
        assert leaf.grad.tolist() == [3.0, 3.0], lib.__name__


def _run_post_hooks(lib, x_values, w_values):
    """A leaf used twice, another once; post hooks log what .grad holds when they run."""
    x = lib.tensor(x_values, dtype=lib.float64, requires_grad=True)
    w = lib.tensor(w_values, dtype=lib.float64, requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(("x", t is x, t.grad.clone().tolist())))
    w.register_post_accumulate_grad_hook(lambda t: seen.append(("w", t is w, t.grad.clone().tolist())))
    for _ in range(2):  # the second backward accumulates onto the first
        ((x * w).sum() + (x * x).sum()).backward()
    return seen


def test_post_accumulate_hooks_see_the_accumulated_grad_once_per_backward():
    # (the order between x and w may differ: torch runs the two sums' nodes in another order)
    args = ([1.0, -2.0, 0.5], [3.0, 0.25, -1.0])
    assert sorted(_run_post_hooks(juanji, *args)) == sorted(_run_post_hooks(torch, *args))


def test_post_accumulate_hooks_run_as_soon_as_the_leaf_is_complete_in_torchs_order():
    def order(lib):
        log = []
        w = lib.ones(2, requires_grad=True)
        u = lib.ones(2, requires_grad=True)
        w.register_post_accumulate_grad_hook(lambda t: log.append("post w"))
        u.register_post_accumulate_grad_hook(lambda t: log.append("post u"))
        h = w * 2
        h.register_hook(lambda g: log.append("hook on h"))
        (h * u).sum().backward()
        return log

    assert order(juanji) == order(torch) == ["post u", "hook on h", "post w"]


def test_a_post_hook_changing_grad_in_place_leaves_other_gradients_alone():
    # a + b hands one gradient array to both inputs; the hook on a scales a.grad in place
    # while b's gradient is still to flow through b = c * 1 to c
    def run(lib):
        a = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        c = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        def scale(t):
            t.grad.mul_(10)

        a.register_post_accumulate_grad_hook(scale)
        ((a + c * 1) * lib.tensor([2.0, 3.0], dtype=lib.float64)).sum().backward()
        return a.grad.tolist(), c.grad.tolist()

    assert run(juanji) == run(torch) == ([20.0, 30.0], [2.0, 3.0])


def test_post_accumulate_hooks_as_an_optimizer_step():
    # torch's docstring example: SGD applied in the hook, during backward
    def sgd_step(p):
        p.data.add_(p.grad, alpha=-0.01)

    jv, tv = _pair([0.0, 0.0, 0.0])
    for v, lib in ((jv, juanji), (tv, torch)):
        v.register_post_accumulate_grad_hook(sgd_step)
        v.backward(lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64))
    assert_close(jv.detach(), tv.detach())


def test_post_accumulate_hooks_do_not_run_for_autograd_grad_and_can_be_removed():
    for lib in (juanji, torch):
        x = lib.ones(2, requires_grad=True)
        calls = []
        handle = x.register_post_accumulate_grad_hook(lambda t: calls.append(1))
        lib.autograd.grad((x * 3).sum(), x)
        assert calls == [] and x.grad is None, lib.__name__
        (x * 3).sum().backward()
        handle.remove()
        (x * 3).sum().backward()
        assert calls == [1] and x.grad.tolist() == [6.0, 6.0], lib.__name__


@pytest.mark.parametrize("case", ["non-leaf", "no grad"])
def test_post_accumulate_hook_refusals_match_torch(case):
    def make(lib):
        x = lib.ones(2, requires_grad=case == "non-leaf")
        return x * 2 if case == "non-leaf" else x

    with pytest.raises(RuntimeError) as theirs:
        make(torch).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError) as ours:
        make(juanji).register_post_accumulate_grad_hook(lambda t: None)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("returned", ["tensor", "int"])
def test_a_post_accumulate_hook_must_return_none(returned):
    def run(lib):
        x = lib.ones(2, requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda t: lib.zeros(2) if returned == "tensor" else 5)
        (x * 2).sum().backward()

    with pytest.raises((RuntimeError, TypeError)) as theirs:
        run(torch)
    with pytest.raises((RuntimeError, TypeError)) as ours:
        run(juanji)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_leaf_hooks_run_once_on_the_total_before_accumulation():
    def run(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        seen = []
        x.register_hook(lambda g: seen.append(g.tolist()) or g * 2)
        (x * x + x * 3).sum().backward()
        return seen, x.grad.tolist()

    assert run(juanji) == run(torch)


def test_a_leaf_that_is_an_output_and_an_input_gets_both_gradients():
    def run(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        lib.autograd.backward([x, (x * x).sum()], [lib.ones(2, dtype=lib.float64), None])
        return seen, x.grad.tolist()

    assert run(juanji) == run(torch)


def test_a_shallow_copy_of_a_leaf_gets_its_own_gradient():
    def run(lib):
        x = lib.ones(2, requires_grad=True)
        (x * 2).sum().backward()
        y = copy.copy(x)
        x.grad = y.grad = None
        keep = x * 2  # noqa: F841  (x's accumulator is alive while y is differentiated)
        (y * 3).sum().backward()
        return x.grad is None, y.grad.tolist()

    assert run(juanji) == run(torch) == (True, [3.0, 3.0])
