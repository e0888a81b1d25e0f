"""Pascal VOC semantic segmentation, with torchvision's signature and items, and a plain
image/mask folder pair for one's own data.

VOC's layout under ``root`` (what the VOC tar files unpack to)::

    root/VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg           the images
    root/VOCdevkit/VOC2012/SegmentationClass/2007_000032.png    palette PNG: class index per pixel,
                                                                0 background, 1..20 the classes,
                                                                255 "void" (object borders, unlabelled)
    root/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt     one image id per line (also val, trainval)

An item is ``(PIL RGB image, PIL mask)``; ``transforms`` sees both (joint transforms),
``transform`` the image and ``target_transform`` the mask. The void label 255 is meant to be
skipped by the loss and the metrics: ``cross_entropy(..., ignore_index=255)``,
``SegmentationMetrics(num_classes, ignore_index=255)``.

:class:`SegmentationFolder` reads ``root/images/NAME.(jpg|png|...)`` with ``root/masks/NAME.png``.
"""

from __future__ import annotations

import os
import tarfile

import numpy as np
from PIL import Image

from ._download import download_resources
from .folder import IMG_EXTENSIONS
from .vision import VisionDataset

__all__ = ["VOCSegmentation", "SegmentationFolder", "VOC_CLASSES", "VOC_YEARS", "voc_palette",
           "SegmentationDataError"]

# year -> (URL, archive name, MD5, folder inside root); the archives of the VOC site
VOC_YEARS = {
    "2012": ("http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar",
             "VOCtrainval_11-May-2012.tar", "6cd6e144f989b92b3379bac3b3de84fd", "VOCdevkit/VOC2012"),
    "2011": ("http://host.robots.ox.ac.uk/pascal/VOC/voc2011/VOCtrainval_25-May-2011.tar",
             "VOCtrainval_25-May-2011.tar", "6c3384ef61512963050cb5d687e5bf1e", "TrainVal/VOCdevkit/VOC2011"),
    "2010": ("http://host.robots.ox.ac.uk/pascal/VOC/voc2010/VOCtrainval_03-May-2010.tar",
             "VOCtrainval_03-May-2010.tar", "da459979d0c395079b5c75ee67908abb", "VOCdevkit/VOC2010"),
    "2009": ("http://host.robots.ox.ac.uk/pascal/VOC/voc2009/VOCtrainval_11-May-2009.tar",
             "VOCtrainval_11-May-2009.tar", "a3e00b113cfcfebf17e343f59da3caa1", "VOCdevkit/VOC2009"),
    "2008": ("http://host.robots.ox.ac.uk/pascal/VOC/voc2008/VOCtrainval_14-Jul-2008.tar",
             "VOCtrainval_11-May-2012.tar", "2629fa636546599198acfcfbfcf1904a", "VOCdevkit/VOC2008"),
    "2007": ("http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",
             "VOCtrainval_06-Nov-2007.tar", "c52e279531787c972589f7e41ab4ae64", "VOCdevkit/VOC2007"),
}
VOC_2007_TEST = ("http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar",
                 "VOCtest_06-Nov-2007.tar", "b6e924de25625d8de591ea690078ad9f", "VOCdevkit/VOC2007")
VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor"]


class SegmentationDataError(ValueError):
    """An image and its mask that cannot be paired (missing mask, different sizes)."""


def voc_palette() -> np.ndarray:
    """VOC's colour map, uint8 [256, 3]: label l gets the bits of l spread over the three colour
    channels, most significant first (label 1 is (128, 0, 0), 255 is (224, 224, 192))."""
    palette = np.zeros((256, 3), np.uint8)
    for label in range(256):
        value, c = label, [0, 0, 0]
        for shift in range(7, -1, -1):
            for channel in range(3):
                c[channel] |= ((value >> channel) & 1) << shift
            value >>= 3
        palette[label] = c
    return palette


def _choice(name: str, value, valid) -> str:
    if value not in valid:
        raise ValueError(f"Unknown value '{value}' for argument {name}. Valid values are {{{', '.join(valid)}}}.")
    return value


def _check_pair(image: Image.Image, mask: Image.Image, image_path, mask_path) -> None:
    if image.size != mask.size:
        raise SegmentationDataError(f"segmentation data: the mask {mask_path} is {mask.size[0]}x{mask.size[1]} "
                                    f"but its image {image_path} is {image.size[0]}x{image.size[1]}")


class VOCSegmentation(VisionDataset):
    """`Pascal VOC <http://host.robots.ox.ac.uk/pascal/VOC/>`_ segmentation (torchvision's signature).

    Args:
        root: the folder holding ``VOCdevkit`` (see the module docstring).
        year: "2007" .. "2012".
        image_set: "train", "trainval" or "val" ("test" too for 2007).
        download: fetch and unpack the year's archive into ``root`` if it is not there (about 2 GB
            for 2012); ``mirror=`` or ``$JUANJI_DATASET_MIRROR`` names another base URL.
        transform / target_transform / transforms: as for every vision dataset.
    """

    classes = VOC_CLASSES

    def __init__(self, root, year: str = "2012", image_set: str = "train", download: bool = False, transform=None,
                 target_transform=None, transforms=None, *, mirror=None):
        super().__init__(root, transforms=transforms, transform=transform, target_transform=target_transform)
        self.year = _choice("year", year, list(VOC_YEARS))
        sets = ["train", "trainval", "val"] + (["test"] if year == "2007" else [])
        self.image_set = _choice("image_set", image_set, sets)
        url, filename, md5, base_dir = VOC_2007_TEST if (year, image_set) == ("2007", "test") else VOC_YEARS[year]
        self.url, self.filename, self.md5 = url, filename, md5
        voc_root = os.path.join(self.root, base_dir)
        if download and not os.path.isdir(voc_root):
            self._download(url, filename, md5, mirror)
        if not os.path.isdir(voc_root):
            raise RuntimeError(f"Dataset not found or corrupted. You can use download=True to download it "
                               f"(VOCSegmentation looked for the folder {voc_root}, which the archive {filename} "
                               "unpacks to)")
        split_file = os.path.join(voc_root, "ImageSets", "Segmentation", image_set + ".txt")
        try:
            with open(split_file) as f:
                names = [line.strip() for line in f if line.strip()]
        except OSError as e:
            raise RuntimeError(f"VOCSegmentation: cannot read the split file {split_file}: {e.strerror}") from None
        self.images = [os.path.join(voc_root, "JPEGImages", n + ".jpg") for n in names]
        self.targets = [os.path.join(voc_root, "SegmentationClass", n + ".png") for n in names]

    @property
    def masks(self) -> list:
        return self.targets

    def _download(self, url, filename, md5, mirror) -> None:
        os.makedirs(self.root, exist_ok=True)
        download_resources("VOCSegmentation", [(filename, md5)], self.root, mirror=mirror,
                           default_mirrors=[url.rsplit("/", 1)[0] + "/"])
        with tarfile.open(os.path.join(self.root, filename)) as tar:
            tar.extractall(self.root, filter="data")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        image = Image.open(self.images[index]).convert("RGB")
        mask = Image.open(self.targets[index])
        _check_pair(image, mask, self.images[index], self.targets[index])
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask

    def extra_repr(self) -> str:
        return f"Year: {self.year}\nImage set: {self.image_set}"


class SegmentationFolder(VisionDataset):
    """One's own segmentation data: ``root/images/NAME.ext`` paired with ``root/masks/NAME.png``
    (a palette or greyscale PNG of class indices; 255 = ignore). Every image must have its
    mask: a missing one raises :class:`SegmentationDataError` naming it. ``classes`` defaults to
    ``class_0 .. class_{K-1}`` for the largest label K-1 found below 255 when first asked."""

    def __init__(self, root, transforms=None, transform=None, target_transform=None, classes=None):
        super().__init__(root, transforms=transforms, transform=transform, target_transform=target_transform)
        image_dir, mask_dir = os.path.join(self.root, "images"), os.path.join(self.root, "masks")
        for folder in (image_dir, mask_dir):
            if not os.path.isdir(folder):
                raise SegmentationDataError(f"segmentation data: {self.root} must hold images/ and masks/ folders "
                                            f"(no folder {folder})")
        names = sorted(n for n in os.listdir(image_dir) if n.lower().endswith(IMG_EXTENSIONS))
        if not names:
            raise SegmentationDataError(f"segmentation data: no images in {image_dir}")
        self.images, self.targets = [], []
        for name in names:
            mask = os.path.join(mask_dir, os.path.splitext(name)[0] + ".png")
            if not os.path.isfile(mask):
                raise SegmentationDataError(f"segmentation data: the image {os.path.join(image_dir, name)} has no "
                                            f"mask (expected {mask})")
            self.images.append(os.path.join(image_dir, name))
            self.targets.append(mask)
        self._classes = list(classes) if classes is not None else None

    @property
    def classes(self) -> list:
        if self._classes is None:
            top = 0
            for path in self.targets:
                labels = np.unique(np.asarray(Image.open(path)))
                labels = labels[labels != 255]
                top = max(top, int(labels.max()) if labels.size else 0)
            self._classes = [f"class_{c}" for c in range(top + 1)]
        return self._classes

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        image = Image.open(self.images[index]).convert("RGB")
        mask = Image.open(self.targets[index])
        _check_pair(image, mask, self.images[index], self.targets[index])
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask
