"""Window geometry and output shapes by arithmetic: they must equal the shapes the layers
themselves produce, over a grid of every argument form (int, tuple, 'same', 'valid',
ceil_mode, dilation, groups, output_padding, asymmetric padding layers)."""

import itertools

import pytest

import juanji
from juanji import nn
from juanji.explain import output_shape, window_of
from juanji.explain import windows
from juanji.kernels import sizes


def _assert_shape_matches_forward(layer, input_shape):
    expected = tuple(layer(juanji.zeros(input_shape)).shape)
    assert output_shape(layer, input_shape) == expected


def test_output_sizes_come_from_the_rule_the_layers_use():
    # one output-size rule in the whole package: the explain tools read the layer's own Window,
    # the object its kernels get, whose sizes come from juanji.kernels.sizes
    from juanji.kernels import window as kernel_window
    from juanji.nn.functional import _args
    assert kernel_window.window_output_size is sizes.window_output_size
    assert kernel_window.transposed_output_size is sizes.transposed_output_size
    assert _args.same_padding is sizes.same_padding
    for layer in (nn.Conv2d(1, 2, 3, padding="same"), nn.ConvTranspose2d(2, 1, 3, stride=2), nn.MaxPool2d(3, 2, 1),
                  nn.AvgPool1d(2), nn.LPPool2d(2, 3)):
        assert windows.window_of(layer) is layer._window()


@pytest.mark.parametrize("kernel, stride, padding, dilation", [
    combo for combo in itertools.product([1, 3, (2, 3)], [1, 2, (1, 3)], [0, 1, (2, 1), "same", "valid"], [1, 2])
    if not (combo[2] == "same" and combo[1] != 1)
])
def test_conv2d_output_shape_matches_forward(kernel, stride, padding, dilation):
    layer = nn.Conv2d(4, 6, kernel, stride=stride, padding=padding, dilation=dilation, groups=2)
    _assert_shape_matches_forward(layer, (2, 4, 11, 9))


@pytest.mark.parametrize("layer, input_shape", [
    (nn.Conv1d(3, 5, 4, stride=3, padding=2, dilation=2), (2, 3, 17)),
    (nn.Conv1d(2, 2, 4, padding="same", padding_mode="reflect"), (1, 2, 9)),
    (nn.Conv3d(2, 4, (1, 3, 2), stride=(1, 2, 2), padding=(0, 1, 1), groups=2), (1, 2, 4, 7, 6)),
    (nn.Conv2d(3, 3, 3, padding=1, padding_mode="circular"), (3, 8, 8)),   # unbatched
])
def test_conv1d_conv3d_and_padding_modes_output_shape(layer, input_shape):
    _assert_shape_matches_forward(layer, input_shape)


@pytest.mark.parametrize("kernel, stride, padding, output_padding, dilation, groups", [
    (3, 1, 0, 0, 1, 1), (3, 2, 1, 1, 1, 2), (4, 3, 2, 2, 1, 1), ((2, 3), (2, 1), (0, 1), (1, 0), 1, 1),
    (3, 2, 1, 1, 2, 2), (2, 1, 0, 1, 2, 1),
])
def test_conv_transpose2d_output_shape_matches_forward(kernel, stride, padding, output_padding, dilation, groups):
    layer = nn.ConvTranspose2d(4, 6, kernel, stride=stride, padding=padding, output_padding=output_padding,
                               dilation=dilation, groups=groups)
    _assert_shape_matches_forward(layer, (2, 4, 5, 7))
    assert window_of(layer).transposed


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode",
                         list(itertools.product([2, 3, (3, 2)], [None, 1, 2, (2, 3)], [0, 1], [1, 2], [False, True])))
def test_max_pool2d_output_shape_matches_forward(kernel, stride, padding, dilation, ceil_mode):
    layer = nn.MaxPool2d(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    _assert_shape_matches_forward(layer, (1, 2, 10, 9))


@pytest.mark.parametrize("layer", [
    nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), nn.AvgPool2d((2, 3), stride=(3, 2), ceil_mode=True),
    nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True), nn.AvgPool3d(2, stride=1, padding=1),
    nn.MaxPool1d(4, stride=3, padding=2, ceil_mode=True), nn.MaxPool3d((1, 2, 3), padding=(0, 1, 1)),
    nn.LPPool2d(2, 3, stride=2, ceil_mode=True), nn.LPPool1d(1.5, 2),
])
def test_other_pools_output_shape_matches_forward(layer):
    n = windows.spatial_dims(layer)
    _assert_shape_matches_forward(layer, (2, 3) + (7, 8, 9)[:n])


@pytest.mark.parametrize("layer, input_shape", [
    (nn.ZeroPad2d((1, 2, 3, 0)), (1, 2, 5, 6)),
    (nn.ReflectionPad1d(2), (1, 2, 5)),
    (nn.ConstantPad3d((0, 1, 2, 0, 1, 1), 3.0), (1, 1, 3, 4, 5)),
    (nn.ReplicationPad2d(1), (2, 3, 4)),
])
def test_padding_layers_are_unit_windows(layer, input_shape):
    _assert_shape_matches_forward(layer, input_shape)
    window = window_of(layer)
    assert all(k == 1 for k in window.kernel) and all(s == 1 for s in window.stride)


def test_padding_layer_window_is_per_dim_in_spatial_order():
    # F.pad order is last dim first: (left, right, top, bottom) -> H gets (3, 0), W gets (1, 2)
    window = window_of(nn.ZeroPad2d((1, 2, 3, 0)))
    assert window.pad_lo == (3, 1) and window.pad_hi == (0, 2)


@pytest.mark.parametrize("layer, input_shape", [
    (nn.AdaptiveAvgPool2d((3, None)), (2, 3, 7, 5)),
    (nn.AdaptiveMaxPool2d(4), (1, 2, 9, 6)),
    (nn.AdaptiveAvgPool1d(1), (2, 5, 9)),
    (nn.AdaptiveMaxPool3d((2, 1, 3)), (1, 1, 4, 5, 6)),
    (nn.Linear(6, 4), (2, 3, 6)),
    (nn.Flatten(), (2, 3, 4, 5)),
    (nn.Flatten(1, 2), (2, 3, 4, 5)),
    (nn.Flatten(0, -1), (2, 3, 4)),
    (nn.ReLU(), (2, 3, 4)),
    (nn.BatchNorm2d(3), (2, 3, 4, 4)),
    (nn.Dropout(0.5), (2, 3)),
])
def test_other_layers_output_shape_matches_forward(layer, input_shape):
    layer.eval()
    _assert_shape_matches_forward(layer, input_shape)


def test_unknown_layers_have_no_arithmetic_shape():
    assert output_shape(nn.Upsample(scale_factor=2), (1, 1, 4, 4)) is None
    assert output_shape(nn.Sequential(nn.ReLU()), (1, 3)) is None
    assert window_of(nn.Linear(2, 3)) is None


def test_window_reads_every_argument_form():
    w = window_of(nn.Conv2d(2, 2, (3, 5), padding="same", dilation=(1, 2)))
    # 'same' puts the odd extra on the right: total pad d*(k-1) = 2 and 8
    assert w.pad_lo == (1, 4) and w.pad_hi == (1, 4) and w.effective_kernel == (3, 9)
    w = window_of(nn.Conv1d(1, 1, 4, padding="same"))
    assert w.pad_lo == (1,) and w.pad_hi == (2,)
    w = window_of(nn.MaxPool2d(3))          # stride defaults to the kernel
    assert w.stride == (3, 3) and not w.ceil_mode
    w = window_of(nn.LPPool2d(2, (2, 3)))   # LPPool keeps stride=None
    assert w.stride == (2, 3)
