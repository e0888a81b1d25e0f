"""Linear regression the three ways *Dive into Deep Learning* writes it, as functions of the
library so the same code runs on juanji and on PyTorch:

- 3.4 from scratch: a Python-shuffled minibatch iterator, ``w``/``b`` leaves, a hand-written sgd;
- 3.5 concise: ``nn.Sequential(nn.Linear(2, 1))``, ``TensorDataset``/``DataLoader``,
  ``nn.MSELoss()``, ``torch.optim.SGD``;
- 3.7 weight decay: one parameter group with ``weight_decay`` for the weight, none for the bias.

The model is ``y = X w + b + noise`` with ``w = [2, -3.4]``, ``b = 4.2``; minibatch SGD on the
squared error recovers ``w`` and ``b`` to about 1e-3.

Each training function takes ``init_state`` (a NumPy snapshot of the weights, see
``d2l_common.numpy_state``): when given, the network starts from it instead of its random
initialisation, so a juanji run and a torch run can be compared step for step.

Run it:  python examples/d2l_linear_regression.py [--torch]
"""

import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import library, load_numpy_state, numpy_state, show  # noqa: E402

TRUE_W, TRUE_B = [2.0, -3.4], 4.2


def synthetic_data(torch, w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(torch, batch_size, features, labels, rng):
    """The book's minibatch iterator: shuffled indices (Python's random), a tensor of indices per batch."""
    num_examples = len(features)
    indices = list(range(num_examples))
    rng.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linear_regression_scratch(torch, features, labels, init_state=None, num_epochs=3, batch_size=10, lr=0.03,
                              verbose=False):
    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    if init_state is not None:
        w.data = torch.tensor(init_state["w"])
        b.data = torch.tensor(init_state["b"])
    start = {"w": w.detach().numpy().copy(), "b": b.detach().numpy().copy()}

    def linreg(X, w, b):
        return torch.matmul(X, w) + b

    def squared_loss(y_hat, y):
        return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    rng = random.Random(0)  # the same shuffles whichever library runs this
    epoch_losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter(torch, batch_size, features, labels, rng):
            l = squared_loss(linreg(X, w, b), y)
            l.sum().backward()
            sgd([w, b], lr, batch_size)
        with torch.no_grad():
            train_l = squared_loss(linreg(features, w, b), labels)
            epoch_losses.append(float(train_l.mean()))
            if verbose:
                print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')
    true_w = torch.tensor(TRUE_W)
    return {"initial_state": start, "epoch_losses": epoch_losses, "w": w, "b": b,
            "error in estimating w": true_w - w.reshape(true_w.shape), "error in estimating b": TRUE_B - b}


def linear_regression_concise(torch, features, labels, init_state=None, shuffle=True, num_epochs=3,
                              batch_size=10, loss_name="MSELoss", verbose=False):
    nn, data = torch.nn, torch.utils.data

    def load_array(data_arrays, batch_size, is_train=True):
        """Construct a PyTorch data iterator."""
        dataset = data.TensorDataset(*data_arrays)
        return data.DataLoader(dataset, batch_size, shuffle=is_train)

    data_iter = load_array((features, labels), batch_size, is_train=shuffle)
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    if init_state is not None:
        load_numpy_state(torch, net, init_state)
    start = numpy_state(net)
    loss = getattr(nn, loss_name)()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)

    step_losses, epoch_losses, printed = [], [], []
    for epoch in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
            step_losses.append(l.item())
        l = loss(net(features), labels)
        epoch_losses.append(l.item())
        printed.append(f'epoch {epoch + 1}, loss {l:f}')  # a 0-d tensor formats like a float
        if verbose:
            print(printed[-1])
    w = net[0].weight.data
    b = net[0].bias.data
    true_w = torch.tensor(TRUE_W)
    return {"initial_state": start, "step_losses": step_losses, "epoch_losses": epoch_losses, "printed": printed,
            "w": w, "b": b, "error in estimating w": true_w - w.reshape(true_w.shape),
            "error in estimating b": TRUE_B - b, "batches per epoch": len(data_iter),
            "weight.grad": net[0].weight.grad}


def weight_decay_concise(torch, train_features, train_labels, wd, init_state=None, num_epochs=20, lr=0.003,
                         batch_size=5):
    """d2l 3.7: weight decay on the weight only, through a parameter group."""
    nn, data = torch.nn, torch.utils.data
    net = nn.Sequential(nn.Linear(train_features.shape[1], 1))
    for param in net.parameters():
        param.data.normal_()
    if init_state is not None:
        load_numpy_state(torch, net, init_state)
    start = numpy_state(net)
    loss = nn.MSELoss(reduction='none')
    trainer = torch.optim.SGD([
        {"params": net[0].weight, 'weight_decay': wd},
        {"params": net[0].bias}], lr=lr)
    train_iter = data.DataLoader(data.TensorDataset(train_features, train_labels), batch_size, shuffle=False)
    epoch_losses = []
    for epoch in range(num_epochs):
        for X, y in train_iter:
            trainer.zero_grad()
            l = loss(net(X), y)
            l.mean().backward()
            trainer.step()
        with torch.no_grad():
            epoch_losses.append(loss(net(train_features), train_labels).mean().item())
    return {"initial_state": start, "epoch_losses": epoch_losses,
            "L2 norm of w": net[0].weight.norm().item(),
            "group weight decays": [group["weight_decay"] for group in trainer.param_groups]}


def main(argv=None):
    torch = library(argv)
    torch.manual_seed(0)
    features, labels = synthetic_data(torch, torch.tensor(TRUE_W), TRUE_B, 1000)
    scratch = linear_regression_scratch(torch, features, labels, verbose=True)
    show("3.4 linear regression from scratch", {k: v for k, v in scratch.items() if k.startswith("error")})
    concise = linear_regression_concise(torch, features, labels, verbose=True)
    show("3.5 linear regression, concise", {k: v for k, v in concise.items() if k.startswith("error")})
    true_w = torch.ones((200, 1)) * 0.01
    X, y = synthetic_data(torch, true_w.reshape(-1), 0.05, 20)
    for wd in (0, 3):
        decayed = weight_decay_concise(torch, X, y, wd)
        show(f"3.7 weight decay wd={wd}", {"L2 norm of w": decayed["L2 norm of w"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
