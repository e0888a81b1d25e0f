"""GoogLeNet / Inception v1 (Szegedy et al. 2014) in torchvision's form.

An Inception block runs four branches side by side and concatenates their channels::

    branch1  conv 1x1
    branch2  conv 1x1 (reduce) - conv 3x3
    branch3  conv 1x1 (reduce) - conv 3x3      (the paper has 5x5 here; torchvision keeps 3x3,
                                                and so do we, to match its weights)
    branch4  maxpool 3x3/1 - conv 1x1 (pool projection)

Every convolution is ``BasicConv2d``: conv (no bias) - batch norm (eps 0.001) - relu, as in
torchvision. (The paper predates batch norm. d2l's GoogLeNet has the same blocks and channel
counts but plain conv + ReLU, a 5x5 third branch and no auxiliary heads; this is torchvision's,
so that its parameter count and weights match.)

Network (3 x 224 x 224)::

    conv1 7x7/2 (64) - maxpool1 3/2          -> 64 x 56 x 56
    conv2 1x1 (64) - conv3 3x3 (192) - maxpool2     -> 192 x 28 x 28
    inception3a (256) - inception3b (480) - maxpool3     -> 14 x 14
    inception4a..4e (512, 512, 512, 528, 832) - maxpool4  -> 7 x 7
    inception5a (832) - inception5b (1024)
    avgpool 1 x 1 - flatten - dropout 0.2 - fc 1024 -> classes

(all max pools use ``ceil_mode=True``). With ``aux_logits=True`` two auxiliary classifiers
(on inception4a's and 4d's outputs) are added; in training mode the forward pass then returns
``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, in eval mode the logits only. Parameter
counts match torchvision: 6,624,904 without the auxiliary heads, 13,004,888 with them (1000
classes). ``aux_logits`` defaults to False here (torchvision's default is True when built
without weights; pass ``aux_logits=True`` for that).

``transform_input=True`` re-normalises ImageNet-normalised input the way the original Google
weights expect. ``small_input=True`` (28x28/32x32 images) makes conv1 a 3x3 stride-1
convolution and drops maxpool1 (32 -> 32 -> 16 -> 8 -> 4 at inception5).
"""

from __future__ import annotations

from collections import namedtuple

from ... import nn
from ...functions import cat, flatten
from ...nn import functional as F
from ...nn import init
from . import _api
from ._weights import GoogLeNet_Weights

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "BasicConv2d", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """conv (no bias) - batch norm (eps 0.001) - relu."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four parallel branches, concatenated along the channels (see the module doc)."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: avg pool to 4 x 4 - conv 1x1 (128) - fc 2048 -> 1024 - relu -
    dropout 0.7 - fc -> classes."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = flatten(self.conv(x), 1)
        x = self.dropout(F.relu(self.fc1(x), inplace=True))
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """torchvision's GoogLeNet (see the module doc)."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, transform_input: bool = False,
                 init_weights: bool = True, dropout: float = 0.2, dropout_aux: float = 0.7,
                 in_channels: int = 3, small_input: bool = False):
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError(f"googlenet: transform_input needs 3 input channels, got in_channels={in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        if small_input:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            self.maxpool1 = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights:
            # torchvision's: truncated normal (std 0.01, cut at +-2) for convolutions and linear layers
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    init.constant_(m.weight, 1)
                    init.constant_(m.bias, 0)

    def _transform_input(self, x):
        """From ImageNet mean/std normalisation to the (x - 0.5) / 0.5 the Google weights expect."""
        if not self.transform_input:
            return x
        x_ch0 = x[:, 0:1] * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
        x_ch1 = x[:, 1:2] * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
        x_ch2 = x[:, 2:3] * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
        return cat([x_ch0, x_ch1, x_ch2], 1)

    def forward(self, x):
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = flatten(self.avgpool(x), 1)
        x = self.fc(self.dropout(x))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(*, weights=None, progress: bool = True, **kwargs) -> GoogLeNet:
    """GoogLeNet (torchvision's); ``aux_logits=True`` adds the two auxiliary classifiers.

    With pretrained ``weights`` (as torchvision): ``transform_input`` defaults to True (the
    weights expect Google's normalisation), the file's auxiliary heads are loaded and then
    dropped unless ``aux_logits=True``."""
    weights = GoogLeNet_Weights.verify(weights)
    aux_logits = kwargs.get("aux_logits", False)
    if weights is not None:
        if isinstance(weights, GoogLeNet_Weights):
            kwargs.setdefault("transform_input", True)
        kwargs.update(aux_logits=True, init_weights=False)
    model = _api.build(GoogLeNet, GoogLeNet_Weights, weights, progress, kwargs)
    if weights is not None and not aux_logits:
        model.aux_logits, model.aux1, model.aux2 = False, None, None
    return model
