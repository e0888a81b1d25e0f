"""AlexNet (Krizhevsky et al. 2012) in torchvision's form (the "one weird trick" variant:
64/192/384/256/256 channels, no local response norm), and an adapted stem for small images.

ImageNet (``small_input=False``), 3 x 224 x 224::

    features    conv 11x11/4 (64) - relu - maxpool 3/2      -> 64 x 27 x 27
                conv 5x5 (192) - relu - maxpool 3/2         -> 192 x 13 x 13
                conv 3x3 (384) - relu - conv 3x3 (256) - relu - conv 3x3 (256) - relu - maxpool 3/2
                                                            -> 256 x 6 x 6
    avgpool     adaptive average pool to 6 x 6
    classifier  dropout - fc 9216 -> 4096 - relu - dropout - fc 4096 -> 4096 - relu - fc -> classes

61,100,840 parameters at 1000 classes, with torchvision's ``state_dict`` keys
(``features.0.weight``, ..., ``classifier.6.bias``).

Small images (``small_input=True``, 28 x 28 or 32 x 32, no resizing): the same layers at the
same indices (so the keys are the same), but the first convolution is 3x3 stride 1 with
padding 1, the pools are 2x2 stride 2 (28 -> 14 -> 7 -> 3, 32 -> 16 -> 8 -> 4), the adaptive
pool goes to 2 x 2 and the classifier is 512 wide (1024 -> 512 -> 512 -> classes) instead of
4096, the usual CIFAR-sized head.
"""

from __future__ import annotations

from ... import nn
from ...functions import flatten
from . import _api
from ._weights import AlexNet_Weights

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """torchvision's AlexNet; ``small_input`` adapts it to 28x28/32x32 images (see module doc)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                 small_input: bool = False):
        super().__init__()
        if small_input:
            stem = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1)
            pool = dict(kernel_size=2, stride=2)
            pooled, width = 2, 512
        else:
            stem = nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)
            pool = dict(kernel_size=3, stride=2)
            pooled, width = 6, 4096
        self.features = nn.Sequential(
            stem, nn.ReLU(inplace=True), nn.MaxPool2d(**pool),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(**pool),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(**pool),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((pooled, pooled))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * pooled * pooled, width), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(width, width), nn.ReLU(inplace=True),
            nn.Linear(width, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)


def alexnet(*, weights=None, progress: bool = True, **kwargs) -> AlexNet:
    """AlexNet for 224x224 images, or 28x28/32x32 ones with ``small_input=True``; ``weights``
    as torchvision's (``AlexNet_Weights``, see ``_api.py``)."""
    return _api.build(AlexNet, AlexNet_Weights, weights, progress, kwargs)
