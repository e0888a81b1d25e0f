"""juanji.vision: torchvision's datasets, transforms and models for juanji (``import juanji.vision as
torchvision`` covers ``torchvision.datasets``, ``torchvision.transforms`` and ``torchvision.models``)."""

from . import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
