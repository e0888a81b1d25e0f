"""The benchmark models, written once against PyTorch's API and built in either framework.

``build(torch, name)`` takes the framework module (``torch`` itself, or ``juanji`` imported
as torch) and returns the model, so both frameworks run the very same architecture code; a
benchmark process only ever imports one of them. ``init_weights`` gives both the same weights
(from a seeded NumPy generator, He-normal for conv/linear weights), so a step computes the same
numbers in both and the first losses can be compared.

The CIFAR models (3 x 32 x 32 inputs, 10 classes) follow the widely used CIFAR versions of
the architectures (a 3x3 stem without max pooling for ResNet-18, stride 1 in MobileNetV2's
first stages, VGG with batch norm and one linear classifier, DenseNet-121 with growth rate 32):

    name          input        what it exercises
    lenet         1 x 28 x 28  5x5 convs with 1 and 6 input channels, max pooling, small linears
    resnet20      3 x 32 x 32  3x3 convs with 16-64 channels, batch norm, residual adds
    resnet18      3 x 32 x 32  3x3 convs with 64-512 channels
    mobilenetv2   3 x 32 x 32  1x1 (pointwise) and depthwise 3x3 convs, ReLU6
    vgg11         3 x 32 x 32  plain 3x3 conv + BN + ReLU stacks, max pooling
    densenet121   3 x 32 x 32  concatenation, many thin 1x1/3x3 convs, BN-ReLU before each conv
"""

from __future__ import annotations

import numpy as np

__all__ = ["INPUTS", "build", "init_weights"]

# name -> shape of one input image
INPUTS = {"lenet": (1, 28, 28), "resnet20": (3, 32, 32), "resnet18": (3, 32, 32), "mobilenetv2": (3, 32, 32),
          "vgg11": (3, 32, 32), "densenet121": (3, 32, 32)}


def build(torch, name: str, num_classes: int = 10):
    """The model ``name`` in the framework ``torch`` (a module with torch's API)."""
    builders = {"lenet": _lenet, "resnet20": _resnet20, "resnet18": _resnet18, "mobilenetv2": _mobilenetv2,
                "vgg11": _vgg11, "densenet121": _densenet121}
    return builders[name](torch, num_classes)


def init_weights(torch, model, seed: int = 0) -> None:
    """Give ``model`` weights drawn from one seeded NumPy generator, in parameter order:
    conv and linear weights He-normal (std sqrt(2 / fan_in)), biases uniform in +-1/sqrt(fan_in)
    of their layer, norm weights 1 and biases 0 (their defaults, left alone)."""
    rng = np.random.default_rng(seed)
    state = {}
    fan_in = 1
    for name, p in model.named_parameters():
        shape = tuple(p.shape)
        if len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif name.endswith("bias") and not _is_norm(model, name):
            value = rng.uniform(-1, 1, shape) / np.sqrt(fan_in)
        else:
            continue
        state[name] = torch.tensor(value.astype(np.float32))
    model.load_state_dict(state, strict=False)


def _is_norm(model, parameter_name: str) -> bool:
    owner = model
    for part in parameter_name.split(".")[:-1]:
        owner = getattr(owner, part)
    return "Norm" in type(owner).__name__


# ------------------------------------------------------------------------------------------ LeNet
def _lenet(torch, num_classes):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))


# ------------------------------------------------------------------------------------------ ResNets
def _basic_block(torch):
    nn, F = torch.nn, torch.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.shortcut = nn.Sequential()
            if stride != 1 or inplanes != planes:
                self.shortcut = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                              nn.BatchNorm2d(planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    return BasicBlock


def _resnet(torch, widths, blocks, num_classes):
    nn, F = torch.nn, torch.nn.functional
    block = _basic_block(torch)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            layers, channels = [], widths[0]
            for i, (width, count) in enumerate(zip(widths, blocks)):
                stride = 1 if i == 0 else 2
                for j in range(count):
                    layers.append(block(channels, width, stride if j == 0 else 1))
                    channels = width
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(channels, num_classes)

        def forward(self, x):
            out = self.layers(F.relu(self.bn1(self.conv1(x))))
            out = F.adaptive_avg_pool2d(out, 1)
            return self.fc(torch.flatten(out, 1))

    return ResNet()


def _resnet20(torch, num_classes):
    return _resnet(torch, (16, 32, 64), (3, 3, 3), num_classes)


def _resnet18(torch, num_classes):
    return _resnet(torch, (64, 128, 256, 512), (2, 2, 2, 2), num_classes)


# ------------------------------------------------------------------------------------------ MobileNetV2
def _mobilenetv2(torch, num_classes):
    nn, F = torch.nn, torch.nn.functional
    # (expansion, out channels, blocks, stride of the first block); stride 1 early for 32 x 32
    config = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1)]

    class InvertedResidual(nn.Module):
        def __init__(self, inplanes, planes, expansion, stride):
            super().__init__()
            hidden = inplanes * expansion
            self.use_residual = stride == 1 and inplanes == planes
            self.expand = nn.Sequential(nn.Conv2d(inplanes, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                        nn.ReLU6())
            self.depthwise = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                           nn.BatchNorm2d(hidden), nn.ReLU6())
            self.project = nn.Sequential(nn.Conv2d(hidden, planes, 1, bias=False), nn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.project(self.depthwise(self.expand(x)))
            return out + x if self.use_residual else out

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6())
            blocks, channels = [], 32
            for expansion, planes, count, stride in config:
                for j in range(count):
                    blocks.append(InvertedResidual(channels, planes, expansion, stride if j == 0 else 1))
                    channels = planes
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Sequential(nn.Conv2d(channels, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6())
            self.fc = nn.Linear(1280, num_classes)

        def forward(self, x):
            out = self.head(self.blocks(self.stem(x)))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))

    return MobileNetV2()


# ------------------------------------------------------------------------------------------ VGG-11
def _vgg11(torch, num_classes):
    nn = torch.nn
    layers, channels = [], 3
    for width in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if width == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            channels = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, num_classes))


# ------------------------------------------------------------------------------------------ DenseNet-121
def _densenet121(torch, num_classes, growth=32, blocks=(6, 12, 24, 16)):
    nn, F = torch.nn, torch.nn.functional

    class DenseLayer(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv1 = nn.Conv2d(channels, 4 * growth, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(4 * growth)
            self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

        def forward(self, x):
            out = self.conv1(F.relu(self.bn1(x)))
            out = self.conv2(F.relu(self.bn2(out)))
            return torch.cat([out, x], 1)

    class Transition(nn.Module):
        def __init__(self, channels, out_channels):
            super().__init__()
            self.bn = nn.BatchNorm2d(channels)
            self.conv = nn.Conv2d(channels, out_channels, 1, bias=False)

        def forward(self, x):
            return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)

    class DenseNet(nn.Module):
        def __init__(self):
            super().__init__()
            channels = 2 * growth
            self.conv1 = nn.Conv2d(3, channels, 3, padding=1, bias=False)
            stages = []
            for i, count in enumerate(blocks):
                for _ in range(count):
                    stages.append(DenseLayer(channels))
                    channels += growth
                if i + 1 < len(blocks):
                    stages.append(Transition(channels, channels // 2))
                    channels //= 2
            self.features = nn.Sequential(*stages)
            self.bn = nn.BatchNorm2d(channels)
            self.fc = nn.Linear(channels, num_classes)

        def forward(self, x):
            out = F.relu(self.bn(self.features(self.conv1(x))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))

    return DenseNet()
