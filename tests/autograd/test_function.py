"""User-defined ``autograd.Function`` (torch's ctx style) and juanji's numerical ``gradcheck``."""

import numpy as np
import pytest

import juanji
from juanji.autograd import Function, GradcheckError, Op, gradcheck
from tests.helpers import compare_with_torch

torch = pytest.importorskip("torch")


def _function_classes(lib):
    """The same two Functions written once against ``lib`` (juanji or torch)."""

    class ScaledExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y, None

    class MulAdd(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, c):
            ctx.save_for_backward(a, b)
            return a * b + c

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            ga = grad * b if ctx.needs_input_grad[0] else None
            gb = grad * a if ctx.needs_input_grad[1] else None
            return ga, gb, grad

    return ScaledExp, MulAdd


def test_custom_functions_match_torch():
    def fn(x, y, z):
        lib = juanji if isinstance(x, juanji.Tensor) else torch
        scaled_exp, mul_add = _function_classes(lib)
        return mul_add.apply(scaled_exp.apply(x, 2.5), y, z).sum() + scaled_exp.apply(y, 0.5).sum()

    rng = np.random.default_rng(0)
    compare_with_torch(fn, None, [rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.standard_normal(2)])


def test_needs_input_grad_reflects_the_inputs():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    a = juanji.ones(2, requires_grad=True)
    b = juanji.ones(2)
    out = Probe.apply(a, b, 3)
    out.sum().backward()
    assert seen == [(True, False, False)] and a.grad.tolist() == [1.0, 1.0]
    assert out.grad_fn.name() == "ProbeBackward"


def test_function_without_grad_inputs_records_nothing():
    _, mul_add = _function_classes(juanji)
    out = mul_add.apply(juanji.ones(2), juanji.ones(2), juanji.ones(2))
    assert not out.requires_grad and out.grad_fn is None
    with juanji.no_grad():
        out = mul_add.apply(juanji.ones(2, requires_grad=True), juanji.ones(2), juanji.ones(2))
    assert not out.requires_grad


def test_mark_non_differentiable_and_several_outputs():
    class SortWithIndices(Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort()
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, g_values, g_indices):
            (indices,) = ctx.saved_tensors
            out = juanji.zeros_like(g_values)
            out[indices] = g_values
            return out

    x = juanji.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = SortWithIndices.apply(x)
    assert values.requires_grad and not indices.requires_grad
    (values * juanji.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_saved_tensors_are_freed_after_backward():
    scaled_exp, _ = _function_classes(juanji)
    x = juanji.ones(2, requires_grad=True)
    y = scaled_exp.apply(x, 2.0)
    ctx = y.grad_fn.ctx
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        ctx.saved_tensors


def test_wrong_number_of_gradients_is_an_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return (g,)

    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Bad.apply(juanji.ones(2, requires_grad=True), juanji.ones(2)).sum().backward()


# ------------------------------------------------------------------ gradcheck
class _WrongSquare(Op):
    """x^2 with a deliberately wrong derivative (3x instead of 2x): gradcheck must catch it."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return (g * 3 * self.x,)


def test_gradcheck_passes_a_correct_op_and_catches_a_wrong_one():
    x = juanji.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=juanji.float64, requires_grad=True)
    assert gradcheck(lambda t: t * t, [x])
    with pytest.raises(GradcheckError, match=r"gradient of input 0 \(shape \[2, 2\]\) differs"):
        gradcheck(lambda t: _WrongSquare.apply(t), [x])
    assert gradcheck(lambda t: _WrongSquare.apply(t), [x], raise_exception=False) is False


def test_gradcheck_checks_every_input_and_tuple_outputs():
    a = juanji.tensor([0.5, 1.5], dtype=juanji.float64, requires_grad=True)
    b = juanji.tensor([2.0, -1.0], dtype=juanji.float64, requires_grad=True)
    assert gradcheck(lambda x, y: (x * y, x.exp()), [a, b])
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, y: x * _WrongSquare.apply(y), [a, b])


def test_gradcheck_refuses_float32_inputs():
    x = juanji.ones(2, requires_grad=True)
    with pytest.raises(GradcheckError, match="float64"):
        gradcheck(lambda t: t * 2, [x])


def test_gradcheck_leaves_inputs_and_grad_mode_unchanged():
    x = juanji.tensor([0.5, 1.5], dtype=juanji.float64, requires_grad=True)
    before = x.tolist()
    gradcheck(lambda t: t.sin(), [x])
    assert x.tolist() == before and juanji.is_grad_enabled() and x.grad is None
