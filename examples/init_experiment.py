"""Why initialisation matters: push a batch through a 100-layer, 256-wide MLP and watch the
standard deviation of the activations, layer by layer, for four ways of drawing the weights.

Written for PyTorch and run on juanji: the only change from a torch script is the import lines.

A layer computes y = x W with W of shape [n, n] (n = 256 inputs). If the entries of x have
variance v and those of W variance s^2, each entry of y is a sum of n products, so

    Var(y) = n * s^2 * v

and after L layers the variance has been multiplied by (n s^2)^L. The four experiments:

1. ``normal_(w)`` (s = 1), no nonlinearity: the std grows by sqrt(256) = 16 per layer and
   overflows float32 (about 3.4e38 = 16^32) after some 30 layers: inf, then nan.
2. ``normal_(w, std=sqrt(1/n))`` with tanh: n s^2 = 1, and tanh (slope 1 at 0, below 1
   elsewhere) shrinks the std only slowly; it stays bounded.
3. ``xavier_uniform_(w, gain=calculate_gain('tanh'))`` with tanh: Glorot's scale with the
   5/3 gain that makes up for tanh's squashing; bounded too.
4. ``kaiming_normal_(w, nonlinearity='relu')`` with relu: relu zeroes half its inputs, halving
   the second moment, so He et al. use s^2 = 2/n; the activations' scale stays near 1
   through all 100 layers.

Run it:  python examples/init_experiment.py
"""

import math
import warnings

import juanji as torch
from juanji import nn

WIDTH = 256
DEPTH = 100
BATCH = 512


def init_normal(w):
    nn.init.normal_(w)


def init_scaled_normal(w):
    nn.init.normal_(w, std=math.sqrt(1.0 / w.shape[0]))


def init_xavier_tanh(w):
    nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh"))


def init_kaiming_relu(w):
    nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")


def identity(x):
    return x


# name: (how to initialise W, the nonlinearity after each layer)
EXPERIMENTS = {
    "normal_(w), no activation": (init_normal, identity),
    "normal_(w, std=sqrt(1/n)), tanh": (init_scaled_normal, torch.tanh),
    "xavier_uniform_(gain=5/3), tanh": (init_xavier_tanh, torch.tanh),
    "kaiming_normal_(relu), relu": (init_kaiming_relu, torch.relu),
}


def activation_stds(init_fn, activation, depth=DEPTH, width=WIDTH, batch=BATCH, seed=0):
    """The std of the activations after each of ``depth`` layers (a list of floats; inf or nan
    once the float32 activations have overflowed).

    The network computes in float32 (the default dtype); the std is measured in float64 so that
    squaring huge-but-finite activations does not overflow before the activations themselves do.
    """
    torch.manual_seed(seed)
    x = torch.randn(batch, width)
    stds = []
    with torch.no_grad():
        for _ in range(depth):
            w = torch.empty(width, width)
            init_fn(w)
            x = activation(x @ w)
            if torch.isfinite(x).all():
                stds.append(x.double().std().item())
            else:
                stds.append(math.nan)
    return stds


def first_non_finite_layer(stds):
    """1-based index of the first layer with an inf or nan activation (None if there is none)."""
    for layer, s in enumerate(stds, start=1):
        if not math.isfinite(s):
            return layer
    return None


def run(depth=DEPTH, width=WIDTH, batch=BATCH):
    """All four experiments: {name: list of per-layer stds}."""
    return {name: activation_stds(init_fn, act, depth, width, batch)
            for name, (init_fn, act) in EXPERIMENTS.items()}


def report(results):
    checkpoints = [1, 2, 5, 10, 20, 30, 50, 100]
    checkpoints = [c for c in checkpoints if c <= len(next(iter(results.values())))]
    header = f"{'weights, activation':36s}" + "".join(f"{'layer ' + str(c):>12s}" for c in checkpoints)
    lines = [header, "-" * len(header)]
    for name, stds in results.items():
        lines.append(f"{name:36s}" + "".join(f"{stds[c - 1]:12.4g}" for c in checkpoints))
    for name, stds in results.items():
        broken = first_non_finite_layer(stds)
        if broken is not None:
            lines.append(f"{name}: the activations overflow to inf/nan at layer {broken}")
    return "\n".join(lines)


def main():
    print(f"std of the activations of a {DEPTH}-layer, {WIDTH}-wide MLP (batch {BATCH}; nan: overflowed)\n")
    with warnings.catch_warnings():  # the overflow of experiment 1 is the point, not a surprise
        warnings.simplefilter("ignore", RuntimeWarning)
        print(report(run()))


if __name__ == "__main__":
    main()
