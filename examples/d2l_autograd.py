"""Automatic differentiation as *Dive into Deep Learning* section 2.5 teaches it, as functions of
the library so the same code runs on juanji and on PyTorch.

    y = 2 x.x            dy/dx = 4x
    y = sum(x)           dy/dx = 1
    y = x * x            y.backward(gradient=ones)  ->  2x
    z = detach(x*x) * x  dz/dx = u   (u treated as a constant)
    f(a) with a while loop and an if: f is piecewise linear in a, so f'(a) = f(a) / a

Run it:  python examples/d2l_autograd.py [--torch]
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import library, run_sections  # noqa: E402


def simple_function(torch):
    x = torch.arange(4.0)
    x.requires_grad_(True)
    grad_before = x.grad  # None until a backward pass
    y = 2 * torch.dot(x, x)
    y.backward()
    first = x.grad.clone()
    x.grad.zero_()  # otherwise the next backward adds to it
    y = x.sum()
    y.backward()
    return {"x.grad before": grad_before, "y": y, "2 x.x -> 4x": first, "check": first == 4 * x,
            "sum -> ones": x.grad}


def non_scalar_variables(torch):
    x = torch.arange(4.0, requires_grad=True)
    y = x * x
    y.backward(gradient=torch.ones(len(y)))  # faster: y.sum().backward()
    first = x.grad.clone()
    x.grad.zero_()
    y = x * x
    y.sum().backward()
    return {"x*x with ones": first, "(x*x).sum()": x.grad}


def detaching_computation(torch):
    x = torch.arange(4.0, requires_grad=True)
    y = x * x
    u = y.detach()
    z = u * x
    z.sum().backward()
    first = x.grad == u
    x.grad.zero_()
    y.sum().backward()
    return {"dz/dx == u": first, "dy/dx == 2x": x.grad == 2 * x, "u.requires_grad": u.requires_grad,
            "y.requires_grad": y.requires_grad, "x.is_leaf": x.is_leaf, "y.is_leaf": y.is_leaf}


def control_flow(torch):
    def f(a):
        b = a * 2
        while b.norm() < 1000:
            b = b * 2
        if b.sum() > 0:
            c = b
        else:
            c = 100 * b
        return c

    results = {}
    for start in (-0.7, 0.3):
        a = torch.tensor(start, requires_grad=True)
        d = f(a)
        d.backward()
        results[f"a={start}"] = (d, a.grad, a.grad == d / a)
    return results


def gradients_of_activations(torch):
    """The plots of d2l 5.1: relu, sigmoid and tanh and their derivatives on a grid."""
    x = torch.arange(-8.0, 8.0, 0.5, requires_grad=True)
    results = {}
    for name in ("relu", "sigmoid", "tanh"):
        y = getattr(torch, name)(x)
        y.backward(torch.ones_like(x), retain_graph=True)
        results[name] = (y.detach(), x.grad.clone())
        x.grad.data.zero_()
    return results


def no_grad_and_sgd_by_hand(torch):
    """d2l 3.4's sgd: update leaves in place under no_grad, then zero their gradients."""
    w = torch.tensor([[0.5], [-0.25]], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    X = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    y = torch.tensor([[1.0], [2.0], [0.0]])
    losses = []
    for _ in range(3):
        loss = ((torch.matmul(X, w) + b - y) ** 2 / 2).sum()
        loss.backward()
        with torch.no_grad():
            for param in (w, b):
                param -= 0.1 * param.grad / len(X)
                param.grad.zero_()
        losses.append(loss.item())
    with torch.no_grad():
        frozen = torch.matmul(X, w)
    return {"losses": losses, "w": w, "b": b, "w.is_leaf": w.is_leaf, "w.grad": w.grad,
            "under no_grad requires_grad": frozen.requires_grad, "is_grad_enabled": torch.is_grad_enabled()}


SECTIONS = [simple_function, non_scalar_variables, detaching_computation, control_flow,
            gradients_of_activations, no_grad_and_sgd_by_hand]


def main(argv=None):
    return run_sections(library(argv), SECTIONS)


if __name__ == "__main__":
    sys.exit(main())
