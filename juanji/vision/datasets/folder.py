"""Datasets from a folder per class, as torchvision's DatasetFolder and ImageFolder.

    root/cat/001.png  -> class 'cat'
    root/cat/x/2.jpg  -> class 'cat'   (sub-folders are walked)
    root/dog/abc.png  -> class 'dog'

Classes are the sub-folder names in sorted order, so ``class_to_idx`` is the same on every machine.
"""

from __future__ import annotations

import os

from PIL import Image

from .vision import VisionDataset

__all__ = ["IMG_EXTENSIONS", "UnreadableImageError", "has_file_allowed_extension", "is_image_file",
           "find_classes", "make_dataset", "pil_loader", "default_loader", "DatasetFolder", "ImageFolder"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


class UnreadableImageError(OSError):
    """An image file that Pillow cannot decode (the message names the file)."""


def has_file_allowed_extension(filename: str, extensions) -> bool:
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def is_image_file(filename: str) -> bool:
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory) -> tuple[list[str], dict[str, int]]:
    """The sorted class folder names of ``directory`` and their indices."""
    try:
        classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    except FileNotFoundError:
        raise FileNotFoundError(f"ImageFolder: no such folder: '{directory}'") from None
    except NotADirectoryError:
        raise NotADirectoryError(f"ImageFolder: '{directory}' is a file, expected a folder of class folders") \
            from None
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory} "
                                "(ImageFolder expects one sub-folder per class)")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``(path, class_index)`` for every valid file under each class folder, in sorted order."""
    directory = os.path.expanduser(os.fspath(directory))
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if extensions is not None:
        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)

    samples = []
    found = set()
    for target_class in sorted(class_to_idx):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for folder, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(folder, fname)
                if is_valid_file(path):
                    samples.append((path, class_index))
                    found.add(target_class)

    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            msg += f"Supported extensions are: {extensions if isinstance(extensions, str) else ', '.join(extensions)}"
        raise FileNotFoundError(msg)
    return samples


def pil_loader(path) -> Image.Image:
    """Open an image file with Pillow and convert it to RGB (one clear error if that fails)."""
    try:
        with open(path, "rb") as f:
            image = Image.open(f)
            return image.convert("RGB")  # convert() forces the decode while the file is open
    except FileNotFoundError:
        raise FileNotFoundError(f"image file not found: '{path}'") from None
    except (OSError, ValueError, SyntaxError) as e:  # UnidentifiedImageError, truncated data, bad headers
        reason = str(e).replace("\n", " ") or type(e).__name__
        raise UnreadableImageError(f"cannot read image file '{path}': {reason}") from None


def default_loader(path) -> Image.Image:
    return pil_loader(path)


class DatasetFolder(VisionDataset):
    """Samples ``(loader(path), class_index)`` from a folder per class.

    Attributes: ``classes`` (sorted names), ``class_to_idx``, ``samples`` (list of (path, index)),
    ``targets`` (the class index of each sample).
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None, is_valid_file=None,
                 allow_empty: bool = False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx, extensions, is_valid_file, allow_empty=allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [index for _, index in samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions=extensions, is_valid_file=is_valid_file,
                            allow_empty=allow_empty)

    def find_classes(self, directory):
        return find_classes(directory)

    def __getitem__(self, index):
        path, target = self.samples[index]
        return self._transformed(self.loader(path), target)

    def __len__(self) -> int:
        return len(self.samples)


class ImageFolder(DatasetFolder):
    """Images in a folder per class, decoded with Pillow as RGB (``loader`` to change that).

    Only files with an image extension (``IMG_EXTENSIONS``) are taken unless ``is_valid_file``
    decides instead. A class folder with no image is an error unless ``allow_empty=True``.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader, is_valid_file=None,
                 allow_empty: bool = False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform=transform,
                         target_transform=target_transform, is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
