"""torch.cuda: the GPU as juanji sees it, through CuPy. Without CuPy and a GPU every question gets
torch's answer for a machine without CUDA (``is_available()`` False, ``device_count()`` 0), the
seeding and cache functions do nothing, and the functions that need a device raise torch's error.
"""

from __future__ import annotations

from ..backend import cupy_available
from . import amp  # noqa: F401

__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name",
           "get_device_capability", "is_bf16_supported", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "synchronize", "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "max_memory_reserved", "reset_peak_memory_stats", "is_initialized", "init", "amp", "device"]


def is_available() -> bool:
    return cupy_available()


def device_count() -> int:
    return 1 if is_available() else 0


def is_initialized() -> bool:
    return is_available()


def init() -> None:
    _need_gpu()


def _need_gpu():
    if not is_available():
        raise AssertionError("Torch not compiled with CUDA enabled")


def current_device() -> int:
    _need_gpu()
    return 0


def set_device(device) -> None:
    _need_gpu()


def get_device_name(device=None) -> str:
    _need_gpu()
    import cupy
    return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()


def get_device_capability(device=None):
    _need_gpu()
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(0)
    return props["major"], props["minor"]


def is_bf16_supported(including_emulation=True) -> bool:
    """juanji has no bfloat16 type (NumPy and CuPy have none)."""
    return False


def manual_seed(seed) -> None:
    """Nothing: juanji draws every random number from its one generator (juanji.manual_seed)."""


def manual_seed_all(seed) -> None:
    """Nothing: juanji draws every random number from its one generator (juanji.manual_seed)."""


def seed() -> None:
    """Nothing (see manual_seed)."""


def seed_all() -> None:
    """Nothing (see manual_seed)."""


def synchronize(device=None) -> None:
    if is_available():
        import cupy
        cupy.cuda.Device().synchronize()


def empty_cache() -> None:
    """Free the memory juanji holds for reuse: CuPy's pool on a GPU, and on the CPU the free
    buffers of ``juanji.kernels.workspace`` (torch's CPU build makes this call a no-op)."""
    from juanji.kernels import workspace
    workspace.release()
    if is_available():
        import cupy
        cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    if not is_available():
        return 0
    import cupy
    return int(cupy.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    if not is_available():
        return 0
    import cupy
    return int(cupy.get_default_memory_pool().total_bytes())


max_memory_allocated = memory_allocated
max_memory_reserved = memory_reserved


def reset_peak_memory_stats(device=None) -> None:
    """Nothing (CuPy's pool keeps no peak)."""


class device:
    """``with torch.cuda.device(0):`` -- the one GPU juanji uses; a context that changes nothing."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
