"""Array backends (NumPy on the CPU, CuPy on a GPU) and juanji's one random generator.

Everything random in juanji (initialisers, ``rand``/``randn``, dropout, shuffling, transforms)
draws from :func:`generator`, so ``juanji.manual_seed(s)`` makes a whole run repeatable bit for bit.
"""

from __future__ import annotations

import json

import numpy as np

try:  # CuPy is optional: only present on GPU machines
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - no GPU here
    _cupy = None

__all__ = ["xp_of", "cupy_available", "Generator", "generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "device", "set_num_threads", "get_num_threads"]


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


class Generator:
    """torch.Generator on NumPy's PCG64: ``manual_seed``, ``seed``, ``get_state``/``set_state``."""

    def __init__(self, device="cpu"):
        self.device = device if isinstance(device, str) else str(device)
        self._seed = 67280421310721  # torch's default seed
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self.np = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (JSON bytes of PCG64's state), like torch's ByteTensor."""
        from .tensor import Tensor
        payload = json.dumps({"seed": self._seed, "state": self.np.bit_generator.state}).encode()
        return Tensor._from_array(np.frombuffer(payload, dtype=np.uint8).copy())

    def set_state(self, state) -> "Generator":
        raw = state.numpy() if hasattr(state, "numpy") else np.asarray(state)
        payload = json.loads(bytes(raw.astype(np.uint8)).decode())
        self._seed = payload["seed"]
        self.np.bit_generator.state = payload["state"]
        return self


default_generator = Generator()


def generator(gen: Generator | None = None) -> np.random.Generator:
    """The NumPy generator to draw from: ``gen``'s if given, else the default one."""
    return (gen if gen is not None else default_generator).np


def manual_seed(seed: int) -> Generator:
    """Seed juanji's default generator (and return it, like torch.manual_seed)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


# ----------------------------------------------------------------------------- threads
def set_num_threads(n) -> None:
    """torch.set_num_threads: how many threads juanji's kernels use (Numba's loops, the
    convolution worker threads) and NumPy's BLAS. At most Numba's launched thread count
    (``NUMBA_NUM_THREADS``, by default the number of cores)."""
    import builtins

    import numba

    from .kernels._threads import set_blas_threads
    if isinstance(n, builtins.bool) or not isinstance(n, (builtins.int, np.integer)):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    n = min(builtins.int(n), numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(n)
    set_blas_threads(n)


def get_num_threads() -> int:
    """torch.get_num_threads: the thread count set by :func:`set_num_threads` (Numba's)."""
    import numba
    return numba.get_num_threads()
