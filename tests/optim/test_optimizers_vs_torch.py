"""Every optimiser against torch.optim: the same starting parameters and the same gradient
sequence for 20 steps must give the same parameters and the same state (names and values).

Gradients are set directly (``p.grad = ...``) so both frameworks see bit-identical inputs;
some steps leave a parameter without a gradient, which both must skip.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import juanji

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [np.float32, np.float64]
SHAPES = [(7,), (3, 4), (2, 3, 5), ()]
STEPS = 20

CONFIGS = {
    "SGD": [
        {},  # torch 2.x's default lr=1e-3
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.9),
        dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01),
        dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
        dict(lr=0.02, momentum=0.9, maximize=True),
        dict(lr=0.02, weight_decay=0.05, maximize=True),
    ],
    "Adam": [
        {},
        dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
        dict(lr=0.05, amsgrad=True),
        dict(lr=0.01, maximize=True, eps=1e-6, amsgrad=True),
        dict(lr=0.01, betas=(0.3, 0.5)),  # 1 - beta >= 0.5: torch's other lerp formula
        dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    ],
    "AdamW": [
        {},
        dict(lr=0.02, weight_decay=0.1, amsgrad=True),
        dict(lr=0.01, maximize=True, betas=(0.5, 0.9)),
    ],
    "RMSprop": [
        {},
        dict(lr=0.01, centered=True),
        dict(lr=0.01, momentum=0.9),
        dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1, alpha=0.9),
        dict(lr=0.01, alpha=0.3, centered=True),  # 1 - alpha >= 0.5 in the grad_avg lerp
        dict(lr=0.01, maximize=True, eps=1e-4),
    ],
    "Adagrad": [
        {},
        dict(lr=0.1, lr_decay=0.01, weight_decay=0.1),
        dict(lr=0.05, initial_accumulator_value=0.1, eps=1e-6),
        dict(lr=0.05, maximize=True),
    ],
    "Adadelta": [
        {},  # lr=1.0, rho=0.9, eps=1e-6
        dict(lr=0.5, rho=0.95),
        dict(lr=1.0, eps=1e-4, weight_decay=0.1),
        dict(lr=0.3, maximize=True, weight_decay=0.05, rho=0.5),
        dict(lr=1.0, rho=0.0),  # no memory: each step uses only the current gradient
        dict(lr=1.0, rho=1.0),  # both averages stay zero, so each step is plain SGD: -lr * g
    ],
}
CASES = [(name, kwargs) for name, configs in CONFIGS.items() for kwargs in configs]


def _case_id(case):
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _has_grad(step, index):
    """A fixed pattern of missing gradients: parameter 1 gets none at steps 3 and 4, parameter 2
    none at step 0 (so its state starts late)."""
    return not ((index == 1 and step in (3, 4)) or (index == 2 and step == 0))


def _make_pair(name, kwargs, dtype, seed, groups=None):
    """Identical parameters in juanji and torch, and an optimiser of each."""
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    j_params = [juanji.tensor(a.copy(), requires_grad=True) for a in initial]
    t_params = [torch.tensor(a.copy(), requires_grad=True) for a in initial]

    def spec(params):
        if groups is None:
            return params
        return [dict(params=[params[i] for i in idx], **extra) for idx, extra in groups]

    j_opt = getattr(juanji.optim, name)(spec(j_params), **kwargs)
    t_opt = getattr(torch.optim, name)(spec(t_params), **kwargs)
    return j_params, t_params, j_opt, t_opt


def _gradients(dtype, seed, steps=STEPS):
    rng = np.random.default_rng(seed + 1000)
    return [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]


def _set_grads(params, grads, step, make):
    for i, p in enumerate(params):
        p.grad = make(grads[step][i].copy()) if _has_grad(step, i) else None


def _run(j_params, t_params, j_opt, t_opt, grads, steps):
    for step in steps:
        _set_grads(j_params, grads, step, juanji.tensor)
        _set_grads(t_params, grads, step, torch.tensor)
        j_opt.step()
        t_opt.step()


def _assert_same(j_params, t_params, j_opt, t_opt, dtype):
    for i, (jp, tp) in enumerate(zip(j_params, t_params)):
        assert jp.dtype.name == str(tp.dtype).replace("torch.", "")
        np.testing.assert_allclose(jp.detach().numpy(), tp.detach().numpy(), **TOL[dtype],
                                   err_msg=f"parameter {i}")
        j_state, t_state = j_opt.state[jp], t_opt.state[tp]
        assert sorted(j_state) == sorted(t_state), f"state keys of parameter {i}"
        for key, t_value in t_state.items():
            j_value = j_state[key]
            if key == "step":
                assert float(j_value) == float(t_value)
                assert j_value.dtype.name == str(t_value.dtype).replace("torch.", "")
            else:
                np.testing.assert_allclose(j_value.numpy(), t_value.numpy(), **TOL[dtype],
                                           err_msg=f"state {key!r} of parameter {i}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_twenty_steps_match_torch(case, dtype):
    name, kwargs = case
    pair = _make_pair(name, kwargs, dtype, seed=len(CASES))
    _run(*pair, _gradients(dtype, 0), range(STEPS))
    _assert_same(*pair, dtype)


GROUPS = [([0, 2], dict(lr=0.03)), ([1, 3], dict(lr=0.007, weight_decay=0.2))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_parameter_groups_match_torch(name, dtype):
    pair = _make_pair(name, dict(lr=0.01), dtype, seed=3, groups=GROUPS)
    j_opt, t_opt = pair[2], pair[3]
    assert [sorted(g) for g in j_opt.param_groups] == [sorted(g) for g in t_opt.param_groups]
    _run(*pair, _gradients(dtype, 3), range(STEPS))
    _assert_same(*pair, dtype)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_group_keys_and_defaults_match_torch(name):
    """Every hyper-parameter torch puts in a group (and its default) is in juanji's too."""
    j_opt = getattr(juanji.optim, name)([juanji.zeros(2, requires_grad=True)])
    t_opt = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    j_group = {k: v for k, v in j_opt.param_groups[0].items() if k != "params"}
    t_group = {k: v for k, v in t_opt.param_groups[0].items() if k != "params"}
    assert j_group == t_group
    assert j_opt.defaults == t_opt.defaults


@pytest.mark.parametrize("name", list(CONFIGS))
def test_state_dict_layout_matches_torch(name):
    pair = _make_pair(name, dict(lr=0.01), np.float32, seed=5, groups=GROUPS)
    _run(*pair, _gradients(np.float32, 5), range(4))
    j_sd, t_sd = pair[2].state_dict(), pair[3].state_dict()
    assert j_sd.keys() == t_sd.keys() == {"state", "param_groups"}
    assert sorted(j_sd["state"]) == sorted(t_sd["state"])
    for index, t_entry in t_sd["state"].items():
        assert sorted(j_sd["state"][index]) == sorted(t_entry)
    assert j_sd["param_groups"] == t_sd["param_groups"]


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-4, 0.5), momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
       dampening=st.sampled_from([0.0, 0.1]), weight_decay=st.sampled_from([0.0, 1e-3, 0.3]),
       nesterov=st.booleans(), maximize=st.booleans())
def test_sgd_random_hyperparameters_match_torch(lr, momentum, dampening, weight_decay, nesterov, maximize):
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False
    kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                  maximize=maximize)
    pair = _make_pair("SGD", kwargs, np.float64, seed=7)
    _run(*pair, _gradients(np.float64, 7, steps=8), range(8))
    _assert_same(*pair, np.float64)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["Adam", "AdamW"]), lr=st.floats(1e-4, 0.1), beta1=st.floats(0.0, 0.99),
       beta2=st.floats(0.0, 0.999), eps=st.sampled_from([1e-8, 1e-3]), weight_decay=st.sampled_from([0.0, 0.1]),
       amsgrad=st.booleans(), maximize=st.booleans())
def test_adam_random_hyperparameters_match_torch(name, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize):
    kwargs = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                  maximize=maximize)
    pair = _make_pair(name, kwargs, np.float64, seed=11)
    _run(*pair, _gradients(np.float64, 11, steps=8), range(8))
    _assert_same(*pair, np.float64)


def test_training_a_quadratic_matches_torch():
    """Gradients from autograd (not set by hand): Adam minimising |A w - b|^2 in both frameworks."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal(6)
    w0 = rng.standard_normal(4)
    jw = juanji.tensor(w0.copy(), requires_grad=True)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    j_opt = juanji.optim.Adam([jw], lr=0.05)
    t_opt = torch.optim.Adam([tw], lr=0.05)
    ja, jb, ta, tb = juanji.tensor(a), juanji.tensor(b), torch.tensor(a), torch.tensor(b)
    for _ in range(30):
        for w, opt, aa, bb in ((jw, j_opt, ja, jb), (tw, t_opt, ta, tb)):
            opt.zero_grad()
            ((aa @ w - bb) ** 2).sum().backward()
            opt.step()
    np.testing.assert_allclose(jw.detach().numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
