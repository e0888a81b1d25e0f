"""torch 2.x's runtime surface (juanji/accelerator.py, backends/, cuda/, cpu.py, amp/, testing/,
_tensor/devices.py, settings.py's type information) against torch on this CPU-only machine."""

import warnings

import numpy as np
import pytest

import juanji

torch = pytest.importorskip("torch")


def test_accelerator_answers_as_torch_without_a_gpu():
    if juanji.cuda.is_available():
        pytest.skip("a GPU is here")
    assert juanji.accelerator.is_available() is torch.accelerator.is_available() is False
    assert juanji.accelerator.current_accelerator() is None and torch.accelerator.current_accelerator() is None
    assert juanji.accelerator.device_count() == torch.accelerator.device_count() == 0
    for name in ("current_device_index", "synchronize"):
        for module in (juanji, torch):
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
                getattr(module.accelerator, name)()


def test_cuda_module_answers_as_torch_without_a_gpu():
    if juanji.cuda.is_available():
        pytest.skip("a GPU is here")
    for module in (juanji, torch):
        assert module.cuda.is_available() is False and module.cuda.device_count() == 0
        assert module.cuda.is_bf16_supported() is False
        module.cuda.manual_seed(0)
        module.cuda.manual_seed_all(0)
        module.cuda.empty_cache()
        with pytest.raises(AssertionError, match="not compiled with CUDA"):
            module.cuda.current_device()
    from juanji.cuda import amp as cuda_amp  # a real module, as torch.cuda.amp
    assert cuda_amp.GradScaler is not None
    assert juanji.cpu.is_available() and juanji.cpu.device_count() == 1
    assert juanji.get_device_module("cpu") is juanji.cpu


def test_tensor_device_questions_match_torch():
    for module in (juanji, torch):
        x = module.ones(2, 3)
        assert (x.is_cuda, x.is_cpu, x.is_xpu, x.is_mps, x.is_meta, x.is_quantized, x.is_sparse, x.is_nested) == \
            (False, True, False, False, False, False, False, False)
        assert x.get_device() == -1 and x.is_signed() and not module.ones(1, dtype=module.uint8).is_signed()
        assert x.nbytes == 24 and x.itemsize == 4 and x.storage_offset() == 0
        assert x.is_same_size(module.zeros(2, 3)) and not x.is_pinned() and not x.is_inference()
        assert x.dim_order() == (0, 1)
        assert x.char().dtype == module.int8
    assert str(juanji.ones(1).layout) == "juanji.strided" and str(torch.ones(1).layout) == "torch.strided"
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(juanji.tensor(a).mH.numpy(), torch.tensor(a).mH.numpy())
    np.testing.assert_array_equal(juanji.tensor(a).H.numpy(), torch.tensor(a).H.numpy())


def test_backends_switches_keep_what_scripts_set():
    import juanji.backends.cudnn as cudnn
    before = cudnn.benchmark, cudnn.deterministic
    try:
        juanji.backends.cudnn.benchmark = True
        juanji.backends.cudnn.deterministic = True
        assert cudnn.benchmark and cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = before
    assert juanji.backends.cudnn.is_available() is False and juanji.backends.cudnn.enabled
    assert juanji.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert juanji.backends.mps.is_built() is False
    assert juanji.backends.cuda.matmul.allow_tf32 is False and juanji.backends.cuda.is_built() is False
    assert juanji.backends.openmp.is_available() and isinstance(juanji.backends.cpu.get_cpu_capability(), str)


def test_bfloat16_is_refused_with_one_line_and_half_stores_float16():
    assert juanji.bfloat16.name == "bfloat16"
    for call in (lambda: juanji.ones(2).bfloat16(), lambda: juanji.ones(2).to(juanji.bfloat16),
                 lambda: juanji.zeros(2, dtype=juanji.bfloat16), lambda: juanji.tensor([1.0], dtype="bfloat16")):
        with pytest.raises(TypeError, match="bfloat16 is not supported"):
            call()
    x = juanji.tensor([1.0, 2.5, 1e-3]).half()
    assert x.dtype is juanji.float16 and x.numpy().dtype == np.float16
    np.testing.assert_array_equal(x.numpy(), torch.tensor([1.0, 2.5, 1e-3]).half().numpy())


def test_autocast_disables_itself_without_a_gpu_and_refuses_real_mixed_precision():
    if juanji.cuda.is_available():
        pytest.skip("a GPU is here")
    for module in (juanji, torch):
        with pytest.warns(UserWarning, match="Disabling"):
            with module.autocast(device_type="cuda"):
                assert not module.is_autocast_enabled()
        with module.autocast("cpu", enabled=False):
            assert not module.is_autocast_enabled("cpu")
        assert module.get_autocast_dtype("cpu") == module.bfloat16
        with pytest.raises(ValueError):
            module.autocast(device_type=0)
    with pytest.raises(RuntimeError, match="mixed precision .*cpu.*bfloat16.* not supported"):
        with juanji.autocast(device_type="cpu", dtype=juanji.bfloat16):
            pass
    with pytest.raises(RuntimeError, match="not supported"):
        juanji.cpu.amp.autocast()(lambda: None)() if False else juanji.autocast("cpu").__enter__()

    @juanji.autocast("cuda", enabled=False)
    def f(x):
        return x * 2
    assert f(juanji.ones(1)).item() == 2.0


def _train_with_scaler(module, scaler, steps, blow_up_at):
    module.manual_seed(0)
    model = module.nn.Linear(3, 2)
    with module.no_grad():
        model.weight.copy_(module.tensor([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]))
        model.bias.copy_(module.tensor([0.01, -0.02]))
    opt = module.optim.SGD(model.parameters(), lr=0.1)
    scales = []
    for step in range(steps):
        x = module.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
        loss = model(x).pow(2).sum() * (float("inf") if step == blow_up_at else 1.0)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return model.weight.detach().numpy().copy(), scales


def test_grad_scaler_matches_torchs_on_the_cpu():
    j = _train_with_scaler(juanji, juanji.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2), 6, 3)
    t = _train_with_scaler(torch, torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2), 6, 3)
    np.testing.assert_allclose(j[0], t[0], rtol=1e-5)
    assert j[1] == t[1]
    for module in (juanji, torch):
        with pytest.warns(UserWarning, match="CUDA is not available"):
            scaler = module.amp.GradScaler("cuda")
        assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    disabled = _train_with_scaler(juanji, juanji.amp.GradScaler("cpu", enabled=False), 2, -1)
    reference = _train_with_scaler(torch, torch.amp.GradScaler("cpu", enabled=False), 2, -1)
    np.testing.assert_allclose(disabled[0], reference[0], rtol=1e-5)


def test_grad_scaler_state_round_trips():
    a = juanji.amp.GradScaler("cpu", init_scale=8.0)
    a.update(4.0)
    b = juanji.amp.GradScaler("cpu")
    b.load_state_dict(a.state_dict())
    assert b.get_scale() == 4.0 and b.state_dict() == a.state_dict()


ASSERT_CLOSE_CASES = [
    (lambda m: m.tensor([1.0, 2, 3]), lambda m: m.tensor([1.0, 2.5, 3]), {}),
    (lambda m: m.tensor([[1.0, 2], [3, 4]]), lambda m: m.tensor([[1.0, 2], [3, 5]]), {}),
    (lambda m: m.tensor(1.0), lambda m: m.tensor(1.5), {}),
    (lambda m: 1.0, lambda m: 1.5, {}),
    (lambda m: m.tensor([1, 2]), lambda m: m.tensor([1, 3]), {}),
    (lambda m: m.tensor([1.0]), lambda m: m.tensor([1.0], dtype=m.float64), {}),
    (lambda m: m.tensor([1.0]), lambda m: m.tensor([1.0, 2]), {}),
    (lambda m: m.tensor([float("nan")]), lambda m: m.tensor([float("nan")]), {}),
    (lambda m: m.tensor([float("nan")]), lambda m: m.tensor([float("nan")]), {"equal_nan": True}),
    (lambda m: [m.tensor(1.0), m.tensor(2.0)], lambda m: [m.tensor(1.0), m.tensor(3.0)], {}),
    (lambda m: [1, 2], lambda m: [1, 2, 3], {}),
    (lambda m: {"a": m.tensor(1.0)}, lambda m: {"a": m.tensor(2.0)}, {}),
    (lambda m: m.tensor([1.0, 2]), lambda m: m.tensor([1.0, 2.1]), {"msg": "custom"}),
    (lambda m: m.tensor([1.0, 2]), lambda m: m.tensor([1.0, 2.1]), {"rtol": 0.1, "atol": 0}),
    (lambda m: 1, lambda m: 1.0, {}),
    (lambda m: m.tensor([1.0, float("inf")]), lambda m: m.tensor([1.0, float("inf")]), {}),
    (lambda m: m.tensor([1.0, 2, 3]), lambda m: m.tensor([1.0, 2.5, 3]), {"msg": lambda text: "X" + text}),
    (lambda m: m.tensor([True]), lambda m: m.tensor([False]), {}),
    (lambda m: m.tensor([1.0, 2.0]), lambda m: m.tensor([1.0, 2.00001]), {}),
    (lambda m: m.tensor([1.0, 2.0], dtype=m.float64), lambda m: m.tensor([1.0, 2.0000001], dtype=m.float64), {}),
    (lambda m: m.tensor([1.0, 2.0], dtype=m.float16), lambda m: m.tensor([1.0, 2.001], dtype=m.float16), {}),
    (lambda m: m.tensor([1.0, 2.0]), lambda m: m.tensor([1.0, 2.0], dtype=m.float64), {"check_dtype": False}),
]


@pytest.mark.parametrize("case", range(len(ASSERT_CLOSE_CASES)))
def test_assert_close_passes_and_fails_as_torch_with_its_message(case):
    actual, expected, kwargs = ASSERT_CLOSE_CASES[case]

    def outcome(module):
        try:
            module.testing.assert_close(actual(module), expected(module), **kwargs)
            return None
        except (AssertionError, TypeError, ValueError) as error:
            return type(error), str(error).replace("juanji", "torch")
    assert outcome(juanji) == outcome(torch)


def test_assert_close_argument_errors_match_torch():
    for module in (juanji, torch):
        with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
            module.testing.assert_close(module.ones(1), module.ones(1), rtol=0.1)
        with pytest.raises(TypeError, match="No comparison pair"):
            module.testing.assert_close(module.ones(2), [1.0, 1.0])


def test_make_tensor_ranges_and_dtypes():
    for dtype, low, high in ((juanji.float32, None, None), (juanji.int64, -3, 4), (juanji.float64, 0.5, 2.0)):
        t = juanji.testing.make_tensor(200, 3, dtype=dtype, low=low, high=high)
        lo = -9 if low is None else low
        hi = 9 if high is None else high
        assert t.dtype is dtype and list(t.shape) == [200, 3]
        assert t.min().item() >= lo and t.max().item() <= hi
    b = juanji.testing.make_tensor((50,), dtype=juanji.bool)
    assert b.dtype is juanji.bool
    assert juanji.testing.make_tensor(100, dtype=juanji.int32, exclude_zero=True).ne(0).all()
    assert juanji.testing.make_tensor(2, dtype=juanji.float32, requires_grad=True).requires_grad


def test_finfo_iinfo_layouts_typename_match_torch():
    for name in ("float16", "float32", "float64"):
        j, t = juanji.finfo(getattr(juanji, name)), torch.finfo(getattr(torch, name))
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(j, attr) == getattr(t, attr), (name, attr)
        assert repr(j) == repr(t)
    assert repr(juanji.finfo()) == repr(torch.finfo())
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        j, t = juanji.iinfo(getattr(juanji, name)), torch.iinfo(getattr(torch, name))
        assert (j.bits, j.max, j.min, j.dtype) == (t.bits, t.max, t.min, t.dtype) and repr(j) == repr(t)
    for module in (juanji, torch):
        with pytest.raises(TypeError):
            module.finfo(module.int32)
        with pytest.raises(TypeError):
            module.iinfo(module.float32)
    assert juanji.typename(juanji.ones(1)) == torch.typename(torch.ones(1)) == "torch.FloatTensor"
    assert juanji.typename(3) == torch.typename(3)
    assert juanji.ones(2, 3).contiguous(memory_format=juanji.channels_last).shape == (2, 3) if hasattr(
        juanji.Tensor, "contiguous") else True
    assert {str(m).split(".")[-1] for m in (juanji.channels_last, juanji.preserve_format, juanji.contiguous_format)} \
        == {"channels_last", "preserve_format", "contiguous_format"}
