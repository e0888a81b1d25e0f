"""In-place random fills: ``normal_``, ``uniform_``, ``bernoulli_``, ``exponential_``, ``random_``.

The numbers come from juanji's generator (``juanji.manual_seed``), or the ``generator=`` given.
"""

from __future__ import annotations

from ..autograd import recompute
from ..autograd.grad_mode import _state
from ..backend import generator as numpy_generator  # the generator= argument's, else juanji's default

__all__ = ["_RandomFills"]


class _RandomFills:
    """Tensor methods: fill self with random numbers."""

    def _random_fill(self, arr) -> "Tensor":
        if _state.enabled and self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        recompute.forget(self._data)  # (written in place: a recipe no longer tells its values)
        self._data[...] = arr
        return self

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._random_fill(numpy_generator(generator).normal(mean, std, self._data.shape))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        return self._random_fill(numpy_generator(generator).uniform(a, b, self._data.shape))

    def bernoulli_(self, p=0.5, *, generator=None):
        return self._random_fill(numpy_generator(generator).random(self._data.shape) < p)

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._random_fill(numpy_generator(generator).exponential(1.0 / lambd, self._data.shape))

    def random_(self, low=0, high=None, *, generator=None):
        if high is None:
            low, high = 0, low if low else 2 ** 24
        return self._random_fill(numpy_generator(generator).integers(low, high, self._data.shape))
