"""Saved activations made again in backward (``juanji/autograd/recompute.py``).

After batch norm, a ReLU's (ReLU6's) output is not kept by the graph: the ReLU and the next
convolution keep a recipe, and backward remakes the array from batch norm's input. These tests
hold the remade arrays to the forward's bits, the gradients to those of a graph that keeps the
arrays (``==``) and to torch's, and check that the arrays are really let go.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import juanji
import juanji.nn.functional as F
from juanji.autograd import recompute
from tests.helpers import assert_close, default_tolerance

DTYPES = ("float32", "float64")
# (N, C, *spatial): rows long and short (below the batch-norm loops' SHORT_ROW), 1-d to 3-d, batch 1
SHAPES = [(4, 3, 8, 8), (2, 5, 3, 3), (2, 4, 1, 1), (3, 6, 2), (2, 3, 2, 3, 4), (1, 16, 5, 7), (8, 2, 1, 2)]


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _leaf(rng, shape, dtype, grad=True):
    return juanji.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


def _bn_relu(seed, dtype):
    """``x`` (2, 3, 6, 6) and a conv weight ``w`` (4, 3, 3, 3), leaves, and ``y = batch_norm(x)`` (training,
    no running estimates) with ``z = relu(y)``: the graph whose ReLU output is remade in backward."""
    rng = np.random.default_rng(seed)
    x = _leaf(rng, (2, 3, 6, 6), dtype)
    w = _leaf(rng, (4, 3, 3, 3), dtype)
    y = F.batch_norm(x, None, None, training=True)
    return x, w, y, F.relu(y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("special", [False, True])
def test_batch_norm_output_is_remade_bit_for_bit(dtype, shape, training, affine, special):
    rng = np.random.default_rng(sum(shape))
    x = _leaf(rng, shape, dtype)
    x.data[:, :1] = 0.5  # a constant channel (batch norm's flat case)
    if special:  # a NaN channel, and values that map to exactly 0 (x = the mean, no bias)
        x.data[0, -1].view(-1)[0] = float("nan")
        x.data[:, 1:2] = 0.0
        x.data[0, 1].view(-1)[0] = 1.0
        x.data[-1, 1].view(-1)[-1] = -1.0
    w = _leaf(rng, shape[1], dtype) if affine else None
    b = _leaf(rng, shape[1], dtype) if affine else None
    mean = juanji.tensor(rng.standard_normal(shape[1]).astype(dtype))
    var = juanji.tensor(rng.uniform(0.5, 2, shape[1]).astype(dtype))
    y = F.batch_norm(x, mean, var, w, b, training=training)
    recipe = recompute.lookup(y._data)
    assert recipe is not None
    assert np.array_equal(_bits(recipe.make()), _bits(y._data))
    for activation in (F.relu, F.relu6, lambda t: F.hardtanh(t, -0.5, 0.25)):
        z = activation(y)
        again = recompute.lookup(z._data)
        assert again is not None
        assert np.array_equal(_bits(again.make()), _bits(z._data))


def _chain(x, params, activation, inplace):
    """conv -> batch norm -> activation -> conv -> batch norm -> activation -> conv, summed with weights."""
    w1, g1, b1, w2, g2, b2, w3 = params
    h = F.conv2d(x, w1, padding=1)
    h = F.batch_norm(h, None, None, g1, b1, training=True)
    h = activation(h, inplace)
    h = F.conv2d(h, w2, padding=1)
    h = F.batch_norm(h, None, None, g2, b2, training=True)
    h = activation(h, inplace)
    return F.conv2d(h, w3, stride=2)


ACTIVATIONS = {
    "none": (lambda t, inplace: t, lambda t, inplace: t),  # the convolution keeps batch norm's recipe
    "relu": (lambda t, inplace: F.relu(t, inplace=inplace), lambda t, inplace: torch.nn.functional.relu(t, inplace)),
    "relu6": (lambda t, inplace: F.relu6(t, inplace=inplace),
              lambda t, inplace: torch.nn.functional.relu6(t, inplace)),
    "hardtanh": (lambda t, inplace: F.hardtanh(t, -0.3, 0.4, inplace=inplace),
                 lambda t, inplace: torch.nn.functional.hardtanh(t, -0.3, 0.4, inplace)),
}


def _params(rng, dtype):
    shapes = [(6, 3, 3, 3), (6,), (6,), (5, 6, 3, 3), (5,), (5,), (4, 5, 1, 1)]
    return [rng.standard_normal(s).astype(dtype) * (0.5 if len(s) == 4 else 1) for s in shapes]


def _run_juanji(x, params, g, name, inplace):
    xs = juanji.tensor(x, requires_grad=True)
    ps = [juanji.tensor(p, requires_grad=True) for p in params]
    out = _chain(xs, ps, ACTIVATIONS[name][0], inplace)
    out.backward(juanji.tensor(g))
    return out._data, [t.grad._data for t in [xs] + ps]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("inplace", [False, True])
def test_gradients_are_those_of_the_kept_arrays_and_torchs(dtype, name, inplace, monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 3, 9, 9)).astype(dtype)
    params = _params(rng, dtype)
    g = rng.standard_normal((3, 4, 5, 5)).astype(dtype)
    out, grads = _run_juanji(x, params, g, name, inplace)
    with monkeypatch.context() as m:
        m.setattr(recompute, "register", lambda array, recipe: None)
        out_kept, grads_kept = _run_juanji(x, params, g, name, inplace)
    assert np.array_equal(out, out_kept)
    for a, b in zip(grads, grads_kept):
        assert np.array_equal(_bits(a), _bits(b))
    # and torch's
    tx = torch.tensor(x, requires_grad=True)
    tps = [torch.tensor(p, requires_grad=True) for p in params]
    w1, g1, b1, w2, g2, b2, w3 = tps
    act = ACTIVATIONS[name][1]
    tf = torch.nn.functional
    h = act(tf.batch_norm(tf.conv2d(tx, w1, padding=1), None, None, g1, b1, training=True), inplace)
    h = act(tf.batch_norm(tf.conv2d(h, w2, padding=1), None, None, g2, b2, training=True), inplace)
    tout = tf.conv2d(h, w3, stride=2)
    tout.backward(torch.tensor(g))
    rtol, atol = default_tolerance(dtype)
    assert_close(out, tout.detach().numpy(), rtol=rtol * 10, atol=atol * 10)
    for a, t in zip(grads, [tx] + tps):
        assert_close(a, t.grad.numpy(), rtol=rtol * 100, atol=atol * 100)


@pytest.mark.parametrize("registry", ["on", "off"])
def test_the_activation_is_let_go_after_the_forward(registry, monkeypatch):
    """Neither the ReLU nor the convolution keeps the ReLU's output; with the registry off the graph
    does (so the check can fail)."""
    if registry == "off":
        monkeypatch.setattr(recompute, "register", lambda array, recipe: None)
    x, w, y, z = _bn_relu(0, "float32")
    gone = weakref.ref(z._data)
    out = F.conv2d(z, w).sum()
    del y, z
    gc.collect()
    assert (gone() is None) == (registry == "on")
    out.backward()
    assert x.grad is not None and w.grad is not None


def test_remade_values_are_dropped_after_batch_norms_backward():
    x, w, y, z = _bn_relu(1, "float64")
    recipe = recompute.lookup(z._data)
    source = recompute.lookup(y._data)
    F.conv2d(z, w).sum().backward(retain_graph=True)
    assert recipe._cache is None and source._cache is None
    first = (x.grad._data.copy(), w.grad._data.copy())
    x.grad = w.grad = None
    F.conv2d(z, w)  # (a new use, not backpropagated)
    del y, z
    gc.collect()
    out = F.conv2d(F.relu(F.batch_norm(x, None, None, training=True)), w).sum()
    out.backward()
    assert np.array_equal(first[0], x.grad._data) and np.array_equal(first[1], w.grad._data)


def test_a_convolution_of_a_detached_activation_outlives_its_graph():
    x, w, y, z = _bn_relu(2, "float32")
    feature = z.detach()
    del y, z
    want = feature._data.copy()
    out = F.conv2d(feature, w).sum()
    del feature
    gc.collect()
    out.backward()
    expect = juanji.tensor(want)
    w2 = juanji.tensor(w._data.copy(), requires_grad=True)
    F.conv2d(expect, w2).sum().backward()
    assert np.array_equal(w.grad._data, w2.grad._data)


@pytest.mark.parametrize("write", ["data", "no_grad", "setitem", "random", "out"])
def test_a_write_outside_autograd_is_seen_by_later_ops(write):
    """An activation written outside autograd is kept as it then is by the Ops that use it next."""
    rng = np.random.default_rng(4)
    x = _leaf(rng, (2, 3, 6, 6), "float64")
    w = _leaf(rng, (4, 3, 3, 3), "float64")
    z = F.relu(F.batch_norm(x, None, None, training=True))
    if write == "data":
        z.data.mul_(3.0)
    elif write == "setitem":
        with juanji.no_grad():
            z[0] = 2.0
    elif write == "no_grad":
        with juanji.no_grad():
            z.add_(1.0)
    elif write == "random":
        with juanji.no_grad():
            z.uniform_()
    else:
        with juanji.no_grad():
            juanji.mul(z, 2.0, out=z)
    assert recompute.lookup(z._data) is None
    now = z._data.copy()
    F.conv2d(z, w).sum().backward()
    w2 = juanji.tensor(w._data.copy(), requires_grad=True)
    F.conv2d(juanji.tensor(now), w2).sum().backward()
    assert np.array_equal(w.grad._data, w2.grad._data)


def test_inference_registers_nothing():
    rng = np.random.default_rng(5)
    x = _leaf(rng, (2, 3, 6, 6), "float32", grad=False)
    bn = juanji.nn.BatchNorm2d(3)
    with juanji.no_grad():
        y = bn(x)
    assert recompute.lookup(y._data) is None
    z = F.relu(bn(x))  # parameters need grad: recorded
    assert recompute.lookup(z._data) is not None
    bn.eval()
    for p in bn.parameters():
        p.requires_grad_(False)
    assert recompute.lookup(F.relu(bn(x))._data) is None


def test_a_torchvision_style_block_trains_like_the_kept_arrays(monkeypatch):
    """nn.Sequential with ReLU(inplace=True) and a residual add, two SGD steps: the same bits either way."""
    def run():
        juanji.manual_seed(0)
        block = juanji.nn.Sequential(juanji.nn.Conv2d(3, 8, 3, padding=1, bias=False), juanji.nn.BatchNorm2d(8),
                                     juanji.nn.ReLU(inplace=True), juanji.nn.Conv2d(8, 8, 3, padding=1, bias=False),
                                     juanji.nn.BatchNorm2d(8), juanji.nn.ReLU6(inplace=True),
                                     juanji.nn.Conv2d(8, 3, 1))
        opt = juanji.optim.SGD(block.parameters(), lr=0.1, momentum=0.9)
        x = juanji.tensor(np.random.default_rng(6).standard_normal((4, 3, 8, 8)).astype(np.float32))
        for _ in range(2):
            opt.zero_grad()
            loss = (F.relu(block(x) + x) ** 2).mean()
            loss.backward()
            opt.step()
        return [p._data.copy() for p in block.parameters()]
    got = run()
    with monkeypatch.context() as m:
        m.setattr(recompute, "register", lambda array, recipe: None)
        want = run()
    for a, b in zip(got, want):
        assert np.array_equal(a, b)
