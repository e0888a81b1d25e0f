"""torch's process-wide settings and the questions scripts ask about them: print options, the
default device, determinism, matmul precision, interop threads, warnings; plus the small
utilities of torch's "Tensors" and "Utilities" sections (``is_nonzero``, ``is_storage``,
``set_default_tensor_type``, ``_assert``, the constants ``inf`` and ``nan``).

juanji computes on the CPU with NumPy (or on a GPU with CuPy): each setting below either takes
effect (print options, default device, default dtype) or records the value and answers with it,
as torch would on such a machine (every juanji kernel is already deterministic, so the
determinism switches change nothing but their answers).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from . import _dtype as dt
from ._layouts import (channels_last, channels_last_3d, contiguous_format, layout, memory_format,  # noqa: F401
                       preserve_format, sparse_coo, sparse_csr, strided)
from ._tensor.printing import PRINT_OPTIONS
from .backend import device as Device

__all__ = ["set_printoptions", "set_default_device", "get_default_device", "get_num_interop_threads",
           "set_num_interop_threads", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode", "set_float32_matmul_precision", "get_float32_matmul_precision",
           "set_warn_always", "is_warn_always_enabled", "compiled_with_cxx11_abi", "is_nonzero", "is_storage",
           "set_default_tensor_type", "set_flush_denormal", "inf", "nan", "get_device_module", "finfo", "iinfo",
           "layout", "memory_format", "strided", "sparse_coo", "sparse_csr", "contiguous_format", "channels_last",
           "channels_last_3d", "preserve_format", "typename"]

inf = math.inf
nan = math.nan


class _Settings:
    default_device = None          # None: the CPU
    interop_threads = None         # None until set: torch's default is the core count
    deterministic = False
    deterministic_warn_only = False
    matmul_precision = "highest"
    warn_always = False


SETTINGS = _Settings()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print: decimals, the element count above which they are summarised, the
    elements shown at each end then, the line width, and scientific notation (None: chosen per
    tensor). ``profile`` 'default', 'short' or 'full' first resets them all."""
    options = PRINT_OPTIONS
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"Unknown profile: {profile}")
        options.precision, options.threshold, options.edgeitems, options.linewidth = presets[profile]
    if precision is not None:
        options.precision = int(precision)
    if threshold is not None:
        options.threshold = threshold
    if edgeitems is not None:
        options.edgeitems = int(edgeitems)
    if linewidth is not None:
        options.linewidth = int(linewidth)
    options.sci_mode = sci_mode  # (torch sets it on every call)


def set_default_device(device):
    """The device of tensors created without ``device=`` ('cpu', or 'cuda' with CuPy; None: the CPU)."""
    if device is None:
        SETTINGS.default_device = None
        return
    d = Device(device)
    if d.type != "cpu":
        from .backend import xp_for
        xp_for(d)  # refuses a GPU that is not there
    SETTINGS.default_device = d


def get_default_device():
    """The device of tensors created without ``device=``."""
    return SETTINGS.default_device or Device("cpu")


def get_num_interop_threads() -> int:
    """Threads for running independent operations side by side (torch's inter-op pool; juanji
    runs operations one after another, its kernels use ``get_num_threads`` threads each)."""
    if SETTINGS.interop_threads is None:
        from .threads import get_num_threads
        return get_num_threads()
    return SETTINGS.interop_threads


def set_num_interop_threads(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_interop_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("Expected positive number of threads")
    SETTINGS.interop_threads = n


def use_deterministic_algorithms(mode, *, warn_only=False) -> None:
    """Ask for deterministic algorithms only (juanji's are all deterministic: same seed, same run)."""
    SETTINGS.deterministic = bool(mode)
    SETTINGS.deterministic_warn_only = bool(warn_only) and bool(mode)


def are_deterministic_algorithms_enabled() -> bool:
    return SETTINGS.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return SETTINGS.deterministic_warn_only


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/'default', 1/'warn', 2/'error': the same switch as ``use_deterministic_algorithms``."""
    modes = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in modes:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = modes[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not SETTINGS.deterministic:
        return 0
    return 1 if SETTINGS.deterministic_warn_only else 2


def set_float32_matmul_precision(precision) -> None:
    """'highest', 'high' or 'medium' (juanji's float32 matrix products are always 'highest')."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision: {precision}, expected one of 'highest', 'high', 'medium'")
    SETTINGS.matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return SETTINGS.matmul_precision


def set_warn_always(b) -> None:
    SETTINGS.warn_always = bool(b)


def is_warn_always_enabled() -> bool:
    return SETTINGS.warn_always


def compiled_with_cxx11_abi() -> bool:
    """Whether the C++ parts were built with the C++11 ABI (juanji has no C++ parts)."""
    return True


def get_device_module(device=None):
    """The module for a device type: ``juanji.cuda`` for 'cuda', ``juanji.cpu`` for 'cpu'."""
    from . import cpu, cuda
    name = get_default_device().type if device is None else Device(device).type
    modules = {"cpu": cpu, "cuda": cuda}
    if name not in modules:
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered as 'juanji.{name}'.")
    return modules[name]


def is_nonzero(input) -> bool:
    """Whether a one-element tensor is not zero (torch's errors for other sizes)."""
    return input.is_nonzero()


def is_storage(obj) -> bool:
    """Whether obj is a torch Storage (juanji has no separate storage objects: never)."""
    return False


def set_default_tensor_type(t) -> None:
    """The old way to set the default float dtype: ``juanji.DoubleTensor`` or 'torch.DoubleTensor'."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    name = name.split(".")[-1]
    from ._tensor.constructors import LEGACY_TYPE_NAMES
    by_name = {type_name: getattr(dt, dtype_name) for dtype_name, type_name in LEGACY_TYPE_NAMES.items()}
    if name not in by_name:
        raise TypeError(f"invalid type: '{t}'")
    if not by_name[name].is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    dt.set_default_dtype(by_name[name])


def set_flush_denormal(mode) -> bool:
    """Whether flushing denormal numbers to zero could be switched (NumPy offers no switch: False)."""
    return False


# ---------------------------------------------------------------------------- type information
class finfo:
    """The limits of a floating dtype (torch.finfo): bits, eps, max, min, tiny (= smallest_normal),
    resolution (10 ** -decimal digits), dtype. ``finfo()`` is the default dtype's."""

    def __init__(self, type=None):
        d = dt.get_default_dtype() if type is None else dt.to_dtype(type)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = np.finfo(d.np)
        self.bits, self.eps, self.max, self.min = int(info.bits), float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = d.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """The limits of an integer dtype (torch.iinfo): bits, max, min, dtype."""

    def __init__(self, type):
        d = dt.to_dtype(type)
        if d.is_floating_point or d is dt.bool:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(d.np)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), int(info.min), d.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def typename(obj) -> str:
    """'torch.FloatTensor' style names for tensors (as ``x.type()``), the class name otherwise."""
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.type().replace("juanji.", "torch.")
    module = type(obj).__module__
    return type(obj).__qualname__ if module in ("builtins", "__builtin__") else f"{module}.{type(obj).__qualname__}"
