"""Loss functions and modules against torch: values and gradients (input, and target where torch
differentiates it) over a grid of shapes, dtypes, reductions and options; numerical gradchecks;
modules, reprs and buffers; and the errors for bad targets, shapes and arguments."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import juanji
import juanji.nn as nn
import juanji.nn.functional as F
from juanji.autograd.gradcheck import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(), (6,), (3, 4), (2, 3, 4, 5)]


def _normal(shape, dtype, seed=0, scale=1.0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, dtype=dtype)


def _uniform(shape, dtype, low, high, seed=1):
    return np.asarray(np.random.default_rng(seed).uniform(low, high, shape), dtype=dtype)


def _classes(shape, n_classes, seed=2, ignore=None):
    """Random class indices; with ``ignore`` every third position holds that index instead."""
    t = np.asarray(np.random.default_rng(seed).integers(0, n_classes, shape), dtype=np.int64)
    if ignore is not None and t.size:
        t.reshape(-1)[::3] = ignore
    return t


# -- regression losses ---------------------------------------------------------------------------

REGRESSION = [
    ("mse", F.mse_loss, TF.mse_loss, {}),
    ("l1", F.l1_loss, TF.l1_loss, {}),
    ("smooth_l1", F.smooth_l1_loss, TF.smooth_l1_loss, {}),
    ("smooth_l1_beta0.5", F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    ("smooth_l1_beta0", F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    ("huber", F.huber_loss, TF.huber_loss, {}),
    ("huber_delta0.3", F.huber_loss, TF.huber_loss, {"delta": 0.3}),
    ("huber_delta2", F.huber_loss, TF.huber_loss, {"delta": 2.0}),
]


def _regression_pair(shape, dtype):
    x, t = _normal(shape, dtype), _normal(shape, dtype, seed=1)
    if x.size >= 3:  # differences exactly 0, at the quadratic/linear switch of beta = delta = 0.5
        x.reshape(-1)[:3] = [1.0, 2.0, -1.0]
        t.reshape(-1)[:3] = [1.0, 1.5, -0.5]
    return x, t


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, j_fn, t_fn, kwargs", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression_loss_matches_torch(name, j_fn, t_fn, kwargs, shape, reduction, dtype):
    x, t = _regression_pair(shape, dtype)
    compare_with_torch(lambda a, b: j_fn(a, b, reduction=reduction, **kwargs),
                       lambda a, b: t_fn(a, b, reduction=reduction, **kwargs), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, j_fn, t_fn", [("mse", F.mse_loss, TF.mse_loss), ("l1", F.l1_loss, TF.l1_loss),
                                              ("huber", F.huber_loss, TF.huber_loss)])
def test_weighted_regression_loss_matches_torch(name, j_fn, t_fn, reduction):
    """torch 2.x's ``weight``: mse/l1 'mean' divide by sum(weight), huber takes a plain mean."""
    for dtype in FLOAT_DTYPES:
        x, t = _regression_pair((3, 4), dtype)
        w = _uniform((3, 4), dtype, 0.1, 2.0)
        compare_with_torch(lambda a, b, c: j_fn(a, b, reduction=reduction, weight=c),
                           lambda a, b, c: t_fn(a, b, reduction=reduction, weight=c), [x, t, w])


@pytest.mark.parametrize("x_shape, t_shape", [((3, 1), (3,)), ((4,), (2, 4)), ((2, 1, 3), (4, 1))], ids=str)
def test_regression_broadcasts_with_torchs_warning(x_shape, t_shape):
    x, t = _normal(x_shape, "float64"), _normal(t_shape, "float64", seed=3)
    for j_fn, t_fn in [(F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss), (F.smooth_l1_loss, TF.smooth_l1_loss),
                       (F.huber_loss, TF.huber_loss)]:
        with pytest.warns(UserWarning, match="Using a target size .* that is different to the input size"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's copy of the same warning
                t_fn(torch.tensor(x), torch.tensor(t))
            j_fn(juanji.tensor(x), juanji.tensor(t))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compare_with_torch(j_fn, t_fn, [x, t])


def test_regression_promotes_mixed_dtypes_like_torch():
    x = _normal((3, 4), "float32")
    compare_with_torch(F.mse_loss, TF.mse_loss, [x, _normal((3, 4), "float64")])
    compare_with_torch(F.l1_loss, TF.l1_loss, [x, np.arange(12).reshape(3, 4)])


# -- binary cross entropy ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_bce_matches_torch_for_input_and_target(shape, reduction, dtype):
    p, y = _uniform(shape, dtype, 0.02, 0.98), _uniform(shape, dtype, 0.0, 1.0, seed=4)
    compare_with_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                       lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), [p, y])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("w_shape", [(2, 3, 4), (4,), (3, 1), ()], ids=str)
def test_bce_weight_broadcasts_like_torch(w_shape, reduction, dtype):
    p, y = _uniform((2, 3, 4), dtype, 0.02, 0.98), _uniform((2, 3, 4), dtype, 0.0, 1.0, seed=4)
    w = _uniform(w_shape, dtype, 0.0, 2.0, seed=5)
    compare_with_torch(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
                       lambda a, b, c: TF.binary_cross_entropy(a, b, c, reduction=reduction), [p, y, w],
                       requires_grad=[True, True, False])


def test_bce_clamps_the_log_at_minus_100():
    """Probabilities of exactly 0 and 1: each log term is clamped, so a sure mistake costs 100."""
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=np.float32)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0], dtype=np.float32)
    compare_with_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"),
                       lambda a, b: TF.binary_cross_entropy(a, b, reduction="none"), [p, y],
                       requires_grad=[True, False])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighting", ["none", "weight", "pos_weight", "both"])
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4)], ids=str)
def test_bce_with_logits_matches_torch(shape, weighting, reduction, dtype):
    x, y = _normal(shape, dtype, scale=4.0), _uniform(shape, dtype, 0.0, 1.0, seed=4)
    w = _uniform(shape[-2:], dtype, 0.1, 2.0, seed=5) if weighting in ("weight", "both") else None
    pw = _uniform(shape[-1:], dtype, 0.2, 3.0, seed=6) if weighting in ("pos_weight", "both") else None

    def run(lib_fn, lib):
        return lambda a, b: lib_fn(a, b, None if w is None else lib.tensor(w), reduction=reduction,
                                   pos_weight=None if pw is None else lib.tensor(pw))
    compare_with_torch(run(F.binary_cross_entropy_with_logits, juanji),
                       run(TF.binary_cross_entropy_with_logits, torch), [x, y])


def test_bce_with_logits_is_stable_for_huge_logits():
    x = np.array([-500.0, -50.0, 0.0, 50.0, 500.0], dtype=np.float32)
    y = np.array([1.0, 1.0, 0.5, 0.0, 0.0], dtype=np.float32)
    for pw in (None, np.full(5, 2.5, np.float32)):
        compare_with_torch(
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none",
                                                            pos_weight=None if pw is None else juanji.tensor(pw)),
            lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction="none",
                                                             pos_weight=None if pw is None else torch.tensor(pw)),
            [x, y])


# -- cross entropy and nll -----------------------------------------------------------------------

CLASS_SHAPES = [(5,), (4, 5), (3, 4, 2), (2, 3, 4, 3)]  # (C), (N, C), (N, C, d1), (N, C, d1, d2)


def _target_shape(shape):
    return () if len(shape) == 1 else (shape[0],) + shape[2:]


def _n_classes(shape):
    return shape[0] if len(shape) == 1 else shape[1]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"ignore": -100}, {"ignore": 1},
                                     {"weight": True, "ignore": -100}, {"smoothing": 0.1},
                                     {"smoothing": 0.3, "weight": True, "ignore": -100},
                                     {"smoothing": 1.0, "ignore": 0}], ids=str)
@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
def test_cross_entropy_with_class_indices_matches_torch(shape, options, reduction, dtype):
    c = _n_classes(shape)
    x = _normal(shape, dtype, scale=2.0)
    ignore = options.get("ignore")
    t = _classes(_target_shape(shape), c, ignore=ignore)
    w = _uniform((c,), dtype, 0.2, 2.0, seed=7) if options.get("weight") else None
    kwargs = dict(reduction=reduction, label_smoothing=options.get("smoothing", 0.0))
    if ignore is not None:
        kwargs["ignore_index"] = ignore

    def run(lib_fn, lib):
        return lambda a, b: lib_fn(a, b, None if w is None else lib.tensor(w), **kwargs)
    compare_with_torch(run(F.cross_entropy, juanji), run(TF.cross_entropy, torch), [x, t])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"smoothing": 0.2}, {"smoothing": 0.2, "weight": True}],
                         ids=str)
@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
def test_cross_entropy_with_class_probabilities_matches_torch(shape, options, reduction, dtype):
    """Probability targets: gradients w.r.t. the logits, the target and the class weights."""
    x = _normal(shape, dtype, scale=2.0)
    y = _uniform(shape, dtype, 0.0, 1.0, seed=8)
    y /= y.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    inputs = [x, y]
    if options.get("weight"):
        inputs.append(_uniform((_n_classes(shape),), dtype, 0.2, 2.0, seed=7))
    smoothing = options.get("smoothing", 0.0)
    compare_with_torch(lambda *a: F.cross_entropy(*a, reduction=reduction, label_smoothing=smoothing),
                       lambda *a: TF.cross_entropy(*a, reduction=reduction, label_smoothing=smoothing), inputs)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"ignore": -100}, {"weight": True, "ignore": 2}],
                         ids=str)
@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
def test_nll_loss_matches_torch(shape, options, reduction, dtype):
    c = _n_classes(shape)
    x = _normal(shape, dtype, scale=2.0)
    ignore = options.get("ignore", -100)
    t = _classes(_target_shape(shape), c, ignore=options.get("ignore"))
    w = _uniform((c,), dtype, 0.2, 2.0, seed=7) if options.get("weight") else None

    def run(lib_fn, lib):
        return lambda a, b: lib_fn(a, b, None if w is None else lib.tensor(w), ignore_index=ignore,
                                   reduction=reduction)
    compare_with_torch(run(F.nll_loss, juanji), run(TF.nll_loss, torch), [x, t])


def test_cross_entropy_equals_nll_of_log_softmax():
    x = juanji.tensor(_normal((6, 4), "float64"))
    t = juanji.tensor(_classes((6,), 4))
    fused = F.cross_entropy(x, t)
    composed = F.nll_loss(F.log_softmax(x, 1), t)
    assert abs(fused.item() - composed.item()) < 1e-12


def test_every_target_ignored_gives_torchs_nan_and_zero():
    x = _normal((3, 5), "float32")
    t = np.full(3, -100)
    for reduction in REDUCTIONS:
        for smoothing in (0.0, 0.2):
            compare_with_torch(lambda a, b: F.cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing),
                               lambda a, b: TF.cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing),
                               [x, t])
        compare_with_torch(lambda a, b: F.nll_loss(a, b, reduction=reduction),
                           lambda a, b: TF.nll_loss(a, b, reduction=reduction), [x, t])


def test_cross_entropy_of_an_empty_batch():
    x, t = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    for reduction in REDUCTIONS:
        compare_with_torch(lambda a, b: F.cross_entropy(a, b, reduction=reduction),
                           lambda a, b: TF.cross_entropy(a, b, reduction=reduction), [x, t])


def test_cross_entropy_is_stable_for_huge_logits_and_accepts_uint8_targets():
    x = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 3.0]], dtype=np.float32)
    compare_with_torch(F.cross_entropy, TF.cross_entropy, [x, np.array([1, 0])])
    compare_with_torch(F.cross_entropy, TF.cross_entropy, [x, np.array([2, 1], dtype=np.uint8)])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 6), extra=st.lists(st.integers(1, 3), max_size=2),
       smoothing=st.sampled_from([0.0, 0.05, 0.5]), weighted=st.booleans(), reduction=st.sampled_from(REDUCTIONS))
def test_cross_entropy_hypothesis(n, c, extra, smoothing, weighted, reduction):
    shape = (n, c) + tuple(extra)
    x = _normal(shape, "float64", seed=n * 7 + c)
    t = _classes(_target_shape(shape), c, seed=n + c, ignore=-100 if n > 2 else None)
    w = _uniform((c,), "float64", 0.1, 3.0) if weighted else None

    def run(lib_fn, lib):
        return lambda a, b: lib_fn(a, b, None if w is None else lib.tensor(w), reduction=reduction,
                                   label_smoothing=smoothing)
    compare_with_torch(run(F.cross_entropy, juanji), run(TF.cross_entropy, torch), [x, t])


# -- kl divergence -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(), (5,), (4, 5), (2, 3, 4)], ids=str)
def test_kl_div_matches_torch_for_input_and_target(shape, log_target, reduction, dtype):
    x = np.log(_uniform(shape, dtype, 0.05, 1.0))
    y = _uniform(shape, dtype, 0.05, 1.0, seed=9)
    if log_target:
        y = np.log(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's (and our) warning about 'mean'
        compare_with_torch(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
                           lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target), [x, y])


def test_kl_div_zero_target_contributes_nothing():
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    y = np.array([[0.0, 0.4, 0.6]])
    compare_with_torch(lambda a, b: F.kl_div(a, b, reduction="batchmean"),
                       lambda a, b: TF.kl_div(a, b, reduction="batchmean"), [x, y], requires_grad=[True, False])


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(juanji.zeros(2, 3), juanji.ones(2, 3) / 3)


# -- numerical gradient checks (no torch) ---------------------------------------------------------

def _float64(shape, seed=0, low=None, high=None):
    arr = _normal(shape, "float64", seed) if low is None else _uniform(shape, "float64", low, high, seed)
    return juanji.tensor(arr, requires_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_gradchecks(reduction):
    x, t = _float64((3, 4)), _float64((3, 4), seed=1)
    for fn in (F.mse_loss, F.l1_loss, lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.7),
               lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.7)):
        gradcheck(lambda a, b: fn(a, b, reduction=reduction), [x, t])
    p, y = _float64((3, 4), low=0.1, high=0.9), _float64((3, 4), seed=2, low=0.0, high=1.0)
    w = juanji.tensor(_uniform((4,), "float64", 0.5, 2.0))
    gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w, reduction=reduction), [p, y])
    pw = juanji.tensor(_uniform((4,), "float64", 0.5, 3.0))
    gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, reduction=reduction, pos_weight=pw), [x, y])
    logits = _float64((3, 5, 2))
    target = juanji.tensor(_classes((3, 2), 5, ignore=-100))
    cw = juanji.tensor(_uniform((5,), "float64", 0.5, 2.0))
    gradcheck(lambda a: F.cross_entropy(a, target, cw, reduction=reduction, label_smoothing=0.2), [logits])
    gradcheck(lambda a: F.nll_loss(a, target, cw, reduction=reduction), [logits])
    probs, cw_grad = _float64((3, 5, 2), seed=3, low=0.0, high=1.0), _float64((5,), seed=4, low=0.5, high=2.0)
    gradcheck(lambda a, b, c: F.cross_entropy(a, b, c, reduction=reduction, label_smoothing=0.1),
              [logits, probs, cw_grad])
    q, r = _float64((3, 4), low=-2.0, high=-0.1), _float64((3, 4), seed=5, low=0.1, high=1.0)
    kl_reduction = "batchmean" if reduction == "mean" else reduction
    gradcheck(lambda a, b: F.kl_div(a, b, reduction=kl_reduction), [q, r])
    gradcheck(lambda a, b: F.kl_div(a, b, reduction=kl_reduction, log_target=True), [q, x])


# -- errors ------------------------------------------------------------------------------------

def test_class_index_errors_name_the_loss():
    x = juanji.tensor(_normal((3, 10), "float32"))
    with pytest.raises(IndexError, match="cross_entropy: target 12 is out of bounds for 10 classes"):
        F.cross_entropy(x, juanji.tensor([1, 12, 3]))
    with pytest.raises(IndexError, match="nll_loss: target -1 is out of bounds for 10 classes"):
        F.nll_loss(x, juanji.tensor([1, -1, 3]))
    with pytest.raises(RuntimeError, match=r"cross_entropy: expected class indices \(an int64 target of shape \[3\]\) "
                                           r"or class probabilities \(a floating-point target of shape \[3, 10\]\), "
                                           r"got a float32 target \[3\]"):
        F.cross_entropy(x, juanji.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="nll_loss: expected class indices .* got a float32 target"):
        F.nll_loss(x, juanji.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="nll_loss: expected a target of class indices of dtype int64 .* got int32"):
        F.nll_loss(x, juanji.tensor([1, 2, 3], dtype=juanji.int32))
    with pytest.raises(ValueError, match=r"cross_entropy: expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)"):
        F.cross_entropy(x, juanji.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"cross_entropy: expected a target of class indices of shape \[2, 5\] "
                                           r"for input \[2, 4, 5\], got target \[2, 4\]"):
        F.cross_entropy(juanji.zeros(2, 4, 5), juanji.zeros(2, 4, dtype=juanji.int64))
    with pytest.raises(RuntimeError, match="cross_entropy: a target shaped like the input .* must be floating-point"):
        F.cross_entropy(x, juanji.zeros(3, 10, dtype=juanji.int64))
    with pytest.raises(RuntimeError, match=r"cross_entropy: expected a weight with one entry per class \(10\), "
                                           r"got weight \[4\]"):
        F.cross_entropy(x, juanji.tensor([1, 2, 3]), weight=juanji.ones(4))
    with pytest.raises(RuntimeError, match="cross_entropy: expected a weight of the input's dtype float32, got float64"):
        F.cross_entropy(x, juanji.tensor([1, 2, 3]), weight=juanji.ones(10, dtype=juanji.float64))
    with pytest.raises(RuntimeError, match="cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"):
        F.cross_entropy(x, juanji.tensor([1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match=r"cross_entropy: expected input of shape \(C\), \(N, C\) or "
                                           r"\(N, C, d1, ...\), got a 0-d input"):
        F.cross_entropy(juanji.tensor(1.0), juanji.tensor(0))
    with pytest.raises(RuntimeError, match="nll_loss: the loss is not differentiable with respect to weight"):
        F.nll_loss(x, juanji.tensor([1, 2, 3]), weight=juanji.ones(10, requires_grad=True))
    with pytest.raises(ValueError, match=r"cross_entropy: 'avg' is not a valid value for reduction"):
        F.cross_entropy(x, juanji.tensor([1, 2, 3]), reduction="avg")
    with pytest.raises(ValueError, match=r"mse_loss: 'batchmean' is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="batchmean")


def test_binary_and_regression_errors_name_the_loss():
    p = juanji.tensor([0.2, 0.7])
    with pytest.raises(RuntimeError, match=r"binary_cross_entropy: all elements of input should be between 0 and 1, "
                                           r"got values in \[0.2, 1.5\]"):
        F.binary_cross_entropy(juanji.tensor([0.2, 1.5]), p)
    with pytest.raises(RuntimeError, match="binary_cross_entropy: all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(p, juanji.tensor([0.0, -1.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: using a target size \(juanji.Size\(\[1, 2\]\)\) "
                                         r"that is different to the input size \(juanji.Size\(\[2\]\)\)"):
        F.binary_cross_entropy(p, p.reshape(1, 2))
    with pytest.raises(RuntimeError, match="binary_cross_entropy: expected a target of the input's dtype float32, "
                                           "got float64"):
        F.binary_cross_entropy(p, p.double())
    with pytest.raises(RuntimeError, match=r"binary_cross_entropy: expected weight that broadcasts to the input \[2\], "
                                           r"got weight \[3\]"):
        F.binary_cross_entropy(p, p, weight=juanji.ones(3))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target size \(juanji.Size\(\[1, 2\]\)\) "
                                         r"must be the same as input size"):
        F.binary_cross_entropy_with_logits(p, p.reshape(1, 2))
    with pytest.raises(RuntimeError, match=r"mse_loss: the target \[3\] cannot be broadcast to the input \[2\]"):
        with pytest.warns(UserWarning):
            F.mse_loss(p, juanji.ones(3))
    with pytest.raises(NotImplementedError, match="mse_loss: expected floating-point tensors, got int64 and int64"):
        F.mse_loss(juanji.tensor([1, 2]), juanji.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"mse_loss: weights and input must have the same size"):
        F.mse_loss(p, p, weight=juanji.ones(3))
    with pytest.raises(RuntimeError, match="smooth_l1_loss: beta must be non-negative, got beta=-1"):
        F.smooth_l1_loss(p, p, beta=-1)
    with pytest.raises(RuntimeError, match="huber_loss: delta must be positive, got delta=0"):
        F.huber_loss(p, p, delta=0)
    with pytest.raises(TypeError, match="mse_loss: expected target to be a Tensor, got list"):
        F.mse_loss(p, [0.0, 1.0])


@pytest.mark.parametrize("case", [
    ("ce_out_of_range", F.cross_entropy, TF.cross_entropy, [np.zeros((2, 3), np.float32), np.array([0, 3])]),
    ("ce_float_indices", F.cross_entropy, TF.cross_entropy, [np.zeros((2, 3), np.float32), np.array([0.0, 1.0])]),
    ("ce_int_probs", F.cross_entropy, TF.cross_entropy, [np.zeros((2, 3), np.float32), np.zeros((2, 3), np.int64)]),
    ("ce_batch", F.cross_entropy, TF.cross_entropy, [np.zeros((2, 3), np.float32), np.array([0, 1, 2])]),
    ("nll_int32", F.nll_loss, TF.nll_loss, [np.zeros((2, 3), np.float32), np.array([0, 1], np.int32)]),
    ("bce_range", F.binary_cross_entropy, TF.binary_cross_entropy, [np.array([0.5, 2.0]), np.array([0.0, 1.0])]),
    ("bce_shape", F.binary_cross_entropy, TF.binary_cross_entropy, [np.array([0.5, 0.5]), np.array([[0.0, 1.0]])]),
    ("bcel_shape", F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
     [np.zeros(2), np.zeros((2, 1))]),
    ("mse_ints", F.mse_loss, TF.mse_loss, [np.array([1, 2]), np.array([0, 1])]),
], ids=lambda c: c[0])
def test_torch_refuses_the_same_inputs(case):
    _, j_fn, t_fn, inputs = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_with_torch(j_fn, t_fn, inputs)


# -- modules ------------------------------------------------------------------------------------

def _module_cases():
    w3 = np.array([0.5, 1.0, 2.0], np.float32)
    x = _normal((4, 3), "float32")
    t = _classes((4,), 3)
    p, y = _uniform((4, 3), "float32", 0.05, 0.95), _uniform((4, 3), "float32", 0.0, 1.0, seed=3)
    return [
        ("MSELoss", {}, x, y), ("MSELoss", {"reduction": "sum"}, x, y), ("L1Loss", {"reduction": "none"}, x, y),
        ("SmoothL1Loss", {"beta": 0.5}, x, y), ("HuberLoss", {"delta": 0.5, "reduction": "sum"}, x, y),
        ("BCELoss", {"weight": w3}, p, y), ("BCELoss", {"reduction": "none"}, p, y),
        ("BCEWithLogitsLoss", {"weight": w3, "pos_weight": w3 * 2}, x, y),
        ("CrossEntropyLoss", {}, x, t), ("CrossEntropyLoss", {"weight": w3, "label_smoothing": 0.1}, x, t),
        ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "sum"}, x, t), ("CrossEntropyLoss", {}, x, y),
        ("NLLLoss", {"weight": w3, "ignore_index": 0}, x, t),
        ("KLDivLoss", {"reduction": "batchmean"}, np.log(p), y),
        ("KLDivLoss", {"reduction": "sum", "log_target": True}, np.log(p), np.log(y)),
    ]


@pytest.mark.parametrize("name, kwargs, x, t", _module_cases(), ids=lambda v: str(v)[:40] if isinstance(v, (str, dict)) else "")
def test_loss_module_matches_torch(name, kwargs, x, t):
    def build(lib, module):
        args = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return getattr(module, name)(**args)
    ours, theirs = build(juanji, nn), build(torch, torch.nn)
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].numpy(), value.numpy())
    compare_with_torch(ours, theirs, [x, t], requires_grad=[True, t.dtype.kind == "f"])


@pytest.mark.parametrize("size_average, reduce", [(None, False), (False, None), (True, True), (False, True)])
def test_deprecated_size_average_and_reduce_still_pick_the_reduction(size_average, reduce):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.MSELoss(size_average=size_average, reduce=reduce)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours = nn.MSELoss(size_average=size_average, reduce=reduce)
    assert ours.reduction == theirs.reduction
    x, y = _normal((3, 2), "float64"), _normal((3, 2), "float64", seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare_with_torch(lambda a, b: F.mse_loss(a, b, size_average, reduce),
                           lambda a, b: TF.mse_loss(a, b, size_average, reduce), [x, y])


def test_loss_modules_check_arguments_when_built():
    with pytest.raises(ValueError, match="CrossEntropyLoss: 'avg' is not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="MSELoss: 'batchmean' is not a valid value for reduction"):
        nn.MSELoss(reduction="batchmean")
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got -0.1"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


def test_loss_module_weight_follows_dtype_conversion():
    m = nn.CrossEntropyLoss(weight=juanji.tensor([1.0, 2.0, 3.0]))
    m.double()
    assert m.weight.dtype == juanji.float64
    x = juanji.tensor(_normal((4, 3), "float64"), requires_grad=True)
    m(x, juanji.tensor(_classes((4,), 3))).backward()
    assert x.grad.dtype == juanji.float64
