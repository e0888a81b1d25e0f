"""d2l 2.5 (automatic differentiation) runs unchanged on juanji and gives PyTorch's gradients:
``examples/d2l_autograd.py`` section by section, plus the autograd idioms tutorials lean on."""

import numpy as np
import pytest

import juanji
from tests.test_compat_support import assert_same, load_example, torch_or_skip

example = load_example("d2l_autograd")


@pytest.mark.parametrize("section", example.SECTIONS, ids=lambda s: s.__name__)
def test_section_matches_torch(section):
    torch = torch_or_skip()
    # float32 transcendental functions may differ in the last bit between NumPy and ATen
    assert_same(section(juanji), section(torch), path=section.__name__, rtol=1e-5, atol=1e-7)


def test_control_flow_gradient_is_f_over_a():
    results = example.control_flow(juanji)
    for key, (d, grad, check) in results.items():
        a = float(key.split("=")[1])  # f is linear in a on each piece: f'(a) = f(a) / a
        assert check.item() and grad.item() == pytest.approx(d.item() / a, rel=1e-6)


def test_backward_without_gradient_on_a_vector_is_torchs_error():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        x = lib.arange(4.0, requires_grad=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            (x * x).backward()


def test_second_backward_without_retain_graph_is_torchs_error():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        x = lib.arange(4.0, requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.backward()


def test_gradients_accumulate_until_zeroed():
    torch = torch_or_skip()

    def run(lib):
        x = lib.arange(4.0, requires_grad=True)
        grads = []
        for _ in range(3):
            (x * x).sum().backward()
            grads.append(x.grad.clone())
        x.grad.zero_()
        grads.append(x.grad.clone())
        return grads

    assert_same(run(juanji), run(torch))


def test_in_place_update_of_a_leaf_outside_no_grad_is_torchs_error():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        w = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w -= 0.1


def test_numpy_of_a_tensor_that_requires_grad_is_torchs_error():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
            lib.ones(2, requires_grad=True).numpy()


def test_grad_fn_names_print_as_in_torch():
    torch = torch_or_skip()

    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return [repr(x * 2), repr(x.sum()), repr(4.2 - x), type((x + 1).grad_fn).__name__]

    assert_same(run(juanji), run(torch))


def test_detach_shares_data_but_not_the_graph():
    torch = torch_or_skip()

    def run(lib):
        x = lib.arange(3.0, requires_grad=True)
        y = x * 2
        u = y.detach()
        u[0] = 10.0  # detach shares storage with y
        return [y.detach().clone(), u.requires_grad, u.grad_fn is None, y.grad_fn is None]

    assert_same(run(juanji), run(torch))


def test_gradcheck_of_the_control_flow_function():
    """juanji's own float64 numerical gradcheck on d2l's while/if function (no torch)."""
    from juanji.autograd import gradcheck

    def f(a):
        b = a * 2
        while b.norm() < 1000:
            b = b * 2
        return b if b.sum() > 0 else 100 * b

    for start in (-0.7, 0.3):
        a = juanji.tensor(np.array([start]), requires_grad=True)
        assert gradcheck(f, (a,))
