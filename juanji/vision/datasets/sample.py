"""A small Fashion-MNIST that ships inside the package: 6,000 train and 1,000 test images.

The sample is stratified (600 train and 100 test images of each of the 10 classes), drawn with
a fixed seed from the full Fashion-MNIST by ``scripts/make_sample.py`` and stored as gzip IDX
files in ``juanji/vision/data/``. It needs no download and no other file, so examples, tests and
the demo run anywhere:

    train = FashionMNISTSample(train=True, transform=ToTensor())
    x_train, y_train = load_sample(train=True)      # uint8 [6000, 28, 28], uint8 [6000]
"""

from __future__ import annotations

import functools
import importlib.resources

import numpy as np

from ...tensor import from_numpy
from .idx import parse_idx
from .mnist import FashionMNIST
from .vision import VisionDataset

__all__ = ["FashionMNISTSample", "load_sample", "SAMPLE_FILES"]

# split -> (images file, labels file), in juanji/vision/data/
SAMPLE_FILES = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read_packaged(filename: str) -> np.ndarray:
    resource = importlib.resources.files("juanji.vision").joinpath("data", filename)
    try:
        raw = resource.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"FashionMNISTSample: the packaged file juanji/vision/data/{filename} is missing "
                                "(reinstall juanji, or rebuild it with scripts/make_sample.py)") from None
    return parse_idx(raw, f"juanji/vision/data/{filename}")


@functools.lru_cache(maxsize=2)
def _load_split(train: bool) -> tuple[np.ndarray, np.ndarray]:
    images_file, labels_file = SAMPLE_FILES[train]
    images, labels = _read_packaged(images_file), _read_packaged(labels_file)
    images.setflags(write=False)  # the cached copy is shared; callers get their own copies
    labels.setflags(write=False)
    return images, labels


def load_sample(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The embedded sample's images (uint8 [N, 28, 28]) and labels (uint8 [N]) as fresh NumPy arrays."""
    images, labels = _load_split(bool(train))
    return images.copy(), labels.copy()


class FashionMNISTSample(FashionMNIST):
    """The embedded Fashion-MNIST sample as a dataset: FashionMNIST's items, classes and repr."""

    def __init__(self, train: bool = True, transform=None, target_transform=None):
        VisionDataset.__init__(self, None, transform=transform, target_transform=target_transform)
        self.train = train
        self.mirror = None
        images, labels = load_sample(train)
        self.data = from_numpy(images)
        self.targets = from_numpy(labels.astype(np.int64))

    def download(self) -> None:
        """Nothing to fetch: the sample ships with the package."""
