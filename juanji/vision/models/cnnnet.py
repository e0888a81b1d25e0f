"""The small CNN of PyTorch's "Training a classifier" (CIFAR-10) tutorial.

::

    conv(3, 6, 5) - relu - maxpool 2     3 x 32 x 32 -> 6 x 28 x 28 -> 6 x 14 x 14
    conv(6, 16, 5) - relu - maxpool 2    -> 16 x 10 x 10 -> 16 x 5 x 5
    flatten - fc 400 -> 120 - relu - fc 120 -> 84 - relu - fc 84 -> num_classes

Same attribute names as the tutorial's ``Net`` (``conv1``, ``conv2``, ``fc1``, ``fc2``,
``fc3``), so its ``state_dict`` loads as is. ``input_size=28`` sizes ``fc1`` for 28x28 inputs
(16 x 4 x 4 features).

    >>> from juanji.vision.models import CNNNet
    >>> import juanji
    >>> CNNNet()(juanji.randn(4, 3, 32, 32)).shape
    juanji.Size([4, 10])
"""

from __future__ import annotations

from ... import nn
from ...functions import flatten
from ...nn import functional as F

__all__ = ["CNNNet", "cnnnet"]


def _features_side(input_size: int) -> int:
    """Side of the feature map after two (conv 5, pool 2) stages."""
    return ((input_size - 4) // 2 - 4) // 2


class CNNNet(nn.Module):
    """The tutorial network: two conv/pool stages, three fully connected layers."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, input_size: int = 32):
        super().__init__()
        side = _features_side(input_size)
        if side < 1:
            raise ValueError(f"CNNNet: input_size must be at least 16, got {input_size}")
        self.conv1 = nn.Conv2d(in_channels, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def cnnnet(num_classes: int = 10, in_channels: int = 3, input_size: int = 32) -> CNNNet:
    """The tutorial CNN for ``(N, in_channels, input_size, input_size)`` inputs."""
    return CNNNet(num_classes=num_classes, in_channels=in_channels, input_size=input_size)
