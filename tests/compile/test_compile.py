"""juanji.compile: torch.compile's signature, replay bit-identical to eager, guards and fallback."""

import numpy as np
import pytest

import juanji
from juanji import nn
from juanji.compile import Uncapturable
from juanji.nn import functional as F
from benchmarks.models import build, init_weights


def _train(model, compiled, steps=4, shape=(2, 3, 16, 16), dtype=juanji.float64, seed=0, x_grad=False):
    """Losses, parameters, buffers and input gradients after ``steps`` SGD steps, then an eval pass."""
    juanji.manual_seed(seed)
    model = model.to(dtype)
    net = juanji.compile(model) if compiled else model
    opt = juanji.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(seed)
    losses, input_grads = [], []
    for _ in range(steps):
        x = juanji.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=x_grad)
        y = juanji.tensor(rng.integers(0, 10, shape[0]))
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if x_grad:
            input_grads.append(x.grad.numpy().copy())
    model.eval()
    with juanji.no_grad():
        outs = [net(x).numpy().copy() for _ in range(3)]
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    return losses, state, input_grads, outs, net


def _model(name, seed=0):
    juanji.manual_seed(seed)
    model = build(juanji, name)
    init_weights(juanji, model, seed)
    return model


def _assert_identical(a, b):
    np.testing.assert_array_equal(a[0], b[0])              # losses, exactly (a NaN in both is the same)
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key], err_msg=key)
    for ga, gb in zip(a[2], b[2]):
        np.testing.assert_array_equal(ga, gb)
    for oa, ob in zip(a[3], b[3]):
        np.testing.assert_array_equal(oa, ob)


@pytest.mark.parametrize("dtype", [juanji.float64, juanji.float32])
@pytest.mark.parametrize("name,shape", [("lenet", (6, 1, 28, 28)), ("resnet20", (2, 3, 8, 8)),
                                        ("mobilenetv2", (2, 3, 8, 8))])
def test_training_is_bit_identical_to_eager(name, shape, dtype):
    eager = _train(_model(name), False, shape=shape, dtype=dtype)
    compiled = _train(_model(name), True, shape=shape, dtype=dtype)
    _assert_identical(eager, compiled)
    assert compiled[4]._compiler.replays >= 4  # the replay did run (steps 2-4, eval calls 2-3)
    assert not compiled[4]._compiler.eager


def test_gradients_reach_inputs_that_require_them():
    eager = _train(_model("lenet"), False, shape=(3, 1, 28, 28), x_grad=True)
    compiled = _train(_model("lenet"), True, shape=(3, 1, 28, 28), x_grad=True)
    _assert_identical(eager, compiled)
    assert compiled[4]._compiler.replays > 0


class DropoutNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(12, 16), nn.Linear(16, 10)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        h = F.dropout(F.relu(self.fc1(x)), 0.2, self.training)  # the functional form too
        return self.fc2(self.drop(h))


def test_dropout_draws_the_same_masks_as_eager():
    juanji.manual_seed(0)
    model = DropoutNet()
    compiled = _train(model, True, steps=5, shape=(8, 12))
    juanji.manual_seed(0)
    eager = _train(DropoutNet(), False, steps=5, shape=(8, 12))
    _assert_identical(eager, compiled)
    assert compiled[4]._compiler.replays > 0


def test_node_is_named_as_torch_names_it():
    model = _model("lenet")
    net = juanji.compile(model)
    x = juanji.randn(2, 1, 28, 28)
    for _ in range(3):
        out = net(x)
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"


def test_new_shapes_and_modes_are_recorded_again():
    model = _model("lenet").double()
    net = juanji.compile(model)
    for batch in (2, 3, 2, 3, 2, 3):
        x = juanji.randn(batch, 1, 28, 28, dtype=juanji.float64)
        np.testing.assert_array_equal(net(x).detach().numpy(), model(x).detach().numpy())
    assert len(net._compiler.entries) == 2 and net._compiler.replays == 4  # calls 2 (checked) and 3 of each
    with juanji.no_grad():
        for _ in range(3):
            x = juanji.randn(2, 1, 28, 28, dtype=juanji.float64)
            np.testing.assert_array_equal(net(x).numpy(), model(x).numpy())
    assert len(net._compiler.entries) == 3


def test_switching_train_and_eval_uses_the_right_recording():
    model = _model("resnet20").double()
    reference = _model("resnet20").double()
    net = juanji.compile(model)
    x = juanji.randn(2, 3, 16, 16, dtype=juanji.float64)
    for mode in ["train", "eval"] * 3:
        for m in (model, reference):
            m.train(mode == "train")
        np.testing.assert_array_equal(net(x).detach().numpy(), reference(x).detach().numpy())
    for key in model.state_dict():
        np.testing.assert_array_equal(model.state_dict()[key].numpy(), reference.state_dict()[key].numpy())


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        h = self.fc(x)
        return h.relu() if h.sum() > 0 else -h


def test_data_dependent_control_flow_falls_back_to_eager():
    model = DataDependent().double()
    net = juanji.compile(model)
    rng = np.random.default_rng(0)
    signs = set()
    for _ in range(8):
        x = juanji.tensor(rng.standard_normal((3, 4)))
        signs.add(float(model.fc(x).sum()) > 0)
        np.testing.assert_array_equal(net(x).detach().numpy(), model(x).detach().numpy())
    assert signs == {True, False}
    assert net._compiler.replays == 0 and "data-dependent" in next(iter(net._compiler.eager.values()))


def test_fullgraph_raises_where_it_cannot_capture():
    net = juanji.compile(DataDependent(), fullgraph=True)
    with pytest.raises(Uncapturable, match="data-dependent"):
        net(juanji.randn(3, 4))


class Counter(nn.Module):
    """State changed by plain tensor code the recorder does not see: only the check catches it."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("calls", juanji.zeros(()))

    def forward(self, x):
        with juanji.no_grad():
            self.calls += 1
        return self.fc(x) * 2


def test_effects_the_recorder_cannot_see_make_it_fall_back():
    model = Counter()
    net = juanji.compile(model)
    x = juanji.randn(2, 4)
    for _ in range(4):
        np.testing.assert_array_equal(net(x).detach().numpy(), (model.fc(x) * 2).detach().numpy())
    assert float(model.calls) == 4 and net._compiler.replays == 0


def test_inplace_activations_without_grad():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Conv2d(4, 2, 3), nn.ReLU(inplace=True))
    net = juanji.compile(model)
    with juanji.no_grad():
        for _ in range(4):
            x = juanji.randn(2, 3, 8, 8)
            np.testing.assert_array_equal(net(x).numpy(), model(x).numpy())
    assert net._compiler.replays == 3  # calls 2 (checked against eager), 3 and 4


def test_hooks_make_it_run_eagerly():
    model = _model("lenet")
    net = juanji.compile(model)
    x = juanji.randn(2, 1, 28, 28)
    for _ in range(3):
        net(x)
    assert net._compiler.replays == 2
    seen = []
    model[0].register_forward_hook(lambda m, i, o: seen.append(1))
    for _ in range(3):
        net(x)
    assert len(seen) == 3 and net._compiler.replays == 2


def test_compiling_a_function_and_the_decorator_forms():
    model = _model("lenet").double()

    @juanji.compile
    def logits(x):
        return model(x).relu()

    @juanji.compile(mode="reduce-overhead", fullgraph=True)
    def scaled(x, factor):
        return model(x) * factor

    x = juanji.randn(2, 1, 28, 28, dtype=juanji.float64)
    for _ in range(3):
        np.testing.assert_array_equal(logits(x).detach().numpy(), model(x).relu().detach().numpy())
        np.testing.assert_array_equal(scaled(x, 3.0).detach().numpy(), (model(x) * 3.0).detach().numpy())
    assert logits._compiler.replays == 2 and scaled._compiler.replays == 2
    assert logits.__name__ == "logits"


def test_arguments_as_torch_takes_them():
    model = _model("lenet")
    assert juanji.compile(model, disable=True) is model
    for kwargs in ({"mode": "max-autotune"}, {"backend": "eager"}, {"dynamic": True}, {"options": {"x": 1}},
                   {"backend": "aot_eager", "fullgraph": True}):
        out = juanji.compile(model, **kwargs)
        x = juanji.randn(1, 1, 28, 28)
        for _ in range(3):
            np.testing.assert_array_equal(out(x).detach().numpy(), model(x).detach().numpy())
    with pytest.raises(RuntimeError, match="Unrecognized mode=fast"):
        juanji.compile(model, mode="fast")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        juanji.compile(model, mode="default", options={})
    with pytest.raises(RuntimeError, match="Invalid backend"):
        juanji.compile(model, backend="tvm2")
    with pytest.raises(NotImplementedError, match="custom backend"):
        juanji.compile(model, backend=lambda gm, inputs: gm)


def test_module_wrapper_looks_like_torchs_optimized_module():
    torch = pytest.importorskip("torch")
    model = _model("resnet20")
    net = juanji.compile(model)
    reference = torch.compile(build(torch, "resnet20"))
    assert list(net.state_dict()) == list(reference.state_dict())
    assert net._orig_mod is model and net.fc is model.fc
    net.eval()
    assert not model.training
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in reference.named_parameters()]


def test_batch_norm_in_eval_is_replayed_op_by_op_with_its_current_estimates():
    """In eval mode batch norm changes no state: it is recorded as its Ops (no opaque node), and the
    replay reads the running estimates afresh, whether changed in place, replaced by
    load_state_dict or by training steps in between."""
    from juanji.compile.graph import OpaqueNode
    model, reference = _model("resnet20").double(), _model("resnet20", seed=1).double()
    model.eval()
    reference.eval()
    net = juanji.compile(model)
    x = juanji.randn(2, 3, 8, 8, dtype=juanji.float64)
    with juanji.no_grad():
        for _ in range(3):
            np.testing.assert_array_equal(net(x).numpy(), model.forward(x).numpy())
        entry = next(iter(net._compiler.entries.values()))[0]
        assert entry.verified and not any(isinstance(n, OpaqueNode) for n in entry.graph.nodes)
        assert "BatchNorm" in entry.graph.describe()
        bn = model.bn1 if hasattr(model, "bn1") else next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
        bn.running_mean.add_(0.5)
        bn.running_var.mul_(3.0)
        np.testing.assert_array_equal(net(x).numpy(), model.forward(x).numpy())
        model.load_state_dict(reference.state_dict())
        np.testing.assert_array_equal(net(x).numpy(), reference(x).numpy())
    model.train()
    net(x)  # running estimates move (a training recording)
    model.eval()
    with juanji.no_grad():
        np.testing.assert_array_equal(net(x).numpy(), model.forward(x).numpy())


def test_a_replaced_parameter_or_its_requires_grad_records_again():
    model = _model("lenet").double()
    net = juanji.compile(model)
    x = juanji.randn(2, 1, 28, 28, dtype=juanji.float64)
    for _ in range(3):
        net(x)
    first = model.conv1 if hasattr(model, "conv1") else next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    first.weight = nn.Parameter(first.weight.detach() * 2)
    np.testing.assert_array_equal(net(x).detach().numpy(), model.forward(x).detach().numpy())
    for _ in range(2):
        np.testing.assert_array_equal(net(x).detach().numpy(), model.forward(x).detach().numpy())
    first.weight.requires_grad_(False)
    y = net(x)
    y.sum().backward()
    assert first.weight.grad is None
    np.testing.assert_array_equal(y.detach().numpy(), model.forward(x).detach().numpy())
    assert sum(len(v) for v in net._compiler.entries.values()) == 3
