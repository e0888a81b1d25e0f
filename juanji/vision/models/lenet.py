"""LeNet-5 (LeCun et al. 1998), as in d2l.ai's chapter 7.6.

Two convolution + pooling stages and three fully connected layers::

    conv(in, 6, 5) - act - pool 2   ->  6 x 28 x 28  ->  6 x 14 x 14
    conv(6, 16, 5) - act - pool 2   ->  16 x 10 x 10 ->  16 x 5 x 5
    flatten - fc 400 -> 120 - act - fc 120 -> 84 - act - fc 84 -> num_classes

``variant='relu'`` (the default) uses ReLU and max pooling, which trains much faster;
``variant='classic'`` is the original's sigmoid activations with average pooling, as d2l's
chapter builds it. ``lenet5`` is this one definition everywhere: the library, ``juanji train
--model lenet5`` and ``juanji summary lenet5`` all build ``variant='relu'`` unless told
otherwise, and a training checkpoint records every constructor argument (rebuild it with
``juanji.checkpoint.model_from_checkpoint``).

The first convolution pads by 2 for 28x28 inputs (MNIST, Fashion-MNIST), which is what the
original's 32x32 input amounts to; ``input_size=32`` (CIFAR, original LeNet) pads nothing.

    >>> from juanji.vision.models import lenet5
    >>> import juanji
    >>> lenet5()(juanji.randn(2, 1, 28, 28)).shape
    juanji.Size([2, 10])
    >>> lenet5()[1], lenet5(variant="classic")[1]
    (ReLU(), Sigmoid())
"""

from __future__ import annotations

from ... import nn

__all__ = ["LeNet5", "lenet5"]

_ACTIVATIONS = {"classic": (nn.Sigmoid, nn.AvgPool2d), "relu": (nn.ReLU, nn.MaxPool2d)}


class LeNet5(nn.Sequential):
    """LeNet-5 as one ``Sequential`` (d2l's layout: indices 0..11, ``state_dict`` keys
    ``0.weight``, ``3.weight``, ``7.weight``, ``9.weight``, ``11.weight`` and their biases)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, variant: str = "relu",
                 input_size: int = 28):
        if variant not in _ACTIVATIONS:
            raise ValueError(f"lenet5: variant must be one of {sorted(_ACTIVATIONS)}, got {variant!r}")
        if input_size not in (28, 32):
            raise ValueError(f"lenet5: input_size must be 28 (padded to 32) or 32, got {input_size!r}")
        activation, pool = _ACTIVATIONS[variant]
        padding = (32 - input_size) // 2
        super().__init__(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding), activation(),
            pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), activation(),
            pool(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), activation(),
            nn.Linear(120, 84), activation(),
            nn.Linear(84, num_classes),
        )
        self.variant = variant
        self.input_size = input_size


def lenet5(num_classes: int = 10, in_channels: int = 1, variant: str = "relu", input_size: int = 28) -> LeNet5:
    """LeNet-5 for ``(N, in_channels, input_size, input_size)`` inputs (28 or 32); ``variant`` is
    ``'relu'`` (ReLU + max pooling, default) or ``'classic'`` (sigmoid + average pooling, d2l's)."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels, variant=variant, input_size=input_size)
