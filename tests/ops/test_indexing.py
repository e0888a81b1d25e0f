"""Indexing against torch: reading with ints, slices, None, Ellipsis, bool and integer tensors
(values and scatter-back gradients), assignment (with and without autograd), gather/scatter,
index_select, masked_fill/select, where, nonzero; and torch's errors."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")


def _data(shape, dtype="float64", seed=0):
    return random_array(shape, dtype, np.random.default_rng(seed))


def _lib(t):
    return juanji if isinstance(t, juanji.Tensor) else torch


def _long(t, values):
    """An int64 index tensor in the same library as ``t``."""
    return _lib(t).tensor(values, dtype=_lib(t).int64)


def _mask(t, values):
    return _lib(t).tensor(values, dtype=_lib(t).bool)


GETITEM_CASES = [
    lambda t: t[1],
    lambda t: t[-1],
    lambda t: t[0, 2],
    lambda t: t[1, -1, 3],
    lambda t: t[:, 1],
    lambda t: t[..., 2],
    lambda t: t[1, ...],
    lambda t: t[:, None, 1],
    lambda t: t[None],
    lambda t: t[..., None],
    lambda t: t[1:],
    lambda t: t[:, ::2],
    lambda t: t[:, 1:3, ::-1] if isinstance(t, juanji.Tensor) else t[:, 1:3].flip(2),  # torch has no negative step
    lambda t: t[::2, ::-1] if isinstance(t, juanji.Tensor) else t[::2].flip(1),
    lambda t: t[:, -2:, 1:-1],
    lambda t: t[5:],  # empty
    lambda t: t[_long(t, [0, 1, 0])],  # repeated indices: gradients add up
    lambda t: t[_long(t, [[1, 0], [0, 0]])],
    lambda t: t[:, _long(t, [2, 0, 2])],
    lambda t: t[_long(t, [0, 1]), _long(t, [2, 0])],
    lambda t: t[_long(t, [0, 1]), :, _long(t, [3, 3])],  # separated advanced indices go first
    lambda t: t[1, _long(t, [0, 2]), 1:3],
    lambda t: t[[0, 1, 1]],  # a Python list is an integer index
    lambda t: t[[0, 1], [1, 2]],
    lambda t: t[_mask(t, [True, False])],
    lambda t: t[:, _mask(t, [True, False, True])],
    lambda t: t[t > 0],
    lambda t: t[t[:, :, 0] > 0],
    lambda t: t[..., _long(t, 1)],  # a 0-d index tensor
    lambda t: t[_long(t, [-1, -2])],
    lambda t: t[None, ..., None, 0],
]


@pytest.mark.parametrize("case", range(len(GETITEM_CASES)))
def test_getitem_matches_torch(case):
    for dtype in FLOAT_DTYPES:
        compare_with_torch(GETITEM_CASES[case], None, [_data((2, 3, 4), dtype, seed=case)])


def test_getitem_on_integer_and_bool_tensors():
    x = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    for fn in GETITEM_CASES[:12]:
        compare_with_torch(fn, None, [x], grad=False)
    compare_with_torch(lambda t: t[t % 3 == 0], None, [x], grad=False)


def test_basic_indexing_returns_a_view_and_advanced_a_copy():
    x = juanji.zeros(3, 4)
    row = x[1]
    row[2] = 5.0
    assert x[1, 2].item() == 5.0
    x[:, 0][1] = 7.0
    assert x[1, 0].item() == 7.0
    picked = x[juanji.tensor([1])]
    picked[0, 0] = -1.0
    assert x[1, 0].item() == 7.0


SETITEM_CASES = [
    (lambda t, v: t.__setitem__(1, v), (4,)),
    (lambda t, v: t.__setitem__((0, 2), v), ()),
    (lambda t, v: t.__setitem__((slice(None), 1), v), (3,)),
    (lambda t, v: t.__setitem__((slice(None), slice(1, 3)), v), (1, 2)),
    (lambda t, v: t.__setitem__(Ellipsis, v), (4,)),
    (lambda t, v: t.__setitem__(_mask(t, [True, False, True]), v), (4,)),
    (lambda t, v: t.__setitem__(_long(t, [2, 0]), v), (2, 4)),
    (lambda t, v: t.__setitem__((_long(t, [0, 2]), _long(t, [1, 3])), v), (2,)),
    (lambda t, v: t.__setitem__(t > 0.5, v), ()),
]


@pytest.mark.parametrize("case", range(len(SETITEM_CASES)))
def test_setitem_matches_torch_values_and_gradients(case):
    assign, value_shape = SETITEM_CASES[case]

    def fn(base, value):
        out = base * 1  # a non-leaf copy we may write into
        assign(out, value)
        return out

    for dtype in FLOAT_DTYPES:
        compare_with_torch(fn, None, [_data((3, 4), dtype, seed=case), _data(value_shape, dtype, seed=50 + case)])


@pytest.mark.parametrize("value", [2.5, 3, True])
def test_setitem_with_python_scalars_and_without_grad(value):
    def fn(base):
        out = base.clone()
        out[1:, ::2] = value
        out[0] = out[2]
        return out

    compare_with_torch(fn, None, [_data((3, 4), "float32")], grad=False)
    compare_with_torch(fn, None, [np.arange(12, dtype=np.int64).reshape(3, 4)], grad=False)


def test_setitem_with_tensor_of_another_dtype_casts():
    def fn(base, value):
        out = base.clone()
        out[0] = value
        return out

    compare_with_torch(fn, None, [np.zeros((2, 3), np.float32), np.array([1, 2, 3], np.int64)], grad=False)
    compare_with_torch(fn, None, [np.zeros((2, 3), np.int64), np.array([1.7, -2.2, 3.9], np.float32)], grad=False)


def test_setitem_on_a_leaf_that_requires_grad_is_refused():
    w = juanji.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        w[0] = 1.0
    with juanji.no_grad():
        w[0] = 1.0  # allowed without autograd, as in torch
    assert w.tolist() == [1.0, 0.0, 0.0]


# ------------------------------------------------------------------ gather / scatter / select
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_matches_torch(dim):
    rng = np.random.default_rng(dim + 5)
    x = _data((3, 4), seed=abs(dim))
    size = x.shape[dim]
    index = rng.integers(0, size, size=(2, 3) if dim != 0 else (5, 4)).astype(np.int64)
    if dim == 0:
        index = index[:, :4]
    for dtype in FLOAT_DTYPES:
        compare_with_torch(lambda t, i: t.gather(dim, i), None, [x.astype(dtype), index])
        compare_with_torch(lambda t, i: _lib(t).gather(t, dim, i), None, [x.astype(dtype), index])


@pytest.mark.parametrize("reduce", [None, "add"])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_matches_torch(dim, reduce):
    # distinct indices along dim for plain scatter (torch's result is undefined for duplicates)
    index = np.array([[2, 0, 1, 0], [0, 1, 2, 2]], np.int64) if dim == 0 else np.array([[3, 0], [1, 2], [0, 3]], np.int64)
    if reduce is None:
        index = np.array([[2, 0, 1, 0], [0, 1, 2, 2]], np.int64) if dim == 0 else np.array([[3, 0], [1, 2], [0, 3]])
        index = index if dim == 1 else np.array([[2, 0, 1, 0], [0, 1, 0, 2]], np.int64)
    src = _data((2, 4) if dim == 0 else (3, 2), seed=3)
    for dtype in FLOAT_DTYPES:
        x = _data((3, 4), dtype, seed=4)
        if reduce is None:
            compare_with_torch(lambda t, i, s: t.scatter(dim, i, s), None, [x, index.astype(np.int64), src.astype(dtype)])
            compare_with_torch(lambda t, i: t.scatter(dim, i, 1.5), None, [x, index.astype(np.int64)])
        else:
            compare_with_torch(lambda t, i, s: t.scatter_add(dim, i, s), None, [x, index.astype(np.int64),
                                                                                   src.astype(dtype)])


def test_scatter_in_place_and_with_a_larger_source():
    index = np.array([[0, 1], [1, 0]], np.int64)
    src = _data((3, 3), "float32", seed=5)

    def fn(s, i):
        out = _lib(s).zeros(2, 3)
        out.scatter_(1, i, s)
        out.scatter_add_(0, i, s)
        return out

    compare_with_torch(fn, None, [src, index], grad=False)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_matches_torch(dim):
    index = np.array([2, 0, 2], np.int64)
    for dtype in FLOAT_DTYPES:
        compare_with_torch(lambda t, i: t.index_select(dim, i), None, [_data((3, 3), dtype), index])


@pytest.mark.parametrize("value", [0.0, -1.5, float("-inf")])
def test_masked_fill_matches_torch(value):
    mask = np.array([[True, False, True, False]])
    for dtype in FLOAT_DTYPES:
        compare_with_torch(lambda t, m: t.masked_fill(m, value), None, [_data((3, 4), dtype), mask])
        compare_with_torch(lambda t, m: t.masked_fill(m, _lib(t).tensor(value)), None, [_data((3, 4), dtype), mask])


def test_masked_fill_in_place_and_masked_select():
    mask = np.array([True, False, True, False])

    def fn(t, m):
        out = t * 2
        out.masked_fill_(m, 0.0)
        return out, t.masked_select(m)

    compare_with_torch(fn, None, [_data((3, 4)), mask])


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((4,), (3, 4), ())])
def test_where_matches_torch(shapes):
    cs, a_shape, b_shape = shapes
    cond = np.random.default_rng(1).random(cs) < 0.5
    for dtype in FLOAT_DTYPES:
        compare_with_torch(lambda c, a, b: _lib(a).where(c, a, b), None, [cond, _data(a_shape, dtype, 2),
                                                                         _data(b_shape, dtype, 3)])
        compare_with_torch(lambda c, a: _lib(a).where(c, a, 0.0), None, [cond, _data(a_shape, dtype, 2)])
        compare_with_torch(lambda c, a: _lib(a).where(c, -1, a), None, [cond, _data(a_shape, dtype, 2)])
        compare_with_torch(lambda c, a: a.where(c, a * 2), None, [cond, _data(a_shape, dtype, 2)])


def test_where_promotes_mixed_dtypes():
    cond = np.array([True, False, True])
    compare_with_torch(lambda c, a, b: _lib(a).where(c, a, b), None,
                       [cond, np.array([1, 2, 3], np.int64), np.array([0.5, 1.5, 2.5], np.float32)], grad=False)
    compare_with_torch(lambda c, a: _lib(a).where(c, a, 2.5), None, [cond, np.array([1, 2, 3], np.int64)], grad=False)


def test_where_with_one_argument_and_nonzero():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], np.float32)
    compare_with_torch(lambda t: _lib(t).where(t != 0), None, [x], grad=False)
    compare_with_torch(lambda t: t.nonzero(), None, [x], grad=False)
    compare_with_torch(lambda t: t.nonzero(as_tuple=True), None, [x], grad=False)
    compare_with_torch(lambda t: _lib(t).nonzero(t), None, [x], grad=False)


# ------------------------------------------------------------------ gradcheck (no torch)
def test_gradcheck_indexing_primitives():
    x = juanji.tensor(_data((3, 4), seed=7), requires_grad=True)
    v = juanji.tensor(_data((2, 4), seed=8), requires_grad=True)
    idx = juanji.tensor([[0, 2, 1, 0], [1, 1, 0, 2]])
    mask = juanji.tensor([[True, False, True, False]])
    assert gradcheck(lambda t: t[juanji.tensor([0, 0, 2]), 1:], [x])
    assert gradcheck(lambda t: t[t.detach() > 0] * 3, [x])
    assert gradcheck(lambda t: t.gather(0, idx), [x])
    assert gradcheck(lambda t, s: t.scatter_add(0, idx[:, :2], s[:, :2]), [x, v])
    assert gradcheck(lambda t, s: t.scatter(0, juanji.tensor([[0, 2, 1, 0]]), s[:1]), [x, v])
    assert gradcheck(lambda t: t.index_select(1, juanji.tensor([3, 3, 0])), [x])
    assert gradcheck(lambda t: t.masked_fill(mask, 2.0), [x])

    def put(t, s):
        out = t * 1
        out[juanji.tensor([2, 0])] = s
        return out
    assert gradcheck(put, [x, v])


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("fn,error,pattern", [
    (lambda t: t[2], IndexError, "index 2 is out of bounds for dimension 0 with size 2"),
    (lambda t: t[:, 3], IndexError, "index 3 is out of bounds for dimension 1 with size 3"),
    (lambda t: t[0, 0, 9], IndexError, "index 9 is out of bounds for dimension 2 with size 4"),
    (lambda t: t[0, 1, 2, 3], IndexError, "too many indices for tensor of dimension 3"),
    (lambda t: t[_long(t, [0, 5])], IndexError, "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda t: t[_mask(t, [True, False, True])], IndexError,
     r"The shape of the mask \[3\] at index 0 does not match the shape of the indexed tensor \[2, 3, 4\] at index 0"),
    (lambda t: t[1.5], IndexError, "only integers, slices"),
    (lambda t: t.gather(1, _long(t, [[0]])), RuntimeError, "Index tensor must have the same number of dimensions"),
    (lambda t: t.gather(1, _long(t, [[[5]]])), RuntimeError, "index 5 is out of bounds for dimension 1 with size 3"),
    (lambda t: t.gather(1, _lib(t).zeros(1, 1, 1)), RuntimeError, "gather\\(\\): Expected dtype int64 for index"),
    (lambda t: t.masked_fill(_lib(t).ones(4), 0.0), RuntimeError, "masked_fill_? only supports boolean masks"),
    (lambda t: t.index_select(0, _long(t, [2])), IndexError, "index out of range in self"),
    (lambda t: _lib(t).where(t, t, t), RuntimeError, "where expected condition to be a boolean tensor"),
])
def test_indexing_errors_are_clear_and_torch_like(fn, error, pattern):
    with pytest.raises(error, match=pattern):
        fn(juanji.zeros(2, 3, 4))
    with pytest.raises(error):
        fn(torch.zeros(2, 3, 4))
