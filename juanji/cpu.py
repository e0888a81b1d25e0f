"""torch.cpu: the CPU as a device module (always there, one of it)."""

from __future__ import annotations

__all__ = ["is_available", "device_count", "current_device", "synchronize", "set_device", "amp"]


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def set_device(device) -> None:
    """Nothing: there is one CPU device."""


def synchronize(device=None) -> None:
    """Nothing: CPU work is done when a function returns."""


class amp:
    """torch.cpu.amp: ``autocast`` on the CPU."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from .amp import autocast
        return autocast("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
