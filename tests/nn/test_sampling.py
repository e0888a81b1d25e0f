"""interpolate/Upsample, unfold/fold, pixel_shuffle/unshuffle against torch."""

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
DTYPES = [np.float32, np.float64]
_compare = functools.partial(compare_values_and_grads, tolerances=TOL)


def _torch_gradient_is_wrong(mode, spatial, sizes, scale_factor):
    """torch's 1d/3d nearest backward copies (or halves) indices when out == n (or 2n), and
    its bicubic backward copies when out == n, even when the forward used a scale_factor that
    reads other pixels. juanji's gradient stays the adjoint of its forward (checked below
    numerically), so such cases are left out of the comparison with torch. (torch's 2d nearest
    takes those shortcuts in its forward too, and so does juanji there.)"""
    if scale_factor is None:
        return False
    if mode == "nearest" and len(spatial) != 2:
        return any(o in (n, 2 * n) for n, o in zip(spatial, sizes))
    if mode == "bicubic":
        return any(o == n for n, o in zip(spatial, sizes))
    return False


# -- interpolate -------------------------------------------------------------------------------

def _interp_grid():
    cases = []
    rng = np.random.default_rng(0)
    for mode, ndim in [("nearest", 3), ("nearest", 4), ("nearest", 5), ("nearest-exact", 3),
                       ("nearest-exact", 4), ("nearest-exact", 5), ("area", 3), ("area", 4),
                       ("area", 5), ("linear", 3), ("bilinear", 4), ("trilinear", 5),
                       ("bicubic", 4)]:
        for trial in range(4):
            n_sp = ndim - 2
            spatial = tuple(int(v) for v in rng.integers(1, 9 if n_sp < 3 else 6, size=n_sp))
            if trial % 2 == 0:
                size = tuple(int(v) for v in rng.integers(1, 12 if n_sp < 3 else 7, size=n_sp))
                how = {"size": size if trial == 0 else size[0]}
                if trial == 2 and n_sp > 1:
                    how = {"size": size[0]}
            else:
                factors = tuple(float(v) for v in np.round(rng.uniform(0.6, 2.7, size=n_sp), 2))
                how = {"scale_factor": factors if trial == 1 else factors[0]}
                if trial == 3:
                    how["recompute_scale_factor"] = bool(rng.integers(0, 2))
            align = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
            for ac in align:
                cases.append((mode, (2, 3) + spatial, how, ac))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode,shape,how,align_corners", _interp_grid())
def test_interpolate_matches_torch(mode, shape, how, align_corners, dtype):
    spatial = shape[2:]
    factor = how.get("scale_factor")
    if factor is not None:
        factors = factor if isinstance(factor, tuple) else (factor,) * len(spatial)
        sizes = [int(np.floor(n * f)) for n, f in zip(spatial, factors)]
        if min(sizes) < 1:
            pytest.skip("scale gives an empty output")
        if not how.get("recompute_scale_factor") and _torch_gradient_is_wrong(
                mode, spatial, sizes, factor):
            pytest.skip("torch's gradient disagrees with its own forward here")
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    kwargs = dict(how, mode=mode, align_corners=align_corners)
    _compare(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs), x, dtype)


@pytest.mark.parametrize("mode,shape,scale_factor", [
    ("nearest", (1, 2, 3), 2.05), ("nearest", (1, 2, 3, 4), (1.1, 2.05)),
    ("nearest", (1, 1, 3, 2, 4), (1.1, 1.2, 2.05)), ("bicubic", (1, 2, 3, 4), (1.21, 1.6)),
])
def test_gradient_is_the_adjoint_of_the_forward_where_torch_differs(mode, shape, scale_factor):
    """Same forward as torch; the gradient is checked numerically instead of against torch."""
    x = np.random.default_rng(0).standard_normal(shape)
    kwargs = dict(scale_factor=scale_factor, mode=mode)
    np.testing.assert_allclose(F.interpolate(juanji.tensor(x), **kwargs).numpy(),
                               TF.interpolate(torch.tensor(x), **kwargs).numpy(), rtol=1e-12)
    assert gradcheck(lambda t: F.interpolate(t, **kwargs),
                     (juanji.tensor(x, requires_grad=True),))


def test_nearest_gradient_is_the_adjoint_of_the_forward_where_torch_differs():
    # scale_factor 1.013 on 2 pixels gives 2 outputs that both read pixel 0
    x = juanji.tensor([[[1.0, 2.0]]], requires_grad=True)
    y = F.interpolate(x, scale_factor=1.013)
    np.testing.assert_array_equal(y.detach().numpy(),
                                  TF.interpolate(torch.tensor([[[1.0, 2.0]]]), scale_factor=1.013))
    y.backward(juanji.tensor([[[10.0, 1.0]]]))
    assert x.grad.tolist() == [[[11.0, 0.0]]]


@pytest.mark.parametrize("mode,shape,size", [
    ("nearest", (1, 2, 4, 5), (7, 3)), ("nearest-exact", (1, 2, 3, 3, 4), (5, 2, 6)),
    ("linear", (2, 2, 6), (9,)), ("bilinear", (1, 2, 4, 5), (3, 7)),
    ("bicubic", (1, 1, 4, 5), (6, 3)), ("trilinear", (1, 1, 3, 4, 3), (5, 2, 4)),
    ("area", (1, 2, 7, 6), (3, 4)),
])
def test_interpolate_gradcheck(mode, shape, size):
    x = juanji.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    kwargs = {"align_corners": True} if mode in ("linear", "bilinear", "bicubic", "trilinear") else {}
    assert gradcheck(lambda t: F.interpolate(t, size=size, mode=mode, **kwargs), (x,))


def test_upsample_bilinear_align_corners_by_hand():
    x = juanji.tensor([[[[0.0, 3.0], [6.0, 9.0]]]])
    y = F.interpolate(x, size=(3, 3), mode="bilinear", align_corners=True)
    assert y.tolist() == [[[[0, 1.5, 3], [3, 4.5, 6], [6, 7.5, 9]]]]


@pytest.mark.parametrize("shape,kwargs,error,match", [
    ((1, 1, 4), {}, ValueError, r"interpolate: either size or scale_factor should be defined"),
    ((1, 1, 4), {"size": 3, "scale_factor": 2}, ValueError, r"only one of size or scale_factor"),
    ((1, 1, 4), {"size": 3, "align_corners": True}, ValueError,
     r"align_corners can only be set with the interpolating modes"),
    ((1, 1, 4), {"size": 3, "mode": "foo"}, NotImplementedError, r"interpolate: unknown mode 'foo'"),
    ((1, 4), {"size": 3}, NotImplementedError,
     r"interpolate: expected a 3D, 4D or 5D \(N, C, \*spatial\) input, got input of shape \[1, 4\]"),
    ((1, 1, 4), {"size": 0}, RuntimeError, r"input and output sizes should be greater than 0"),
    ((1, 1, 4), {"scale_factor": 0.1}, RuntimeError, r"sizes should be greater than 0"),
    ((1, 1, 4), {"size": (3, 3)}, ValueError, r"size must have one entry per spatial dim"),
    ((1, 1, 4, 4), {"scale_factor": (2.0,)}, ValueError, r"scale_factor must have one entry"),
    ((1, 1, 4), {"size": 3, "recompute_scale_factor": True}, ValueError,
     r"recompute_scale_factor is not meaningful with an explicit size"),
    ((1, 1, 4, 4), {"size": 3, "mode": "linear"}, NotImplementedError,
     r"interpolate: got 4D input, but linear mode needs 3D input"),
    ((1, 1, 4), {"size": 3, "mode": "bilinear"}, NotImplementedError,
     r"got 3D input, but bilinear mode needs 4D input"),
    ((1, 1, 4), {"size": 3.0}, TypeError, r"interpolate: size must be ints"),
])
def test_interpolate_bad_arguments_raise_clear_errors(shape, kwargs, error, match):
    x = np.zeros(shape, dtype=np.float32)
    both_raise(lambda: F.interpolate(juanji.tensor(x), **kwargs),
               lambda: TF.interpolate(torch.tensor(x), **kwargs), error, match)


UPSAMPLE_MODULES = [
    ("Upsample", {"scale_factor": 2}, (2, 3, 4, 5)),
    ("Upsample", {"size": 7, "mode": "linear"}, (2, 3, 4)),
    ("Upsample", {"size": (3, 5), "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
    ("Upsample", {"scale_factor": (1.5, 2.0, 0.5), "mode": "trilinear"}, (1, 2, 4, 3, 6)),
    ("UpsamplingNearest2d", {"scale_factor": 3}, (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", {"size": (6, 9)}, (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,kwargs,shape", UPSAMPLE_MODULES)
def test_upsample_modules_match_torch_and_print_like_torch(name, kwargs, shape):
    j_module = getattr(nn, name)(**kwargs)
    t_module = getattr(torch.nn, name)(**kwargs)
    assert j_module.extra_repr() == t_module.extra_repr()
    x = np.random.default_rng(0).standard_normal(shape)
    _compare(j_module, t_module, x, np.float64)


# -- unfold / fold -----------------------------------------------------------------------------

def _block_grid(n_cases, seed):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < n_cases:
        size = tuple(int(v) for v in rng.integers(1, 9, size=2))
        k = tuple(int(v) for v in rng.integers(1, 4, size=2))
        d = tuple(int(v) for v in rng.integers(1, 3, size=2))
        p = tuple(int(v) for v in rng.integers(0, 3, size=2))
        s = tuple(int(v) for v in rng.integers(1, 4, size=2))
        blocks = [(n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
                  for n, kk, dd, pp, ss in zip(size, k, d, p, s)]
        if min(blocks) < 1:
            continue
        batch = int(rng.integers(0, 4))  # 0: unbatched
        channels = int(rng.integers(1, 5))
        cases.append((batch, channels, size, k, d, p, s))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,channels,size,k,d,p,s", _block_grid(16, seed=0))
def test_unfold_and_fold_match_torch(batch, channels, size, k, d, p, s, dtype):
    shape = ((batch,) if batch else ()) + (channels,) + size
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    _compare(lambda t: F.unfold(t, k, d, p, s), lambda t: TF.unfold(t, k, d, p, s), x, dtype)
    cols = TF.unfold(torch.tensor(x), k, d, p, s).numpy()
    _compare(lambda t: F.fold(t, size, k, d, p, s), lambda t: TF.fold(t, size, k, d, p, s),
             cols, dtype)


def test_unfold_fold_gradcheck():
    x = juanji.tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.unfold(t, (2, 3), 1, 1, (2, 1)), (x,))
    cols = juanji.tensor(np.random.default_rng(1).standard_normal((1, 8, 12)), requires_grad=True)
    assert gradcheck(lambda t: F.fold(t, (4, 5), 2, 1, 0, 1), (cols,))


@pytest.mark.parametrize("call,match", [
    (lambda f, x: f.unfold(x(1, 1, 5, 5), 6), r"unfold: input of spatial size \(5, 5\) with "
     r"kernel_size=\(6, 6\).*gives \(0, 0\) blocks"),
    (lambda f, x: f.unfold(x(1, 1, 5, 5), 0), r"unfold: kernel_size must be greater than zero"),
    (lambda f, x: f.unfold(x(1, 1, 5, 5), 2, stride=0), r"unfold: stride must be greater than zero"),
    (lambda f, x: f.unfold(x(1, 1, 5, 5), 2, padding=-1), r"unfold: padding must be non-negative"),
    (lambda f, x: f.unfold(x(1, 1, 1, 5, 5), 2), r"unfold: expected a 3D \(C, H, W\) or 4D"),
    (lambda f, x: f.unfold(x(2, 0, 5, 5), 2), r"unfold: expected .*got input of shape \[2, 0, 5, 5\]"),
    (lambda f, x: f.fold(x(1, 4, 15), (5, 5), 2), r"fold: output_size=\(5, 5\).* give 4 \* 4 = 16 "
     r"blocks, but the input has 15"),
    (lambda f, x: f.fold(x(1, 5, 16), (5, 5), 2), r"fold: expected input.size\(1\) to be divisible"),
    (lambda f, x: f.fold(x(1, 1, 4, 16), (5, 5), 2), r"fold: expected a 2D \(C\*kh\*kw, L\) or 3D"),
    (lambda f, x: f.pixel_shuffle(x(3, 3), 2), r"pixel_shuffle: expected an input with at least 3"),
    (lambda f, x: f.pixel_shuffle(x(2, 6, 3, 3), 2), r"pixel_shuffle: expected the channel dim "
     r"\(size 6\) to be divisible by upscale_factor\*\*2 = 4"),
    (lambda f, x: f.pixel_shuffle(x(2, 8, 3, 3), 0), r"pixel_shuffle: upscale_factor must be positive"),
    (lambda f, x: f.pixel_unshuffle(x(2, 2, 5, 6), 2), r"pixel_unshuffle: expected the height"),
    (lambda f, x: f.pixel_unshuffle(x(2, 2, 6, 5), 2), r"pixel_unshuffle: expected the width"),
    (lambda f, x: f.pixel_unshuffle(x(6, 6), 2), r"pixel_unshuffle: expected an input with at least"),
])
def test_block_and_shuffle_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(Exception):
        call(TF, lambda *shape: torch.zeros(shape))
    with pytest.raises(RuntimeError, match=match):
        call(F, lambda *shape: juanji.zeros(shape))


# -- pixel shuffle -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_shape,r,c,h,w", [
    ((), 2, 1, 3, 3), ((2,), 3, 2, 2, 4), ((2, 2), 1, 3, 5, 2), ((4,), 2, 3, 1, 5),
])
def test_pixel_shuffle_and_unshuffle_match_torch(batch_shape, r, c, h, w, dtype):
    x = np.random.default_rng(0).standard_normal(batch_shape + (c * r * r, h, w)).astype(dtype)
    _compare(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), x, dtype)
    y = TF.pixel_shuffle(torch.tensor(x), r).numpy()
    _compare(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), y, dtype)


def test_pixel_shuffle_gradcheck():
    x = juanji.tensor(np.random.default_rng(0).standard_normal((1, 8, 2, 3)), requires_grad=True)
    assert gradcheck(lambda t: F.pixel_shuffle(t, 2), (x,))
    assert gradcheck(lambda t: F.pixel_unshuffle(t, 2), (F.pixel_shuffle(x, 2).detach()
                                                         .requires_grad_(),))


@pytest.mark.parametrize("name,args,shape", [
    ("Unfold", ((2, 3),), (2, 3, 5, 6)), ("Unfold", (2, 2, 1, 2), (3, 6, 5)),
    ("Fold", ((4, 5), 2), (2, 12, 12)), ("Fold", (5, (2, 3), 1, 1, 2), (12, 9)),
    ("PixelShuffle", (2,), (2, 8, 3, 4)), ("PixelUnshuffle", (3,), (1, 2, 6, 9)),
])
def test_block_and_shuffle_modules_match_torch_and_print_like_torch(name, args, shape):
    j_module = getattr(nn, name)(*args)
    t_module = getattr(torch.nn, name)(*args)
    assert j_module.extra_repr() == t_module.extra_repr()
    x = np.random.default_rng(0).standard_normal(shape)
    _compare(j_module, t_module, x, np.float64)


def test_fold_of_unfold_counts_how_many_blocks_cover_each_pixel():
    ones = juanji.ones(1, 1, 4, 4)
    counts = F.fold(F.unfold(ones, 2), (4, 4), 2)
    expected = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]], dtype=np.float32)
    np.testing.assert_array_equal(counts.numpy()[0, 0], expected)




def test_nearest_resizes_integer_images_and_linear_modes_ask_for_floats():
    x = np.arange(30, dtype=np.uint8).reshape(1, 1, 5, 6)
    j = F.interpolate(juanji.tensor(x), scale_factor=1.5)
    np.testing.assert_array_equal(j.numpy(), TF.interpolate(torch.tensor(x), scale_factor=1.5))
    assert j.numpy().dtype == np.uint8
    with pytest.raises(NotImplementedError, match=r"interpolate: bilinear mode needs a "
                                                  r"floating-point input, got uint8"):
        F.interpolate(juanji.tensor(x), scale_factor=1.5, mode="bilinear")
