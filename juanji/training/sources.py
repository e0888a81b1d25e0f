"""Where training images come from: ``--data sample | fashion-mnist | mnist | DIR``.

Every source is read completely into memory as uint8 arrays (images ``[N, H, W]`` or
``[N, H, W, 3]``, labels ``[N]``), so every file is checked before training starts and
an epoch never stops half-way on a bad file:

- ``sample``: the Fashion-MNIST sample embedded in the package (6,000 train / 1,000 test).
- ``fashion-mnist`` / ``mnist``: the four IDX files of the MNIST distribution, looked for in
  ``DATA_ROOT/fashion-mnist`` (``mnist``, ``mnist-10k``), ``DATA_ROOT/FashionMNIST/raw``
  (torchvision's layout) or ``DATA_ROOT`` itself.
- ``DIR``: a folder holding those four IDX files, or an image-folder tree: ``DIR/train/<class>/``
  and ``DIR/test/<class>/`` (or ``DIR/val/``), or just ``DIR/<class>/``, from which a fixed
  fraction is held out as the test split.

``DATA_ROOT`` is ``--data-root``, else ``../shared/data`` when that folder exists, else the
environment variable ``JUANJI_DATA``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..random import Generator
from ..vision.datasets import IDXError, read_idx
from ..vision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset
from ..vision.datasets.mnist import MNIST, FashionMNIST
from ..vision.datasets.sample import load_sample
from .errors import TrainingError, one_line
from .preprocess import fit_image, image_channels
from .sampler import derived_seed

__all__ = ["RawData", "NAMED_DATASETS", "read_source", "is_image_folder", "resolve_data_root", "IDX_FILES", "FOLDER_TEST_FRACTION"]

# name -> (sub-folders of the data root to look in, class names)
NAMED_DATASETS = {
    "fashion-mnist": (("fashion-mnist", "FashionMNIST/raw", "fashion_mnist"), FashionMNIST.classes),
    "mnist": (("mnist", "MNIST/raw", "mnist-10k"), MNIST.classes),
}
# split -> (images file, labels file), without the optional .gz
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
# share of an image folder without a test/ sub-folder that is held out for testing
FOLDER_TEST_FRACTION = 0.2
_FOLDER_SPLIT_KEY = (0xDA7A, 4)


@dataclass
class RawData:
    """Images and labels as read, before any preprocessing or subsetting."""

    train_images: np.ndarray | None
    train_labels: np.ndarray | None
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]
    description: str
    record: dict = field(default_factory=dict)  # what a checkpoint needs to read the same data again


def resolve_data_root(data_root, who: str) -> str:
    """``--data-root``, else ``../shared/data`` if present, else ``$JUANJI_DATA``."""
    if data_root:
        if not os.path.isdir(data_root):
            raise TrainingError(f"{who}: --data-root '{data_root}' is not a folder")
        return os.path.abspath(data_root)
    shared = os.path.join("..", "shared", "data")
    if os.path.isdir(shared):
        return os.path.abspath(shared)
    env = os.environ.get("JUANJI_DATA")
    if env:
        if not os.path.isdir(env):
            raise TrainingError(f"{who}: JUANJI_DATA='{env}' is not a folder")
        return os.path.abspath(env)
    raise TrainingError(f"{who}: no data folder: pass --data-root, or set JUANJI_DATA "
                        "(../shared/data does not exist here)")


# ---------------------------------------------------------------------------------- IDX files
def _idx_path(folder: str, base: str) -> str | None:
    for name in (base, base + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _has_idx(folder: str) -> bool:
    return _idx_path(folder, IDX_FILES["train"][0]) is not None or _idx_path(folder, IDX_FILES["test"][0]) is not None


def _read_idx_split(folder: str, split: str, who: str) -> tuple[np.ndarray, np.ndarray]:
    images_base, labels_base = IDX_FILES[split]
    arrays = []
    for base in (images_base, labels_base):
        path = _idx_path(folder, base)
        if path is None:
            raise TrainingError(f"{who}: missing dataset file {base}[.gz] in '{folder}'")
        try:
            arrays.append((path, read_idx(path)))
        except (IDXError, OSError) as e:
            raise TrainingError(f"{who}: {one_line(e)}") from None
    (images_path, images), (labels_path, labels) = arrays
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise TrainingError(f"{who}: expected uint8 images [N, H, W] in '{images_path}', "
                            f"got {images.dtype} {list(images.shape)}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise TrainingError(f"{who}: expected integer labels [N] in '{labels_path}', "
                            f"got {labels.dtype} {list(labels.shape)}")
    if len(images) != len(labels):
        raise TrainingError(f"{who}: '{images_path}' holds {len(images)} images but '{labels_path}' "
                            f"holds {len(labels)} labels")
    if len(labels) == 0:
        raise TrainingError(f"{who}: '{images_path}' holds no images")
    if labels.min() < 0:
        raise TrainingError(f"{who}: '{labels_path}' has a negative label ({labels.min()})")
    return images, labels.astype(np.int64)


def _read_idx_folder(folder: str, who: str, need_train: bool, classes=None):
    train = _read_idx_split(folder, "train", who) if need_train else (None, None)
    test_images, test_labels = _read_idx_split(folder, "test", who)
    top = max(int(test_labels.max()), int(train[1].max()) if need_train else 0)
    if classes is None:
        classes = [str(i) for i in range(max(top + 1, 2))]
    elif top >= len(classes):
        raise TrainingError(f"{who}: label {top} found, but the dataset has {len(classes)} classes")
    return train[0], train[1], test_images, test_labels, list(classes)


def _read_named(name: str, data_root, need_train: bool) -> RawData:
    who = f"--data {name}"
    root = resolve_data_root(data_root, who)
    subfolders, classes = NAMED_DATASETS[name]
    candidates = [os.path.join(root, sub) for sub in subfolders] + [root]
    folder = next((c for c in candidates if os.path.isdir(c) and _has_idx(c)), None)
    if folder is None:
        looked = ", ".join(f"'{c}'" for c in candidates)
        raise TrainingError(f"{who}: no IDX files ({IDX_FILES['train'][0]}[.gz]) in {looked}")
    data = _read_idx_folder(folder, who, need_train, classes)
    return RawData(*data, description=f"{name} ({folder})", record={"data": name, "data_root": root})


# ---------------------------------------------------------------------------------- image folders
def _decode(path: str, size, channels, resize=None) -> np.ndarray:
    """One image file as uint8, converted to ``channels`` and brought to ``size`` where given
    (resized, or with ``resize`` its shorter side resized and the centre cropped: ``fit_image``)."""
    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, naming the file
            mode = "L" if (channels or image_channels(image)) == 1 else "RGB"
            converted = image.convert(mode)
    except (OSError, ValueError, SyntaxError) as e:  # UnidentifiedImageError, truncated data, bad headers
        raise TrainingError(f"cannot read image file '{path}': {one_line(e)}") from None
    if size is not None and converted.size != (size[1], size[0]):
        converted = fit_image(converted, size[0], size[1], resize)
    return np.asarray(converted, dtype=np.uint8)


def _read_class_tree(root: str, who: str, image_size, channels, expected_format=None, class_names=None,
                     resize=None):
    """All images under ``root/<class>/`` as one array; every image must share one format.

    The format is ``image_size`` / ``channels`` where given (images are converted), else the
    first image's: an image of another size or channel count is an error naming both files.
    """
    try:
        classes, class_to_idx = find_classes(root)
        if class_names is not None:
            unknown = sorted(set(classes) - set(class_names))
            if unknown:
                raise TrainingError(f"{who}: '{root}' has classes {unknown} that the training folder lacks")
            class_to_idx = {name: class_names.index(name) for name in classes}
            classes = list(class_names)
        samples = make_dataset(root, class_to_idx, extensions=IMG_EXTENSIONS)
    except (FileNotFoundError, NotADirectoryError, ValueError) as e:
        raise TrainingError(f"{who}: {one_line(e)}") from None
    if not samples:
        raise TrainingError(f"{who}: no images in '{root}'")
    images, labels = [], []
    first = expected_format
    for path, label in samples:
        array = _decode(path, image_size, channels, resize)
        shape = array.shape
        if first is None:
            first = (path, shape)
        elif shape != first[1]:
            raise TrainingError(
                f"{who}: image '{path}' is {_format(shape)}, but '{first[0]}' set the model input to "
                f"{_format(first[1])}; pass --image-size H W and/or --channels to convert every image")
        images.append(array)
        labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes, first


def _format(shape) -> str:
    kind = "grey" if len(shape) == 2 else "RGB"
    return f"{shape[0]}x{shape[1]} {kind}"


def _known_names(tree: str, known_classes):
    """``known_classes`` (a checkpoint's, in its label order) when every class folder of ``tree``
    is among them, so that labels follow the model's order; else None (the folders' own order)."""
    if known_classes is None:
        return None
    try:
        found, _ = find_classes(tree)
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None   # _read_class_tree reports the problem
    return list(known_classes) if set(found) <= set(known_classes) else None


def _read_folder(path: str, seed: int, need_train: bool, image_size, channels, known_classes=None,
                 all_for_test: bool = False, resize=None) -> RawData:
    who = f"--data {path}"
    root = os.path.abspath(path)
    record = {"data": root, "image_size": list(image_size) if image_size else None, "channels": channels}
    if _has_idx(root):
        data = _read_idx_folder(root, who, need_train)
        return RawData(*data, description=f"IDX files in {root}", record=record)
    train_dir = os.path.join(root, "train")
    test_dir = next((os.path.join(root, d) for d in ("test", "val") if os.path.isdir(os.path.join(root, d))), None)
    if os.path.isdir(train_dir) and test_dir is not None:
        if need_train:
            train_images, train_labels, classes, first = _read_class_tree(train_dir, who, image_size, channels,
                                                                          class_names=_known_names(train_dir,
                                                                                                   known_classes),
                                                                          resize=resize)
        else:   # (evaluating: the test tree alone, in the model's label order where it can be)
            train_images = train_labels = first = None
            classes = _known_names(test_dir, known_classes)
        test_images, test_labels, classes, _ = _read_class_tree(test_dir, who, image_size, channels,
                                                                expected_format=first, class_names=classes,
                                                                resize=resize)
        return RawData(train_images if need_train else None, train_labels if need_train else None,
                       test_images, test_labels, classes, f"image folders {train_dir}, {test_dir}", record)
    # DIR/train/<class>/ without a test folder, or DIR/<class>/: hold out part of it for testing
    tree = train_dir if os.path.isdir(train_dir) else root
    images, labels, classes, _ = _read_class_tree(tree, who, image_size, channels,
                                                  class_names=_known_names(tree, known_classes), resize=resize)
    if all_for_test and not need_train:   # evaluating on a folder the model was not trained on: all of it
        return RawData(None, None, images, labels, classes, f"image folder {tree} (all {len(images):,} images)",
                       record)
    if len(images) < 2:
        raise TrainingError(f"{who}: only {len(images)} image; need at least 2 to hold one out for testing")
    # hold out a fixed, seeded share for testing: the same folder and seed give the same split
    order = Generator().manual_seed(derived_seed(seed, *_FOLDER_SPLIT_KEY)).np.permutation(len(images))
    held_out = max(1, int(round(len(images) * FOLDER_TEST_FRACTION)))
    test_idx, train_idx = np.sort(order[:held_out]), np.sort(order[held_out:])
    record["split_seed"] = int(seed)
    return RawData(images[train_idx] if need_train else None, labels[train_idx] if need_train else None,
                   images[test_idx], labels[test_idx], classes,
                   f"image folder {tree} ({FOLDER_TEST_FRACTION:.0%} held out for testing)", record)


# ---------------------------------------------------------------------------------- entry point
def read_source(data: str, data_root=None, *, seed: int = 0, need_train: bool = True, image_size=None,
                channels=None, known_classes=None, all_for_test: bool = False, resize=None) -> RawData:
    """Read ``--data`` (a name or a folder) into memory; every problem is a one-line TrainingError.

    ``known_classes`` (a trained model's class names): an image folder whose class folders are
    all among them gets labels in the model's order (``RawData.classes`` is then that list).
    ``all_for_test`` (evaluating on a folder the model was not trained on): a single class tree
    is all test images, instead of a held-out share. ``resize`` (a pretrained model's preset):
    image files get their shorter side resized to it and the centre ``image_size`` cropped.
    """
    if data == "sample":
        if image_size is not None or channels is not None:
            raise TrainingError("--data sample: --image-size and --channels apply to image folders only")
        train_images, train_labels = load_sample(train=True) if need_train else (None, None)
        test_images, test_labels = load_sample(train=False)
        return RawData(train_images, None if train_labels is None else train_labels.astype(np.int64),
                       test_images, test_labels.astype(np.int64), list(FashionMNIST.classes),
                       "the embedded Fashion-MNIST sample", {"data": "sample"})
    if data in NAMED_DATASETS:
        if image_size is not None or channels is not None:
            raise TrainingError(f"--data {data}: --image-size and --channels apply to image folders only")
        return _read_named(data, data_root, need_train)
    if not os.path.exists(data):
        names = ", ".join(["sample", *NAMED_DATASETS])
        raise TrainingError(f"--data {data}: no such folder (expected {names} or a folder of IDX files or images)")
    if not os.path.isdir(data):
        raise TrainingError(f"--data {data}: is a file; expected a folder of IDX files or of class folders")
    return _read_folder(os.fspath(Path(data)), seed, need_train, image_size, channels, known_classes, all_for_test,
                        resize)


def is_image_folder(data: str) -> bool:
    """Whether ``--data`` names a folder of class folders (not sample, a named IDX set or IDX files)."""
    return data != "sample" and data not in NAMED_DATASETS and os.path.isdir(data) \
        and not _has_idx(os.path.abspath(data))
