"""Softmax regression and multilayer perceptrons on Fashion-MNIST, written the way *Dive into
Deep Learning* writes them (3.6/4.4 softmax from scratch, 3.7/4.5 concise, 4.2/5.2 MLP from
scratch and concise, 4.6/5.6 dropout), as functions of the library so the same code runs on
juanji and on PyTorch.

    softmax(X)_ij = exp(X_ij) / sum_k exp(X_ik)
    cross-entropy(y_hat, y)_i = -log y_hat[i, y_i]

The data is the Fashion-MNIST sample that ships with juanji (``d2l_common.fashion_sample``),
given to both libraries as the same NumPy arrays. Each training function takes
``init_state`` (a NumPy snapshot of the weights): when given, training starts from it, so a
juanji run and a torch run can be compared step for step.

The book writes ``y_hat.argmax(axis=1)`` and ``X_exp.sum(1, keepdims=True)``: NumPy's names,
which torch accepts as aliases of ``dim``/``keepdim``. ``accuracy_as_in_the_book`` keeps that
spelling; the code below uses ``dim``/``keepdim``.

Run it:  python examples/d2l_softmax_mlp.py [--torch]
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import fashion_sample, library, load_numpy_state, numpy_state, show  # noqa: E402


class Accumulator:
    """For accumulating sums over n variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy_as_in_the_book(y_hat, y):
    """Compute the number of correct predictions (d2l's spelling: ``argmax(axis=1)``)."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(torch, net, data_iter):
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(2)  # No. of correct predictions, no. of predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(torch, net, train_iter, loss, updater, step_losses):
    """The training loop defined in Chapter 3."""
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)  # Sum of training loss, sum of training accuracy, no. of examples
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            # Using PyTorch in-built optimizer & loss criterion
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            # Using custom built optimizer & loss criterion
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
        step_losses.append(float(l.mean()))
    return metric[0] / metric[2], metric[1] / metric[2]


def load_arrays(torch, data, batch_size, shuffle):
    """DataLoaders over the NumPy arrays (X_train, y_train, X_test, y_test)."""
    X_train, y_train, X_test, y_test = (torch.tensor(a) for a in data)
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    return (DataLoader(TensorDataset(X_train, y_train), batch_size, shuffle=shuffle),
            DataLoader(TensorDataset(X_test, y_test), batch_size, shuffle=False))


def train_ch3(torch, net, data, loss, num_epochs, updater, batch_size=256, shuffle=True, verbose=False):
    """Train a model (defined in Chapter 3); returns the per-epoch metrics and every step's loss."""
    train_iter, test_iter = load_arrays(torch, data, batch_size, shuffle)
    history, step_losses = [], []
    for epoch in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(torch, net, train_iter, loss, updater, step_losses)
        test_acc = evaluate_accuracy(torch, net, test_iter)
        history.append((train_loss, train_acc, test_acc))
        if verbose:
            print(f"epoch {epoch + 1}: loss {train_loss:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}")
    return {"history": history, "step_losses": step_losses}


def softmax_regression_scratch(torch, data, init_state=None, num_epochs=2, lr=0.1, shuffle=True, verbose=False):
    num_inputs, num_outputs = 784, 10
    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)
    if init_state is not None:
        W.data, b.data = torch.tensor(init_state["W"]), torch.tensor(init_state["b"])
    start = {"W": W.detach().numpy().copy(), "b": b.detach().numpy().copy()}

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition  # The broadcasting mechanism is applied here

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return - torch.log(y_hat[range(len(y_hat)), y])

    def updater(batch_size):
        with torch.no_grad():
            for param in (W, b):
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    result = train_ch3(torch, net, data, cross_entropy, num_epochs, updater, shuffle=shuffle, verbose=verbose)
    return {"initial_state": start, **result, "W": W, "b": b}


def init_weights(torch, m):
    if type(m) == torch.nn.Linear:
        torch.nn.init.normal_(m.weight, std=0.01)


def _train_module(torch, net, data, init_state, num_epochs, lr, shuffle, verbose):
    """The concise recipe shared by softmax regression and the MLPs."""
    net.apply(lambda m: init_weights(torch, m))
    if init_state is not None:
        load_numpy_state(torch, net, init_state)
    start = numpy_state(net)
    loss = torch.nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    result = train_ch3(torch, net, data, loss, num_epochs, trainer, shuffle=shuffle, verbose=verbose)
    return {"initial_state": start, **result, "final_state": numpy_state(net)}


def softmax_regression_concise(torch, data, init_state=None, num_epochs=2, lr=0.1, shuffle=True, verbose=False):
    nn = torch.nn
    # PyTorch does not implicitly reshape the inputs. Thus we define the flatten
    # layer to reshape the inputs before the linear layer in our network
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    return _train_module(torch, net, data, init_state, num_epochs, lr, shuffle, verbose)


def mlp_scratch(torch, data, init_state=None, num_epochs=2, lr=0.1, shuffle=True, verbose=False):
    nn = torch.nn
    num_inputs, num_outputs, num_hiddens = 784, 10, 256
    W1 = nn.Parameter(torch.randn(num_inputs, num_hiddens, requires_grad=True) * 0.01)
    b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
    W2 = nn.Parameter(torch.randn(num_hiddens, num_outputs, requires_grad=True) * 0.01)
    b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))
    params = [W1, b1, W2, b2]
    if init_state is not None:
        for param, name in zip(params, ("W1", "b1", "W2", "b2")):
            param.data = torch.tensor(init_state[name])
    start = {name: p.detach().numpy().copy() for name, p in zip(("W1", "b1", "W2", "b2"), params)}

    def relu(X):
        a = torch.zeros_like(X)
        return torch.max(X, a)

    def net(X):
        X = X.reshape((-1, num_inputs))
        H = relu(X @ W1 + b1)  # Here '@' stands for matrix multiplication
        return (H @ W2 + b2)

    loss = nn.CrossEntropyLoss(reduction='none')
    updater = torch.optim.SGD(params, lr=lr)
    result = train_ch3(torch, net, data, loss, num_epochs, updater, shuffle=shuffle, verbose=verbose)
    return {"initial_state": start, **result, "leaf types": [type(p).__name__ for p in params]}


def mlp_concise(torch, data, init_state=None, num_epochs=2, lr=0.1, shuffle=True, verbose=False):
    nn = torch.nn
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(784, 256),
                        nn.ReLU(),
                        nn.Linear(256, 10))
    return _train_module(torch, net, data, init_state, num_epochs, lr, shuffle, verbose)


def dropout_layer(torch, X, dropout):
    """Inverted dropout from scratch: keep each element with probability 1 - p, scaled by 1 / (1 - p)."""
    assert 0 <= dropout <= 1
    # In this case, all elements are dropped out
    if dropout == 1:
        return torch.zeros_like(X)
    # In this case, all elements are kept
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


def mlp_dropout(torch, data, dropout1=0.2, dropout2=0.5, init_state=None, num_epochs=2, lr=0.5, shuffle=True,
                verbose=False):
    nn = torch.nn
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(784, 256),
                        nn.ReLU(),
                        # Add a dropout layer after the first fully connected layer
                        nn.Dropout(dropout1),
                        nn.Linear(256, 256),
                        nn.ReLU(),
                        # Add a dropout layer after the second fully connected layer
                        nn.Dropout(dropout2),
                        nn.Linear(256, 10))
    result = _train_module(torch, net, data, init_state, num_epochs, lr, shuffle, verbose)
    net.eval()
    with torch.no_grad():
        X_test = torch.tensor(data[2][:8])
        result["eval outputs are deterministic"] = bool((net(X_test) == net(X_test)).all())
    result["repr"] = repr(net)
    return result


def main(argv=None):
    torch = library(argv)
    torch.manual_seed(0)
    data = fashion_sample(6000, 1000)
    for name, fn in [("softmax regression from scratch", softmax_regression_scratch),
                     ("softmax regression, concise", softmax_regression_concise),
                     ("MLP from scratch", mlp_scratch), ("MLP, concise", mlp_concise),
                     ("MLP with dropout", mlp_dropout)]:
        print(f"-- {name}")
        result = fn(torch, data, num_epochs=3, verbose=True)
        show(name, {"final test accuracy": result["history"][-1][2]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
