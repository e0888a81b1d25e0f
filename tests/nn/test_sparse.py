"""F.embedding / nn.Embedding and F.one_hot against torch: lookups and weight gradients over a
grid of index shapes and options (padding_idx, scale_grad_by_freq, max_norm), float32/float64,
gradcheck, default initialisation, from_pretrained, and errors."""

import itertools

import numpy as np
import pytest

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from juanji.kernels.embedding import embedding_backward
from tests.helpers import compare_with_torch, random_array

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-10, atol=1e-12)}


def _indices(shape, num, rng, dtype=np.int64):
    return rng.integers(0, num, size=shape).astype(dtype)


EMBEDDING_GRID = list(itertools.product(
    [(5,), (3, 4), (2, 3, 2), ()],     # index shapes
    [None, 0, -1, 3],                  # padding_idx
    [False, True],                     # scale_grad_by_freq
))


@pytest.mark.parametrize("shape,padding_idx,scale", EMBEDDING_GRID)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_matches_torch(shape, padding_idx, scale, dtype):
    rng = np.random.default_rng(len(shape) * 7 + (padding_idx or 0) % 6)
    idx = _indices(shape, 6, rng)
    if padding_idx is not None and idx.size:
        idx.reshape(-1)[0] = padding_idx % 6  # make sure the padding row is looked up
    weight = random_array((6, 3), dtype, rng)
    compare_with_torch(lambda i, w: F.embedding(i, w, padding_idx=padding_idx, scale_grad_by_freq=scale),
                       lambda i, w: TF.embedding(i, w, padding_idx=padding_idx, scale_grad_by_freq=scale),
                       [idx, weight], **TOL[dtype])


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_embedding_accepts_int32_and_int64_indices(index_dtype):
    rng = np.random.default_rng(0)
    compare_with_torch(F.embedding, TF.embedding, [_indices((4, 2), 5, rng, index_dtype),
                                                   random_array((5, 2), "float32", rng)])


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0), (0.1, float("inf"))])
def test_embedding_max_norm_renormalises_rows_in_place_like_torch(max_norm, norm_type):
    rng = np.random.default_rng(1)
    idx = np.array([[0, 2, 2], [4, 0, 1]])
    w = random_array((6, 3), "float64", rng, low=-3, high=3)
    jw, tw = juanji.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    jy = F.embedding(juanji.tensor(idx), jw, max_norm=max_norm, norm_type=norm_type)
    ty = TF.embedding(torch.tensor(idx), tw, max_norm=max_norm, norm_type=norm_type)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(jw.detach().numpy(), tw.detach().numpy(), rtol=1e-12)  # table changed in place
    assert not np.allclose(jw.detach().numpy(), w)
    jy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(jw.grad.numpy(), tw.grad.numpy())


def test_embedding_gradcheck():
    # padding_idx and scale_grad_by_freq change the gradient on purpose (it is no longer the
    # derivative), so only the plain lookup can be checked numerically; they are checked vs torch above
    idx = juanji.tensor([[1, 2, 1], [0, 4, 1]])
    w = juanji.tensor(random_array((5, 3), "float64"), requires_grad=True)
    assert gradcheck(lambda w: F.embedding(idx, w), [w])
    assert gradcheck(lambda w: F.embedding(idx, w, padding_idx=3) * 2, [w])  # row 3 unused: same derivative


def test_embedding_backward_kernel_sums_repeated_indices():
    grad = np.arange(12, dtype=np.float32).reshape(4, 3)
    idx = np.array([2, 0, 2, 2])
    out = embedding_backward(grad, idx, 4)
    expected = np.zeros((4, 3), np.float32)
    np.add.at(expected, idx, grad)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(embedding_backward(grad, idx, 4, padding_idx=2)[2], 0)


@pytest.mark.parametrize("case", ["too_big", "negative", "float_indices", "uint8_indices", "weight_1d", "weight_3d",
                                  "padding_too_big", "padding_too_small"])
def test_embedding_errors_match_torch_kind(case):
    w = random_array((10, 3), "float32")
    idx = np.array([1, 2])
    kwargs = {}
    if case == "too_big":
        idx = np.array([1, 10])
    elif case == "negative":
        idx = np.array([1, -1])
    elif case == "float_indices":
        idx = np.array([1.0, 2.0], np.float32)
    elif case == "uint8_indices":
        idx = np.array([1, 2], np.uint8)
    elif case == "weight_1d":
        w = random_array((10,), "float32")
    elif case == "weight_3d":
        w = random_array((10, 2, 2), "float32")
    elif case == "padding_too_big":
        kwargs = dict(padding_idx=10)
    elif case == "padding_too_small":
        kwargs = dict(padding_idx=-11)
    with pytest.raises(Exception) as t_err:
        TF.embedding(torch.tensor(idx), torch.tensor(w), **kwargs)
    with pytest.raises(type(t_err.value)) as j_err:
        F.embedding(juanji.tensor(idx), juanji.tensor(w), **kwargs)
    message = str(j_err.value)
    if case in ("too_big", "negative"):
        assert "embedding" in message and "[10, 3]" in message and ("10" in message or "-1" in message)
    elif "padding" in case:
        assert message.startswith("Padding_idx must be within num_embeddings")
    else:
        assert "embedding" in message


def test_embedding_module_default_init_padding_and_repr():
    juanji.manual_seed(0)
    emb = nn.Embedding(1000, 64, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert w.shape == (1000, 64) and w.dtype == np.float32
    assert np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1.0) < 0.02   # N(0, 1)
    for args, kwargs in [((10, 3), {}), ((10, 3), dict(padding_idx=-1)),
                         ((10, 3), dict(max_norm=1.5, norm_type=1.0, scale_grad_by_freq=True, sparse=True))]:
        assert repr(nn.Embedding(*args, **kwargs)) == repr(torch.nn.Embedding(*args, **kwargs))
    assert emb.padding_idx == 3 and nn.Embedding(10, 3, padding_idx=-2).padding_idx == 8


def test_embedding_module_padding_row_stays_zero_through_training():
    emb = nn.Embedding(5, 2, padding_idx=0)
    out = emb(juanji.tensor([[0, 1], [0, 3]]))
    out.pow(2).sum().backward()
    assert np.all(emb.weight.grad.numpy()[0] == 0) and np.any(emb.weight.grad.numpy()[1])


def test_embedding_module_matches_torch_after_loading_weights():
    te = torch.nn.Embedding(7, 4, padding_idx=2, scale_grad_by_freq=True)
    je = nn.Embedding(7, 4, padding_idx=2, scale_grad_by_freq=True)
    je.load_state_dict({"weight": juanji.tensor(te.weight.detach().numpy())})
    idx = np.array([[2, 1, 1], [6, 0, 1]])
    jy, ty = je(juanji.tensor(idx)), te(torch.tensor(idx))
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy())
    g = random_array(tuple(ty.shape), "float32")
    jy.backward(juanji.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(je.weight.grad.numpy(), te.weight.grad.numpy(), rtol=1e-6)


def test_embedding_module_errors_match_torch():
    for kwargs in (dict(padding_idx=10), dict(padding_idx=-11)):
        with pytest.raises(AssertionError):
            torch.nn.Embedding(10, 3, **kwargs)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            nn.Embedding(10, 3, **kwargs)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(4, 3, _weight=juanji.zeros(3, 3))


def test_from_pretrained_shares_and_freezes_like_torch():
    table = juanji.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb(juanji.tensor([1])).tolist() == [[3.0, 4.0]]
    assert repr(emb) == repr(torch.nn.Embedding.from_pretrained(torch.tensor([[1.0, 2.0], [3.0, 4.0]])))
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    assert trainable.weight.tolist()[0] == [1.0, 2.0]  # from_pretrained does not zero the padding row
    with pytest.raises(AssertionError):
        nn.Embedding.from_pretrained(juanji.zeros(3))


# ---------------------------------------------------------------------------------- one_hot
@pytest.mark.parametrize("values,num_classes", [
    ([0, 3, 1], -1), ([0, 3, 1], 5), ([[1, 2], [0, 0]], 3), (2, 4), ([], 4), ([[0]], -1),
])
def test_one_hot_matches_torch(values, num_classes):
    t = TF.one_hot(torch.tensor(values, dtype=torch.long), num_classes)
    j = F.one_hot(juanji.tensor(values, dtype=juanji.int64), num_classes)
    assert j.dtype is juanji.int64 and tuple(j.shape) == tuple(t.shape)
    np.testing.assert_array_equal(j.numpy(), t.numpy())


@pytest.mark.parametrize("values,dtype,num_classes", [
    ([0, 3], "int64", 3), ([0, -1], "int64", -1), ([0.0, 1.0], "float32", -1), ([0, 1], "int32", -1),
    ([], "int64", -1), ([1], "int64", 0),
])
def test_one_hot_errors_match_torch(values, dtype, num_classes):
    with pytest.raises(RuntimeError) as t_err:
        TF.one_hot(torch.tensor(values, dtype=getattr(torch, dtype)), num_classes)
    with pytest.raises(RuntimeError) as j_err:
        F.one_hot(juanji.tensor(values, dtype=getattr(juanji, dtype)), num_classes)
    assert str(j_err.value).startswith(str(t_err.value).split(" (")[0])
