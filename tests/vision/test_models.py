"""The model zoo against reference architectures written here in plain torch (torchvision is not
installable here, so the references follow torchvision's code structure and names by hand).

For every model: parameter count and ``state_dict`` (names, shapes, order) equal to the
reference's (the ImageNet ones at full size, 1000 classes, and equal to torchvision's published
counts); output shape for its intended input; and one training step's forward and backward
matching torch with the same weights (copied through NumPy): outputs, the input gradient, every
parameter gradient, and the updated batch-norm running estimates, then an eval-mode forward
(float64 to 1e-7; float32 to 1e-4, see SHALLOW for which float32 gradients). The big ImageNet
models run that comparison at a small input (32 x 32, or 64 x 64 in the ``slow`` set), with
the architecture unchanged; their full-size (224 x 224) forward is marked ``slow``.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import juanji
from juanji.vision import models

torch = pytest.importorskip("torch")
tnn = torch.nn
TF = torch.nn.functional


# =========================================================================== references (torch)

def ref_lenet5(num_classes=10, in_channels=1, variant="classic", input_size=28):
    act, pool = (tnn.Sigmoid, tnn.AvgPool2d) if variant == "classic" else (tnn.ReLU, tnn.MaxPool2d)
    return tnn.Sequential(
        tnn.Conv2d(in_channels, 6, kernel_size=5, padding=(32 - input_size) // 2), act(), pool(kernel_size=2, stride=2),
        tnn.Conv2d(6, 16, kernel_size=5), act(), pool(kernel_size=2, stride=2), tnn.Flatten(),
        tnn.Linear(16 * 5 * 5, 120), act(), tnn.Linear(120, 84), act(), tnn.Linear(84, num_classes))


class RefCNNNet(tnn.Module):
    """PyTorch's CIFAR-10 tutorial ``Net``."""

    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 6, 5)
        self.pool = tnn.MaxPool2d(2, 2)
        self.conv2 = tnn.Conv2d(6, 16, 5)
        self.fc1 = tnn.Linear(16 * 5 * 5, 120)
        self.fc2 = tnn.Linear(120, 84)
        self.fc3 = tnn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(TF.relu(self.conv1(x)))
        x = self.pool(TF.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(TF.relu(self.fc2(TF.relu(self.fc1(x)))))


class RefAlexNet(tnn.Module):
    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        if small_input:
            stem, pk, ps, pooled, width = tnn.Conv2d(in_channels, 64, 3, 1, 1), 2, 2, 2, 512
        else:
            stem, pk, ps, pooled, width = tnn.Conv2d(in_channels, 64, 11, 4, 2), 3, 2, 6, 4096
        self.features = tnn.Sequential(
            stem, tnn.ReLU(inplace=True), tnn.MaxPool2d(pk, ps),
            tnn.Conv2d(64, 192, 5, padding=2), tnn.ReLU(inplace=True), tnn.MaxPool2d(pk, ps),
            tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(inplace=True),
            tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(inplace=True),
            tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(inplace=True), tnn.MaxPool2d(pk, ps))
        self.avgpool = tnn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = tnn.Sequential(
            tnn.Dropout(0.5), tnn.Linear(256 * pooled * pooled, width), tnn.ReLU(inplace=True),
            tnn.Dropout(0.5), tnn.Linear(width, width), tnn.ReLU(inplace=True), tnn.Linear(width, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


REF_VGG_CFG = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class RefVGG(tnn.Module):
    def __init__(self, depth, batch_norm, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        layers, c = [], in_channels
        for v in REF_VGG_CFG[depth]:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2, ceil_mode=small_input))
            else:
                layers.append(tnn.Conv2d(c, v, 3, padding=1))
                layers += [tnn.BatchNorm2d(v)] if batch_norm else []
                layers.append(tnn.ReLU(True))
                c = v
        self.features = tnn.Sequential(*layers)
        pooled, width = (1, 512) if small_input else (7, 4096)
        self.avgpool = tnn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = tnn.Sequential(
            tnn.Linear(512 * pooled * pooled, width), tnn.ReLU(True), tnn.Dropout(0.5),
            tnn.Linear(width, width), tnn.ReLU(True), tnn.Dropout(0.5), tnn.Linear(width, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def ref_nin(num_classes=10, in_channels=1, small_input=False):
    def block(i, o, k, s, p):
        return tnn.Sequential(tnn.Conv2d(i, o, k, s, p), tnn.ReLU(), tnn.Conv2d(o, o, 1), tnn.ReLU(),
                              tnn.Conv2d(o, o, 1), tnn.ReLU())
    first = (5, 1, 2) if small_input else (11, 4, 0)
    return tnn.Sequential(
        block(in_channels, 96, *first), tnn.MaxPool2d(3, 2), block(96, 256, 5, 1, 2), tnn.MaxPool2d(3, 2),
        block(256, 384, 3, 1, 1), tnn.MaxPool2d(3, 2), tnn.Dropout(0.5), block(384, num_classes, 3, 1, 1),
        tnn.AdaptiveAvgPool2d((1, 1)), tnn.Flatten())


class RefBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class RefBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


def _ref_stage(block, inplanes, planes, blocks, stride):
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = tnn.Sequential(tnn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                    tnn.BatchNorm2d(planes * block.expansion))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return tnn.Sequential(*layers)


class RefResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        self.conv1 = (tnn.Conv2d(in_channels, 64, 3, 1, 1, bias=False) if small_input
                      else tnn.Conv2d(in_channels, 64, 7, 2, 3, bias=False))
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.Identity() if small_input else tnn.MaxPool2d(3, 2, 1)
        e = block.expansion
        self.layer1 = _ref_stage(block, 64, 64, layers[0], 1)
        self.layer2 = _ref_stage(block, 64 * e, 128, layers[1], 2)
        self.layer3 = _ref_stage(block, 128 * e, 256, layers[2], 2)
        self.layer4 = _ref_stage(block, 256 * e, 512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * e, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class RefCifarResNet(tnn.Module):
    def __init__(self, n, num_classes=10, in_channels=3):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        self.relu = tnn.ReLU(inplace=True)
        self.layer1 = _ref_stage(RefBasicBlock, 16, 16, n, 1)
        self.layer2 = _ref_stage(RefBasicBlock, 16, 32, n, 2)
        self.layer3 = _ref_stage(RefBasicBlock, 32, 64, n, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class RefDenseLayer(tnn.Module):
    def __init__(self, c_in, growth, bn_size):
        super().__init__()
        self.norm1 = tnn.BatchNorm2d(c_in)
        self.relu1 = tnn.ReLU(inplace=True)
        self.conv1 = tnn.Conv2d(c_in, bn_size * growth, 1, 1, bias=False)
        self.norm2 = tnn.BatchNorm2d(bn_size * growth)
        self.relu2 = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(bn_size * growth, growth, 3, 1, 1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class RefDenseBlock(tnn.ModuleDict):
    def __init__(self, n_layers, c_in, bn_size, growth):
        super().__init__()
        for i in range(n_layers):
            self.add_module(f"denselayer{i + 1}", RefDenseLayer(c_in + i * growth, growth, bn_size))

    def forward(self, x):
        features = [x]
        for _, layer in self.items():
            features.append(layer(features))
        return torch.cat(features, 1)


class RefTransition(tnn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.norm = tnn.BatchNorm2d(c_in)
        self.relu = tnn.ReLU(inplace=True)
        self.conv = tnn.Conv2d(c_in, c_out, 1, 1, bias=False)
        self.pool = tnn.AvgPool2d(2, 2)


class RefDenseNet121(tnn.Module):
    def __init__(self, num_classes=1000, in_channels=3, small_input=False):
        super().__init__()
        if small_input:
            stem = [("conv0", tnn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)), ("norm0", tnn.BatchNorm2d(64)),
                    ("relu0", tnn.ReLU(inplace=True))]
        else:
            stem = [("conv0", tnn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)), ("norm0", tnn.BatchNorm2d(64)),
                    ("relu0", tnn.ReLU(inplace=True)), ("pool0", tnn.MaxPool2d(3, 2, 1))]
        self.features = tnn.Sequential(OrderedDict(stem))
        c = 64
        for i, n in enumerate((6, 12, 24, 16)):
            self.features.add_module(f"denseblock{i + 1}", RefDenseBlock(n, c, 4, 32))
            c += n * 32
            if i != 3:
                self.features.add_module(f"transition{i + 1}", RefTransition(c, c // 2))
                c //= 2
        self.features.add_module("norm5", tnn.BatchNorm2d(c))
        self.classifier = tnn.Linear(c, num_classes)

    def forward(self, x):
        out = TF.adaptive_avg_pool2d(TF.relu(self.features(x)), (1, 1))
        return self.classifier(torch.flatten(out, 1))


class RefBasicConv2d(tnn.Module):
    def __init__(self, c_in, c_out, **kwargs):
        super().__init__()
        self.conv = tnn.Conv2d(c_in, c_out, bias=False, **kwargs)
        self.bn = tnn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return TF.relu(self.bn(self.conv(x)), inplace=True)


class RefInception(tnn.Module):
    def __init__(self, c_in, ch1, ch3r, ch3, ch5r, ch5, proj):
        super().__init__()
        self.branch1 = RefBasicConv2d(c_in, ch1, kernel_size=1)
        self.branch2 = tnn.Sequential(RefBasicConv2d(c_in, ch3r, kernel_size=1),
                                      RefBasicConv2d(ch3r, ch3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(RefBasicConv2d(c_in, ch5r, kernel_size=1),
                                      RefBasicConv2d(ch5r, ch5, kernel_size=3, padding=1))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1, ceil_mode=True), RefBasicConv2d(c_in, proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class RefInceptionAux(tnn.Module):
    def __init__(self, c_in, num_classes):
        super().__init__()
        self.conv = RefBasicConv2d(c_in, 128, kernel_size=1)
        self.fc1 = tnn.Linear(2048, 1024)
        self.fc2 = tnn.Linear(1024, num_classes)
        self.dropout = tnn.Dropout(0.7)

    def forward(self, x):
        x = torch.flatten(self.conv(TF.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(TF.relu(self.fc1(x), inplace=True)))


RefGoogLeNetOutputs = namedtuple("RefGoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class RefGoogLeNet(tnn.Module):
    def __init__(self, num_classes=1000, aux_logits=False, in_channels=3, small_input=False):
        super().__init__()
        self.aux_logits = aux_logits
        if small_input:
            self.conv1 = RefBasicConv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            self.maxpool1 = tnn.Identity()
        else:
            self.conv1 = RefBasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = RefBasicConv2d(64, 64, kernel_size=1)
        self.conv3 = RefBasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = RefInception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = RefInception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = RefInception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = RefInception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = RefInception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = RefInception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = RefInception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = tnn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = RefInception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = RefInception(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = RefInceptionAux(512, num_classes) if aux_logits else None
        self.aux2 = RefInceptionAux(528, num_classes) if aux_logits else None
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.dropout = tnn.Dropout(0.2)
        self.fc = tnn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.inception5b(self.inception5a(self.maxpool4(self.inception4e(x))))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if self.training and self.aux_logits:
            return RefGoogLeNetOutputs(x, aux2, aux1)
        return x


# =========================================================================== the zoo, case by case

def _resnet_ref(block, layers):
    return lambda num_classes=1000, in_channels=3, small_input=False: RefResNet(
        block, layers, num_classes, in_channels, small_input)


# name -> (reference builder, torchvision's parameter count at 1000 classes or None)
FULL_SIZE = {
    "alexnet": (RefAlexNet, 61_100_840),
    "vgg11": (lambda **k: RefVGG(11, False, **k), 132_863_336),
    "vgg13": (lambda **k: RefVGG(13, False, **k), 133_047_848),
    "vgg16": (lambda **k: RefVGG(16, False, **k), 138_357_544),
    "vgg19": (lambda **k: RefVGG(19, False, **k), 143_667_240),
    "vgg11_bn": (lambda **k: RefVGG(11, True, **k), 132_868_840),
    "vgg13_bn": (lambda **k: RefVGG(13, True, **k), 133_053_736),
    "vgg16_bn": (lambda **k: RefVGG(16, True, **k), 138_365_992),
    "vgg19_bn": (lambda **k: RefVGG(19, True, **k), 143_678_248),
    "googlenet": (RefGoogLeNet, 6_624_904),
    "resnet18": (_resnet_ref(RefBasicBlock, [2, 2, 2, 2]), 11_689_512),
    "resnet34": (_resnet_ref(RefBasicBlock, [3, 4, 6, 3]), 21_797_672),
    "resnet50": (_resnet_ref(RefBottleneck, [3, 4, 6, 3]), 25_557_032),
    "densenet121": (RefDenseNet121, 7_978_856),
}


@pytest.fixture
def fast_init(monkeypatch):
    """Skip the random initialisation while building juanji models (hundreds of millions of
    values for VGG): only shapes and names are compared in the tests that use this."""
    from juanji.nn import init
    for name in ("uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                 "xavier_uniform_", "xavier_normal_"):
        monkeypatch.setattr(init, name, lambda tensor, *args, **kwargs: tensor)


def _shapes(state):
    return [(k, tuple(v.shape)) for k, v in state.items()]


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list(FULL_SIZE))
def test_imagenet_models_have_torchvisions_parameters_and_state_dict(name, fast_init):
    ref_builder, published = FULL_SIZE[name]
    with torch.device("meta"):  # shapes only, no memory
        ref = ref_builder(num_classes=1000, in_channels=3)
    model = models.get_model(name, num_classes=1000, in_channels=3)
    assert _shapes(model.state_dict()) == _shapes(ref.state_dict())
    assert _n_params(model) == _n_params(ref) == published


def test_googlenet_aux_heads_and_torchvision_count(fast_init):
    with torch.device("meta"):
        ref = RefGoogLeNet(aux_logits=True)
    model = models.googlenet(aux_logits=True)
    assert _shapes(model.state_dict()) == _shapes(ref.state_dict())
    assert _n_params(model) == 13_004_888


# --------------------------------------------------------------------------- one training step

def _copy_weights(j_model, t_model):
    state = {k: juanji.tensor(v.detach().cpu().numpy().copy()) for k, v in t_model.state_dict().items()}
    j_model.load_state_dict(state)


def _randomise_batch_norm(t_model, rng):
    """Non-trivial BN affine parameters and running estimates, so they are really tested."""
    with torch.no_grad():
        for m in t_model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, m.num_features).astype(np.float32)))
                m.bias.copy_(torch.tensor(rng.uniform(-0.5, 0.5, m.num_features).astype(np.float32)))
                m.running_mean.copy_(torch.tensor(rng.uniform(-0.2, 0.2, m.num_features).astype(np.float32)))
                m.running_var.copy_(torch.tensor(rng.uniform(0.5, 2.0, m.num_features).astype(np.float32)))


def _dropout_off(model, dropout_cls):
    """Dropout masks cannot be shared between the frameworks: dropout modules go to eval mode."""
    for m in model.modules():
        if isinstance(m, dropout_cls):
            m.eval()


def _close(actual, expected, what, dtype):
    """rtol plus an atol relative to the tensor's scale (elements near zero are sums of larger
    terms that cancel): 1e-4 for float32 through a deep network, 1e-7 for float64 (training-mode
    batch norm over the few values of a 1 x 1 or 2 x 2 map at batch 2 amplifies rounding: a
    real mistake shows up as O(1))."""
    tol, floor = (1e-4, 1e-8) if dtype == "float32" else (1e-7, 1e-12)
    expected = np.asarray(expected)
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    # the floor: a conv bias right before a training-mode batch norm has a gradient that is 0 in
    # exact arithmetic, so both frameworks return rounding noise there
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale + floor, err_msg=what)


def _outputs(out):
    return list(out) if isinstance(out, tuple) else [out]


def _compare_step(j_model, t_model, input_shape, dtype, with_grads=True, seed=0):
    """One forward (+ backward) in training mode (dropout off), then an eval-mode forward."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    _randomise_batch_norm(t_model, rng)
    if dtype == "float64":
        t_model.double()
        j_model.double()
    _copy_weights(j_model, t_model)
    _dropout_off(j_model, (juanji.nn.Dropout,))
    _dropout_off(t_model, (tnn.Dropout,))

    x = rng.standard_normal(input_shape).astype(dtype)
    jx, tx = juanji.tensor(x, requires_grad=with_grads), torch.tensor(x, requires_grad=with_grads)
    with torch.set_grad_enabled(with_grads), juanji.set_grad_enabled(with_grads):
        j_out, t_out = _outputs(j_model(jx)), _outputs(t_model(tx))
    assert len(j_out) == len(t_out)
    j_loss, t_loss = 0, 0
    for k, (jo, to) in enumerate(zip(j_out, t_out)):
        assert tuple(jo.shape) == tuple(to.shape)
        _close(jo.detach().numpy(), to.detach().numpy(), f"output {k}", dtype)
        if with_grads:
            g = rng.standard_normal(tuple(to.shape)).astype(dtype)
            j_loss = j_loss + (jo * juanji.tensor(g)).sum()
            t_loss = t_loss + (to * torch.tensor(g)).sum()
    j_state = j_model.state_dict()
    for name, tb in t_model.named_buffers():  # the running estimates after the step
        _close(j_state[name].numpy(), tb.numpy(), f"buffer {name} after the step", dtype)
    if with_grads:
        j_loss.backward()
        t_loss.backward()
        _close(jx.grad.numpy(), tx.grad.numpy(), "input gradient", dtype)
        j_params = dict(j_model.named_parameters())
        for name, tp in t_model.named_parameters():
            assert j_params[name].grad is not None, f"no gradient for {name}"
            _close(j_params[name].grad.numpy(), tp.grad.numpy(), f"gradient of {name}", dtype)

    j_model.eval()
    t_model.eval()
    with torch.no_grad(), juanji.no_grad():
        _close(j_model(jx).numpy(), t_model(tx).numpy(), "eval-mode output", dtype)


# (juanji builder kwargs, reference, input shape for the equality check)
STEP_CASES = {
    "lenet5-classic": (dict(name="lenet5", variant="classic"), lambda: ref_lenet5(), (4, 1, 28, 28)),
    "lenet5-relu": (dict(name="lenet5"), lambda: ref_lenet5(variant="relu"), (4, 1, 28, 28)),
    "lenet5-32x32-rgb": (dict(name="lenet5", variant="classic", in_channels=3, input_size=32, num_classes=5),
                         lambda: ref_lenet5(5, 3, input_size=32), (2, 3, 32, 32)),
    "cnnnet": (dict(name="cnnnet"), lambda: RefCNNNet(), (4, 3, 32, 32)),
    "cnnnet-gray-7": (dict(name="cnnnet", in_channels=1, num_classes=7), lambda: RefCNNNet(7, 1), (2, 1, 32, 32)),
    "alexnet-small-28": (dict(name="alexnet", num_classes=10, in_channels=1, small_input=True),
                         lambda: RefAlexNet(10, 1, small_input=True), (2, 1, 28, 28)),
    "alexnet-small-32": (dict(name="alexnet", num_classes=10, small_input=True),
                         lambda: RefAlexNet(10, 3, small_input=True), (2, 3, 32, 32)),
    "nin-small-28": (dict(name="nin", small_input=True), lambda: ref_nin(small_input=True), (2, 1, 28, 28)),
    "nin-small-32-rgb": (dict(name="nin", in_channels=3, small_input=True),
                         lambda: ref_nin(10, 3, small_input=True), (2, 3, 32, 32)),
    "nin-96": (dict(name="nin"), lambda: ref_nin(), (1, 1, 96, 96)),
    "resnet18-64": (dict(name="resnet18", num_classes=10), lambda: RefResNet(RefBasicBlock, [2, 2, 2, 2], 10),
                    (2, 3, 64, 64)),
    "resnet18-small-32": (dict(name="resnet18", num_classes=10, small_input=True),
                          lambda: RefResNet(RefBasicBlock, [2, 2, 2, 2], 10, small_input=True), (2, 3, 32, 32)),
    "resnet34-32": (dict(name="resnet34", num_classes=10), lambda: RefResNet(RefBasicBlock, [3, 4, 6, 3], 10),
                    (2, 3, 32, 32)),
    "resnet50-32": (dict(name="resnet50", num_classes=10), lambda: RefResNet(RefBottleneck, [3, 4, 6, 3], 10),
                    (4, 3, 32, 32)),
    "resnet20": (dict(name="resnet20"), lambda: RefCifarResNet(3), (2, 3, 32, 32)),
    "resnet32": (dict(name="resnet32"), lambda: RefCifarResNet(5), (2, 3, 32, 32)),
    "resnet20-gray-28": (dict(name="resnet20", in_channels=1), lambda: RefCifarResNet(3, 10, 1), (2, 1, 28, 28)),
    "densenet121-32": (dict(name="densenet121", num_classes=10), lambda: RefDenseNet121(10), (2, 3, 32, 32)),
    "googlenet-aux-32": (dict(name="googlenet", num_classes=10, aux_logits=True),
                         lambda: RefGoogLeNet(10, aux_logits=True), (2, 3, 32, 32)),
    "googlenet-small-28": (dict(name="googlenet", num_classes=10, in_channels=1, small_input=True),
                           lambda: RefGoogLeNet(10, in_channels=1, small_input=True), (2, 1, 28, 28)),
}
STEP_CASES["vgg11_bn-small-28-gray"] = (dict(name="vgg11_bn", num_classes=10, in_channels=1, small_input=True),
                                        lambda: RefVGG(11, True, 10, 1, small_input=True), (2, 1, 28, 28))

SLOW_STEP_CASES = {
    "googlenet-32": (dict(name="googlenet", num_classes=10), lambda: RefGoogLeNet(10), (2, 3, 32, 32)),
    "densenet121-small-32": (dict(name="densenet121", num_classes=10, small_input=True),
                             lambda: RefDenseNet121(10, small_input=True), (2, 3, 32, 32)),
    "resnet50-small-28-gray": (dict(name="resnet50", num_classes=10, in_channels=1, small_input=True),
                               lambda: RefResNet(RefBottleneck, [3, 4, 6, 3], 10, 1, small_input=True),
                               (2, 1, 28, 28)),
    "resnet56": (dict(name="resnet56", num_classes=100), lambda: RefCifarResNet(9, 100), (2, 3, 32, 32)),
    "alexnet-64": (dict(name="alexnet", num_classes=10), lambda: RefAlexNet(10), (2, 3, 64, 64)),
    "resnet50-64": (dict(name="resnet50", num_classes=10), lambda: RefResNet(RefBottleneck, [3, 4, 6, 3], 10),
                    (2, 3, 64, 64)),
    "densenet121-64": (dict(name="densenet121", num_classes=10), lambda: RefDenseNet121(10), (2, 3, 64, 64)),
    "vgg11-64": (dict(name="vgg11", num_classes=10), lambda: RefVGG(11, False, 10), (2, 3, 64, 64)),
    "vgg16_bn-64": (dict(name="vgg16_bn", num_classes=10), lambda: RefVGG(16, True, 10), (2, 3, 64, 64)),
}


for depth in (11, 13, 16, 19):
    for bn in (False, True):
        name = f"vgg{depth}" + ("_bn" if bn else "")
        # every configuration's layers are checked by the state_dict test; one forward/backward
        # per configuration here, the other half in the slow set
        cases = STEP_CASES if (depth in (11, 16)) != bn else SLOW_STEP_CASES
        cases[f"{name}-small-32"] = (dict(name=name, num_classes=10, small_input=True),
                                     lambda d=depth, b=bn: RefVGG(d, b, 10, small_input=True), (2, 3, 32, 32))

# float32 training steps are compared on the shallow models only: in a deep ReLU network a
# pre-activation within float32 rounding of zero (about one in 10^5 of them) can come out with
# the other sign in one framework, which moves a few gradients by a few percent, and batch norm
# over the 2-8 values of a late 1x1/2x2 map amplifies float32 rounding in the forward pass. The
# deep models' training steps are compared in float64 (to 1e-7), their float32 eval-mode forward
# pass to 1e-4.
SHALLOW = [case for case in STEP_CASES if case.startswith(("lenet5", "cnnnet", "alexnet", "nin"))]


def _build(cases, case):
    kwargs, ref_builder, input_shape = cases[case]
    kwargs = dict(kwargs)
    return models.get_model(kwargs.pop("name"), **kwargs), ref_builder(), input_shape


@pytest.mark.parametrize("case", list(STEP_CASES))
def test_training_step_matches_torch_float64(case):
    j_model, t_model, input_shape = _build(STEP_CASES, case)
    _compare_step(j_model, t_model, input_shape, "float64")


@pytest.mark.parametrize("case", SHALLOW)
def test_training_step_matches_torch_float32(case):
    j_model, t_model, input_shape = _build(STEP_CASES, case)
    _compare_step(j_model, t_model, input_shape, "float32")


@pytest.mark.parametrize("case", [case for case in STEP_CASES if case not in SHALLOW])
def test_eval_forward_matches_torch_float32(case):
    """Deep models in float32: the eval-mode forward (running estimates, so no amplification)."""
    j_model, t_model, input_shape = _build(STEP_CASES, case)
    rng = np.random.default_rng(0)
    _randomise_batch_norm(t_model, rng)
    _copy_weights(j_model, t_model)
    j_model.eval()
    t_model.eval()
    x = rng.standard_normal(input_shape).astype(np.float32)
    with torch.no_grad(), juanji.no_grad():
        _close(j_model(juanji.tensor(x)).numpy(), t_model(torch.tensor(x)).numpy(), "eval output", "float32")


@pytest.mark.slow
@pytest.mark.parametrize("case", list(SLOW_STEP_CASES))
def test_training_step_matches_torch_at_64x64(case):
    j_model, t_model, input_shape = _build(SLOW_STEP_CASES, case)
    _compare_step(j_model, t_model, input_shape, "float64")


# --------------------------------------------------------------------------- intended input sizes

SMALL_MODELS = [("lenet5", {}, (2, 1, 28, 28)), ("cnnnet", {}, (2, 3, 32, 32)),
                ("resnet20", {}, (2, 3, 32, 32)), ("nin", {"small_input": True}, (2, 1, 28, 28))]


@pytest.mark.parametrize("name,kwargs,shape", SMALL_MODELS)
def test_small_models_output_shape_at_their_input_size(name, kwargs, shape):
    model = models.get_model(name, num_classes=7, **kwargs)
    assert tuple(model(juanji.randn(*shape)).shape) == (shape[0], 7)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FULL_SIZE))
def test_imagenet_models_output_shape_at_224(name):
    model = models.get_model(name).eval()
    with juanji.no_grad():
        assert tuple(model(juanji.randn(1, 3, 224, 224)).shape) == (1, 1000)


@pytest.mark.slow
def test_nin_output_shape_at_224():
    model = models.nin().eval()
    with juanji.no_grad():
        assert tuple(model(juanji.randn(1, 1, 224, 224)).shape) == (1, 10)


# --------------------------------------------------------------------------- registry and options

def test_registry_lists_every_builder_and_rejects_unknown_names():
    names = models.list_models()
    assert names == sorted(names)
    for expected in ("lenet5", "cnnnet", "alexnet", "vgg11", "vgg19_bn", "nin", "googlenet", "resnet18",
                     "resnet34", "resnet50", "resnet20", "resnet32", "resnet56", "densenet121"):
        assert expected in names
    assert isinstance(models.get_model("ResNet20"), models.CifarResNet)
    with pytest.raises(ValueError, match="get_model: unknown model 'resnet7'; available: alexnet, cnnnet"):
        models.get_model("resnet7")


def test_builder_argument_errors():
    with pytest.raises(ValueError, match="lenet5: variant must be one of"):
        models.lenet5(variant="tanh")
    with pytest.raises(ValueError, match="lenet5: input_size must be 28"):
        models.lenet5(input_size=30)
    with pytest.raises(ValueError, match="googlenet: transform_input needs 3 input channels"):
        models.googlenet(in_channels=1, transform_input=True)


def test_googlenet_transform_input_matches_torchvision_formula():
    model = models.googlenet(transform_input=True)
    x = juanji.randn(1, 3, 4, 4)
    y = model._transform_input(x).numpy()
    xn = x.numpy()
    means, stds = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    for c in range(3):
        np.testing.assert_allclose(y[:, c], xn[:, c] * (stds[c] / 0.5) + (means[c] - 0.5) / 0.5, rtol=1e-6)


def test_cifar_resnet_zero_init_residual_makes_blocks_identity():
    model = models.resnet20(zero_init_residual=True)
    assert all(float(b.bn2.weight.abs().sum()) == 0.0 for b in model.modules() if isinstance(b, models.BasicBlock))
    # and the default initialisation is torchvision's He-normal (fan_out) for convolutions
    std = float(models.resnet20().layer3[0].conv1.weight.std())
    assert abs(std - (2.0 / (64 * 9)) ** 0.5) < 0.1 * std
