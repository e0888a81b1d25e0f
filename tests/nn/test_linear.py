"""F.linear / F.bilinear and the Linear / Bilinear modules against torch: values and gradients
with respect to every input over a grid of shapes, float32 and float64; juanji's own float64
gradcheck; torch's default initialisation (bounds and spread); errors that name both shapes."""

import itertools
import math

import numpy as np
import pytest

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from tests.helpers import compare_with_torch, random_array

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}
DTYPES = ["float32", "float64"]


# ---------------------------------------------------------------------------------- F.linear
LINEAR_GRID = list(itertools.product(
    [(), (4,), (2, 3), (2, 1, 3)],   # batch dims
    [1, 3],                          # in_features
    [1, 5],                          # out_features
    [True, False],                   # bias
))


@pytest.mark.parametrize("batch,in_f,out_f,bias", LINEAR_GRID)
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_matches_torch(batch, in_f, out_f, bias, dtype):
    rng = np.random.default_rng(len(batch) * 100 + in_f * 10 + out_f)
    x = random_array(batch + (in_f,), dtype, rng)
    w = random_array((out_f, in_f), dtype, rng)
    inputs = [x, w] + ([random_array((out_f,), dtype, rng)] if bias else [None])
    compare_with_torch(F.linear, TF.linear, inputs, **TOL[dtype])


@pytest.mark.parametrize("bias_shape", [(), (1,), (4, 5), (4, 1), (1, 5)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_broadcast_bias_matches_torch(bias_shape, dtype):
    rng = np.random.default_rng(1)
    x, w, b = random_array((4, 3), dtype, rng), random_array((5, 3), dtype, rng), random_array(bias_shape, dtype, rng)
    compare_with_torch(F.linear, TF.linear, [x, w, b], **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_with_vector_weight_matches_torch(dtype):
    rng = np.random.default_rng(2)
    compare_with_torch(F.linear, TF.linear, [random_array((4, 3), dtype, rng), random_array((3,), dtype, rng)],
                       **TOL[dtype])


def test_linear_only_input_or_only_weight_requires_grad():
    rng = np.random.default_rng(3)
    x, w, b = random_array((4, 3), "float64", rng), random_array((2, 3), "float64", rng), random_array((2,), "float64", rng)
    for flags in ([True, False, False], [False, True, False], [False, False, True]):
        compare_with_torch(F.linear, TF.linear, [x, w, b], requires_grad=flags, **TOL["float64"])


def test_linear_non_contiguous_input_matches_torch():
    rng = np.random.default_rng(4)
    x = random_array((3, 6), "float32", rng)
    w, b = random_array((2, 3), "float32", rng), random_array((2,), "float32", rng)
    compare_with_torch(lambda x, w, b: F.linear(x.t(), w, b), lambda x, w, b: TF.linear(x.t(), w, b), [x, w, b],
                       **TOL["float32"])


@pytest.mark.parametrize("batch,bias", [((4,), True), ((2, 3), False), ((), True)])
def test_linear_gradcheck(batch, bias):
    rng = np.random.default_rng(5)
    x = juanji.tensor(random_array(batch + (3,), "float64", rng), requires_grad=True)
    w = juanji.tensor(random_array((2, 3), "float64", rng), requires_grad=True)
    inputs = [x, w] + ([juanji.tensor(random_array((2,), "float64", rng), requires_grad=True)] if bias else [])
    assert gradcheck(lambda *t: F.linear(*t), inputs)


@pytest.mark.parametrize("case", ["in_mismatch", "scalar_input", "weight_3d", "dtype", "bias_wrong", "bias_enlarges",
                                  "bias_dtype", "not_tensor"])
def test_linear_errors_match_torch_kind_and_name_shapes(case):
    f32, f64 = "float32", "float64"
    cases = {
        "in_mismatch": ([random_array((8, 3), f32), random_array((5, 4), f32)], ["linear", "[8, 3]", "[5, 4]"]),
        "scalar_input": ([random_array((), f32), random_array((5, 4), f32)], ["linear", "0D"]),
        "weight_3d": ([random_array((8, 3), f32), random_array((2, 5, 3), f32)], ["linear", "[2, 5, 3]"]),
        "dtype": ([random_array((8, 3), f64), random_array((5, 3), f32)], ["linear", "float64", "float32"]),
        "bias_wrong": ([random_array((8, 3), f32), random_array((5, 3), f32), random_array((4,), f32)],
                       ["linear", "[4]", "[8, 5]"]),
        "bias_enlarges": ([random_array((8, 3), f32), random_array((5, 3), f32), random_array((1, 8, 5), f32)],
                          ["linear", "[1, 8, 5]"]),
        "bias_dtype": ([random_array((8, 3), f32), random_array((5, 3), f32), random_array((5,), f64)],
                       ["linear", "bias", "float64"]),
    }
    if case == "not_tensor":
        with pytest.raises(TypeError) as t_err:
            TF.linear([1.0, 2.0, 3.0], torch.zeros(5, 3))
        with pytest.raises(TypeError) as j_err:
            F.linear([1.0, 2.0, 3.0], juanji.zeros(5, 3))
        assert str(j_err.value) == str(t_err.value)
        return
    inputs, words = cases[case]
    compare_with_torch(F.linear, TF.linear, inputs + [None] * (3 - len(inputs)))  # same exception class
    with pytest.raises(RuntimeError) as err:
        F.linear(*[juanji.tensor(a) for a in inputs])
    for word in words:
        assert word in str(err.value)


# ---------------------------------------------------------------------------------- nn.Linear
def test_linear_module_error_names_layer_and_shapes():
    layer = nn.Linear(4, 5)
    with pytest.raises(RuntimeError) as err:
        layer(juanji.zeros(8, 3))
    assert str(err.value) == "Linear(in_features=4, out_features=5, bias=True): expected input with last " \
                             "dimension 4, got input [8, 3]"
    with pytest.raises(RuntimeError):
        torch.nn.Linear(4, 5)(torch.zeros(8, 3))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_module_matches_torch_after_loading_its_weights(bias):
    tl = torch.nn.Linear(6, 3, bias=bias)
    jl = nn.Linear(6, 3, bias=bias)
    jl.load_state_dict({k: juanji.tensor(v.numpy()) for k, v in tl.state_dict().items()})
    x = random_array((4, 2, 6), "float32")
    jx, tx = juanji.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    jy, ty = jl(jx), tl(tx)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), **TOL["float32"])
    g = random_array(tuple(ty.shape), "float32", np.random.default_rng(9))
    jy.backward(juanji.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), **TOL["float32"])
    np.testing.assert_allclose(jl.weight.grad.numpy(), tl.weight.grad.numpy(), **TOL["float32"])
    if bias:
        np.testing.assert_allclose(jl.bias.grad.numpy(), tl.bias.grad.numpy(), **TOL["float32"])
    assert repr(jl) == repr(tl)
    assert [n for n, _ in jl.named_parameters()] == [n for n, _ in tl.named_parameters()]
    assert (jl.bias is None) == (tl.bias is None)


@pytest.mark.parametrize("in_f,out_f", [(100, 300), (784, 64), (3, 2000)])
def test_linear_default_init_is_uniform_in_one_over_sqrt_fan_in(in_f, out_f):
    juanji.manual_seed(0)
    layer = nn.Linear(in_f, out_f)
    bound = 1 / math.sqrt(in_f)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert w.dtype == np.float32 and w.shape == (out_f, in_f) and b.shape == (out_f,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound): std bound/sqrt(3); the max comes close to the bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert abs(w.mean()) < 0.05 * bound
    assert np.abs(w).max() > 0.95 * bound
    # torch's statistics agree with the same formula
    tw = torch.nn.Linear(in_f, out_f).weight.detach().numpy()
    assert abs(tw.std() - w.std()) < 0.05 * bound


def test_linear_init_is_seeded_by_manual_seed():
    juanji.manual_seed(123)
    a = nn.Linear(4, 3).weight.detach().numpy().copy()
    juanji.manual_seed(123)
    b = nn.Linear(4, 3).weight.detach().numpy().copy()
    c = nn.Linear(4, 3).weight.detach().numpy().copy()
    assert np.array_equal(a, b) and not np.array_equal(b, c)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
def test_linear_module_dtype_argument_and_zero_features():
    layer = nn.Linear(3, 2, dtype=juanji.float64)
    assert layer.weight.dtype is juanji.float64 and layer.bias.dtype is juanji.float64
    empty = nn.Linear(0, 2)  # torch allows it: the output is the bias... or zero with no bias
    tl = torch.nn.Linear(0, 2)
    assert tuple(empty(juanji.zeros(4, 0)).shape) == tuple(tl(torch.zeros(4, 0)).shape)


# ---------------------------------------------------------------------------------- F.bilinear
BILINEAR_GRID = list(itertools.product(
    [(), (4,), (2, 3)],  # batch dims
    [(1, 1, 1), (2, 3, 4), (3, 2, 1)],  # in1, in2, out
    [True, False],
))


@pytest.mark.parametrize("batch,features,bias", BILINEAR_GRID)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bilinear_matches_torch(batch, features, bias, dtype):
    in1, in2, out = features
    rng = np.random.default_rng(sum(features) + len(batch))
    inputs = [random_array(batch + (in1,), dtype, rng), random_array(batch + (in2,), dtype, rng),
              random_array((out, in1, in2), dtype, rng), random_array((out,), dtype, rng) if bias else None]
    compare_with_torch(F.bilinear, TF.bilinear, inputs, **TOL[dtype])


def test_bilinear_gradcheck():
    rng = np.random.default_rng(6)
    tensors = [juanji.tensor(random_array(s, "float64", rng), requires_grad=True)
               for s in [(3, 2), (3, 4), (5, 2, 4), (5,)]]
    assert gradcheck(lambda *t: F.bilinear(*t), tensors)
    assert gradcheck(lambda *t: F.bilinear(*t), tensors[:3])


@pytest.mark.parametrize("shapes", [
    [(4, 2), (3, 3), (5, 2, 3)], [(4, 2), (2, 4, 3), (5, 2, 3)], [(4, 3), (4, 3), (5, 2, 3)],
    [(4, 2), (4, 2), (5, 2, 3)], [(4, 2), (4, 3), (5, 2, 3), (4,)], [(4, 2), (4, 3), (2, 3)],
])
def test_bilinear_errors_match_torch_kind(shapes):
    inputs = [random_array(s, "float32") for s in shapes] + [None] * (4 - len(shapes))
    compare_with_torch(F.bilinear, TF.bilinear, inputs)
    with pytest.raises(RuntimeError, match="bilinear"):
        F.bilinear(*[None if a is None else juanji.tensor(a) for a in inputs])


def test_bilinear_dtype_mismatch_is_an_error():
    compare_with_torch(F.bilinear, TF.bilinear, [random_array((4, 2), "float32"), random_array((4, 3), "float64"),
                                                 random_array((5, 2, 3), "float32"), None])


def test_bilinear_module_init_repr_and_values():
    juanji.manual_seed(0)
    jb = nn.Bilinear(20, 30, 40)
    tb = torch.nn.Bilinear(20, 30, 40)
    assert repr(jb) == repr(tb)
    assert repr(nn.Bilinear(2, 3, 4, bias=False)) == repr(torch.nn.Bilinear(2, 3, 4, bias=False))
    bound = 1 / math.sqrt(20)
    w, b = jb.weight.detach().numpy(), jb.bias.detach().numpy()
    assert w.shape == (40, 20, 30) and np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    jb.load_state_dict({k: juanji.tensor(v.numpy()) for k, v in tb.state_dict().items()})
    x1, x2 = random_array((6, 20), "float32"), random_array((6, 30), "float32")
    np.testing.assert_allclose(jb(juanji.tensor(x1), juanji.tensor(x2)).detach().numpy(),
                               tb(torch.tensor(x1), torch.tensor(x2)).detach().numpy(), **TOL["float32"])
    with pytest.raises(RuntimeError, match=r"Bilinear\(in1_features=20.*got inputs \[6, 30\] and \[6, 30\]"):
        jb(juanji.tensor(x2), juanji.tensor(x2))
