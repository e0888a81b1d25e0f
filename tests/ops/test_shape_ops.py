"""Shape and layout ops against torch: views, permutations, broadcasting, joining and splitting,
values and gradients; view memory sharing; and the errors for impossible shapes."""

import numpy as np
import pytest

import juanji
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch, random_array

torch = pytest.importorskip("torch")


def _data(shape, dtype="float64", seed=0):
    return random_array(shape, dtype, np.random.default_rng(seed))


def _lib(t):
    """The library a tensor belongs to, for top-level functions (juanji.cat / torch.cat)."""
    return juanji if isinstance(t, juanji.Tensor) else torch


# (input shape, function) pairs; each is run in float32 and float64, values and gradients
SHAPE_CASES = [
    ((2, 3, 4), lambda t: t.view(6, 4)),
    ((2, 3, 4), lambda t: t.view(-1)),
    ((2, 3, 4), lambda t: t.view(2, -1, 2)),
    ((2, 3, 4), lambda t: t.reshape(4, 3, 2)),
    ((2, 3, 4), lambda t: t.reshape((-1, 4))),
    ((2, 3, 4), lambda t: t.reshape([24])),
    ((), lambda t: t.reshape(1, 1)),
    ((2, 3, 4), lambda t: t.flatten()),
    ((2, 3, 4), lambda t: t.flatten(1)),
    ((2, 3, 4, 5), lambda t: t.flatten(1, 2)),
    ((2, 3, 4), lambda t: t.flatten(-2, -1)),
    ((), lambda t: t.flatten()),
    ((2, 12), lambda t: t.unflatten(1, (3, 4))),
    ((2, 12), lambda t: t.unflatten(-1, (2, -1, 3))),
    ((1, 3, 1, 2), lambda t: t.squeeze()),
    ((1, 3, 1, 2), lambda t: t.squeeze(0)),
    ((1, 3, 1, 2), lambda t: t.squeeze(1)),
    ((1, 3, 1, 2), lambda t: t.squeeze(-2)),
    ((1, 3, 1, 2), lambda t: t.squeeze((0, 2))),
    ((3, 2), lambda t: t.unsqueeze(0)),
    ((3, 2), lambda t: t.unsqueeze(-1)),
    ((3, 2), lambda t: t.unsqueeze(1)),
    ((), lambda t: t.unsqueeze(0)),
    ((2, 3, 4), lambda t: t.permute(2, 0, 1)),
    ((2, 3, 4), lambda t: t.permute((1, 2, 0))),
    ((2, 3, 4), lambda t: t.permute(-1, -3, -2)),
    ((2, 3, 4), lambda t: t.transpose(0, 2)),
    ((2, 3, 4), lambda t: t.transpose(-1, -2)),
    ((2, 3, 4), lambda t: t.swapaxes(0, 1)),
    ((3, 4), lambda t: t.t()),
    ((4,), lambda t: t.t()),
    ((3, 4), lambda t: t.T),
    ((2, 3, 4), lambda t: t.mT),
    ((3, 1), lambda t: t.expand(3, 4)),
    ((3, 1), lambda t: t.expand(2, 3, 5)),
    ((3, 1), lambda t: t.expand(-1, 4)),
    ((1,), lambda t: t.expand((2, 3))),
    ((3, 1), lambda t: t.expand_as(t.new_zeros(2, 3, 4) if isinstance(t, juanji.Tensor) else t.new_zeros(2, 3, 4))),
    ((2, 3), lambda t: t.repeat(2, 3)),
    ((2, 3), lambda t: t.repeat(2, 1, 2)),
    ((3,), lambda t: t.repeat(4)),
    ((2, 3), lambda t: t.contiguous()),
    ((2, 3), lambda t: t.t().contiguous()),
    ((2, 3, 4), lambda t: t.flip(0)),
    ((2, 3, 4), lambda t: t.flip(0, 2)),
    ((2, 3, 4), lambda t: t.roll(1, 2)),
    ((2, 3, 4), lambda t: t.roll((1, -2), (0, 2))),
    ((2, 3, 4), lambda t: t.roll(5)),
    ((2, 5), lambda t: t.narrow(1, 1, 3)),
    ((2, 5), lambda t: t.select(1, 2)),
    ((2, 5), lambda t: t.select(0, -1)),
    ((3, 4), lambda t: t.unbind(1)),
    ((3, 4), lambda t: t.unbind()),
    ((7, 2), lambda t: t.split(3)),
    ((7, 2), lambda t: t.split([2, 5])),
    ((2, 7), lambda t: t.split(2, dim=1)),
    ((7, 2), lambda t: t.chunk(3)),
    ((2, 6), lambda t: t.chunk(4, 1)),
    ((5, 2), lambda t: t.chunk(5)),
    ((7, 2), lambda t: t.tensor_split(3)),
    ((7, 2), lambda t: t.tensor_split([1, 4])),
    ((3, 4), lambda t: t.movedim(0, 1)),
    ((2, 3, 4), lambda t: t.movedim((0, 1), (2, 0))),
    ((2, 3), lambda t: t.view_as(t.new_zeros(3, 2))),
    ((2, 3), lambda t: t.reshape_as(t.new_zeros(6))),
    ((2, 3), lambda t: t.ravel()),
    ((2, 3), lambda t: t.broadcast_to((4, 2, 3))),
    ((2, 3), lambda t: t.repeat_interleave(2)),
    ((2, 3), lambda t: t.repeat_interleave(2, dim=1)),
    ((2, 3), lambda t: _lib(t).flatten(t)),
    ((2, 3), lambda t: _lib(t).squeeze(t.unsqueeze(0))),
    ((2, 3), lambda t: _lib(t).permute(t, (1, 0))),
    ((2, 3), lambda t: _lib(t).transpose(t, 0, 1)),
    ((2, 3), lambda t: _lib(t).reshape(t, (3, 2))),
    ((3, 4), lambda t: _lib(t).tril(t)),
    ((3, 4), lambda t: _lib(t).triu(t, 1)),
    ((3, 4), lambda t: _lib(t).tril(t, -1)),
]


@pytest.mark.parametrize("case", range(len(SHAPE_CASES)))
def test_shape_ops_match_torch(case):
    shape, fn = SHAPE_CASES[case]
    for dtype in FLOAT_DTYPES:
        compare_with_torch(fn, None, [_data(shape, dtype, seed=case)])


JOIN_CASES = [
    ([(2, 3), (4, 3)], lambda *ts: _lib(ts[0]).cat(ts)),
    ([(2, 3), (2, 5)], lambda *ts: _lib(ts[0]).cat(ts, dim=1)),
    ([(2, 3), (2, 1), (2, 2)], lambda *ts: _lib(ts[0]).cat(list(ts), -1)),
    ([(2, 3), (0,)], lambda *ts: _lib(ts[0]).cat(ts)),  # torch's legacy empty-1-D rule
    ([(2, 3), (2, 3)], lambda *ts: _lib(ts[0]).stack(ts)),
    ([(2, 3), (2, 3), (2, 3)], lambda *ts: _lib(ts[0]).stack(ts, dim=2)),
    ([(2, 3), (2, 3)], lambda *ts: _lib(ts[0]).stack(ts, -1)),
    ([(3,), (3,)], lambda *ts: _lib(ts[0]).hstack(ts)),
    ([(2, 3), (2, 1)], lambda *ts: _lib(ts[0]).hstack(ts)),
    ([(3,), (3,)], lambda *ts: _lib(ts[0]).vstack(ts)),
    ([(2, 3), (1, 3)], lambda *ts: _lib(ts[0]).vstack(ts)),
    ([(2, 1), (1, 3)], lambda *ts: _lib(ts[0]).broadcast_tensors(*ts)),
    ([(2,), (3,)], lambda *ts: _lib(ts[0]).meshgrid(*ts, indexing="ij")),
    ([(2,), (3,)], lambda *ts: _lib(ts[0]).meshgrid(*ts, indexing="xy")),
    ([(2, 3), (4, 3)], lambda *ts: _lib(ts[0]).concat(ts)),
]


@pytest.mark.parametrize("case", range(len(JOIN_CASES)))
def test_joining_ops_match_torch(case):
    shapes, fn = JOIN_CASES[case]
    for dtype in FLOAT_DTYPES:
        compare_with_torch(fn, None, [_data(s, dtype, seed=i) for i, s in enumerate(shapes)])


# large results (past workspace.MIN_BYTES: filled slice by slice in workspace memory), DenseNet's joins along
# the channels at batch 1 and 3, a join along the last axis, a transposed (non-contiguous) input, 0 channels
LARGE_CATS = [([(1, 224, 32, 32), (1, 32, 32, 32)], 1), ([(3, 96, 16, 16), (3, 32, 16, 16), (3, 8, 16, 16)], 1),
              ([(64, 300), (64, 900)], -1), ([(512, 160), (1, 160)], 0), ([(2, 0, 128, 128), (2, 4, 128, 128)], 1)]


@pytest.mark.parametrize("case", range(len(LARGE_CATS)))
def test_large_cat_matches_torch(case):
    shapes, dim = LARGE_CATS[case]
    for dtype in FLOAT_DTYPES:
        arrays = [_data(s, dtype, seed=i) for i, s in enumerate(shapes)]
        if case == 2:  # a transposed input
            arrays[0] = np.ascontiguousarray(arrays[0].T).T
        compare_with_torch(lambda *ts: _lib(ts[0]).cat(ts, dim), None, arrays)
    if case == 2:  # the kernel itself, as the Ops that join with a negative axis call it
        from juanji.kernels import pointwise
        a, b = (_data(s, "float32", seed=i) for i, s in enumerate(shapes))
        for axis in (-1, 1):
            np.testing.assert_array_equal(pointwise.concatenate([a, b], axis), np.concatenate([a, b], axis))
    x = juanji.ones(1, 300, 32, 32)
    y = juanji.cat([x, x], 1)
    y[0, 0, 0, 0] = 5.0  # the result owns its memory
    assert float(x[0, 0, 0, 0]) == 1.0 and float(y[0, 300, 0, 0]) == 1.0


def test_cat_promotes_dtypes_like_torch():
    a = _data((2, 2), "float32")
    b = np.array([[1, 2]], np.int64)
    compare_with_torch(lambda x, y: _lib(x).cat([x, y]), None, [a, b], requires_grad=[True, False])
    compare_with_torch(lambda x, y: _lib(x).stack([y[0], y[0].double()]), None, [a, b], grad=False)


def test_view_shares_memory_with_its_base():
    x = juanji.zeros(2, 3)
    v = x.view(6)
    v[1] = 5.0
    assert x[0, 1].item() == 5.0
    x[1] = 7.0
    assert v.tolist()[3:] == [7.0, 7.0, 7.0]
    t = x.t()
    t[0, 1] = -1.0
    assert x[1, 0].item() == -1.0
    u = x.unsqueeze(0)
    u.zero_()
    assert x.abs().sum().item() == 0.0


def test_reshape_of_a_transposed_tensor_copies_and_view_refuses():
    x = juanji.arange(6.0).reshape(2, 3).t()
    with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's size and stride"):
        x.view(6)
    assert x.reshape(6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    assert not x.is_contiguous() and x.contiguous().is_contiguous()


def test_expand_is_a_view_with_zero_stride():
    x = juanji.tensor([[1.0], [2.0]])
    e = x.expand(2, 3)
    assert e.stride() == (1, 0) and e.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]


def test_size_and_stride_match_torch():
    for shape in [(2, 3, 4), (5,), (3, 1)]:
        j = juanji.zeros(shape)
        t = torch.zeros(shape)
        assert tuple(j.shape) == tuple(t.shape) and j.stride() == t.stride()
        assert tuple(j.permute(*reversed(range(len(shape)))).stride()) == \
            tuple(t.permute(*reversed(range(len(shape)))).stride())


# ------------------------------------------------------------------ gradcheck (no torch)
GRADCHECK = {
    "reshape": lambda t: t.reshape(4, 6) * juanji.arange(24.0, dtype=juanji.float64).reshape(4, 6),
    "permute": lambda t: t.permute(2, 0, 1) * juanji.arange(24.0, dtype=juanji.float64).reshape(4, 2, 3),
    "expand": lambda t: t[:, :1].expand(2, 3, 4) * juanji.arange(24.0, dtype=juanji.float64).reshape(2, 3, 4),
    "repeat": lambda t: t.repeat(2, 1, 3),
    "flip": lambda t: t.flip(1, 2) * juanji.arange(24.0, dtype=juanji.float64).reshape(2, 3, 4),
    "roll": lambda t: t.roll((1, 2), (0, 2)),
    "cat": lambda t: juanji.cat([t, t * 2, t[:, :1]], dim=1),
    "stack": lambda t: juanji.stack([t, t.exp()], dim=1),
    "split": lambda t: t.split([1, 2], dim=1)[1] * 3,
    "chunk": lambda t: t.chunk(2, dim=2)[0],
    "narrow": lambda t: t.narrow(2, 1, 2),
    "squeeze": lambda t: t[:1].squeeze(0).unsqueeze(2),
    "movedim": lambda t: t.movedim(0, 2),
    "tril": lambda t: juanji.tril(t),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_shape_ops(name):
    x = juanji.tensor(_data((2, 3, 4), seed=9), requires_grad=True)
    assert gradcheck(GRADCHECK[name], [x])


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("fn,error,pattern", [
    (lambda t: t.view(5, 5), RuntimeError, r"shape '\[5, 5\]' is invalid for input of size 24"),
    (lambda t: t.reshape(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda t: t.reshape(7, -1), RuntimeError, r"shape '\[7, -1\]' is invalid for input of size 24"),
    (lambda t: t.permute(0, 1), RuntimeError, "number of dimensions in the tensor input does not match"),
    (lambda t: t.permute(0, 1, 1), RuntimeError, "duplicate dims"),
    (lambda t: t.transpose(0, 3), IndexError, "Dimension out of range"),
    (lambda t: t.expand(3, 3, 4), RuntimeError, r"The expanded size of the tensor \(3\) must match the existing "
                                                r"size \(2\) at non-singleton dimension 0"),
    (lambda t: t.expand(4), RuntimeError, "the number of sizes provided"),
    (lambda t: t.t(), RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda t: t.flatten(2, 1), RuntimeError, "flatten\\(\\) has invalid args: start_dim cannot come after end_dim"),
    (lambda t: t.unflatten(1, (2, 2)), RuntimeError, "unflatten: Provided sizes \\[2, 2\\] don't multiply up to the "
                                                      "size of dim 1 \\(3\\)"),
    (lambda t: t.repeat(2), RuntimeError, "Number of dimensions of repeat dims can not be smaller"),
    (lambda t: t.split([1, 2]), RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 2"),
    (lambda t: t.unsqueeze(4), IndexError, r"Dimension out of range \(expected to be in range of \[-4, 3\], but got 4\)"),
    (lambda t: t.squeeze(3), IndexError, "Dimension out of range"),
    (lambda t: t.narrow(1, 2, 2), RuntimeError, "start \\(2\\) \\+ length \\(2\\) exceeds dimension size \\(3\\)"),
    (lambda t: t.select(1, 3), IndexError, r"select\(\): index 3 out of range for tensor of size \[2, 3, 4\] at "
                                           "dimension 1"),
    (lambda t: t.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda t: t.split(0), RuntimeError, "split_size can only be 0 if dimension size is 0"),
])
def test_shape_errors_are_clear_and_torch_like(fn, error, pattern):
    x = juanji.zeros(2, 3, 4)
    with pytest.raises(error, match=pattern):
        fn(x)
    with pytest.raises(error):  # and torch refuses the same call
        fn(torch.zeros(2, 3, 4))


@pytest.mark.parametrize("fn,pattern", [
    (lambda a, b: _lib(a).cat([a, b]), r"Sizes of tensors must match except in dimension 0. Expected size 3 but "
                                       r"got size 4 for tensor number 1 in the list"),
    (lambda a, b: _lib(a).stack([a, b]), r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 "
                                         r"and \[2, 4\] at entry 1"),
    (lambda a, b: _lib(a).cat([a, b[0]]), "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda a, b: _lib(a).stack([]), "stack expects a non-empty TensorList"),
])
def test_join_errors_are_clear_and_torch_like(fn, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        fn(juanji.zeros(2, 3), juanji.zeros(2, 4))
    with pytest.raises(RuntimeError):
        fn(torch.zeros(2, 3), torch.zeros(2, 4))


def test_cat_of_an_empty_list_is_a_value_error_like_torch():
    with pytest.raises(ValueError, match="expected a non-empty list of Tensors"):
        juanji.cat([])
    with pytest.raises(ValueError):
        torch.cat([])


def test_top_level_movedim_and_inner():
    x = _data((2, 3, 4))
    compare_with_torch(lambda t: _lib(t).movedim(t, 2, 0), None, [x])
    compare_with_torch(lambda t: _lib(t).moveaxis(t, (0, 1), (1, 2)), None, [x])
    compare_with_torch(lambda a, b: _lib(a).inner(a, b), None, [_data((4,)), _data((4,), seed=1)])
