"""Optimizer base behaviour: construction errors (as torch's), parameter groups, zero_grad,
step(closure), hooks, and state_dict / load_state_dict round trips."""

import warnings

import numpy as np
import pytest

import juanji
from juanji.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

torch = pytest.importorskip("torch")

ALL = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _param(*shape, seed=0, dtype=np.float32):
    return juanji.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype), requires_grad=True)


# ---------------------------------------------------------------- construction errors
def test_a_single_tensor_is_not_an_iterable_of_parameters():
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        SGD(_param(3), lr=0.1)


@pytest.mark.parametrize("name", ALL)
def test_empty_parameter_list(name):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        getattr(juanji.optim, name)([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        getattr(juanji.optim, name)(iter([]))


def test_non_leaf_tensor_is_refused():
    w = _param(3)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([w * 2], lr=0.1)


def test_non_tensor_parameter_is_refused():
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        SGD([_param(2), 3], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        SGD([np.zeros(3)], lr=0.1)


def test_parameters_in_a_set_are_refused():
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {_param(2)}}], lr=0.1)


def test_parameter_in_two_groups():
    w, b = _param(3), _param(1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        SGD([{"params": [w, b]}, {"params": [b]}], lr=0.1)
    opt = SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": w})


def test_duplicate_parameter_in_a_group_warns_like_torch():
    w = _param(3)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        SGD([w, w], lr=0.1)


def test_add_param_group_needs_a_dict():
    opt = SGD([_param(2)], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([_param(2)])


# every invalid hyper-parameter: juanji raises what torch raises, and its message contains torch's
INVALID = [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(lr=0.1, momentum=-0.5)), ("SGD", dict(lr=0.1, weight_decay=-1)),
    ("SGD", dict(lr=0.1, nesterov=True)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(eps=-1e-8)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(-0.1, 0.999))), ("Adam", dict(betas=(0.9, 1.0))), ("Adam", dict(weight_decay=-0.1)),
    ("Adam", dict(betas=(0, 0.999))), ("AdamW", dict(betas=(0.9, 1.5))), ("AdamW", dict(lr=-1.0)),
    ("AdamW", dict(weight_decay=-0.01)),
    ("RMSprop", dict(lr=-0.01)), ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-0.1)),
    ("RMSprop", dict(weight_decay=-0.1)), ("RMSprop", dict(alpha=-0.5)),
    ("Adagrad", dict(lr=-0.01)), ("Adagrad", dict(lr_decay=-0.1)), ("Adagrad", dict(weight_decay=-0.1)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)), ("Adagrad", dict(eps=-1e-10)),
]


@pytest.mark.parametrize("name,kwargs", INVALID, ids=[f"{n}-{k}" for n, k in INVALID])
def test_invalid_hyperparameters_raise_as_torch(name, kwargs):
    with pytest.raises(Exception) as t_err:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(t_err.type) as j_err:
        getattr(juanji.optim, name)([juanji.zeros(2, requires_grad=True)], **kwargs)
    assert str(t_err.value) in str(j_err.value)
    if "Invalid" in str(t_err.value):  # juanji says which optimiser and what it expected
        assert name in str(j_err.value) and "expects" in str(j_err.value)


# ---------------------------------------------------------------- groups
def test_groups_take_missing_values_from_defaults():
    w, b = _param(3), _param(1)
    opt = SGD([{"params": [w]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
    extra = _param(2)
    opt.add_param_group({"params": [extra], "weight_decay": 0.01})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["weight_decay"] == 0.01


def test_generator_of_parameters_is_consumed_once():
    params = [_param(2, seed=i) for i in range(3)]
    opt = Adam(p for p in params)
    assert len(opt.param_groups[0]["params"]) == 3


def test_named_parameters_keep_their_names():
    w, b = _param(3), _param(1)
    opt = SGD([("weight", w), ("bias", b)], lr=0.1)
    assert opt.param_groups[0]["params"][0] is w
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [_param(2)]})


def test_repr_lists_groups_like_torch():
    text = repr(SGD([_param(2)], lr=0.25, momentum=0.5))
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.25\n" in text and "    momentum: 0.5\n" in text


# ---------------------------------------------------------------- zero_grad, step, closure, hooks
def test_zero_grad_sets_to_none_by_default():
    w = _param(3)
    (w * w).sum().backward()
    opt = SGD([w], lr=0.1)
    opt.zero_grad()
    assert w.grad is None


def test_zero_grad_can_zero_in_place():
    w = _param(3)
    (w * w).sum().backward()
    grad = w.grad
    SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3, np.float32))
    (w * 3).sum().backward()  # accumulates into the zeroed gradient
    np.testing.assert_array_equal(w.grad.numpy(), np.full(3, 3, np.float32))


@pytest.mark.parametrize("name", ALL)
def test_parameters_without_gradient_are_left_alone(name):
    w, b = _param(3), _param(2, seed=1)
    before = b.detach().numpy().copy()
    opt = getattr(juanji.optim, name)([w, b], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(b.detach().numpy(), before)
    if name != "Adagrad":  # Adagrad creates every state at construction, as torch does
        assert len(opt.state[b]) == 0


def test_step_updates_in_place_and_keeps_the_parameter_a_leaf():
    w = _param(4)
    storage = w._data
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w._data is storage and w.is_leaf and w.requires_grad and w.grad_fn is None


def test_step_calls_the_closure_with_grad_enabled_and_returns_its_loss():
    w = _param(3)
    opt = SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        calls.append(juanji.is_grad_enabled())
        loss = (w * w).sum()
        loss.backward()
        return loss

    with juanji.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert isinstance(loss, juanji.Tensor)
    assert opt.step() is None


def test_step_hooks_run_around_step_and_can_be_removed():
    w = _param(2)
    opt = SGD([w], lr=0.1)
    events = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: events.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: events.append(("post", o is opt)))
    opt.step()
    assert events == [("pre", True), ("post", True)]
    pre.remove()
    opt.step()
    assert events[2:] == [("post", True)]


def test_custom_optimizer_subclass():
    """The base class is usable for one's own optimiser, as torch's is."""

    class SignSGD(Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data.sub_(p.grad.sign() * group["lr"])

    w = juanji.tensor([1.0, -1.0], requires_grad=True)
    opt = SignSGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, -0.5])


# ---------------------------------------------------------------- state_dict round trips
CONFIGS = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.01, amsgrad=True)),
           ("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
           ("Adagrad", dict(lr=0.1, lr_decay=0.01))]


def _grads(shapes, steps, seed):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]


def _step(params, opt, grads):
    for p, g in zip(params, grads):
        p.grad = juanji.tensor(g.copy())
    opt.step()


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
@pytest.mark.parametrize("through_file", [False, True], ids=["in-memory", "juanji.save"])
def test_resuming_from_state_dict_equals_an_uninterrupted_run(name, kwargs, through_file, tmp_path):
    shapes = [(4, 3), (3,)]
    grads = _grads(shapes, 20, seed=2)
    params = [_param(*s, seed=i) for i, s in enumerate(shapes)]
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.02}]
    opt = getattr(juanji.optim, name)(groups, **kwargs)
    for g in grads[:8]:
        _step(params, opt, g)

    saved_params = [p.detach().numpy().copy() for p in params]
    state = opt.state_dict()
    if through_file:
        juanji.save(state, tmp_path / "opt.pt")
        state = juanji.load(tmp_path / "opt.pt")

    resumed = [juanji.tensor(a, requires_grad=True) for a in saved_params]
    opt2 = getattr(juanji.optim, name)([{"params": [resumed[0]]}, {"params": [resumed[1]]}], **kwargs)
    opt2.load_state_dict(state)
    assert opt2.param_groups[1]["lr"] == 0.02  # hyper-parameters come from the state dict
    assert opt2.param_groups[0]["params"][0] is resumed[0]

    for g in grads[8:]:
        _step(params, opt, g)
        _step(resumed, opt2, g)
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_loaded_state_is_a_copy_cast_to_the_parameter_dtype():
    w = _param(3)
    opt = SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    state = opt.state_dict()
    w64 = _param(3, dtype=np.float64)
    opt64 = SGD([w64], lr=0.1, momentum=0.9)
    opt64.load_state_dict(state)
    buf = opt64.state[w64]["momentum_buffer"]
    assert buf.dtype == juanji.float64
    assert not np.shares_memory(buf._data, opt.state[w]["momentum_buffer"]._data)


def test_adam_step_counter_is_a_float_tensor_like_torch():
    w = _param(2)
    opt = Adam([w])
    (w * w).sum().backward()
    opt.step()
    opt.step()
    step = opt.state[w]["step"]
    assert isinstance(step, juanji.Tensor) and step.dtype == juanji.float32 and step.item() == 2.0


def test_load_state_dict_errors():
    w, b = _param(3), _param(1)
    opt = SGD([{"params": [w]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        SGD([w, b], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        SGD([{"params": [w, b]}, {"params": [_param(2)]}], lr=0.1).load_state_dict(opt.state_dict())


def test_torch_state_dict_shape_loads_old_numeric_steps():
    """A checkpoint whose 'step' is a plain number (older torch) still loads and steps on."""
    w = _param(2)
    opt = Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    state = opt.state_dict()
    state["state"][0]["step"] = 1
    w2 = juanji.tensor(w.detach().numpy().copy(), requires_grad=True)
    opt2 = Adam([w2], lr=0.1)
    opt2.load_state_dict(state)
    w2.grad = juanji.tensor(np.ones(2, np.float32))
    opt2.step()
    assert opt2.state[w2]["step"].item() == 2.0


def test_adamw_keeps_decoupled_weight_decay_after_loading():
    w = _param(2)
    opt = AdamW([w])
    state = opt.state_dict()
    state["param_groups"][0]["decoupled_weight_decay"] = False
    opt.load_state_dict(state)
    assert opt.param_groups[0]["decoupled_weight_decay"] is True


def test_no_warnings_on_an_ordinary_training_step():
    w = _param(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cls in (SGD, Adam, AdamW, RMSprop, Adagrad):
            opt = cls([w], lr=0.01)
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()


@pytest.mark.parametrize("name", ALL)
def test_tensor_learning_rate_acts_like_the_float(name):
    """torch accepts a one-element Tensor lr (e.g. to change it in place); so does juanji."""
    results = []
    for lr in (0.05, juanji.tensor(0.05, dtype=juanji.float64)):
        w = _param(4)
        opt = getattr(juanji.optim, name)([w], lr=lr)
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        results.append(w.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_tensor_learning_rate_is_updated_in_place_by_a_scheduler():
    lr = juanji.tensor(0.1, dtype=juanji.float64)
    opt = SGD([_param(2)], lr=lr)
    sched = juanji.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] is lr and lr.item() == 0.05
    assert sched.get_last_lr()[0] is not lr  # a copy, never the optimizer's tensor
