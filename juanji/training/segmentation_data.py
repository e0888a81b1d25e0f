"""Images and masks for ``juanji train --task segmentation``: ``--data scenes | DIR``.

- ``scenes`` (the default): the embedded FashionScenes (3,000 train / 500 test scenes, 6 classes),
  drawn at ``--image-size S S`` (default 96 x 96); only the scenes a run uses are drawn.
- ``DIR`` with ``images/`` and ``masks/`` (a :class:`~juanji.vision.datasets.SegmentationFolder`):
  ``images/NAME.jpg|png|...`` paired with ``masks/NAME.png`` (palette or grey PNG of class
  indices, 255 = ignore). The class names are the lines of ``DIR/classes.txt`` where it exists,
  else ``class_0 .. class_{K-1}`` for the largest label found. ``DIR/train/`` and ``DIR/test/``
  (each with images/ and masks/) give the splits; otherwise 20 % is held out (seeded) for testing.
- ``DIR`` that is a VOC root (``DIR/VOCdevkit/VOC2012/...``): VOC's ``train`` list for training,
  ``val`` for testing, its 21 classes.

Everything is read into memory first (uint8 images ``[N, H, W, 3]``, masks ``[N, H, W]``), so
every pair is checked before training starts: a mask of another size than its image, a label
outside the classes (other than 255), an image without its mask are one-line errors naming the
file. ``--image-size H W`` resizes images bilinearly and masks by nearest neighbour (a mask's
labels are never blended); without it every image must have the same size.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..tensor import Tensor
from ..utils.data import Dataset
from ..vision.datasets.scenes import SCENE_CLASSES, _split, render_scene
from ..vision.datasets.voc import VOC_CLASSES, VOC_YEARS, SegmentationDataError, SegmentationFolder, VOCSegmentation
from .data import _TEST_SUBSET_KEY, _TRAIN_SUBSET_KEY, Datasets, subset_indices, validation_split
from .errors import TrainingError, one_line
from .preprocess import Preprocessing, channel_statistics
from .sampler import derived_seed

__all__ = ["IGNORE_INDEX", "SegmentationArrayDataset", "load_segmentation_datasets", "read_pairs",
           "DEFAULT_SCENE_SIZE"]

IGNORE_INDEX = 255          # VOC's "void": pixels the loss and the metrics skip
DEFAULT_SCENE_SIZE = 96
FOLDER_TEST_FRACTION = 0.2
_FOLDER_SPLIT_KEY = (0xDA7A, 6)


class SegmentationArrayDataset(Dataset):
    """uint8 images ``[N, H, W, 3]`` and masks ``[N, H, W]``, preprocessed on access.

    ``dataset[i]`` is ``(Tensor [3, H, W], Tensor [H, W] int64)``; ``dataset[list_of_indices]``
    is a ready batch ``(Tensor [B, 3, H, W], Tensor [B, H, W] int64)`` (see data.py).
    """

    def __init__(self, images: np.ndarray, masks: np.ndarray, preprocessing: Preprocessing) -> None:
        if images.shape[:3] != masks.shape:
            raise ValueError(f"SegmentationArrayDataset: images {list(images.shape)} and masks "
                             f"{list(masks.shape)} do not pair up")
        self.images = images
        self.masks = masks
        self.preprocessing = preprocessing

    @property
    def labels(self) -> np.ndarray:
        return self.masks

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            image = self.preprocessing.apply(self.images[[index]])
            return Tensor._from_array(image[0]), Tensor._from_array(self.masks[index].astype(np.int64))
        index = np.asarray(index, dtype=np.int64)
        return (Tensor._from_array(self.preprocessing.apply(self.images[index])),
                Tensor._from_array(self.masks[index].astype(np.int64)))


# ---------------------------------------------------------------------------------- reading pairs
def _mask_array(mask: Image.Image, path: str) -> np.ndarray:
    if mask.mode not in ("P", "L", "I", "I;16"):
        raise TrainingError(f"segmentation data: the mask {path} is a {mask.mode} image; expected a palette or "
                            "grey PNG of class indices (255 = ignore)")
    return np.asarray(mask).astype(np.uint8) if mask.mode == "P" else np.asarray(mask)


def read_pairs(dataset, indices=None, image_size=None) -> tuple[np.ndarray, np.ndarray]:
    """The (image, mask) pairs of a VOCSegmentation / SegmentationFolder as uint8 arrays.

    Every pair is checked: same size (SegmentationDataError otherwise), one format for all
    unless ``image_size`` resizes them (image bilinear, mask nearest)."""
    indices = range(len(dataset)) if indices is None else indices
    images, masks, first = [], [], None
    for i in indices:
        image_path, mask_path = dataset.images[i], dataset.targets[i]
        try:
            image, mask = dataset[i]     # (opens both and checks their sizes agree)
            image.load(), mask.load()
        except SegmentationDataError as e:
            raise TrainingError(one_line(e)) from None
        except (OSError, ValueError, SyntaxError) as e:
            raise TrainingError(f"segmentation data: cannot read {image_path} or {mask_path}: {one_line(e)}") from None
        values = _mask_array(mask, mask_path)
        if values.max(initial=0) > 255 or values.min(initial=0) < 0:
            raise TrainingError(f"segmentation data: the mask {mask_path} has label {int(values.max())}, "
                                "outside 0..255")
        if image_size is not None:
            h, w = image_size
            image = image.resize((w, h), Image.Resampling.BILINEAR)
            values = np.asarray(Image.fromarray(values.astype(np.uint8)).resize((w, h), Image.Resampling.NEAREST))
        array = np.asarray(image, dtype=np.uint8)
        if first is None:
            first = (image_path, array.shape)
        elif array.shape != first[1]:
            raise TrainingError(f"segmentation data: {image_path} is {array.shape[0]}x{array.shape[1]} but "
                                f"{first[0]} is {first[1][0]}x{first[1][1]}; pass --image-size H W to resize "
                                "every pair")
        images.append(array)
        masks.append(values.astype(np.uint8))
    return np.stack(images), np.stack(masks)


def check_labels(masks: np.ndarray, classes: list, who: str, paths=None) -> None:
    """Every label is a class index or the ignore label 255 (one line naming a mask otherwise)."""
    bad = (masks >= len(classes)) & (masks != IGNORE_INDEX)
    if bad.any():
        n = int(np.argmax(bad.reshape(len(masks), -1).any(axis=1)))
        label = int(masks[n][bad[n]][0])
        where = f"the mask {paths[n]}" if paths is not None else f"mask {n}"
        raise TrainingError(f"{who}: {where} has label {label}, outside the {len(classes)} classes "
                            f"0..{len(classes) - 1} (255 = ignore)")


# ---------------------------------------------------------------------------------- sources
def _scenes(train: bool, size: int, indices) -> tuple[np.ndarray, np.ndarray]:
    """The chosen scenes (all when ``indices`` is None), drawn at ``size``."""
    split = _split(train)
    chosen = range(len(split["background"])) if indices is None else indices
    images = np.empty((len(chosen), size, size, 3), np.uint8)
    masks = np.empty((len(chosen), size, size), np.uint8)
    for j, i in enumerate(chosen):
        images[j], masks[j] = render_scene(split["background"][i], split["noise"][i], split["object_index"][i],
                                           split["objects"][i], split["garments"], split["garment_labels"], size)
    return images, masks


def _read_scenes(seed, need_train, train_samples, test_samples, image_size):
    if image_size is not None and image_size[0] != image_size[1]:
        raise TrainingError(f"--data scenes: the scenes are square; --image-size {image_size[0]} {image_size[1]}")
    size = int(image_size[0]) if image_size is not None else DEFAULT_SCENE_SIZE
    if size < 8:
        raise TrainingError(f"--data scenes: --image-size must be at least 8, got {size}")
    train = None
    if need_train:
        n = len(_split(True)["background"])
        train = _scenes(True, size, subset_indices(n, train_samples, seed, _TRAIN_SUBSET_KEY, "--train-samples"))
    n = len(_split(False)["background"])
    test = _scenes(False, size, subset_indices(n, test_samples, seed, _TEST_SUBSET_KEY, "--test-samples"))
    record = {"data": "scenes", "image_size": [size, size]}
    return train, test, list(SCENE_CLASSES), f"the embedded FashionScenes ({size}x{size})", record


def _voc_root(root: str):
    """``(year, VOC folder)`` when ``root`` holds a VOC tree, else None."""
    for year, (_, _, _, base) in VOC_YEARS.items():
        if os.path.isdir(os.path.join(root, base, "SegmentationClass")):
            return year, os.path.join(root, base)
    return None


def _folder_classes(root: str, masks: list[np.ndarray]) -> list[str]:
    names_file = os.path.join(root, "classes.txt")
    if os.path.isfile(names_file):
        with open(names_file, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
        if not names:
            raise TrainingError(f"segmentation data: {names_file} names no classes")
        return names
    labels = [m[m != IGNORE_INDEX] for m in masks]
    top = max((int(v.max()) for v in labels if v.size), default=0)
    return [f"class_{c}" for c in range(max(top + 1, 2))]


def _subset_pairs(images, masks, count, seed, key, who):
    chosen = subset_indices(len(images), count, seed, key, who)
    return (images, masks) if chosen is None else (images[chosen], masks[chosen])


def _read_folder(path, seed, need_train, train_samples, test_samples, image_size, known_classes):
    root = os.path.abspath(path)
    who = f"--data {path}"
    record = {"data": root, "image_size": list(image_size) if image_size else None}
    try:
        voc = _voc_root(root)
        if voc is not None:
            year, voc_folder = voc
            splits = [("train", True), ("val", False)] if need_train else [("val", False)]
            arrays = {}
            for image_set, _ in splits:
                dataset = VOCSegmentation(root, year=year, image_set=image_set)
                arrays[image_set] = read_pairs(dataset, image_size=image_size)
                check_labels(arrays[image_set][1], VOC_CLASSES, who, dataset.targets)
            train = arrays.get("train")
            if train is not None:
                train = _subset_pairs(*train, train_samples, seed, _TRAIN_SUBSET_KEY, "--train-samples")
            test = _subset_pairs(*arrays["val"], test_samples, seed, _TEST_SUBSET_KEY, "--test-samples")
            return train, test, list(VOC_CLASSES), f"VOC {year} segmentation ({voc_folder})", record
        split_folders = [os.path.join(root, s) for s in ("train", "test")]
        if all(os.path.isdir(os.path.join(f, "images")) for f in split_folders):
            folders = {"train": SegmentationFolder(split_folders[0]) if need_train else None,
                       "test": SegmentationFolder(split_folders[1])}
            arrays = {k: read_pairs(d, image_size=image_size) for k, d in folders.items() if d is not None}
            classes = list(known_classes) if known_classes else _folder_classes(
                root, [m for _, masks in arrays.values() for m in masks])
            for k, (_, masks) in arrays.items():
                check_labels(masks, classes, who, folders[k].targets)
            train = arrays.get("train")
            if train is not None:
                train = _subset_pairs(*train, train_samples, seed, _TRAIN_SUBSET_KEY, "--train-samples")
            test = _subset_pairs(*arrays["test"], test_samples, seed, _TEST_SUBSET_KEY, "--test-samples")
            return train, test, classes, f"segmentation folders {split_folders[0]}, {split_folders[1]}", record
        if not os.path.isdir(os.path.join(root, "images")) and not os.path.isdir(os.path.join(root, "masks")):
            raise TrainingError(f"{who}: not segmentation data: expected images/ and masks/ folders (or train/ and "
                                "test/ holding them, or a VOC root with VOCdevkit/)")
        folder = SegmentationFolder(root)
    except SegmentationDataError as e:
        raise TrainingError(f"{who}: {one_line(e)}") from None
    except RuntimeError as e:    # VOCSegmentation: a split file that cannot be read
        raise TrainingError(f"{who}: {one_line(e)}") from None
    images, masks = read_pairs(folder, image_size=image_size)
    classes = list(known_classes) if known_classes else _folder_classes(root, list(masks))
    check_labels(masks, classes, who, folder.targets)
    if len(images) < 2:
        raise TrainingError(f"{who}: only {len(images)} image; need at least 2 to hold one out for testing")
    # a fixed, seeded share for testing: the same folder and seed give the same split
    order = np.random.default_rng(derived_seed(seed, *_FOLDER_SPLIT_KEY)).permutation(len(images))
    held_out = max(1, int(round(len(images) * FOLDER_TEST_FRACTION)))
    test_idx, train_idx = np.sort(order[:held_out]), np.sort(order[held_out:])
    record["split_seed"] = int(seed)
    train = _subset_pairs(images[train_idx], masks[train_idx], train_samples, seed, _TRAIN_SUBSET_KEY,
                          "--train-samples") if need_train else None
    test = _subset_pairs(images[test_idx], masks[test_idx], test_samples, seed, _TEST_SUBSET_KEY, "--test-samples")
    return train, test, classes, f"segmentation folder {root} ({FOLDER_TEST_FRACTION:.0%} held out for testing)", \
        record


# ---------------------------------------------------------------------------------- entry point
def load_segmentation_datasets(data: str, data_root=None, *, seed: int = 0, val_fraction: float = 0.0,
                               train_samples=None, test_samples=None, image_size=None,
                               preprocessing: Preprocessing | None = None, need_train: bool = True,
                               known_classes=None) -> Datasets:
    """Read ``data`` (``scenes`` or a folder) and build the train, validation and test datasets
    (``Datasets`` of data.py, with :class:`SegmentationArrayDataset` splits).

    The validation split is a seeded ``val_fraction`` of the training pairs (0: the test split);
    ``preprocessing`` (from a checkpoint) replaces the normalisation measured on the training
    images; ``known_classes`` (a checkpoint's) are the classes every label must fall in.
    """
    if image_size is not None and (len(image_size) != 2 or min(image_size) < 1):
        raise TrainingError(f"--image-size takes two positive numbers H W, got {list(image_size)}")
    if data in ("scenes", "sample"):
        train, test, classes, description, record = _read_scenes(seed, need_train, train_samples, test_samples,
                                                                 image_size)
    elif not os.path.exists(data):
        raise TrainingError(f"--data {data}: no such folder (expected scenes, a folder with images/ and masks/, "
                            "or a VOC root)")
    elif not os.path.isdir(data):
        raise TrainingError(f"--data {data}: is a file; expected a folder with images/ and masks/ or a VOC root")
    else:
        train, test, classes, description, record = _read_folder(data, seed, need_train, train_samples,
                                                                 test_samples, image_size, known_classes)
    if known_classes is not None:
        check_labels(test[1], list(known_classes), f"--data {data}")
    val = None
    if need_train:
        split = validation_split(len(train[0]), val_fraction, seed)
        if split is not None:
            train_idx, val_idx = split
            val = (train[0][val_idx], train[1][val_idx])
            train = (train[0][train_idx], train[1][train_idx])
    if preprocessing is None:
        if train is None:
            raise TrainingError("load_segmentation_datasets: without training images the preprocessing must be given")
        mean, std = channel_statistics(train[0])
        preprocessing = Preprocessing(channels=3, height=int(train[0].shape[1]), width=int(train[0].shape[2]),
                                      mean=mean, std=std)
    test_set = SegmentationArrayDataset(*test, preprocessing)
    train_set = None if train is None else SegmentationArrayDataset(*train, preprocessing)
    val_set = test_set if val is None else SegmentationArrayDataset(*val, preprocessing)
    return Datasets(train=train_set, val=val_set, test=test_set, classes=classes, preprocessing=preprocessing,
                    source=record, description=description, val_is_test=val is None)
