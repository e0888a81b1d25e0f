"""Normalisation layers against torch: batch/instance/layer/group/RMS norm and local response
norm, functional and Modules: values, gradients w.r.t. input, weight and bias, running
estimates, state_dict, reprs, errors; plus torch-free float64 gradchecks of every primitive."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from juanji.ops.normalization import batch_norm_stats
from tests.helpers import compare_with_torch

DTYPES = ["float32", "float64"]
# float32 normalisation divides by a standard deviation: a few ulps of the statistics show up
TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-10)}


def _torch():
    return pytest.importorskip("torch")


def _rand(rng, shape, dtype, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(dtype)


def _params(rng, channels, dtype, affine):
    """(weight, bias) arrays per channel, or None where not used ('w': weight only, 'b': bias only)."""
    w = _rand(rng, channels, dtype, 0.5, 1.0) if affine in ("wb", "w") else None
    b = _rand(rng, channels, dtype) if affine in ("wb", "b") else None
    return w, b


def _both(fn_name):
    torch = _torch()
    return getattr(F, fn_name), getattr(torch.nn.functional, fn_name)


def _compare_affine(fn_name, x, w, b, dtype, **kwargs):
    """compare_with_torch over (x, [w], [b]) with the optional parameters left out when None."""
    j_fn, t_fn = _both(fn_name)
    present = [a for a in (w, b) if a is not None]

    def make(fn):
        def call(x, *rest):
            rest = list(rest)
            ww = rest.pop(0) if w is not None else None
            bb = rest.pop(0) if b is not None else None
            return fn(x, weight=ww, bias=bb, **kwargs)
        return call

    return compare_with_torch(make(j_fn), make(t_fn), [x] + present, **TOL[dtype])


# -- batch norm (functional) -------------------------------------------------------------------

BN_SHAPES = [(4, 3), (5, 2, 7), (2, 4, 3, 5), (3, 2, 2, 3, 4), (2, 3, 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["wb", "w", "none"])
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_training_matches_torch(shape, affine, dtype):
    rng = np.random.default_rng(len(shape))
    x = _rand(rng, shape, dtype, 2.0, 0.5)
    w, b = _params(rng, shape[1], dtype, affine)
    _compare_affine("batch_norm", x, w, b, dtype, running_mean=None, running_var=None, training=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["wb", "none"])
@pytest.mark.parametrize("shape", BN_SHAPES[:4])
def test_batch_norm_eval_uses_running_estimates(shape, affine, dtype):
    torch = _torch()
    rng = np.random.default_rng(7)
    x = _rand(rng, shape, dtype)
    w, b = _params(rng, shape[1], dtype, affine)
    mean = _rand(rng, shape[1], dtype)
    var = rng.uniform(0.3, 2.0, shape[1]).astype(dtype)
    j_fn = lambda x, *p: F.batch_norm(x, juanji.tensor(mean), juanji.tensor(var), *p, training=False)  # noqa: E731
    t_fn = lambda x, *p: torch.nn.functional.batch_norm(  # noqa: E731
        x, torch.tensor(mean), torch.tensor(var), *p, training=False)
    compare_with_torch(j_fn, t_fn, [x] + [a for a in (w, b) if a is not None], **TOL[dtype])


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0, 0.0])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_updates_running_estimates_like_torch(shape, momentum):
    """running = (1-m) running + m * batch statistic, with the unbiased variance."""
    torch = _torch()
    rng = np.random.default_rng(3)
    j_mean, j_var = juanji.zeros(shape[1]), juanji.ones(shape[1])
    t_mean, t_var = torch.zeros(shape[1]), torch.ones(shape[1])
    for step in range(3):
        x = _rand(rng, shape, "float32", 3.0, step)
        F.batch_norm(juanji.tensor(x), j_mean, j_var, training=True, momentum=momentum)
        torch.nn.functional.batch_norm(torch.tensor(x), t_mean, t_var, training=True, momentum=momentum)
    np.testing.assert_allclose(j_mean.numpy(), t_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(j_var.numpy(), t_var.numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_statistics_survive_a_large_offset():
    """float32 values around 1e4 with spread 1: the one-sweep statistics (float64, merged per
    row) must not lose the variance to cancellation, as E[x^2] - E[x]^2 would."""
    torch = _torch()
    rng = np.random.default_rng(0)
    x = _rand(rng, (16, 4, 9, 9), "float32", 1.0, 1e4)
    y = F.batch_norm(juanji.tensor(x), None, None, training=True).numpy()
    ref = torch.nn.functional.batch_norm(torch.tensor(x, dtype=torch.float64), None, None, training=True)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-4, atol=1e-4)
    mean, var = batch_norm_stats(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=(0, 2, 3)), rtol=1e-9)


def test_batch_norm_empty_batch_leaves_running_estimates():
    torch = _torch()
    j_mean, j_var = juanji.zeros(3), juanji.ones(3)
    x = juanji.zeros((0, 3, 2), requires_grad=True)
    w = juanji.ones(3, requires_grad=True)
    y = F.batch_norm(x, j_mean, j_var, w, None, training=True)
    assert tuple(y.shape) == (0, 3, 2)
    y.sum().backward()
    assert w.grad.tolist() == [0.0, 0.0, 0.0] and tuple(x.grad.shape) == (0, 3, 2)
    assert j_mean.tolist() == [0.0] * 3 and j_var.tolist() == [1.0] * 3
    t = torch.nn.functional.batch_norm(torch.zeros(0, 3, 2), torch.zeros(3), torch.ones(3), training=True)
    assert tuple(t.shape) == tuple(y.shape)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 5), c=st.integers(1, 4), length=st.integers(1, 6), scale=st.floats(0.1, 10.0),
       shift=st.floats(-50.0, 50.0))
def test_batch_norm_hypothesis_float64(n, c, length, scale, shift):
    rng = np.random.default_rng(n * 100 + c * 10 + length)
    x = _rand(rng, (n, c, length), "float64", scale, shift)
    w, b = _params(rng, c, "float64", "wb")
    _compare_affine("batch_norm", x, w, b, "float64", running_mean=None, running_var=None, training=True)


@pytest.mark.parametrize("shape", [(8, 16, 32, 32), (512, 256), (256, 128, 3)])
def test_batch_norm_large_inputs_take_the_parallel_loops(shape, monkeypatch):
    """Above PARALLEL_MIN_ELEMENTS the Numba loops run multi-threaded; long and short rows."""
    from juanji.kernels import _threads
    monkeypatch.setattr(_threads, "PARALLEL_MIN_ELEMENTS", 1 << 15)
    assert int(np.prod(shape)) >= _threads.PARALLEL_MIN_ELEMENTS
    rng = np.random.default_rng(1)
    x = _rand(rng, shape, "float32", 2.0, 1.0)
    w, b = _params(rng, shape[1], "float32", "wb")
    _compare_affine("batch_norm", x, w, b, "float32", running_mean=None, running_var=None, training=True)


@pytest.mark.parametrize("shape", [(4, 3, 50), (6, 5, 1), (3, 4, 2), (2, 3, 7)])
def test_batch_norm_array_loops_agree_with_the_portable_expressions(shape):
    """The CuPy path (array expressions) cannot run here; check it against the Numba loops on
    NumPy arrays, row loops and short-row loops alike."""
    from juanji.kernels import batch_norm as kernels
    rng = np.random.default_rng(2)
    x3, g3 = rng.standard_normal(shape), rng.standard_normal(shape)
    k = [rng.standard_normal(shape[1]) for _ in range(3)]
    steps = ("stats", "affine", "grad_sums", "input_grad")
    assert kernels.implementation(x3) is kernels._NumbaLoops
    numba_loops = tuple(getattr(kernels._NumbaLoops, step) for step in steps)
    portable = tuple(getattr(kernels._ArrayExpressions, step) for step in steps)
    for loops in (numba_loops, portable):
        assert len(loops) == 4
    for a, b in zip(numba_loops[0](x3), portable[0](x3)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(numba_loops[1](x3, k[0], k[1]), portable[1](x3, k[0], k[1]), rtol=1e-12)
    for a, b in zip(numba_loops[2](g3, x3, k[0]), portable[2](g3, x3, k[0])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(numba_loops[3](g3, x3, *k), portable[3](g3, x3, *k), rtol=1e-12, atol=1e-14)


# -- batch norm (Modules) ----------------------------------------------------------------------

def _copy_params(j_mod, t_mod):
    """Give the juanji module the torch module's parameters and buffers (through NumPy)."""
    j_mod.load_state_dict({k: juanji.tensor(v.detach().numpy().copy()) for k, v in t_mod.state_dict().items()})


def _run_steps(j_mod, t_mod, shapes, dtype, seed=0):
    """Forward + backward a few batches through both modules, comparing outputs and grads."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    for shape in shapes:
        x = _rand(rng, shape, dtype, 2.0, 1.0)
        jx, tx = juanji.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        jy, ty = j_mod(jx), t_mod(tx)
        np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
        g = _rand(rng, shape, dtype)
        jy.backward(juanji.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), **TOL[dtype])
        for (name, jp), (_, tp) in zip(j_mod.named_parameters(), t_mod.named_parameters()):
            np.testing.assert_allclose(jp.grad.numpy(), tp.grad.numpy(), **TOL[dtype], err_msg=name)
            jp.grad, tp.grad = None, None
    j_state, t_state = j_mod.state_dict(), t_mod.state_dict()
    assert list(j_state) == list(t_state)
    for key in t_state:
        assert tuple(j_state[key].shape) == tuple(t_state[key].shape), key
        np.testing.assert_allclose(j_state[key].numpy(), t_state[key].numpy(), **TOL[dtype], err_msg=key)


BN_MODULES = [("BatchNorm1d", [(8, 3), (5, 3)]), ("BatchNorm1d", [(4, 3, 6), (2, 3, 5)]),
              ("BatchNorm2d", [(4, 3, 5, 5), (2, 3, 4, 6)]), ("BatchNorm3d", [(2, 3, 3, 2, 4)])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3),
                                     dict(affine=False), dict(track_running_stats=False), dict(bias=False)])
@pytest.mark.parametrize("name,shapes", BN_MODULES)
def test_batch_norm_modules_train_then_eval_match_torch(name, shapes, options, dtype):
    torch = _torch()
    j_mod = getattr(nn, name)(3, **options)
    t_mod = getattr(torch.nn, name)(3, **options)
    if dtype == "float64":
        j_mod.double()
        t_mod.double()
    if options.get("affine", True):  # non-trivial affine parameters
        with torch.no_grad():
            t_mod.weight.uniform_(0.5, 1.5)
            if t_mod.bias is not None:
                t_mod.bias.uniform_(-1, 1)
        _copy_params(j_mod, t_mod)
    _run_steps(j_mod, t_mod, shapes * 2, dtype)
    j_mod.eval()
    t_mod.eval()
    _run_steps(j_mod, t_mod, shapes, dtype, seed=1)


def test_batch_norm_module_state_dict_repr_and_buffers():
    torch = _torch()
    for options in (dict(), dict(affine=False), dict(track_running_stats=False), dict(momentum=None, eps=0.01)):
        j_mod, t_mod = nn.BatchNorm2d(4, **options), torch.nn.BatchNorm2d(4, **options)
        assert repr(j_mod) == repr(t_mod)
        assert list(j_mod.state_dict()) == list(t_mod.state_dict())
        assert [n for n, _ in j_mod.named_buffers()] == [n for n, _ in t_mod.named_buffers()]
    bn = nn.BatchNorm1d(3)
    assert bn.num_batches_tracked.dtype == juanji.int64 and bn.num_batches_tracked.item() == 0
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3
    bn(juanji.randn(4, 3))
    bn(juanji.randn(4, 3))
    assert bn.num_batches_tracked.item() == 2
    bn.eval()
    bn(juanji.randn(4, 3))
    assert bn.num_batches_tracked.item() == 2  # eval does not count
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and bn.running_var.tolist() == [1.0] * 3


def test_batch_norm_loads_torch_state_dict_and_old_checkpoints():
    torch = _torch()
    t_mod = torch.nn.BatchNorm2d(3)
    t_mod(torch.randn(4, 3, 2, 2) * 3 + 1)
    j_mod = nn.BatchNorm2d(3)
    _copy_params(j_mod, t_mod)
    assert j_mod.num_batches_tracked.item() == 1
    np.testing.assert_allclose(j_mod.running_var.numpy(), t_mod.running_var.numpy())
    old = {k: v for k, v in j_mod.state_dict().items() if k != "num_batches_tracked"}
    fresh = nn.BatchNorm2d(3)
    fresh.load_state_dict(old)  # a pre-0.4.1 checkpoint has no num_batches_tracked: still loads
    np.testing.assert_allclose(fresh.running_mean.numpy(), t_mod.running_mean.numpy())


def test_batch_norm_running_buffers_keep_identity_while_training():
    """An optimiser or a user may hold the buffer: training updates it in place."""
    bn = nn.BatchNorm2d(2)
    held = bn.running_mean
    bn(juanji.randn(3, 2, 4, 4) + 5)
    assert bn.running_mean is held and held.numpy().min() > 0.1


# -- instance norm -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["wb", "none"])
@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 2, 4, 3), (2, 2, 2, 3, 2)])
def test_instance_norm_matches_torch(shape, affine, dtype):
    rng = np.random.default_rng(11)
    x = _rand(rng, shape, dtype, 2.0, -1.0)
    w, b = _params(rng, shape[1], dtype, affine)
    _compare_affine("instance_norm", x, w, b, dtype)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_running_estimates_match_torch(use_input_stats):
    torch = _torch()
    rng = np.random.default_rng(2)
    x = _rand(rng, (3, 4, 6), "float64", 2.0, 1.0)
    j_mean, j_var = juanji.tensor(_rand(rng, 4, "float64")), juanji.tensor(rng.uniform(0.5, 2, 4))
    t_mean, t_var = torch.tensor(j_mean.numpy().copy()), torch.tensor(j_var.numpy().copy())
    jx, tx = juanji.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    jy = F.instance_norm(jx, j_mean, j_var, use_input_stats=use_input_stats, momentum=0.3)
    ty = torch.nn.functional.instance_norm(tx, t_mean, t_var, use_input_stats=use_input_stats, momentum=0.3)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(j_mean.numpy(), t_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(j_var.numpy(), t_var.numpy(), rtol=1e-10)
    jy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


IN_MODULES = [("InstanceNorm1d", [(3, 3, 5), (3, 7)]), ("InstanceNorm2d", [(2, 3, 4, 4), (3, 5, 2)]),
              ("InstanceNorm3d", [(2, 3, 2, 3, 2), (3, 2, 2, 3)])]


@pytest.mark.parametrize("options", [dict(), dict(affine=True), dict(track_running_stats=True),
                                     dict(affine=True, track_running_stats=True, momentum=None)])
@pytest.mark.parametrize("name,shapes", IN_MODULES)
def test_instance_norm_modules_match_torch(name, shapes, options):
    torch = _torch()
    j_mod, t_mod = getattr(nn, name)(3, **options), getattr(torch.nn, name)(3, **options)
    assert repr(j_mod) == repr(t_mod)
    if options.get("affine"):
        with torch.no_grad():
            t_mod.weight.uniform_(0.5, 1.5)
            t_mod.bias.uniform_(-1, 1)
        _copy_params(j_mod, t_mod)
    _run_steps(j_mod, t_mod, shapes, "float32")
    j_mod.eval()
    t_mod.eval()
    _run_steps(j_mod, t_mod, shapes, "float32", seed=1)


def test_instance_norm_channel_mismatch_warns_without_affine_and_raises_with_it():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(juanji.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected input's size at dim=1 to match num_features \(4\)"):
        nn.InstanceNorm2d(4, affine=True)(juanji.randn(2, 3, 5, 5))


# -- layer norm --------------------------------------------------------------------------------

LN_CASES = [((4, 6), (6,)), ((2, 3, 5), (5,)), ((2, 3, 5), (3, 5)), ((2, 3, 4, 2), (3, 4, 2)), ((7,), (7,)),
            ((3, 1), (1,))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["wb", "w", "b", "none"])
@pytest.mark.parametrize("shape,normalized", LN_CASES)
def test_layer_norm_matches_torch(shape, normalized, affine, dtype):
    rng = np.random.default_rng(5)
    x = _rand(rng, shape, dtype, 3.0, 2.0)
    w = _rand(rng, normalized, dtype, 0.5, 1.0) if affine in ("wb", "w") else None
    b = _rand(rng, normalized, dtype) if affine in ("wb", "b") else None
    _compare_affine("layer_norm", x, w, b, dtype, normalized_shape=list(normalized))


@pytest.mark.parametrize("options", [dict(), dict(elementwise_affine=False), dict(bias=False), dict(eps=0.1)])
@pytest.mark.parametrize("normalized", [5, (4, 5), [3, 4, 5]])
def test_layer_norm_module_matches_torch(normalized, options):
    torch = _torch()
    j_mod, t_mod = nn.LayerNorm(normalized, **options), torch.nn.LayerNorm(normalized, **options)
    assert repr(j_mod) == repr(t_mod)
    assert list(j_mod.state_dict()) == list(t_mod.state_dict())
    if options.get("elementwise_affine", True):
        with torch.no_grad():
            t_mod.weight.uniform_(0.5, 1.5)
        _copy_params(j_mod, t_mod)
    _run_steps(j_mod, t_mod, [(2, 3, 4, 5)], "float32")


# -- group norm --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
# (no bias-only case: torch 2.13's group norm backward fails on it, "tensor does not have a device")
@pytest.mark.parametrize("affine", ["wb", "w", "none"])
@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 1), ((2, 6, 5), 2), ((2, 6, 5), 6), ((3, 4, 3, 3), 2),
                                          ((2, 4), 2), ((2, 4, 2, 2, 3), 4)])
def test_group_norm_matches_torch(shape, groups, affine, dtype):
    rng = np.random.default_rng(9)
    x = _rand(rng, shape, dtype, 2.0, 1.0)
    w, b = _params(rng, shape[1], dtype, affine)
    _compare_affine("group_norm", x, w, b, dtype, num_groups=groups)


@pytest.mark.parametrize("options", [dict(), dict(affine=False), dict(bias=False)])
def test_group_norm_module_matches_torch(options):
    torch = _torch()
    j_mod, t_mod = nn.GroupNorm(3, 6, **options), torch.nn.GroupNorm(3, 6, **options)
    assert repr(j_mod) == repr(t_mod)
    if options.get("affine", True):
        with torch.no_grad():
            t_mod.weight.uniform_(0.5, 1.5)
        _copy_params(j_mod, t_mod)
    _run_steps(j_mod, t_mod, [(2, 6, 3, 4), (4, 6, 5)], "float32")


# -- RMS norm ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 5), (3, 5))])
def test_rms_norm_matches_torch(shape, normalized, eps, dtype):
    torch = _torch()
    rng = np.random.default_rng(4)
    x, w = _rand(rng, shape, dtype), _rand(rng, normalized, dtype)
    compare_with_torch(lambda x, w: F.rms_norm(x, list(normalized), w, eps),
                       lambda x, w: torch.nn.functional.rms_norm(x, list(normalized), w, eps), [x, w], **TOL[dtype])
    assert repr(nn.RMSNorm(normalized)) == repr(torch.nn.RMSNorm(normalized))


# -- local response norm -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 7, 3, 4), (1, 5, 2, 3, 2)])
def test_local_response_norm_matches_torch(shape, size, dtype):
    torch = _torch()
    rng = np.random.default_rng(size)
    x = _rand(rng, shape, dtype, 2.0)
    for alpha, beta, k in [(1e-4, 0.75, 1.0), (0.5, 0.6, 2.0), (1.0, 1.3, 0.5)]:
        compare_with_torch(lambda x: F.local_response_norm(x, size, alpha, beta, k),
                           lambda x: torch.nn.functional.local_response_norm(x, size, alpha, beta, k), [x],
                           **TOL[dtype])


def test_local_response_norm_module_matches_torch():
    torch = _torch()
    j_mod, t_mod = nn.LocalResponseNorm(5, alpha=1e-3, beta=0.75, k=2.0), torch.nn.LocalResponseNorm(5, 1e-3, 0.75, 2.0)
    assert repr(j_mod) == repr(t_mod)
    _run_steps(j_mod, t_mod, [(2, 8, 4, 4)], "float32")
    empty = juanji.zeros((0, 3, 2))
    assert nn.LocalResponseNorm(2)(empty) is empty


# -- torch-free gradient checks (float64) ------------------------------------------------------

def _leaf(rng, shape, scale=1.0, shift=0.0):
    return juanji.tensor(rng.standard_normal(shape) * scale + shift, requires_grad=True)


def test_gradcheck_batch_norm_training_and_eval():
    rng = np.random.default_rng(0)
    x, w, b = _leaf(rng, (3, 2, 4), 2.0, 1.0), _leaf(rng, 2, 0.3, 1.0), _leaf(rng, 2)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    mean, var = juanji.tensor(rng.standard_normal(2)), juanji.tensor(rng.uniform(0.5, 2, 2))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False), (x, w, b))
    x2 = _leaf(rng, (5, 3))
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x2,))


def test_gradcheck_instance_layer_group_rms_norm():
    rng = np.random.default_rng(1)
    x, w, b = _leaf(rng, (2, 4, 5), 2.0), _leaf(rng, 4, 0.3, 1.0), _leaf(rng, 4)
    assert gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (x, w, b))
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))
    lw, lb = _leaf(rng, (4, 5)), _leaf(rng, (4, 5))
    assert gradcheck(lambda x, w, b: F.layer_norm(x, [4, 5], w, b), (x, lw, lb))
    assert gradcheck(lambda x, w: F.rms_norm(x, [5], w[0]), (x, lw))


def test_gradcheck_local_response_norm():
    rng = np.random.default_rng(2)
    x = _leaf(rng, (2, 6, 3))
    for size in (1, 2, 3, 4):
        assert gradcheck(lambda x: F.local_response_norm(x, size, alpha=0.7, beta=0.8, k=1.5), (x,))


# -- errors ------------------------------------------------------------------------------------

def test_batch_norm_errors_name_the_op_and_shapes():
    x = juanji.randn(4, 3, 5)
    with pytest.raises(RuntimeError, match=r"batch_norm: running_mean should contain 3 elements .* got "
                       r"running_mean \[4\]"):
        F.batch_norm(x, juanji.zeros(4), juanji.ones(3), training=True)
    with pytest.raises(RuntimeError, match=r"batch_norm: weight should contain 3 elements .*input \[4, 3, 5\]"):
        F.batch_norm(x, None, None, juanji.ones(4), training=True)
    with pytest.raises(RuntimeError, match="batch_norm: running_var must be defined in evaluation mode"):
        F.batch_norm(x, juanji.zeros(3), None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel when "
                       r"training, got input size \[1, 5\]"):
        F.batch_norm(juanji.randn(1, 5), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm: eps must be positive during training"):
        F.batch_norm(x, None, None, training=True, eps=0.0)
    with pytest.raises(RuntimeError, match="batch_norm: mixed dtype: weight is float64 but input is float32"):
        F.batch_norm(x, None, None, juanji.ones(3, dtype=juanji.float64), training=True)
    with pytest.raises(NotImplementedError, match=r"batch_norm: expected a floating-point input, got a "
                       r"int64 tensor \[2, 3\]"):
        F.batch_norm(juanji.arange(6).reshape(2, 3), None, None, training=True)
    with pytest.raises(IndexError, match=r"batch_norm: expected input with at least 2 dimensions, "
                       r"got 1 \(input \[5\]\)"):
        F.batch_norm(juanji.randn(5), None, None, training=True)
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(N, C, H, W\), got 3D input \[4, 3, 5\]"):
        nn.BatchNorm2d(3)(x)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input"):
        nn.BatchNorm1d(3)(juanji.randn(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match=r"BatchNorm2d: expected input with 16 channels \(num_features=16\), "
                       r"got input \[8, 3, 28, 28\]"):
        nn.BatchNorm2d(16)(juanji.randn(8, 3, 28, 28))


def test_other_norm_errors_name_the_op_and_shapes():
    x = juanji.randn(4, 3, 5)
    with pytest.raises(RuntimeError, match=r"layer_norm: given normalized_shape=\[4\], expected input with shape \[\*, "
                       r"4\], but got input of size \[4, 3, 5\]"):
        F.layer_norm(x, [4])
    with pytest.raises(RuntimeError, match=r"layer_norm: expected weight to be of same shape as normalized_shape, "
                       r"but got weight of shape \[4\]"):
        F.layer_norm(x, [5], juanji.ones(4))
    with pytest.raises(TypeError, match="layer_norm: normalized_shape must be a tuple or list of ints, got 5"):
        F.layer_norm(x, 5)
    with pytest.raises(RuntimeError, match="layer_norm: expected normalized_shape to contain at least one element"):
        F.layer_norm(x, [])
    with pytest.raises(RuntimeError, match=r"group_norm: expected number of channels in input to be divisible "
                       r"by num_groups, but got input of shape \[4, 3, 5\] and num_groups=2"):
        F.group_norm(x, 2)
    with pytest.raises(RuntimeError, match=r"group_norm: expected weight to be a vector of size equal to the number of "
                       r"channels in input, but got weight of shape \[4\]"):
        F.group_norm(x, 3, juanji.ones(4))
    with pytest.raises(ValueError, match="group_norm: num_groups must be a positive int, got 0"):
        F.group_norm(x, 0)
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(5\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"instance_norm: expected more than 1 spatial element when "
                       r"training, got input size \[2, 3, 1\]"):
        F.instance_norm(juanji.randn(2, 3, 1))
    with pytest.raises(RuntimeError, match="instance_norm: expected running_mean and running_var to be defined"):
        F.instance_norm(x, use_input_stats=False)
    with pytest.raises(ValueError, match=r"local_response_norm: expected 3D or higher dimensionality input \(N, C, "
                       r"\*\), got 2 dimensions \(input \[2, 3\]\)"):
        F.local_response_norm(juanji.randn(2, 3), 2)
    with pytest.raises(RuntimeError, match="local_response_norm: size should be greater than zero, but got 0"):
        F.local_response_norm(x, 0)
    with pytest.raises(ValueError, match=r"InstanceNorm1d: expected 2D or 3D input \(C, L\) or \(N, "
                       r"C, L\), got 4D input"):
        nn.InstanceNorm1d(3)(juanji.randn(2, 3, 4, 4))


@pytest.mark.parametrize("case", range(12))
def test_norm_errors_are_torch_exception_classes(case):
    """Where torch refuses, juanji refuses with the same exception class (compare_with_torch)."""
    torch = _torch()
    rng = np.random.default_rng(0)
    x = _rand(rng, (4, 3, 5), "float32")
    cases = [
        (lambda m: lambda x: m.batch_norm(x, None, None, training=True), [_rand(rng, (1, 3), "float32")]),
        (lambda m: lambda x: m.batch_norm(x, None, None, training=False), [x]),
        (lambda m: lambda x, w: m.batch_norm(x, None, None, w, training=True), [x, _rand(rng, 4, "float32")]),
        (lambda m: lambda x, w: m.batch_norm(x, None, None, w, training=True), [x, _rand(rng, 3, "float64")]),
        (lambda m: lambda x: m.batch_norm(x, None, None, training=True), [_rand(rng, (5,), "float32")]),
        (lambda m: lambda x: m.layer_norm(x, [4]), [x]),
        (lambda m: lambda x, w: m.layer_norm(x, [5], w), [x, _rand(rng, 4, "float32")]),
        (lambda m: lambda x: m.layer_norm(x, []), [x]),
        (lambda m: lambda x: m.group_norm(x, 2), [x]),
        (lambda m: lambda x: m.group_norm(x, 3), [_rand(rng, (1, 3), "float32")]),
        (lambda m: lambda x: m.instance_norm(x), [_rand(rng, (2, 3), "float32")]),
        (lambda m: lambda x: m.local_response_norm(x, 2), [_rand(rng, (2, 3), "float32")]),
    ]
    make, inputs = cases[case]
    with pytest.raises((RuntimeError, ValueError, IndexError, TypeError, NotImplementedError)):
        make(torch.nn.functional)(*[torch.tensor(a) for a in inputs])
    compare_with_torch(make(F), make(torch.nn.functional), inputs)


def test_normalization_outputs_have_no_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.layer_norm(juanji.zeros((0, 3)), [3])
        F.group_norm(juanji.zeros((0, 4, 3)), 2)
        F.instance_norm(juanji.zeros((0, 3, 4)))
        F.batch_norm(juanji.zeros((0, 3)), None, None, training=True)
        F.layer_norm(juanji.ones((2, 3)), [3])  # zero variance: (x - mean) / sqrt(eps) = 0


def test_running_statistics_overflow_silently_as_in_torch():
    """A diverging run: the batch variance overflows float32; torch stores inf without a warning."""
    torch = pytest.importorskip("torch")
    data = np.full((2, 3, 4, 4), 3e38, np.float32)
    data[0] = -3e38
    ours, theirs = juanji.nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours(juanji.tensor(data))
    theirs(torch.tensor(data))
    np.testing.assert_array_equal(ours.running_var.numpy(), theirs.running_var.numpy())
    np.testing.assert_array_equal(ours.running_mean.numpy(), theirs.running_mean.numpy())
