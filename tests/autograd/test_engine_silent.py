"""The backward pass meets inf and nan silently, as torch does: the engine's own arithmetic
(summing a broadcast gradient back to an input's shape, adding the gradients that reach a node
or a leaf from several uses, adding into an existing ``.grad``) gives torch's inf/nan values
with NumPy's RuntimeWarnings turned into errors here. A diverging GroupNorm run is the case
that showed it (a nan in its affine parameters' gradients)."""

import warnings

import numpy as np
import pytest

import juanji
from tests.helpers import FLOAT_DTYPES, assert_close

torch = pytest.importorskip("torch")

INF = float("inf")


def _silently(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


def _leaves(lib, *arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_summing_a_broadcast_gradient_with_inf_and_minus_inf_is_silent(dtype):
    # b is broadcast over the rows: its gradient is the column sum of the upstream gradient,
    # inf + -inf = nan in column 0, an overflow to inf in column 1 (float32: 3e38 + 3e38)
    x = np.ones((3, 2), dtype)
    b = np.zeros(2, dtype)
    upstream = np.array([[INF, 3e38], [-INF, 3e38], [1.0, 3e38]], dtype)
    grads = {}
    for lib in (juanji, torch):
        jx, jb = _leaves(lib, x, b)
        _silently(lambda: (jx + jb).backward(lib.tensor(upstream)))
        grads[lib] = jb.grad
    assert_close(grads[juanji], grads[torch])
    assert np.isnan(grads[juanji].numpy()[0])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_adding_the_gradients_of_several_uses_is_silent(dtype):
    # x feeds two products whose gradients are inf and -inf: their sum at x is nan, at a node
    # (h = x * 1 has two consumers) and at the leaf itself
    x = np.array([1.0, 2.0], dtype)
    for make in (lambda lib, x: (x * INF).sum() + (x * -INF).sum(),
                 lambda lib, x: (lambda h: (h * INF).sum() + (h * -INF).sum())(x * 1)):
        grads = {}
        for lib in (juanji, torch):
            (leaf,) = _leaves(lib, x)
            _silently(lambda: make(lib, leaf).backward())
            grads[lib] = leaf.grad
        assert_close(grads[juanji], grads[torch])
        assert np.isnan(grads[juanji].numpy()).all()


def test_accumulating_into_an_existing_grad_overflows_silently():
    x = np.array([1.0, -1.0], "float32")
    grads = {}
    for lib in (juanji, torch):
        (leaf,) = _leaves(lib, x)
        for _ in range(2):
            _silently(lambda: (leaf * 3e38).sum().backward())
        grads[lib] = leaf.grad
    assert_close(grads[juanji], grads[torch])
    assert np.isinf(grads[juanji].numpy()).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_group_norm_backward_with_non_finite_gradients_is_silent(dtype):
    """What a diverging GroupNorm run meets: an upstream gradient holding inf and -inf in the
    same channel. The affine bias is broadcast over (N, H, W), so its gradient is the engine's
    sum of that gradient: nan where inf meets -inf, inf where only inf is, as in torch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3, 3)).astype(dtype)
    weight, bias = np.ones(4, dtype), np.zeros(4, dtype)
    upstream = rng.standard_normal(x.shape).astype(dtype)
    upstream[0, 1, 0, 0], upstream[1, 1, 2, 2], upstream[0, 3, 1, 1] = INF, -INF, INF
    grads = {}
    for lib in (juanji, torch):
        leaves = _leaves(lib, x, weight, bias)
        out = lib.nn.functional.group_norm(leaves[0], 2, leaves[1], leaves[2])
        _silently(lambda: out.backward(lib.tensor(upstream)))
        grads[lib] = [t.grad for t in leaves]
    (jx, jw, jb), (tx, tw, tb) = grads[juanji], grads[torch]
    assert_close(jb, tb)
    assert np.isnan(jb.numpy()[1]) and np.isinf(jb.numpy()[3])
    # the input's and the weight's gradients are not finite where torch's are not (which of
    # inf and nan each holds depends on the formula: torch's fused one turns more into nan)
    assert np.array_equal(np.isfinite(jw.numpy()), np.isfinite(tw.numpy()))
    assert np.array_equal(np.isfinite(jx.numpy()), np.isfinite(tx.numpy()))
