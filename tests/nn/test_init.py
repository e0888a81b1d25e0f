"""nn.init: gains and fans equal torch's (including errors); random initialisers have the mean,
std and bounds their formulas promise (and torch's draws agree with the same formulas);
structured ones (constant, eye, dirac, orthogonal) are exact; all go through juanji's generator
and work on Parameters without recording a graph."""

import math

import numpy as np
import pytest

import juanji
import juanji.nn as nn
from juanji.nn import init

torch = pytest.importorskip("torch")
tinit = torch.nn.init


# ---------------------------------------------------------------------------------- gain and fans
GAIN_CASES = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
              ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
              ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 3),
              ("selu", None), ("linear", 5.0)]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_equals_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(tinit.calculate_gain(nonlinearity, param),
                                                                     rel=1e-15)


@pytest.mark.parametrize("nonlinearity,param", [("leaky_relu", "0.1"), ("leaky_relu", True), ("softmax", None),
                                                ("gelu", None), ("ReLU", None)])
def test_calculate_gain_errors_equal_torch(nonlinearity, param):
    with pytest.raises(ValueError) as t_err:
        tinit.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError) as j_err:
        init.calculate_gain(nonlinearity, param)
    assert str(j_err.value) == str(t_err.value)


@pytest.mark.parametrize("shape", [(3, 5), (16, 3, 5, 5), (8, 4, 3), (2, 3, 2, 2, 2), (7, 1), (0, 3)])
def test_fans_equal_torch(shape):
    assert init._calculate_fan_in_and_fan_out(juanji.empty(shape)) == \
        tinit._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("shape", [(3,), ()])
def test_fans_of_vectors_are_an_error_like_torch(shape):
    with pytest.raises(ValueError) as t_err:
        tinit._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError) as j_err:
        init._calculate_fan_in_and_fan_out(juanji.empty(shape))
    assert str(j_err.value) == str(t_err.value)


def test_bad_mode_is_an_error_like_torch():
    with pytest.raises(ValueError) as t_err:
        tinit.kaiming_normal_(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError) as j_err:
        init.kaiming_normal_(juanji.empty(3, 4), mode="fan_avg")
    assert str(j_err.value) == str(t_err.value)


# ---------------------------------------------------------------------------------- statistics
SHAPE = (256, 128, 3)  # fan_in = 384, fan_out = 768; 98304 draws


def _draw(fn, lib, *args, shape=SHAPE, **kwargs):
    t = lib.empty(shape)
    fn(t, *args, **kwargs)
    return t.detach().numpy().astype(np.float64)


def _check_moments(values, mean, std, n_sigma=5.0):
    n = values.size
    assert abs(values.mean() - mean) < n_sigma * std / math.sqrt(n) + 1e-12, (values.mean(), mean)
    # the sample std's own std is about std / sqrt(2n)
    assert abs(values.std() - std) < n_sigma * std / math.sqrt(2 * n) * 1.5 + 1e-12, (values.std(), std)


def _uniform_cases():
    fan_in, fan_out = 384, 768
    kaiming = lambda gain, fan: math.sqrt(3.0) * gain / math.sqrt(fan)  # noqa: E731
    return [
        ("uniform", (init.uniform_, tinit.uniform_), (-0.5, 2.0), {}, -0.5, 2.0),
        ("xavier", (init.xavier_uniform_, tinit.xavier_uniform_), (), {}, None,
         math.sqrt(6.0 / (fan_in + fan_out))),
        ("xavier_gain", (init.xavier_uniform_, tinit.xavier_uniform_), (), {"gain": 5 / 3}, None,
         5 / 3 * math.sqrt(6.0 / (fan_in + fan_out))),
        ("kaiming", (init.kaiming_uniform_, tinit.kaiming_uniform_), (), {}, None,  # a=0: leaky_relu is relu
         kaiming(math.sqrt(2), fan_in)),
        ("kaiming_relu_out", (init.kaiming_uniform_, tinit.kaiming_uniform_), (),
         {"mode": "fan_out", "nonlinearity": "relu"}, None, kaiming(math.sqrt(2), fan_out)),
        ("kaiming_a", (init.kaiming_uniform_, tinit.kaiming_uniform_), (), {"a": math.sqrt(5)}, None,
         kaiming(math.sqrt(2 / 6), fan_in)),
    ]


@pytest.mark.parametrize("name,fns,args,kwargs,low,high", _uniform_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_uniform_family_bounds_and_moments(name, fns, args, kwargs, low, high):
    if low is None:
        low = -high
    juanji.manual_seed(0)
    for fn, lib in zip(fns, (juanji, torch)):
        values = _draw(fn, lib, *args, **kwargs)
        assert values.min() >= low and values.max() <= high
        width = high - low
        assert values.min() < low + 0.001 * width and values.max() > high - 0.001 * width
        _check_moments(values, (low + high) / 2, width / math.sqrt(12))


def _normal_cases():
    fan_in, fan_out = 384, 768
    return [
        ("normal", (init.normal_, tinit.normal_), (0.5, 2.0), {}, 0.5, 2.0),
        ("xavier", (init.xavier_normal_, tinit.xavier_normal_), (), {"gain": 2.0}, 0.0,
         2.0 * math.sqrt(2.0 / (fan_in + fan_out))),
        ("kaiming", (init.kaiming_normal_, tinit.kaiming_normal_), (), {"nonlinearity": "relu"}, 0.0,
         math.sqrt(2.0 / fan_in)),
        ("kaiming_leaky_out", (init.kaiming_normal_, tinit.kaiming_normal_), (),
         {"a": 0.2, "mode": "fan_out"}, 0.0, math.sqrt(2.0 / (1 + 0.04)) / math.sqrt(fan_out)),
        ("kaiming_tanh", (init.kaiming_normal_, tinit.kaiming_normal_), (), {"nonlinearity": "tanh"}, 0.0,
         5 / 3 / math.sqrt(fan_in)),
    ]


@pytest.mark.parametrize("name,fns,args,kwargs,mean,std", _normal_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_normal_family_moments(name, fns, args, kwargs, mean, std):
    juanji.manual_seed(1)
    for fn, lib in zip(fns, (juanji, torch)):
        values = _draw(fn, lib, *args, **kwargs)
        _check_moments(values, mean, std)
        # a normal puts ~4.55% of its mass beyond 2 std
        beyond = np.mean(np.abs(values - mean) > 2 * std)
        assert abs(beyond - 0.0455) < 0.004


def _truncated_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) truncated to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    var = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift ** 2
    return mean + std * shift, std * math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b,shape", [
    (0.0, 1.0, -2.0, 2.0, SHAPE), (0.0, 0.02, -0.04, 0.04, SHAPE), (1.0, 2.0, 0.0, 5.0, SHAPE),
    (0.0, 1.0, 2.0, 3.0, (20000,)),   # a tail interval: the inverse-CDF path
    (0.0, 1.0, -10.0, 10.0, SHAPE),   # practically untruncated
])
def test_trunc_normal_bounds_and_moments(mean, std, a, b, shape):
    juanji.manual_seed(2)
    expected_mean, expected_std = _truncated_moments(mean, std, a, b)
    for fn, lib in ((init.trunc_normal_, juanji), (tinit.trunc_normal_, torch)):
        values = _draw(fn, lib, mean, std, a, b, shape=shape)
        assert values.min() >= a and values.max() <= b
        _check_moments(values, expected_mean, expected_std)


def test_trunc_normal_warns_when_mean_is_far_outside_like_torch():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        tinit.trunc_normal_(torch.empty(10), mean=10.0, a=-1.0, b=1.0)
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(juanji.empty(10), mean=10.0, a=-1.0, b=1.0)


def test_sparse_zeroes_the_requested_fraction_of_each_column():
    juanji.manual_seed(3)
    w = juanji.empty(100, 50)
    init.sparse_(w, sparsity=0.3, std=0.5)
    values = w.numpy()
    assert np.all((values == 0).sum(axis=0) >= 30)
    nonzero = values[values != 0]
    assert abs(nonzero.std() - 0.5) < 0.03
    with pytest.raises(ValueError):
        init.sparse_(juanji.empty(3), 0.1)


# ---------------------------------------------------------------------------------- exact / structured
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), ()])
def test_constant_ones_zeros_equal_torch(shape):
    for fn, tfn, args in ((init.constant_, tinit.constant_, (0.25,)), (init.ones_, tinit.ones_, ()),
                          (init.zeros_, tinit.zeros_, ())):
        j, t = juanji.empty(shape), torch.empty(shape)
        assert fn(j, *args) is j
        tfn(t, *args)
        np.testing.assert_array_equal(j.numpy(), t.numpy())


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_equals_torch(shape):
    j, t = juanji.empty(shape), torch.empty(shape)
    np.testing.assert_array_equal(init.eye_(j).numpy(), tinit.eye_(t).numpy())


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((3, 6, 3, 3), 1), ((6, 2, 3, 3), 2),
                                          ((4, 2, 3, 4, 5), 2), ((8, 3, 2, 2), 4), ((4, 4, 2), 1)])
def test_dirac_equals_torch(shape, groups):
    j, t = juanji.empty(shape), torch.empty(shape)
    np.testing.assert_array_equal(init.dirac_(j, groups).numpy(), tinit.dirac_(t, groups).numpy())


def test_dirac_makes_a_convolution_the_identity():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    init.dirac_(conv.weight)
    x = juanji.randn(2, 3, 5, 5)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), atol=1e-6)


@pytest.mark.parametrize("fn,tfn,shape,exc", [
    (init.eye_, tinit.eye_, (3,), ValueError), (init.eye_, tinit.eye_, (2, 2, 2), ValueError),
    (init.dirac_, tinit.dirac_, (3, 3), ValueError), (init.orthogonal_, tinit.orthogonal_, (3,), ValueError),
])
def test_structured_shape_errors_equal_torch(fn, tfn, shape, exc):
    with pytest.raises(exc) as t_err:
        tfn(torch.empty(shape))
    with pytest.raises(exc) as j_err:
        fn(juanji.empty(shape))
    assert str(j_err.value) == str(t_err.value)


def test_dirac_groups_error_equals_torch():
    with pytest.raises(ValueError) as t_err:
        tinit.dirac_(torch.empty(5, 2, 3), groups=2)
    with pytest.raises(ValueError) as j_err:
        init.dirac_(juanji.empty(5, 2, 3), groups=2)
    assert str(j_err.value) == str(t_err.value)


@pytest.mark.parametrize("shape,gain", [((6, 6), 1.0), ((10, 4), 2.0), ((4, 10), 1.0), ((8, 2, 3, 3), 0.5),
                                        ((3, 4, 2), 1.0)])
def test_orthogonal_is_orthogonal_times_gain(shape, gain):
    juanji.manual_seed(4)
    w = init.orthogonal_(juanji.empty(shape), gain=gain).numpy().astype(np.float64)
    rows = shape[0]
    flat = w.reshape(rows, -1)
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-5)
    # not a fixed matrix: a second draw differs
    assert not np.allclose(init.orthogonal_(juanji.empty(shape)).numpy(), w)


def test_orthogonal_of_empty_tensor_is_a_no_op():
    assert tuple(init.orthogonal_(juanji.empty(0, 3)).shape) == (0, 3)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_kaiming_on_empty_tensor_warns_and_returns():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(juanji.empty(0, 3))
    t = juanji.empty(3, 0)
    assert init.kaiming_normal_(t) is t


# ---------------------------------------------------------------------------------- generator / autograd
ALL_RANDOM = [
    lambda t, **kw: init.uniform_(t, **kw), lambda t, **kw: init.normal_(t, **kw),
    lambda t, **kw: init.trunc_normal_(t, **kw), lambda t, **kw: init.xavier_uniform_(t, **kw),
    lambda t, **kw: init.xavier_normal_(t, **kw), lambda t, **kw: init.kaiming_uniform_(t, **kw),
    lambda t, **kw: init.kaiming_normal_(t, **kw), lambda t, **kw: init.orthogonal_(t, **kw),
    lambda t, **kw: init.sparse_(t, 0.5, **kw),
]


@pytest.mark.parametrize("fill", ALL_RANDOM)
def test_random_initialisers_follow_manual_seed_and_generators(fill):
    juanji.manual_seed(7)
    a = fill(juanji.empty(6, 5)).numpy().copy()
    juanji.manual_seed(7)
    b = fill(juanji.empty(6, 5)).numpy().copy()
    assert np.array_equal(a, b)
    gen = juanji.Generator().manual_seed(11)
    c = fill(juanji.empty(6, 5), generator=gen).numpy().copy()
    gen.manual_seed(11)
    d = fill(juanji.empty(6, 5), generator=gen).numpy().copy()
    assert np.array_equal(c, d) and not np.array_equal(a, c)


@pytest.mark.parametrize("fill", ALL_RANDOM + [init.zeros_, init.eye_, lambda t: init.constant_(t, 3.0)])
def test_initialisers_fill_parameters_in_place_without_a_graph(fill):
    p = nn.Parameter(juanji.empty(6, 5))
    data = p._data
    out = fill(p)
    assert out is p and p._data is data and p.grad_fn is None and p.requires_grad
    assert p.dtype is juanji.float32


def test_initialisers_keep_float64():
    t = juanji.empty(4, 4, dtype=juanji.float64)
    init.orthogonal_(t)
    assert t.dtype is juanji.float64
    np.testing.assert_allclose(t.numpy().T @ t.numpy(), np.eye(4), atol=1e-12)


def test_deprecated_spellings_warn_and_work():
    t = juanji.empty(3, 3)
    with pytest.warns(FutureWarning):
        init.xavier_uniform(t)
    with pytest.warns(FutureWarning):
        init.constant(t, 2.0)
    assert np.all(t.numpy() == 2.0)
