"""juanji.vision.datasets: torchvision's MNIST, FashionMNIST, ImageFolder, plus the IDX reader and
the Fashion-MNIST sample embedded in the package (:class:`FashionMNISTSample`, :func:`load_sample`)."""

from ._download import ChecksumError, DownloadError
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, UnreadableImageError, default_loader, pil_loader
from .idx import IDXError, parse_idx, read_idx, write_idx
from .mnist import MNIST, FashionMNIST
from .sample import FashionMNISTSample, load_sample
from .scenes import FashionScenes, load_scenes
from .vision import StandardTransform, VisionDataset
from .voc import SegmentationFolder, VOCSegmentation

__all__ = ["VisionDataset", "StandardTransform", "MNIST", "FashionMNIST", "FashionMNISTSample", "load_sample",
           "FashionScenes", "load_scenes", "VOCSegmentation", "SegmentationFolder",
           "DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader", "read_idx",
           "parse_idx", "write_idx", "IDXError", "UnreadableImageError", "DownloadError", "ChecksumError"]
