"""CIFAR-10 and CIFAR-100, with torchvision's signature, attributes and items, read without pickle's risks.

    ds = CIFAR10("data", train=True, transform=ToTensor())
    image, label = ds[0]           # a PIL RGB image 32x32 (after transform), an int
    ds.data                        # NumPy uint8 [50000, 32, 32, 3] (HWC), as torchvision's
    ds.targets                     # list of int

Either distribution of the data is read, whichever is under ``root`` (the python one first):

    root/cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta      (torchvision's; download=True)
    root/cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin, batches.meta.txt
    root/cifar-100-python/train, test, meta
    root/cifar-100-binary/train.bin, test.bin, fine_label_names.txt

The python version is a set of pickles; they are read with a restricted unpickler that executes
nothing from the file (see ``_safe_pickle``). The binary version is fixed-size records: for
CIFAR-10 one label byte then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 in row
order); CIFAR-100 has a coarse and a fine label byte before the pixels.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ._download import DownloadError, download_resources, extract_tar
from ._safe_pickle import load_data_pickle
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]

_PIXELS = 3 * 32 * 32


class CIFAR10(VisionDataset):
    """The CIFAR-10 images: 50,000 train and 10,000 test colour images of 32x32 pixels, 10 classes.

    Args:
        root: the folder that holds ``cifar-10-batches-py`` (or ``cifar-10-batches-bin``).
        train: the five training batches if True, else the test batch.
        transform: applied to the PIL image; target_transform: applied to the int label.
        download: fetch and unpack the python version into ``root`` unless a version is there already.
        mirror: base URL to download from (else ``$JUANJI_DATASET_MIRROR``, else ``mirrors``).
    """

    base_folder = "cifar-10-batches-py"
    binary_folder = "cifar-10-batches-bin"
    mirrors = ["https://www.cs.toronto.edu/~kriz/"]
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [["data_batch_1", "c99cafc152244af753f735de768cd75f"],
                  ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
                  ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
                  ["data_batch_4", "634d18415352ddfa80567beed471001a"],
                  ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"]]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names", "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    binary_meta = "batches.meta.txt"
    label_bytes = 1  # bytes before the pixels in a binary record; the last one is the label used

    def __init__(self, root, train: bool = True, transform=None, target_transform=None, download: bool = False,
                 *, mirror=None):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        self.mirror = mirror
        if download:
            self.download()
        if self._has(self.base_folder, self._python_files()):
            self.data, self.targets, self.classes = self._read_python()
        elif self._has(self.binary_folder, self._binary_files()):
            self.data, self.targets, self.classes = self._read_binary()
        else:
            raise RuntimeError(self._not_found_message())
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    # ---------------------------------------------------------------- files
    def _split(self):
        return self.train_list if self.train else self.test_list

    def _python_files(self) -> list[str]:
        return [name for name, _ in self._split()] + [self.meta["filename"]]

    def _binary_files(self) -> list[str]:
        return [name + ".bin" for name, _ in self._split()] + [self.binary_meta]

    def _has(self, folder: str, names) -> bool:
        return all(os.path.isfile(os.path.join(self.root, folder, name)) for name in names)

    def _expected_files(self) -> str:
        python = os.path.join(self.root, self.base_folder)
        binary = os.path.join(self.root, self.binary_folder)
        return (f"expected {', '.join(self._python_files())} in '{python}' (the python version) or "
                f"{', '.join(self._binary_files())} in '{binary}' (the binary version)")

    def _not_found_message(self) -> str:
        return (f"{type(self).__name__}: dataset not found: {self._expected_files()}. "
                "You can use download=True to download it")

    def _read(self, folder: str, name: str) -> bytes:
        with open(os.path.join(self.root, folder, name), "rb") as f:
            return f.read()

    # ---------------------------------------------------------------- the python version
    def _read_python(self):
        name = type(self).__name__
        images, labels = [], []
        for file_name, _ in self._split():
            where = f"{name}: the pickle '{os.path.join(self.root, self.base_folder, file_name)}'"
            entry = load_data_pickle(self._read(self.base_folder, file_name), where)
            if not isinstance(entry, dict) or "data" not in entry:
                raise RuntimeError(f"{where} holds no 'data' entry; is it a CIFAR batch?")
            data = np.asarray(entry["data"])
            targets = entry.get("labels", entry.get("fine_labels"))
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS or targets is None \
                    or len(targets) != len(data):
                raise RuntimeError(f"{where}: expected uint8 data [N, {_PIXELS}] and N labels, got {data.dtype} "
                                   f"{list(data.shape)} and {None if targets is None else len(targets)} labels")
            images.append(data)
            labels.extend(int(t) for t in targets)
        where = f"{name}: the pickle '{os.path.join(self.root, self.base_folder, self.meta['filename'])}'"
        meta = load_data_pickle(self._read(self.base_folder, self.meta["filename"]), where)
        if not isinstance(meta, dict) or self.meta["key"] not in meta:
            raise RuntimeError(f"{where} holds no '{self.meta['key']}' entry")
        classes = [str(c) for c in meta[self.meta["key"]]]
        return self._to_hwc(np.concatenate(images)), labels, classes

    @staticmethod
    def _to_hwc(planes: np.ndarray) -> np.ndarray:
        """[N, 3072] rows of R, G, B planes -> [N, 32, 32, 3]."""
        return np.ascontiguousarray(planes.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))

    # ---------------------------------------------------------------- the binary version
    def _read_binary(self):
        record = self.label_bytes + _PIXELS
        images, labels = [], []
        for file_name in self._binary_files()[:-1]:
            raw = np.frombuffer(self._read(self.binary_folder, file_name), dtype=np.uint8)
            if raw.size == 0 or raw.size % record:
                path = os.path.join(self.root, self.binary_folder, file_name)
                raise RuntimeError(f"{type(self).__name__}: '{path}' holds {raw.size} bytes, not a whole number of "
                                   f"{record}-byte records (label byte{'s' if self.label_bytes > 1 else ''} + "
                                   f"{_PIXELS} pixels)")
            rows = raw.reshape(-1, record)
            labels.extend(rows[:, self.label_bytes - 1].astype(int).tolist())
            images.append(rows[:, self.label_bytes:])
        text = self._read(self.binary_folder, self.binary_meta).decode("utf-8", "replace")
        classes = [line.strip() for line in text.splitlines() if line.strip()]
        return self._to_hwc(np.concatenate(images)), labels, classes

    # ---------------------------------------------------------------- download
    def download(self) -> None:
        """Fetch the python version's archive and unpack it into ``root`` (skipped if either version is there)."""
        if self._has(self.base_folder, self._python_files()) or self._has(self.binary_folder, self._binary_files()):
            return
        try:
            download_resources(f"{type(self).__name__} download", [(self.filename, self.tgz_md5)], self.root,
                               mirror=self.mirror, default_mirrors=self.mirrors)
        except DownloadError as e:
            raise type(e)(f"{e}. Without a network, put the files there yourself: {self._expected_files()}",
                          e.url, e.reason) from None
        extract_tar(os.path.join(self.root, self.filename), self.root)

    # ---------------------------------------------------------------- items
    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        """``(image, target)``: a PIL RGB image (after ``transform``) and an int class index."""
        image = Image.fromarray(self.data[index])
        target = self.targets[index]
        return self._transformed(image, target)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: CIFAR-10's format with 100 fine classes (the targets) in 20 coarse ones."""

    base_folder = "cifar-100-python"
    binary_folder = "cifar-100-binary"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names", "md5": "7973b15100ade9c7d40fb424638fde48"}
    binary_meta = "fine_label_names.txt"
    label_bytes = 2  # coarse label, fine label
