"""Dropout family: keep rate and scaling (statistics), exact values and gradients given the
mask (against torch), channel-wise masks, eval/p=0/p=1 identities, seeding, in-place, errors."""

import math
import warnings

import numpy as np
import pytest

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from juanji.ops.dropout import SELU_SATURATION, AlphaMask, MaskedScale
from tests.helpers import compare_with_torch

DTYPES = ["float32", "float64"]


def _torch():
    return pytest.importorskip("torch")


def _nonzero_input(shape, dtype, seed=0):
    """Values bounded away from 0, so a zero in the output can only be a dropped element."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def _within_binomial(kept: int, total: int, keep_prob: float, sigmas: float = 5.0) -> bool:
    """|kept - n q| within ``sigmas`` standard deviations of Binomial(n, q)."""
    sd = math.sqrt(total * keep_prob * (1 - keep_prob))
    return abs(kept - total * keep_prob) <= sigmas * sd + 1


# -- statistics --------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keep_rate_and_scale(p):
    juanji.manual_seed(0)
    x = _nonzero_input((200, 250), "float32")
    y = F.dropout(juanji.tensor(x), p).numpy()
    kept = y != 0
    assert _within_binomial(int(kept.sum()), x.size, 1 - p)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)
    # the expected value is the input: the mean of y / x over many elements is ~1
    assert abs((y / x).mean() - 1.0) < 5 * math.sqrt(p / (1 - p) / x.size)


@pytest.mark.parametrize("fn,shape", [("dropout1d", (60, 50, 7)), ("dropout2d", (60, 50, 3, 4)),
                                      ("dropout3d", (40, 50, 2, 3, 2))])
def test_channel_dropout_drops_whole_channels(fn, shape):
    juanji.manual_seed(1)
    p = 0.3
    x = _nonzero_input(shape, "float32")
    y = getattr(F, fn)(juanji.tensor(x), p).numpy()
    per_channel = y.reshape(shape[0], shape[1], -1)
    dropped = (per_channel == 0).all(axis=2)
    kept = (per_channel != 0).all(axis=2)
    assert (dropped | kept).all(), "a channel is either dropped or kept whole"
    assert _within_binomial(int(kept.sum()), kept.size, 1 - p)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=1e-6)


def test_alpha_dropout_keeps_mean_and_variance_of_standard_normal_input():
    """The point of alpha dropout: N(0, 1) activations stay (approximately) N(0, 1)."""
    juanji.manual_seed(2)
    x = juanji.randn(400, 500)
    for fn in (F.alpha_dropout, F.feature_alpha_dropout):
        y = fn(x.reshape(400, 500, 1) if fn is F.feature_alpha_dropout else x, 0.2, training=True).numpy()
        assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02


# -- exact values and gradients given the mask -------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,shape", [("dropout", (7, 9)), ("dropout", (3, 4, 5)), ("dropout1d", (4, 6, 5)),
                                      ("dropout2d", (3, 5, 4, 4)), ("dropout3d", (2, 6, 2, 3, 2)),
                                      ("dropout1d", (6, 5)), ("dropout3d", (6, 2, 3, 2))])
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_matches_torch_given_the_mask(fn, shape, p, dtype):
    """Read the keep-mask off juanji's output, then torch computes x * keep / (1 - p): values
    and input gradients must agree."""
    torch = _torch()
    juanji.manual_seed(3)
    x = _nonzero_input(shape, dtype)
    keep = getattr(F, fn)(juanji.tensor(x), p).numpy() != 0
    juanji.manual_seed(3)  # the same seed draws the same mask again
    compare_with_torch(lambda t: getattr(F, fn)(t, p),
                       lambda t: t * torch.tensor(keep.astype(dtype)) / (1 - p), [x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("feature", [False, True])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_matches_torch_formula_given_the_mask(feature, p, dtype):
    """torch's alpha dropout: y = a*keep*x + a*alpha'*(p - 1 + keep),  a = ((1-p)(1 + p alpha'^2))^-1/2."""
    torch = _torch()
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    x = _nonzero_input((5, 6, 3), dtype)
    juanji.manual_seed(4)
    y = fn(juanji.tensor(x), p, training=True).numpy()
    a = ((1 - p) * (1 + p * SELU_SATURATION ** 2)) ** -0.5
    dropped_value = a * SELU_SATURATION * (p - 1)
    keep = ~np.isclose(y, dropped_value, rtol=1e-6, atol=1e-7)
    if feature:
        assert (keep.all(axis=2) | (~keep).all(axis=2)).all()
    juanji.manual_seed(4)
    tkeep = torch.tensor(keep.astype(dtype))
    compare_with_torch(lambda t: fn(t, p, training=True),
                       lambda t: t * (a * tkeep) + a * SELU_SATURATION * (p - 1 + tkeep), [x],
                       rtol=1e-5 if dtype == "float32" else 1e-10)


def test_dropout_ops_gradcheck_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    x = juanji.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    mask = (rng.random((4, 5)) > 0.3) / 0.7
    assert gradcheck(lambda t: MaskedScale.apply(t, mask), (x,))
    channel_mask = (rng.random((4, 1)) > 0.5) * 2.0
    assert gradcheck(lambda t: MaskedScale.apply(t, channel_mask), (x,))
    keep = (rng.random((4, 5)) > 0.4).astype(np.float64)
    assert gradcheck(lambda t: AlphaMask.apply(t, keep, p=0.4), (x,))


# -- identities, seeding, modes ----------------------------------------------------------------

@pytest.mark.parametrize("fn", ["dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"])
def test_identity_in_eval_with_p_zero_and_on_empty_input(fn):
    x = juanji.randn(2, 3, 4, 4)
    assert getattr(F, fn)(x, 0.5, training=False) is x
    assert getattr(F, fn)(x, 0.0, training=True) is x
    empty = juanji.zeros((0, 3, 2, 2))
    assert getattr(F, fn)(empty, 0.5, training=True) is empty


@pytest.mark.parametrize("fn", ["dropout", "dropout2d", "alpha_dropout"])
def test_p_one_gives_zeros_like_torch(fn):
    torch = _torch()
    x = np.array([[[[1.0, -2.0], [np.nan, 3.0]]]], dtype=np.float32)
    j = getattr(F, fn)(juanji.tensor(x), 1.0, training=True).numpy()
    t = getattr(torch.nn.functional, fn)(torch.tensor(x), 1.0, training=True).numpy()
    np.testing.assert_array_equal(j, t)  # zeros, NaN stays NaN
    ints = F.dropout(juanji.arange(4), 1.0)
    assert ints.dtype == juanji.int64 and ints.tolist() == [0, 0, 0, 0]


def test_masks_come_from_juanjis_generator():
    x = juanji.ones(1000)
    juanji.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    juanji.manual_seed(7)
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert (a != b).any()
    state = juanji.get_rng_state()
    d = nn.Dropout2d(0.5)(juanji.ones(20, 30, 2, 2)).numpy()
    juanji.set_rng_state(state)
    np.testing.assert_array_equal(d, nn.Dropout2d(0.5)(juanji.ones(20, 30, 2, 2)).numpy())


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                  "FeatureAlphaDropout"])
def test_modules_follow_train_and_eval_and_print_like_torch(name):
    torch = _torch()
    shape = {"Dropout1d": (4, 6, 5), "Dropout3d": (2, 6, 2, 3, 2)}.get(name, (4, 6, 3, 3))
    j_mod, t_mod = getattr(nn, name)(0.3), getattr(torch.nn, name)(0.3)
    assert repr(j_mod) == repr(t_mod)
    assert repr(getattr(nn, name)(p=0.1, inplace=True)) == repr(getattr(torch.nn, name)(p=0.1, inplace=True))
    assert list(j_mod.state_dict()) == []
    x = juanji.tensor(_nonzero_input(shape, "float32"))
    juanji.manual_seed(0)
    y = j_mod(x).numpy()
    assert not np.array_equal(y, x.numpy())
    j_mod.eval()
    assert j_mod(x) is x


def test_inplace_writes_into_the_input_and_refuses_leaves_that_require_grad():
    juanji.manual_seed(0)
    x = juanji.tensor(_nonzero_input((50, 40), "float32"))
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and (x.numpy() == 0).any()
    leaf = juanji.ones(5, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.dropout(leaf, 0.5, inplace=True)
    # a non-leaf may be changed in place, and its gradient flows
    w = juanji.ones(50, 40, requires_grad=True)
    h = w * 2.0
    nn.Dropout(0.5, inplace=True)(h).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.where(h.detach().numpy() != 0, 4.0, 0.0))


def test_unbatched_channel_dropout():
    juanji.manual_seed(5)
    y = F.dropout1d(juanji.ones(40, 6), 0.5).numpy()
    assert ((y == 0).all(axis=1) | (y == 2).all(axis=1)).all()
    y = F.dropout3d(juanji.ones(40, 2, 2, 2), 0.5).numpy().reshape(40, -1)
    assert ((y == 0).all(axis=1) | (y == 2).all(axis=1)).all()


# -- errors and warnings -----------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                "feature_alpha_dropout"])
def test_probability_out_of_range_is_a_value_error(fn):
    with pytest.raises(ValueError, match=fr"{fn}: dropout probability has to be between 0 and 1, but got 1.5"):
        getattr(F, fn)(juanji.ones(2, 3, 4, 4), 1.5)
    with pytest.raises(ValueError, match="Dropout2d: dropout probability has to be between 0 and 1, but got -0.1"):
        nn.Dropout2d(-0.1)


def test_errors_and_warnings_match_torch():
    torch = _torch()
    with pytest.raises(RuntimeError, match=r"dropout1d: expected 2D or 3D input \(\(C, L\) or \(N, C, L\)\), but "
                       r"received a 4D input \[2, 3, 4, 4\]"):
        F.dropout1d(juanji.ones(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match=r"dropout: expected a floating-point input, got a int64 tensor \[4\]"):
        F.dropout(juanji.arange(4), 0.5)
    with pytest.raises(TypeError, match="dropout: expected input to be a Tensor, got list"):
        F.dropout([1.0, 2.0])
    compare_with_torch(lambda x: F.dropout(x, 0.5), lambda x: torch.nn.functional.dropout(x, 0.5),
                       [np.arange(4)])
    compare_with_torch(lambda x: F.dropout1d(x, 0.5), lambda x: torch.nn.functional.dropout1d(x, 0.5),
                       [np.ones(4, dtype=np.float32)])
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input to dropout2d"):
        F.dropout2d(juanji.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(juanji.ones(2, 3))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d"):
        F.dropout3d(juanji.ones(2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.dropout2d(juanji.ones(2, 3, 4, 4))
        F.dropout3d(juanji.ones(3, 4, 4, 4))
