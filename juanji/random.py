"""torch.random: ``Generator`` and the default one, ``manual_seed``, ``seed``, ``initial_seed``,
``get_rng_state``, ``set_rng_state``.

Everything random in juanji (initialisers, ``rand``/``randn``, dropout, shuffling, transforms)
draws from one NumPy stream, ``juanji.backend.generator()`` (the default), or from the
``generator=`` given; ``default_generator`` is the Generator over that default stream, so
``juanji.manual_seed(s)`` makes a whole run repeatable bit for bit. This module sits above the
Tensor because a generator's state is a tensor (``get_state``); the streams themselves are
arrays-level and live in juanji/backend.py, where the kernels and Tensor methods reach them.
"""

from __future__ import annotations

import json

import numpy as np

from .backend import DEFAULT_SEED, default_stream
from .tensor import Tensor

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state"]


class Generator:
    """torch.Generator on NumPy's PCG64: ``manual_seed``, ``seed``, ``get_state``/``set_state``.

    ``self.np`` is the NumPy generator that draws; seeding resets it in place, so whoever holds
    it (``juanji.backend.generator()`` for the default one) sees the new stream."""

    def __init__(self, device="cpu"):
        self.device = device if isinstance(device, str) else str(device)
        self._seed = DEFAULT_SEED
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        self._seed = seed
        self.np.bit_generator.state = np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF).state
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (JSON bytes of PCG64's state), like torch's ByteTensor."""
        payload = json.dumps({"seed": self._seed, "state": self.np.bit_generator.state}).encode()
        return Tensor._from_array(np.frombuffer(payload, dtype=np.uint8).copy())

    def set_state(self, state) -> "Generator":
        raw = state.numpy() if hasattr(state, "numpy") else np.asarray(state)
        payload = json.loads(bytes(raw.astype(np.uint8)).decode())
        self._seed = payload["seed"]
        self.np.bit_generator.state = payload["state"]
        return self


default_generator = Generator()
default_generator.np = default_stream  # the stream juanji.backend.generator() draws from by default


def manual_seed(seed: int) -> Generator:
    """Seed juanji's default generator (and return it, like torch.manual_seed)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)
