"""SVHN on MAT-files written by SciPy, against torchvision's SVHN (which reads them with SciPy);
FakeData against torchvision's contract (repeatable items, the global generator untouched)."""

import os

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.vision import datasets, transforms
from juanji.vision.datasets import SVHN, DownloadError, FakeData


def write_svhn(root, split="train", count=9, seed=0, compress=True):
    sio = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (32, 32, 3, count), dtype=np.uint8)
    labels = rng.integers(1, 11, (count, 1)).astype(np.float64)       # 10 stands for the digit 0
    labels[0, 0] = 10
    sio.savemat(os.path.join(root, f"{split}_32x32.mat"), {"X": images, "y": labels}, do_compression=compress)
    return images, labels


@pytest.mark.parametrize("split", ["train", "test", "extra"])
@pytest.mark.parametrize("compress", [True, False])
def test_svhn_items_and_attributes(tmp_path, split, compress):
    images, labels = write_svhn(tmp_path, split, compress=compress)
    ds = SVHN(str(tmp_path), split=split)
    assert ds.data.dtype == np.uint8 and ds.data.shape == (9, 3, 32, 32)
    assert ds.labels.dtype == np.int64 and ds.labels[0] == 0
    np.testing.assert_array_equal(ds.labels[1:], labels[1:, 0] % 10)
    image, target = ds[4]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
    # X[row, col, channel, n] in MATLAB's layout is pixel (col, row) of image n
    assert image.getpixel((7, 3)) == tuple(int(v) for v in images[3, 7, :, 4])
    assert target == int(labels[4, 0]) % 10 and f"Split: {split}" in repr(ds)


def test_svhn_matches_torchvision(tv, tmp_path, monkeypatch):
    write_svhn(tmp_path, "test", count=11, seed=5)
    monkeypatch.setattr(tv.datasets.svhn, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    ours, theirs = SVHN(str(tmp_path), split="test"), tv.datasets.SVHN(str(tmp_path), split="test")
    np.testing.assert_array_equal(ours.data, theirs.data)
    np.testing.assert_array_equal(ours.labels, theirs.labels)
    assert ours.labels.dtype == theirs.labels.dtype and repr(ours) == repr(theirs)
    for i in range(len(ours)):
        (a, ya), (b, yb) = ours[i], theirs[i]
        assert ya == yb and np.array_equal(np.asarray(a), np.asarray(b))


def test_svhn_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown value 'val' for argument split"):
        SVHN(str(tmp_path), split="val")
    with pytest.raises(RuntimeError, match=r"no 'train_32x32.mat' in .*download=True"):
        SVHN(str(tmp_path))

    def offline(what, *args, **kwargs):
        raise DownloadError(f"{what}: could not fetch http://x/train_32x32.mat (no network)")

    monkeypatch.setattr(datasets.svhn, "download_resources", offline)
    with pytest.raises(DownloadError, match=r"Without a network, put train_32x32.mat in"):
        SVHN(str(tmp_path), download=True)
    write_svhn(tmp_path)
    monkeypatch.setattr(datasets.svhn, "download_resources", lambda *a, **k: pytest.fail("network used"))
    assert len(SVHN(str(tmp_path), download=True)) == 9


# ---------------------------------------------------------------------------------- FakeData
def test_fakedata_items_are_repeatable_and_leave_the_global_generator_alone():
    ds = FakeData(size=20, image_size=(3, 12, 10), num_classes=4)
    juanji.manual_seed(7)
    expected_next = juanji.rand(3).tolist()
    juanji.manual_seed(7)
    first = [ds[i] for i in (3, 0, 3)]
    assert juanji.rand(3).tolist() == expected_next
    assert np.array_equal(np.asarray(first[0][0]), np.asarray(first[2][0])) and first[0][1] == first[2][1]
    assert not np.array_equal(np.asarray(first[0][0]), np.asarray(first[1][0]))
    image, target = first[0]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (10, 12)
    assert isinstance(target, int) and 0 <= target < 4
    shifted = FakeData(size=20, image_size=(3, 12, 10), num_classes=4, random_offset=3)
    assert np.array_equal(np.asarray(shifted[0][0]), np.asarray(ds[3][0]))
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[20]
    assert len(ds) == 20


def test_fakedata_pixels_are_scaled_gaussian_noise_as_torchvisions():
    # torchvision: ToPILImage(randn) = uint8(x * 255) (NumPy's cast); so P(pixel == 0) = P(-1/255 < x < 1/255)
    ds = FakeData(size=40, image_size=(1, 32, 32), num_classes=10)
    pixels = np.concatenate([np.asarray(ds[i][0]).ravel() for i in range(40)])
    labels = [ds[i][1] for i in range(40)]
    assert ds[0][0].mode == "L"
    noise = np.random.default_rng(0).standard_normal(200000).astype(np.float32)
    reference = (noise * 255).astype(np.uint8)
    for value in (0, 255):
        assert abs(np.mean(pixels == value) - np.mean(reference == value)) < 0.01
    assert set(labels) <= set(range(10)) and len(set(labels)) > 5


def test_fakedata_with_transforms_like_torchvision(tv):
    ours = FakeData(size=5, image_size=(3, 16, 16), transform=transforms.ToTensor(),
                    target_transform=lambda y: y + 100)
    theirs = tv.datasets.FakeData(size=5, image_size=(3, 16, 16), transform=tv.transforms.ToTensor(),
                                  target_transform=lambda y: y + 100)
    (x, y), (tx, ty) = ours[1], theirs[1]
    assert list(x.shape) == list(tx.shape) and x.dtype.name == str(tx.dtype).split(".")[-1]
    assert type(y) is type(ty) is int and y >= 100 and ty >= 100
    assert repr(ours).splitlines()[:2] == repr(theirs).splitlines()[:2]
