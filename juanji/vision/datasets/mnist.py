"""MNIST and Fashion-MNIST, with torchvision's signature, attributes and items.

    ds = FashionMNIST("data", train=True, transform=ToTensor())
    image, label = ds[0]          # image: whatever the transform makes of a PIL 'L' image; label: int
    ds.data                       # uint8 tensor [60000, 28, 28]
    ds.targets                    # int64 tensor [60000]

Two folder layouts are accepted, each file raw or gzip-compressed:

    root/FashionMNIST/raw/train-images-idx3-ubyte[.gz]     (torchvision's layout; download=True writes it)
    root/train-images-idx3-ubyte[.gz]                      (a flat folder of the four IDX files)
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ...tensor import from_numpy
from ._download import DownloadError, download_resources
from .idx import read_idx
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST"]


class MNIST(VisionDataset):
    """The MNIST handwritten digits: 60,000 train and 10,000 test images, 28x28 grey, 10 classes.

    Args:
        root: folder holding ``MNIST/raw/*`` or the four IDX files themselves.
        train: the training split (``train-*``) if True, else the test split (``t10k-*``).
        transform: applied to the PIL image; target_transform: applied to the int label.
        download: fetch the four files into ``root/MNIST/raw`` if they are not there yet.
        mirror: base URL to download from (else ``$JUANJI_DATASET_MIRROR``, else ``mirrors``).
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    # (file name, MD5 of the canonical gzip file); a checksum may also be 'sha256:<hex>'
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None, download: bool = False,
                 *, mirror=None):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        self.mirror = mirror
        if download:
            self.download()
        images_path = self._find(self._split_file("images-idx3-ubyte"))
        labels_path = self._find(self._split_file("labels-idx1-ubyte"))
        images, labels = read_idx(images_path), read_idx(labels_path)
        self._check_arrays(images, labels, images_path, labels_path)
        self.data = from_numpy(images)
        self.targets = from_numpy(labels.astype(np.int64))

    # ---------------------------------------------------------------- files
    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "processed")

    def _split_file(self, kind: str) -> str:
        return f"{'train' if self.train else 't10k'}-{kind}"

    def _locate(self, base: str):
        """The first existing file among raw_folder/base[.gz] and root/base[.gz], or None."""
        for folder in (self.raw_folder, self.root):
            for name in (base, base + ".gz"):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    return path
        return None

    def _find(self, base: str) -> str:
        path = self._locate(base)
        if path is None:
            raise RuntimeError(f"{type(self).__name__}: dataset not found: no {base} or {base}.gz in "
                               f"'{self.raw_folder}' or '{self.root}'. You can use download=True to download it")
        return path

    def _check_exists(self) -> bool:
        return all(self._locate(name[:-3] if name.endswith(".gz") else name) is not None
                   for name, _ in self.resources)

    def _check_arrays(self, images, labels, images_path, labels_path) -> None:
        name = type(self).__name__
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{name}: expected uint8 images [N, H, W] in '{images_path}', "
                             f"got {images.dtype} {list(images.shape)}")
        if labels.ndim != 1:
            raise ValueError(f"{name}: expected labels [N] in '{labels_path}', got shape {list(labels.shape)}")
        if len(images) != len(labels):
            raise ValueError(f"{name}: '{images_path}' holds {len(images)} images but '{labels_path}' "
                             f"holds {len(labels)} labels")

    def download(self) -> None:
        """Fetch the four IDX files into ``raw_folder`` (skipped when they are already there)."""
        if self._check_exists():
            return
        try:
            download_resources(f"{type(self).__name__} download", self.resources, self.raw_folder,
                               mirror=self.mirror, default_mirrors=self.mirrors)
        except DownloadError as e:
            names = ", ".join(name for name, _ in self.resources)
            raise type(e)(f"{e}. Without a network, put the files there yourself: {names} (gzip or not) in "
                          f"'{self.raw_folder}' or in '{self.root}'", e.url, e.reason) from None

    # ---------------------------------------------------------------- items
    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        """``(image, target)``: a PIL image of mode 'L' (after ``transform``) and an int class index."""
        # read through np.asarray so that reassigning .data/.targets (to subset them) is honoured
        image = Image.fromarray(np.asarray(self.data)[index])
        target = int(np.asarray(self.targets)[index])
        return self._transformed(image, target)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, 10 classes of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
