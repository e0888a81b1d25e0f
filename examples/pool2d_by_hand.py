"""Pooling written out by hand, the way *Dive into Deep Learning* introduces it (section 7.5).

A 2-d pooling layer slides a ``p_h x p_w`` window over the input one step at a time and keeps
the maximum (or the mean) of each window:

    Y[i, j] = max / mean of X[i : i + p_h, j : j + p_w]

so ``Y`` has shape ``(h - p_h + 1, w - p_w + 1)``. The loops below do exactly that on juanji
tensors; ``F.max_pool2d(X, pool_size, stride=1)`` computes the same thing with one kernel call.

Run it:  python examples/pool2d_by_hand.py
"""

import juanji as torch
import juanji.nn.functional as F


def pool2d(X, pool_size, mode="max"):
    """Max or average pooling of a 2-d tensor ``X`` with a ``pool_size`` window and stride 1."""
    window_h, window_w = pool_size
    out_h = X.shape[0] - window_h + 1
    out_w = X.shape[1] - window_w + 1
    Y = torch.zeros((out_h, out_w), dtype=X.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = X[i:i + window_h, j:j + window_w]
            if mode == "max":
                Y[i, j] = window.max()
            elif mode == "avg":
                Y[i, j] = window.mean()
            else:
                raise ValueError(f"pool2d: mode must be 'max' or 'avg', got {mode!r}")
    return Y


def main():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    print("X =", X, sep="\n")
    print("max pooling 2x2 by hand:", pool2d(X, (2, 2)), sep="\n")
    print("avg pooling 2x2 by hand:", pool2d(X, (2, 2), "avg"), sep="\n")
    # the library version works on (N, C, H, W) batches and takes a stride (default: the window)
    batch = X.reshape(1, 1, 3, 3)
    print("F.max_pool2d(stride=1):", F.max_pool2d(batch, (2, 2), stride=1)[0, 0], sep="\n")
    print("F.avg_pool2d(stride=1):", F.avg_pool2d(batch, (2, 2), stride=1)[0, 0], sep="\n")


if __name__ == "__main__":
    main()
