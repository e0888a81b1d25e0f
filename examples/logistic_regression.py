"""Logistic regression, the first model of every deep-learning course, written for PyTorch and
run on juanji: the only change from a torch script is the first import line.

Two clouds of points in the plane (two Gaussian "blobs", one per class) are to be told apart by
a straight line. The model turns a point x = (x1, x2) into the probability that it belongs to
class 1:

    p(x) = sigmoid(w . x + b) = 1 / (1 + exp(-(w1 x1 + w2 x2 + b)))

and training lowers the binary cross entropy between p and the labels y in {0, 1}:

    loss = -mean( y log p + (1 - y) log(1 - p) )

with stochastic gradient descent with momentum: each step moves (w, b) against the gradient
that ``loss.backward()`` computes.

Run it:  python examples/logistic_regression.py
"""

import juanji as torch
from juanji import nn, optim


def make_blobs(n_per_class=200, distance=2.5, generator=None):
    """``2 * n_per_class`` points: class 0 around (-distance, -distance), class 1 around
    (+distance, +distance), each coordinate with unit standard deviation.

    Returns the points ``X`` of shape (N, 2) and the labels ``y`` of shape (N, 1) as floats.
    """
    centre = torch.tensor([distance, distance])
    class0 = torch.randn(n_per_class, 2, generator=generator) - centre
    class1 = torch.randn(n_per_class, 2, generator=generator) + centre
    X = torch.cat([class0, class1])
    y = torch.cat([torch.zeros(n_per_class, 1), torch.ones(n_per_class, 1)])
    return X, y


def build_model():
    """One linear unit followed by a sigmoid: 2 inputs -> a probability."""
    return nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())


def accuracy(model, X, y):
    """Fraction of points on the right side of the line (p > 0.5 predicts class 1)."""
    with torch.no_grad():
        predictions = (model(X) > 0.5).float()
    return (predictions == y).float().mean().item()


def train(model, X, y, epochs=50, lr=0.1, momentum=0.9, log_every=10):
    """Full-batch gradient descent on the binary cross entropy; returns the loss per epoch."""
    loss_fn = nn.BCELoss()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()          # forget the previous step's gradients
        loss = loss_fn(model(X), y)    # forward: probabilities, then the loss
        loss.backward()                # backward: d loss / d (w, b)
        optimizer.step()               # update: (w, b) -= lr * momentum-smoothed gradient
        losses.append(loss.item())
        if log_every and epoch % log_every == 0:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}  train accuracy {accuracy(model, X, y):.1%}")
    return losses


def main():
    torch.manual_seed(0)
    X_train, y_train = make_blobs()
    X_test, y_test = make_blobs()  # fresh points from the same two clouds
    model = build_model()
    train(model, X_train, y_train)
    linear = model[0]
    w1, w2 = linear.weight[0].tolist()
    print(f"learned boundary: {w1:.3f} * x1 + {w2:.3f} * x2 + {linear.bias.item():.3f} = 0")
    print(f"final accuracy: {accuracy(model, X_test, y_test):.1%} on {len(X_test)} unseen points")


if __name__ == "__main__":
    main()
