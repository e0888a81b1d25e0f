"""Network in Network (Lin et al. 2013), as in d2l.ai's chapter 8.3.

A NiN block is one ordinary convolution followed by two 1x1 convolutions (a small MLP applied
at every pixel), each with ReLU. There is no fully connected layer: the last block has one
channel per class and a global average pool turns each channel into a score::

    nin_block(in, 96, 11, stride 4)          - maxpool 3/2      224 -> 54 -> 26
    nin_block(96, 256, 5, padding 2)         - maxpool 3/2      -> 26 -> 12
    nin_block(256, 384, 3, padding 1)        - maxpool 3/2      -> 12 -> 5
    dropout 0.5
    nin_block(384, classes, 3, padding 1)    - global average pool - flatten

``small_input=True`` (28x28 or 32x32 images, no resizing): the first block's convolution is
5x5 with stride 1 and padding 2 (28 -> 28 -> 13 -> 6 -> 2; 32 -> 32 -> 15 -> 7 -> 3), the rest
unchanged. The network is one ``Sequential`` with d2l's indices (``state_dict`` keys
``0.0.weight`` ... ``5.4.bias``).
"""

from __future__ import annotations

from ... import nn

__all__ = ["NiN", "nin", "nin_block"]


def nin_block(in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> nn.Sequential:
    """conv(kernel_size) - relu - conv 1x1 - relu - conv 1x1 - relu."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


class NiN(nn.Sequential):
    """d2l's NiN (one ``Sequential``); see the module doc for the layers."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5,
                 small_input: bool = False):
        first = dict(kernel_size=5, stride=1, padding=2) if small_input else dict(kernel_size=11, stride=4, padding=0)
        super().__init__(
            nin_block(in_channels, 96, **first), nn.MaxPool2d(3, stride=2),
            nin_block(96, 256, kernel_size=5, stride=1, padding=2), nn.MaxPool2d(3, stride=2),
            nin_block(256, 384, kernel_size=3, stride=1, padding=1), nn.MaxPool2d(3, stride=2),
            nn.Dropout(dropout),
            nin_block(384, num_classes, kernel_size=3, stride=1, padding=1),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
        )


def nin(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.5, small_input: bool = False) -> NiN:
    """NiN for 224x224 images (d2l), or 28x28/32x32 ones with ``small_input=True``."""
    return NiN(num_classes=num_classes, in_channels=in_channels, dropout=dropout, small_input=small_input)
