"""The "builders' guide" of *Dive into Deep Learning* (chapter 6: layers and modules, parameter
management, initialisation, custom layers, file I/O), as functions of the library so the same
code runs on juanji and on PyTorch.

Every section builds its networks, then (where randomness would make the two libraries differ)
loads fixed weights with ``d2l_common.load_numpy_state`` before computing anything, and
returns what the book prints: shapes, names, reprs, values.

``lazy_initialization`` is the book's ``nn.LazyLinear`` section: layers that learn their input
size from the first batch.

Run it:  python examples/d2l_builders_guide.py [--torch]
"""

import os
import pathlib
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import library, load_numpy_state, run_sections  # noqa: E402


def fixed(shape, seed, scale=1.0):
    """Library-neutral 'random' values: the same NumPy draws for both libraries."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def fix_weights(torch, net, scale=0.3):
    """Overwrite every parameter and floating buffer with fixed draws, so both libraries compute
    the same. Variances (BatchNorm's ``running_var``) get positive draws in [0.5, 1.5)."""
    state = {}
    for seed, (name, value) in enumerate(net.state_dict().items()):
        if not value.is_floating_point():
            state[name] = value.numpy()
        elif name.endswith("running_var"):
            state[name] = np.random.default_rng(seed).uniform(0.5, 1.5, tuple(value.shape)).astype(np.float32)
        else:
            state[name] = fixed(tuple(value.shape), seed, scale)
    load_numpy_state(torch, net, state)
    return net


def layers_and_modules(torch):
    nn, F = torch.nn, torch.nn.functional
    X = torch.tensor(fixed((2, 20), 100))

    class MLP(nn.Module):
        def __init__(self):
            # Call the constructor of the parent class nn.Module to perform the necessary initialization
            super().__init__()
            self.hidden = nn.Linear(20, 256)
            self.out = nn.Linear(256, 10)

        # Define the forward propagation of the model, that is, how to return the required model
        # output based on the input X
        def forward(self, X):
            return self.out(F.relu(self.hidden(X)))

    class MySequential(nn.Module):
        def __init__(self, *args):
            super().__init__()
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

        def forward(self, X):
            for module in self.children():
                X = module(X)
            return X

    class OldStyleSequential(nn.Module):
        """The first edition's version: writes straight into ``self._modules``."""

        def __init__(self, *args):
            super().__init__()
            for idx, module in enumerate(args):
                self._modules[str(idx)] = module

        def forward(self, X):
            for block in self._modules.values():
                X = block(X)
            return X

    class FixedHiddenMLP(nn.Module):
        def __init__(self):
            super().__init__()
            # Random weight parameters that will not compute gradients and therefore keep constant
            # during training
            self.rand_weight = torch.tensor(fixed((20, 20), 7))
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = self.linear(X)
            X = F.relu(X @ self.rand_weight + 1)
            # Reuse the fully connected layer. This is equivalent to sharing parameters with two
            # fully connected layers
            X = self.linear(X)
            # Control flow
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class NestMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
            self.linear = nn.Linear(32, 16)

        def forward(self, X):
            return self.linear(self.net(X))

    net = fix_weights(torch, MLP())
    my_seq = fix_weights(torch, MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)))
    old_seq = fix_weights(torch, OldStyleSequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)))
    fixed_mlp = fix_weights(torch, FixedHiddenMLP())
    chimera = fix_weights(torch, nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP()))
    return {
        "MLP()(X)": net(X), "repr(MLP())": repr(net),
        "MySequential(X)": my_seq(X), "repr(MySequential)": repr(my_seq),
        "first-edition MySequential(X)": old_seq(X), "its parameters": [n for n, _ in old_seq.named_parameters()],
        "FixedHiddenMLP()(X)": fixed_mlp(X), "its parameters (rand_weight is not one)":
            [n for n, _ in fixed_mlp.named_parameters()],
        "chimera(X)": chimera(X), "repr(chimera)": repr(chimera),
    }


def parameter_access(torch):
    nn = torch.nn
    net = fix_weights(torch, nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
    X = torch.tensor(fixed((2, 4), 101))
    net(X)
    return {
        "net(X)": net(X),
        "net[2].state_dict()": net[2].state_dict(),
        "type(net[2].bias)": type(net[2].bias).__name__,
        "net[2].bias": repr(net[2].bias), "net[2].bias.data": net[2].bias.data,
        "net[2].weight.grad == None": net[2].weight.grad == None,  # noqa: E711 (the book's spelling)
        "named_parameters": [(name, param.shape) for name, param in net.named_parameters()],
        "net[0].named_parameters": [(name, param.shape) for name, param in net[0].named_parameters()],
        "net.state_dict()['2.bias'].data": net.state_dict()['2.bias'].data,
        "state_dict keys": list(net.state_dict().keys()),
        "state_dict type": type(net.state_dict()).__name__,
        "parameter count": sum(p.numel() for p in net.parameters()),
    }


def nested_blocks(torch):
    nn = torch.nn

    def block1():
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2():
        net = nn.Sequential()
        for i in range(4):
            # Nested here
            net.add_module(f'block {i}', block1())
        return net

    rgnet = fix_weights(torch, nn.Sequential(block2(), nn.Linear(4, 1)))
    X = torch.tensor(fixed((2, 4), 102))
    return {"rgnet(X)": rgnet(X), "print(rgnet)": repr(rgnet), "rgnet[0][1][0].bias.data": rgnet[0][1][0].bias.data,
            "modules": [type(m).__name__ for m in rgnet.modules()],
            "named_modules": [name for name, _ in rgnet.named_modules()]}


def parameter_initialization(torch):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def init_constant(module):
        if type(module) == nn.Linear:
            nn.init.constant_(module.weight, 1)
            nn.init.zeros_(module.bias)

    def init_42(module):
        if type(module) == nn.Linear:
            nn.init.constant_(module.weight, 42)

    net.apply(init_constant)
    constant = (net[0].weight.data[0], net[0].bias.data[0])
    net[2].apply(init_42)
    after_42 = net[2].weight.data
    # the book's custom init on fixed draws: keep weights with |w| >= 5 of U(-10, 10)
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(np.random.default_rng(5).uniform(-10, 10, (8, 4)).astype(np.float32)))
    net[0].weight.data *= net[0].weight.data.abs() >= 5
    kept = net[0].weight.data[:2].clone()
    net[0].weight.data[:] += 1
    net[0].weight.data[0, 0] = 42
    return {"init_constant": constant, "init_42 on net[2]": after_42, "my_init (fixed draws)": kept,
            "after += 1 and [0, 0] = 42": net[0].weight.data[0],
            "weight still a leaf": (net[0].weight.is_leaf, net[0].weight.requires_grad)}


def tied_parameters(torch):
    nn = torch.nn
    # We need to give the shared layer a name so that we can refer to its parameters
    shared = nn.Linear(8, 8)
    net = fix_weights(torch, nn.Sequential(nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                                           nn.Linear(8, 1)))
    X = torch.tensor(fixed((2, 4), 103))
    net(X).sum().backward()
    # Check whether the parameters are the same
    same_before = net[2].weight.data[0] == net[4].weight.data[0]
    net[2].weight.data[0, 0] = 100
    # Make sure that they are actually the same object rather than just having the same value
    return {"same": same_before, "same after write": net[2].weight.data[0] == net[4].weight.data[0],
            "is": net[2].weight is net[4].weight,
            "shared grad (both uses add up)": net[2].weight.grad,
            "parameters() lists it once": len(list(net.parameters())),
            "state_dict lists it twice": list(net.state_dict().keys())}


def custom_layers(torch):
    nn, F = torch.nn, torch.nn.functional

    class CenteredLayer(nn.Module):
        def __init__(self):
            super().__init__()

        def forward(self, X):
            return X - X.mean()

    class MyLinear(nn.Module):
        def __init__(self, in_units, units):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(in_units, units))
            self.bias = nn.Parameter(torch.randn(units,))

        def forward(self, X):
            linear = torch.matmul(X, self.weight.data) + self.bias.data
            return F.relu(linear)

    class WithBuffer(nn.Module):
        """A constant that moves with the module and is saved in its state_dict, but is not trained."""

        def __init__(self):
            super().__init__()
            self.register_buffer('rand_weight', torch.tensor(fixed((5, 3), 8)))
            self.register_buffer('not_saved', torch.zeros(3), persistent=False)
            self.linear = nn.Linear(5, 5)

        def forward(self, X):
            return self.linear(X) @ self.rand_weight + self.not_saved

    layer = CenteredLayer()
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
    fix_weights(torch, net)
    Y = net(torch.tensor(fixed((4, 8), 104)))
    linear = fix_weights(torch, MyLinear(5, 3))
    buffered = fix_weights(torch, WithBuffer())
    X = torch.tensor(fixed((2, 5), 105))
    return {
        "CenteredLayer": layer(torch.tensor([1.0, 2, 3, 4, 5])), "Y.mean() ~ 0": abs(Y.mean().item()) < 1e-6,
        "MyLinear.weight": linear.weight, "MyLinear(X)": linear(X),
        "buffers": [name for name, _ in buffered.named_buffers()],
        "state_dict keys": list(buffered.state_dict().keys()),
        "parameters": [name for name, _ in buffered.named_parameters()],
        "WithBuffer(X)": buffered(X),
        "buffer requires_grad": buffered.rand_weight.requires_grad,
    }


def file_io(torch):
    nn, F = torch.nn, torch.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(20, 256)
            self.output = nn.Linear(256, 10)

        def forward(self, x):
            return self.output(F.relu(self.hidden(x)))

    folder = tempfile.mkdtemp()
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    x = torch.arange(4)
    torch.save(x, path('x-file'))
    x2 = torch.load(path('x-file'))
    y = torch.zeros(4)
    torch.save([x, y], path('x-files'))
    x2s, y2s = torch.load(path('x-files'))
    mydict = {'x': x, 'y': y}
    torch.save(mydict, path('mydict'))
    mydict2 = torch.load(path('mydict'))

    net = MLP()
    X = torch.tensor(fixed((2, 20), 106))
    Y = net(X)
    torch.save(net.state_dict(), path('mlp.params'))
    clone = MLP()
    report = clone.load_state_dict(torch.load(path('mlp.params')))
    clone.eval()
    Y_clone = clone(X)
    return {"x2": x2, "[x2, y2]": [x2s, y2s], "mydict2": mydict2, "load report": repr(report),
            "print(clone.eval())": repr(clone), "Y_clone == Y": Y_clone == Y}


def lazy_initialization(torch):
    nn = torch.nn
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    before = repr(net[0].weight)
    X = torch.rand(2, 20)
    net(X)
    return {"before": before, "net[0].weight.shape": net[0].weight.shape, "repr": repr(net)}


SECTIONS = [layers_and_modules, parameter_access, nested_blocks, parameter_initialization, tied_parameters,
            custom_layers, file_io, lazy_initialization]


def main(argv=None):
    return run_sections(library(argv), SECTIONS)


if __name__ == "__main__":
    sys.exit(main())
