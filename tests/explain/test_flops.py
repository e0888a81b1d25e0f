"""MACs and FLOPs per layer: hand-computed values (LeNet, AlexNet's stem), torch's
FlopCounterMode as an independent oracle for the weighted layers (torch counts 2 FLOPs per
multiply-accumulate and nothing for bias, pooling or activations, so 2 * MACs must equal its
count), and the element-wise conventions of juanji/explain/flops.py."""

import itertools
import math

import pytest

import juanji
from juanji import nn
from juanji.explain import Cost, layer_cost
from juanji.explain.flops import ELEMENTWISE_FLOPS


def _torch_flops(torch_layer, input_shape):
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        torch_layer(torch.zeros(input_shape))
    return counter.get_total_flops()


# -- hand-computed ---------------------------------------------------------------------------

def test_lenet_layers_by_hand():
    # conv 1->6, 5x5, pad 2 on 28x28: 6 * 28*28 outputs, each a 1*5*5 dot product, plus a bias add
    assert layer_cost(nn.Conv2d(1, 6, 5, padding=2), (1, 1, 28, 28)) == Cost(117_600, 2 * 117_600 + 4_704)
    # conv 6->16, 5x5 on 14x14 -> 10x10: 16 * 100 * 6*25
    assert layer_cost(nn.Conv2d(6, 16, 5), (1, 6, 14, 14)) == Cost(240_000, 480_000 + 1_600)
    # 2x2 average pooling: 3 adds and a divide per output, 6 * 14 * 14 outputs
    assert layer_cost(nn.AvgPool2d(2, 2), (1, 6, 28, 28)) == Cost(0, 4 * 1_176)
    # 2x2 max pooling: 3 comparisons per output
    assert layer_cost(nn.MaxPool2d(2, 2), (1, 6, 28, 28)) == Cost(0, 3 * 1_176)
    # sigmoid: exp, add, divide per element
    assert layer_cost(nn.Sigmoid(), (1, 6, 28, 28)) == Cost(0, 3 * 4_704)
    assert layer_cost(nn.Linear(400, 120), (1, 400)) == Cost(48_000, 96_000 + 120)


def test_alexnet_stem_by_hand():
    # torchvision's first layer: 64 kernels 3x11x11, stride 4, pad 2 on 224x224 -> 55x55
    assert layer_cost(nn.Conv2d(3, 64, 11, stride=4, padding=2), (1, 3, 224, 224)).macs == 64 * 55 * 55 * 3 * 121
    assert layer_cost(nn.MaxPool2d(3, 2), (1, 64, 55, 55)) == Cost(0, 64 * 27 * 27 * 8)
    assert layer_cost(nn.Conv2d(64, 192, 5, padding=2), (1, 64, 27, 27)).macs == 192 * 27 * 27 * 64 * 25


def test_groups_divide_the_work():
    dense = layer_cost(nn.Conv2d(8, 8, 3, bias=False), (1, 8, 10, 10))
    grouped = layer_cost(nn.Conv2d(8, 8, 3, groups=4, bias=False), (1, 8, 10, 10))
    depthwise = layer_cost(nn.Conv2d(8, 8, 3, groups=8, bias=False), (1, 8, 10, 10))
    assert dense.macs == 8 * 64 * 8 * 9 and grouped.macs == dense.macs // 4 and depthwise.macs == 8 * 64 * 9
    assert dense.flops == 2 * dense.macs   # no bias: FLOPs are exactly 2 * MACs


def test_batch_and_unbatched_inputs():
    layer = nn.Conv2d(3, 4, 3)
    one = layer_cost(layer, (3, 8, 8))
    assert layer_cost(layer, (1, 3, 8, 8)) == one
    assert layer_cost(layer, (5, 3, 8, 8)) == Cost(5 * one.macs, 5 * one.flops)
    # Linear counts every row of a batched input
    assert layer_cost(nn.Linear(6, 4, bias=False), (2, 3, 6)) == Cost(2 * 3 * 6 * 4, 2 * 2 * 3 * 6 * 4)


# -- torch's FlopCounterMode as the oracle -----------------------------------------------------

_CONV_CASES = [
    (n, kernel, stride, padding, dilation, groups, bias)
    for n, kernel, stride, padding, dilation, groups, bias in itertools.product(
        [1, 2, 3], [1, 3], [1, 2], [0, 1], [1, 2], [1, 2], [True, False])
    if not (n == 3 and (dilation == 2 or groups == 2))   # keep the 3-d part of the grid small
]


@pytest.mark.parametrize("n, kernel, stride, padding, dilation, groups, bias", _CONV_CASES)
def test_conv_macs_match_torch_flop_counter(n, kernel, stride, padding, dilation, groups, bias):
    torch = pytest.importorskip("torch")
    args = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    layer = getattr(nn, f"Conv{n}d")(4, 6, **args)
    torch_layer = getattr(torch.nn, f"Conv{n}d")(4, 6, **args)
    input_shape = (2, 4) + (9, 8, 7)[:n]
    cost = layer_cost(layer, input_shape)
    assert 2 * cost.macs == _torch_flops(torch_layer, input_shape)
    outputs = math.prod(layer(juanji.zeros(input_shape)).shape)
    assert cost.flops - 2 * cost.macs == (outputs if bias else 0)   # one add per output for the bias


@pytest.mark.parametrize("n, kernel, stride, padding, output_padding, dilation, groups, bias", [
    (1, 3, 2, 1, 1, 1, 1, True), (2, 3, 1, 0, 0, 1, 2, False), (2, 4, 2, 1, 0, 2, 1, True),
    (2, (2, 3), (2, 1), (1, 0), (1, 0), 1, 2, True), (3, 2, 2, 0, 1, 1, 1, False),
])
def test_conv_transpose_macs_match_torch_flop_counter(n, kernel, stride, padding, output_padding, dilation,
                                                      groups, bias):
    torch = pytest.importorskip("torch")
    args = dict(kernel_size=kernel, stride=stride, padding=padding, output_padding=output_padding,
                dilation=dilation, groups=groups, bias=bias)
    layer = getattr(nn, f"ConvTranspose{n}d")(4, 6, **args)
    torch_layer = getattr(torch.nn, f"ConvTranspose{n}d")(4, 6, **args)
    input_shape = (2, 4) + (5, 4, 3)[:n]
    cost = layer_cost(layer, input_shape)
    assert 2 * cost.macs == _torch_flops(torch_layer, input_shape)
    outputs = math.prod(layer(juanji.zeros(input_shape)).shape)
    assert cost.flops - 2 * cost.macs == (outputs if bias else 0)


@pytest.mark.parametrize("input_shape, bias", [((3, 7), True), ((2, 5, 7), False), ((7,), True)])
def test_linear_macs_match_torch_flop_counter(input_shape, bias):
    torch = pytest.importorskip("torch")
    cost = layer_cost(nn.Linear(7, 5, bias=bias), input_shape)
    assert 2 * cost.macs == _torch_flops(torch.nn.Linear(7, 5, bias=bias), input_shape)
    assert cost.flops - 2 * cost.macs == (math.prod(input_shape[:-1]) * 5 if bias else 0)


# -- pooling ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer, per_output", [
    (nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), 8),
    (nn.MaxPool2d((2, 3), dilation=2), 5),
    (nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), 9),
    (nn.AvgPool1d(4), 4),
    (nn.MaxPool3d(2), 7),
    (nn.LPPool2d(2, 3), 2 * 9),
])
def test_pooling_counts_the_nominal_window_per_output(layer, per_output):
    n = int(type(layer).__name__[-2])
    input_shape = (2, 3) + (11, 10, 9)[:n]
    outputs = math.prod(layer(juanji.zeros(input_shape)).shape)
    assert layer_cost(layer, input_shape) == Cost(0, outputs * per_output)


def _adaptive_window_elements(n, out):
    """Window sizes of an adaptive pool along one dim, listed one by one."""
    return [math.ceil((o + 1) * n / out) - math.floor(o * n / out) for o in range(out)]


@pytest.mark.parametrize("in_hw, out_hw", [((7, 5), (3, 2)), ((6, 6), (4, 4)), ((5, 9), (1, 1)), ((4, 3), (4, 3))])
def test_adaptive_pools_count_each_window(in_hw, out_hw):
    rows, cols = _adaptive_window_elements(in_hw[0], out_hw[0]), _adaptive_window_elements(in_hw[1], out_hw[1])
    windows = [r * c for r in rows for c in cols]   # every output window, one by one
    planes = 2 * 3
    shape = (2, 3) + in_hw
    assert layer_cost(nn.AdaptiveAvgPool2d(out_hw), shape) == Cost(0, planes * sum(windows))
    assert layer_cost(nn.AdaptiveMaxPool2d(out_hw), shape) == Cost(0, planes * sum(w - 1 for w in windows))


# -- normalisation, activations, the rest -------------------------------------------------------

def test_batch_norm_counts_statistics_only_when_it_computes_them():
    shape = (2, 3, 4, 4)
    numel = math.prod(shape)
    bn = nn.BatchNorm2d(3)
    assert layer_cost(bn, shape) == Cost(0, 8 * numel)          # training: batch statistics + normalise + affine
    bn.eval()
    assert layer_cost(bn, shape) == Cost(0, 4 * numel)          # eval: running statistics
    plain = nn.BatchNorm2d(3, affine=False).eval()
    assert layer_cost(plain, shape) == Cost(0, 2 * numel)
    no_running = nn.BatchNorm2d(3, track_running_stats=False).eval()
    assert layer_cost(no_running, shape) == Cost(0, 8 * numel)  # no running estimates: batch statistics


def test_other_normalisations():
    shape = (2, 4, 3, 3)
    numel = math.prod(shape)
    assert layer_cost(nn.GroupNorm(2, 4), shape) == Cost(0, 8 * numel)
    assert layer_cost(nn.LayerNorm([3, 3], elementwise_affine=False), shape) == Cost(0, 6 * numel)
    assert layer_cost(nn.InstanceNorm2d(4), shape) == Cost(0, 6 * numel)
    assert layer_cost(nn.RMSNorm([3]), shape) == Cost(0, 4 * numel)


@pytest.mark.parametrize("layer_type", sorted(ELEMENTWISE_FLOPS, key=lambda t: t.__name__))
def test_activations_cost_their_formula_per_element(layer_type):
    layer = layer_type(0.5, 1.0) if layer_type is nn.Threshold else (
        layer_type(dim=1) if layer_type in (nn.Softmax, nn.Softmin, nn.LogSoftmax) else layer_type())
    per_element, formula = ELEMENTWISE_FLOPS[layer_type]
    assert per_element >= 1 and formula
    assert layer_cost(layer, (2, 3, 5)) == Cost(0, 30 * per_element)


def test_gelu_depends_on_the_approximation():
    assert layer_cost(nn.GELU(), (10,)) == Cost(0, 50)
    assert layer_cost(nn.GELU(approximate="tanh"), (10,)) == Cost(0, 90)


def test_dropout_multiplies_only_in_training():
    layer = nn.Dropout(0.3)
    assert layer_cost(layer, (4, 5)) == Cost(0, 20)
    assert layer_cost(layer.eval(), (4, 5)) == Cost(0, 0)


@pytest.mark.parametrize("layer", [nn.Flatten(), nn.Identity(), nn.ZeroPad2d(1), nn.Unflatten(1, (2, 3)),
                                   nn.PixelShuffle(2), nn.Embedding(10, 3)])
def test_data_movement_costs_nothing(layer):
    assert layer_cost(layer, (2, 6, 4, 4)) == Cost(0, 0)


@pytest.mark.parametrize("layer", [nn.Bilinear(2, 3, 4), nn.Sequential(nn.ReLU()), nn.Upsample(scale_factor=2),
                                   nn.MSELoss()])
def test_layers_without_a_rule_have_unknown_cost(layer):
    assert layer_cost(layer, (1, 2, 4, 4)) is None
