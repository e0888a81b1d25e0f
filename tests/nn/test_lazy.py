"""Lazy modules (LazyLinear, LazyConvNd, LazyConvTransposeNd, LazyBatchNormNd, LazyInstanceNormNd)
against torch: printed form, parameters and state_dict before and after the first batch, the
class they become, output shapes, parameter shapes, forward values and gradients (input and
every parameter) given the same initial weights, optimisers built before the first batch,
state_dict round trips, dtype moves, and the errors; plus juanji's own initialisation (the same
draws as the eager layer's) and a float64 gradcheck."""

import copy
import math

import numpy as np
import pytest

import juanji
import juanji.nn as nn
from juanji.autograd.gradcheck import gradcheck
from juanji.nn.modules.lazy import is_lazy
from tests.helpers import both_raise, random_array

torch = pytest.importorskip("torch")

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}
DTYPES = ["float32", "float64"]

# (lazy class, constructor args, constructor kwargs, first input's shape, the class it becomes)
CASES = [
    ("LazyLinear", (3,), {}, (4, 5), "Linear"),
    ("LazyLinear", (2,), {"bias": False}, (2, 3, 5), "Linear"),
    ("LazyLinear", (4,), {}, (6,), "Linear"),  # one unbatched sample
    ("LazyConv1d", (4, 3), {"stride": 2, "padding": 1}, (2, 3, 9), "Conv1d"),
    ("LazyConv1d", (2, 3), {}, (3, 7), "Conv1d"),  # unbatched: channels are dim 0
    ("LazyConv2d", (4, 3), {"padding": 1, "groups": 2, "bias": False}, (2, 4, 6, 6), "Conv2d"),
    ("LazyConv2d", (3, 3), {"padding": "same", "dilation": 2, "padding_mode": "reflect"}, (1, 2, 7, 6), "Conv2d"),
    ("LazyConv3d", (2, 2), {}, (1, 3, 4, 4, 3), "Conv3d"),
    ("LazyConvTranspose1d", (3, 3), {"stride": 2, "output_padding": 1}, (2, 2, 5), "ConvTranspose1d"),
    ("LazyConvTranspose2d", (4, 3), {"stride": 2, "groups": 2}, (1, 4, 4, 4), "ConvTranspose2d"),
    ("LazyConvTranspose3d", (2, 2), {"stride": 2, "bias": False}, (1, 2, 3, 3, 2), "ConvTranspose3d"),
    ("LazyBatchNorm1d", (), {}, (6, 3), "BatchNorm1d"),
    ("LazyBatchNorm1d", (), {"affine": False, "momentum": None}, (5, 3, 4), "BatchNorm1d"),
    ("LazyBatchNorm2d", (), {"eps": 1e-3}, (4, 3, 5, 5), "BatchNorm2d"),
    ("LazyBatchNorm3d", (), {"bias": False}, (2, 2, 3, 3, 3), "BatchNorm3d"),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 6), "InstanceNorm1d"),
    ("LazyInstanceNorm2d", (), {"affine": False}, (2, 3, 4, 5), "InstanceNorm2d"),
    ("LazyInstanceNorm3d", (), {}, (2, 2, 3, 3, 3), "InstanceNorm3d"),
]


def _case_id(case):
    name, args, kwargs, shape, _ = case
    return f"{name}{args}{kwargs or ''}-{list(shape)}"


def _make(lib, case, dtype=None):
    name, args, kwargs, _, _ = case
    return getattr(lib.nn, name)(*args, **kwargs, dtype=None if dtype is None else getattr(lib, dtype))


def _state_reprs(module):
    """The state_dict as {key: repr}: uninitialized entries print as <UninitializedParameter>."""
    return {key: repr(value) for key, value in module.state_dict().items()}


# ---------------------------------------------------------------------------------- before, after

@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_before_the_first_batch_it_prints_and_saves_as_torch(case):
    j, t = _make(juanji, case), _make(torch, case)
    assert repr(j) == repr(t)
    assert j.has_uninitialized_params() == t.has_uninitialized_params()
    assert [(n, repr(p)) for n, p in j.named_parameters()] == [(n, repr(p)) for n, p in t.named_parameters()]
    assert [(n, repr(b)) for n, b in j.named_buffers()] == [(n, repr(b)) for n, b in t.named_buffers()]
    assert _state_reprs(j) == _state_reprs(t)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_the_first_batch_turns_it_into_the_eager_layer(case):
    j, t = _make(juanji, case), _make(torch, case)
    x = random_array(case[3], "float32", np.random.default_rng(1))
    j_out, t_out = j(juanji.tensor(x)), t(torch.tensor(x))
    assert type(j) is getattr(nn, case[4]) and type(t).__name__ == case[4]
    assert repr(j) == repr(t)
    assert tuple(j_out.shape) == tuple(t_out.shape)
    assert [(n, tuple(p.shape), type(p).__name__) for n, p in j.named_parameters()] == \
        [(n, tuple(p.shape), type(p).__name__) for n, p in t.named_parameters()]
    assert {k: tuple(v.shape) for k, v in j.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert not any(is_lazy(b) for b in j.buffers())
    assert not hasattr(j, "has_uninitialized_params") and not hasattr(j, "_initialize_hook")
    assert not j._forward_pre_hooks and not j._load_state_dict_pre_hooks  # the hooks are gone


def _at_first_forward(module, action):
    """Run ``action(module)`` once, at the first call, after the lazy hook: the layer has been
    initialised (and become the eager one) but has not computed anything yet."""
    def hook(m, args):
        handle.remove()
        action(m)
    handle = module.register_forward_pre_hook(hook)


def _numpy_state(module) -> dict:
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def _load_numpy_state(lib, module, state) -> None:
    module.load_state_dict({k: lib.tensor(v) for k, v in state.items()})


def _run_first_batch(lib, module, x, upstream, initial_state=None):
    """Output of the module's first call and the gradients of its input and parameters. Without
    ``initial_state`` (juanji) the state it initialised is recorded and returned; with it (torch)
    that state replaces the one torch initialised, before anything is computed."""
    seen = {}
    if initial_state is None:
        _at_first_forward(module, lambda m: seen.update(_numpy_state(m)))
    else:
        _at_first_forward(module, lambda m: _load_numpy_state(lib, m, initial_state))
    xt = lib.tensor(x, requires_grad=True)
    out = module(xt)
    out.backward(lib.tensor(upstream))
    grads = {"input": xt.grad.numpy()}
    grads.update({name: p.grad.numpy() for name, p in module.named_parameters()})
    return out.detach().numpy(), grads, _numpy_state(module), seen


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_first_batch_values_and_gradients_match_torch(case, dtype):
    """Given juanji's initial weights, torch's lazy layer computes the same first batch: output,
    gradients of the input and every parameter, and the running statistics it leaves."""
    rng = np.random.default_rng(7)
    x = random_array(case[3], dtype, rng)
    j = _make(juanji, case, dtype)
    probe = _make(torch, case, dtype)(torch.tensor(x))  # for the output shape only
    upstream = random_array(tuple(probe.shape), dtype, rng)
    j_out, j_grads, j_after, j_initial = _run_first_batch(juanji, j, x, upstream)
    t_out, t_grads, t_after, _ = _run_first_batch(torch, _make(torch, case, dtype), x, upstream, j_initial)
    assert j_out.dtype == t_out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(j_out, t_out, **TOL[dtype])
    assert j_grads.keys() == t_grads.keys()
    for name in t_grads:
        np.testing.assert_allclose(j_grads[name], t_grads[name], **TOL[dtype], err_msg=f"gradient of {name}")
    for key in t_after:
        np.testing.assert_allclose(j_after[key], t_after[key], **TOL[dtype], err_msg=key)


# ---------------------------------------------------------------------------------- initialisation

EAGER_TWINS = [
    (lambda: nn.LazyLinear(6), lambda: nn.Linear(5, 6), (3, 5)),
    (lambda: nn.LazyConv2d(4, 3, groups=2), lambda: nn.Conv2d(2, 4, 3, groups=2), (1, 2, 5, 5)),
    (lambda: nn.LazyConvTranspose1d(3, 2, bias=False), lambda: nn.ConvTranspose1d(4, 3, 2, bias=False), (2, 4, 3)),
    (lambda: nn.LazyBatchNorm2d(), lambda: nn.BatchNorm2d(3), (2, 3, 2, 2)),
]


@pytest.mark.parametrize("lazy,eager,shape", EAGER_TWINS)
def test_initialisation_is_the_eager_layers_drawn_from_juanjis_generator(lazy, eager, shape):
    """Same seed, nothing drawn in between: the lazy layer's first forward draws exactly what the
    eager layer's constructor draws (torch's default init: kaiming_uniform_(a=sqrt(5)) and the
    1/sqrt(fan_in) bias bound; BatchNorm's ones, zeros and running statistics)."""
    x = juanji.tensor(random_array(shape, "float32", np.random.default_rng(3)))
    juanji.manual_seed(123)
    reference = eager()
    juanji.manual_seed(123)
    module = lazy()
    seen = {}
    module.register_forward_pre_hook(lambda m, args: seen.update(
        {k: v.numpy().copy() for k, v in m.state_dict().items()}))
    module(x)
    assert seen.keys() == reference.state_dict().keys()
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(seen[key], value.numpy(), err_msg=key)


def test_default_initialisation_bounds():
    module = nn.LazyConv2d(8, 3)
    module(juanji.zeros(1, 5, 6, 6))
    bound = 1 / math.sqrt(5 * 3 * 3)
    for p in (module.weight, module.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and values.std() > bound / 4  # spread over U(-b, b)


def test_seeded_lazy_networks_are_reproducible():
    def run():
        juanji.manual_seed(5)
        net = nn.Sequential(nn.LazyConv2d(3, 3), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
        return net(juanji.ones(2, 1, 5, 5)).detach().numpy()

    np.testing.assert_array_equal(run(), run())


def test_gradcheck_through_lazily_built_layers():
    net = nn.Sequential(nn.LazyConv1d(3, 2, dtype=juanji.float64), nn.LazyBatchNorm1d(dtype=juanji.float64),
                        nn.Tanh(), nn.Flatten(), nn.LazyLinear(2, dtype=juanji.float64))
    x = juanji.tensor(random_array((4, 2, 5), "float64", np.random.default_rng(0)), requires_grad=True)
    net(x)  # materialise
    net.eval()  # running statistics: the output is a fixed function of x and the parameters
    # the parameters are inputs too: gradcheck perturbs them in place, the net reads them
    assert gradcheck(lambda inp, *params: net(inp), (x, *net.parameters()))


# ---------------------------------------------------------------------------------- uninitialized

def test_uninitialized_parameters_and_buffers_are_what_torch_says():
    j, t = nn.LazyBatchNorm2d(), torch.nn.LazyBatchNorm2d()
    for name in ("weight", "running_mean"):
        jv, tv = getattr(j, name), getattr(t, name)
        assert repr(jv) == str(jv) == repr(tv)
        assert type(jv).__name__ == type(tv).__name__
        assert jv.dtype.name == str(tv.dtype).split(".")[-1] and str(jv.device) == str(tv.device)
        assert jv.requires_grad == tv.requires_grad
    assert isinstance(j.weight, nn.Parameter) and isinstance(j.weight, nn.UninitializedParameter)
    assert isinstance(j.weight, juanji.nn.parameter.UninitializedParameter)
    assert is_lazy(j.weight) and is_lazy(j.running_mean) and not is_lazy(j.num_batches_tracked)
    assert repr(j.num_batches_tracked) == repr(t.num_batches_tracked) == "tensor(0)"


def test_the_shape_of_an_uninitialized_parameter_is_refused_as_in_torch():
    j, t = nn.LazyLinear(2), torch.nn.LazyLinear(2)
    with pytest.raises(RuntimeError) as j_error:
        j.weight.shape
    with pytest.raises(RuntimeError) as t_error:
        t.weight.shape
    assert str(j_error.value) == str(t_error.value)


def _under_no_grad(method, *args):
    with juanji.no_grad():
        return method(*args)


USES = {
    "numel": lambda p: p.numel(),
    "sum of numels": lambda p: sum(q.numel() for q in [p]),
    "arithmetic": lambda p: p + 1,
    "matmul": lambda p: juanji.ones(2, 2) @ p,
    "indexing": lambda p: p[0],
    "tolist": lambda p: p.tolist(),
    "fill_": lambda p: _under_no_grad(p.fill_, 1.0),  # (p.data.fill_ is allowed: torch's p.data is empty)
    "detach": lambda p: p.detach(),
    "in linear": lambda p: juanji.nn.functional.linear(juanji.ones(2, 3), p),
    "init": lambda p: juanji.nn.init.uniform_(p),
    "print detached": lambda p: repr(p.detach()),
}


@pytest.mark.parametrize("use", list(USES))
def test_using_an_uninitialized_parameter_fails_clearly(use):
    weight = nn.LazyLinear(2).weight
    with pytest.raises((ValueError, RuntimeError), match="uninitialized parameter") as error:
        USES[use](weight)
    assert "forward" in str(error.value)  # what to do about it


def test_moves_before_the_first_batch_keep_it_uninitialized_with_the_new_dtype():
    j = nn.LazyConv2d(4, 3).double()
    t = torch.nn.LazyConv2d(4, 3).double()
    assert is_lazy(j.weight) and j.weight.dtype is juanji.float64 and str(t.weight.dtype) == "torch.float64"
    x = random_array((1, 2, 5, 5), "float64")
    assert j(juanji.tensor(x)).dtype is juanji.float64 and j.weight.dtype is juanji.float64
    bn = nn.LazyBatchNorm1d().to(juanji.float64)
    assert bn.running_mean.dtype is juanji.float64 and is_lazy(bn.running_mean)
    bn(juanji.ones(3, 2, dtype=juanji.float64))
    assert bn.running_mean.dtype is juanji.float64 and bn.num_batches_tracked.dtype is juanji.int64
    p = nn.LazyLinear(2, dtype=juanji.float64).weight
    assert p.float().dtype is juanji.float32 and is_lazy(p.float()) and p.to(juanji.float64) is p


def test_deep_copies_initialise_independently():
    lazy = nn.LazyLinear(3)
    twin = copy.deepcopy(lazy)
    assert is_lazy(twin.weight) and twin.weight is not lazy.weight
    twin(juanji.ones(2, 4))
    lazy(juanji.ones(2, 6))
    assert tuple(twin.weight.shape) == (3, 4) and tuple(lazy.weight.shape) == (3, 6)
    assert type(twin) is type(lazy) is nn.Linear


def test_initialize_parameters_alone_materialises_but_keeps_the_lazy_class():
    j, t = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    j.initialize_parameters(juanji.ones(2, 7))
    t.initialize_parameters(torch.ones(2, 7))
    assert repr(j) == repr(t) and type(j).__name__ == "LazyLinear"
    assert not j.has_uninitialized_params() and tuple(j.weight.shape) == (3, 7)
    j(juanji.ones(2, 7))
    assert type(j) is nn.Linear


def test_lazy_instance_norm_defaults_are_torchs_and_unbatched_input_gives_its_channels():
    j, t = nn.LazyInstanceNorm2d(), torch.nn.LazyInstanceNorm2d()
    assert repr(j) == repr(t) and "affine=True" in repr(j) and "track_running_stats=True" in repr(j)
    # (torch reads dim 1 of an unbatched input: 4 here, and then refuses the input)
    j(juanji.ones(3, 4, 5))
    assert repr(j).startswith("InstanceNorm2d(3,")


def test_without_anything_to_infer_it_becomes_the_eager_layer_with_zero_features():
    j = nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    t = torch.nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    assert not j.has_uninitialized_params()
    x = random_array((4, 3), "float32")
    np.testing.assert_allclose(j(juanji.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    assert repr(j) == repr(t)


# ---------------------------------------------------------------------------------- optimisers, state

@pytest.mark.parametrize("optimizer,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_an_optimizer_built_before_the_first_batch_trains_it_as_in_torch(optimizer, kwargs):
    """The uninitialized parameters are filled in place, so the optimiser holds the real ones."""
    rng = np.random.default_rng(11)
    x, y = random_array((8, 5), "float64", rng), random_array((8, 2), "float64", rng)

    def train(lib, net, initial_state=None):
        opt = getattr(lib.optim, optimizer)(net.parameters(), **kwargs)
        if initial_state is not None:  # torch: juanji's initial values in place of its own
            _at_first_forward(net, lambda m: _load_numpy_state(lib, m, initial_state))
        for _ in range(3):
            opt.zero_grad()
            loss = ((net(lib.tensor(x)) - lib.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
        return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}

    def lazy_net(lib):
        return lib.nn.Sequential(lib.nn.LazyLinear(4, dtype=lib.float64), lib.nn.Tanh(),
                                 lib.nn.LazyLinear(2, dtype=lib.float64))

    j_net = lazy_net(juanji)
    initial = {}
    for index in (0, 2):
        _at_first_forward(j_net[index], lambda m, prefix=f"{index}.": initial.update(
            {prefix + k: v for k, v in _numpy_state(m).items()}))
    j_state = train(juanji, j_net)
    t_state = train(torch, lazy_net(torch), initial)
    for key in t_state:
        np.testing.assert_allclose(j_state[key], t_state[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_optimizers_that_build_state_at_construction_refuse_uninitialized_parameters():
    """Adagrad fills its state when it is built: torch and juanji both raise a ValueError."""
    with pytest.raises(ValueError):
        torch.optim.Adagrad(torch.nn.LazyLinear(2).parameters())
    with pytest.raises(ValueError, match="uninitialized parameter"):
        juanji.optim.Adagrad(nn.LazyLinear(2).parameters())


def test_state_dict_round_trips_match_torch():
    def run(lib):
        nn_ = lib.nn
        out = {}
        lazy, other = nn_.LazyLinear(3), nn_.LazyLinear(3)
        out["lazy into lazy"] = repr(other.load_state_dict(lazy.state_dict()))
        out["still lazy"] = (repr(other.weight), type(other).__name__)
        try:
            nn_.Linear(4, 3).load_state_dict(lazy.state_dict())
        except RuntimeError as error:
            out["lazy into eager"] = str(error)
        eager = nn_.Linear(4, 3)
        out["eager into lazy"] = repr(other.load_state_dict(eager.state_dict()))
        out["loaded"] = (repr(other), tuple(other.weight.shape), type(other.weight).__name__,
                         bool(lib.equal(other.weight, eager.weight)))
        other(lib.ones(2, 4))
        out["after forward"] = (repr(other), bool(lib.equal(other.weight, eager.weight)))  # values kept
        strict_off = nn_.LazyBatchNorm1d().load_state_dict({"weight": lib.ones(2)}, strict=False)
        out["non-strict"] = (strict_off.missing_keys, strict_off.unexpected_keys)
        return out

    assert run(juanji) == run(torch)


LOADED = [
    (lambda lib: lib.nn.LazyConv2d(4, 3, groups=2), lambda lib: lib.nn.Conv2d(6, 4, 3, groups=2), (1, 6, 5, 5),
     "Conv2d(6, 4, kernel_size=(3, 3), stride=(1, 1), groups=2)"),
    (lambda lib: lib.nn.LazyConvTranspose1d(3, 2), lambda lib: lib.nn.ConvTranspose1d(5, 3, 2), (2, 5, 4),
     "ConvTranspose1d(5, 3, kernel_size=(2,), stride=(1,))"),
    (lambda lib: lib.nn.LazyBatchNorm2d(), lambda lib: lib.nn.BatchNorm2d(3), (4, 3, 2, 2),
     "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"),
    (lambda lib: lib.nn.LazyInstanceNorm1d(), lambda lib: lib.nn.InstanceNorm1d(3, affine=True,
                                                                               track_running_stats=True),
     (2, 3, 5), "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"),
]


@pytest.mark.parametrize("lazy,eager,shape,printed", LOADED)
def test_a_lazy_layer_loaded_before_its_first_batch_computes_as_the_eager_one(lazy, eager, shape, printed):
    """The loaded values are kept, and the sizes come from them (torch leaves in_channels or
    num_features at 0: its repr says 0 and its instance norm then refuses every input)."""
    rng = np.random.default_rng(4)
    t_eager = eager(torch)
    state = {k: (v.numpy() + (rng.uniform(0.5, 1.5, tuple(v.shape)) if v.is_floating_point() else 0))
             .astype(v.numpy().dtype) for k, v in t_eager.state_dict().items()}
    _load_numpy_state(torch, t_eager, state)
    module = lazy(juanji)
    _load_numpy_state(juanji, module, state)
    x = random_array(shape, "float32", rng)
    np.testing.assert_allclose(module(juanji.tensor(x)).detach().numpy(), t_eager(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    assert repr(module) == printed == repr(t_eager)
    for key, value in t_eager.state_dict().items():  # the loaded values (and the running statistics' update)
        np.testing.assert_allclose(module.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)


def test_a_loaded_lazy_layer_checks_the_input_against_the_loaded_weights():
    j, t = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    j.load_state_dict(nn.Linear(4, 3).state_dict())
    t.load_state_dict(torch.nn.Linear(4, 3).state_dict())
    with pytest.raises(AssertionError):
        t(torch.ones(2, 5))
    with pytest.raises(AssertionError, match=r"LazyLinear: the in_features inferred from input \[2, 5\]: 5 is not "
                                             r"equal to in_features from self.weight \[3, 4\]: 4"):
        j(juanji.ones(2, 5))


def test_a_network_of_lazy_layers_prints_and_saves_as_torch(tmp_path):
    def run(lib):
        nn_ = lib.nn
        net = nn_.Sequential(nn_.LazyConv2d(6, 5, padding=2), nn_.LazyBatchNorm2d(), nn_.ReLU(), nn_.MaxPool2d(2),
                             nn_.Flatten(), nn_.LazyLinear(10))
        before = (repr(net), list(net.state_dict()))
        out = net(lib.ones(2, 1, 8, 8))
        return before, repr(net), tuple(out.shape), {k: tuple(v.shape) for k, v in net.state_dict().items()}

    assert run(juanji) == run(torch)


# ---------------------------------------------------------------------------------- errors


def test_convolution_input_of_the_wrong_rank():
    message = both_raise(lambda lib: lib.nn.LazyConv2d(6, 3)(lib.ones(5, 5)))
    assert message == "Expected 3D (unbatched) or 4D (batched) input to LazyConv2d, but got input of size: [5, 5]"


def test_convolution_input_channels_not_divisible_by_groups():
    message = both_raise(lambda lib: lib.nn.LazyConv2d(6, 3, groups=2)(lib.ones(1, 3, 5, 5)))
    assert message == ("LazyConv2d: in_channels must be divisible by groups, got in_channels=3 "
                       "(input [1, 3, 5, 5]) and groups=2")


@pytest.mark.parametrize("kwargs,match", [
    (dict(groups=0), "LazyConv2d: groups must be a positive integer, got groups=0"),
    (dict(padding="same", stride=2), "LazyConv2d: padding='same' is not supported for strided convolutions"),
])
def test_convolution_arguments_checked_at_construction_as_torch(kwargs, match):
    message = both_raise(lambda lib: lib.nn.LazyConv2d(6, 3, **kwargs))
    assert message.startswith(match)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(groups=4), ValueError, "LazyConv2d: out_channels must be divisible by groups, got out_channels=6 and groups=4"),
    (dict(kernel_size=0), RuntimeError, "LazyConv2d: non-positive kernel_size is not supported"),
])
def test_convolution_checks_out_channels_and_kernel_at_construction(kwargs, error, match):
    """torch builds these and fails at the first forward; juanji refuses them where they are
    written, with the exception torch raises at that forward (RuntimeError for the kernel size)."""
    kernel_size = kwargs.pop("kernel_size", 3)
    with pytest.raises(error, match=match):
        nn.LazyConv2d(6, kernel_size, **kwargs)


def test_batch_norm_input_of_the_wrong_rank_is_refused_before_anything_is_inferred():
    message = both_raise(lambda lib: lib.nn.LazyBatchNorm2d()(lib.ones(2, 3)))
    assert message == "LazyBatchNorm2d: expected 4D input (N, C, H, W), got 2D input [2, 3]"
    bn = nn.LazyBatchNorm2d()
    with pytest.raises(ValueError):
        bn(juanji.ones(2, 3))
    assert bn.has_uninitialized_params() and type(bn) is nn.LazyBatchNorm2d  # still usable
    bn(juanji.ones(2, 3, 2, 2))
    assert type(bn) is nn.BatchNorm2d and bn.num_features == 3


def test_linear_of_a_0d_input():
    with pytest.raises(RuntimeError, match="LazyLinear: expected an input with at least 1 dimension"):
        nn.LazyLinear(3)(juanji.tensor(1.0))
