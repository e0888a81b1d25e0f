"""Matrix products against torch: matmul over every combination of 1-D, 2-D and batched operands
(with batch broadcasting), mm/bmm/mv/dot/outer/einsum/tensordot, values and gradients; the shape
errors name both shapes."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")


def _lib(t):
    return juanji if isinstance(t, juanji.Tensor) else torch


def _data(shape, dtype="float64", seed=0):
    return random_array(shape, dtype, np.random.default_rng(seed))


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)),
    ((2, 1, 2, 3), (4, 3, 2)),
    ((1, 3), (3, 1)),
    ((0, 3), (3, 2)),
    ((2, 0), (0, 3)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_matches_torch(shapes):
    for dtype in FLOAT_DTYPES:
        a, b = _data(shapes[0], dtype, 1), _data(shapes[1], dtype, 2)
        tol = 1e-5 if dtype == "float32" else None
        compare_with_torch(lambda x, y: x @ y, None, [a, b], rtol=tol, atol=tol)
        compare_with_torch(lambda x, y: _lib(x).matmul(x, y), None, [a, b], rtol=tol, atol=tol)


def test_matmul_of_integer_tensors_and_mixed_dtypes():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = np.arange(12, dtype=np.int64).reshape(3, 4)
    compare_with_torch(lambda x, y: x @ y, None, [a, b], grad=False)
    compare_with_torch(lambda x, y: x.double() @ y.double(), None, [a, b], grad=False)
    # torch does not promote in matmul: mixed dtypes are an error
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: float != long int"):
        juanji.zeros(2, 3) @ juanji.zeros(3, 4, dtype=juanji.int64)
    with pytest.raises(RuntimeError, match="dot : expected both vectors to have same dtype, but found Float and Double"):
        juanji.zeros(3).dot(juanji.zeros(3, dtype=juanji.float64))


def test_reflected_matmul_with_a_numpy_array():
    w = juanji.tensor(_data((3, 2)))
    x = _data((4, 3))
    assert np.allclose((x @ w).numpy(), x @ w.numpy())


PRODUCTS = {
    "mm": ([(2, 3), (3, 4)], lambda a, b: a.mm(b)),
    "mm_fn": ([(2, 3), (3, 4)], lambda a, b: _lib(a).mm(a, b)),
    "bmm": ([(5, 2, 3), (5, 3, 4)], lambda a, b: a.bmm(b)),
    "bmm_fn": ([(5, 2, 3), (5, 3, 4)], lambda a, b: _lib(a).bmm(a, b)),
    "mv": ([(2, 3), (3,)], lambda a, b: a.mv(b)),
    "dot": ([(4,), (4,)], lambda a, b: a.dot(b)),
    "dot_fn": ([(4,), (4,)], lambda a, b: _lib(a).dot(a, b)),
    "outer": ([(3,), (4,)], lambda a, b: a.outer(b)),
    "outer_fn": ([(3,), (4,)], lambda a, b: _lib(a).outer(a, b)),
    "einsum_mm": ([(2, 3), (3, 4)], lambda a, b: _lib(a).einsum("ij,jk->ik", a, b)),
    "einsum_batch": ([(5, 2, 3), (5, 3, 4)], lambda a, b: _lib(a).einsum("bij,bjk->bik", a, b)),
    "einsum_trace_free": ([(2, 3), (2, 3)], lambda a, b: _lib(a).einsum("ij,ij->", a, b)),
    "einsum_outer": ([(3,), (4,)], lambda a, b: _lib(a).einsum("i,j->ij", a, b)),
    "einsum_transpose": ([(2, 3), (3,)], lambda a, b: _lib(a).einsum("ij->ji", a) * 2 + b[:, None]),
    "einsum_implicit": ([(2, 3), (3, 4)], lambda a, b: _lib(a).einsum("ij,jk", a, b)),
    "einsum_sum_one": ([(2, 3, 4), (4,)], lambda a, b: _lib(a).einsum("bij,j->bi", a, b)),
    "einsum_list": ([(2, 3), (3, 4)], lambda a, b: _lib(a).einsum("ij,jk->ik", [a, b])),
    "einsum_spaces": ([(2, 3), (3, 4)], lambda a, b: _lib(a).einsum("ij, jk -> ik", a, b)),
    "tensordot": ([(2, 3, 4), (3, 4, 5)], lambda a, b: _lib(a).tensordot(a, b, dims=2)),
    "tensordot_lists": ([(2, 3, 4), (4, 3)], lambda a, b: _lib(a).tensordot(a, b, dims=([1, 2], [1, 0]))),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products_match_torch(name):
    shapes, fn = PRODUCTS[name]
    for dtype in FLOAT_DTYPES:
        tol = 1e-5 if dtype == "float32" else None
        compare_with_torch(fn, None, [_data(s, dtype, i) for i, s in enumerate(shapes)], rtol=tol, atol=tol)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((5, 2, 3), (1, 3, 4)),
                                    ((2, 3), (5, 3, 1))], ids=str)
def test_gradcheck_matmul(shapes):
    a = juanji.tensor(_data(shapes[0], seed=3), requires_grad=True)
    b = juanji.tensor(_data(shapes[1], seed=4), requires_grad=True)
    assert gradcheck(lambda x, y: x @ y, [a, b])


def test_gradcheck_einsum():
    a = juanji.tensor(_data((2, 3), seed=5), requires_grad=True)
    b = juanji.tensor(_data((3, 4), seed=6), requires_grad=True)
    c = juanji.tensor(_data((4,), seed=7), requires_grad=True)
    assert gradcheck(lambda x, y, z: juanji.einsum("ij,jk,k->i", x, y, z), [a, b, c])
    assert gradcheck(lambda x: juanji.einsum("ij->j", x), [a])


@pytest.mark.parametrize("fn,pattern", [
    (lambda a, b: a @ b, r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda a, b: a.mm(b), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda a, b: a[0] @ b, r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\).*\[3\] and \[4, 5\]"),
    (lambda a, b: a @ b[:, 0], r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\).*\[2, 3\] and \[4\]"),
    (lambda a, b: a.reshape(1, 2, 3) @ b.reshape(1, 4, 5), r"Expected size for first two dimensions of batch2 tensor"
                                                           r".*\[1, 2, 3\] and \[1, 4, 5\]"),
    (lambda a, b: a[0].dot(b[0]), r"inconsistent tensor size.*\[3\].*\[5\]"),
    (lambda a, b: a.bmm(b), r"batch1 must be a 3D tensor"),
    (lambda a, b: a.unsqueeze(0).bmm(b.unsqueeze(0)), r"Expected size for first two dimensions of batch2 tensor to be: "
                                                       r"\[1, 3\] but got: \[1, 4\]"),
    (lambda a, b: a.mm(b[0]), r"mat2 must be a matrix"),
    (lambda a, b: a.reshape(3, 2, 1) @ b.reshape(2, 5, 2)[:, :1], r"size of tensor a \(3\) must match the size of tensor "
                                                                   r"b \(2\).*\[3, 2, 1\].*\[2, 1, 2\]"),
    (lambda a, b: a.mv(b), "vector \\+ matrix @ vector expected, got 1, 2, 2"),
    (lambda a, b: a.outer(b[0]), "outer: Expected 1-D argument self, but got 2-D"),
])
def test_product_shape_errors_name_both_shapes(fn, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        fn(juanji.zeros(2, 3), juanji.zeros(4, 5))
    with pytest.raises(RuntimeError):
        fn(torch.zeros(2, 3), torch.zeros(4, 5))


def test_matmul_of_a_zero_dim_tensor_fails():
    with pytest.raises(RuntimeError, match="both arguments to matmul need to be at least 1D"):
        juanji.tensor(2.0) @ juanji.ones(2)


def test_einsum_errors():
    with pytest.raises(RuntimeError, match="einsum"):
        juanji.einsum("ij,jk->ik", juanji.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"subscript 'ijk' has 3 dims but the operand has shape \[2, 3\]"):
        juanji.einsum("ijk->i", juanji.zeros(2, 3))
    with pytest.raises(RuntimeError, match="subscript j has size 4 for operand 1 which does not broadcast with "
                                           "previously seen size 3"):
        juanji.einsum("ij,jk->ik", juanji.zeros(2, 3), juanji.zeros(4, 5))


def test_einsum_with_a_repeated_index_trace_and_diagonal():
    x = _data((3, 3), seed=8)
    compare_with_torch(lambda t: _lib(t).einsum("ii->", t), None, [x])
    compare_with_torch(lambda t: _lib(t).einsum("ii->i", t), None, [x])
    compare_with_torch(lambda t, v: _lib(t).einsum("ii,i->i", t, v), None, [x, _data((3,), seed=9)])
    assert gradcheck(lambda t: juanji.einsum("ii->i", t) * 2, [juanji.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("equation,shapes", [
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,jk", [(2, 3, 4), (4, 5)]),
    ("b...,b->...", [(2, 3, 4), (2,)]),
    ("...i->...", [(2, 3)]),
    ("i...->...i", [(2, 3, 4)]),
])
def test_einsum_with_ellipsis_matches_torch(equation, shapes):
    compare_with_torch(lambda *ts: _lib(ts[0]).einsum(equation, *ts), None,
                       [_data(s, seed=k) for k, s in enumerate(shapes)])
