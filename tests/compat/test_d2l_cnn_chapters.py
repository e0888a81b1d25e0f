"""The real d2l library (1.0.3) used the way its CNN chapters use it, on juanji (through the
swap) and on torch, side by side (tests/compat/d2l_support.py loads both).

- From-scratch convolutions, padding and stride, channels, 1x1 convolutions, pooling: exact.
- d2l.Classifier.layer_summary (LeNet, a batch-norm LeNet), d2l.Residual, d2l.ResNeXtBlock:
  the same printed shapes; d2l.ProgressBoard: the same averaged points.
- d2l.init_cnn through apply_init: Xavier-uniform weights (bound and spread).
- Training with d2l.Trainer on Fashion-MNIST read by the dataset class through the swap: with
  torch's initial weights copied into juanji's model and one batch order for both, the curves
  (every plotted point of train loss, val loss, val accuracy) agree to float32 accuracy (rtol 1e-5;
  measured 2e-7) after an epoch of sigmoid LeNet on 2,048 images and two epochs of batch-norm
  LeNet on 4,096 (the chapters' hyperparameters: lr 0.1, batch 128).
- The chapter's own run (slow): LeNet, 10 epochs, lr 0.1, batch 128, all of Fashion-MNIST, each
  framework from its own seed: the final train loss within 0.1 and the final validation accuracy
  within 4 points of torch's.
"""

import contextlib
import io

import numpy as np
import pytest

import juanji
from tests.compat.d2l_support import FixedOrder, copy_weights, curves, d2l_on, fashion_mnist_dir, to_numpy

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def both():
    return {"juanji": (d2l_on("juanji"), juanji), "torch": (d2l_on("torch"), torch)}


def _values(t):
    return to_numpy(t).astype(np.float64)


# ---------------------------------------------------------------------------- convolutions by hand
def _edge_image(m):
    X = m.ones((6, 8))
    X[:, 2:6] = 0
    return X


def test_cross_correlation_and_edge_detection_as_on_torch(both):
    results = {}
    for name, (d2l, m) in both.items():
        X, K = _edge_image(m), m.tensor([[1.0, -1.0]])
        results[name] = (_values(d2l.corr2d(X, K)), _values(d2l.corr2d(X.t(), K)))
    for a, b in zip(results["juanji"], results["torch"]):
        np.testing.assert_array_equal(a, b)
    assert np.abs(results["juanji"][1]).sum() == 0  # the kernel sees no vertical edge in the transposed image


def test_learning_the_edge_kernel_follows_torchs_steps(both):
    """A LazyConv2d learns [1, -1] from the image and its edge map, updated through .data as the
    chapter does; with torch's initial weight the losses follow torch's."""
    losses, kernels = {}, {}
    start = None
    for name in ("torch", "juanji"):
        d2l, m = both[name]
        m.manual_seed(0)
        conv = m.nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
        X = _edge_image(m)
        Y = d2l.corr2d(X, m.tensor([[1.0, -1.0]]))
        X, Y = X.reshape((1, 1, 6, 8)), Y.reshape((1, 1, 6, 7))
        conv(X)  # the lazy layer takes its shape
        if start is None:
            start = to_numpy(conv.weight)
        else:
            with m.no_grad():
                conv.weight.copy_(m.tensor(start))
        history = []
        for _ in range(10):
            loss = ((conv(X) - Y) ** 2).sum()
            conv.zero_grad()
            loss.backward()
            conv.weight.data[:] -= 3e-2 * conv.weight.grad
            history.append(float(loss))
        losses[name], kernels[name] = history, _values(conv.weight.data.reshape((1, 2)))
    np.testing.assert_allclose(losses["juanji"], losses["torch"], rtol=1e-5)
    np.testing.assert_allclose(kernels["juanji"], kernels["torch"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kernels["juanji"], [[1.0, -1.0]], atol=0.1)


def test_padding_and_stride_shapes_as_on_torch(both):
    shapes = {}
    for name, (d2l, m) in both.items():
        nn = m.nn
        X = m.rand(size=(8, 8))
        layers = [nn.LazyConv2d(1, kernel_size=3, padding=1), nn.LazyConv2d(1, kernel_size=(5, 3), padding=(2, 1)),
                  nn.LazyConv2d(1, kernel_size=3, padding=1, stride=2),
                  nn.LazyConv2d(1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4))]
        shapes[name] = [list(layer(X.reshape((1, 1) + tuple(X.shape))).shape[2:]) for layer in layers]
    assert shapes["juanji"] == shapes["torch"] == [[8, 8], [8, 8], [4, 4], [2, 2]]


def test_channels_and_one_by_one_convolutions_as_on_torch(both):
    out = {}
    for name, (d2l, m) in both.items():
        def multi_in(X, K):
            return sum(d2l.corr2d(x, k) for x, k in zip(X, K))

        def multi_in_out(X, K):
            return m.stack([multi_in(X, k) for k in K], 0)
        X = m.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                      [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
        K = m.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
        K = m.stack((K, K + 1, K + 2), 0)
        X3 = m.tensor(np.random.default_rng(0).standard_normal((3, 3, 3)).astype(np.float32))
        K1 = m.tensor(np.random.default_rng(1).standard_normal((2, 3, 1, 1)).astype(np.float32))
        c, h, w = X3.shape
        as_matmul = m.matmul(K1.reshape((2, c)), X3.reshape((c, h * w))).reshape((2, h, w))
        out[name] = (_values(multi_in_out(X, K)), _values(as_matmul), _values(multi_in_out(X3, K1)))
    np.testing.assert_array_equal(out["juanji"][0], out["torch"][0])
    np.testing.assert_allclose(out["juanji"][1], out["torch"][1], rtol=1e-6)
    np.testing.assert_allclose(out["juanji"][1], out["juanji"][2], rtol=1e-5, atol=1e-6)


def test_pooling_by_hand_and_layers_as_on_torch(both):
    out = {}
    for name, (d2l, m) in both.items():
        def pool2d(X, pool_size, mode="max"):
            p_h, p_w = pool_size
            Y = m.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
            for i in range(Y.shape[0]):
                for j in range(Y.shape[1]):
                    window = X[i: i + p_h, j: j + p_w]
                    Y[i, j] = window.max() if mode == "max" else window.mean()
            return Y
        X = m.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
        X16 = m.arange(16, dtype=m.float32).reshape((1, 1, 4, 4))
        nn = m.nn
        out[name] = [_values(pool2d(X, (2, 2))), _values(pool2d(X, (2, 2), "avg")), _values(nn.MaxPool2d(3)(X16)),
                     _values(nn.MaxPool2d(3, padding=1, stride=2)(X16)),
                     _values(nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X16)),
                     _values(nn.MaxPool2d(3, padding=1, stride=2)(m.cat((X16, X16 + 1), 1)))]
    for a, b in zip(out["juanji"], out["torch"]):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- models and tools
def _lenet(d2l, nn, batch_norm=False, lr=0.1):
    class LeNetLike(d2l.Classifier):
        def __init__(self, lr=0.1, num_classes=10):
            super().__init__()
            self.save_hyperparameters()
            norm = (lambda kind: [kind()]) if batch_norm else (lambda kind: [])
            self.net = nn.Sequential(
                nn.LazyConv2d(6, kernel_size=5, padding=0 if batch_norm else 2), *norm(nn.LazyBatchNorm2d),
                nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
                nn.LazyConv2d(16, kernel_size=5), *norm(nn.LazyBatchNorm2d), nn.Sigmoid(),
                nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
                nn.LazyLinear(120), *norm(nn.LazyBatchNorm1d), nn.Sigmoid(),
                nn.LazyLinear(84), *norm(nn.LazyBatchNorm1d), nn.Sigmoid(), nn.LazyLinear(num_classes))
    return LeNetLike(lr=lr)


def test_layer_summaries_and_residual_blocks_as_on_torch(both):
    out = {}
    for name, (d2l, m) in both.items():
        texts = []
        for model in (d2l.LeNet(), _lenet(d2l, m.nn, batch_norm=True)):
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                model.layer_summary((2, 1, 28, 28))
            texts.append(text.getvalue().replace("juanji", "torch"))
        X = m.rand(4, 3, 6, 6)
        shapes = [list(d2l.Residual(3)(X).shape), list(d2l.Residual(6, use_1x1conv=True, strides=2)(X).shape),
                  list(d2l.ResNeXtBlock(32, 16, 1, 1)(m.rand(4, 96, 6, 6)).shape)]
        out[name] = (texts, shapes)
    assert out["juanji"] == out["torch"]
    assert out["juanji"][1] == [[4, 3, 6, 6], [4, 6, 3, 3], [4, 32, 6, 6]]


def test_progress_board_averages_the_points_as_on_torch(both):
    data = {}
    for name, (d2l, m) in both.items():
        board = d2l.ProgressBoard("x")
        for k in range(50):
            x = k * 0.2
            board.draw(x, float(m.sin(m.tensor(x))), "sin", every_n=2)
            board.draw(x, float(m.cos(m.tensor(x))), "cos", every_n=10)
        data[name] = curves(board)
        assert board.fig is not None  # it drew a figure (into Agg)
    assert list(data["juanji"]) == list(data["torch"]) == ["sin", "cos"]
    for label in data["torch"]:
        np.testing.assert_allclose(data["juanji"][label][0], data["torch"][label][0])
        np.testing.assert_allclose(data["juanji"][label][1], data["torch"][label][1], atol=1e-6)


def test_init_cnn_gives_xavier_uniform_weights(both):
    spreads = {}
    for name, (d2l, m) in both.items():
        m.manual_seed(1)
        model = d2l.LeNet()
        model.apply_init([m.zeros(2, 1, 28, 28)], d2l.init_cnn)
        stats = []
        for layer in model.net:
            if type(layer).__name__ in ("Conv2d", "Linear"):
                w = to_numpy(layer.weight)
                receptive = int(np.prod(w.shape[2:]))
                bound = np.sqrt(6.0 / (w.shape[1] * receptive + w.shape[0] * receptive))
                assert np.abs(w).max() <= bound
                stats.append(w.std() / (bound / np.sqrt(3)))  # 1 for the uniform law
        spreads[name] = stats
    assert len(spreads["juanji"]) == len(spreads["torch"]) == 5
    np.testing.assert_allclose(spreads["juanji"], 1.0, atol=0.15)
    np.testing.assert_allclose(spreads["juanji"], spreads["torch"], atol=0.15)


# ---------------------------------------------------------------------------- training
def _fit_side_by_side(both, tmp_path, batch_norm, n_train, n_test, epochs=1):
    """Train the same LeNet in both with d2l's Trainer: torch's initial weights, one batch order."""
    work = fashion_mnist_dir(tmp_path, n_train, n_test)
    results, state = {}, None
    with contextlib.chdir(work):
        for name in ("torch", "juanji"):
            d2l, m = both[name]
            m.manual_seed(0)
            data = d2l.FashionMNIST(batch_size=128)
            data.num_workers = 0
            order = FixedOrder(len(data.train), seed=3)

            def loader(train, data=data, order=order, m=m):
                dataset = data.train if train else data.val
                return m.utils.data.DataLoader(dataset, data.batch_size, sampler=order if train else None,
                                               num_workers=0)
            data.get_dataloader = loader
            model = _lenet(d2l, m.nn, batch_norm)
            model.apply_init([next(iter(loader(True)))[0]], d2l.init_cnn)
            if state is None:  # (a copy: training changes the parameters in place)
                state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                copy_weights(_as_module(state, both["torch"][1]), model)
            trainer = d2l.Trainer(max_epochs=epochs, num_gpus=1)
            trainer.fit(model, data)
            results[name] = curves(model.board)
    return results


def _as_module(state, torch_module):
    holder = torch_module.nn.Module()
    holder.state_dict = lambda: state
    return holder


@pytest.mark.parametrize("batch_norm,n_train,epochs", [(False, 2048, 1), (True, 4096, 2)],
                         ids=["lenet", "batch_norm_lenet"])
def test_trainer_curves_follow_torchs_point_by_point(both, tmp_path, batch_norm, n_train, epochs):
    got = _fit_side_by_side(both, tmp_path, batch_norm, n_train=n_train, n_test=1024, epochs=epochs)
    assert list(got["juanji"]) == list(got["torch"]) == ["train_loss", "val_loss", "val_acc"]
    for label in got["torch"]:
        jx, jy = got["juanji"][label]
        tx, ty = got["torch"][label]
        np.testing.assert_allclose(jx, tx)
        np.testing.assert_allclose(jy, ty, rtol=1e-5, atol=1e-6, err_msg=label)
    if batch_norm:  # it learned (the sigmoid LeNet needs more than these few steps to leave chance)
        assert got["juanji"]["val_acc"][1][-1] > 0.6 and got["juanji"]["train_loss"][1][-1] < 1.3


@pytest.mark.slow
def test_lenet_chapter_run_lands_near_torchs(both, tmp_path):
    """The LeNet section's figure: 10 epochs, lr 0.1, batch 128, all of Fashion-MNIST, each framework
    from its own manual_seed(0) (different draws, so a tolerance, not equality)."""
    work = fashion_mnist_dir(tmp_path)
    final = {}
    with contextlib.chdir(work):
        for name, (d2l, m) in both.items():
            m.manual_seed(0)
            data = d2l.FashionMNIST(batch_size=128)
            model = _lenet(d2l, m.nn, False)
            model.apply_init([next(iter(data.get_dataloader(True)))[0]], d2l.init_cnn)
            d2l.Trainer(max_epochs=10, num_gpus=1).fit(model, data)
            lines = curves(model.board)
            final[name] = (lines["train_loss"][1][-1], lines["val_acc"][1][-1])
    print(f"final train loss / val accuracy: juanji {final['juanji']}, torch {final['torch']}")
    assert abs(final["juanji"][0] - final["torch"][0]) < 0.1
    assert abs(final["juanji"][1] - final["torch"][1]) < 0.04
