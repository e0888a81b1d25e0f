"""summary(): rows in call order with the layers' own shapes and parameter counts, totals that
count every parameter once, the memory estimate, no side effects on the model, and clear
errors. The FLOP and receptive-field arithmetic has its own tests."""

import math

import pytest

import juanji
from juanji import nn
from juanji.explain import output_shape, summary


def _lenet(variant="classic"):
    act, pool = (nn.Sigmoid, nn.AvgPool2d) if variant == "classic" else (nn.ReLU, nn.MaxPool2d)
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), act(), pool(2, 2), nn.Conv2d(6, 16, 5), act(), pool(2, 2),
                         nn.Flatten(), nn.Linear(400, 120), act(), nn.Linear(120, 84), act(), nn.Linear(84, 10))


class BasicBlock(nn.Module):
    """ResNet's block: conv-bn-relu-conv-bn, plus the shortcut, then the same ReLU again."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = BasicBlock(8, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(juanji.flatten(self.pool(x), 1))


def _forward_shapes(model, x):
    """Every module call's output shape, recorded independently of juanji.explain."""
    shapes = []
    names = {id(m): n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(lambda m, a, out: shapes.append((names[id(m)], list(out.shape))))
               for m in model.modules() if m is not model]
    try:
        with juanji.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return shapes


def test_lenet_rows():
    model = _lenet()
    s = summary(model, (1, 28, 28))
    assert [r["name"] for r in s.rows] == [str(i) for i in range(12)]
    assert [r["type"] for r in s.rows] == [type(m).__name__ for m in model]
    assert [(r["name"], r["output_shape"]) for r in s.rows] == _forward_shapes(_lenet(), juanji.zeros(1, 1, 28, 28))
    assert [r["params"] for r in s.rows] == [sum(p.numel() for p in m.parameters()) for m in model]
    assert [r["macs"] for r in s.rows if r["macs"]] == [117_600, 240_000, 48_000, 10_080, 840]
    assert s.totals["params"] == 61_706 == s.totals["trainable_params"]
    assert s.totals["macs"] == 416_520
    assert s.totals["flops"] == sum(r["flops"] for r in s.rows)
    assert s.totals["unknown_cost"] == []
    assert all(r["depth"] == 1 and r["leaf"] and r["call"] == 1 for r in s.rows)


def test_row_shapes_match_the_arithmetic():
    s = summary(_lenet("relu"), (1, 28, 28), batch_size=3)
    for row, layer in zip(s.rows, _lenet("relu")):
        assert tuple(row["output_shape"]) == output_shape(layer, row["input_shape"])


def test_nested_model_lists_calls_in_call_order():
    s = summary(TinyResNet(), (3, 16, 16))
    names = [(r["name"], r["call"]) for r in s.rows]
    assert names == [
        ("stem", 1), ("stem.0", 1), ("stem.1", 1), ("stem.2", 1),
        ("layer1", 1), ("layer1.conv1", 1), ("layer1.bn1", 1), ("layer1.relu", 1), ("layer1.conv2", 1),
        ("layer1.bn2", 1), ("layer1.relu", 2),
        ("layer2", 1), ("layer2.conv1", 1), ("layer2.bn1", 1), ("layer2.relu", 1), ("layer2.conv2", 1),
        ("layer2.bn2", 1), ("layer2.downsample", 1), ("layer2.downsample.0", 1), ("layer2.downsample.1", 1),
        ("layer2.relu", 2),
        ("pool", 1), ("fc", 1),
    ]
    depth = {r["name"]: r["depth"] for r in s.rows}
    assert depth["stem"] == 1 and depth["stem.0"] == 2 and depth["layer2.downsample.0"] == 3
    leaf = {r["name"]: r["leaf"] for r in s.rows}
    assert not leaf["layer1"] and not leaf["layer2.downsample"] and leaf["fc"]
    rows = {r["name"]: r for r in s.rows}
    # blocks carry no cost of their own (their children do), but do show where they end up
    assert rows["layer2"]["macs"] is None and rows["layer2"]["output_shape"] == [1, 16, 8, 8]
    model = TinyResNet()
    assert s.totals["params"] == sum(p.numel() for p in model.parameters())
    assert sum(r["params"] for r in s.rows) == s.totals["params"]
    assert s.totals["buffer_bytes"] == sum(b.numel() * b.element_size() for b in model.buffers())


def test_a_module_called_twice_counts_its_parameters_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Linear(4, 4)

        def forward(self, x):
            return self.shared(self.shared(x))

    s = summary(Twice(), (4,))
    assert [(r["name"], r["call"], r["params"]) for r in s.rows] == [("shared", 1, 20), ("shared", 2, 0)]
    assert s.totals["params"] == 20 and s.totals["macs"] == 2 * 16
    assert "shared (call 2)" in str(s)


def test_frozen_parameters_are_non_trainable():
    model = _lenet()
    model[0].requires_grad_(False)
    s = summary(model, (1, 28, 28))
    assert s.totals["non_trainable_params"] == 156 and s.totals["trainable_params"] == 61_706 - 156
    assert s.rows[0]["non_trainable_params"] == 156 and s.rows[0]["trainable_params"] == 0
    assert "Frozen" in str(s) and "Frozen" not in str(summary(_lenet(), (1, 28, 28)))


def test_parameters_of_modules_not_called_are_still_counted():
    class WithUnusedHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 3)
            self.aux = nn.Linear(3, 2)

        def forward(self, x):
            return self.body(x)

    s = summary(WithUnusedHead(), (3,))
    assert s.totals["params"] == 12 + 8
    assert "8 parameters belong to modules the forward pass did not call" in str(s)


def test_batch_size_and_dtype_scale_the_numbers():
    one = summary(_lenet(), (1, 28, 28))
    four = summary(_lenet(), (1, 28, 28), batch_size=4)
    assert four.rows[0]["output_shape"] == [4, 6, 28, 28]
    assert four.totals["macs"] == 4 * one.totals["macs"] and four.totals["flops"] == 4 * one.totals["flops"]
    assert four.totals["activation_bytes"] == 4 * one.totals["activation_bytes"]
    assert four.totals["param_bytes"] == one.totals["param_bytes"] == 61_706 * 4
    double = summary(_lenet().double(), (1, 28, 28))   # the input follows the model's dtype
    assert double.dtype == juanji.float64
    assert double.totals["param_bytes"] == 2 * one.totals["param_bytes"]
    assert double.totals["input_bytes"] == 28 * 28 * 8


def test_memory_estimate():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    s = summary(model, (1, 8, 8))
    conv_out, flat, fc_out = 2 * 6 * 6 * 4, 2 * 6 * 6 * 4, 3 * 4
    # an in-place ReLU writes into its input: no new memory
    assert [r["output_bytes"] for r in s.rows] == [conv_out, 0, flat, fc_out]
    t = s.totals
    assert t["activation_bytes"] == conv_out + flat + fc_out
    assert t["input_bytes"] == 64 * 4 and t["param_bytes"] == (20 + 219) * 4
    assert t["total_bytes"] == t["input_bytes"] + t["param_bytes"] + t["buffer_bytes"] + t["activation_bytes"]


def test_several_inputs_and_input_data():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 2, 3)
            self.b = nn.Linear(5, 2)

        def forward(self, image, vector):
            return self.a(image).flatten(1).sum(1, keepdim=True) + self.b(vector)

    s = summary(Pair(), [(1, 6, 6), (5,)], batch_size=2)
    assert s.input_shapes == [[2, 1, 6, 6], [2, 5]]
    assert [r["input_shape"] for r in s.rows] == [[2, 1, 6, 6], [2, 5]]
    data = summary(Pair(), input_data=[juanji.ones(3, 1, 6, 6), juanji.ones(3, 5)])
    assert [r["output_shape"] for r in data.rows] == [[3, 2, 4, 4], [3, 2]]


def test_a_bare_layer_is_its_own_row():
    s = summary(nn.Conv2d(3, 4, 3), (3, 8, 8))
    assert len(s.rows) == 1 and s.rows[0]["name"] == "Conv2d" and s.rows[0]["macs"] == 4 * 36 * 27
    assert s.totals["receptive_field"] == {"size": (3, 3), "jump": (1, 1), "start": (1, 1)}


def test_unknown_layers_are_marked_and_left_out_of_the_totals():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2))
    s = summary(model, (1, 6, 6))
    assert s.rows[1]["flops"] is None and s.totals["unknown_cost"] == ["1"]
    assert s.totals["flops"] == s.rows[0]["flops"]
    assert "Cost not known for: 1" in str(s)


def test_no_side_effects_on_the_model():
    model = TinyResNet()
    model.train()
    model.layer1.eval()   # mixed modes are restored exactly
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = juanji.get_rng_state()
    summary(model, (3, 16, 16), batch_size=2)
    assert model.training and model.stem.training and not model.layer1.training and not model.layer1.bn1.training
    after = model.state_dict()
    # batch norm ran in eval: its running statistics and counters did not move
    assert all(juanji.equal(before[k], after[k]) for k in before)
    assert juanji.equal(juanji.get_rng_state(), rng)
    assert all(p.grad is None for p in model.parameters())
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks


def test_dropout_does_not_draw_random_numbers():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))   # building it draws the initial weights
    rng = juanji.get_rng_state()
    summary(model, (3,))
    assert juanji.equal(juanji.get_rng_state(), rng)


def test_works_under_no_grad():
    with juanji.no_grad():
        s = summary(TinyResNet(), (3, 16, 16))
    assert {r["name"]: r for r in s.rows}["layer1"]["receptive_field"]["size"] == (7, 7)


def test_plain_text_and_rich_tables_show_the_same_cells():
    rich = pytest.importorskip("rich")
    from rich.console import Console

    s = summary(TinyResNet(), (3, 16, 16))
    text = str(s)
    assert repr(s) == text
    for title in ("Layer", "Type", "Output shape", "Params", "MACs", "FLOPs", "RF", "Jump", "Start"):
        assert title in text
    for row in s.rows:
        assert row["name"] in text
    assert f"{s.totals['params']:,}" in text and f"{s.totals['macs']:,}" in text
    console = Console(record=True, width=80, color_system=None)   # narrower than the table
    s.print(console)
    drawn = console.export_text()
    assert "…" not in drawn   # no number or shape is cut short
    for row in s.rows:
        if row["macs"]:
            assert f"{row['macs']:,}" in drawn
        assert str(row["output_shape"]) in drawn
    assert isinstance(s.__rich__(), rich.table.Table)


def test_errors_name_summary_and_what_was_expected():
    model = _lenet()
    with pytest.raises(TypeError, match=r"summary: expected an nn.Module, got function"):
        summary(lambda x: x, (1, 28, 28))
    for bad in [28, (1, 0, 28), (1.0, 28, 28), (), "1, 28, 28"]:
        with pytest.raises(ValueError, match=r"summary: input_size must be a tuple of positive ints"):
            summary(model, bad)
    with pytest.raises(ValueError, match=r"summary: batch_size must be a positive int, got 0"):
        summary(model, (1, 28, 28), batch_size=0)
    with pytest.raises(ValueError, match=r"summary: give input_size"):
        summary(model)
    with pytest.raises(TypeError, match=r"summary: input_data must be a Tensor or a list of Tensors"):
        summary(model, input_data=[[1.0]])


def test_a_failing_forward_pass_says_where():
    model = _lenet()
    with pytest.raises(RuntimeError) as info:
        summary(model, (3, 28, 28))   # LeNet takes 1 channel
    note = "\n".join(getattr(info.value, "__notes__", []))
    assert "summary: the forward pass of Sequential on input [1, 3, 28, 28] failed in layer '0' (Conv2d)" in note
    assert "without the batch dim" in note
    # the hooks are gone and the mode restored even so
    assert model.training and not any(m._forward_hooks for m in model.modules())


def test_zoo_models_when_present():
    models = pytest.importorskip("juanji.vision.models")
    s = summary(models.lenet5(), (1, 28, 28))
    assert s.totals["params"] == 61_706 and s.totals["macs"] == 416_520
    resnet = summary(models.resnet20(), (3, 32, 32))
    rows = {r["name"]: r for r in resnet.rows}
    # CIFAR ResNet-20: a 3x3 stem, then 18 3x3 convolutions in a line, 6 each at jumps 1, 2, 4
    # (the first of layers 2 and 3 strided): 3 + 6*2*1 + (2*1 + 5*2*2) + (2*2 + 5*2*4) = 81
    assert rows["layer3"]["receptive_field"]["size"] == (81, 81)
    assert resnet.totals["params"] == sum(p.numel() for p in models.resnet20().parameters())


@pytest.mark.slow
def test_zoo_alexnet_and_resnet18_at_224():
    models = pytest.importorskip("juanji.vision.models")
    alexnet = summary(models.alexnet(), (3, 224, 224))
    # torchvision's AlexNet: 61.1 M parameters, 0.714 G multiply-accumulates, receptive field 195
    assert alexnet.totals["params"] == 61_100_840
    assert alexnet.totals["macs"] == (64 * 55 * 55 * 3 * 121 + 192 * 27 * 27 * 64 * 25 + 384 * 13 * 13 * 192 * 9
                                      + 256 * 13 * 13 * 384 * 9 + 256 * 13 * 13 * 256 * 9
                                      + 9216 * 4096 + 4096 * 4096 + 4096 * 1000)
    assert {r["name"]: r for r in alexnet.rows}["features.12"]["receptive_field"]["size"] == (195, 195)
    resnet18 = summary(models.resnet18(), (3, 224, 224))
    # the well-known figures: 11,689,512 parameters, 1.82 GMACs, receptive field 435
    assert resnet18.totals["params"] == 11_689_512
    assert resnet18.totals["macs"] == 1_814_073_344
    assert {r["name"]: r for r in resnet18.rows}["layer4"]["receptive_field"]["size"] == (435, 435)


def test_totals_match_torch_flop_counter_on_the_same_network():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    tmodel = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 8, 3, padding=1, groups=4),
                                 torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 5))
    jmodel = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Conv2d(8, 8, 3, padding=1, groups=4), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        tmodel(torch.zeros(2, 3, 16, 16))
    s = summary(jmodel, (3, 16, 16), batch_size=2)
    assert 2 * s.totals["macs"] == counter.get_total_flops()
    assert s.totals["params"] == sum(p.numel() for p in tmodel.parameters())
    assert math.prod(s.rows[-1]["output_shape"]) == 10


def test_in_place_first_layer_and_integer_inputs():
    # the traced input is a copy, so an in-place first layer does not write into a leaf
    s = summary(nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(1, 1, 3)), (1, 5, 5))
    assert s.rows[1]["receptive_field"] == {"size": (3, 3), "jump": (1, 1), "start": (1, 1)}
    assert s.rows[0]["output_bytes"] == 0
    # token ids: an integer input has no gradient and no receptive field, but still runs
    s = summary(nn.Sequential(nn.Embedding(10, 3), nn.Linear(3, 2)), (4,), dtype=juanji.int64)
    assert [r["output_shape"] for r in s.rows] == [[1, 4, 3], [1, 4, 2]]
    assert s.totals["input_bytes"] == 4 * 8 and s.totals["macs"] == 4 * 3 * 2
