"""Transforms that run other transforms: Compose, RandomApply, RandomChoice, RandomOrder.

With several inputs (``t(image, mask)``) each inner transform receives and returns them all; with
one input, that input alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from ....nn import ModuleList
from ._transform import Transform, rng

__all__ = ["Compose", "RandomApply", "RandomChoice", "RandomOrder"]


def _check_transforms(transforms, allow_module_list: bool = False):
    if not isinstance(transforms, Sequence) and not (allow_module_list and isinstance(transforms, ModuleList)):
        raise TypeError("Argument transforms should be a sequence of callables"
                        + (" or a `nn.ModuleList`" if allow_module_list else ""))
    if not len(transforms):
        raise ValueError("Pass at least one transform")


def _run(transforms, inputs):
    several = len(inputs) > 1
    outputs = inputs if several else inputs[0]
    for transform in transforms:
        outputs = transform(*inputs)
        inputs = outputs if several else (outputs,)
    return outputs


class _Sequence(Transform):
    def extra_repr(self) -> str:
        return "\n".join(f"    {t}" for t in self.transforms)


class Compose(_Sequence):
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        super().__init__()
        _check_transforms(transforms)
        self.transforms = transforms

    def forward(self, *inputs):
        return _run(self.transforms, inputs)


class RandomApply(_Sequence):
    """Apply all of ``transforms`` (in order) with probability ``p``, else none."""

    def __init__(self, transforms, p: float = 0.5):
        super().__init__()
        _check_transforms(transforms, allow_module_list=True)
        if not 0.0 <= p <= 1.0:
            raise ValueError("`p` should be a floating point value in the interval [0.0, 1.0].")
        self.transforms = transforms
        self.p = p

    def forward(self, *inputs):
        if rng().random() >= self.p:
            return inputs if len(inputs) > 1 else inputs[0]
        return _run(self.transforms, inputs)


class RandomChoice(Transform):
    """Apply one of ``transforms``, picked with probabilities ``p`` (normalised; equal by default)."""

    def __init__(self, transforms, p=None):
        _check_transforms(transforms)
        if p is None:
            p = [1] * len(transforms)
        elif len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != {len(transforms)}")
        super().__init__()
        self.transforms = transforms
        total = sum(p)
        self.p = [prob / total for prob in p]

    def forward(self, *inputs):
        index = int(rng().choice(len(self.transforms), p=self.p))
        return self.transforms[index](*inputs)


class RandomOrder(Transform):
    """Apply all of ``transforms`` in a random order."""

    def __init__(self, transforms):
        _check_transforms(transforms)
        super().__init__()
        self.transforms = transforms

    def forward(self, *inputs):
        order = rng().permutation(len(self.transforms))
        return _run([self.transforms[int(i)] for i in order], inputs)
