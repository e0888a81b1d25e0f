"""juanji.vision: torchvision for juanji — datasets, transforms (v1 and v2), tv_tensors, models and
utils (``make_grid``, ``save_image``, ``draw_bounding_boxes``, ``draw_segmentation_masks``).

``import juanji.vision as torchvision`` covers code that uses the name it imported. Code that
imports ``torchvision`` itself (``import torchvision.transforms.v2 as T``, a library written for
torch) needs the name in ``sys.modules``: call :func:`install_as_torchvision` first, and every
``torchvision`` / ``torchvision.<sub>`` import gives the juanji module, each loaded once.
"""

from . import datasets, models, transforms, tv_tensors, utils
from ._alias import ModuleAlias, install_as_torchvision, uninstall_as_torchvision

__all__ = ["datasets", "models", "transforms", "tv_tensors", "utils", "ModuleAlias", "install_as_torchvision",
           "uninstall_as_torchvision"]
