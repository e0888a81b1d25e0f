"""d2l's object-oriented training loop on juanji: ``HyperParameters``, ``DataModule``, ``Module``,
``Trainer`` (with gradient clipping), ``Classifier`` and the ``ProgressBoard`` they draw on give
torch's curves and figures.

The same data (drawn by NumPy), the same initial weights and the same batch order (``FixedOrder``)
go to both runs; the tolerances are float32 rounding carried over a few hundred SGD steps.
"""

import copy
import io

import numpy as np
import pytest

import juanji
from tests.compat.d2l_support import FixedOrder, copy_weights, curves, d2l_on, fixed_order_loaders, to_numpy

torch = pytest.importorskip("torch")

W_TRUE, B_TRUE = np.array([2.0, -3.4], np.float32), 4.2


def regression_data(d2l, seed=0, n=1000, batch_size=32):
    """d2l's SyntheticRegressionData, with NumPy's features and noise, and loaders in a fixed order."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2 * n, 2)).astype(np.float32)
    y = (x @ W_TRUE.reshape(-1, 1) + B_TRUE + 0.01 * rng.standard_normal((2 * n, 1))).astype(np.float32)

    class SameOrderData(d2l.SyntheticRegressionData):
        def get_tensorloader(self, tensors, train, indices=slice(0, None)):
            dataset = d2l.torch.utils.data.TensorDataset(*(a[indices] for a in tensors))
            sampler = FixedOrder(len(dataset), seed) if train else None
            return d2l.torch.utils.data.DataLoader(dataset, self.batch_size, sampler=sampler)

    data = SameOrderData(w=d2l.tensor(W_TRUE), b=B_TRUE, num_train=n, num_val=n, batch_size=batch_size)
    data.X, data.y = d2l.tensor(x), d2l.tensor(y)
    return data


def start_from(model, fw, start):
    """torch's run goes first and keeps a copy of its initial model; juanji's run starts from its weights."""
    if fw == "torch":
        return copy.deepcopy(model)
    copy_weights(start, model)
    return start


def assert_same_curves(board_j, board_t, rtol, atol=0.0):
    cj, ct = curves(board_j), curves(board_t)
    assert list(cj) == list(ct)
    for label in ct:
        np.testing.assert_array_equal(cj[label][0], ct[label][0], err_msg=f"{label}: x")  # epochs as torch
        np.testing.assert_allclose(cj[label][1], ct[label][1], rtol=rtol, atol=atol, err_msg=f"{label}: y")
    return cj, ct


def test_save_hyperparameters_keeps_the_arguments():
    for fw in ("juanji", "torch"):
        d2l = d2l_on(fw)

        class Config(d2l.HyperParameters):
            def __init__(self, a, b, _hidden=3, ignored=4):
                self.save_hyperparameters(ignore=["ignored"])
        c = Config(1, "two")
        assert (c.a, c.b, c.hparams) == (1, "two", {"a": 1, "b": "two"})
        assert not hasattr(c, "ignored") and not hasattr(c, "_hidden")


def test_linear_regression_from_scratch_trains_as_on_torch():
    """The scratch model keeps w and b as plain tensors and updates them in place in d2l.SGD."""
    runs = {}
    start_w = np.random.default_rng(1).normal(0, 0.01, (2, 1)).astype(np.float32)
    for fw in ("torch", "juanji"):
        d2l = d2l_on(fw)
        model = d2l.LinearRegressionScratch(2, lr=0.03)
        model.w = d2l.tensor(start_w, requires_grad=True)
        d2l.Trainer(max_epochs=3).fit(model, regression_data(d2l))
        runs[fw] = model
    assert_same_curves(runs["juanji"].board, runs["torch"].board, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(to_numpy(runs["juanji"].w), to_numpy(runs["torch"].w), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(runs["juanji"].b), to_numpy(runs["torch"].b), rtol=1e-5)
    assert np.abs(to_numpy(runs["juanji"].w).ravel() - W_TRUE).max() < 0.3  # it learnt (from ~0)


@pytest.mark.parametrize("clip", [0, 0.5])
def test_concise_linear_regression_with_and_without_gradient_clipping(clip):
    """nn.LazyLinear + MSELoss + optim.SGD through the Trainer; with gradient_clip_val the Trainer
    rescales the gradients in place (``param.grad[:] *= clip / norm``)."""
    runs, start = {}, None
    for fw in ("torch", "juanji"):
        d2l = d2l_on(fw)
        model = d2l.LinearRegression(lr=0.03)
        data = regression_data(d2l)
        model(data.X[:1])  # materialise the lazy layer, then give both runs torch's initial weights
        start = start_from(model, fw, start)
        trainer = d2l.Trainer(max_epochs=2, gradient_clip_val=clip)
        runs[fw] = (trainer, model)
        trainer.fit(model, data)
    (tj, mj), (tt, mt) = runs["juanji"], runs["torch"]
    assert (tj.train_batch_idx, tj.val_batch_idx) == (tt.train_batch_idx, tt.val_batch_idx) == (64, 64)
    assert_same_curves(mj.board, mt.board, rtol=1e-4, atol=1e-6)
    for pj, pt in zip(mj.get_w_b(), mt.get_w_b()):
        np.testing.assert_allclose(to_numpy(pj), to_numpy(pt), rtol=1e-5, atol=1e-6)


def _figure_content(board):
    axes = board.fig.axes[0] if board.fig.axes else None
    lines = [(line.get_linestyle(), line.get_color(), np.asarray(line.get_xdata(), float),
              np.asarray(line.get_ydata(), float)) for line in axes.get_lines()]
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    return lines, legend, axes.get_xlabel(), axes.get_ylabel(), axes.get_xlim(), axes.get_xscale()


def test_the_progress_board_draws_torchs_figure():
    """After a fit, the board's figure holds the same lines (style, colour, points), legend, labels
    and limits on both; the figure saves as a PNG under the Agg backend."""
    boards, start = {}, None
    for fw in ("torch", "juanji"):
        d2l = d2l_on(fw)
        model = d2l.LinearRegression(lr=0.03)
        data = regression_data(d2l)
        model(data.X[:1])
        start = start_from(model, fw, start)
        d2l.Trainer(max_epochs=2).fit(model, data)
        boards[fw] = (model.board, model)
    (bj, _), (bt, _) = boards["juanji"], boards["torch"]
    lines_j, *rest_j = _figure_content(bj)
    lines_t, *rest_t = _figure_content(bt)
    assert rest_j == rest_t and rest_t[0] == ["train_loss", "val_loss"] and rest_t[1] == "epoch"
    assert len(lines_j) == len(lines_t) >= 2
    for (sj, cj, xj, yj), (st, ct, xt, yt) in zip(lines_j, lines_t):
        assert (sj, cj) == (st, ct)
        np.testing.assert_array_equal(xj, xt)
        np.testing.assert_allclose(yj, yt, rtol=1e-4, atol=1e-6)
    png = io.BytesIO()
    bj.fig.savefig(png, format="png")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_board_averages_every_n_points():
    for fw in ("juanji", "torch"):
        d2l = d2l_on(fw)
        board = d2l.ProgressBoard(xlabel="x", display=False)
        for i in range(10):
            board.draw(i, d2l.numpy(d2l.tensor(float(i * i))), "square", every_n=5)
        assert [(p.x, float(p.y)) for p in board.data["square"]] == [(2.0, 6.0), (7.0, 51.0)]


def test_softmax_regression_classifier_on_fashion_mnist(fashion_small, monkeypatch, no_network):
    """d2l.SoftmaxRegression (Flatten + LazyLinear) as a Classifier on Fashion-MNIST images read from
    disk: train loss, validation loss and accuracy curves as torch's."""
    monkeypatch.chdir(fashion_small)
    runs, start = {}, None
    for fw in ("torch", "juanji"):
        d2l = d2l_on(fw)
        data = fixed_order_loaders(d2l, d2l.FashionMNIST)(batch_size=128)
        model = d2l.SoftmaxRegression(num_outputs=10, lr=0.1)
        model(next(iter(data.val_dataloader()))[0])
        start = start_from(model, fw, start)
        d2l.Trainer(max_epochs=2).fit(model, data)
        runs[fw] = model
    cj, ct = assert_same_curves(runs["juanji"].board, runs["torch"].board, rtol=1e-4, atol=1e-5)
    assert list(ct) == ["train_loss", "val_loss", "val_acc"]
    assert ct["val_acc"][1][-1] > 0.5  # it learnt
