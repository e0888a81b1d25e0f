"""juanji.vision: torchvision's datasets and transforms for juanji (``import juanji.vision as torchvision``
covers ``torchvision.datasets`` and ``torchvision.transforms``)."""

from . import datasets

__all__ = ["datasets", "transforms"]
