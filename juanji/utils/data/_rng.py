"""Where the data utilities get their randomness: juanji's generators, never NumPy's global state.

Shuffling, random splits and worker seeds all draw from a ``juanji.Generator`` (the one passed
in, or the default one that ``juanji.manual_seed`` seeds), so a seeded run repeats exactly.
"""

from __future__ import annotations

import numpy as np

from ... import backend, random

__all__ = ["numpy_rng", "draw_seed"]

# torch draws seeds as a random int64 in [0, 2**63 - 1]
_SEED_HIGH = 2 ** 63 - 1


def numpy_rng(generator, who: str) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (a juanji.Generator, or None for the default)."""
    if generator is not None and not isinstance(generator, random.Generator):
        raise TypeError(f"{who}: expected generator to be a juanji.Generator or None, "
                        f"got {type(generator).__module__}.{type(generator).__name__}")
    return backend.generator(generator)


def draw_seed(generator, who: str) -> int:
    """A fresh seed drawn from ``generator`` (a random int64 >= 0, like torch's ``random_()``)."""
    return int(numpy_rng(generator, who).integers(0, _SEED_HIGH, endpoint=True, dtype=np.int64))
