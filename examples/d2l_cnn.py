"""The convolution chapters of *Dive into Deep Learning* (7.2 cross-correlation and learning a
kernel, 7.3 padding and stride, 7.4 channels, 7.5 pooling, 7.6 LeNet, 8.x blocks of modern CNNs,
8.5 batch normalisation from scratch, 14.10 transposed convolution), as functions of the library
so the same code runs on juanji and on PyTorch.

    corr2d:       Y[i, j] = sum_{a, b} X[i + a, j + b] K[a, b]           (h - k_h + 1, w - k_w + 1)
    conv2d shape: floor((n + 2p - k) / s) + 1 per spatial dim
    trans_conv:   Y[i:i + k_h, j:j + k_w] += X[i, j] K                  (h + k_h - 1, w + k_w - 1)

Where the book draws random weights, the sections load fixed NumPy draws
(``d2l_builders_guide.fix_weights``) so that both libraries compute the same numbers.

Run it:  python examples/d2l_cnn.py [--torch]
"""

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_builders_guide import fix_weights, fixed  # noqa: E402
from d2l_common import library, run_sections  # noqa: E402


def corr2d(torch, X, K):
    """Compute 2D cross-correlation."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def cross_correlation(torch):
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    edges = torch.ones((6, 8))
    edges[:, 2:6] = 0
    K_edge = torch.tensor([[1.0, -1.0]])
    Y = corr2d(torch, edges, K_edge)
    return {"corr2d(X, K)": corr2d(torch, X, K), "X": edges, "Y": Y, "corr2d(X.t(), K)": corr2d(torch, edges.t(), K_edge),
            "F.conv2d agrees": torch.nn.functional.conv2d(edges.reshape(1, 1, 6, 8), K_edge.reshape(1, 1, 1, 2))[0, 0]}


def learning_a_kernel(torch):
    nn = torch.nn
    # Construct a two-dimensional convolutional layer with 1 output channel and a
    # kernel of shape (1, 2). For the sake of simplicity, we ignore the bias here
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    conv2d.weight.data = torch.tensor([[[[0.2, 0.7]]]])  # the book's draw is random; this one is fixed

    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    Y = corr2d(torch, X, torch.tensor([[1.0, -1.0]]))
    # The two-dimensional convolutional layer uses four-dimensional input and output in the format
    # of (example, channel, height, width), where the batch size (number of examples in the batch)
    # and the number of channels are both 1
    X = X.reshape((1, 1, 6, 8))
    Y = Y.reshape((1, 1, 6, 7))
    lr = 3e-2  # Learning rate

    losses = []
    for i in range(10):
        Y_hat = conv2d(X)
        l = (Y_hat - Y) ** 2
        conv2d.zero_grad()
        l.sum().backward()
        # Update the kernel
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(l.sum().item())
    return {"losses": losses, "kernel": conv2d.weight.data.reshape((1, 2)), "grad": conv2d.weight.grad}


def padding_and_stride(torch):
    nn = torch.nn

    # We define a helper function to calculate convolutions. It initializes the convolutional layer
    # weights and performs corresponding dimensionality elevations and reductions on the input and
    # output
    def comp_conv2d(conv2d, X):
        # (1, 1) indicates that batch size and the number of channels are both 1
        X = X.reshape((1, 1) + X.shape)
        Y = conv2d(X)
        # Strip the first two dimensions: examples and channels
        return Y.reshape(Y.shape[2:])

    X = torch.tensor(fixed((8, 8), 200))
    layers = {
        "k=3, p=1": nn.Conv2d(1, 1, kernel_size=3, padding=1),
        "k=(5, 3), p=(2, 1)": nn.Conv2d(1, 1, kernel_size=(5, 3), padding=(2, 1)),
        "k=3, p=1, s=2": nn.Conv2d(1, 1, kernel_size=3, padding=1, stride=2),
        "k=(3, 5), p=(0, 1), s=(3, 4)": nn.Conv2d(1, 1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)),
        "k=4, padding='same'": nn.Conv2d(1, 1, kernel_size=4, padding='same'),
        "k=3, dilation=2": nn.Conv2d(1, 1, kernel_size=3, dilation=2),
        "k=3, p=1, padding_mode='reflect'": nn.Conv2d(1, 1, kernel_size=3, padding=1, padding_mode='reflect'),
    }
    results = {}
    for name, conv in layers.items():
        fix_weights(torch, conv)
        Y = comp_conv2d(conv, X)
        results[name] = (Y.shape, Y)
    return results


def multiple_channels(torch):
    def corr2d_multi_in(X, K):
        # Iterate through the 0th dimension (channel) of K first, then add them up
        return sum(corr2d(torch, x, k) for x, k in zip(X, K))

    def corr2d_multi_in_out(X, K):
        # Iterate through the 0th dimension of K, and each time, perform cross-correlation
        # operations with input X. All of the results are stacked together
        return torch.stack([corr2d_multi_in(X, k) for k in K], 0)

    def corr2d_multi_in_out_1x1(X, K):
        c_i, h, w = X.shape
        c_o = K.shape[0]
        X = X.reshape((c_i, h * w))
        K = K.reshape((c_o, c_i))
        # Matrix multiplication in the fully connected layer
        Y = torch.matmul(K, X)
        return Y.reshape((c_o, h, w))

    X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                      [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
    K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    K3 = torch.stack((K, K + 1, K + 2), 0)
    X1 = torch.tensor(fixed((3, 3, 3), 201))
    K1 = torch.tensor(fixed((2, 3, 1, 1), 202))
    Y1 = corr2d_multi_in_out_1x1(X1, K1)
    Y2 = corr2d_multi_in_out(X1, K1)
    return {"corr2d_multi_in": corr2d_multi_in(X, K), "K.shape": K3.shape, "corr2d_multi_in_out": corr2d_multi_in_out(X, K3),
            "1x1 as matmul: sum |Y1 - Y2| (the book asserts < 1e-6)": float(torch.abs(Y1 - Y2).sum()), "Y1": Y1,
            "F.conv2d agrees": torch.nn.functional.conv2d(X[None], K3)[0]}


def pooling(torch):
    nn = torch.nn

    def pool2d(X, pool_size, mode='max'):
        p_h, p_w = pool_size
        Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
        for i in range(Y.shape[0]):
            for j in range(Y.shape[1]):
                if mode == 'max':
                    Y[i, j] = X[i: i + p_h, j: j + p_w].max()
                elif mode == 'avg':
                    Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
        return Y

    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    X4 = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
    pool = nn.MaxPool2d(3, padding=1, stride=2)
    X2 = torch.cat((X4, X4 + 1), 1)
    return {
        "pool2d max": pool2d(X, (2, 2)), "pool2d avg": pool2d(X, (2, 2), 'avg'),
        "MaxPool2d(3)": nn.MaxPool2d(3)(X4), "MaxPool2d(3, padding=1, stride=2)": pool(X4),
        "MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))": nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X4),
        "two channels": pool(X2), "repr": repr(pool),
        "AvgPool2d(3, padding=1, stride=2)": nn.AvgPool2d(3, padding=1, stride=2)(X2),
        "AvgPool2d count_include_pad=False": nn.AvgPool2d(3, padding=1, stride=2, count_include_pad=False)(X2),
        "MaxPool2d(2, ceil_mode=True) on 5x5": nn.MaxPool2d(2, ceil_mode=True)(torch.arange(25.0).reshape(1, 1, 5, 5)),
        "AdaptiveAvgPool2d((1, 1))": nn.AdaptiveAvgPool2d((1, 1))(X2),
    }


def lenet(torch):
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))
    fix_weights(torch, net, scale=0.2)
    X = torch.tensor(np.random.default_rng(203).random((1, 1, 28, 28)).astype(np.float32))
    printed = []
    for layer in net:
        X = layer(X)
        printed.append(f"{layer.__class__.__name__} output shape: \t{X.shape}")
    X.sum().backward()
    return {"printed": printed, "output": X, "conv1 weight grad": net[0].weight.grad, "repr": repr(net)}


def modern_blocks(torch):
    """VGG, NiN, Inception, ResNet and DenseNet blocks (d2l 8.2-8.7) with fixed weights: outputs,
    input gradients, and the BatchNorm running statistics after one training-mode pass."""
    nn, F = torch.nn, torch.nn.functional

    def vgg_block(num_convs, in_channels, out_channels):
        layers = []
        for _ in range(num_convs):
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            layers.append(nn.ReLU())
            in_channels = out_channels
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        return nn.Sequential(*layers)

    def nin_block(in_channels, out_channels, kernel_size, strides, padding):
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU())

    class Inception(nn.Module):
        # c1--c4 are the number of output channels for each branch
        def __init__(self, in_channels, c1, c2, c3, c4, **kwargs):
            super(Inception, self).__init__(**kwargs)
            # Branch 1
            self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
            # Branch 2
            self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
            self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
            # Branch 3
            self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
            self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
            # Branch 4
            self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
            self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

        def forward(self, x):
            p1 = F.relu(self.p1_1(x))
            p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
            p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
            p4 = F.relu(self.p4_2(self.p4_1(x)))
            # Concatenate the outputs on the channel dimension
            return torch.cat((p1, p2, p3, p4), dim=1)

    class Residual(nn.Module):
        def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            self.conv1 = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)
            self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
            if use_1x1conv:
                self.conv3 = nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
            else:
                self.conv3 = None
            self.bn1 = nn.BatchNorm2d(num_channels)
            self.bn2 = nn.BatchNorm2d(num_channels)

        def forward(self, X):
            Y = F.relu(self.bn1(self.conv1(X)))
            Y = self.bn2(self.conv2(Y))
            if self.conv3:
                X = self.conv3(X)
            Y += X
            return F.relu(Y)

    def conv_block(input_channels, num_channels):
        return nn.Sequential(
            nn.BatchNorm2d(input_channels), nn.ReLU(),
            nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1))

    class DenseBlock(nn.Module):
        def __init__(self, num_convs, input_channels, num_channels):
            super(DenseBlock, self).__init__()
            layer = []
            for i in range(num_convs):
                layer.append(conv_block(num_channels * i + input_channels, num_channels))
            self.net = nn.Sequential(*layer)

        def forward(self, X):
            for blk in self.net:
                Y = blk(X)
                # Concatenate the input and output of each block on the channel dimension
                X = torch.cat((X, Y), dim=1)
            return X

    def transition_block(input_channels, num_channels):
        return nn.Sequential(
            nn.BatchNorm2d(input_channels), nn.ReLU(),
            nn.Conv2d(input_channels, num_channels, kernel_size=1),
            nn.AvgPool2d(kernel_size=2, stride=2))

    blocks = {
        "vgg_block(2, 3, 8)": vgg_block(2, 3, 8),
        "nin_block(3, 8, 3, 1, 1)": nn.Sequential(nin_block(3, 8, kernel_size=3, strides=1, padding=1),
                                                  nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()),
        "Inception(3, 4, (2, 4), (2, 4), 4)": Inception(3, 4, (2, 4), (2, 4), 4),
        "Residual(3, 3)": Residual(3, 3),
        "Residual(3, 6, use_1x1conv=True, strides=2)": Residual(3, 6, use_1x1conv=True, strides=2),
        "DenseBlock(2, 3, 5) + transition_block(13, 6)": nn.Sequential(DenseBlock(2, 3, 5), transition_block(13, 6)),
    }
    results = {}
    for seed, (name, block) in enumerate(blocks.items()):
        fix_weights(torch, block, scale=0.3)
        X = torch.tensor(fixed((2, 3, 8, 8), 300 + seed), requires_grad=True)
        Y = block(X)
        (Y * torch.tensor(fixed(tuple(Y.shape), 400 + seed))).sum().backward()
        state = {k: v for k, v in block.state_dict().items() if "running" in k or "num_batches" in k}
        block.eval()
        with torch.no_grad():
            Y_eval = block(X)
        results[name] = {"Y": Y, "X.grad": X.grad, "running stats": state, "eval Y": Y_eval}
    return results


def batch_norm_from_scratch(torch):
    """d2l 8.5: batch normalisation written out, next to nn.BatchNorm2d."""
    nn = torch.nn

    def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        # Use is_grad_enabled to determine whether we are in training mode
        if not torch.is_grad_enabled():
            # In prediction mode, use mean and variance obtained by moving average
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            assert len(X.shape) in (2, 4)
            if len(X.shape) == 2:
                # When using a fully connected layer, calculate the mean and variance on the feature
                # dimension
                mean = X.mean(dim=0)
                var = ((X - mean) ** 2).mean(dim=0)
            else:
                # When using a two-dimensional convolutional layer, calculate the mean and variance
                # on the channel dimension (axis=1). Here we need to maintain the shape of X, so that
                # the broadcasting operation can be carried out later
                mean = X.mean(dim=(0, 2, 3), keepdim=True)
                var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            # In training mode, the current mean and variance are used
            X_hat = (X - mean) / torch.sqrt(var + eps)
            # Update the mean and variance using moving average
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        Y = gamma * X_hat + beta  # Scale and shift
        return Y, moving_mean.data, moving_var.data

    class BatchNorm(nn.Module):
        # num_features: the number of outputs for a fully connected layer or the number of output
        # channels for a convolutional layer. num_dims: 2 for a fully connected layer and 4 for a
        # convolutional layer
        def __init__(self, num_features, num_dims):
            super().__init__()
            if num_dims == 2:
                shape = (1, num_features)
            else:
                shape = (1, num_features, 1, 1)
            # The scale parameter and the shift parameter (model parameters) are initialized to 1
            # and 0, respectively
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            # The variables that are not model parameters are initialized to 0 and 1
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X):
            # If X is not on the main memory, copy moving_mean and moving_var to the device where X
            # is located
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            # Save the updated moving_mean and moving_var
            Y, self.moving_mean, self.moving_var = batch_norm(
                X, self.gamma, self.beta, self.moving_mean,
                self.moving_var, eps=1e-5, momentum=0.1)
            return Y

    X = torch.tensor(fixed((4, 3, 5, 5), 500, scale=2.0) + 1.0, requires_grad=True)
    scratch, library_bn = BatchNorm(3, num_dims=4), nn.BatchNorm2d(3)
    Y_scratch, Y_library = scratch(X), library_bn(X)
    Y_scratch.sum().backward()
    scratch_grad = X.grad.clone()
    X.grad.zero_()
    (Y_library * torch.tensor(fixed((4, 3, 5, 5), 501))).sum().backward()
    with torch.no_grad():
        scratch_eval = scratch(X)
    return {"scratch Y": Y_scratch, "scratch X.grad (~0: sum of a normalised batch)": scratch_grad,
            "scratch moving_mean": scratch.moving_mean, "scratch moving_var": scratch.moving_var,
            "scratch eval": scratch_eval,
            "library Y == scratch Y": float((Y_library - Y_scratch).abs().max()) < 1e-5,
            "library X.grad": X.grad, "library running_mean": library_bn.running_mean,
            "library running_var (unbiased)": library_bn.running_var}


def transposed_convolution(torch):
    nn = torch.nn

    def trans_conv(X, K):
        h, w = K.shape
        Y = torch.zeros((X.shape[0] + h - 1, X.shape[1] + w - 1))
        for i in range(X.shape[0]):
            for j in range(X.shape[1]):
                Y[i: i + h, j: j + w] += X[i, j] * K
        return Y

    def kernel2matrix(K):
        k, W = torch.zeros(5), torch.zeros((4, 9))
        k[:2], k[3:5] = K[0, :], K[1, :]
        W[0, :5], W[1, 1:6], W[2, 3:8], W[3, 4:] = k, k, k, k
        return W

    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    results = {"trans_conv": trans_conv(X, K)}
    X4, K4 = X.reshape(1, 1, 2, 2), K.reshape(1, 1, 2, 2)
    for name, kwargs in [("plain", {}), ("padding=1", {"padding": 1}), ("stride=2", {"stride": 2})]:
        tconv = nn.ConvTranspose2d(1, 1, kernel_size=2, bias=False, **kwargs)
        tconv.weight.data = K4
        results[f"ConvTranspose2d {name}"] = tconv(X4)
    X16 = torch.tensor(fixed((1, 10, 16, 16), 600))
    conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3)
    tconv = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
    results["tconv(conv(X)).shape == X.shape"] = tconv(conv(X16)).shape == X16.shape
    results["output_padding=2 restores 16x16"] = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3,
                                                                    output_padding=2)(conv(X16)).shape
    Xc = torch.arange(9.0).reshape(3, 3)
    Kc = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    W = kernel2matrix(Kc)
    Y = corr2d(torch, Xc, Kc)
    Z = trans_conv(Y, Kc)
    results["W"] = W
    results["conv as matmul"] = Y == torch.matmul(W, Xc.reshape(-1)).reshape(2, 2)
    results["transposed conv as matmul by W.T"] = Z == torch.matmul(W.T, Y.reshape(-1)).reshape(3, 3)
    return results


SECTIONS = [cross_correlation, learning_a_kernel, padding_and_stride, multiple_channels, pooling, lenet,
            modern_blocks, batch_norm_from_scratch, transposed_convolution]


def main(argv=None):
    return run_sections(library(argv), SECTIONS)


if __name__ == "__main__":
    sys.exit(main())
