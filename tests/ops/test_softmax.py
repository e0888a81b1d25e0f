"""Softmax and log-softmax as Ops (juanji/ops/softmax.py) that the Tensor methods and
nn.functional call directly: values, gradients, node names and errors of ``x.softmax(dim)``
and ``x.log_softmax(dim)`` against torch, for every dim of several shapes (0-d and empty ones
too), float32 and float64, ``dtype=``, non-finite inputs; and a torch-free gradcheck."""

import numpy as np
import pytest

import juanji
import juanji.nn.functional as F
from tests.helpers import compare_with_torch

torch = pytest.importorskip("torch")

SHAPES = [(), (5,), (3, 4), (2, 3, 4), (2, 0, 3), (0,)]


def _dims(shape):
    n = max(len(shape), 1)
    return list(range(-n, n))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
def test_tensor_methods_match_torch(name, dtype, shape):
    x = np.asarray(np.random.default_rng(len(shape)).standard_normal(shape) * 3, dtype=dtype)
    for dim in _dims(shape):
        compare_with_torch(lambda t: getattr(t, name)(dim), None, [x])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_dtype_argument_casts_first(name):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    j, t = compare_with_torch(lambda t: getattr(t, name)(1, dtype=t.new_tensor(0.0).double().dtype), None, [x])
    assert j[0].dtype is juanji.float64


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_non_finite_inputs_match_torch(name):
    x = np.array([[0.0, np.inf, 1.0], [-np.inf, 0.0, 2.0], [np.nan, 1.0, 0.0], [-np.inf, -np.inf, -np.inf]])
    with np.errstate(all="raise"):  # computed silently, as torch does
        compare_with_torch(lambda t: getattr(t, name)(1), None, [x], grad=False)


@pytest.mark.parametrize("shape", [(), (4,), (2, 0)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_node_names_are_torchs_for_every_shape(name, shape):
    jx = juanji.zeros(shape, requires_grad=True)
    tx = torch.zeros(shape, requires_grad=True)
    assert type(getattr(jx, name)(0).grad_fn).__name__ == type(getattr(tx, name)(0).grad_fn).__name__


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_functional_and_method_give_the_same_node_and_values(name):
    x = juanji.randn(3, 5, requires_grad=True)
    a, b = getattr(x, name)(1), getattr(F, name)(x, dim=1)
    assert type(a.grad_fn) is type(b.grad_fn) and juanji.equal(a, b)


@pytest.mark.parametrize("case", ["dim out of range", "dim not an int", "integer tensor"])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_errors_are_torchs_kind_and_name_the_op(name, case):
    dim = {"dim out of range": 2, "dim not an int": "a", "integer tensor": 0}[case]
    dtype = "int64" if case == "integer tensor" else "float32"
    with pytest.raises(Exception) as theirs:
        getattr(torch.ones(2, 3, dtype=getattr(torch, dtype)), name)(dim)
    # torch: IndexError, TypeError, RuntimeError (juanji's NotImplementedError is one)
    with pytest.raises(type(theirs.value), match=name):
        getattr(juanji.ones(2, 3, dtype=getattr(juanji, dtype)), name)(dim)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_gradcheck(name):
    x = juanji.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert juanji.autograd.gradcheck(lambda t: getattr(t, name)(0), (x,))
