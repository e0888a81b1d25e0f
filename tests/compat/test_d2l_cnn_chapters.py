"""The real d2l library (1.0.3) used the way its CNN chapters use it, on juanji (through the
swap) and on torch, side by side (tests/compat/d2l_support.py loads both).

(The convolution sections, layer summaries, init_cnn and the board's averaging are in
test_d2l_conv_sections.py, test_d2l_architectures.py and test_d2l_trainer.py.)
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

import numpy as np
import pytest

import juanji
from tests.compat.d2l_support import FixedOrder, copy_weights, curves, d2l_on, fashion_mnist_dir

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def both():
    return {"juanji": (d2l_on("juanji"), juanji), "torch": (d2l_on("torch"), torch)}


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
