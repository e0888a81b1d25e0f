"""Cross-correlation written out by hand, the way *Dive into Deep Learning* introduces
convolutions (section 7.2).

A 2-d convolutional layer (strictly, a cross-correlation) slides a ``k_h x k_w`` kernel ``K``
over the input ``X`` one step at a time; each output is the sum of a window times the kernel:

    Y[i, j] = sum_{a, b} X[i + a, j + b] * K[a, b]

so ``Y`` has shape ``(h - k_h + 1, w - k_w + 1)``. ``corr2d`` below is just slicing and
``.sum()`` on tensors; ``Conv2D`` wraps it in a module with a learnable kernel and bias. The
library's ``F.conv2d`` computes the same thing in one kernel call.

Run it:  python examples/corr2d_by_hand.py
"""

import juanji as torch
from juanji import nn


def corr2d(X, K):
    """2-d cross-correlation of ``X`` (h, w) with the kernel ``K`` (k_h, k_w)."""
    k_h, k_w = K.shape
    Y = torch.zeros((X.shape[0] - k_h + 1, X.shape[1] - k_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + k_h, j:j + k_w] * K).sum()
    return Y


class Conv2D(nn.Module):
    """A 2-d convolutional layer made of ``corr2d``: ``y = corr2d(x, weight) + bias``."""

    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias


def edge_image():
    """A 6 x 8 image: white (1) with a black (0) band in columns 2..5."""
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


def main():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    print("corr2d(X, K) =", corr2d(X, K), sep="\n")
    same = torch.nn.functional.conv2d(X.reshape(1, 1, 3, 3), K.reshape(1, 1, 2, 2)).reshape(2, 2)
    print("F.conv2d gives the same:", same, sep="\n")

    # a 1 x 2 kernel [1, -1] finds vertical edges: +1 going white->black, -1 going black->white
    X = edge_image()
    K = torch.tensor([[1.0, -1.0]])
    print("edges of X:", corr2d(X, K), sep="\n")
    print("...and none once X is transposed (the kernel only sees horizontal changes):",
          corr2d(X.t(), K), sep="\n")

    layer = Conv2D(kernel_size=(1, 2))
    print("a Conv2D layer with a random kernel:", layer(X), sep="\n")


if __name__ == "__main__":
    main()
