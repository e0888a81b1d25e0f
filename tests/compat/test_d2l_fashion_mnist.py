"""``d2l.FashionMNIST`` (torchvision's dataset through the swap) reads the IDX files from disk and
gives torch's tensors, batches, labels and pictures; nothing is downloaded."""

import collections

import numpy as np
import pytest

from tests.compat.d2l_support import d2l_on, to_numpy

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture
def in_work_dir(fashion_small, monkeypatch):
    monkeypatch.chdir(fashion_small)  # d2l's DataModule looks in root='../data'
    return fashion_small


def _both(**kwargs):
    return d2l_on("juanji").FashionMNIST(**kwargs), d2l_on("torch").FashionMNIST(**kwargs)


def test_the_datasets_come_from_the_files_on_disk(in_work_dir):
    dj, dt = _both(batch_size=64)
    assert (len(dj.train), len(dj.val)) == (len(dt.train), len(dt.val)) == (1024, 512)
    assert type(dj.train).__module__.startswith("juanji.vision")
    for i in (0, 1, 511):
        (xj, yj), (xt, yt) = dj.val[i], dt.val[i]
        assert type(yj) is type(yt) is int and yj == yt
        assert tuple(xj.shape) == tuple(xt.shape) == (1, 28, 28) and str(xj.dtype) == "juanji.float32"
        np.testing.assert_array_equal(to_numpy(xj), to_numpy(xt))


@pytest.mark.parametrize("resize", [(32, 32), (64, 48)])
def test_resized_images_are_torchvisions(in_work_dir, resize):
    dj, dt = _both(batch_size=8, resize=resize)
    for i in (0, 7):
        xj, xt = to_numpy(dj.train[i][0]), to_numpy(dt.train[i][0])
        assert xj.shape == xt.shape == (1,) + resize
        np.testing.assert_allclose(xj, xt, atol=1e-6)


def test_the_validation_loader_gives_torchs_batches(in_work_dir):
    dj, dt = _both(batch_size=100)  # the library's loaders: four worker processes
    lj, lt = dj.val_dataloader(), dt.val_dataloader()
    assert len(lj) == len(lt) == 6
    batches_j, batches_t = list(lj), list(lt)
    assert [tuple(x.shape) for x, _ in batches_j] == [tuple(x.shape) for x, _ in batches_t]
    for (xj, yj), (xt, yt) in zip(batches_j, batches_t):
        assert str(yj.dtype) == "juanji.int64"
        np.testing.assert_array_equal(to_numpy(xj), to_numpy(xt))
        np.testing.assert_array_equal(to_numpy(yj), to_numpy(yt))
    assert dj.text_labels(batches_j[0][1][:10]) == dt.text_labels(batches_t[0][1][:10])


def test_the_training_loader_shuffles_every_image_once_per_epoch(in_work_dir):
    dj = d2l_on("juanji").FashionMNIST(batch_size=128)
    loader = dj.train_dataloader()
    seen = [to_numpy(y) for _, y in loader]
    labels = np.concatenate(seen)
    assert len(labels) == 1024 and [len(s) for s in seen] == [128] * 8
    on_disk = collections.Counter(int(dj.train[i][1]) for i in range(1024))
    assert collections.Counter(labels.tolist()) == on_disk
    assert not np.array_equal(labels, np.array([dj.train[i][1] for i in range(1024)]))  # shuffled


def test_visualize_draws_the_same_pictures(in_work_dir):
    import matplotlib.pyplot as plt
    pictures = {}
    for fw in ("juanji", "torch"):
        d2l = d2l_on(fw)
        data = d2l.FashionMNIST(batch_size=16)
        batch = next(iter(data.val_dataloader()))
        plt.close("all")
        data.visualize(batch, nrows=2, ncols=4)
        figure = plt.gcf()
        pictures[fw] = [(ax.get_title(), np.asarray(ax.images[0].get_array())) for ax in figure.axes if ax.images]
        plt.close("all")
    assert len(pictures["juanji"]) == len(pictures["torch"]) == 8
    for (title_j, image_j), (title_t, image_t) in zip(pictures["juanji"], pictures["torch"]):
        assert title_j == title_t
        np.testing.assert_array_equal(image_j, image_t)
