"""Array backends (NumPy on the CPU, CuPy on a GPU), devices, and juanji's one random stream.

The bottom of juanji: the kernels, the Ops and the Tensor take ``xp_of(arr)`` (numpy or cupy)
from here, and everything random (initialisers, ``rand``/``randn``, dropout, shuffling,
transforms) draws from :func:`generator`, so ``juanji.manual_seed(s)`` makes a whole run
repeatable bit for bit. ``juanji.Generator`` and the seeding functions are in juanji/random.py
(a generator's state is a tensor); the thread count in juanji/threads.py.
"""

from __future__ import annotations

import numpy as np

try:  # CuPy is optional: only present on GPU machines
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - no GPU here
    _cupy = None

__all__ = ["xp_of", "xp_for", "cupy_available", "device", "CPU", "generator", "default_stream", "DEFAULT_SEED"]


def cupy_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def xp_of(arr):
    """The array module (numpy or cupy) that owns ``arr``."""
    if _cupy is not None and isinstance(arr, _cupy.ndarray):
        return _cupy
    return np


class device:
    """torch.device: ``device('cpu')``, ``device('cuda')``, ``device('cuda', 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and (
            self.index == other.index or None in (self.index, other.index))

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None else ")")

    def __str__(self):
        return self.type + (f":{self.index}" if self.index is not None else "")


CPU = device("cpu")


def xp_for(dev) -> object:
    """The array module for a device."""
    if dev is None or device(dev).type == "cpu":
        return np
    if not cupy_available():
        raise RuntimeError("juanji: CUDA device requested but CuPy with a GPU is not available")
    return _cupy


# juanji's default random stream: everything random draws from it unless given a generator=
# (juanji.random.default_generator is the torch.Generator over it, seeded by juanji.manual_seed)
DEFAULT_SEED = 67280421310721  # torch's default seed
default_stream = np.random.Generator(np.random.PCG64(DEFAULT_SEED))


def generator(gen=None) -> np.random.Generator:
    """The NumPy generator to draw from: ``gen``'s (a juanji.Generator) if given, else the
    default stream."""
    return gen.np if gen is not None else default_stream
