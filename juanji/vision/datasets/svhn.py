"""SVHN (Street View House Numbers, cropped digits), with torchvision's signature, attributes and items.

    ds = SVHN("data", split="train", transform=ToTensor())
    image, label = ds[0]            # a PIL RGB image 32x32 (after transform), an int in 0..9
    ds.data                         # NumPy uint8 [73257, 3, 32, 32] (CHW), as torchvision's
    ds.labels                       # NumPy int64 [73257]

The files are MATLAB level-5 MAT-files in ``root``: ``train_32x32.mat``, ``test_32x32.mat``,
``extra_32x32.mat``, each with ``X`` (uint8 [32, 32, 3, N]) and ``y`` ([N, 1], digits 1..10 where
10 stands for the digit 0). They are read by ``matfile.read_mat`` (NumPy only; no SciPy).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ._download import DownloadError, download_resources
from .matfile import read_mat
from .vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """The cropped-digits SVHN: 73,257 train, 26,032 test and 531,131 extra colour 32x32 images.

    Args:
        root: the folder that holds ``<split>_32x32.mat``.
        split: "train", "test" or "extra".
        transform: applied to the PIL image; target_transform: applied to the int label.
        download: fetch the split's file into ``root`` unless it is there already.
        mirror: base URL to download from (else ``$JUANJI_DATASET_MIRROR``, else ``mirrors``).
    """

    mirrors = ["http://ufldl.stanford.edu/housenumbers/"]
    split_list = {
        "train": ["train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root, split: str = "train", transform=None, target_transform=None, download: bool = False,
                 *, mirror=None):
        super().__init__(root, transform=transform, target_transform=target_transform)
        if split not in self.split_list:
            raise ValueError(f"SVHN: unknown value '{split}' for argument split. Valid values are "
                             f"{{{', '.join(repr(s) for s in self.split_list)}}}.")
        self.split = split
        self.mirror = mirror
        self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        path = os.path.join(self.root, self.filename)
        if not os.path.isfile(path):
            raise RuntimeError(f"SVHN: dataset not found: no '{self.filename}' in '{self.root}'. "
                               "You can use download=True to download it")
        arrays = read_mat(path, variable_names=["X", "y"])
        images, labels = arrays["X"], arrays["y"]
        if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or labels.size != images.shape[3]:
            raise RuntimeError(f"SVHN: '{path}' should hold X [32, 32, 3, N] and y [N, 1], got X "
                               f"{list(images.shape)} and y {list(labels.shape)}")
        self.data = np.ascontiguousarray(np.transpose(images.astype(np.uint8), (3, 2, 0, 1)))  # [N, C, H, W]
        labels = labels.astype(np.int64).reshape(-1)
        labels[labels == 10] = 0  # the digit 0 is stored as class 10
        self.labels = labels

    def download(self) -> None:
        """Fetch this split's MAT-file into ``root`` (skipped when it is already there)."""
        if os.path.isfile(os.path.join(self.root, self.filename)):
            return
        try:
            download_resources("SVHN download", [(self.filename, self.file_md5)], self.root, mirror=self.mirror,
                               default_mirrors=self.mirrors)
        except DownloadError as e:
            raise type(e)(f"{e}. Without a network, put {self.filename} in '{self.root}' yourself", e.url,
                          e.reason) from None

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        """``(image, target)``: a PIL RGB image (after ``transform``) and an int digit 0..9."""
        image = Image.fromarray(np.transpose(self.data[index], (1, 2, 0)))
        target = int(self.labels[index])
        return self._transformed(image, target)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
