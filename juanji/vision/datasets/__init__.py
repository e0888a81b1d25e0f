"""juanji.vision.datasets: torchvision's MNIST, FashionMNIST, CIFAR10, CIFAR100, SVHN, FakeData,
DatasetFolder and ImageFolder, plus the readers behind them (IDX, MATLAB level-5 MAT-files, data-only
pickles) and the Fashion-MNIST sample embedded in the package (:class:`FashionMNISTSample`, :func:`load_sample`)."""

from ._download import ChecksumError, DownloadError
from ._safe_pickle import UnsafePickleError, load_data_pickle
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, UnreadableImageError, default_loader, pil_loader
from .idx import IDXError, parse_idx, read_idx, write_idx
from .matfile import MatFileError, read_mat
from .mnist import MNIST, FashionMNIST
from .sample import FashionMNISTSample, load_sample
from .scenes import FashionScenes, load_scenes
from .svhn import SVHN
from .vision import StandardTransform, VisionDataset
from .voc import SegmentationFolder, VOCSegmentation
from ._wrap import wrap_dataset_for_transforms_v2

__all__ = ["VisionDataset", "StandardTransform", "MNIST", "FashionMNIST", "FashionMNISTSample", "load_sample",
           "FashionScenes", "load_scenes", "VOCSegmentation", "SegmentationFolder",
           "CIFAR10", "CIFAR100", "SVHN", "FakeData", "DatasetFolder", "ImageFolder", "IMG_EXTENSIONS",
           "default_loader", "pil_loader", "read_idx", "parse_idx", "write_idx", "read_mat", "load_data_pickle",
           "IDXError", "MatFileError", "UnsafePickleError", "UnreadableImageError", "DownloadError",
           "ChecksumError", "wrap_dataset_for_transforms_v2"]
