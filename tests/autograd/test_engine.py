"""The autograd engine against torch: backward with and without a gradient, accumulation,
retain_graph and freed graphs, retain_grad, hooks, autograd.grad, in-place ops under autograd
(on non-leaves, on views, after other uses), and the errors torch raises."""

import numpy as np
import pytest

import juanji
from tests.helpers import assert_close, compare_with_torch

torch = pytest.importorskip("torch")


def _pair(values, requires_grad=True, dtype="float64"):
    """The same leaf in juanji and in torch."""
    arr = np.asarray(values, dtype=dtype)
    return juanji.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad)


def test_leaves_and_results_have_the_right_flags():
    x = juanji.tensor([1.0, 2.0], requires_grad=True)
    c = juanji.tensor([3.0, 4.0])
    y = x * c
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert c.is_leaf and not c.requires_grad and not (c * 2).requires_grad
    assert "Mul" in y.grad_fn.name()
    (node, _), (none, _) = y.grad_fn.next_functions
    assert node.name() == "AccumulateGrad" and node.variable is x and none is None


def test_backward_of_a_scalar_and_accumulation_across_calls():
    jx, tx = _pair([[1.0, -2.0], [3.0, 0.5]])
    for lib_x in (jx, tx):
        for _ in range(3):
            (lib_x * lib_x).sum().backward()
    assert_close(jx.grad, tx.grad)
    assert jx.grad.tolist() == [[6.0, -12.0], [18.0, 3.0]]


def test_backward_with_an_explicit_gradient():
    jx, tx = _pair([1.0, 2.0, 3.0])
    g = np.array([0.5, -1.0, 2.0])
    (jx.exp() * 2).backward(juanji.tensor(g))
    (tx.exp() * 2).backward(torch.tensor(g))
    assert_close(jx.grad, tx.grad)


def test_backward_on_non_scalar_without_gradient_fails_clearly():
    x = juanji.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs.*\[2, 3\]"):
        (x * 2).backward()


def test_backward_gradient_of_the_wrong_shape_fails_clearly():
    x = juanji.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient has shape \[3\] but the tensor has shape \[2, 3\]"):
        (x * 2).backward(juanji.ones(3))


def test_backward_on_a_tensor_without_grad_fails_like_torch():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        juanji.ones(2).sum().backward()


def test_second_backward_through_a_freed_graph_fails_and_retain_graph_allows_it():
    x = juanji.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.tolist()
    y.backward()
    assert np.allclose(x.grad.tolist(), [2 * v for v in first])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_gradients_of_shared_subexpressions_and_diamonds_match_torch():
    def fn(a, b):
        s = a * b
        u = s.exp() + s.sin()
        v = s * a
        return (u * v + u / (1 + v * v)).sum() + (a + a + a).sum()

    compare_with_torch(fn, None, [np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])])


def test_same_tensor_used_twice_in_one_op():
    compare_with_torch(lambda a: (a * a + a - a / (a + 2)).sum(), None, [np.array([1.0, -2.0, 0.5])])


def test_a_long_chain_does_not_hit_the_recursion_limit():
    x = juanji.tensor(1.0, dtype=juanji.float64, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert abs(x.grad.item() - 1.0001 ** 5000) < 1e-6 * 1.0001 ** 5000


def test_gradients_of_two_leaves_from_one_add_do_not_share_memory():
    a = juanji.ones(3, requires_grad=True)
    b = juanji.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    c = juanji.ones(2, 3, requires_grad=True)
    c.sum().backward()
    c.grad.mul_(3)  # a gradient from a broadcast is still writeable
    assert c.grad.tolist() == [[3.0] * 3] * 2


def test_gradient_dtype_follows_the_leaf():
    x = juanji.ones(3, requires_grad=True)  # float32
    (x.double() * 2).sum().backward()
    assert x.grad.dtype is juanji.float32
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        juanji.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        juanji.tensor([1, 2], requires_grad=True)


def test_retain_grad_keeps_a_non_leaf_gradient():
    jx, tx = _pair([1.0, 2.0])
    results = []
    for lib_x in (jx, tx):
        h = lib_x * 3
        h.retain_grad()
        (h * h).sum().backward()
        results.append(h.grad)
        assert h.retains_grad
    assert_close(results[0], results[1])
    h2 = jx * 2
    (h2 * h2).sum().backward()
    assert h2.grad is None  # not retained


def test_hooks_see_and_may_replace_gradients():
    jx, tx = _pair([1.0, -2.0, 3.0])
    seen = []
    for lib_x in (jx, tx):
        h = lib_x * 2
        h.register_hook(lambda g: g * 10)
        handle = lib_x.register_hook(lambda g: seen.append(g.tolist()))
        (h * h).sum().backward()
        handle.remove()
        (lib_x * 1).sum().backward()
    assert_close(jx.grad, tx.grad)
    assert seen[0] == seen[1]
    assert len(seen) == 2  # removed hooks are not called again


def test_hook_on_a_tensor_that_does_not_require_grad_is_refused():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        juanji.ones(2).register_hook(lambda g: g)


# ------------------------------------------------------------------ autograd.grad / autograd.backward
def test_autograd_grad_returns_gradients_without_accumulating():
    jx, tx = _pair([0.5, 1.5])
    jy, ty = _pair([2.0, -1.0])
    results = []
    for lib, x, y in ((juanji, jx, jy), (torch, tx, ty)):
        h = x * y
        out = (h.exp() * x).sum()
        results.append(lib.autograd.grad(out, [x, h]))
        assert x.grad is None
    for a, b in zip(*results):
        assert_close(a, b)


def test_autograd_grad_unused_inputs():
    x = juanji.ones(2, requires_grad=True)
    z = juanji.ones(2, requires_grad=True)
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        juanji.autograd.grad(out, [x, z], retain_graph=True)
    gx, gz = juanji.autograd.grad(out, [x, z], allow_unused=True, retain_graph=True)
    assert gz is None and gx.tolist() == [2.0, 2.0]
    gx, gz = juanji.autograd.grad(out, [x, z], allow_unused=True, materialize_grads=True)
    assert gz.tolist() == [0.0, 0.0]


def test_autograd_grad_with_grad_outputs_and_a_single_input():
    jx, tx = _pair([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[1.0, -1.0], [0.5, 2.0]])
    (jg,) = juanji.autograd.grad(jx.sin() * 3, jx, grad_outputs=juanji.tensor(g))
    (tg,) = torch.autograd.grad(tx.sin() * 3, tx, grad_outputs=torch.tensor(g))
    assert_close(jg, tg)


def test_autograd_backward_of_several_outputs():
    jx, tx = _pair([1.0, 2.0])
    for lib, x in ((juanji, jx), (torch, tx)):
        a = (x * x).sum()
        b = x.exp()
        lib.autograd.backward([a, b], [None, lib.tensor([1.0, -1.0], dtype=lib.float64)])
    assert_close(jx.grad, tx.grad)


def test_backward_with_inputs_accumulates_only_into_those():
    jx, tx = _pair([1.0, 2.0])
    jy, ty = _pair([3.0, 4.0])
    for x, y in ((jx, jy), (tx, ty)):
        (x * y).sum().backward(inputs=[x])
    assert_close(jx.grad, tx.grad)
    assert jy.grad is None and ty.grad is None


# ------------------------------------------------------------------ in-place under autograd
def test_in_place_ops_on_non_leaves_match_torch():
    # (torch refuses in-place changes to values its backward still needs; these sequences avoid that)
    def fn(a, b):
        h = a * b
        h.add_(b, alpha=2)
        h.mul_(a)
        h.sub_(1.5)
        h.div_(b + 3)
        h += a
        h *= 2
        h.clamp_(-1, 1)
        g = a * 3
        g.relu_()
        e = b * 1
        e.exp_()
        return h, g, e

    compare_with_torch(fn, None, [np.array([0.3, -0.7, 1.1, 2.0]), np.array([0.5, 0.2, -0.4, 1.0])])


def test_a_use_before_an_in_place_op_keeps_the_old_value():
    def fn(a):
        h = a * 2
        before = h.exp() * 3 + h  # uses the old h
        h.add_(1)
        h.mul_(a)
        return before + h

    compare_with_torch(fn, None, [np.array([0.3, -0.7, 1.1])])


def test_in_place_on_a_view_writes_through_to_its_base():
    def fn(a, b):
        h = a * 1
        h[0].mul_(b[0])
        h[:, 1].add_(b)
        h[1:, :2] = b[:1] * 3
        row = h[1]
        row.zero_()
        return h

    compare_with_torch(fn, None, [np.arange(6.0).reshape(3, 2) + 1, np.array([0.5, -2.0])])


def test_in_place_into_a_buffer_that_does_not_require_grad():
    def fn(w):
        out = (juanji if isinstance(w, juanji.Tensor) else torch).zeros(2, 3, dtype=w.dtype)
        out[0] = w * 2
        out[1, 1:] = w[:2].exp()
        out.mul_(w)
        return out

    compare_with_torch(fn, None, [np.array([0.5, -1.0, 2.0])])


def test_in_place_on_a_leaf_that_requires_grad_is_refused():
    w = juanji.ones(3, requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.fill_(1.0), lambda: w.relu_(),
               lambda: w.copy_(juanji.zeros(3)), lambda: w.clamp_(0, 1), lambda: w.normal_()):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            op()
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[:2].add_(1)
    with juanji.no_grad():
        w.mul_(2)
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0, 2.0] and w.is_leaf


def test_manual_sgd_step_through_data_and_no_grad():
    w = juanji.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data[:] -= 0.1 * w.grad
    assert np.allclose(w.tolist(), [0.8, 1.6])
    with juanji.no_grad():
        w -= 0.5 * w.grad
    assert np.allclose(w.tolist(), [-0.2, -0.4]) and w.is_leaf and w.requires_grad
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]
    w.data = juanji.tensor([9.0, 9.0])
    assert w.tolist() == [9.0, 9.0] and w.requires_grad


def test_detach_shares_memory_and_cuts_history():
    x = juanji.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 100.0
    assert y[0].item() == 100.0
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad


def test_fill_zero_and_copy_on_non_leaves_match_torch():
    def fn(a, b):
        h = a * 2
        h[0].fill_(3.0)
        k = a * b
        k.zero_()
        m = a + 1
        m.copy_(b * 5)
        n = b * 1
        n[1:].copy_(a[:2] * 7)
        return h, k + a, m, n

    compare_with_torch(fn, None, [np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -3.0])])


def test_copy_of_a_constant_into_a_non_leaf_keeps_it_differentiable():
    def fn(a):
        h = a * 2
        h.copy_((juanji if isinstance(a, juanji.Tensor) else torch).ones(3, dtype=a.dtype))
        return h * a

    compare_with_torch(fn, None, [np.array([0.5, -1.0, 2.0])])


def test_higher_order_gradients_are_refused_clearly():
    x = juanji.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="higher-order gradients are not supported"):
        (x * x).sum().backward(create_graph=True)
    with pytest.raises(NotImplementedError, match="higher-order"):
        juanji.autograd.grad((x * x).sum(), x, create_graph=True)
