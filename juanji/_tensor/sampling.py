"""Tensor methods that sample with the tensor as parameters: ``bernoulli`` (self holds the
probabilities), ``multinomial`` (self holds the weights of each row), ``poisson`` (self holds the
rates); and the in-place fills ``cauchy_``, ``geometric_``, ``log_normal_``.

Every draw comes from juanji's generator (``juanji.manual_seed``), or the ``generator=`` given.
"""

from __future__ import annotations

import numpy as np

from ..backend import generator as numpy_generator
from ..backend import xp_of

__all__ = ["_Sampling"]


class _Sampling:
    """Tensor methods: sampling with self as the distribution's parameters."""

    def bernoulli(self, p=None, *, generator=None):
        """1 with probability p (a number), or with the probabilities in self when p is None; 0
        otherwise; in self's dtype (which must then be floating, as in torch)."""
        if p is None:
            if not self.dtype.is_floating_point:
                from .special import _not_implemented
                raise _not_implemented("bernoulli_tensor_cpu_p_", self.dtype)
            prob = self._host()
            if ((prob < 0) | (prob > 1)).any():
                raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        else:
            prob = p._host() if hasattr(p, "_host") else p
            if np.any((np.asarray(prob) < 0) | (np.asarray(prob) > 1)):
                raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        draws = numpy_generator(generator).random(self._data.shape) < prob
        return self._from_array(xp_of(self._data).asarray(draws.astype(self._data.dtype)))

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """``num_samples`` category indices per row, drawn with probabilities proportional to the
        row's weights (without replacement: each category at most once)."""
        if self.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                               f"{self.dtype.scalar_name}")
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        weights = self._host().astype(np.float64)
        rows = weights.reshape(-1, weights.shape[-1])
        if not replacement and num_samples > rows.shape[1]:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        if not np.isfinite(rows).all() or (rows < 0).any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        g = numpy_generator(generator)
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for k, row in enumerate(rows):
            total = row.sum()
            if total <= 0:
                raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
            positive = np.count_nonzero(row)
            if not replacement and num_samples > positive:
                # torch then goes on with the zero-weight categories once the others are drawn
                first = g.choice(row.size, size=positive, replace=False, p=row / total)
                rest = g.permutation(np.flatnonzero(row == 0))[:num_samples - positive]
                out[k] = np.concatenate([first, rest])
                continue
            out[k] = g.choice(row.size, size=num_samples, replace=replacement, p=row / total)
        shape = (num_samples,) if self.ndim == 1 else (weights.shape[0], num_samples)
        return self._from_array(xp_of(self._data).asarray(out.reshape(shape)))

    def _poisson(self, generator=None):
        """Poisson counts with rates self (torch.poisson), in self's dtype."""
        if not self.dtype.is_floating_point:
            from .special import _not_implemented
            raise _not_implemented("poisson_cpu", self.dtype)
        rates = self._host()
        if (rates < 0).any():
            raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
        return self._from_array(xp_of(self._data).asarray(
            numpy_generator(generator).poisson(rates).astype(self._data.dtype)))

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        """Fill with Cauchy draws: median + sigma * tan(pi (u - 1/2)), u uniform on (0, 1)."""
        u = numpy_generator(generator).random(self._data.shape)
        return self._random_fill(median + sigma * np.tan(np.pi * (u - 0.5)))

    def geometric_(self, p, *, generator=None):
        """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        return self._random_fill(numpy_generator(generator).geometric(p, self._data.shape))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """Fill with exp(N(mean, std^2)) draws."""
        if std <= 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        return self._random_fill(numpy_generator(generator).lognormal(mean, std, self._data.shape))
