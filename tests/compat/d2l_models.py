"""The CNN-chapter architectures, written here (not copied) the way the book builds them on d2l's classes.

Each builder takes the loaded ``d2l`` module (on juanji or on torch, see ``d2l_support.d2l_on``)
and returns a ``d2l.Classifier`` made of that framework's lazy layers, at sizes small enough for
tests. The book's own classes are used where the library has them (``d2l.LeNet``,
``d2l.Residual``, ``d2l.ResNeXtBlock``); the rest (AlexNet, VGG, NiN, GoogLeNet's Inception,
batch norm, DenseNet) are rebuilt from their published structure with fewer channels.

``dropout`` defaults to the book's 0.5; tests that compare two runs point by point pass 0, since
torch and juanji draw different masks.
"""

from __future__ import annotations

__all__ = ["BUILDERS", "build", "alexnet", "vgg", "nin", "googlenet", "lenet", "bn_lenet", "bn_lenet_scratch",
           "resnet", "resnext", "densenet"]


def _classifier(d2l, net, lr):
    """A d2l.Classifier whose body is ``net`` (the book assigns ``self.net`` in each model's __init__)."""
    class Model(d2l.Classifier):
        def __init__(self):
            super().__init__()
            self.save_hyperparameters(ignore=["net"])
            self.lr = lr
            self.net = net
    return Model()


def lenet(d2l, lr=0.1, num_classes=10, dropout=0.5):
    """The library's own LeNet-5 (sigmoid, average pooling, lazy layers)."""
    return d2l.LeNet(lr=lr, num_classes=num_classes)


def alexnet(d2l, lr=0.01, num_classes=10, dropout=0.5, width=8):
    """AlexNet's shape (11x11/4 conv, 5x5 conv, three 3x3 convs, overlapping 3x3/2 max pools, two wide
    dense layers with dropout) with every width divided by ``width``; needs inputs of at least 67x67."""
    nn = d2l.nn
    c = lambda n: max(n // width, 4)  # noqa: E731
    net = nn.Sequential(
        nn.LazyConv2d(c(96), kernel_size=11, stride=4, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.LazyConv2d(c(256), kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.LazyConv2d(c(384), kernel_size=3, padding=1), nn.ReLU(),
        nn.LazyConv2d(c(384), kernel_size=3, padding=1), nn.ReLU(),
        nn.LazyConv2d(c(256), kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.LazyLinear(c(4096)), nn.ReLU(), nn.Dropout(p=dropout),
        nn.LazyLinear(c(4096)), nn.ReLU(), nn.Dropout(p=dropout),
        nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def _vgg_block(nn, num_convs, out_channels):
    layers = []
    for _ in range(num_convs):
        layers += [nn.LazyConv2d(out_channels, kernel_size=3, padding=1), nn.ReLU()]
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(d2l, lr=0.01, num_classes=10, dropout=0.5, arch=((1, 8), (1, 16), (2, 32)), hidden=64):
    """VGG: blocks of 3x3 convs (padding 1) closed by a 2x2 max pool, then the dense head with dropout."""
    nn = d2l.nn
    blocks = [_vgg_block(nn, n, c) for n, c in arch]
    net = nn.Sequential(*blocks, nn.Flatten(),
                        nn.LazyLinear(hidden), nn.ReLU(), nn.Dropout(dropout),
                        nn.LazyLinear(hidden), nn.ReLU(), nn.Dropout(dropout),
                        nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def _nin_block(nn, out_channels, kernel_size, strides, padding):
    return nn.Sequential(
        nn.LazyConv2d(out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU(),
        nn.LazyConv2d(out_channels, kernel_size=1), nn.ReLU())


def nin(d2l, lr=0.05, num_classes=10, dropout=0.5):
    """Network in network: conv + two 1x1 convs per block, no dense layers, global average pooling."""
    nn = d2l.nn
    net = nn.Sequential(
        _nin_block(nn, 12, kernel_size=5, strides=2, padding=0), nn.MaxPool2d(3, stride=2),
        _nin_block(nn, 24, kernel_size=3, strides=1, padding=1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        _nin_block(nn, num_classes, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    return _classifier(d2l, net, lr)


def _inception(d2l, c1, c2, c3, c4):
    """Four parallel paths (1x1; 1x1->3x3; 1x1->5x5; 3x3 max pool->1x1) concatenated on channels."""
    nn, F, torch = d2l.nn, d2l.F, d2l.torch

    class Inception(nn.Module):
        def __init__(self):
            super().__init__()
            self.p1 = nn.LazyConv2d(c1, kernel_size=1)
            self.p2a, self.p2b = nn.LazyConv2d(c2[0], kernel_size=1), nn.LazyConv2d(c2[1], kernel_size=3, padding=1)
            self.p3a, self.p3b = nn.LazyConv2d(c3[0], kernel_size=1), nn.LazyConv2d(c3[1], kernel_size=5, padding=2)
            self.p4a, self.p4b = nn.MaxPool2d(kernel_size=3, stride=1, padding=1), nn.LazyConv2d(c4, kernel_size=1)

        def forward(self, x):
            paths = (F.relu(self.p1(x)), F.relu(self.p2b(F.relu(self.p2a(x)))),
                     F.relu(self.p3b(F.relu(self.p3a(x)))), F.relu(self.p4b(self.p4a(x))))
            return torch.cat(paths, dim=1)
    return Inception()


def googlenet(d2l, lr=0.1, num_classes=10, dropout=0.5):
    """A GoogLeNet stem, two Inception blocks, a max pool, one more Inception, global average pooling."""
    nn = d2l.nn
    net = nn.Sequential(
        nn.LazyConv2d(16, kernel_size=7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
        nn.LazyConv2d(16, kernel_size=1), nn.ReLU(), nn.LazyConv2d(32, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        _inception(d2l, 8, (12, 16), (2, 4), 4), _inception(d2l, 16, (16, 24), (4, 12), 8),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        _inception(d2l, 24, (12, 26), (2, 6), 8),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def bn_lenet(d2l, lr=0.1, num_classes=10, dropout=0.5):
    """LeNet with batch normalisation after every conv and dense layer (the library's lazy BN layers)."""
    nn = d2l.nn
    net = nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5), nn.LazyBatchNorm2d(), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.LazyLinear(120), nn.LazyBatchNorm1d(), nn.Sigmoid(),
        nn.LazyLinear(84), nn.LazyBatchNorm1d(), nn.Sigmoid(), nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def _scratch_batch_norm_layer(d2l, num_features, num_dims):
    """Batch normalisation from its formula, as the chapter writes it before the library layer:
    training: x_hat = (x - mean_B) / sqrt(var_B + eps), moving statistics m <- (1 - momentum) m + momentum stat;
    prediction: the moving statistics. Parameters gamma/beta, statistics as plain tensors moved to x's device."""
    nn, torch = d2l.nn, d2l.torch

    def batch_norm(x, gamma, beta, moving_mean, moving_var, eps, momentum):
        if not torch.is_grad_enabled():
            x_hat = (x - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            assert len(x.shape) in (2, 4)
            dims = (0,) if len(x.shape) == 2 else (0, 2, 3)
            mean = x.mean(dim=dims, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
            x_hat = (x - mean) / torch.sqrt(var + eps)
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        return gamma * x_hat + beta, moving_mean.data, moving_var.data

    class BatchNorm(nn.Module):
        def __init__(self):
            super().__init__()
            shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, x):
            if self.moving_mean.device != x.device:
                self.moving_mean = self.moving_mean.to(x.device)
                self.moving_var = self.moving_var.to(x.device)
            y, self.moving_mean, self.moving_var = batch_norm(
                x, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.1)
            return y
    return BatchNorm()


def bn_lenet_scratch(d2l, lr=0.1, num_classes=10, dropout=0.5):
    """The same network with the from-scratch batch norm layer."""
    nn = d2l.nn
    bn = lambda n, d: _scratch_batch_norm_layer(d2l, n, d)  # noqa: E731
    net = nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5), bn(6, 4), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), bn(16, 4), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.LazyLinear(120), bn(120, 2), nn.Sigmoid(),
        nn.LazyLinear(84), bn(84, 2), nn.Sigmoid(), nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def _resnet_stem(nn, channels):
    return nn.Sequential(nn.LazyConv2d(channels, kernel_size=7, stride=2, padding=3), nn.LazyBatchNorm2d(), nn.ReLU(),
                         nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


def resnet(d2l, lr=0.05, num_classes=10, dropout=0.5, arch=((2, 8), (2, 16))):
    """ResNet from the library's Residual block: a 7x7 stem, stages of residual blocks (the first block
    of every later stage halves the size with a strided 1x1 shortcut), global average pooling."""
    nn = d2l.nn
    stages = []
    for i, (num_residuals, channels) in enumerate(arch):
        blocks = []
        for j in range(num_residuals):
            first_of_later_stage = j == 0 and i > 0
            blocks.append(d2l.Residual(channels, use_1x1conv=first_of_later_stage,
                                       strides=2 if first_of_later_stage else 1))
        stages.append(nn.Sequential(*blocks))
    net = nn.Sequential(_resnet_stem(nn, arch[0][1]), *stages,
                        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def resnext(d2l, lr=0.05, num_classes=10, dropout=0.5):
    """The library's ResNeXt block (grouped 3x3 conv in a bottleneck) in two stages."""
    nn = d2l.nn
    net = nn.Sequential(_resnet_stem(nn, 16),
                        d2l.ResNeXtBlock(16, groups=4, bot_mul=1), d2l.ResNeXtBlock(16, groups=4, bot_mul=1),
                        d2l.ResNeXtBlock(32, groups=4, bot_mul=0.5, use_1x1conv=True, strides=2),
                        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


def _dense_block(d2l, num_convs, growth):
    """Each conv (BN-ReLU-3x3 conv) sees the concatenation of the block input and every earlier output."""
    nn, torch = d2l.nn, d2l.torch

    def conv_block(channels):
        return nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(), nn.LazyConv2d(channels, kernel_size=3, padding=1))

    class DenseBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(*[conv_block(growth) for _ in range(num_convs)])

        def forward(self, x):
            for layer in self.net:
                x = torch.cat((x, layer(x)), dim=1)
            return x
    return DenseBlock()


def densenet(d2l, lr=0.1, num_classes=10, dropout=0.5, growth=8, arch=(2, 2)):
    """DenseNet: dense blocks separated by transition layers (BN-ReLU-1x1 conv halving the channels,
    2x2 average pool), then BN-ReLU, global average pooling and the classifier."""
    nn = d2l.nn
    layers, channels = [_resnet_stem(nn, 16)], 16
    for i, num_convs in enumerate(arch):
        layers.append(_dense_block(d2l, num_convs, growth))
        channels += num_convs * growth
        if i != len(arch) - 1:
            channels //= 2
            layers.append(nn.Sequential(nn.LazyBatchNorm2d(), nn.ReLU(), nn.LazyConv2d(channels, kernel_size=1),
                                        nn.AvgPool2d(kernel_size=2, stride=2)))
    net = nn.Sequential(*layers, nn.LazyBatchNorm2d(), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
                        nn.LazyLinear(num_classes))
    return _classifier(d2l, net, lr)


# name -> (builder, the input side it is run at in tests)
BUILDERS = {
    "lenet": (lenet, 28), "alexnet": (alexnet, 67), "vgg": (vgg, 32), "nin": (nin, 28), "googlenet": (googlenet, 32),
    "bn_lenet": (bn_lenet, 28), "bn_lenet_scratch": (bn_lenet_scratch, 28), "resnet": (resnet, 32),
    "resnext": (resnext, 32), "densenet": (densenet, 32),
}


def build(name, d2l, **kwargs):
    builder, _ = BUILDERS[name]
    return builder(d2l, **kwargs)
