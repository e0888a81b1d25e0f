"""Learning-rate schedulers against torch.optim.lr_scheduler: the lr (and cycled momentum)
sequence over 40 steps must be *equal* to torch's, since both compute it in Python floats with
the same formulas; also closed forms (``step(epoch)``), state_dict round trips and errors."""

import math
import warnings

import pytest

import juanji

torch = pytest.importorskip("torch")

STEPS = 40


def _optimizer(mod, kind="SGD"):
    """Two parameter groups with different learning rates."""
    a = mod.zeros(2, requires_grad=True)
    b = mod.zeros(3, requires_grad=True)
    groups = [{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.05}]
    if kind == "SGD":
        return mod.optim.SGD(groups, lr=0.1, momentum=0.9)
    return mod.optim.Adam(groups, lr=0.1)


# (id, optimizer kind, factory(lr_scheduler module, optimizer) -> scheduler)
SCHEDULERS = [
    ("StepLR", "SGD", lambda S, o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("MultiStepLR", "SGD", lambda S, o: S.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3)),
    ("ExponentialLR", "SGD", lambda S, o: S.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", "SGD", lambda S, o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("CosineAnnealingLR-no-min", "Adam", lambda S, o: S.CosineAnnealingLR(o, T_max=7)),
    ("LambdaLR", "SGD", lambda S, o: S.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e)),
    ("LambdaLR-per-group", "SGD", lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: e % 4 + 1])),
    ("MultiplicativeLR", "SGD", lambda S, o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.97)),
    ("LinearLR", "SGD", lambda S, o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8)),
    ("LinearLR-default", "SGD", lambda S, o: S.LinearLR(o)),
    ("ConstantLR", "SGD", lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=6)),
    ("PolynomialLR", "SGD", lambda S, o: S.PolynomialLR(o, total_iters=12, power=2.0)),
    ("OneCycleLR-cos", "SGD", lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS)),
    ("OneCycleLR-linear", "SGD", lambda S, o: S.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=10,
                                                          anneal_strategy="linear", pct_start=0.25)),
    ("OneCycleLR-three-phase", "SGD", lambda S, o: S.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, three_phase=True,
                                                               div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR-adam-beta1", "Adam", lambda S, o: S.OneCycleLR(o, max_lr=0.01, total_steps=STEPS, pct_start=0.4,
                                                               base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR-no-momentum", "SGD", lambda S, o: S.OneCycleLR(o, max_lr=0.2, total_steps=STEPS,
                                                               cycle_momentum=False)),
    ("CyclicLR-triangular", "SGD", lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5)),
    ("CyclicLR-triangular2", "Adam", lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=4,
                                                            step_size_down=6, mode="triangular2")),
    ("CyclicLR-exp-range", "SGD", lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                         mode="exp_range", gamma=0.97)),
    ("CosineAnnealingWarmRestarts", "SGD", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                                    eta_min=0.001)),
    ("SequentialLR", "SGD", lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9)], milestones=[5])),
    ("SequentialLR-three", "SGD", lambda S, o: S.SequentialLR(
        o, [S.ConstantLR(o, factor=0.2, total_iters=4), S.CosineAnnealingLR(o, T_max=8),
            S.StepLR(o, step_size=3, gamma=0.5)], milestones=[4, 20])),
    ("ChainedScheduler", "SGD", lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.3, total_iters=5), S.ExponentialLR(o, gamma=0.93)])),
    ("ChainedScheduler-warmup-cosine", "SGD", lambda S, o: S.ChainedScheduler(
        [S.LinearLR(o, start_factor=0.5, total_iters=4), S.CosineAnnealingLR(o, T_max=12)], optimizer=o)),
]
IDS = [s[0] for s in SCHEDULERS]


def _record(opt, sched):
    lrs = tuple(float(lr) for lr in sched.get_last_lr())
    group_lrs = tuple(float(g["lr"]) for g in opt.param_groups)
    momenta = tuple(g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups)
    return lrs, group_lrs, momenta


def _trace(mod, kind, factory, steps=STEPS, start=None):
    opt = _optimizer(mod, kind)
    sched = factory(mod.optim.lr_scheduler, opt)
    out = [_record(opt, sched)]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(_record(opt, sched))
    return out, opt, sched


@pytest.mark.parametrize("name,kind,factory", SCHEDULERS, ids=IDS)
def test_lr_sequence_equals_torch(name, kind, factory):
    steps = STEPS - 1 if name.startswith("OneCycleLR") else STEPS  # OneCycle allows total_steps - 1 steps
    j_trace, _, _ = _trace(juanji, kind, factory, steps)
    t_trace, _, _ = _trace(torch, kind, factory, steps)
    assert j_trace == t_trace


@pytest.mark.parametrize("name,kind,factory", SCHEDULERS, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, kind, factory):
    steps = 12
    total = STEPS - 1 if name.startswith("OneCycleLR") else STEPS
    _, opt, sched = _trace(juanji, kind, factory, steps)
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in saved_sched

    opt2 = _optimizer(juanji, kind)
    sched2 = factory(juanji.optim.lr_scheduler, opt2)
    sched2.load_state_dict(saved_sched)  # torch's order: the scheduler first, then the optimizer
    opt2.load_state_dict(saved_opt)
    for _ in range(total - steps):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert _record(opt, sched) == _record(opt2, sched2)


@pytest.mark.parametrize("name,kind,factory", SCHEDULERS, ids=IDS)
def test_state_dict_keys_match_torch(name, kind, factory):
    j_sd = factory(juanji.optim.lr_scheduler, _optimizer(juanji, kind)).state_dict()
    t_sd = factory(torch.optim.lr_scheduler, _optimizer(torch, kind)).state_dict()
    t_sd.pop("_scale_fn_ref", None)  # torch keeps a bound function there; juanji picks by mode
    assert sorted(j_sd) == sorted(t_sd)
    for key in ("last_epoch", "base_lrs", "_last_lr", "_step_count"):
        if key in t_sd:
            assert j_sd[key] == t_sd[key], key


CLOSED_FORM = [
    ("StepLR", lambda S, o: S.StepLR(o, step_size=3, gamma=0.5)),
    ("MultiStepLR", lambda S, o: S.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.5)),
    ("ExponentialLR", lambda S, o: S.ExponentialLR(o, gamma=0.8)),
    ("CosineAnnealingLR", lambda S, o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.01)),
    ("LinearLR", lambda S, o: S.LinearLR(o, start_factor=0.2, total_iters=6)),
    ("ConstantLR", lambda S, o: S.ConstantLR(o, factor=0.4, total_iters=4)),
    ("PolynomialLR", lambda S, o: S.PolynomialLR(o, total_iters=8, power=1.5)),
    ("LambdaLR", lambda S, o: S.LambdaLR(o, lambda e: 1.0 / (1 + e))),
    ("CosineAnnealingWarmRestarts", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)),
]


@pytest.mark.parametrize("name,factory", CLOSED_FORM, ids=[c[0] for c in CLOSED_FORM])
def test_step_with_explicit_epoch_uses_torch_closed_form(name, factory):
    epochs = [3, 7, 7, 12, 2, 0, 9]
    if name == "CosineAnnealingWarmRestarts":
        epochs = [0.5, 1.5, 3.0, 4.25, 10.0, 23.5, 2.0]
    traces = []
    for mod in (juanji, torch):
        opt = _optimizer(mod)
        sched = factory(mod.optim.lr_scheduler, opt)
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in epochs:
                opt.step()
                sched.step(epoch)
                trace.append(_record(opt, sched))
        traces.append(trace)
    assert traces[0] == traces[1]


def test_step_with_epoch_warns_deprecation():
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(3)


# ---------------------------------------------------------------- ReduceLROnPlateau
METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89999, 0.7, 0.7, 0.71, 0.72, 0.73, 0.74, 0.6, 0.6, 0.6, 0.6, 0.6,
           0.6, 0.6, 0.6, 0.59, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.67, 0.68, 0.5, 0.5, 0.5, 0.5]
PLATEAU = [
    dict(),
    dict(patience=2),
    dict(mode="max", patience=1, factor=0.5),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(patience=0, factor=0.5, min_lr=[0.02, 0.001]),
    dict(patience=1, factor=0.5, min_lr=0.04, eps=1e-3),
    dict(mode="max", threshold_mode="abs", threshold=0.0, patience=3, cooldown=1),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_equals_torch(kwargs):
    traces = []
    for mod in (juanji, torch):
        opt = _optimizer(mod)
        sched = mod.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        trace = [_record(opt, sched)]
        for metric in METRICS:
            opt.step()
            sched.step(mod.tensor(metric) if metric < 0.65 else metric)  # tensors and floats both work
            trace.append(_record(opt, sched) + (sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        traces.append(trace)
    assert traces[0] == traces[1]


def test_reduce_lr_on_plateau_state_dict_round_trip(tmp_path):
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for metric in METRICS[:10]:
        sched.step(metric)
    juanji.save(sched.state_dict(), tmp_path / "sched.pt")  # best may be inf: must survive the file
    opt2 = _optimizer(juanji)
    opt2.load_state_dict(opt.state_dict())
    sched2 = juanji.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(juanji.load(tmp_path / "sched.pt"))
    for metric in METRICS[10:]:
        sched.step(metric)
        sched2.step(metric)
        assert sched.get_last_lr() == sched2.get_last_lr()


def test_multistep_state_survives_juanji_save(tmp_path):
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4, 4], gamma=0.5)
    juanji.save(sched.state_dict(), tmp_path / "s.pt")
    opt2 = _optimizer(juanji)
    sched2 = juanji.optim.lr_scheduler.MultiStepLR(opt2, milestones=[1])
    sched2.load_state_dict(juanji.load(tmp_path / "s.pt"))
    for _ in range(6):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched2.step(5)  # the closed form needs the milestones as a multiset again
    assert sched2.get_last_lr() == [0.1 * 0.5 ** 3, 0.05 * 0.5 ** 3]


# ---------------------------------------------------------------- warnings and errors
def test_scheduler_step_before_optimizer_step_warns():
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_no_warning_in_the_right_order():
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            opt.step()
            sched.step()


def test_get_lr_outside_step_warns():
    sched = juanji.optim.lr_scheduler.ExponentialLR(_optimizer(juanji), gamma=0.5)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_lr_scheduler_names():
    S = juanji.optim.lr_scheduler
    assert issubclass(S._LRScheduler, S.LRScheduler)
    for name in ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR", "MultiplicativeLR",
                 "OneCycleLR", "ReduceLROnPlateau", "LinearLR", "ConstantLR", "SequentialLR", "ChainedScheduler"):
        assert issubclass(getattr(S, name), S.LRScheduler)
        assert name in S.__all__


def _seq(S, o):
    return S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[2, 4])


def _seq_plateau(S, o):
    return S.SequentialLR(o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], milestones=[2])


def _chained_other_optimizer(S, o):
    other = type(o)([p for g in o.param_groups for p in g["params"]][:1], lr=0.1)
    return S.ChainedScheduler([S.StepLR(o, 2), S.StepLR(other, 2)])


ERRORS = [
    ("not-an-optimizer", lambda S, o: S.StepLR(object(), step_size=2)),
    ("resume-without-initial-lr", lambda S, o: S.StepLR(o, step_size=2, last_epoch=3)),
    ("constant-factor", lambda S, o: S.ConstantLR(o, factor=1.5)),
    ("linear-start-factor", lambda S, o: S.LinearLR(o, start_factor=0.0)),
    ("linear-end-factor", lambda S, o: S.LinearLR(o, end_factor=1.5)),
    ("lambda-count", lambda S, o: S.LambdaLR(o, [lambda e: 1.0])),
    ("multiplicative-not-callable", lambda S, o: S.MultiplicativeLR(o, [0.9, 0.9])),
    ("onecycle-no-length", lambda S, o: S.OneCycleLR(o, max_lr=0.1)),
    ("onecycle-total-steps", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=0)),
    ("onecycle-epochs", lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=-1, steps_per_epoch=3)),
    ("onecycle-pct-start", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1)),
    ("onecycle-anneal", lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp")),
    ("onecycle-max-lr-count", lambda S, o: S.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10)),
    ("plateau-factor", lambda S, o: S.ReduceLROnPlateau(o, factor=1.0)),
    ("plateau-mode", lambda S, o: S.ReduceLROnPlateau(o, mode="lowest")),
    ("plateau-threshold-mode", lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="relative")),
    ("plateau-min-lr-count", lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1])),
    ("sequential-milestones", _seq),
    ("sequential-plateau", _seq_plateau),
    ("sequential-empty", lambda S, o: S.SequentialLR(o, [], milestones=[])),
    ("chained-other-optimizer", _chained_other_optimizer),
    ("warm-restarts-T0", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0)),
    ("warm-restarts-Tmult", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0)),
    ("cyclic-mode", lambda S, o: S.CyclicLR(o, 0.01, 0.1, mode="sawtooth")),
]


@pytest.mark.parametrize("name,factory", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_as_torch(name, factory):
    with pytest.raises(Exception) as t_err:
        factory(torch.optim.lr_scheduler, _optimizer(torch))
    with pytest.raises(t_err.type) as j_err:
        factory(juanji.optim.lr_scheduler, _optimizer(juanji))
    first_line = str(t_err.value.args[0]).split("\n")[0].rstrip(".")
    assert first_line in str(j_err.value.args[0])


def test_cycle_momentum_needs_momentum_or_betas():
    w = juanji.zeros(2, requires_grad=True)
    opt = juanji.optim.Adagrad([w])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        juanji.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        juanji.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1)


def test_onecycle_stepping_past_total_steps():
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):  # epochs 1, 2, 3 (construction did epoch 0)
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


def test_cosine_reaches_eta_min_at_T_max():
    opt = _optimizer(juanji)
    sched = juanji.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    for _ in range(10):
        opt.step()
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.001, rel_tol=1e-12)
