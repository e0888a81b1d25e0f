"""juanji.onnx.export: every zoo model and the tutorial networks, exported once with a dynamic
batch axis, checked by onnx.checker and run by onnxruntime at batch sizes 1 and 3 with outputs
equal to juanji's (rtol 1e-4); the op set one by one; unexportable ops named with their layer."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

import juanji
from juanji import nn
from juanji.nn import functional as F
from juanji.vision import models

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def export_and_compare(model, shape, batches=(1, 3), rtol=1e-4, dynamic=True, seed=0):
    """Export at batch 2, then onnxruntime vs juanji at each batch size; returns the proto."""
    model.eval()
    rng = np.random.default_rng(seed)
    example = juanji.tensor(rng.standard_normal((2,) + tuple(shape)).astype(np.float32))
    buf = io.BytesIO()
    dynamic_axes = {"input": {0: "batch"}, "output": {0: "batch"}} if dynamic else None
    proto = juanji.onnx.export(model, (example,), buf, input_names=["input"], output_names=["output"],
                               dynamic_axes=dynamic_axes, opset_version=17)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()))
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for batch in batches if dynamic else (2,):
        x = rng.standard_normal((batch,) + tuple(shape)).astype(np.float32)
        with juanji.no_grad():
            expected = model(juanji.tensor(x)).numpy()
        got = session.run(None, {"input": x})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * max(1.0, float(np.abs(expected).max())))
    return proto


# -- the tutorials' networks -------------------------------------------------------------------

class SimpleCNN(nn.Module):
    """The shape of most CNN tutorial code: functional pooling, view(-1, ...), dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 7 * 7)
        x = self.dropout(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def _bilinear_kernel(in_channels, out_channels, kernel_size):
    """d2l's bilinear upsampling initialisation of a transposed convolution."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = np.ogrid[:kernel_size, :kernel_size]
    filt = (1 - np.abs(og[0] - center) / factor) * (1 - np.abs(og[1] - center) / factor)
    weight = np.zeros((in_channels, out_channels, kernel_size, kernel_size), dtype=np.float32)
    weight[range(in_channels), range(out_channels), :, :] = filt
    return juanji.tensor(weight)


class FCN(nn.Module):
    """d2l's fully convolutional network: a ResNet-18 body, a 1x1 class convolution, a transposed
    convolution initialised as bilinear upsampling (x32), plus a bilinear skip through interpolate."""

    def __init__(self, num_classes=5):
        super().__init__()
        body = models.resnet18(num_classes=10)
        self.body = nn.Sequential(*list(body.children())[:-2])
        self.final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.transpose_conv = nn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16, stride=32)
        with juanji.no_grad():
            self.transpose_conv.weight.copy_(_bilinear_kernel(num_classes, num_classes, 64))

    def forward(self, x):
        y = self.final_conv(self.body(x))
        up = self.transpose_conv(y)
        skip = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        aligned = F.interpolate(y, scale_factor=4, mode="bilinear", align_corners=True)
        return up + skip + F.interpolate(aligned, size=x.shape[2:], mode="nearest")


TUTORIAL = {
    "lenet5": (lambda: models.lenet5(), (1, 28, 28)),
    "lenet5-relu": (lambda: models.lenet5(variant="relu"), (1, 28, 28)),
    "cnnnet": (lambda: models.cnnnet(), (3, 32, 32)),
    "alexnet-small": (lambda: models.alexnet(num_classes=10, small_input=True), (3, 32, 32)),
    "simple-cnn": (SimpleCNN, (1, 28, 28)),
    "fcn": (FCN, (3, 64, 64)),
}


@pytest.mark.parametrize("name", sorted(TUTORIAL))
def test_tutorial_networks_export_and_run_in_onnxruntime(name):
    build, shape = TUTORIAL[name]
    export_and_compare(build(), shape)


# -- the zoo ------------------------------------------------------------------------------------------

ZOO_DEFAULT = {
    "alexnet": (dict(num_classes=10), (3, 64, 64)),
    "resnet18": (dict(num_classes=10), (3, 32, 32)),
    "resnet50": (dict(num_classes=10), (3, 32, 32)),
    "resnext50_32x4d": (dict(num_classes=10), (3, 32, 32)),
    "resnet20": (dict(), (3, 32, 32)),
    "googlenet": (dict(num_classes=10, small_input=True), (3, 32, 32)),
    "densenet121": (dict(num_classes=10, small_input=True), (3, 32, 32)),
    "mobilenet_v2": (dict(num_classes=10), (3, 32, 32)),
    "squeezenet1_0": (dict(num_classes=10), (3, 64, 64)),
    "squeezenet1_1": (dict(num_classes=10), (3, 64, 64)),
    "nin": (dict(num_classes=10, small_input=True), (1, 28, 28)),
    "vgg11_bn": (dict(num_classes=10, small_input=True), (3, 32, 32)),
}
ZOO_SLOW = {name: (dict(num_classes=10), (3, 32, 32)) for name in (
    "vgg11", "vgg13", "vgg16", "vgg19", "vgg13_bn", "vgg16_bn", "vgg19_bn", "resnet34", "resnet101", "resnet152",
    "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2", "densenet161",
    "densenet169", "densenet201", "resnet32", "resnet56")}
ZOO_SLOW.update({"googlenet-224": (dict(), (3, 224, 224)), "resnet18-224": (dict(), (3, 224, 224))})
for _cifar in ("resnet32", "resnet56"):
    ZOO_SLOW[_cifar] = (dict(), (3, 32, 32))


# the segmentation models (juanji.vision.models.segmentation): score maps, or torchvision's dict
SEGMENTATION = {
    "fcn_resnet18_d2l": (dict(num_classes=6), (3, 64, 64)),
    "fcn8s_resnet18": (dict(num_classes=6), (3, 64, 64)),
    "fcn_resnet50": (dict(num_classes=4, weights_backbone=None, aux_loss=True), (3, 32, 32)),
    "fcn_resnet101": (dict(num_classes=4, weights_backbone=None), (3, 32, 32)),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "fcn_resnet101" else n
                                  for n in SEGMENTATION])
def test_segmentation_models_export_with_every_output(name):
    """The dict of a torchvision FCN becomes one ONNX output per entry ("out", then "aux")."""
    kwargs, shape = SEGMENTATION[name]
    model = models.get_model(name, **kwargs).eval()
    x = np.random.default_rng(1).standard_normal((2,) + shape).astype(np.float32)
    buf = io.BytesIO()
    juanji.onnx.export(model, (juanji.tensor(x),), buf, input_names=["input"],
                       dynamic_axes={"input": {0: "batch"}}, opset_version=17)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()))
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        xb = np.random.default_rng(batch).standard_normal((batch,) + shape).astype(np.float32)
        with juanji.no_grad():
            expected = model(juanji.tensor(xb))
        expected = list(expected.values()) if isinstance(expected, dict) else [expected]
        got = session.run(None, {"input": xb})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e.numpy(), rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(e.numpy()).max())))


def test_every_zoo_model_is_covered():
    covered = {n.split("-")[0] for n in list(ZOO_DEFAULT) + list(ZOO_SLOW) + list(TUTORIAL) + list(SEGMENTATION)}
    assert set(models.list_models()) <= covered, set(models.list_models()) - covered


@pytest.mark.parametrize("name", sorted(ZOO_DEFAULT))
def test_zoo_models_export_with_a_dynamic_batch(name):
    kwargs, shape = ZOO_DEFAULT[name]
    export_and_compare(models.get_model(name, **kwargs), shape)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ZOO_SLOW))
def test_big_zoo_models_export_with_a_dynamic_batch(name):
    kwargs, shape = ZOO_SLOW[name]
    export_and_compare(models.get_model(name.split("-")[0], **kwargs), shape)


# -- the op set, one by one -------------------------------------------------------------------------

class Lambda(nn.Module):
    def __init__(self, fn, *children):
        super().__init__()
        self.fn = fn
        self.layers = nn.ModuleList(children)

    def forward(self, x):
        return self.fn(x, *self.layers)


def _channel_shuffle(x, groups=2):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


OPS = {
    "conv-all-args": (Lambda(lambda x, c: c(x), nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2),
                                                         dilation=(1, 2), groups=2)), (4, 9, 9)),
    "conv-same": (Lambda(lambda x, c: c(x), nn.Conv2d(4, 4, 4, padding="same")), (4, 8, 8)),
    "conv1d": (Lambda(lambda x, c: c(x), nn.Conv1d(3, 4, 3, padding=2, dilation=2)), (3, 12)),
    "conv3d": (Lambda(lambda x, c: c(x), nn.Conv3d(2, 3, 3, padding=1, stride=2)), (2, 6, 6, 6)),
    "conv-transpose-all-args": (Lambda(lambda x, c: c(x), nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1,
                                                                             output_padding=1, groups=2,
                                                                             dilation=1)), (4, 5, 5)),
    "conv-transpose-dilated": (Lambda(lambda x, c: c(x), nn.ConvTranspose2d(3, 2, 3, stride=3, dilation=2,
                                                                            output_padding=1)), (3, 4, 4)),
    "max-pool-ceil": (Lambda(lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True)), (3, 10, 10)),
    "max-pool-dilated": (Lambda(lambda x: F.max_pool2d(x, 2, 1, dilation=2)), (3, 7, 7)),
    "max-pool-ceil-overhang": (Lambda(lambda x: F.max_pool2d(x, 2, 2, padding=1, ceil_mode=True)), (3, 5, 6)),
    "avg-pool-ceil-count-pad": (Lambda(lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True)), (3, 10, 10)),
    "avg-pool-exclude-pad": (Lambda(lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)),
                             (3, 9, 9)),
    "avg-pool-divisor": (Lambda(lambda x: F.avg_pool2d(x, 2, divisor_override=3)), (3, 8, 8)),
    "pool1d": (Lambda(lambda x: F.avg_pool1d(F.max_pool1d(x, 3, 1), 2)), (3, 10)),
    "adaptive-avg-uneven": (Lambda(lambda x: F.adaptive_avg_pool2d(x, (3, 5))), (3, 10, 7)),
    "adaptive-max-uneven": (Lambda(lambda x: F.adaptive_max_pool2d(x, (4, 3))), (3, 9, 7)),
    "adaptive-up": (Lambda(lambda x: F.adaptive_avg_pool2d(x, 7)), (3, 2, 3)),
    "global": (Lambda(lambda x: F.adaptive_max_pool2d(x, 1) + F.adaptive_avg_pool2d(x, 1)), (3, 5, 5)),
    "activations": (Lambda(lambda x: F.elu(x) + F.selu(x) + F.leaky_relu(x, 0.1) + F.gelu(x) +
                           F.gelu(x, approximate="tanh") + F.silu(x) + F.hardswish(x) + F.hardsigmoid(x) +
                           F.relu6(x) + F.softplus(x) + F.softplus(x, beta=2) + F.mish(x) + F.softsign(x) +
                           juanji.sigmoid(x) + juanji.tanh(x) + F.hardtanh(x, -0.5, 0.5)), (3, 4, 4)),
    "prelu": (Lambda(lambda x, p: p(x), nn.PReLU(3)), (3, 4, 4)),
    "softmax": (Lambda(lambda x: F.softmax(x, dim=1) + F.log_softmax(x, dim=-1)), (3, 4, 4)),
    "arithmetic": (Lambda(lambda x: (x * 2 - 1) / 3 + x.abs().sqrt() - (-x).exp().clamp(max=2) +
                          (x.abs() + 1).log() + x.pow(2) + juanji.maximum(x, x * 0.5)), (3, 4, 4)),
    "linear-gemm-matmul": (Lambda(lambda x, a, b: b(a(x).flatten(1)) + x.flatten(1) @ juanji.ones(48, 5),
                                  nn.Linear(4, 4), nn.Linear(48, 5)), (3, 4, 4)),
    "batchnorm-eval": (Lambda(lambda x, bn: bn(x), nn.BatchNorm2d(3)), (3, 4, 4)),
    "batchnorm1d": (Lambda(lambda x, bn: bn(x), nn.BatchNorm1d(6)), (6,)),
    "lrn": (Lambda(lambda x, n: n(x), nn.LocalResponseNorm(3)), (5, 4, 4)),
    "concat-shuffle": (Lambda(lambda x: _channel_shuffle(juanji.cat([x, x * 2], dim=1))), (2, 4, 4)),
    "permute-reshape": (Lambda(lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, 3).mean(1)), (3, 4, 5)),
    "reductions": (Lambda(lambda x: x.mean((2, 3)) + x.sum(dim=(2, 3)) + x.amax((2, 3))), (3, 4, 5)),
    "pad-modes": (Lambda(lambda x: F.pad(x, (1, 2, 0, 1)) + F.pad(x, (1, 2, 0, 1), mode="reflect") +
                         F.pad(x, (1, 2, 0, 1), mode="replicate") + F.pad(x, (1, 2, 0, 1), value=0.5)), (3, 5, 5)),
    "resize-modes": (Lambda(lambda x: F.interpolate(x, scale_factor=2, mode="nearest") +
                            F.interpolate(x, size=(8, 10), mode="bilinear", align_corners=True) +
                            F.interpolate(x, size=(8, 10), mode="bilinear") +
                            F.interpolate(x, size=(8, 10), mode="nearest-exact")), (3, 4, 5)),
    "resize-odd-and-bicubic": (Lambda(lambda x: F.interpolate(x, scale_factor=2.5, mode="bilinear") +
                                      F.interpolate(x, size=(10, 12), mode="bicubic")), (3, 4, 5)),
    "slicing": (Lambda(lambda x: x[:, 1:3] * x[:, :2, ::2].repeat(1, 1, 2, 1)[..., :4, :] + x[:, 0:1]), (3, 4, 4)),
    "dropout-eval": (Lambda(lambda x, d: d(x) + F.dropout(x, 0.5, training=False), nn.Dropout2d(0.3)), (3, 4, 4)),
    "pixel-shuffle": (Lambda(lambda x: F.pixel_shuffle(x, 2)), (8, 3, 3)),
    "upsample-module": (Lambda(lambda x, u: u(x), nn.Upsample(scale_factor=2, mode="bilinear")), (3, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_set(name):
    model, shape = OPS[name]
    export_and_compare(model, shape)


# -- refusals ------------------------------------------------------------------------------------------

def test_an_op_without_translation_names_the_op_and_the_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), Lambda(lambda x: x.cumsum(2)))
    with pytest.raises(juanji.onnx.ExportError) as error:
        juanji.onnx.export(model.eval(), juanji.randn(1, 1, 5, 5), io.BytesIO())
    message = str(error.value)
    assert "CumsumBackward0" in message and "layer '1' (Lambda)" in message and "\n" not in message


def test_training_mode_and_unsupported_arguments_are_named():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    with pytest.raises(juanji.onnx.ExportError, match=r"layer '1' \(BatchNorm2d\): .*call model.eval\(\)"):
        juanji.onnx.export(model.train(), juanji.randn(2, 1, 5, 5), io.BytesIO())
    circular = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"))
    with pytest.raises(juanji.onnx.ExportError, match="circular padding"):
        juanji.onnx.export(circular.eval(), juanji.randn(1, 1, 5, 5), io.BytesIO())


def test_names_dynamic_axes_and_parameters_in_the_graph(tmp_path):
    model = models.cnnnet().eval()
    proto = juanji.onnx.export(model, juanji.randn(1, 3, 32, 32), tmp_path / "net.onnx", input_names=["images"],
                               output_names=["logits"], dynamic_axes={"images": [0], "logits": [0]})
    loaded = onnx.load(tmp_path / "net.onnx")
    assert [i.name for i in loaded.graph.input] == ["images"] and [o.name for o in loaded.graph.output] == ["logits"]
    assert loaded.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert {i.name for i in loaded.graph.initializer} >= {k for k in model.state_dict()}
    assert loaded.opset_import[0].version == 17 and proto.graph.name == "CNNNet"
    with pytest.raises(ValueError, match="dynamic_axes names"):
        juanji.onnx.export(model, juanji.randn(1, 3, 32, 32), io.BytesIO(), dynamic_axes={"nope": [0]})


def test_import_juanji_does_not_need_onnx_and_export_says_which_extra():
    code = """
import importlib.abc, sys
class _NoOnnx(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("onnx", "onnxruntime"):
            raise ImportError(name)
sys.meta_path.insert(0, _NoOnnx())
import juanji, juanji.onnx
assert "onnx" not in sys.modules
try:
    juanji.onnx.export(juanji.nn.Linear(2, 2), juanji.ones(1, 2), "x.onnx")
except ImportError as e:
    print(e)
"""
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "juanji[onnx]" in done.stdout and len(done.stdout.strip().splitlines()) == 1
