"""Geometric transforms of v2. One set of parameters per call moves every input of the sample:
images with the chosen interpolation, masks with nearest, boxes by their corners.

    t = RandomRotation(30)
    img, mask = t(tv_tensors.Image(x), tv_tensors.Mask(m))       # the same angle for both
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from ....tensor import Tensor
from ... import tv_tensors
from .. import _warp
from .._params import random_resized_crop_box
from . import functional as F
from ._transform import Transform, _RandomApplyTransform, rng
from ._utils import (_check_sequence_input, _setup_angle, _setup_size, check_padding_arg, check_padding_mode_arg,
                     get_bounding_boxes, get_fill, has_all, has_any, is_pil_image, query_size, setup_fill_arg,
                     setup_number_or_seq)
from .functional._meta import to_xyxy
from .functional._utils import is_pure_tensor, plain

__all__ = ["RandomHorizontalFlip", "RandomVerticalFlip", "Resize", "CenterCrop", "RandomResizedCrop", "FiveCrop",
           "TenCrop", "Pad", "RandomZoomOut", "RandomRotation", "RandomAffine", "RandomCrop", "RandomPerspective",
           "ScaleJitter", "RandomShortestSize", "RandomResize", "ElasticTransform", "RandomIoUCrop"]

_SIZE_MESSAGE = "Please provide only two dimensions (h, w) for size."


def _integer(low: int, high: int) -> int:
    """An int uniform on [low, high)."""
    return int(rng().integers(low, high))


def _uniform(low: float, high: float) -> float:
    return float(rng().uniform(low, high))


class RandomHorizontalFlip(_RandomApplyTransform):
    """Mirror left-right with probability ``p`` (boxes and masks too)."""

    def transform(self, inpt, params):
        return self._call_kernel(F.horizontal_flip, inpt)


class RandomVerticalFlip(_RandomApplyTransform):
    """Mirror top-bottom with probability ``p``."""

    def transform(self, inpt, params):
        return self._call_kernel(F.vertical_flip, inpt)


class Resize(Transform):
    """Resize to ``size``: (h, w); one number for the shorter edge (aspect ratio kept, ``max_size``
    caps the longer); or None with ``max_size`` for the longer edge."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        super().__init__()
        if isinstance(size, int):
            size = [size]
        elif isinstance(size, Sequence) and len(size) in (1, 2):
            size = list(size)
        elif size is None:
            if not isinstance(max_size, int):
                raise ValueError(f"max_size must be an integer when size is None, but got {max_size} instead.")
        else:
            raise ValueError(f"size can be an integer, a sequence of one or two integers, or None, but got {size} "
                             "instead.")
        self.size = size
        self.interpolation = interpolation
        self.max_size = max_size
        self.antialias = antialias

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, self.size, interpolation=self.interpolation,
                                 max_size=self.max_size, antialias=self.antialias)


class CenterCrop(Transform):
    """The central box of ``size``; smaller inputs are padded with zeros first."""

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MESSAGE)

    def transform(self, inpt, params):
        return self._call_kernel(F.center_crop, inpt, output_size=self.size)


class RandomResizedCrop(Transform):
    """A box of random area (fraction ~ U(scale)) and aspect ratio (log ~ U(log ratio)), resized to ``size``."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias=True):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MESSAGE)
        if not isinstance(scale, Sequence) or len(scale) != 2:
            raise TypeError("Scale should be a sequence of two floats.")
        if not isinstance(ratio, Sequence) or len(ratio) != 2:
            raise TypeError("Ratio should be a sequence of two floats.")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.scale = scale
        self.ratio = ratio
        self.interpolation = interpolation
        self.antialias = antialias

    def make_params(self, flat_inputs):
        top, left, height, width = random_resized_crop_box(*query_size(flat_inputs), self.scale, self.ratio)
        return {"top": top, "left": left, "height": height, "width": width}

    def transform(self, inpt, params):
        return self._call_kernel(F.resized_crop, inpt, **params, size=self.size, interpolation=self.interpolation,
                                 antialias=self.antialias)


class _MultiCrop(Transform):
    def check_inputs(self, flat_inputs):
        if has_any(flat_inputs, tv_tensors.BoundingBoxes, tv_tensors.Mask):
            raise TypeError(f"BoundingBoxes'es and Mask's are not supported by {type(self).__name__}()")


class FiveCrop(_MultiCrop):
    """The four corner crops and the central crop of ``size`` (a tuple of five)."""

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MESSAGE)

    def transform(self, inpt, params):
        return self._call_kernel(F.five_crop, inpt, self.size)


class TenCrop(_MultiCrop):
    """FiveCrop of the input and of its mirror image (a tuple of ten)."""

    def __init__(self, size, vertical_flip: bool = False):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MESSAGE)
        self.vertical_flip = vertical_flip

    def transform(self, inpt, params):
        return self._call_kernel(F.ten_crop, inpt, self.size, vertical_flip=self.vertical_flip)


class Pad(Transform):
    """Pad the borders (int, (lr, tb) or (l, t, r, b)); ``fill`` may be a dict per input type."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        super().__init__()
        check_padding_arg(padding)
        check_padding_mode_arg(padding_mode)
        self.padding = padding if isinstance(padding, int) else list(padding)
        self.fill = fill
        self._fill = setup_fill_arg(fill)
        self.padding_mode = padding_mode

    def transform(self, inpt, params):
        return self._call_kernel(F.pad, inpt, padding=self.padding, fill=get_fill(self._fill, type(inpt)),
                                 padding_mode=self.padding_mode)


class RandomZoomOut(_RandomApplyTransform):
    """Place the input at a random spot of a canvas ``r`` times as large (r ~ U(side_range)), filled with ``fill``."""

    def __init__(self, fill=0, side_range=(1.0, 4.0), p: float = 0.5):
        super().__init__(p=p)
        self.fill = fill
        self._fill = setup_fill_arg(fill)
        _check_sequence_input(side_range, "side_range", req_sizes=(2,))
        self.side_range = side_range
        if side_range[0] < 1.0 or side_range[0] > side_range[1]:
            raise ValueError(f"Invalid side range provided {side_range}.")

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        r = self.side_range[0] + rng().random() * (self.side_range[1] - self.side_range[0])
        canvas_w, canvas_h = int(width * r), int(height * r)
        rx, ry = rng().random(2)
        left, top = int((canvas_w - width) * rx), int((canvas_h - height) * ry)
        return {"padding": [left, top, canvas_w - (left + width), canvas_h - (top + height)]}

    def transform(self, inpt, params):
        return self._call_kernel(F.pad, inpt, **params, fill=get_fill(self._fill, type(inpt)))


class RandomRotation(Transform):
    """Turn by an angle ~ U(degrees) (a number d means (-d, d)), counter-clockwise for positive angles."""

    def __init__(self, degrees, interpolation="nearest", expand: bool = False, center=None, fill=0):
        super().__init__()
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        self.interpolation = interpolation
        self.expand = expand
        self.fill = fill
        self._fill = setup_fill_arg(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    def make_params(self, flat_inputs):
        return {"angle": _uniform(self.degrees[0], self.degrees[1])}

    def transform(self, inpt, params):
        return self._call_kernel(F.rotate, inpt, **params, interpolation=self.interpolation, expand=self.expand,
                                 center=self.center, fill=get_fill(self._fill, type(inpt)))


class RandomAffine(Transform):
    """A random affine map: angle ~ U(degrees); translation up to ``translate`` fractions of the size
    (rounded to whole pixels); scale ~ U(scale); shear x ~ U(shear[0:2]), y ~ U(shear[2:4])."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation="nearest",
                 fill=0, center=None):
        super().__init__()
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            for t in translate:
                if not 0.0 <= t <= 1.0:
                    raise ValueError("translation values should be between 0 and 1")
        self.translate = translate
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            for s in scale:
                if s <= 0:
                    raise ValueError("scale values should be positive")
        self.scale = scale
        self.shear = _setup_angle(shear, name="shear", req_sizes=(2, 4)) if shear is not None else None
        self.interpolation = interpolation
        self.fill = fill
        self._fill = setup_fill_arg(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        angle = _uniform(self.degrees[0], self.degrees[1])
        translate = (0, 0)
        if self.translate is not None:
            max_dx, max_dy = float(self.translate[0] * width), float(self.translate[1] * height)
            translate = (int(round(_uniform(-max_dx, max_dx))), int(round(_uniform(-max_dy, max_dy))))
        scale = _uniform(self.scale[0], self.scale[1]) if self.scale is not None else 1.0
        shear_x = shear_y = 0.0
        if self.shear is not None:
            shear_x = _uniform(self.shear[0], self.shear[1])
            if len(self.shear) == 4:
                shear_y = _uniform(self.shear[2], self.shear[3])
        return {"angle": angle, "translate": translate, "scale": scale, "shear": (shear_x, shear_y)}

    def transform(self, inpt, params):
        return self._call_kernel(F.affine, inpt, **params, interpolation=self.interpolation,
                                 fill=get_fill(self._fill, type(inpt)), center=self.center)


class RandomCrop(Transform):
    """A ``size`` box at a uniformly random position, after optional padding (``padding``; and with
    ``pad_if_needed`` enough on both sides of a dimension that is smaller than the crop)."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0, padding_mode: str = "constant"):
        super().__init__()
        self.size = _setup_size(size, error_msg=_SIZE_MESSAGE)
        if pad_if_needed or padding is not None:
            if padding is not None:
                check_padding_arg(padding)
            check_padding_mode_arg(padding_mode)
        self.padding = self._left_right_top_bottom(padding) if padding else None
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self._fill = setup_fill_arg(fill)
        self.padding_mode = padding_mode

    @staticmethod
    def _left_right_top_bottom(padding):
        if isinstance(padding, numbers.Integral):
            return [int(padding)] * 4
        if len(padding) == 1:
            return [padding[0]] * 4
        if len(padding) == 2:
            return [padding[0], padding[0], padding[1], padding[1]]
        return [padding[0], padding[2], padding[1], padding[3]]

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        pad_left, pad_right, pad_top, pad_bottom = self.padding if self.padding is not None else [0, 0, 0, 0]
        height += pad_top + pad_bottom
        width += pad_left + pad_right
        crop_h, crop_w = self.size
        if self.pad_if_needed:
            if height < crop_h:
                diff = crop_h - height
                pad_top, pad_bottom, height = pad_top + diff, pad_bottom + diff, height + 2 * diff
            if width < crop_w:
                diff = crop_w - width
                pad_left, pad_right, width = pad_left + diff, pad_right + diff, width + 2 * diff
        if height < crop_h or width < crop_w:
            raise ValueError(f"Required crop size {(crop_h, crop_w)} is larger than "
                             f"{'padded ' if self.padding is not None else ''}input image size {(height, width)}.")
        padding = [pad_left, pad_top, pad_right, pad_bottom]
        top = _integer(0, height - crop_h + 1) if height > crop_h else 0
        left = _integer(0, width - crop_w + 1) if width > crop_w else 0
        return {"needs_crop": height > crop_h or width > crop_w, "top": top, "left": left, "height": crop_h,
                "width": crop_w, "needs_pad": any(padding), "padding": padding}

    def transform(self, inpt, params):
        if params["needs_pad"]:
            inpt = self._call_kernel(F.pad, inpt, padding=params["padding"], fill=get_fill(self._fill, type(inpt)),
                                     padding_mode=self.padding_mode)
        if params["needs_crop"]:
            inpt = self._call_kernel(F.crop, inpt, top=params["top"], left=params["left"], height=params["height"],
                                     width=params["width"])
        return inpt


class RandomPerspective(_RandomApplyTransform):
    """With probability ``p``, move each corner inwards by up to ``distortion_scale`` of half the size
    and warp the input accordingly."""

    def __init__(self, distortion_scale: float = 0.5, p: float = 0.5, interpolation="bilinear",
                 fill=0):
        super().__init__(p=p)
        if not 0 <= distortion_scale <= 1:
            raise ValueError("Argument distortion_scale value should be between 0 and 1")
        self.distortion_scale = distortion_scale
        self.interpolation = interpolation
        self.fill = fill
        self._fill = setup_fill_arg(fill)

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        bound_h = int(self.distortion_scale * (height // 2)) + 1
        bound_w = int(self.distortion_scale * (width // 2)) + 1
        top_left = [_integer(0, bound_w), _integer(0, bound_h)]
        top_right = [_integer(width - bound_w, width), _integer(0, bound_h)]
        bottom_right = [_integer(width - bound_w, width), _integer(height - bound_h, height)]
        bottom_left = [_integer(0, bound_w), _integer(height - bound_h, height)]
        start = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
        end = [top_left, top_right, bottom_right, bottom_left]
        return {"coefficients": _warp.perspective_coefficients(start, end)}

    def transform(self, inpt, params):
        return self._call_kernel(F.perspective, inpt, startpoints=None, endpoints=None,
                                 fill=get_fill(self._fill, type(inpt)), interpolation=self.interpolation, **params)


class ScaleJitter(Transform):
    """Resize to ``target_size`` (h, w) fitted, times a scale ~ U(scale_range) (large-scale jitter)."""

    def __init__(self, target_size, scale_range=(0.1, 2.0), interpolation="bilinear",
                 antialias=True):
        super().__init__()
        self.target_size = target_size
        self.scale_range = scale_range
        self.interpolation = interpolation
        self.antialias = antialias

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        scale = self.scale_range[0] + rng().random() * (self.scale_range[1] - self.scale_range[0])
        r = min(self.target_size[1] / height, self.target_size[0] / width) * scale
        return {"size": (int(height * r), int(width * r))}

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, size=params["size"], interpolation=self.interpolation,
                                 antialias=self.antialias)


class RandomShortestSize(Transform):
    """Resize so that the shorter edge is one of ``min_size`` (picked at random), the longer at most ``max_size``."""

    def __init__(self, min_size, max_size=None, interpolation="bilinear", antialias=True):
        super().__init__()
        self.min_size = [min_size] if isinstance(min_size, int) else list(min_size)
        self.max_size = max_size
        self.interpolation = interpolation
        self.antialias = antialias

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        shortest = self.min_size[_integer(0, len(self.min_size))]
        r = shortest / min(height, width)
        if self.max_size is not None:
            r = min(r, self.max_size / max(height, width))
        return {"size": (int(height * r), int(width * r))}

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, size=params["size"], interpolation=self.interpolation,
                                 antialias=self.antialias)


class RandomResize(Transform):
    """Resize the shorter edge to a size ~ U{min_size, ..., max_size - 1}."""

    def __init__(self, min_size: int, max_size: int, interpolation="bilinear", antialias=True):
        super().__init__()
        self.min_size = min_size
        self.max_size = max_size
        self.interpolation = interpolation
        self.antialias = antialias

    def make_params(self, flat_inputs):
        return {"size": [_integer(self.min_size, self.max_size)]}

    def transform(self, inpt, params):
        return self._call_kernel(F.resize, inpt, params["size"], interpolation=self.interpolation,
                                 antialias=self.antialias)



class ElasticTransform(Transform):
    """Warp by a smooth random displacement field: per axis, uniform noise in [-1, 1] blurred by a Gaussian
    of ``sigma`` (kernel 8 sigma + 1, made odd) and scaled by ``alpha`` pixels (``alpha`` / size in grid
    units). Masks move with nearest, boxes by their corners."""

    def __init__(self, alpha=50.0, sigma=5.0, interpolation="bilinear", fill=0):
        super().__init__()
        self.alpha = setup_number_or_seq(alpha, "alpha")
        self.sigma = setup_number_or_seq(sigma, "sigma")
        self.interpolation = interpolation
        self.fill = fill
        self._fill = setup_fill_arg(fill)

    def _field(self, height, width, sigma, scale):
        noise = Tensor._from_array(rng().random((1, 1, height, width), dtype=np.float32) * 2 - 1)
        if sigma > 0.0:
            size = int(8 * sigma + 1)
            size += 1 - size % 2
            noise = F.gaussian_blur(noise, [size, size], list(self.sigma))
        return noise._data * np.float32(scale)

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        dx = self._field(height, width, self.sigma[0], self.alpha[0] / width)
        dy = self._field(height, width, self.sigma[1], self.alpha[1] / height)
        displacement = np.concatenate([dx, dy], axis=1).transpose(0, 2, 3, 1)     # [1, H, W, 2]
        return {"displacement": Tensor._from_array(np.ascontiguousarray(displacement))}

    def transform(self, inpt, params):
        return self._call_kernel(F.elastic, inpt, **params, fill=get_fill(self._fill, type(inpt)),
                                 interpolation=self.interpolation)


def _iou_with(xyxy: np.ndarray, box) -> np.ndarray:
    """Intersection over union of each box [N, 4] (XYXY) with one box (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = box
    width = np.clip(np.minimum(xyxy[:, 2], x2) - np.maximum(xyxy[:, 0], x1), 0, None)
    height = np.clip(np.minimum(xyxy[:, 3], y2) - np.maximum(xyxy[:, 1], y1), 0, None)
    inter = width * height
    areas = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    return inter / (areas + (x2 - x1) * (y2 - y1) - inter)


class RandomIoUCrop(Transform):
    """SSD's crop: pick a minimum IoU from ``sampler_options`` (1.0 or more: keep the sample as it is),
    then up to ``trials`` random crops (side fractions ~ U(min_scale, max_scale), aspect ratio within
    bounds) until one contains the centre of some box and overlaps one of those boxes by at least that
    IoU; boxes whose centre falls outside are zeroed (drop them with SanitizeBoundingBoxes)."""

    def __init__(self, min_scale: float = 0.3, max_scale: float = 1.0, min_aspect_ratio: float = 0.5,
                 max_aspect_ratio: float = 2.0, sampler_options=None, trials: int = 40):
        super().__init__()
        self.min_scale = min_scale
        self.max_scale = max_scale
        self.min_aspect_ratio = min_aspect_ratio
        self.max_aspect_ratio = max_aspect_ratio
        self.options = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0] if sampler_options is None else sampler_options
        self.trials = trials

    def check_inputs(self, flat_inputs):
        if not (has_all(flat_inputs, tv_tensors.BoundingBoxes)
                and has_any(flat_inputs, is_pil_image, tv_tensors.Image, is_pure_tensor)):
            raise TypeError(f"{type(self).__name__}() requires input sample to contain tensor or PIL images and "
                            "bounding boxes. Sample can also contain masks.")

    def make_params(self, flat_inputs):
        height, width = query_size(flat_inputs)
        boxes = get_bounding_boxes(flat_inputs)
        xyxy = to_xyxy(plain(boxes)._data.astype(np.float64), boxes.format)
        cx, cy = 0.5 * (xyxy[:, 0] + xyxy[:, 2]), 0.5 * (xyxy[:, 1] + xyxy[:, 3])
        while True:
            min_iou = self.options[_integer(0, len(self.options))]
            if min_iou >= 1.0:
                return {}
            for _ in range(self.trials):
                r = self.min_scale + (self.max_scale - self.min_scale) * rng().random(2)
                new_w, new_h = int(width * r[0]), int(height * r[1])
                if new_h == 0 or not self.min_aspect_ratio <= new_w / new_h <= self.max_aspect_ratio:
                    continue
                r = rng().random(2)
                left, top = int((width - new_w) * r[0]), int((height - new_h) * r[1])
                right, bottom = left + new_w, top + new_h
                if left == right or top == bottom:
                    continue
                inside = (left < cx) & (cx < right) & (top < cy) & (cy < bottom)
                if not inside.any() or _iou_with(xyxy[inside], (left, top, right, bottom)).max() < min_iou:
                    continue
                return {"top": top, "left": left, "height": new_h, "width": new_w, "is_within_crop_area": inside}

    def transform(self, inpt, params):
        if not params:
            return inpt
        out = self._call_kernel(F.crop, inpt, top=params["top"], left=params["left"], height=params["height"],
                                width=params["width"])
        if isinstance(out, tv_tensors.BoundingBoxes):
            out._data = out._data.copy()
            out._data[~params["is_within_crop_area"]] = 0
        return out
