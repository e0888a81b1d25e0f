"""nn.utils against torch: clip_grad_norm_ (every norm type, clipping and not, missing grads,
non-finite norms), clip_grad_value_, parameters_to_vector and vector_to_parameters."""

import math

import numpy as np
import pytest

import juanji
import juanji.nn as nn
from tests.helpers import random_array

torch = pytest.importorskip("torch")
tutils = torch.nn.utils


def _params_with_grads(lib, arrays, grads):
    params = []
    for a, g in zip(arrays, grads):
        p = lib.nn.Parameter(lib.tensor(a.copy()))
        p.grad = None if g is None else lib.tensor(g.copy())
        params.append(p)
    return params


def _setup(dtype="float32", with_missing=False, scale=1.0):
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    arrays = [random_array(s, dtype, rng) for s in shapes]
    grads = [random_array(s, dtype, rng) * scale for s in shapes]
    if with_missing:
        grads[1] = None
    return arrays, grads


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("with_missing", [False, True])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype, with_missing):
    arrays, grads = _setup(dtype, with_missing)
    jp, tp = _params_with_grads(juanji, arrays, grads), _params_with_grads(torch, arrays, grads)
    tol = dict(rtol=1e-5, atol=1e-7) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    j_total = nn.utils.clip_grad_norm_(jp, max_norm, norm_type)
    t_total = tutils.clip_grad_norm_(tp, max_norm, norm_type)
    assert j_total.dtype is getattr(juanji, dtype) and j_total.ndim == 0
    np.testing.assert_allclose(j_total.numpy(), t_total.numpy(), **tol)
    for j, t in zip(jp, tp):
        if t.grad is None:
            assert j.grad is None
        else:
            np.testing.assert_allclose(j.grad.numpy(), t.grad.numpy(), **tol)


def test_clip_grad_norm_clips_to_max_norm_and_accepts_one_tensor_and_generators():
    model = nn.Linear(10, 10)
    model(juanji.randn(4, 10)).pow(2).sum().mul(100).backward()
    before = nn.utils.get_total_norm([p.grad for p in model.parameters()]).item()
    returned = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    assert returned.item() == pytest.approx(before)
    after = nn.utils.get_total_norm([p.grad for p in model.parameters()]).item()
    assert after == pytest.approx(1.0, rel=1e-4)
    w = nn.Parameter(juanji.ones(4))
    w.grad = juanji.full((4,), 3.0)
    assert nn.utils.clip_grad_norm_(w, 3.0).item() == pytest.approx(6.0)
    np.testing.assert_allclose(w.grad.numpy(), 1.5, rtol=1e-5)


def test_clip_grad_norm_without_grads_returns_zero_like_torch():
    j = nn.utils.clip_grad_norm_([nn.Parameter(juanji.ones(2))], 1.0)
    t = tutils.clip_grad_norm_([torch.nn.Parameter(torch.ones(2))], 1.0)
    assert j.item() == t.item() == 0.0 and j.dtype is juanji.float32


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_clip_grad_norm_non_finite(bad):
    arrays, grads = _setup()
    grads[0][0, 0] = bad
    jp, tp = _params_with_grads(juanji, arrays, grads), _params_with_grads(torch, arrays, grads)
    with pytest.raises(RuntimeError) as t_err:
        tutils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as j_err:
        nn.utils.clip_grad_norm_(jp, 1.0, error_if_nonfinite=True)
    assert str(j_err.value) == str(t_err.value)
    j_total = nn.utils.clip_grad_norm_(jp, 1.0)  # without the flag: scaled anyway, as in torch
    t_total = tutils.clip_grad_norm_(tp, 1.0)
    np.testing.assert_array_equal(j_total.numpy(), t_total.numpy())
    for j, t in zip(jp, tp):
        np.testing.assert_array_equal(j.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("clip_value", [0.5, 1, 10.0])
def test_clip_grad_value_matches_torch(clip_value):
    arrays, grads = _setup(with_missing=True, scale=3.0)
    jp, tp = _params_with_grads(juanji, arrays, grads), _params_with_grads(torch, arrays, grads)
    assert nn.utils.clip_grad_value_(jp, clip_value) is None
    tutils.clip_grad_value_(tp, clip_value)
    for j, t in zip(jp, tp):
        if t.grad is None:
            assert j.grad is None
        else:
            np.testing.assert_array_equal(j.grad.numpy(), t.grad.numpy())


def test_parameters_to_vector_and_back_match_torch():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    jm = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    jm.load_state_dict({k: juanji.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    jv, tv = nn.utils.parameters_to_vector(jm.parameters()), tutils.parameters_to_vector(tm.parameters())
    np.testing.assert_array_equal(jv.detach().numpy(), tv.detach().numpy())
    jv.sum().backward()  # differentiable, like torch's cat of views
    assert np.all(jm[0].weight.grad.numpy() == 1)
    new = np.arange(tv.numel(), dtype=np.float32)
    nn.utils.vector_to_parameters(juanji.tensor(new), jm.parameters())
    tutils.vector_to_parameters(torch.tensor(new), tm.parameters())
    for (name, j), (_, t) in zip(jm.named_parameters(), tm.named_parameters()):
        np.testing.assert_array_equal(j.detach().numpy(), t.detach().numpy(), err_msg=name)
        assert isinstance(j, nn.Parameter)


def test_vector_to_parameters_refuses_non_tensors_like_torch():
    with pytest.raises(TypeError) as t_err:
        tutils.vector_to_parameters([1.0], [torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(TypeError) as j_err:
        nn.utils.vector_to_parameters([1.0], [nn.Parameter(juanji.zeros(1))])
    assert str(j_err.value) == str(t_err.value)
