"""Creation from memory (juanji/from_memory.py, ops/strided.py), sampling with tensor parameters
(_tensor/sampling.py, creation.py), out= and generator= on the creation and random functions, and
the process settings (juanji/settings.py) against torch."""

import io
import math
import warnings

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import compare_with_torch, random_array

torch = pytest.importorskip("torch")


def lib(t):
    return juanji if isinstance(t, juanji.Tensor) else torch


# ---------------------------------------------------------------------------- from memory
def test_asarray_shares_or_copies_as_torch():
    for module in (juanji, torch):
        a = np.arange(6.0)
        shared, copied, cast = module.asarray(a), module.asarray(a, copy=True), module.asarray(a, dtype=module.float32)
        a[0] = 9.0
        assert shared[0].item() == 9.0 and copied[0].item() == 0.0 and cast[0].item() == 0.0
        assert module.asarray([1, 2]).dtype == module.int64 and module.asarray(3.0).dtype == module.float32
        t = module.ones(2)
        assert module.asarray(t) is t and module.asarray(t, copy=True) is not t
        assert module.asarray([1.0], requires_grad=True).requires_grad
    with pytest.raises(ValueError):
        juanji.asarray(juanji.ones(2), dtype=juanji.float64, copy=False)


def test_frombuffer_matches_torch():
    for kw in ({"dtype": "uint8"}, {"dtype": "int16", "count": 1, "offset": 2}, {"dtype": "float32"}):
        data = bytearray(np.arange(8, dtype=np.uint8).tobytes())
        j = juanji.frombuffer(data, **{k: getattr(juanji, v) if k == "dtype" else v for k, v in kw.items()})
        t = torch.frombuffer(bytearray(data), **{k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()})
        np.testing.assert_array_equal(j.numpy(), t.numpy())
    data = bytearray(4)
    juanji.frombuffer(data, dtype=juanji.uint8)[1] = 7  # shares the buffer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert juanji.frombuffer(data, dtype=juanji.uint8)[1].item() == 0 or data[1] in (0, 7)
    with pytest.raises(ValueError):
        torch.frombuffer(bytearray(3), dtype=torch.int16)
    with pytest.raises(ValueError):
        juanji.frombuffer(bytearray(3), dtype=juanji.int16)


def test_from_file_and_from_dlpack(tmp_path):
    path = tmp_path / "values.bin"
    np.arange(5, dtype=np.float32).tofile(path)
    j = juanji.from_file(str(path), size=5, dtype=juanji.float32)
    t = torch.from_file(str(path), size=5, dtype=torch.float32)
    np.testing.assert_array_equal(j.numpy(), t.numpy())
    a = np.arange(4.0)
    assert juanji.from_dlpack(a).tolist() == [0.0, 1.0, 2.0, 3.0]
    assert juanji.from_dlpack(torch.arange(3.0)).tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("size,stride,offset", [((2, 2), (1, 2), 1), ((3,), (2,), 0), ((2, 3), (0, 1), 2),
                                                 ((2, 2), (1, 1), 0), ((0, 3), (1, 1), 0)])
def test_as_strided_matches_torch_with_overlapping_gradient(size, stride, offset):
    x = random_array((6,), "float64", np.random.default_rng(0))
    compare_with_torch(lambda t: lib(t).as_strided(t, size, stride, offset), None, [x])
    compare_with_torch(lambda t: t.as_strided(size, stride, offset), None, [x])


def test_as_strided_and_empty_strided_errors_match_torch():
    x = np.arange(6.0)
    compare_with_torch(lambda t: t.as_strided((4,), (2,)), None, [x])
    compare_with_torch(lambda t: t.as_strided((2,), (1, 1)), None, [x])
    assert list(juanji.empty_strided((2, 3), (1, 2)).shape) == [2, 3]
    assert gradcheck(lambda t: t.as_strided((2, 2), (1, 1), 1), (juanji.tensor(x, requires_grad=True),))


def test_range_is_inclusive_with_torchs_warning():
    with pytest.raises(TypeError):
        juanji.range(5)
    for args in ((1, 4), (0, 1, 0.25), (3, 0, -1)):
        with pytest.warns(UserWarning, match="deprecated"):
            j = juanji.range(*args)
        with pytest.warns(UserWarning, match="deprecated"):
            t = torch.range(*args)
        np.testing.assert_allclose(j.numpy(), t.numpy())
        assert str(j.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]


# ---------------------------------------------------------------------------- sampling
def test_every_random_function_takes_a_generator_and_repeats_with_its_seed():
    x = juanji.rand(3, 4)
    calls = {
        "rand": lambda g: juanji.rand(3, generator=g), "randn": lambda g: juanji.randn(3, generator=g),
        "rand_like": lambda g: juanji.rand_like(x, generator=g), "randn_like": lambda g: juanji.randn_like(x, generator=g),
        "randint": lambda g: juanji.randint(0, 9, (4,), generator=g),
        "randint_like": lambda g: juanji.randint_like(x, 5, generator=g),
        "randperm": lambda g: juanji.randperm(6, generator=g), "normal": lambda g: juanji.normal(0.0, 1.0, (3,), generator=g),
        "normal_tensor": lambda g: juanji.normal(x, 2.0, generator=g), "bernoulli": lambda g: juanji.bernoulli(x, generator=g),
        "bernoulli_p": lambda g: x.bernoulli(0.3, generator=g), "multinomial": lambda g: x.multinomial(2, generator=g),
        "poisson": lambda g: juanji.poisson(x * 3, generator=g),
        "normal_": lambda g: juanji.empty(3).normal_(generator=g), "uniform_": lambda g: juanji.empty(3).uniform_(generator=g),
        "cauchy_": lambda g: juanji.empty(3).cauchy_(generator=g), "geometric_": lambda g: juanji.empty(3).geometric_(0.4, generator=g),
        "log_normal_": lambda g: juanji.empty(3).log_normal_(generator=g),
        "exponential_": lambda g: juanji.empty(3).exponential_(generator=g),
        "random_": lambda g: juanji.empty(3).random_(0, 10, generator=g),
    }
    for name, draw in calls.items():
        first = draw(juanji.Generator().manual_seed(7)).numpy()
        again = draw(juanji.Generator().manual_seed(7)).numpy()
        other = draw(juanji.Generator().manual_seed(8)).numpy()
        np.testing.assert_array_equal(first, again, err_msg=name)
        assert first.shape == other.shape, name


def test_sampling_distributions_have_the_right_moments():
    g = juanji.Generator().manual_seed(0)
    n = 200_000
    cauchy = juanji.empty(n).cauchy_(2.0, 0.5, generator=g).numpy()
    assert abs(np.median(cauchy) - 2.0) < 0.02 and abs(np.percentile(cauchy, 75) - 2.5) < 0.02
    geo = juanji.empty(n).geometric_(0.25, generator=g).numpy()
    assert geo.min() == 1 and abs(geo.mean() - 4.0) < 0.05
    logn = juanji.empty(n, dtype=juanji.float64).log_normal_(0.5, 0.25, generator=g).numpy()
    assert abs(np.log(logn).mean() - 0.5) < 0.005 and abs(np.log(logn).std() - 0.25) < 0.005
    rates = juanji.full((n,), 3.0)
    counts = juanji.poisson(rates, generator=g).numpy()
    assert abs(counts.mean() - 3.0) < 0.02 and abs(counts.var() - 3.0) < 0.05
    bern = juanji.full((n,), 0.3).bernoulli(generator=g).numpy()
    assert abs(bern.mean() - 0.3) < 0.005
    picks = juanji.tensor([1.0, 0.0, 3.0]).multinomial(n, replacement=True, generator=g).numpy()
    assert abs((picks == 2).mean() - 0.75) < 0.005 and not (picks == 1).any()


def test_sampling_dtypes_and_errors_match_torch():
    f, i = np.array([0.2, 0.9], np.float32), np.array([0, 1])
    for build in (lambda t: t.bernoulli(), lambda t: t.bernoulli(0.3), lambda t: lib(t).bernoulli(t, 0.5),
                  lambda t: lib(t).poisson(t)):
        for x in (f, i, f.astype(np.float64)):
            jr, tr = None, None
            try:
                tr = build(torch.tensor(x))
            except (RuntimeError, NotImplementedError, TypeError) as e:
                with pytest.raises(type(e)):
                    build(juanji.tensor(x))
                continue
            jr = build(juanji.tensor(x))
            assert str(jr.dtype).split(".")[-1] == str(tr.dtype).split(".")[-1]
    compare_with_torch(lambda t: t.bernoulli(), None, [np.array([1.5], np.float32)], grad=False)
    compare_with_torch(lambda t: lib(t).poisson(t), None, [np.array([-1.0])], grad=False)
    compare_with_torch(lambda t: t.multinomial(4), None, [np.array([1.0, 2.0, 3.0])], grad=False)
    compare_with_torch(lambda t: t.multinomial(1), None, [np.array([1.0, -2.0])], grad=False)
    compare_with_torch(lambda t: t.multinomial(1), None, [np.ones((2, 2, 2))], grad=False)
    assert list(juanji.tensor([[1.0, 0.0, 2.0]]).multinomial(2).shape) == [1, 2]
    assert list(juanji.tensor([1.0, 0.0, 2.0]).multinomial(2).shape) == [2]
    assert sorted(juanji.tensor([1.0, 0.0, 0.0]).multinomial(3).tolist()) == [0, 1, 2]


def test_normal_with_tensor_parameters_is_recorded_with_torchs_zero_gradient():
    mean, std = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0])
    for module in (juanji, torch):
        for m_grad, s_grad in ((True, True), (True, False), (False, True)):
            m = module.tensor(mean, requires_grad=m_grad)
            s = module.tensor(std, requires_grad=s_grad)
            args = (m if m_grad else 0.5, s if s_grad else 2.0) if not (m_grad and s_grad) else (m, s)
            y = module.normal(*args)
            assert y.requires_grad
            names = {(True, True): "NormalBackward3", (True, False): "NormalBackward1", (False, True): "NormalBackward2"}
            assert type(y.grad_fn).__name__ == names[(m_grad, s_grad)]
            y.sum().backward()
            for t, wanted in ((m, m_grad), (s, s_grad)):
                if wanted:
                    np.testing.assert_array_equal(t.grad.numpy(), np.zeros(3))


@pytest.mark.parametrize("name,args", [("zeros", ((2, 3),)), ("ones", ((4,),)), ("full", ((2,), 1.5)), ("arange", (5,)),
                                       ("linspace", (0.0, 1.0, 5)), ("logspace", (0.0, 2.0, 3)), ("eye", (3,)),
                                       ("empty", ((2,),))])
def test_creation_out_argument_matches_torch(name, args):
    jo, to = juanji.empty(0), torch.empty(0)
    jr = getattr(juanji, name)(*args, out=jo)
    getattr(torch, name)(*args, out=to)
    assert jr is jo and list(jo.shape) == list(to.shape)
    if name != "empty":
        np.testing.assert_allclose(jo.numpy(), to.numpy(), rtol=1e-6)


def test_random_out_arguments_fill_the_given_tensor():
    for call in (lambda m, o: m.rand(3, out=o), lambda m, o: m.randn(3, out=o), lambda m, o: m.normal(0.0, 1.0, (3,), out=o),
                 lambda m, o: m.bernoulli(m.full((3,), 0.5), out=o)):
        for module in (juanji, torch):
            out = module.empty(0)
            assert call(module, out) is out and list(out.shape) == [3]
    for module in (juanji, torch):
        out = module.empty(0, dtype=module.int64)
        assert module.randperm(4, out=out) is out and sorted(out.tolist()) == [0, 1, 2, 3]
        assert module.randint(0, 3, (5,), out=out) is out and list(out.shape) == [5]


def test_like_functions_take_torchs_keywords():
    x = juanji.ones(2, 3)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        assert list(getattr(juanji, name)(x, memory_format=None, layout=None).shape) == [2, 3]
    assert juanji.full_like(x, 2.0, memory_format=None).sum().item() == 12.0


# ---------------------------------------------------------------------------- settings
def test_set_printoptions_changes_printing_as_torch():
    values = [1.23456789, 2.0, 1e-6]
    try:
        for kw in ({"precision": 2}, {"precision": 6}, {"sci_mode": False}, {"sci_mode": True}, {"profile": "short"},
                   {"linewidth": 30}, {"threshold": 5, "edgeitems": 1}):
            juanji.set_printoptions(**kw)
            torch.set_printoptions(**kw)
            for data in (values, list(range(12)), [[0.5, 1.5, 2.5] * 4] * 3):
                assert repr(juanji.tensor(data)).replace("juanji", "torch") == repr(torch.tensor(data)), kw
    finally:
        juanji.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    with pytest.raises(ValueError):
        juanji.set_printoptions(profile="tiny")


def test_default_device_inference_mode_threads_and_constants():
    assert str(juanji.get_default_device()) == str(torch.get_default_device()) == "cpu"
    juanji.set_default_device("cpu")
    assert juanji.zeros(2).device.type == "cpu"
    juanji.set_default_device(None)
    assert not juanji.is_inference_mode_enabled()
    with juanji.inference_mode():
        assert juanji.is_inference_mode_enabled() and not juanji.is_grad_enabled()
        with juanji.inference_mode(False):
            assert not juanji.is_inference_mode_enabled()
    assert not juanji.is_inference_mode_enabled()

    @juanji.inference_mode()
    def inside():
        return juanji.is_inference_mode_enabled()
    assert inside() and not juanji.is_inference_mode_enabled()
    assert juanji.get_num_interop_threads() >= 1
    with pytest.raises(RuntimeError):
        juanji.set_num_interop_threads(0)
    assert juanji.inf == math.inf and math.isnan(juanji.nan)


def test_determinism_and_precision_switches_answer_as_torch():
    try:
        for module in (juanji, torch):
            module.use_deterministic_algorithms(True, warn_only=True)
            assert module.are_deterministic_algorithms_enabled() and module.is_deterministic_algorithms_warn_only_enabled()
            assert module.get_deterministic_debug_mode() == 1
            module.set_deterministic_debug_mode("error")
            assert module.get_deterministic_debug_mode() == 2
            module.set_deterministic_debug_mode(0)
            assert not module.are_deterministic_algorithms_enabled()
            module.set_float32_matmul_precision("high")
            assert module.get_float32_matmul_precision() == "high"
            module.set_float32_matmul_precision("highest")
            module.set_warn_always(True)
            assert module.is_warn_always_enabled()
            module.set_warn_always(False)
    finally:
        torch.use_deterministic_algorithms(False)
    with pytest.raises(RuntimeError):
        juanji.set_float32_matmul_precision("low")


def test_is_nonzero_is_storage_default_tensor_type():
    for module in (juanji, torch):
        assert module.is_nonzero(module.tensor([1.0])) and not module.tensor(0).is_nonzero()
        for bad in ([1.0, 2.0], []):
            with pytest.raises(RuntimeError):
                module.is_nonzero(module.tensor(bad))
        assert not module.is_storage(module.ones(2))
    try:
        with pytest.warns(UserWarning):
            juanji.set_default_tensor_type(juanji.DoubleTensor)
        assert juanji.get_default_dtype() is juanji.float64 and juanji.zeros(1).dtype is juanji.float64
        with pytest.warns(UserWarning):
            juanji.set_default_tensor_type("torch.FloatTensor")
        assert juanji.get_default_dtype() is juanji.float32
    finally:
        juanji.set_default_dtype(juanji.float32)
    assert juanji.set_flush_denormal(True) in (True, False)


def test_randint_with_one_bound_and_size_as_keyword_is_randint_high():
    """``torch.randint(n, size=(1,))`` (the forward-forward MNIST example draws its wrong labels so):
    the one positional bound is the upper one, as in torch."""
    torch = pytest.importorskip("torch")
    juanji.manual_seed(0)
    got = juanji.randint(3, size=(2000,))
    want = torch.randint(3, size=(2000,))
    assert got.dtype == juanji.int64 and tuple(got.shape) == tuple(want.shape) == (2000,)
    assert set(got.tolist()) == set(want.tolist()) == {0, 1, 2}
    assert tuple(juanji.randint(low=2, high=5, size=(4,)).shape) == (4,)
