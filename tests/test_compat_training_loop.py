"""Training loops written for PyTorch run unchanged on juanji and follow PyTorch step for step
from the same data and initial weights: d2l's ``train_ch6`` on LeNet, the PyTorch-notes loop
over optimizers x schedulers with ``clip_grad_norm_``, checkpoint/resume, and fine-tuning a
frozen trunk (``examples/d2l_training_loop.py``)."""

import numpy as np
import pytest

import juanji
from tests.test_compat_support import assert_same, load_example, torch_or_skip

example = load_example("d2l_training_loop")
common = load_example("d2l_common")

N_TRAIN, N_TEST, BATCH = 128, 64, 32
FULL_SIZE = common.fashion_sample(N_TRAIN, N_TEST)  # 28 x 28, for LeNet
# the BatchNorm CNN ends in a global average pool, so it takes any size: 14 x 14 keeps the tests fast
DATA = tuple(a[..., ::2, ::2] if a.ndim == 4 else a for a in FULL_SIZE)
DATA64 = tuple(a.astype(np.float64) if a.dtype == np.float32 else a for a in DATA)
STEPS = dict(rtol=2e-4, atol=1e-6)  # float32, a couple of dozen steps through BatchNorm


def _both(fn, data=DATA, dtype=None, **kwargs):
    """Run ``fn`` on juanji, then on torch from the juanji run's initial weights; ``dtype`` (any
    value) trains both in float64."""
    torch = torch_or_skip()
    juanji.manual_seed(0)  # the same initial weights every run
    if dtype is not None:
        j = fn(juanji, data, dtype=juanji.float64, **kwargs)
        t = fn(torch, data, init_state=j["initial_state"], dtype=torch.float64, **kwargs)
    else:
        j = fn(juanji, data, **kwargs)
        t = fn(torch, data, init_state=j["initial_state"], **kwargs)
    return j, t


def test_train_ch6_lenet_follows_torch():
    torch = torch_or_skip()
    juanji.manual_seed(0)
    j = example.train_ch6(juanji, example.lenet(juanji), FULL_SIZE, num_epochs=2, lr=0.9, batch_size=BATCH,
                          device=example.try_gpu(juanji), shuffle=False)
    t = example.train_ch6(torch, example.lenet(torch), FULL_SIZE, num_epochs=2, lr=0.9, batch_size=BATCH,
                          device=example.try_gpu(torch), shuffle=False, init_state=j["initial_state"])
    assert_same(j["initial_state"], t["initial_state"])
    assert_same(j["step_losses"], t["step_losses"], path="step_losses", **STEPS)
    for jh, th in zip(j["history"], t["history"]):
        assert jh[0] == pytest.approx(th[0], rel=2e-4)
        assert abs(jh[1] - th[1]) <= 2 / N_TRAIN and abs(jh[2] - th[2]) <= 2 / N_TEST


def test_xavier_init_through_apply_has_the_right_bounds():
    juanji.manual_seed(0)
    net = example.lenet(juanji)
    state = example.train_ch6(juanji, net, FULL_SIZE, num_epochs=0, lr=0.9, device=example.try_gpu(juanji))
    weight = state["initial_state"]["7.weight"]  # Linear(400, 120): bound sqrt(6 / (400 + 120))
    bound = np.sqrt(6 / 520)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.95 * bound
    assert weight.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)


@pytest.mark.parametrize("optimizer, scheduler", [
    ("SGD", "None"),
    ("SGD momentum", "StepLR"),
    ("SGD nesterov", "MultiStepLR"),
    ("Adam", "OneCycleLR"),
    ("Adam amsgrad", "CosineAnnealingLR"),
    ("AdamW", "LinearLR"),
    ("RMSprop", "ExponentialLR"),
    ("Adagrad", "ReduceLROnPlateau"),
    ("SGD momentum", "CosineAnnealingWarmRestarts"),
])
def test_fit_follows_torch_step_for_step_in_float64(optimizer, scheduler):
    """In float64 rounding cannot hide a wrong formula: every step's loss, gradient norm and
    learning rate, the validation metrics and the final weights agree to ~1e-10."""
    j, t = _both(example.fit, data=DATA64, optimizer=optimizer, scheduler=scheduler, num_epochs=2, shuffle=False,
                 batch_size=BATCH, dtype="float64")
    assert_same(j["initial_state"], t["initial_state"])
    assert len(j["steps"]) == len(t["steps"]) == 2 * N_TRAIN // BATCH
    assert_same(j["steps"], t["steps"], path="steps", rtol=1e-9, atol=1e-12)
    assert_same(j["epochs"], t["epochs"], path="epochs", rtol=1e-9, atol=1e-12)
    assert_same(j["final_state"], t["final_state"], rtol=1e-8, atol=1e-11)
    assert j["optimizer state keys"] == t["optimizer state keys"]


def test_fit_in_float32_follows_torch():
    """In float32 the runs drift apart by rounding (BatchNorm, clipping and ReLU kinks amplify
    last-bit differences), so the first step must agree tightly and the rest loosely."""
    j, t = _both(example.fit, data=DATA, optimizer="SGD momentum", scheduler="StepLR", num_epochs=2, shuffle=False,
                 batch_size=BATCH)
    assert j["steps"][0][0] == pytest.approx(t["steps"][0][0], rel=1e-5)
    assert j["steps"][0][1] == pytest.approx(t["steps"][0][1], rel=1e-4)
    for js, ts in zip(j["steps"], t["steps"]):
        assert js[0] == pytest.approx(ts[0], rel=1e-2) and js[2] == ts[2]
    assert_same(j["final_state"], t["final_state"], rtol=5e-2, atol=5e-3)


def test_fit_learns():
    juanji.manual_seed(0)
    result = example.fit(juanji, DATA, optimizer="Adam", scheduler="None", num_epochs=3, shuffle=True,
                         batch_size=BATCH)
    losses = [loss for loss, _, _ in result["steps"]]
    assert np.mean(losses[-4:]) < np.mean(losses[:4]) - 0.1  # ln(10) = 2.30 at the start


def test_clip_grad_norm_bounds_the_update():
    """After clip_grad_norm_(max_norm) the total gradient norm is at most max_norm."""
    juanji.manual_seed(0)
    model = example.small_cnn(juanji, dropout=0.0)
    X, y = juanji.tensor(DATA[0][:32]), juanji.tensor(DATA[1][:32])
    juanji.nn.CrossEntropyLoss()(model(X), y).backward()
    before = juanji.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1e-3)
    after = sum((p.grad ** 2).sum() for p in model.parameters()).sqrt()
    assert before.item() > 1e-3 and after.item() == pytest.approx(1e-3, rel=1e-3)


def test_checkpoint_resume_equals_the_uninterrupted_run():
    juanji.manual_seed(0)
    resumed = example.checkpoint_and_resume(juanji, DATA, stop_after=1, num_epochs=2, batch_size=BATCH)
    straight = example.checkpoint_and_resume(juanji, DATA, stop_after=99, num_epochs=2, batch_size=BATCH,
                                             init_state=resumed["initial_state"])
    assert resumed["losses"] == straight["losses"]  # bit for bit: momentum buffers and lr restored
    assert resumed["lr"] == straight["lr"] == 0.05 * 0.5 ** 2
    for name in straight["final_state"]:
        np.testing.assert_array_equal(resumed["final_state"][name], straight["final_state"][name], err_msg=name)


def test_checkpoint_resume_follows_torch():
    j, t = _both(example.checkpoint_and_resume, stop_after=1, num_epochs=2, batch_size=BATCH)
    assert_same(j["losses"], t["losses"], path="losses", **STEPS)
    assert j["saved loss"] == pytest.approx(t["saved loss"], rel=STEPS["rtol"])
    assert j["lr"] == t["lr"]


def test_fine_tuning_trains_only_the_new_head():
    j, t = _both(example.fine_tune_head, num_epochs=1, batch_size=BATCH)
    assert j["trainable"] == t["trainable"] == ["10.weight", "10.bias"]
    assert j["frozen grads are None"] == t["frozen grads are None"] and all(j["frozen grads are None"])
    assert_same(j["losses"], t["losses"], path="losses", **STEPS)
    for name, value in j["initial_state"].items():
        if not name.startswith("10."):  # the trunk did not move, BatchNorm statistics included
            np.testing.assert_array_equal(j["final_state"][name], value, err_msg=name)
    assert_same(j["final_state"], t["final_state"], rtol=1e-3, atol=1e-6)


def test_no_grad_evaluation_builds_no_graph_and_eval_mode_is_deterministic():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        lib.manual_seed(0)
        model = example.small_cnn(lib, dropout=0.5)
        X = lib.tensor(DATA[2][:16])
        model.eval()
        with lib.no_grad():
            first, second = model(X), model(X)
        assert not first.requires_grad and first.grad_fn is None
        assert lib.equal(first, second)
        model.train()
        assert model(X).requires_grad
