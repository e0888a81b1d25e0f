"""Linear regression from scratch, the way *Dive into Deep Learning* (section 3.2) writes it for
PyTorch: only tensors, autograd and a hand-written SGD step. Swapping ``import torch`` for
``import juanji as torch`` is the only change; the rest is the tutorial's code as written for torch.

The data come from a known line, y = X w + b + noise with w = [2, -3.4] and b = 4.2, so after
training we can see how close the learned w and b are:

    minibatch loss  l = sum_i (X_i w + b - y_i)^2 / 2
    SGD step        w <- w - lr * dl/dw / batch_size   (and the same for b)

Run it:  python examples/linear_regression_by_hand.py
"""

import random

import juanji as torch


def synthetic_data(w, b, num_examples):
    """y = Xw + b + Gaussian noise (std 0.01)."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    """Shuffled minibatches of (features, labels)."""
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    """The linear regression model."""
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    """Squared loss, halved."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def main(num_epochs=3, lr=0.03, batch_size=10, seed=0, verbose=True):
    """Train on 1000 synthetic examples; return the true and the learned (w, b)."""
    random.seed(seed)
    torch.manual_seed(seed)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    if verbose:
        print('features:', features[0], '\nlabel:', labels[0])

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    net, loss = linreg, squared_loss
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)  # minibatch loss of X and y
            # l has shape (batch_size, 1) and is not a scalar: sum it, then take the gradient
            l.sum().backward()
            sgd([w, b], lr, batch_size)  # update the parameters with their gradient
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            if verbose:
                print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')
    if verbose:
        print(f'error in estimating w: {true_w - w.reshape(true_w.shape)}')
        print(f'error in estimating b: {true_b - b}')
    return (true_w, true_b), (w, b)


if __name__ == "__main__":
    main()
