"""The smallest end-to-end check: a tensor expression, its gradient, and the package import."""

import juanji as torch


def test_square_sum_gradient_is_twice_the_input():
    w = torch.tensor([2.0, -1.0], requires_grad=True)
    (w * w).sum().backward()
    assert w.grad.tolist() == [4.0, -2.0]
