"""Training loops the way PyTorch tutorials write them, as functions of the library so the same
code runs on juanji and on PyTorch:

- ``train_ch6``: *Dive into Deep Learning*'s LeNet trainer (7.6): Xavier init through
  ``net.apply``, ``net.to(device)``, ``net.train()``, ``optimizer.zero_grad()``,
  ``l.backward()``, ``optimizer.step()``, accuracy under ``torch.no_grad()``;
- ``fit``: the loop of the PyTorch notes: ``model.train()``/``model.eval()``, any optimizer,
  a learning-rate scheduler stepped per batch or per epoch (``ReduceLROnPlateau`` on the
  validation loss), ``torch.nn.utils.clip_grad_norm_``, validation under ``torch.no_grad()``;
- ``checkpoint_and_resume``: the PyTorch recipe "saving and loading a general checkpoint"
  (model, optimizer and scheduler ``state_dict``s in one ``torch.save``d dict);
- ``fine_tune_head``: freezing a trunk (``requires_grad = False``), replacing the head, and
  optimising only ``filter(lambda p: p.requires_grad, ...)``.

The data is juanji's embedded Fashion-MNIST sample, given to both libraries as the same NumPy
arrays. Each function takes ``init_state`` (a NumPy snapshot of the weights): when given,
training starts from it, so a juanji run and a torch run can be compared step for step.

Run it:  python examples/d2l_training_loop.py [--torch]
"""

import os
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import fashion_sample, library, load_numpy_state, numpy_state, show  # noqa: E402
from d2l_softmax_mlp import Accumulator, accuracy, evaluate_accuracy, load_arrays  # noqa: E402


def try_gpu(torch, i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def train_ch6(torch, net, data, num_epochs, lr, device, init_state=None, batch_size=256, shuffle=True,
              verbose=False):
    """Train a model with a GPU (defined in Chapter 6)."""
    nn = torch.nn

    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    if init_state is not None:
        load_numpy_state(torch, net, init_state)
    start = numpy_state(net)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    train_iter, test_iter = load_arrays(torch, data, batch_size, shuffle)
    history, step_losses = [], []
    for epoch in range(num_epochs):
        # Sum of training loss, sum of training accuracy, no. of examples
        metric = Accumulator(3)
        net.train()
        for i, (X, y) in enumerate(train_iter):
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
            step_losses.append(l.item())
        train_l = metric[0] / metric[2]
        train_acc = metric[1] / metric[2]
        test_acc = evaluate_accuracy(torch, net, test_iter)
        history.append((train_l, train_acc, test_acc))
        if verbose:
            print(f'epoch {epoch + 1}: loss {train_l:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}')
    return {"initial_state": start, "history": history, "step_losses": step_losses}


def small_cnn(torch, dropout=0.25):
    """A small BatchNorm CNN for Fashion-MNIST (no conv bias before BatchNorm, as in ResNets)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
        nn.Dropout(dropout), nn.Linear(16, 10))


OPTIMIZERS = {
    "SGD": ("SGD", dict(lr=0.1)),
    "SGD momentum": ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=5e-4)),
    "SGD nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "Adam": ("Adam", dict(lr=1e-2)),
    "Adam amsgrad": ("Adam", dict(lr=1e-2, amsgrad=True, weight_decay=1e-4)),
    "AdamW": ("AdamW", dict(lr=1e-2, weight_decay=1e-2)),
    "RMSprop": ("RMSprop", dict(lr=1e-3, momentum=0.5)),
    "Adagrad": ("Adagrad", dict(lr=0.05)),
}

# name -> (constructor, keyword arguments, stepped per "batch" or per "epoch")
SCHEDULERS = {
    "StepLR": ("StepLR", dict(step_size=1, gamma=0.5), "epoch"),
    "MultiStepLR": ("MultiStepLR", dict(milestones=[1, 2], gamma=0.1), "epoch"),
    "ExponentialLR": ("ExponentialLR", dict(gamma=0.7), "epoch"),
    "CosineAnnealingLR": ("CosineAnnealingLR", dict(T_max=3), "epoch"),
    "ReduceLROnPlateau": ("ReduceLROnPlateau", dict(mode="min", factor=0.5, patience=0), "epoch"),
    "OneCycleLR": ("OneCycleLR", dict(max_lr=0.05), "batch"),  # total_steps: set by fit
    "LinearLR": ("LinearLR", dict(start_factor=0.25, total_iters=4), "batch"),
    "CosineAnnealingWarmRestarts": ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2), "batch"),
    "None": (None, {}, None),
}


def fit(torch, data, optimizer="SGD momentum", scheduler="StepLR", max_norm=1.0, num_epochs=3, batch_size=64,
        dropout=0.0, init_state=None, shuffle=True, dtype=None, verbose=False):
    """The PyTorch-notes training loop: returns per-step losses, gradient norms and learning rates,
    per-epoch validation metrics, and the final weights. ``dtype=torch.float64`` trains in double
    precision (the data arrays must then be float64 too)."""
    nn = torch.nn
    model = small_cnn(torch, dropout)
    if init_state is not None:
        load_numpy_state(torch, model, init_state)
    if dtype is not None:
        model.to(dtype)
    start = numpy_state(model)
    opt_name, opt_kwargs = OPTIMIZERS[optimizer]
    optim = getattr(torch.optim, opt_name)(model.parameters(), **opt_kwargs)
    train_loader, val_loader = load_arrays(torch, data, batch_size, shuffle)
    sched_name, sched_kwargs, every = SCHEDULERS[scheduler]
    if sched_name == "OneCycleLR":  # one cycle over the whole run
        sched_kwargs = dict(sched_kwargs, total_steps=num_epochs * len(train_loader))
    sched = getattr(torch.optim.lr_scheduler, sched_name)(optim, **sched_kwargs) if sched_name else None
    criterion = nn.CrossEntropyLoss()

    steps, epochs = [], []
    for epoch in range(num_epochs):
        model.train()
        for inputs, targets in train_loader:
            optim.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
            optim.step()
            if every == "batch":
                sched.step()
            steps.append((loss.item(), grad_norm.item(), optim.param_groups[0]["lr"]))

        model.eval()
        val_loss, correct, total = 0.0, 0, 0
        with torch.no_grad():
            for inputs, targets in val_loader:
                outputs = model(inputs)
                val_loss += criterion(outputs, targets).item() * targets.size(0)
                _, predicted = outputs.max(1)
                correct += predicted.eq(targets).sum().item()
                total += targets.size(0)
        val_loss /= total
        if every == "epoch":
            if sched_name == "ReduceLROnPlateau":
                sched.step(val_loss)
            else:
                sched.step()
        epochs.append((val_loss, correct / total))
        if verbose:
            print(f"epoch {epoch + 1}: val loss {val_loss:.4f}, val acc {correct / total:.3f}, "
                  f"lr {optim.param_groups[0]['lr']:.5f}")
    return {"initial_state": start, "steps": steps, "epochs": epochs, "final_state": numpy_state(model),
            "optimizer state keys": sorted(optim.state_dict()["state"].get(0, {}).keys())}


def checkpoint_and_resume(torch, data, stop_after=1, num_epochs=3, init_state=None, batch_size=64):
    """Train ``stop_after`` epochs, save a general checkpoint, rebuild everything from it in fresh
    objects, and train on; returns every step's loss (before and after the restart)."""
    nn = torch.nn
    path = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")

    def make():
        model = small_cnn(torch, dropout=0.0)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        return model, optimizer, scheduler

    model, optimizer, scheduler = make()
    if init_state is not None:
        load_numpy_state(torch, model, init_state)
    start = numpy_state(model)
    criterion = nn.CrossEntropyLoss()
    train_loader, _ = load_arrays(torch, data, batch_size, shuffle=False)
    losses = []
    saved_loss = None
    epoch = 0
    while epoch < num_epochs:
        model.train()
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        epoch += 1
        if epoch == stop_after:
            torch.save({
                'epoch': epoch,
                'model_state_dict': model.state_dict(),
                'optimizer_state_dict': optimizer.state_dict(),
                'scheduler_state_dict': scheduler.state_dict(),
                'loss': loss,
            }, path)
            # start again from the file, in new objects
            model, optimizer, scheduler = make()
            checkpoint = torch.load(path)
            model.load_state_dict(checkpoint['model_state_dict'])
            optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
            scheduler.load_state_dict(checkpoint['scheduler_state_dict'])
            epoch = checkpoint['epoch']
            saved_loss = checkpoint['loss']
    return {"initial_state": start, "losses": losses, "saved loss": None if saved_loss is None else saved_loss.item(), "final_state": numpy_state(model),
            "lr": optimizer.param_groups[0]["lr"]}


def fine_tune_head(torch, data, init_state=None, num_epochs=2, batch_size=64):
    """Freeze a trained trunk, replace the classifier, train only the new head."""
    nn = torch.nn
    model = small_cnn(torch, dropout=0.0)
    if init_state is not None:
        load_numpy_state(torch, model, init_state)
    start = numpy_state(model)
    for param in model.parameters():
        param.requires_grad = False
    model[10] = nn.Linear(16, 10)  # a fresh head: its parameters require grad
    with torch.no_grad():  # the same head in both libraries
        model[10].weight.copy_(torch.tensor(start["10.weight"] * 0.5))
        model[10].bias.zero_()
    optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    train_loader, _ = load_arrays(torch, data, batch_size, shuffle=False)
    losses = []
    for epoch in range(num_epochs):
        model.train()
        model[1].eval()  # keep the frozen BatchNorm statistics as they are
        model[5].eval()
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    frozen_grads = [p.grad is None for name, p in model.named_parameters() if not p.requires_grad]
    return {"initial_state": start, "losses": losses, "trainable": trainable, "frozen grads are None": frozen_grads,
            "final_state": numpy_state(model)}


def main(argv=None):
    torch = library(argv)
    torch.manual_seed(0)
    data = fashion_sample(3000, 500)
    # the book trains its sigmoid LeNet for 10 epochs on all 60,000 images; on this small sample
    # it stays at chance for several epochs, so train_ch6 gets the BatchNorm CNN here
    print("-- d2l's train_ch6 on a small BatchNorm CNN")
    result = train_ch6(torch, small_cnn(torch), data, num_epochs=2, lr=0.1, device=try_gpu(torch), batch_size=64,
                       verbose=True)
    show("train_ch6", {"final (loss, train acc, test acc)": result["history"][-1]})
    print("-- the same CNN, Adam + OneCycleLR + clip_grad_norm_")
    result = fit(torch, data, optimizer="Adam", scheduler="OneCycleLR", num_epochs=2, dropout=0.25, verbose=True)
    show("fit", {"final (val loss, val acc)": result["epochs"][-1]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
