"""torchvision.transforms for juanji: callable objects with torchvision's names, arguments and reprs.

    transform = Compose([
        RandomCrop(28, padding=4),
        RandomHorizontalFlip(),
        ToTensor(),
        Normalize((0.2860,), (0.3530,)),
    ])
    x = transform(pil_image)          # juanji tensor [1, 28, 28]

Every random choice is drawn from juanji's generator (``juanji.backend.generator()``), so
``juanji.manual_seed(s)`` makes a run of augmentations repeatable. The draws are not the same
numbers torch would draw: the distributions are.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

from . import functional as F
from ._params import (_check_sequence_input, _setup_angle, _setup_size, color_jitter_range, random_resized_crop_box,
                      rng as _rng)
from ._interpolation import InterpolationMode, to_interpolation_mode

__all__ = ["Compose", "ToTensor", "PILToTensor", "Normalize", "Resize", "CenterCrop", "RandomCrop",
           "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "Pad", "Grayscale",
           "ColorJitter", "Lambda", "InterpolationMode"]


class _Transform:
    """Calling a transform runs its ``forward`` (torchvision's transforms are Modules)."""

    def __call__(self, img):
        return self.forward(img)

    def forward(self, img):
        raise NotImplementedError


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = [f"{self.__class__.__name__}("] + [f"    {t}" for t in self.transforms] + [")"]
        return "\n".join(lines)


class ToTensor:
    """PIL image or HWC ndarray -> CHW float tensor; uint8 values are divided by 255."""

    def __call__(self, pic):
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class PILToTensor:
    """PIL image -> CHW tensor of the same dtype and values (no scaling)."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Normalize(_Transform):
    """``output[c] = (input[c] - mean[c]) / std[c]`` on a float tensor image."""

    def __init__(self, mean, std, inplace: bool = False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Resize(_Transform):
    """Resize to ``size``: (h, w), or an int for the shorter edge keeping the aspect ratio.

    With an int ``s`` and an image of height h > width w the result is (int(s * h / w), s).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Resize: size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError(f"Resize: if size is a sequence, it should have 1 or 2 values, got {len(size)}")
        self.size = size
        self.max_size = max_size
        self.interpolation = to_interpolation_mode(interpolation, "Resize")
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop(_Transform):
    """The central ``size`` box (int or (h, w)); smaller images are padded with zeros first."""

    def __init__(self, size):
        self.size = _setup_size(size, error_msg="CenterCrop: please provide only two dimensions (h, w) for size.")

    def forward(self, img):
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size})"


class Pad(_Transform):
    """Pad the borders: int, (left/right, top/bottom) or (left, top, right, bottom).

    ``padding_mode`` is constant (``fill``), edge, reflect or symmetric.
    """

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError(f"Pad: got inappropriate padding arg {padding!r}")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError(f"Pad: got inappropriate fill arg {fill!r}")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"Pad: padding mode should be either constant, edge, reflect or symmetric, "
                             f"got {padding_mode!r}")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(f"Pad: padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} "
                             "element tuple")
        self.padding = padding
        self.fill = fill
        self.padding_mode = padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class Lambda:
    """Apply a user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class RandomCrop(_Transform):
    """A ``size`` box at a uniformly random position, after optional padding.

    ``padding`` pads first (as :class:`Pad`); ``pad_if_needed`` pads a side that is smaller than the
    crop. The top-left corner is uniform over the ``(H - h + 1) x (W - w + 1)`` valid positions.
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0, padding_mode: str = "constant"):
        self.size = tuple(_setup_size(size, error_msg="RandomCrop: please provide only two dimensions (h, w) "
                                                      "for size."))
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size) -> tuple[int, int, int, int]:
        """A random ``(top, left, height, width)`` for ``crop``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than input image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        i = int(_rng().integers(0, h - th + 1))
        j = int(_rng().integers(0, w - tw + 1))
        return i, j, th, tw

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = F.pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = F.pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        i, j, h, w = self.get_params(img, self.size)
        return F.crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomResizedCrop(_Transform):
    """A random box of random area and aspect ratio, resized to ``size`` (Inception-style).

    Up to 10 tries: area fraction ~ U(scale), log(aspect) ~ U(log ratio), w = round(sqrt(A * r)),
    h = round(sqrt(A / r)); the first box that fits is placed uniformly. Otherwise the largest
    central box whose aspect ratio is clipped into ``ratio``.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _setup_size(size, error_msg="RandomResizedCrop: please provide only two dimensions (h, w) "
                                                "for size.")
        if not isinstance(scale, Sequence):
            raise TypeError("RandomResizedCrop: scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("RandomResizedCrop: ratio should be a sequence")
        if (scale[0] > scale[1]) or (ratio[0] > ratio[1]):
            warnings.warn("Scale and ratio should be of kind (min, max)")
        self.interpolation = to_interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias
        self.scale = scale
        self.ratio = ratio

    @staticmethod
    def get_params(img, scale, ratio) -> tuple[int, int, int, int]:
        """A random ``(top, left, height, width)`` box for ``resized_crop``."""
        _, height, width = F.get_dimensions(img)
        return random_resized_crop_box(height, width, scale, ratio)

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, antialias=self.antialias)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(size={self.size}, scale={tuple(round(s, 4) for s in self.scale)}, "
                f"ratio={tuple(round(r, 4) for r in self.ratio)}, interpolation={self.interpolation.value}, "
                f"antialias={self.antialias})")


class RandomHorizontalFlip(_Transform):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def forward(self, img):
        if _rng().random() < self.p:
            return F.hflip(img)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(_Transform):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def forward(self, img):
        if _rng().random() < self.p:
            return F.vflip(img)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomRotation(_Transform):
    """Turn by an angle ~ U(degrees) (a number d means (-d, d)), counter-clockwise for positive angles."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None, fill=0):
        self.interpolation = to_interpolation_mode(interpolation, "RandomRotation")
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center
        self.expand = expand
        if fill is None:
            fill = 0
        elif not isinstance(fill, (Sequence, numbers.Number)):
            raise TypeError("RandomRotation: fill should be either a sequence or a number.")
        self.fill = fill

    @staticmethod
    def get_params(degrees) -> float:
        """A random angle in ``[degrees[0], degrees[1])``."""
        return float(_rng().uniform(float(degrees[0]), float(degrees[1])))

    def forward(self, img):
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        text = f"{self.__class__.__name__}(degrees={self.degrees}, interpolation={self.interpolation.value}, " \
               f"expand={self.expand}"
        if self.center is not None:
            text += f", center={self.center}"
        if self.fill is not None:
            text += f", fill={self.fill}"
        return text + ")"


class Grayscale(_Transform):
    """Convert to grey (luma), with 1 or 3 identical output channels."""

    def __init__(self, num_output_channels: int = 1):
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, num_output_channels=self.num_output_channels)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_output_channels={self.num_output_channels})"


class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    A number ``b`` for brightness/contrast/saturation means a factor ~ U(max(0, 1 - b), 1 + b);
    for hue, ``h`` means a shift ~ U(-h, h) with 0 <= h <= 0.5. A (min, max) pair is taken as is.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check_input(brightness, "brightness")
        self.contrast = self._check_input(contrast, "contrast")
        self.saturation = self._check_input(saturation, "saturation")
        self.hue = self._check_input(hue, "hue", center=0, bound=(-0.5, 0.5), clip_first_on_zero=False)

    _check_input = staticmethod(color_jitter_range)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """A random order of the four adjustments and their factors (None for the unused ones)."""
        rng = _rng()
        fn_idx = [int(k) for k in rng.permutation(4)]
        b = None if brightness is None else float(rng.uniform(brightness[0], brightness[1]))
        c = None if contrast is None else float(rng.uniform(contrast[0], contrast[1]))
        s = None if saturation is None else float(rng.uniform(saturation[0], saturation[1]))
        h = None if hue is None else float(rng.uniform(hue[0], hue[1]))
        return fn_idx, b, c, s, h

    def forward(self, img):
        fn_idx, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        for fn_id in fn_idx:
            if fn_id == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif fn_id == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif fn_id == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif fn_id == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")
