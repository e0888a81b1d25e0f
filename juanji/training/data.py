"""Datasets and loaders for training: in-memory uint8 images, preprocessed a whole batch at a time.

:class:`ImageArrayDataset` answers ``dataset[i]`` with one ``(image, label)`` pair and
``dataset[[i, j, ...]]`` with a whole batch, which is torch's recipe for bulk loading:
a ``DataLoader`` with ``batch_size=None`` and a ``BatchSampler`` as its sampler hands each list
of indices to the dataset in one call. Building a batch is then one fancy index and one table
lookup instead of hundreds of per-image conversions and a stack.

:func:`load_datasets` reads a source (see ``sources.py``), takes the subsets asked for, holds
out a validation share if asked, and measures the normalisation on the training images (or
takes the one a checkpoint recorded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..random import Generator
from ..tensor import Tensor
from ..utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler
from .errors import TrainingError
from .preprocess import Preprocessing, channel_statistics
from .sampler import EpochShuffleSampler, derived_seed
from .sources import read_source

__all__ = ["ImageArrayDataset", "Datasets", "load_datasets", "training_loader", "evaluation_loader"]

# purposes of the seeded streams derived from --seed (kept apart from the epoch orders)
_TRAIN_SUBSET_KEY = (0xDA7A, 1)
_TEST_SUBSET_KEY = (0xDA7A, 2)
_VALIDATION_KEY = (0xDA7A, 3)
_LOADER_KEY = (0xDA7A, 5)


class ImageArrayDataset(Dataset):
    """uint8 images ``[N, H, W]`` / ``[N, H, W, 3]`` and int64 labels ``[N]``, preprocessed on access.

    ``dataset[i]`` is ``(Tensor [C, H', W'], int)``; ``dataset[list_of_indices]`` is
    ``(Tensor [B, C, H', W'], Tensor [B])``, a ready batch.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, preprocessing: Preprocessing) -> None:
        if len(images) != len(labels):
            raise ValueError(f"ImageArrayDataset: {len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels
        self.preprocessing = preprocessing

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            image = self.preprocessing.apply(self.images[[index]])
            return Tensor._from_array(image[0]), int(self.labels[index])
        index = np.asarray(index, dtype=np.int64)
        images = self.preprocessing.apply(self.images[index])
        return Tensor._from_array(images), Tensor._from_array(self.labels[index])


@dataclass
class Datasets:
    """The three splits of a run and what describes them."""

    train: ImageArrayDataset | None
    val: ImageArrayDataset
    test: ImageArrayDataset
    classes: list[str]
    preprocessing: Preprocessing
    source: dict  # the record a checkpoint keeps to read the same data again
    description: str
    val_is_test: bool


def subset_indices(n: int, count, seed: int, key, who: str) -> np.ndarray | None:
    """The sorted indices of a seeded random ``count`` of ``n`` samples, or None for all of them."""
    if count is None or count >= n:
        return None
    if count < 1:
        raise TrainingError(f"{who} must be at least 1, got {count}")
    return np.sort(Generator().manual_seed(derived_seed(seed, *key)).np.permutation(n)[:count])


def _subset(images, labels, count, seed, key, who):
    """A seeded random ``count`` of the samples (in their original order), or all of them."""
    chosen = subset_indices(len(images), count, seed, key, who)
    if chosen is None:
        return images, labels
    return images[chosen], labels[chosen]


def validation_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(train indices, validation indices)``: a seeded ``val_fraction`` of ``n`` training
    samples held out, both sorted; None when ``val_fraction`` is 0 (validate on the test split)."""
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0:
        return None
    held_out = int(round(n * val_fraction))
    if held_out < 1 or held_out >= n:
        raise TrainingError(f"--val-fraction {val_fraction} of {n} training images leaves {held_out} for validation")
    order = Generator().manual_seed(derived_seed(seed, *_VALIDATION_KEY)).np.permutation(n)
    return np.sort(order[held_out:]), np.sort(order[:held_out])


def load_datasets(data: str, data_root=None, *, seed: int = 0, val_fraction: float = 0.0, train_samples=None,
                  test_samples=None, image_size=None, channels=None, pad: int = 0,
                  preprocessing: Preprocessing | None = None, need_train: bool = True,
                  known_classes=None, all_for_test: bool = False, resize=None) -> Datasets:
    """Read ``data`` and build the train, validation and test datasets.

    The validation split is a seeded ``val_fraction`` of the training images, or, with
    ``val_fraction=0``, the test split itself. ``preprocessing`` (from a checkpoint) replaces
    the normalisation measured on the training images; ``resize`` goes to ``read_source``.
    """
    raw = read_source(data, data_root, seed=seed, need_train=need_train, image_size=image_size, channels=channels,
                      known_classes=known_classes, all_for_test=all_for_test, resize=resize)
    test_images, test_labels = _subset(raw.test_images, raw.test_labels, test_samples, seed, _TEST_SUBSET_KEY,
                                       "--test-samples")
    train_images = train_labels = val_images = val_labels = None
    if need_train:
        train_images, train_labels = _subset(raw.train_images, raw.train_labels, train_samples, seed,
                                             _TRAIN_SUBSET_KEY, "--train-samples")
        split = validation_split(len(train_images), val_fraction, seed)
        if split is not None:
            train_idx, val_idx = split
            val_images, val_labels = train_images[val_idx], train_labels[val_idx]
            train_images, train_labels = train_images[train_idx], train_labels[train_idx]
    if preprocessing is None:
        if train_images is None:
            raise TrainingError("load_datasets: without training images the preprocessing must be given")
        mean, std = channel_statistics(train_images)
        height, width = train_images.shape[1:3]
        preprocessing = Preprocessing(channels=1 if train_images.ndim == 3 else 3, height=int(height),
                                      width=int(width), pad=int(pad), mean=mean, std=std)
    _check_format(test_images, preprocessing, raw.description, folder="image folder" in raw.description)
    test = ImageArrayDataset(test_images, test_labels, preprocessing)
    train = None if train_images is None else ImageArrayDataset(train_images, train_labels, preprocessing)
    val = test if val_images is None else ImageArrayDataset(val_images, val_labels, preprocessing)
    return Datasets(train=train, val=val, test=test, classes=list(raw.classes), preprocessing=preprocessing,
                    source=raw.record, description=raw.description, val_is_test=val_images is None)


def _check_format(images: np.ndarray, preprocessing: Preprocessing, description: str, folder: bool = False) -> None:
    """The images must be in the recorded format (a checkpoint evaluated on other data)."""
    channels = 1 if images.ndim == 3 else images.shape[-1]
    if (channels, *images.shape[1:3]) != (preprocessing.channels, preprocessing.height, preprocessing.width):
        hint = (f"; --image-size {preprocessing.height} {preprocessing.width} --channels {preprocessing.channels} "
                "converts image folders") if folder else ""
        raise TrainingError(f"{description}: images are {images.shape[1]}x{images.shape[2]} with {channels} "
                            f"channel(s), the model takes {preprocessing.describe()}{hint}")


def training_loader(dataset: ImageArrayDataset, sampler: EpochShuffleSampler, batch_size: int, workers: int,
                    seed: int) -> DataLoader:
    """Batches in ``sampler``'s order; with ``workers > 0`` they are built in worker processes.

    The loader gets a generator of its own (for the workers' seeds), so loading data never
    draws from juanji's default generator, whose state the checkpoints carry for dropout.
    """
    return DataLoader(dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      num_workers=workers, persistent_workers=workers > 0,
                      generator=Generator().manual_seed(derived_seed(seed, *_LOADER_KEY)))


def evaluation_loader(dataset: ImageArrayDataset, batch_size: int, workers: int = 0) -> DataLoader:
    """Batches in dataset order, for validation, testing and ``juanji eval``."""
    return DataLoader(dataset, batch_size=None,
                      sampler=BatchSampler(SequentialSampler(dataset), batch_size, drop_last=False),
                      num_workers=workers, generator=Generator().manual_seed(derived_seed(0, *_LOADER_KEY)))
