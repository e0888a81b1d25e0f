"""Tensor attributes, Python protocol, conversions to Python/NumPy, detach/clone/data, in-place
methods without autograd (values and memory sharing), and comparisons of whole tensors."""

import copy
import pickle

import numpy as np
import pytest

import juanji
from tests.helpers import assert_close, compare_with_torch

torch = pytest.importorskip("torch")


def test_shape_size_dim_numel_and_friends_match_torch():
    for shape in [(), (3,), (2, 3, 4), (0, 5)]:
        j, t = juanji.zeros(shape), torch.zeros(shape)
        assert tuple(j.shape) == tuple(t.shape) and tuple(j.size()) == tuple(t.size())
        assert j.dim() == t.dim() == j.ndim == j.ndimension()
        assert j.numel() == t.numel() == j.nelement()
        if shape:
            assert j.size(0) == t.size(0) and j.size(-1) == t.size(-1) and len(j) == len(t)
    assert juanji.zeros(2, 3).shape.numel() == 6
    assert isinstance(juanji.zeros(2).shape, tuple)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(juanji.tensor(1.0))


def test_device_and_flags():
    x = juanji.zeros(2)
    assert x.device == juanji.device("cpu") and str(x.device) == "cpu" and x.device.type == "cpu"
    assert not x.is_cuda and x.is_contiguous() and x.to("cpu") is x and x.cpu() is x
    assert juanji.device("cuda:1").index == 1 and repr(juanji.device("cpu")) == "device(type='cpu')"


def test_item_tolist_numpy_and_python_numbers():
    x = juanji.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]] and isinstance(x.tolist()[0][0], float)
    assert juanji.tensor([1, 2]).tolist() == [1, 2] and isinstance(juanji.tensor([1])[0].item(), int)
    assert x[0, 0].item() == 1.5 and juanji.tensor([7]).item() == 7 and juanji.tensor(True).item() is True
    assert float(x[1, 1]) == 4.0 and int(juanji.tensor(3.7)) == 3 and bool(juanji.tensor([1.0]))
    n = x.numpy()
    n[0, 0] = 9.0
    assert x[0, 0].item() == 9.0  # numpy() shares memory
    assert np.asarray(x).shape == (2, 2)
    assert [3, 4, 5][juanji.tensor(1)] == 4  # __index__
    with pytest.raises(RuntimeError, match="a Tensor with 4 elements cannot be converted to Scalar"):
        x.item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(x)
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        juanji.ones(2, requires_grad=True).numpy()


def test_iteration_yields_rows():
    x = juanji.arange(6).reshape(3, 2)
    assert [r.tolist() for r in x] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(juanji.tensor(1.0))


def test_clone_copies_and_keeps_the_graph():
    compare_with_torch(lambda t: t.clone() * 3, None, [np.array([1.0, 2.0])])
    x = juanji.tensor([1.0, 2.0])
    c = x.clone()
    c[0] = 5.0
    assert x[0].item() == 1.0


def test_data_property_shares_memory_without_history():
    w = juanji.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 10.0
    assert w[0].item() == 10.0 and w.requires_grad


def test_requires_grad_flag_methods():
    x = juanji.zeros(2)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = juanji.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)


INPLACE = [
    lambda t: t.zero_(),
    lambda t: t.fill_(2.5),
    lambda t: t.fill_(t.new_tensor(3.0) if isinstance(t, juanji.Tensor) else torch.tensor(3.0)),
    lambda t: t.add_(1.5),
    lambda t: t.add_(t, alpha=2),
    lambda t: t.sub_(0.5),
    lambda t: t.sub_(t[0].clone(), alpha=0.5),
    lambda t: t.mul_(3),
    lambda t: t.mul_(t[:, :1].clone()),
    lambda t: t.div_(4),
    lambda t: t.div_(t + 10),
    lambda t: t.clamp_(-0.5, 0.5),
    lambda t: t.clamp_(min=0),
    lambda t: t.clamp_(max=0.1),
    lambda t: t.copy_(t.flip(0).clone()),
    lambda t: t.copy_(t[0].clone()),  # broadcasting copy
    lambda t: t.unsqueeze_(0),
    lambda t: t.unsqueeze_(-1),
    lambda t: t.squeeze_(),
    lambda t: t.t_(),
    lambda t: t.neg_(),
    lambda t: t.abs_(),
    lambda t: t.exp_(),
    lambda t: t.sqrt_() if False else t.abs_().sqrt_(),
    lambda t: t.relu_(),
    lambda t: t.sigmoid_(),
    lambda t: t.tanh_(),
    lambda t: t.floor_(),
    lambda t: t.round_(),
    lambda t: t.pow_(2),
    lambda t: t.masked_fill_(t > 0, -1.0),
    lambda t: t.lerp_(t * 0 + 1, 0.25),
    lambda t: t.addcmul_(t, t, value=0.5),
    lambda t: t.addcdiv_(t, t + 5, value=2),
    lambda t: t.clamp_min_(0.0),
    lambda t: t.clamp_max_(0.0),
    lambda t: t.clip_(-1, 1),
    lambda t: t.sign_(),
    lambda t: t.ceil_(),
    lambda t: t.trunc_(),
    lambda t: t.log_() if False else t.abs_().add_(1).log_(),
    lambda t: t.reciprocal_() if False else t.abs_().add_(1).reciprocal_(),
    lambda t: t.sin_(),
    lambda t: t.cos_(),
    lambda t: t.square_(),
    lambda t: t.sqrt_() if False else t.abs_().rsqrt_() if False else t.abs_().sqrt_(),
]


@pytest.mark.parametrize("case", range(len(INPLACE)))
def test_in_place_methods_match_torch_and_return_self(case):
    fn = INPLACE[case]

    def run(t):
        out = fn(t)
        assert out is t
        return t

    x = np.array([[0.5, -1.25, 2.0], [-0.3, 0.0, 1.5]], np.float32)
    compare_with_torch(run, None, [x], grad=False)


def test_in_place_changes_are_seen_through_views():
    x = juanji.zeros(2, 3)
    row = x[1]
    x.add_(1)
    x[0].mul_(5)
    x.view(-1)[5] = 7.0
    assert row.tolist() == [1.0, 1.0, 7.0] and x[0].tolist() == [5.0, 5.0, 5.0]


def test_in_place_dtype_rules_match_torch():
    x = juanji.tensor([1, 2, 3])
    x.add_(2)
    x.mul_(juanji.tensor([1, 0, 1]))
    assert x.tolist() == [3, 0, 5] and x.dtype is juanji.int64
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x.add_(1.5)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        torch.tensor([1, 2]).add_(1.5)
    f = juanji.zeros(2)
    f.add_(juanji.tensor([1, 2]))  # an int tensor into a float one is fine
    assert f.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast shape \[2, 2\]"):
        f.add_(juanji.ones(2, 2))


def test_copy_from_other_dtypes_and_numpy():
    x = juanji.zeros(3, dtype=juanji.int32)
    x.copy_(juanji.tensor([1.9, -2.9, 3.5]))
    assert x.tolist() == [1, -2, 3]
    y = juanji.zeros(2)
    y.copy_(np.array([4.0, 5.0]))
    assert y.tolist() == [4.0, 5.0]


def test_equal_allclose_isclose_match_torch():
    a = np.array([1.0, 2.0, np.nan])
    b = np.array([1.0, 2.0 + 1e-9, np.nan])
    for lib in (juanji, torch):
        ta, tb = lib.tensor(a), lib.tensor(b)
        assert not lib.equal(ta, tb) and lib.equal(ta[:2], ta[:2])
        assert not lib.allclose(ta, tb) and lib.allclose(ta, tb, equal_nan=True)
        assert ta.allclose(tb, equal_nan=True)
        assert not lib.equal(ta, ta[:2])
    compare_with_torch(lambda x, y: x.isclose(y), None, [a, b], grad=False)
    compare_with_torch(lambda x, y: x.isclose(y, rtol=0, atol=0, equal_nan=True), None, [a, b], grad=False)


def test_pickle_copy_and_deepcopy():
    w = juanji.tensor([1.0, 2.0], requires_grad=True)
    w.grad = juanji.tensor([0.5, 0.5])
    for clone in (pickle.loads(pickle.dumps(w)), copy.deepcopy(w)):
        assert clone.tolist() == [1.0, 2.0] and clone.requires_grad
        clone.data[0] = 5.0
        assert w[0].item() == 1.0
    assert copy.deepcopy(w).grad.tolist() == [0.5, 0.5]


def test_new_creation_methods_keep_dtype():
    x = juanji.zeros(2, dtype=juanji.float64)
    for made in (x.new_zeros(3), x.new_ones(2, 2), x.new_full((2,), 4.0), x.new_empty(3), x.new_tensor([1, 2])):
        assert made.dtype is juanji.float64
    assert x.new_zeros((2, 3)).shape == (2, 3) and x.new_ones(2, dtype=juanji.int64).dtype is juanji.int64
    t = torch.zeros(2, dtype=torch.float64)
    assert_close(x.new_tensor([1, 2]), t.new_tensor([1, 2]))


def test_hash_and_identity():
    a, b = juanji.zeros(2), juanji.zeros(2)
    assert len({a, b}) == 2  # tensors hash by identity (== is elementwise)
    assert a in [a] and isinstance(a == b, juanji.Tensor)


def test_comparison_with_none_and_membership_like_torch():
    x = juanji.tensor([1.0, 2.0])
    assert (x == None) is False and (x != None) is True  # noqa: E711
    assert 2.0 in x and 3 not in x
    assert (2.0 in torch.tensor([1.0, 2.0])) and (torch.tensor([1.0]) == None) is False  # noqa: E711
