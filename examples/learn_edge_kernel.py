"""Learning a convolution kernel from data, the way *Dive into Deep Learning* does it
(section 7.2.4).

The image ``X`` is white with a black band; ``Y = corr2d(X, [[1, -1]])`` marks its vertical
edges. Starting from a random 1 x 2 kernel, gradient descent on the squared error

    loss = sum (conv2d(X, K) - Y)^2,        K <- K - lr * dloss/dK

recovers ``K ~ [[1, -1]]`` within a few steps. The first version trains the library's
``nn.Conv2d``; the second the hand-made ``Conv2D`` of ``corr2d_by_hand.py`` (slower: it is
Python loops over tensor slices, but its gradient comes out of the same autograd).

Run it:  python examples/learn_edge_kernel.py
"""

import pathlib
import sys

import juanji as torch
from juanji import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from corr2d_by_hand import Conv2D, corr2d, edge_image  # noqa: E402


def train(layer, X, Y, epochs=10, lr=3e-2, report_every=2):
    """Plain gradient descent on ``layer``'s kernel; returns the loss of every epoch."""
    losses = []
    for epoch in range(epochs):
        Y_hat = layer(X)
        loss = ((Y_hat - Y) ** 2).sum()
        layer.zero_grad()
        loss.backward()
        layer.weight.data[:] -= lr * layer.weight.grad  # step the kernel (the bias stays 0)
        losses.append(loss.item())
        if report_every and (epoch + 1) % report_every == 0:
            print(f"epoch {epoch + 1}, loss {loss.item():.3f}")
    return losses


def main():
    X = edge_image()
    Y = corr2d(X, torch.tensor([[1.0, -1.0]]))

    # nn.Conv2d: one output channel, a (1, 2) kernel, no bias; inputs are (batch, channel, h, w)
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    train(conv2d, X.reshape((1, 1, 6, 8)), Y.reshape((1, 1, 6, 7)))
    print("learned kernel (nn.Conv2d):", conv2d.weight.data.reshape((1, 2)))

    # the hand-made layer: the same loop, a (6, 8) image in, a (6, 7) image out
    layer = Conv2D(kernel_size=(1, 2))
    train(layer, X, Y, epochs=20, lr=2e-2, report_every=5)
    print("learned kernel (Conv2D):", layer.weight.data)


if __name__ == "__main__":
    main()
