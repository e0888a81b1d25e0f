"""Resampling modules (torch.nn surface): Upsample, UpsamplingNearest2d, UpsamplingBilinear2d,
Unfold, Fold, PixelShuffle, PixelUnshuffle. Each calls the function of the same name in
``nn.functional`` (see there for shapes and formulas); Unfold and Fold keep their Window
(``_window.py``).
"""

from __future__ import annotations

from .. import functional as F
from ..functional import _args
from ..functional import sampling
from ._window import KeepsWindow
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "Unfold", "Fold",
           "PixelShuffle", "PixelUnshuffle"]


class Upsample(Module):
    """Resize to ``size`` or by ``scale_factor`` with ``F.interpolate``'s modes."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        # torch keeps scale factors as floats
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for ``(N, C, H, W)`` inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` for ``(N, C, H, W)`` inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Unfold(KeepsWindow):
    """im2col: ``(N, C, H, W) -> (N, C*kh*kw, L)``."""

    _op = "unfold"

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride
        self._keep_window()

    def _window_arguments(self) -> tuple:
        return self.kernel_size, self.dilation, self.padding, self.stride

    def _make_window(self, op, arguments, at_construction):
        return _args.block_window(op, *arguments)

    def forward(self, input):
        return sampling.unfold_blocks(self._op, input, self._window())

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(KeepsWindow):
    """col2im: ``(N, C*kh*kw, L) -> (N, C, *output_size)``, summing overlaps."""

    _op = "fold"

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride
        self._keep_window()

    def _window_arguments(self) -> tuple:
        return self.output_size, self.kernel_size, self.dilation, self.padding, self.stride

    def _make_window(self, op, arguments, at_construction):
        output_size, *block = arguments
        return _args.int_tuple(op, "output_size", output_size, 2), _args.block_window(op, *block)

    def forward(self, input):
        output_size, window = self._window()
        return sampling.fold_blocks(self._op, input, output_size, window)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class PixelShuffle(Module):
    """``(*, C*r^2, H, W) -> (*, C, H*r, W*r)``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H*r, W*r) -> (*, C*r^2, H, W)``."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
