"""F.pad and the padding modules against torch: values, input gradients, errors, reprs."""

import functools

import numpy as np
import pytest

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from tests.helpers import both_raise, compare_values_and_grads

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
_compare = functools.partial(compare_values_and_grads, tolerances=TOL)


def _gather_grid(n_cases, seed):
    """Random (mode, input shape, flat pad) that torch accepts for the non-constant modes."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n_cases:
        mode = ("reflect", "replicate", "circular")[len(cases) % 3]
        k = int(rng.integers(1, 4))                     # padded dims
        batched = bool(rng.integers(0, 2))
        spatial = tuple(int(v) for v in rng.integers(1, 7, size=k))
        shape = ((int(rng.integers(1, 4)),) if batched else ()) + (int(rng.integers(1, 4)),) + spatial
        flat = []
        for n in reversed(spatial):
            for _ in range(2):
                flat.append(int(rng.integers(-(n // 2), n)))  # some crop, some pad
        x = torch.zeros(shape)
        try:
            y = TF.pad(x, flat, mode=mode)
        except (RuntimeError, NotImplementedError):
            continue
        if y.numel() == 0:  # torch's gradient of an empty pad is uninitialised memory
            continue
        cases.append((mode, shape, tuple(flat)))
    return cases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode,shape,flat", _gather_grid(36, seed=0))
def test_reflect_replicate_circular_match_torch(mode, shape, flat, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(lambda t: F.pad(t, flat, mode=mode), lambda t: TF.pad(t, flat, mode=mode), x, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,flat,value", [
    ((5,), (1, 2), None), ((3, 5), (0, 1, 2, 0), 1.5), ((2, 3, 4), (1, 1, 1, 1, 1, 1), -2.0),
    ((2, 3, 4, 5), (1, 0, 0, 1, 2, 2, 1, 1), None), ((1, 2, 3, 4, 5, 2), (1, 1, 0, 2), 0.5),
    ((2, 3, 6), (-2, -1), None), ((2, 3, 6), (-3, 2, 1, -1), 3.0), ((2, 3, 6), (-6, 0), None),
    ((2, 3, 6), (), None),
])
def test_constant_pad_and_negative_cropping_match_torch(shape, flat, value, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(lambda t: F.pad(t, flat, value=value), lambda t: TF.pad(t, flat, value=value),
             x, dtype)


@pytest.mark.parametrize("mode,flat", [
    ("constant", (1, 2, -1, 1)), ("reflect", (2, 1, 1, 2)), ("replicate", (3, -1, 0, 2)),
    ("circular", (2, 3, -1, 2)),
])
def test_pad_gradcheck(mode, flat):
    x = juanji.tensor(np.random.default_rng(0).standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, flat, mode=mode), (x,))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_cropping_everything_gives_an_empty_output_and_a_zero_gradient(mode):
    x = juanji.randn(2, 3, 4, 5, requires_grad=True)
    y = F.pad(x, (0, 0, -2, -2), mode=mode)
    assert y.shape == (2, 3, 0, 5)
    y.sum().backward()
    assert x.grad.shape == (2, 3, 4, 5) and not x.grad.numpy().any()


def test_reflect_pad_by_hand():
    x = juanji.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    assert F.pad(x, (2, 3), mode="reflect").tolist() == [[[3, 2, 1, 2, 3, 4, 3, 2, 1]]]
    assert F.pad(x, (2, 3), mode="replicate").tolist() == [[[1, 1, 1, 2, 3, 4, 4, 4, 4]]]
    assert F.pad(x, (2, 3), mode="circular").tolist() == [[[3, 4, 1, 2, 3, 4, 1, 2, 3]]]


@pytest.mark.parametrize("shape,flat,mode,value,error,match", [
    ((2, 3, 5), (1,), "constant", None, RuntimeError, r"pad: padding length must be divisible by 2"),
    ((5,), (1, 1, 1, 1), "constant", None, RuntimeError,
     r"pad: padding length 4 pads 2 dims, but the input has only 1 \(shape \[5\]\)"),
    ((2, 3, 5), (5, 0), "reflect", None, RuntimeError,
     r"pad: reflect padding must be smaller than the padded dim, got padding \(5, 0\) for dim 2 "
     r"of size 5"),
    ((2, 3, 5), (1, 1), "foo", None, NotImplementedError, r"pad: unrecognised padding mode 'foo'"),
    ((2, 3, 5), (1, 1), "reflect", 1.0, RuntimeError,
     r'pad: padding mode "reflect" does not take a value argument'),
    ((2, 3, 4, 5), (1, 1), "replicate", None, NotImplementedError,
     r"pad: replicate padding of 1 dims needs a 2D or 3D input.*\[2, 3, 4, 5\]"),
    ((5,), (1, 1), "circular", None, NotImplementedError, r"pad: circular padding of 1 dims"),
    ((2, 3, 5), (6, 0), "circular", None, RuntimeError, r"pad: circular padding \(6, 0\) would wrap"),
    ((2, 3, 5), (-6, 0), "circular", None, RuntimeError,
     r"pad: negative circular padding \(-6, 0\) leaves nothing"),
    ((2, 3, 5), (-6, 0), "replicate", None, RuntimeError,
     r"pad: replicate padding \(-6, 0\) of dim 2 of size 5 leaves an output size of -1"),
    ((2, 3, 5), (-3, -3), "constant", None, RuntimeError,
     r"pad: padding \(-3, -3\) of dim 2 of size 5 gives a negative output size"),
    ((2, 0, 5), (1, 1), "reflect", None, RuntimeError, r"pad: reflect padding needs non-empty"),
])
def test_pad_bad_arguments_raise_clear_errors(shape, flat, mode, value, error, match):
    x = np.zeros(shape, dtype=np.float32)
    both_raise(lambda: F.pad(juanji.tensor(x), flat, mode=mode, value=value),
               lambda: TF.pad(torch.tensor(x), flat, mode=mode, value=value), error, match)


MODULES = [  # (name, constructor args, input shape)
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 4, 5)),
    ("ConstantPad1d", ((1, 2), 3.5), (3, 5)), ("ConstantPad2d", (2, -1.0), (2, 3, 4, 5)),
    ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), 0.25), (2, 3, 4, 5)),
    ("ReflectionPad1d", ((3, 1),), (2, 3, 5)), ("ReflectionPad2d", (2,), (3, 4, 5)),
    ("ReflectionPad3d", ((1, 2, 0, 1, 2, 1),), (1, 2, 3, 4, 5)),
    ("ReplicationPad1d", (3,), (2, 3, 5)), ("ReplicationPad2d", ((1, 0, 3, 2),), (2, 3, 4, 5)),
    ("ReplicationPad3d", (2,), (2, 3, 4, 5)),
    ("CircularPad1d", ((2, 4),), (3, 5)), ("CircularPad2d", (1,), (2, 3, 4, 5)),
    ("CircularPad3d", ((1, 2, 0, 3, 2, 1),), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,shape", MODULES)
def test_padding_modules_match_torch_and_print_like_torch(name, args, shape):
    j_module = getattr(nn, name)(*args)
    t_module = getattr(torch.nn, name)(*args)
    assert j_module.extra_repr() == t_module.extra_repr()
    x = np.random.default_rng(0).standard_normal(shape)
    _compare(j_module, t_module, x, np.float64)


def test_padding_modules_reject_a_padding_tuple_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or a tuple of 4"):
        nn.ReflectionPad2d((1, 2))
