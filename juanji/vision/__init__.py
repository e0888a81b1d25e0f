"""juanji.vision: torchvision for juanji — datasets, transforms (v1 and v2), tv_tensors, models and
utils (``make_grid``, ``save_image``, ``draw_bounding_boxes``, ``draw_segmentation_masks``).

``import juanji.vision as torchvision`` covers code that uses the name it imported. Code that
imports ``torchvision`` itself (``import torchvision.transforms.v2 as T``, a library written for
torch) needs the name in ``sys.modules``: call :func:`install_as_torchvision` first, and every
``torchvision`` / ``torchvision.<sub>`` import gives the juanji module, each loaded once.
"""

from . import datasets, io, models, transforms, tv_tensors, utils
from ._alias import ModuleAlias, install_as_torchvision, uninstall_as_torchvision

__all__ = ["datasets", "io", "models", "transforms", "tv_tensors", "utils", "ModuleAlias", "install_as_torchvision",
           "uninstall_as_torchvision", "get_image_backend", "set_image_backend", "get_video_backend",
           "set_video_backend", "disable_beta_transforms_warning"]


def get_image_backend() -> str:
    """The library that decodes images: always Pillow here ("PIL")."""
    return "PIL"


def set_image_backend(backend: str) -> None:
    """Only "PIL" is available (torchvision's other choice, accimage, is not supported)."""
    if backend != "PIL":
        raise ValueError(f"Invalid backend '{backend}'. juanji.vision decodes images with Pillow only ('PIL')")


def get_video_backend() -> str:
    """Video decoding is not part of juanji.vision; torchvision's default name is returned."""
    return "pyav"


def set_video_backend(backend: str) -> None:
    raise RuntimeError(f"set_video_backend({backend!r}): juanji.vision does not read videos")


def disable_beta_transforms_warning() -> None:
    """Nothing to disable: juanji's transforms.v2 gives no beta warning (torchvision's no-op too)."""
