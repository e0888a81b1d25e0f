"""FakeData: random images and labels, for trying a pipeline without any files (torchvision's dataset).

Item ``i`` is drawn from a juanji Generator seeded with ``i + random_offset``, so it is the same
every time it is read, in any order, in any worker, and reading it leaves the global generator
alone (torchvision saves, reseeds and restores the global one to the same effect):

    image = to_pil_image(randn(*image_size))      # N(0, 1) noise; x * 255 cast to uint8 (wrapping)
    label = randint(0, num_classes)
"""

from __future__ import annotations

from ...random import Generator
from ...creation import randint, randn
from ..transforms.functional import to_pil_image
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random PIL images of ``image_size = (C, H, W)`` with labels in ``range(num_classes)``."""

    def __init__(self, size: int = 1000, image_size=(3, 224, 224), num_classes: int = 10, transform=None,
                 target_transform=None, random_offset: int = 0):
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        generator = Generator().manual_seed(index + self.random_offset)
        image = randn(*self.image_size, generator=generator)
        target = randint(0, self.num_classes, size=(1,), generator=generator)[0]
        image = to_pil_image(image)
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)  # a 0-d tensor, as torchvision passes it
        return image, target.item() if hasattr(target, "item") else target

    def __len__(self) -> int:
        return self.size
