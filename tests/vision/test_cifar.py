"""CIFAR10 / CIFAR100 on small files in both real formats, against torchvision's own reader."""

import os
import pickle

import numpy as np
import pytest
from PIL import Image

from juanji.vision import datasets, transforms
from juanji.vision.datasets import CIFAR10, CIFAR100, DownloadError, UnsafePickleError
from tests.vision.dataset_files import CIFAR10_NAMES, py2_pickle, write_cifar_binary, write_cifar_python


def hwc(rows):
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


@pytest.mark.parametrize("python2", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_cifar10_python_version_items_and_attributes(tmp_path, train, python2):
    written = write_cifar_python(tmp_path, python2=python2)
    ds = CIFAR10(str(tmp_path), train=train)
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    rows = np.concatenate([written[n][0] for n in names])
    labels = sum((written[n][1] for n in names), [])
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8 and ds.data.shape == (len(rows), 32, 32, 3)
    np.testing.assert_array_equal(ds.data, hwc(rows))
    assert ds.targets == labels and all(type(t) is int for t in ds.targets)
    assert ds.classes == CIFAR10_NAMES and ds.class_to_idx["cat"] == 3
    image, target = ds[2]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
    # pixel (row 5, col 7) of image 2: red, green, blue planes of the record
    assert image.getpixel((7, 5)) == tuple(int(rows[2, c * 1024 + 5 * 32 + 7]) for c in range(3))
    assert target == labels[2] and len(ds) == len(rows)
    assert f"Split: {'Train' if train else 'Test'}" in repr(ds)


def test_cifar_matches_torchvision(tv, tmp_path, monkeypatch):
    written = write_cifar_python(tmp_path)
    write_cifar_python(tmp_path, hundred=True)
    # torchvision checks the canonical MD5 of every file; ours are small fakes
    monkeypatch.setattr(tv.datasets.cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    for ours_cls, theirs_cls in ((CIFAR10, tv.datasets.CIFAR10), (CIFAR100, tv.datasets.CIFAR100)):
        for train in (True, False):
            ours, theirs = ours_cls(str(tmp_path), train=train), theirs_cls(str(tmp_path), train=train)
            np.testing.assert_array_equal(ours.data, theirs.data)
            assert ours.targets == theirs.targets and ours.classes == theirs.classes
            assert ours.class_to_idx == theirs.class_to_idx and len(ours) == len(theirs)
            assert repr(ours) == repr(theirs)
            for i in (0, len(ours) - 1):
                (a, ya), (b, yb) = ours[i], theirs[i]
                assert ya == yb and np.array_equal(np.asarray(a), np.asarray(b))
    assert written  # the python-2 pickles were read by torchvision's pickle.load too


@pytest.mark.parametrize("hundred", [False, True])
def test_binary_version_gives_the_same_dataset(tmp_path, hundred):
    python_root, binary_root = tmp_path / "py", tmp_path / "bin"
    written = write_cifar_python(python_root, hundred=hundred)
    write_cifar_binary(binary_root, written, hundred=hundred)
    cls = CIFAR100 if hundred else CIFAR10
    for train in (True, False):
        a, b = cls(str(python_root), train=train), cls(str(binary_root), train=train)
        np.testing.assert_array_equal(a.data, b.data)
        assert a.targets == b.targets and a.classes == b.classes


def test_cifar100_targets_are_the_fine_labels(tmp_path):
    written = write_cifar_python(tmp_path, hundred=True)
    ds = CIFAR100(str(tmp_path), train=True, transform=transforms.ToTensor(), target_transform=lambda y: y + 1000)
    assert ds.targets == written["train"][1] and len(ds.classes) == 100
    x, y = ds[0]
    assert list(x.shape) == [3, 32, 32] and y == written["train"][1][0] + 1000


def test_missing_files_name_both_layouts(tmp_path):
    with pytest.raises(RuntimeError) as excinfo:
        CIFAR10(str(tmp_path))
    message = str(excinfo.value)
    assert "data_batch_1" in message and "cifar-10-batches-py" in message and "cifar-10-batches-bin" in message
    assert "download=True" in message and "\n" not in message


def test_download_true_with_files_present_does_not_touch_the_network(tmp_path, monkeypatch):
    write_cifar_python(tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used although the files are there")

    monkeypatch.setattr(datasets.cifar, "download_resources", no_network)
    assert len(CIFAR10(str(tmp_path), train=False, download=True)) == 9


def test_download_failure_says_which_files_to_put_where(tmp_path, monkeypatch):
    def offline(what, *args, **kwargs):
        raise DownloadError(f"{what}: could not fetch https://example/cifar-10-python.tar.gz (no network)")

    monkeypatch.setattr(datasets.cifar, "download_resources", offline)
    with pytest.raises(DownloadError, match=r"Without a network, put the files there yourself: expected "
                                            r"data_batch_1.*cifar-10-batches-py"):
        CIFAR10(str(tmp_path), download=True)


def test_download_unpacks_the_archive(tmp_path, monkeypatch):
    import tarfile
    source = tmp_path / "source"
    written = write_cifar_python(source)
    archive = tmp_path / "root" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()

    def fake_download(what, resources, folder, **kwargs):
        assert resources == [("cifar-10-python.tar.gz", CIFAR10.tgz_md5)]
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")

    monkeypatch.setattr(datasets.cifar, "download_resources", fake_download)
    ds = CIFAR10(str(tmp_path / "root"), train=False, download=True)
    assert ds.targets == written["test_batch"][1]


def test_a_malicious_batch_file_is_refused_without_running(tmp_path):
    write_cifar_python(tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        f.write(pickle.dumps({"data": Payload(), "labels": [1]}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"data_batch_3.*names posix.system"):
        CIFAR10(str(tmp_path))
    assert not marker.exists()


def test_a_corrupt_binary_file_is_a_clear_error(tmp_path):
    written = write_cifar_python(tmp_path / "src")
    write_cifar_binary(tmp_path, written)
    path = tmp_path / "cifar-10-batches-bin" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(RuntimeError, match=r"test_batch.bin' holds \d+ bytes, not a whole number of 3073-byte"):
        CIFAR10(str(tmp_path), train=False)


def test_a_batch_without_data_is_a_clear_error(tmp_path):
    write_cifar_python(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        f.write(py2_pickle({"labels": [1, 2]}))
    with pytest.raises(RuntimeError, match="holds no 'data' entry"):
        CIFAR10(str(tmp_path), train=False)
