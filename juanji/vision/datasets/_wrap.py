"""``wrap_dataset_for_transforms_v2``: dataset items in the tv_tensors that the v2 transforms understand.

A segmentation dataset gives ``(PIL image, PIL mask)``. Handed to a v2 transform as they are, both
would be taken for images, and the mask would be resampled bilinearly (its class ids blended). The
wrapper turns the mask into a ``tv_tensors.Mask`` (kept [1, H, W], uint8 class ids) before the dataset's
``transforms`` run, so geometric transforms move it with nearest interpolation and colour transforms
leave it alone — torchvision's function of the same name, for juanji's datasets:

    train = wrap_dataset_for_transforms_v2(VOCSegmentation(root, image_set="train", transforms=v2.Compose([
        v2.RandomResizedCrop(320), v2.RandomHorizontalFlip(), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])))
    image, mask = train[0]               # Image [3, 320, 320] float, Mask [1, 320, 320] uint8

Classification datasets (MNIST, CIFAR, SVHN, ImageFolder, ...) are wrapped unchanged (their targets are
plain ints), as torchvision does.
"""

from __future__ import annotations

import collections.abc
from copy import copy

from .. import tv_tensors
from .cifar import CIFAR10
from .fakedata import FakeData
from .folder import DatasetFolder
from .mnist import MNIST
from .scenes import FashionScenes
from .svhn import SVHN
from .vision import VisionDataset
from .voc import SegmentationFolder, VOCSegmentation

__all__ = ["wrap_dataset_for_transforms_v2"]


def _identity(index, sample):
    return sample


def _segmentation(index, sample):
    image, mask = sample
    return image, tv_tensors.Mask(mask)


# dataset class -> how its raw items become v2 samples (the first class of the MRO found wins)
_WRAPPERS = {CIFAR10: _identity, MNIST: _identity, SVHN: _identity, FakeData: _identity, DatasetFolder: _identity,
             VOCSegmentation: _segmentation, SegmentationFolder: _segmentation, FashionScenes: _segmentation}


class _TVTensorWrapper:
    """Delegates to the wrapped dataset; applies its transforms after the items are converted."""

    def __init__(self, dataset, target_keys):
        for cls in type(dataset).__mro__:
            if cls in _WRAPPERS:
                self._convert = _WRAPPERS[cls]
                break
        else:
            raise TypeError(f"No wrapper exists for dataset class {type(dataset).__name__}. Please wrap the output "
                            "yourself (e.g. tv_tensors.Mask(mask) for a segmentation mask).")
        if target_keys is not None:
            raise ValueError(f"`target_keys` is only supported for detection datasets, which juanji does not have; "
                             f"got {target_keys} for {type(dataset).__name__}")
        self._dataset = dataset
        self._target_keys = target_keys
        # the wrapper applies the user's transforms itself, after the conversion
        self.transform, dataset.transform = dataset.transform, None
        self.target_transform, dataset.target_transform = dataset.target_transform, None
        self.transforms, dataset.transforms = dataset.transforms, None

    def __getattr__(self, name):
        dataset = self.__dict__.get("_dataset")
        if dataset is None:
            raise AttributeError(name)
        return getattr(dataset, name)

    def __getitem__(self, index):
        sample = self._convert(index, self._dataset[index])
        if self.transforms is not None:
            sample = self.transforms(*sample)
        return sample

    def __len__(self) -> int:
        return len(self._dataset)

    def __reduce__(self):
        # DataLoader workers started with 'spawn' pickle the dataset: rebuild the wrapper around a copy
        dataset = copy(self._dataset)
        dataset.transform, dataset.target_transform, dataset.transforms = (self.transform, self.target_transform,
                                                                          self.transforms)
        return wrap_dataset_for_transforms_v2, (dataset, self._target_keys)


def wrap_dataset_for_transforms_v2(dataset, target_keys=None):
    """``dataset`` with its items as v2 samples: segmentation masks become ``tv_tensors.Mask``; the
    result is still an instance of the dataset's class (``isinstance`` holds) and takes its transforms."""
    if not isinstance(dataset, VisionDataset):
        raise TypeError(f"This wrapper is meant for subclasses of juanji.vision.datasets.VisionDataset, but got a "
                        f"'{type(dataset).__name__}' instead.")
    if not (target_keys is None or target_keys == "all" or (isinstance(target_keys, collections.abc.Collection)
                                                            and all(isinstance(k, str) for k in target_keys))):
        raise ValueError(f"`target_keys` can be None, 'all', or a collection of strings denoting the keys to be "
                         f"returned, but got {target_keys}")
    wrapped_class = type(f"Wrapped{type(dataset).__name__}", (_TVTensorWrapper, type(dataset)), {})
    return wrapped_class(dataset, target_keys)
