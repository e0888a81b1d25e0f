"""torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU, bit for bit (a kernel:
the Numba loops of DistributedSampler's shuffle, in kernels/ with every other compiled loop).

``DistributedSampler`` shuffles with a fresh torch generator seeded ``seed + epoch``, so ranks
agree on one permutation without talking. To give the same index lists as torch (a run
resumed, or split across ranks, reads the same samples), juanji reproduces that permutation
exactly: torch's CPU generator is the 32-bit Mersenne Twister MT19937, seeded with the low 32
bits of the seed by the reference ``init_genrand`` (NumPy's ``MT19937`` with its legacy
seeding is the same generator), and randperm is a Fisher-Yates shuffle driven by it:

    r = [0, 1, ..., n-1]
    for i in 0 .. n-2:   z = random32() % (n - i);  swap r[i], r[i + z]

For n >= 2**32 / 20 torch switches to an "inside-out" shuffle with 64-bit draws
(``random64() = random32() << 32 | random32()``):

    for i in 0 .. n-1:   z = random64() % (i + 1);  r[i] = r[z];  r[z] = i

This is not juanji's own generator (that one is PCG64, seeded by ``juanji.manual_seed``); it
exists only to give torch's sampler its exact order.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["torch_randperm"]

_LARGE = (2 ** 32 - 1) // 20  # torch's "n < std::numeric_limits<uint32_t>::max() / 20" switch
_CHUNK = 1 << 22


def _mt19937(seed: int) -> np.random.MT19937:
    generator = np.random.MT19937()
    generator._legacy_seeding(int(seed) & 0xFFFFFFFF)  # init_genrand(seed), as torch's mt19937(seed)
    return generator


@numba.njit(cache=True, nogil=True)
def _swap_forward(r, draws):  # pragma: no cover - compiled
    n = r.shape[0]
    for i in range(n - 1):
        z = draws[i] % (n - i)
        r[i], r[i + z] = r[i + z], r[i]


@numba.njit(cache=True, nogil=True)
def _inside_out(r, start, draws):  # pragma: no cover - compiled
    for k in range(draws.shape[0]):
        i = start + k
        z = draws[k] % np.uint64(i + 1)
        r[i] = r[z]
        r[z] = i


def torch_randperm(n: int, seed: int) -> np.ndarray:
    """The int64 permutation ``torch.randperm(n, generator=torch.Generator().manual_seed(seed))``."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    generator = _mt19937(seed)
    if n < _LARGE:
        r = np.arange(n, dtype=np.int64)
        if n > 1:
            _swap_forward(r, generator.random_raw(n - 1).astype(np.int64))
        return r
    r = np.empty(n, dtype=np.int64)
    for start in range(0, n, _CHUNK):  # the draws in chunks: 2n 32-bit words would not fit beside r
        count = min(_CHUNK, n - start)
        words = generator.random_raw(2 * count).astype(np.uint64)
        _inside_out(r, start, (words[0::2] << np.uint64(32)) | words[1::2])
    return r
