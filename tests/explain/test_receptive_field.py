"""Receptive fields: the update rule against hand-computed values (LeNet, AlexNet's stem), and
against the gradient: a unit's input gradient is non-zero exactly on the pixels it can see, so
the theory must bound it, and for dense chains (kernel >= stride, no dilation, positive
weights, average pooling) fill it."""

import itertools

import numpy as np
import pytest

import juanji
from juanji import nn
from juanji.explain import ReceptiveField, chain_receptive_fields, summary, window_of
from juanji.explain.receptive_field import union


def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Flatten(), nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                         nn.Linear(84, 10))


def _alexnet_stem():
    return nn.Sequential(nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
                         nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
                         nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))


# (size, jump, start) after each layer, worked out by hand with the rule in the module docstring
LENET_BY_HAND = {"0": (5, 1, 0), "1": (5, 1, 0), "2": (6, 2, 0.5), "3": (14, 2, 4.5), "4": (14, 2, 4.5),
                 "5": (16, 4, 5.5)}
ALEXNET_BY_HAND = {"0": (11, 4, 3), "2": (19, 8, 7), "3": (51, 8, 7), "5": (67, 16, 15), "6": (99, 16, 15),
                   "8": (131, 16, 15), "10": (163, 16, 15), "12": (195, 32, 31)}


def _as_triple(field):
    assert len(set(field.size)) == 1 and len(set(field.jump)) == 1 and len(set(field.start)) == 1
    return field.size[0], field.jump[0], field.start[0]


def test_lenet_chain_by_hand():
    steps = chain_receptive_fields(_lenet(), (1, 28, 28))
    for step in steps:
        if step.name in LENET_BY_HAND:
            assert _as_triple(step.receptive_field) == LENET_BY_HAND[step.name], step.name
        else:
            assert step.receptive_field is None   # after Flatten there is no spatial field
    assert [s.output_shape for s in steps[:6]] == [(1, 6, 28, 28)] * 2 + [(1, 6, 14, 14), (1, 16, 10, 10),
                                                                          (1, 16, 10, 10), (1, 16, 5, 5)]


def test_alexnet_stem_by_hand_and_its_shapes_match_the_layers():
    model = _alexnet_stem()
    steps = chain_receptive_fields(model, (3, 224, 224))
    for step in steps:
        if step.name in ALEXNET_BY_HAND:
            assert _as_triple(step.receptive_field) == ALEXNET_BY_HAND[step.name], step.name
    # the arithmetic shapes are the layers' own
    x = juanji.zeros(1, 3, 224, 224)
    with juanji.no_grad():
        for step, layer in zip(steps, model):
            x = layer(x)
            assert step.output_shape == tuple(x.shape)
    assert steps[-1].output_shape == (1, 256, 6, 6)


def test_summary_gives_the_same_fields_as_the_chain():
    # the fields do not depend on the input's size (as long as every layer has an output)
    rows = {r["name"]: r for r in summary(_alexnet_stem(), (3, 99, 99)).rows}
    for name, (size, jump, start) in ALEXNET_BY_HAND.items():
        assert rows[name]["receptive_field"] == {"size": (size, size), "jump": (jump, jump), "start": (start, start)}
    assert rows["1"]["receptive_field"] is None   # shown for conv/pool layers only


def test_update_rule_cases():
    start = ReceptiveField.of_input(1)
    assert start == ReceptiveField((1,), (1,), (0,))
    # an even kernel centres its field between pixels
    assert start.through(window_of(nn.Conv1d(1, 1, 4))) == ReceptiveField((4,), (1,), (1.5,))
    # padding moves the first unit's centre left (into the padding)
    assert start.through(window_of(nn.Conv1d(1, 1, 3, padding=3))) == ReceptiveField((3,), (1,), (-2,))
    # dilation: k_eff = d*(k-1) + 1 = 7
    after = start.through(window_of(nn.Conv1d(1, 1, 3, stride=2, dilation=3)))
    assert after == ReceptiveField((7,), (2,), (3,))
    # then a layer on top sees (k-1) * jump more
    assert after.through(window_of(nn.MaxPool1d(2))) == ReceptiveField((9,), (4,), (4,))
    # 'same' pads (1, 2) for k = 4: the left padding is what moves the start
    assert start.through(window_of(nn.Conv1d(1, 1, 4, padding="same"))) == ReceptiveField((4,), (1,), (0.5,))
    # padding layers shift without growing; transposed convolutions have no field
    assert start.through(window_of(nn.ZeroPad1d((2, 0)))) == ReceptiveField((1,), (1,), (-2,))
    assert start.through(window_of(nn.ConvTranspose1d(1, 1, 3, stride=2))) is None
    # per-dim arguments
    field = ReceptiveField.of_input(2).through(window_of(nn.Conv2d(1, 1, (3, 5), stride=(1, 2))))
    assert field == ReceptiveField((3, 5), (1, 2), (1, 2))
    assert field.bounds((2, 3)) == ((2, 4), (6, 10))   # centres 1 + 2*1 = 3 and 2 + 3*2 = 8


def test_union_of_branches():
    a = ReceptiveField((3, 3), (1, 1), (1, 1))       # pixels 0..2
    b = ReceptiveField((5, 5), (1, 1), (0, 0))       # pixels -2..2 (padded)
    assert union([a, b]) == ReceptiveField((5, 5), (1, 1), (0, 0))
    c = ReceptiveField((2, 2), (1, 1), (3.5, 3.5))   # pixels 3..4
    assert union([a, c]) == ReceptiveField((5, 5), (1, 1), (2, 2))
    assert union([a, ReceptiveField((3, 3), (2, 2), (1, 1))]) is None   # different jumps: no single field
    assert union([a, None]) is None


# -- the gradient check ------------------------------------------------------------------------------

def _positive_weights(model):
    with juanji.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0 / module.weight[0].numel())
                module.bias.zero_()
    return model


def _gradient_support(model, input_hw, position):
    """Input pixels (rows, cols ranges) with a non-zero gradient of one output unit."""
    x = juanji.ones(1, 1, *input_hw, dtype=juanji.float64, requires_grad=True)
    out = model.double()(x)
    unit = out[(0, slice(None)) + tuple(position)].sum()
    (grad,) = juanji.autograd.grad(unit, [x])
    nonzero = np.argwhere(grad.numpy()[0, 0] != 0)
    return nonzero


# kernel, stride, padding, dilation (dense chains: kernel >= stride and dilation 1)
_LAYER_CHOICES = [(3, 1, 1, 1), (3, 2, 0, 1), (2, 2, 0, 1), (5, 2, 2, 1), (3, 1, 0, 2), (1, 2, 0, 1), (4, 3, 1, 1)]
_CHAINS = [list(c) for c in itertools.product(_LAYER_CHOICES, repeat=2)][::3] + [
    [(3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 1, 1), (2, 2, 0, 1)],
    [(5, 2, 2, 1), (3, 1, 0, 2), (3, 2, 1, 1)],
]


def _chain(spec, pool_every_second=True):
    layers = []
    for i, (k, s, p, d) in enumerate(spec):
        if pool_every_second and i % 2 == 1 and d == 1 and p * 2 <= k:
            layers.append(nn.AvgPool2d(k, s, p, count_include_pad=True))
        else:
            layers.append(nn.Conv2d(1, 1, k, s, p, d))
        layers.append(nn.ReLU())
    return _positive_weights(nn.Sequential(*layers))


@pytest.mark.parametrize("spec", _CHAINS, ids=str)
def test_gradient_support_lies_in_the_theoretical_field(spec):
    model = _chain(spec)
    input_hw = (23, 21)
    field = chain_receptive_fields(model, (1,) + input_hw)[-1].receptive_field
    out_hw = tuple(model(juanji.zeros(1, 1, *input_hw)).shape[2:])
    dense = all(k >= s and d == 1 for k, s, p, d in spec)
    for position in {(0, 0), (out_hw[0] - 1, out_hw[1] - 1), (out_hw[0] // 2, out_hw[1] // 3)}:
        support = _gradient_support(model, input_hw, position)
        (top, bottom), (left, right) = field.bounds(position)
        rows, cols = support[:, 0], support[:, 1]
        assert top <= rows.min() and rows.max() <= bottom and left <= cols.min() and cols.max() <= right
        # the extreme taps always reach the field's ends when those lie inside the input;
        # with dense chains the clipped field is filled up to the input's border
        inside = top >= 0 and left >= 0 and bottom < input_hw[0] and right < input_hw[1]
        if inside or dense:
            assert (rows.min(), rows.max()) == (max(top, 0), min(bottom, input_hw[0] - 1))
            assert (cols.min(), cols.max()) == (max(left, 0), min(right, input_hw[1] - 1))
        if dense:
            assert len(support) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


class _Residual(nn.Module):
    """conv3x3 - relu - conv3x3, plus a shortcut (identity, or a strided 1x1 projection)."""

    def __init__(self, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 1, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(1, 1, 3, padding=1)
        self.relu = nn.ReLU()
        self.shortcut = nn.Conv2d(1, 1, 1, stride=stride) if stride != 1 else None

    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(x)))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(out + identity)


def test_residual_block_field_is_the_union_of_its_branches_and_matches_the_gradient():
    model = _positive_weights(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), _Residual(), _Residual(stride=2)))
    rows = {r["name"]: r["receptive_field"] for r in summary(model, (1, 16, 16)).rows}
    assert rows["1"] == {"size": (7, 7), "jump": (1, 1), "start": (0, 0)}     # 3 + 2 + 2
    assert rows["2.shortcut"] == {"size": (7, 7), "jump": (2, 2), "start": (0, 0)}
    assert rows["2"] == {"size": (13, 13), "jump": (2, 2), "start": (0, 0)}   # 7 + 2*1 (stride 2) + 2*2
    support = _gradient_support(model, (16, 16), (4, 4))
    field = ReceptiveField((13, 13), (2, 2), (0, 0))
    (top, bottom), (left, right) = field.bounds((4, 4))
    assert (support[:, 0].min(), support[:, 0].max()) == (top, bottom)
    assert (support[:, 1].min(), support[:, 1].max()) == (left, right)


class _Inception(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 2, 1)
        self.b = nn.Conv2d(1, 2, 5, padding=2)

    def forward(self, x):
        return juanji.cat([self.a(x), self.b(x)], dim=1)


class _MixedJumps(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 1, stride=2)   # 8x8 -> 4x4 with jump 2
        self.b = nn.Conv2d(1, 1, 5)             # 8x8 -> 4x4 with jump 1

    def forward(self, x):
        return self.a(x) + self.b(x)


class _FunctionalPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.after = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x):
        # a pool that is no module: the tracer cannot see its window, so what follows is unknown
        return self.after(nn.functional.max_pool2d(self.conv(x), 2))


def test_concatenated_branches_take_the_union():
    assert summary(_Inception(), (1, 8, 8)).totals["receptive_field"] == {"size": (5, 5), "jump": (1, 1),
                                                                          "start": (0, 0)}


def test_unknown_rather_than_wrong():
    mixed = summary(_MixedJumps(), (1, 8, 8))
    rows = {r["name"]: r["receptive_field"] for r in mixed.rows}
    assert rows["a"] is not None and rows["b"] is not None and mixed.totals["receptive_field"] is None
    rows = {r["name"]: r["receptive_field"] for r in summary(_FunctionalPool(), (1, 8, 8)).rows}
    assert rows["conv"] == {"size": (3, 3), "jump": (1, 1), "start": (0, 0)}
    assert rows["after"] is None
    rows = {r["name"]: r["receptive_field"] for r in
            summary(nn.Sequential(nn.ConvTranspose2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3)), (1, 5, 5)).rows}
    assert rows["0"] is None and rows["1"] is None


def test_chain_refuses_a_branching_model_and_bad_sizes():
    with pytest.raises(TypeError, match=r"chain_receptive_fields: .*'1' \(_Residual\).*summary"):
        chain_receptive_fields(nn.Sequential(nn.Conv2d(1, 1, 3), _Residual()), (1, 8, 8))
    with pytest.raises(ValueError, match=r"chain_receptive_fields: input_size must be .* got \(1, 0, 8\)"):
        chain_receptive_fields(_lenet(), (1, 0, 8))


def test_chain_accepts_nested_sequentials_and_lists():
    inner = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2))
    steps = chain_receptive_fields(nn.Sequential(inner, nn.Conv2d(1, 1, 3)), (1, 12, 12))
    assert [s.name for s in steps] == ["0.0", "0.1", "1"]
    # conv 3: (3, 1, 1); pool 2: (3 + 1, 2, 1 + 0.5); conv 3: (4 + 2*2, 2, 1.5 + 1*2)
    assert steps[-1].receptive_field == ReceptiveField((8, 8), (2, 2), (3.5, 3.5))
    listed = chain_receptive_fields([nn.Conv2d(1, 1, 3), nn.MaxPool2d(2)], (1, 12, 12))
    assert [s.name for s in listed] == ["0", "1"]
