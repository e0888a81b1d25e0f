"""torchvision.transforms.v2.functional for juanji: every v2 operation as a function of one input,
dispatched by the input's type (plain tensor or ``Image``: image kernel; ``Mask``: nearest, fill 0;
``BoundingBoxes``: the boxes move; PIL image: Pillow), plus the per-type kernels under torchvision's
names (``resize_image``, ``resize_mask``, ``resize_bounding_boxes``, ...)."""

from ..._interpolation import InterpolationMode
from ._color import *  # noqa: F401,F403
from ._color import __all__ as _color_all
from ._geometry import *  # noqa: F401,F403
from ._geometry import __all__ as _geometry_all
from ._keypoints import *  # noqa: F401,F403
from ._keypoints import __all__ as _keypoints_all
from ._meta import *  # noqa: F401,F403
from ._meta import __all__ as _meta_all
from ._misc import *  # noqa: F401,F403
from ._misc import __all__ as _misc_all
from ._type_conversion import *  # noqa: F401,F403
from ._type_conversion import __all__ as _conversion_all
from ._utils import is_pure_tensor, register_kernel

__all__ = (["InterpolationMode", "is_pure_tensor", "register_kernel"] + _color_all + _geometry_all + _keypoints_all
           + _meta_all + _misc_all + _conversion_all)
