"""The CNN chapters' architectures on d2l's classes: on juanji they print, initialise, compute and
differentiate as on torch (``layer_summary``, ``apply_init`` with ``d2l.init_cnn``, one training step).

Each model is built twice from the same builder (``d2l_models``), once per framework; torch's
initial weights are copied into juanji's model, since the two generators draw different numbers.
"""

import contextlib
import io

import numpy as np
import pytest

import juanji
from tests.compat.d2l_models import BUILDERS, build
from tests.compat.d2l_support import copy_weights, d2l_on, to_numpy

torch = pytest.importorskip("torch")
NAMES = sorted(BUILDERS)


def _input(side, batch=4, seed=0):
    x = np.random.default_rng(seed).standard_normal((batch, 1, side, side)).astype(np.float32)
    return juanji.tensor(x), torch.tensor(x)


def _pair(name, **kwargs):
    """The same architecture on juanji and on torch, materialised by one batch, with torch's weights in both."""
    d2l_j, d2l_t = d2l_on("juanji"), d2l_on("torch")
    side = BUILDERS[name][1]
    xj, xt = _input(side)
    torch.manual_seed(0)
    mt = build(name, d2l_t, **kwargs)
    mt.apply_init([xt], d2l_t.init_cnn)
    juanji.manual_seed(0)
    mj = build(name, d2l_j, **kwargs)
    mj.apply_init([xj], d2l_j.init_cnn)
    copy_weights(mt, mj)
    return mj, mt, xj, xt


def _summary(model, shape):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.layer_summary(shape)
    return out.getvalue()


@pytest.mark.parametrize("name", NAMES)
def test_layer_summary_prints_what_torch_prints(name):
    side = BUILDERS[name][1]
    juanji.manual_seed(0)
    torch.manual_seed(0)
    printed_j = _summary(build(name, d2l_on("juanji")), (2, 1, side, side))
    printed_t = _summary(build(name, d2l_on("torch")), (2, 1, side, side))
    assert printed_j.count("\n") >= 3
    assert printed_j.replace("juanji.Size", "torch.Size") == printed_t


@pytest.mark.parametrize("name", NAMES)
def test_lazy_layers_become_the_same_modules_with_the_same_state(name):
    mj, mt, _, _ = _pair(name)
    kinds_j = [type(m).__name__ for m in mj.modules()]
    kinds_t = [type(m).__name__ for m in mt.modules()]
    assert kinds_j == kinds_t  # LazyConv2d -> Conv2d, LazyLinear -> Linear ... as torch's cls_to_become
    state_j, state_t = mj.state_dict(), mt.state_dict()
    assert list(state_j) == list(state_t)
    for key in state_t:
        assert tuple(state_j[key].shape) == tuple(state_t[key].shape), key
    assert sum(p.numel() for p in mj.parameters()) == sum(p.numel() for p in mt.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_init_cnn_gives_xavier_uniform_to_the_same_layers(name):
    """init_cnn tests ``type(module) == nn.Linear or nn.Conv2d``: only materialised lazy layers match.
    On both frameworks it must reach the same layers, each weight inside the Xavier bound
    sqrt(6 / (fan_in + fan_out)) and spread like a uniform draw (std = bound / sqrt(3))."""
    d2l_j, d2l_t = d2l_on("juanji"), d2l_on("torch")
    side = BUILDERS[name][1]
    xj, xt = _input(side)
    reached = {}
    for fw, d2l, x in (("juanji", d2l_j, xj), ("torch", d2l_t, xt)):
        model = build(name, d2l)
        model(x)  # materialise the lazy layers with their default init
        before = {k: to_numpy(v).copy() for k, v in model.state_dict().items()}
        model.net.apply(d2l.init_cnn)
        changed = []
        for key, value in model.state_dict().items():
            if not np.array_equal(before[key], to_numpy(value)):
                changed.append(key)
                w = to_numpy(value)
                fan_in, fan_out = w.shape[1] * w[0, 0].size, w.shape[0] * w[0, 0].size
                bound = np.sqrt(6.0 / (fan_in + fan_out))
                assert np.abs(w).max() <= bound * (1 + 1e-6), (fw, key)
                if w.size >= 2000:
                    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound / np.sqrt(3), (fw, key)
        reached[fw] = changed
    assert reached["juanji"] == reached["torch"]
    assert reached["juanji"] and all(k.endswith("weight") for k in reached["juanji"])


@pytest.mark.parametrize("name", NAMES)
def test_one_training_step_matches_torch(name):
    """Same weights, same batch: loss, accuracy, every parameter gradient, and the weights after
    the Classifier's own SGD step agree with torch; in eval mode the outputs too. In float64: the
    from-scratch batch norms over a batch of 4 make float32 rounding differences of 1e-3 relative in
    the first layer's gradient (torch's own float32 error there is as large), so float32 would test
    the conditioning, not the code."""
    mj, mt, xj, xt = _pair(name, dropout=0.0)
    mj.double()
    mt.double()
    xj, xt = xj.double(), xt.double()
    labels = np.arange(xj.shape[0]) % 10
    yj, yt = juanji.tensor(labels), torch.tensor(labels)
    lj, lt = mj.loss(mj(xj), yj), mt.loss(mt(xt), yt)
    np.testing.assert_allclose(lj.item(), lt.item(), rtol=1e-10)
    np.testing.assert_allclose(float(mj.accuracy(mj(xj), yj)), float(mt.accuracy(mt(xt), yt)))
    lj.backward()
    lt.backward()
    grads_t = {key: to_numpy(p.grad) for key, p in mt.named_parameters()}
    # the absolute floor follows the model's largest gradient: a conv bias just before a batch norm
    # has a true gradient of 0, and both frameworks give rounding noise there
    scale = max(np.abs(g).max() for g in grads_t.values())
    for key, pj in mj.named_parameters():
        np.testing.assert_allclose(to_numpy(pj.grad), grads_t[key], rtol=1e-7, atol=1e-10 * scale,
                                   err_msg=f"{name}: {key}")
    oj, ot = mj.configure_optimizers(), mt.configure_optimizers()
    oj.step()
    ot.step()
    for key, value in mt.state_dict().items():
        # w - lr * grad, with the gradients equal as above
        np.testing.assert_allclose(to_numpy(mj.state_dict()[key]), to_numpy(value), rtol=1e-9, atol=1e-10,
                                   err_msg=f"{name}: {key} after the step")
    mj.eval()
    mt.eval()
    with juanji.no_grad(), torch.no_grad():
        np.testing.assert_allclose(to_numpy(mj(xj)), to_numpy(mt(xt)), rtol=1e-9, atol=1e-10)
