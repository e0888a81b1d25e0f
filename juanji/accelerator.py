"""torch.accelerator: the one accelerator a machine may have. For juanji that is a CUDA GPU
through CuPy; without one, torch's answers for a CPU-only machine (``is_available()`` False,
``current_accelerator()`` None, ``device_count()`` 0, and torch's RuntimeError from the functions
that need the device)."""

from __future__ import annotations

from .backend import cupy_available
from .backend import device as Device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "current_device_idx",
           "set_device_index", "set_device_idx", "synchronize", "device_index", "empty_cache",
           "memory_allocated", "max_memory_allocated"]

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    return cupy_available()


def current_accelerator(check_available=False):
    """device('cuda') when a GPU is there (CuPy), else None."""
    return Device("cuda") if cupy_available() else None


def device_count() -> int:
    return 1 if cupy_available() else 0


def _need():
    if not cupy_available():
        raise RuntimeError(_NONE)


def current_device_index() -> int:
    _need()
    return 0


current_device_idx = current_device_index


def set_device_index(device) -> None:
    _need()


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    _need()
    from . import cuda
    cuda.synchronize()


def empty_cache() -> None:
    _need()
    from . import cuda
    cuda.empty_cache()


def memory_allocated(device_index=None) -> int:
    _need()
    from . import cuda
    return cuda.memory_allocated()


def max_memory_allocated(device_index=None) -> int:
    _need()
    from . import cuda
    return cuda.max_memory_allocated()


class device_index:
    """``with torch.accelerator.device_index(0):`` -- the one GPU; changes nothing."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        if self.device is not None:
            _need()
        return self

    def __exit__(self, *exc):
        return False
