"""NumPy's ``axis=`` / ``keepdims=`` spellings of ``dim`` / ``keepdim``, which torch's argument
parser accepts for every Tensor method and torch function with a ``dim``: values and gradients
against torch for each one, the TypeError when a parameter is given both ways, and the
functions where torch refuses the aliases (juanji refuses them too)."""

import inspect

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")

IDX = np.array([[0, 1, 0], [1, 0, 1]], dtype=np.int64)

# (id, call): call(lib, x) with x a (2, 3) float tensor; each is spelled with axis/keepdims
CALLS = [
    ("sum", lambda t, x: x.sum(axis=0)),
    ("sum-keepdims", lambda t, x: x.sum(axis=1, keepdims=True)),
    ("sum-list", lambda t, x: x.sum(axis=[0, 1])),
    ("sum-dtype", lambda t, x: x.sum(axis=1, dtype=t.float64)),
    ("torch.sum", lambda t, x: t.sum(x, axis=-1, keepdims=True)),
    ("nansum", lambda t, x: x.nansum(axis=0, keepdims=True)),
    ("mean-tuple", lambda t, x: x.mean(axis=(0, 1), keepdims=True)),
    ("torch.mean", lambda t, x: t.mean(x, 1, keepdims=True)),
    ("prod", lambda t, x: x.prod(axis=1, keepdims=True)),
    ("var", lambda t, x: x.var(axis=0, keepdims=True)),
    ("std-correction", lambda t, x: x.std(axis=1, correction=0, keepdims=True)),
    ("torch.std-unbiased", lambda t, x: t.std(x, 0, False, keepdims=True)),
    ("max", lambda t, x: x.max(axis=1, keepdims=True)),
    ("torch.max", lambda t, x: t.max(x, axis=0)),
    ("min", lambda t, x: x.min(axis=0)),
    ("amax", lambda t, x: x.amax(axis=(0, 1))),
    ("amin", lambda t, x: x.amin(axis=1, keepdims=True)),
    ("argmax", lambda t, x: x.argmax(axis=1)),
    ("argmin-keepdims", lambda t, x: x.argmin(axis=0, keepdims=True)),
    ("argmax-none", lambda t, x: x.argmax(axis=None)),
    ("all", lambda t, x: (x > 0).all(axis=1, keepdims=True)),
    ("any", lambda t, x: t.any(x > 0, axis=0)),
    ("logsumexp", lambda t, x: x.logsumexp(axis=1, keepdims=True)),
    ("softmax", lambda t, x: x.softmax(axis=1)),
    ("torch.log_softmax", lambda t, x: t.log_softmax(x, axis=0)),
    ("cumsum", lambda t, x: x.cumsum(axis=1)),
    ("count_nonzero", lambda t, x: x.count_nonzero(axis=0)),
    ("sort", lambda t, x: x.sort(axis=1, descending=True)),
    ("argsort", lambda t, x: x.argsort(axis=0)),
    ("topk", lambda t, x: t.topk(x, 2, axis=1)),
    ("squeeze", lambda t, x: x.unsqueeze(0).squeeze(axis=0)),
    ("torch.unsqueeze", lambda t, x: t.unsqueeze(x, axis=-1)),
    ("repeat_interleave", lambda t, x: x.repeat_interleave(2, axis=1)),
    ("narrow", lambda t, x: x.narrow(axis=1, start=1, length=2)),
    ("select", lambda t, x: t.select(x, axis=1, index=2)),
    ("unbind", lambda t, x: x.unbind(axis=1)),
    ("torch.chunk", lambda t, x: t.chunk(x, 2, axis=1)),
    ("tensor_split", lambda t, x: x.tensor_split(2, axis=1)),
    ("gather", lambda t, x: x.gather(axis=1, index=t.tensor(IDX))),
    ("scatter", lambda t, x: x.scatter(axis=1, index=t.tensor(IDX), src=x * 2)),
    ("scatter_add", lambda t, x: x.scatter_add(axis=0, index=t.tensor(IDX), src=x)),
    ("index_select", lambda t, x: t.index_select(x, axis=1, index=t.tensor([2, 0]))),
    ("cat", lambda t, x: t.cat((x, x * 2), axis=1)),
    ("concat", lambda t, x: t.concat([x, x], axis=-1)),
    ("concatenate", lambda t, x: t.concatenate([x, x], axis=0)),
    ("stack", lambda t, x: t.stack((x, x * 2), axis=1)),
    ("var_mean", lambda t, x: t.var_mean(x, axis=1, keepdims=True)),
    ("std_mean", lambda t, x: t.std_mean(x, axis=0)),
    ("swapaxes", lambda t, x: x.swapaxes(axis0=0, axis1=1)),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[name for name, _ in CALLS])
def test_numpy_spelling_gives_torchs_values_and_gradients(call, dtype):
    x = random_array((2, 3), dtype, np.random.default_rng(1))
    j_out, t_out = compare_with_torch(lambda x: call(juanji, x), lambda x: call(torch, x), [x])
    assert j_out is not None, "torch refused the call; the case is not testing an alias"


@pytest.mark.parametrize("make", [
    lambda t, x: x.sum(axis=0, keepdims=True),
    lambda t, x: x.logsumexp(axis=1),
    lambda t, x: t.cat((x, x), axis=1),
    lambda t, x: x.unbind(axis=0)[1],
    lambda t, x: x.std(axis=1, keepdims=True),
], ids=["sum", "logsumexp", "cat", "unbind", "std"])
def test_gradcheck_through_the_numpy_spelling(make):
    x = juanji.tensor(random_array((2, 3), "float64", np.random.default_rng(3)), requires_grad=True)
    assert gradcheck(lambda x: make(juanji, x), (x,))


BOTH_WAYS = [
    ("sum(dim=0, axis=0)", lambda t, x: x.sum(dim=0, axis=0)),
    ("sum(0, axis=0)", lambda t, x: x.sum(0, axis=0)),
    ("sum(0, keepdim=True, keepdims=True)", lambda t, x: x.sum(0, keepdim=True, keepdims=True)),
    ("torch.sum(x, dim=0, axis=0)", lambda t, x: t.sum(x, dim=0, axis=0)),
    ("max(dim=0, axis=0)", lambda t, x: x.max(dim=0, axis=0)),
    ("softmax(0, axis=0)", lambda t, x: x.softmax(0, axis=0)),
    ("unsqueeze(0, axis=0)", lambda t, x: x.unsqueeze(0, axis=0)),
    ("size(0, axis=0)", lambda t, x: x.size(0, axis=0)),
    ("cat(.., 0, axis=1)", lambda t, x: t.cat((x, x), 0, axis=1)),
    ("concat(.., 0, axis=1)", lambda t, x: t.concat((x, x), 0, axis=1)),
    ("concatenate(.., 0, axis=1)", lambda t, x: t.concatenate((x, x), 0, axis=1)),
    ("stack(.., dim=0, axis=0)", lambda t, x: t.stack((x, x), dim=0, axis=0)),
]


@pytest.mark.parametrize("call", [c for _, c in BOTH_WAYS], ids=[name for name, _ in BOTH_WAYS])
def test_giving_a_parameter_both_ways_is_torchs_type_error(call):
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.raises(TypeError) as torch_error:
        call(torch, torch.tensor(data))
    with pytest.raises(TypeError) as juanji_error:
        call(juanji, juanji.tensor(data))
    assert str(juanji_error.value) == str(torch_error.value)


REFUSED = [
    ("norm(axis=)", lambda t, x: x.norm(axis=0)),
    ("flip(axis=)", lambda t, x: x.flip(axis=0)),
    ("roll(axis=)", lambda t, x: x.roll(1, axis=0)),
    ("split(axis=)", lambda t, x: x.split(1, axis=0)),
    ("transpose(axis0=)", lambda t, x: x.transpose(axis0=0, axis1=1)),
    ("flatten(start_axis=)", lambda t, x: x.flatten(start_axis=0)),
    ("F.softmax(axis=)", lambda t, x: t.nn.functional.softmax(x, axis=0)),
    ("cumsum(keepdims=)", lambda t, x: x.cumsum(axis=0, keepdims=True)),
    ("sum(axes=)", lambda t, x: x.sum(axes=0)),
]


@pytest.mark.parametrize("call", [c for _, c in REFUSED], ids=[name for name, _ in REFUSED])
def test_where_torch_refuses_the_aliases_juanji_does_too(call):
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.raises(TypeError):
        call(torch, torch.tensor(data))
    with pytest.raises(TypeError):
        call(juanji, juanji.tensor(data))


def test_the_wrapped_methods_keep_their_names_docs_and_signatures():
    assert juanji.Tensor.sum.__name__ == "sum" and "Sum over" in juanji.Tensor.sum.__doc__
    assert list(inspect.signature(juanji.Tensor.sum).parameters) == ["self", "dim", "keepdim", "dtype"]
    assert juanji.concat.__name__ == "concat" and juanji.concatenate.__name__ == "concatenate"
    assert list(inspect.signature(juanji.cat).parameters) == ["tensors", "dim", "out"]


def test_the_aliases_leave_the_dim_spelling_and_positional_calls_alone():
    x = juanji.arange(6.0).reshape(2, 3)
    assert x.sum(1, True).shape == (2, 1) and x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert x.size(1) == 3 and x.size(axis=1) == 3 and x.stride(axis=0) == 3
    y = x.clone()
    assert y.unsqueeze_(axis=0).shape == (1, 2, 3) and y.squeeze_(axis=0).shape == (2, 3)
