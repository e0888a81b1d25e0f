"""Creation functions against torch (values, dtypes, shapes, errors) and statistical tests for
every random function (moments and bounds against the formulas), plus seeding."""

import math

import numpy as np
import pytest

import juanji
from tests.helpers import assert_close

torch = pytest.importorskip("torch")


def _both(expr):
    """Evaluate ``expr`` with ``lib`` bound to juanji and to torch."""
    return eval(expr, {"lib": juanji}), eval(expr, {"lib": torch})


DETERMINISTIC = [
    "lib.tensor([[1, 2], [3, 4]])",
    "lib.tensor([1, 2.5])",
    "lib.tensor([True, False])",
    "lib.tensor([True, 2])",
    "lib.tensor(3)",
    "lib.tensor(3.5)",
    "lib.tensor(False)",
    "lib.tensor([])",
    "lib.tensor([[1, 2]], dtype=lib.float64)",
    "lib.tensor([1.7, -2.7], dtype=lib.int32)",
    "lib.tensor([0, 3], dtype=lib.bool)",
    "lib.tensor([1, 2], dtype=lib.uint8)",
    "lib.tensor(2 ** 40)",
    "lib.tensor([lib.tensor(1.5), lib.tensor(2.5)])",
    "lib.as_tensor([1, 2, 3])",
    "lib.as_tensor([1, 2, 3], dtype=lib.float32)",
    "lib.zeros(2, 3)",
    "lib.zeros((2, 3), dtype=lib.int32)",
    "lib.zeros([0, 2])",
    "lib.zeros(())",
    "lib.ones(3, dtype=lib.bool)",
    "lib.ones(size=(2, 1))",
    "lib.full((2, 2), 1.5)",
    "lib.full((2,), 3)",
    "lib.full((2,), True)",
    "lib.full((2, 2), 7, dtype=lib.float64)",
    "lib.empty(2, 3).shape",
    "lib.empty(0).shape",
    "lib.zeros_like(lib.tensor([[1, 2]]))",
    "lib.ones_like(lib.tensor([1.5, 2]), dtype=lib.float64)",
    "lib.full_like(lib.tensor([1, 2]), 5)",
    "lib.full_like(lib.tensor([1.0, 2.0]), 5)",
    "lib.empty_like(lib.zeros(2, 3, dtype=lib.int64)).dtype",
    "lib.arange(5)",
    "lib.arange(2, 9, 3)",
    "lib.arange(10, 0, -3)",
    "lib.arange(0, 1, 0.1)",
    "lib.arange(0.0, 1.0, 0.3)",
    "lib.arange(-1.5, 2)",
    "lib.arange(5, dtype=lib.float32)",
    "lib.arange(0, 5, 2, dtype=lib.float64)",
    "lib.arange(lib.tensor(3))",
    "lib.linspace(0, 1, 5)",
    "lib.linspace(-2, 2, steps=4)",
    "lib.linspace(0, 1, 1)",
    "lib.linspace(0, 10, 0)",
    "lib.linspace(0, 10, 5, dtype=lib.int64)",
    "lib.linspace(0, 1, 3, dtype=lib.float64)",
    "lib.logspace(0, 2, 3)",
    "lib.eye(3)",
    "lib.eye(2, 3)",
    "lib.eye(3, dtype=lib.int64)",
]


@pytest.mark.parametrize("expr", DETERMINISTIC)
def test_creation_matches_torch(expr):
    j, t = _both(expr)
    if isinstance(t, torch.Tensor):
        assert_close(j, t)
    elif isinstance(t, torch.dtype):
        assert str(j).split(".")[-1] == str(t).split(".")[-1]
    else:
        assert tuple(j) == tuple(t)


@pytest.mark.parametrize("expr,error", [
    ("lib.zeros(2, -1)", RuntimeError),
    ("lib.arange(0, 5, 0)", RuntimeError),
    ("lib.arange(0, 5, -1)", RuntimeError),
    ("lib.linspace(0, 1, -1)", RuntimeError),
    ("lib.tensor([[1, 2], [3]])", ValueError),
    ("lib.randint(5, 2, (2,))", RuntimeError),
    ("lib.tensor([1, 2], dtype=lib.float32, requires_grad=True).long().requires_grad_()", RuntimeError),
    ("lib.normal(0.0, -1.0, size=(2,))", RuntimeError),
    ("lib.zeros(2, 3.5)", TypeError),
])
def test_creation_errors_match_torch(expr, error):
    with pytest.raises(error):
        eval(expr, {"lib": torch})
    with pytest.raises(error):
        eval(expr, {"lib": juanji})


def test_tensor_copies_and_as_tensor_and_from_numpy_share():
    a = np.arange(3.0)
    t = juanji.tensor(a)
    s = juanji.as_tensor(a)
    f = juanji.from_numpy(a)
    a[0] = 42.0
    assert t[0].item() == 0.0 and s[0].item() == 42.0 and f[0].item() == 42.0
    f[1] = -1.0
    assert a[1] == -1.0
    assert f.dtype is juanji.float64  # NumPy's dtype is kept
    x = juanji.ones(2)
    assert juanji.as_tensor(x) is x and juanji.as_tensor(x, dtype=juanji.float64) is not x
    with pytest.raises(TypeError, match="expected np.ndarray"):
        juanji.from_numpy([1, 2])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type uint16"):
        juanji.from_numpy(np.zeros(2, np.uint16))


def test_set_default_dtype_changes_float_creation():
    try:
        juanji.set_default_dtype(juanji.float64)
        assert juanji.zeros(2).dtype is juanji.float64
        assert juanji.tensor([1.5]).dtype is juanji.float64
        assert juanji.arange(0.0, 1.0, 0.5).dtype is juanji.float64
        assert juanji.rand(2).dtype is juanji.float64
        assert (juanji.tensor([1, 2]) / 2).dtype is juanji.float64
        assert juanji.tensor([1, 2]).dtype is juanji.int64
    finally:
        juanji.set_default_dtype(juanji.float32)
    assert juanji.get_default_dtype() is juanji.float32
    with pytest.raises(TypeError, match="only floating-point types are supported as the default type"):
        juanji.set_default_dtype(juanji.int64)


def test_requires_grad_and_dtype_keywords_on_creation():
    for make in (juanji.zeros, juanji.ones, juanji.rand, juanji.randn, juanji.empty):
        t = make(2, 3, dtype=juanji.float64, requires_grad=True)
        assert t.requires_grad and t.is_leaf and t.dtype is juanji.float64
    assert juanji.arange(3.0, requires_grad=True).requires_grad
    assert juanji.full((2,), 1.0, requires_grad=True).requires_grad


# ------------------------------------------------------------------ random functions
N = 200_000


def _within(value, expected, sigma, n=N, k=5.0):
    """|value - expected| within k standard errors of a mean of n draws with std sigma."""
    return abs(value - expected) <= k * sigma / math.sqrt(n)


def test_rand_is_uniform_on_zero_one():
    juanji.manual_seed(0)
    x = juanji.rand(N)
    a = x.numpy()
    assert x.dtype is juanji.float32 and x.shape == (N,)
    assert a.min() >= 0.0 and a.max() < 1.0
    assert _within(a.mean(), 0.5, math.sqrt(1 / 12))
    assert abs(a.var() - 1 / 12) < 0.002
    assert juanji.rand(2, 3, dtype=juanji.float64).dtype is juanji.float64


def test_randn_is_standard_normal():
    juanji.manual_seed(1)
    a = juanji.randn(N).numpy().astype(np.float64)
    assert _within(a.mean(), 0.0, 1.0)
    assert abs(a.std() - 1.0) < 0.01
    assert abs(((a - a.mean()) ** 3).mean()) < 0.05  # skewness
    assert abs(((a - a.mean()) ** 4).mean() / a.var() ** 2 - 3.0) < 0.1  # kurtosis
    assert juanji.randn((4, 5)).shape == (4, 5)


@pytest.mark.parametrize("low,high", [(0, 10), (-3, 4), (5, 6)])
def test_randint_is_uniform_over_the_integers(low, high):
    juanji.manual_seed(2)
    x = juanji.randint(low, high, (N,))
    a = x.numpy()
    assert x.dtype is juanji.int64
    assert a.min() >= low and a.max() < high
    counts = np.bincount(a - low, minlength=high - low)
    expected = N / (high - low)
    assert np.all(np.abs(counts - expected) <= 5 * math.sqrt(expected))
    assert juanji.randint(high, (3,)).max().item() < high  # randint(high, size)
    assert juanji.randint(low, high, (2,), dtype=juanji.int32).dtype is juanji.int32


def test_normal_with_floats_and_with_tensors():
    juanji.manual_seed(3)
    a = juanji.normal(2.0, 3.0, size=(N,)).numpy().astype(np.float64)
    assert _within(a.mean(), 2.0, 3.0) and abs(a.std() - 3.0) < 0.03
    means = juanji.tensor([0.0, 10.0, -5.0])
    stds = juanji.tensor([1.0, 0.5, 2.0])
    draws = np.stack([juanji.normal(means, stds).numpy() for _ in range(20_000)])
    assert np.all(np.abs(draws.mean(0) - means.numpy()) < 5 * stds.numpy() / math.sqrt(20_000))
    assert np.all(np.abs(draws.std(0) - stds.numpy()) < 0.05 * stds.numpy())
    assert juanji.normal(means, 1.0).shape == (3,)
    assert juanji.normal(0.0, stds).shape == (3,)


def test_randperm_is_a_uniform_permutation():
    juanji.manual_seed(4)
    p = juanji.randperm(10)
    assert p.dtype is juanji.int64 and sorted(p.tolist()) == list(range(10))
    firsts = np.array([juanji.randperm(5)[0].item() for _ in range(5000)])
    counts = np.bincount(firsts, minlength=5)
    assert np.all(np.abs(counts - 1000) <= 5 * math.sqrt(1000))
    assert juanji.randperm(0).shape == (0,)


@pytest.mark.parametrize("dtype", [juanji.float32, juanji.float64])
def test_in_place_random_fills(dtype):
    juanji.manual_seed(5)
    x = juanji.empty(N, dtype=dtype)
    a = x.normal_(1.0, 2.0).numpy().astype(np.float64)
    assert x.dtype is dtype
    assert _within(a.mean(), 1.0, 2.0) and abs(a.std() - 2.0) < 0.02
    b = x.uniform_(-2.0, 4.0).numpy().astype(np.float64)
    assert b.min() >= -2.0 and b.max() < 4.0 and _within(b.mean(), 1.0, 6 / math.sqrt(12))
    c = x.bernoulli_(0.3).numpy()
    assert set(np.unique(c)) <= {0.0, 1.0} and _within(c.mean(), 0.3, math.sqrt(0.21))
    d = x.exponential_(2.0).numpy().astype(np.float64)
    assert d.min() >= 0 and _within(d.mean(), 0.5, 0.5)
    e = x.random_(0, 5).numpy()
    assert set(np.unique(e)) == {0, 1, 2, 3, 4}


def test_rand_like_randn_like_randint_like_and_bernoulli():
    juanji.manual_seed(6)
    ref = juanji.zeros(N, dtype=juanji.float64)
    assert juanji.rand_like(ref).dtype is juanji.float64
    assert _within(juanji.randn_like(ref).mean().item(), 0.0, 1.0)
    r = juanji.randint_like(ref, 3, 7)
    assert r.dtype is juanji.float64 and r.min().item() >= 3 and r.max().item() <= 6
    probs = juanji.full((N,), 0.25)
    draws = juanji.bernoulli(probs).numpy()
    assert _within(draws.mean(), 0.25, math.sqrt(0.25 * 0.75))


def test_multinomial_frequencies():
    juanji.manual_seed(7)
    probs = juanji.tensor([0.1, 0.2, 0.7])
    draws = juanji.multinomial(probs, 20_000, replacement=True).numpy()
    freq = np.bincount(draws, minlength=3) / 20_000
    assert np.all(np.abs(freq - probs.numpy()) < 0.02)
    no_repeat = juanji.multinomial(juanji.ones(5), 5)
    assert sorted(no_repeat.tolist()) == [0, 1, 2, 3, 4]


def test_manual_seed_makes_draws_repeatable():
    def draws():
        return (juanji.rand(3).tolist(), juanji.randn(2, 2).tolist(), juanji.randint(0, 100, (4,)).tolist(),
                juanji.randperm(6).tolist(), juanji.empty(3).normal_().tolist())

    juanji.manual_seed(123)
    first = draws()
    juanji.manual_seed(123)
    assert draws() == first
    juanji.manual_seed(124)
    assert draws() != first
    assert juanji.initial_seed() == 124


def test_rng_state_round_trip_and_explicit_generators():
    juanji.manual_seed(9)
    state = juanji.get_rng_state()
    a = juanji.rand(4).tolist()
    juanji.set_rng_state(state)
    assert juanji.rand(4).tolist() == a
    g = juanji.Generator().manual_seed(42)
    x = juanji.rand(3, generator=g).tolist()
    g.manual_seed(42)
    assert juanji.rand(3, generator=g).tolist() == x
    juanji.manual_seed(0)
    y = juanji.rand(3).tolist()
    juanji.manual_seed(0)
    juanji.rand(3, generator=juanji.Generator().manual_seed(5))  # does not advance the default
    assert juanji.rand(3).tolist() == y


# ---------------------------------------------------------------------------- size= for the random ones

@pytest.mark.parametrize("name", ["rand", "randn"])
@pytest.mark.parametrize("form", [lambda f, lib: f(size=(2, 3)), lambda f, lib: f(size=[2, 3]),
                                  lambda f, lib: f((2, 3)), lambda f, lib: f(2, 3),
                                  lambda f, lib: f(size=lib.Size([2, 3])), lambda f, lib: f(lib.ones(2, 3).shape)],
                         ids=["size-tuple", "size-list", "tuple", "ints", "size-Size", "shape"])
def test_rand_and_randn_take_the_shape_in_every_form_torch_does(name, form):
    x = form(getattr(juanji, name), juanji)
    t = form(getattr(torch, name), torch)
    assert tuple(x.shape) == tuple(t.shape) == (2, 3) and x.dtype is juanji.float32


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_rand_and_randn_with_size_keep_their_other_keywords_and_the_seed(name):
    make = getattr(juanji, name)
    juanji.manual_seed(3)
    first = make(size=(4,), dtype=juanji.float64, requires_grad=True)
    juanji.manual_seed(3)
    again = make(4, dtype=juanji.float64)
    assert first.dtype is juanji.float64 and first.requires_grad and first.tolist() == again.tolist()
    assert make(size=()).shape == () and make(size=(0, 2)).shape == (0, 2)


@pytest.mark.parametrize("expr,error", [
    ("lib.rand(2, size=(2, 3))", TypeError),
    ("lib.randn(size=(2, -1))", RuntimeError),
    ("lib.rand(2.5)", TypeError),
    ("lib.randn(2, sized=3)", TypeError),
])
def test_rand_and_randn_size_errors_match_torch(expr, error):
    with pytest.raises(error):
        eval(expr, {"lib": torch})
    with pytest.raises(error):
        eval(expr, {"lib": juanji})


# ---------------------------------------------------------------------------- legacy typed constructors

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
          "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("args", [([1, 2],), ([[1, 0], [3, 4]],), ((2, 3),), ([],), ([True, False],),
                                  (range(3),), ([1.7, 0.2],), (np.array([1.0, 2.0]),),
                                  (np.array([3, 1], dtype=np.int32),)],
                         ids=["list", "nested", "tuple-is-data", "empty-list", "bools", "range", "floats",
                              "np-float64", "np-int32"])
def test_legacy_constructor_from_data_matches_torch(name, args):
    j = getattr(juanji, name)(*args)
    t = getattr(torch, name)(*args)
    assert_close(j, t)


@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("args", [(2, 3), (0,), (4,), (juanji.Size([2, 1]),), ()],
                         ids=["2x3", "0", "4", "Size", "none"])
def test_legacy_constructor_from_sizes_gives_that_shape_and_dtype(name, args):
    j = getattr(juanji, name)(*args)
    t_args = tuple(torch.Size(a) if isinstance(a, juanji.Size) else a for a in args)
    t = getattr(torch, name)(*t_args)
    assert tuple(j.shape) == tuple(t.shape) and str(j.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert not j.numpy().any()  # uninitialised in torch; zeros here


def test_legacy_constructor_shares_a_numpy_array_or_tensor_of_its_dtype():
    a = np.array([1.0, 2.0], dtype=np.float32)
    j = juanji.FloatTensor(a)
    a[0] = 5.0
    assert j.tolist() == [5.0, 2.0]  # shared, as in torch
    b = np.array([1.0, 2.0])  # float64: converted, so not shared
    k = juanji.FloatTensor(b)
    b[0] = 5.0
    assert k.tolist() == [1.0, 2.0]
    x = juanji.ones(2)
    y = juanji.FloatTensor(x)
    y[0] = 3.0
    assert x.tolist() == [3.0, 1.0]


def test_legacy_constructor_of_a_tensor_that_requires_grad_stays_in_the_graph():
    for lib in (juanji, torch):
        x = lib.ones(2, requires_grad=True)
        y = lib.FloatTensor(x)
        assert y is not x and y.requires_grad and type(y.grad_fn).__name__ == "AliasBackward0"
        (y * 3).sum().backward()
        assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("expr,error", [
    ("lib.FloatTensor(2.5)", TypeError),
    ("lib.FloatTensor(True)", TypeError),
    ("lib.FloatTensor(np.float64(3.0))", TypeError),
    ("lib.FloatTensor(2, 3.5)", TypeError),
    ("lib.FloatTensor([1, 2], [3])", TypeError),
    ("lib.FloatTensor(lib.tensor([1, 2]))", TypeError),
    ("lib.LongTensor(lib.tensor([1.0, 2.0]))", TypeError),
    ("lib.FloatTensor(-1)", RuntimeError),
    ("lib.FloatTensor(2, -3)", RuntimeError),
    ("lib.ByteTensor([1, 300])", RuntimeError),
    ("lib.FloatTensor([1], requires_grad=True)", TypeError),
    ("lib.FloatTensor(3, dtype=lib.float64)", TypeError),
    ("lib.Tensor(2.5)", TypeError),
])
def test_legacy_constructor_errors_match_torch(expr, error):
    with pytest.raises(error):
        eval(expr, {"lib": torch, "np": np})
    with pytest.raises(error):
        eval(expr, {"lib": juanji, "np": np})


def test_legacy_constructor_messages_name_what_was_expected_and_got():
    with pytest.raises(TypeError, match=r"new\(\): data must be a sequence \(got float\)"):
        juanji.FloatTensor(2.5)
    with pytest.raises(TypeError, match="LongTensor.*dtype juanji.int64.*got one of dtype juanji.float32"):
        juanji.LongTensor(juanji.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"Trying to create tensor with negative dimension -3: \[2, -3\]"):
        juanji.FloatTensor(2, -3)
    with pytest.raises(RuntimeError, match="ByteTensor.*cannot be converted to type uint8 without overflow"):
        juanji.ByteTensor([300])


@pytest.mark.parametrize("name", LEGACY)
def test_isinstance_with_a_legacy_type_checks_the_dtype_as_in_torch(name):
    for dtype in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"):
        j = juanji.zeros(2, dtype=getattr(juanji, dtype))
        t = torch.zeros(2, dtype=getattr(torch, dtype))
        assert isinstance(j, getattr(juanji, name)) == isinstance(t, getattr(torch, name)), (name, dtype)
    assert not isinstance(np.zeros(2), getattr(juanji, name))
    assert not issubclass(getattr(juanji, name), juanji.Tensor)  # as in torch


def test_legacy_types_print_and_convert_like_torchs():
    assert repr(juanji.FloatTensor) == "<class 'juanji.FloatTensor'>" and juanji.LongTensor.dtype is juanji.int64
    assert juanji.ones(2).type() == "juanji.FloatTensor"
    assert juanji.ones(2, dtype=juanji.int8).type() == "juanji.CharTensor"
    assert juanji.ones(2).type(juanji.LongTensor).dtype is juanji.int64
    assert juanji.ones(2).type("torch.ShortTensor").dtype is juanji.int16
    assert juanji.ones(2).type(juanji.HalfTensor).dtype is juanji.float16
    assert juanji.FloatTensor(2, device="cpu").shape == (2,)
    with pytest.raises(RuntimeError, match="legacy constructor expects device type: cpu"):
        juanji.FloatTensor(2, device="cuda")
