"""PyTorch's own tutorials, in the same side-by-side style as the ``d2l_*`` scripts: each is a
function of the library, so the same code runs on juanji and on PyTorch.

- ``polynomial_*``: "Learning PyTorch with Examples" -- fitting sin(x) on [-pi, pi] with a
  cubic, by hand with autograd, with ``nn.Sequential``/``nn.Flatten(0, 1)``, with an optimiser,
  with a custom ``torch.autograd.Function`` (the Legendre polynomial P3) and a custom Module;
- ``cifar_classifier``: "Training a Classifier" (the CIFAR-10 tutorial) on fixed 3x32x32 images:
  ``enumerate(trainloader, 0)``, ``running_loss``, ``torch.max(outputs.data, 1)``, per-class
  accuracy with ``classes[label]``;
- ``mnist_example``: pytorch/examples' ``mnist/main.py`` (the ``Net`` with two convolutions,
  dropout, ``F.log_softmax`` + ``F.nll_loss``, ``Adadelta`` with ``StepLR(gamma=0.7)``, its
  ``train``/``test`` printouts) on the Fashion-MNIST sample.

Where a tutorial draws random weights, ``init_state`` (a NumPy snapshot) lets a second run start
from the first run's weights. The MNIST ``Net`` takes its two dropout rates as arguments (the
example hard-codes 0.25 and 0.5) so that a test can switch dropout off and compare exactly.

Run it:  python examples/d2l_pytorch_tutorials.py [--torch]
"""

import math
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import fashion_sample, library, load_numpy_state, numpy_state, show  # noqa: E402


def _sine_data(torch, n=2000):
    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, n)
    y = torch.sin(x)
    return x, y


def polynomial_autograd(torch, init=(0.1, 0.2, -0.1, 0.05), steps=300, learning_rate=1e-6):
    """y = a + b x + c x^2 + d x^3 by gradient descent on the summed squared error, by hand."""
    x, y = _sine_data(torch)
    a, b, c, d = (torch.tensor(v, requires_grad=True) for v in init)  # the tutorial: torch.randn((), ...)
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return {"losses": losses, "result": f'Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3'}


def polynomial_nn(torch, init_state=None, steps=300, learning_rate=1e-6, optimizer=None):
    """The nn and optim versions: x**(1, 2, 3) features into Linear(3, 1), Flatten(0, 1)."""
    x, y = _sine_data(torch)
    # For this example, the output y is a linear function of (x, x^2, x^3), so we can consider it
    # as a linear layer neural network. Let's prepare the tensor (x, x^2, x^3).
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )
    if init_state is not None:
        load_numpy_state(torch, model, init_state)
    start = numpy_state(model)
    loss_fn = torch.nn.MSELoss(reduction='sum')
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3) if optimizer == "RMSprop" else None
    losses = []
    for t in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        if opt is None:
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for param in model.parameters():
                    param -= learning_rate * param.grad
        else:
            opt.zero_grad()
            loss.backward()
            opt.step()
    linear_layer = model[0]
    return {"initial_state": start, "losses": losses,
            "result": f'Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + '
                      f'{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3'}


def polynomial_legendre(torch, steps=300, learning_rate=5e-6):
    """y = a + b P3(c + d x) with a custom autograd Function for P3(x) = (5x^3 - 3x) / 2."""

    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    x, y = _sine_data(torch)
    a = torch.full((), 0.0, requires_grad=True)
    b = torch.full((), -1.0, requires_grad=True)
    c = torch.full((), 0.0, requires_grad=True)
    d = torch.full((), 0.3, requires_grad=True)
    losses = []
    for t in range(steps):
        # To apply our Function, we use Function.apply method. We alias this as 'P3'.
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return {"losses": losses, "result": f'Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)'}


def polynomial_module(torch, init_state=None, steps=300):
    """A custom Module with four scalar Parameters, trained by SGD."""

    class Polynomial3(torch.nn.Module):
        def __init__(self):
            """Instantiate four parameters and assign them as member parameters."""
            super().__init__()
            self.a = torch.nn.Parameter(torch.randn(()))
            self.b = torch.nn.Parameter(torch.randn(()))
            self.c = torch.nn.Parameter(torch.randn(()))
            self.d = torch.nn.Parameter(torch.randn(()))

        def forward(self, x):
            return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

        def string(self):
            return f'y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3'

    x, y = _sine_data(torch)
    model = Polynomial3()
    if init_state is not None:
        load_numpy_state(torch, model, init_state)
    start = numpy_state(model)
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    losses = []
    for t in range(steps):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"initial_state": start, "losses": losses, "result": f'Result: {model.string()}',
            "parameter names": [name for name, _ in model.named_parameters()]}


def cifar_classifier(torch, init_state=None, num_images=64, batch_size=4, epochs=2):
    """The CIFAR-10 tutorial's network and loops on fixed 3x32x32 images (no download here)."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
    rng = np.random.default_rng(0)
    labels_np = rng.integers(0, 10, num_images)
    # images whose mean colour depends on the class, normalised to [-1, 1] as the tutorial does
    images_np = (rng.random((num_images, 3, 32, 32)) * 0.5 + labels_np[:, None, None, None] / 20.0) * 2 - 1
    dataset = torch.utils.data.TensorDataset(torch.tensor(images_np.astype(np.float32)), torch.tensor(labels_np))
    trainloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    testloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)

    net = Net()
    if init_state is not None:
        load_numpy_state(torch, net, init_state)
    start = numpy_state(net)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    printed = []
    for epoch in range(epochs):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data
            # zero the parameter gradients
            optimizer.zero_grad()
            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            # print statistics
            running_loss += loss.item()
            if i % 8 == 7:  # print every 8 mini-batches (the tutorial: every 2000)
                printed.append(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 8:.3f}')
                running_loss = 0.0

    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            # calculate outputs by running images through the network
            outputs = net(images)
            # the class with the highest energy is what we choose as prediction
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    # prepare to count predictions for each class
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predictions = torch.max(outputs, 1)
            # collect the correct predictions for each class
            for label, prediction in zip(labels, predictions):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    return {"initial_state": start, "printed": printed, "accuracy": 100 * correct // total,
            "correct_pred": correct_pred, "total_pred": total_pred, "final_state": numpy_state(net)}


def mnist_example(torch, data, init_state=None, epochs=2, batch_size=64, test_batch_size=256, dropout=(0.25, 0.5),
                  log_interval=2):
    """pytorch/examples mnist/main.py: Net, train(), test(), Adadelta + StepLR."""
    nn, F, optim = torch.nn, torch.nn.functional, torch.optim
    StepLR = torch.optim.lr_scheduler.StepLR

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(dropout[0])
            self.dropout2 = nn.Dropout(dropout[1])
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.dropout2(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    printed = []

    def train(model, device, train_loader, optimizer, epoch):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % log_interval == 0:
                printed.append('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                    100. * batch_idx / len(train_loader), loss.item()))

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data, target in test_loader:
                data, target = data.to(device), target.to(device)
                output = model(data)
                test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
                pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        printed.append('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
        return test_loss, correct

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    X_train, y_train, X_test, y_test = (torch.tensor(a) for a in data)
    # the example normalises with MNIST's mean and std: transforms.Normalize((0.1307,), (0.3081,))
    X_train, X_test = (X_train - 0.1307) / 0.3081, (X_test - 0.1307) / 0.3081
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_train, y_train),
                                               batch_size=batch_size)
    test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_test, y_test),
                                              batch_size=test_batch_size)
    model = Net().to(device)
    if init_state is not None:
        load_numpy_state(torch, model, init_state)
    start = numpy_state(model)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    results = []
    for epoch in range(1, epochs + 1):
        train(model, device, train_loader, optimizer, epoch)
        results.append(test(model, device, test_loader))
        scheduler.step()
    return {"initial_state": start, "printed": printed, "test results": results,
            "lr": optimizer.param_groups[0]["lr"], "final_state": numpy_state(model)}


def main(argv=None):
    torch = library(argv)
    torch.manual_seed(0)
    for fn in (polynomial_autograd, polynomial_nn, polynomial_legendre, polynomial_module):
        result = fn(torch, steps=2000)
        show(fn.__name__, {"final loss": result["losses"][-1], "result": result["result"]})
    result = cifar_classifier(torch)
    print("\n".join(result["printed"]))
    show("cifar_classifier", {"accuracy (%)": result["accuracy"], "correct_pred": result["correct_pred"]})
    result = mnist_example(torch, fashion_sample(1024, 512), epochs=2, log_interval=4)
    print("\n".join(result["printed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
