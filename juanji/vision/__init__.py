"""juanji.vision: torchvision's datasets and transforms for juanji (``import juanji.vision as torchvision``
covers ``torchvision.datasets`` and ``torchvision.transforms``)."""

from . import datasets, transforms

__all__ = ["datasets", "transforms"]
