"""MNIST/FashionMNIST, DatasetFolder and ImageFolder against torchvision's, and download=True as the d2l
book calls it (files on disk: no network; files missing and no network: an error that says what to do)."""

import os

import numpy as np
import pytest
from PIL import Image

from juanji.vision import datasets, transforms
from juanji.vision.datasets import MNIST, DatasetFolder, DownloadError, FashionMNIST, ImageFolder, write_idx


def write_raw_split(folder, prefix, count, seed, gz=False):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    os.makedirs(folder, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{suffix}"), images)
    write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
    return images, labels


@pytest.mark.parametrize("cls_name", ["MNIST", "FashionMNIST"])
def test_mnist_family_matches_torchvision_on_its_layout(tv, tmp_path, cls_name):
    raw = tmp_path / cls_name / "raw"
    write_raw_split(raw, "train", 13, 0)
    write_raw_split(raw, "t10k", 6, 1)
    ours_cls, theirs_cls = getattr(datasets, cls_name), getattr(tv.datasets, cls_name)
    for train in (True, False):
        ours = ours_cls(str(tmp_path), train=train, transform=transforms.ToTensor())
        theirs = theirs_cls(str(tmp_path), train=train, transform=tv.transforms.ToTensor())
        np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
        assert ours.targets.tolist() == theirs.targets.tolist()
        assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
        assert ours.raw_folder == theirs.raw_folder and len(ours) == len(theirs)
        (x, y), (tx, ty) = ours[4], theirs[4]
        np.testing.assert_array_equal(x.numpy(), tx.numpy())
        assert y == ty and type(y) is type(ty)
    plain_ours, plain_theirs = ours_cls(str(tmp_path)), theirs_cls(str(tmp_path))
    assert repr(plain_ours) == repr(plain_theirs)


def _no_network(*args, **kwargs):
    raise AssertionError("download=True went to the network although the files are on disk")


@pytest.mark.parametrize("gz", [True, False])
def test_d2l_style_download_true_with_files_on_disk_stays_offline(tmp_path, monkeypatch, gz):
    # d2l.FashionMNIST: torchvision.datasets.FashionMNIST(root=..., train=..., transform=..., download=True)
    monkeypatch.setattr(datasets.mnist, "download_resources", _no_network)
    images, labels = write_raw_split(tmp_path / "FashionMNIST" / "raw", "train", 8, 0, gz=gz)
    write_raw_split(tmp_path / "FashionMNIST" / "raw", "t10k", 3, 1, gz=gz)
    trans = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
    train = FashionMNIST(root=str(tmp_path), train=True, transform=trans, download=True)
    test = FashionMNIST(root=str(tmp_path), train=False, transform=trans, download=True)
    assert len(train) == 8 and len(test) == 3 and list(train[0][0].shape) == [1, 32, 32]
    assert train.targets.tolist() == labels.tolist()


def test_download_true_without_files_or_network_says_which_files_go_where(tmp_path, monkeypatch):
    def offline(what, resources, folder, **kwargs):
        raise DownloadError(f"{what}: could not download {resources[0][0]}: tried http://x [no network]")

    monkeypatch.setattr(datasets.mnist, "download_resources", offline)
    with pytest.raises(DownloadError) as excinfo:
        FashionMNIST(root=str(tmp_path), train=True, download=True)
    message = str(excinfo.value)
    assert "\n" not in message and "Without a network, put the files there yourself" in message
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        assert name in message
    assert str(tmp_path / "FashionMNIST" / "raw") in message


def test_download_true_with_only_one_split_on_disk_still_needs_the_rest(tmp_path, monkeypatch):
    # torchvision's download checks all four files; so does ours (one split alone is not the dataset)
    calls = []
    monkeypatch.setattr(datasets.mnist, "download_resources", lambda *a, **k: calls.append(a))
    write_raw_split(tmp_path / "MNIST" / "raw", "train", 4, 0)
    MNIST(root=str(tmp_path), train=True, download=True)
    assert len(calls) == 1


# ---------------------------------------------------------------------------------- folders
@pytest.fixture
def tree(tmp_path):
    """A class tree with nested folders, upper-case extensions, non-images and an empty class."""
    rng = np.random.default_rng(0)
    layout = {
        "dog/a.png": "png", "dog/B.JPG": "jpeg", "dog/nested/deeper/c.bmp": "bmp", "dog/notes.txt": None,
        "cat/x.jpeg": "jpeg", "cat/y.PNG": "png", "cat/.hidden.png": "png",
        "ant/z.webp": "webp", "ant/data.npy": "npy",
        "empty/readme.md": None,
    }
    for rel, kind in layout.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind is None:
            path.write_text("not an image")
        elif kind == "npy":
            np.save(path, rng.standard_normal((2, 2)))
        else:
            Image.fromarray(rng.integers(0, 256, (5, 4, 3), dtype=np.uint8)).save(path, format=kind.upper())
    return tmp_path


def test_image_folder_matches_torchvision(tv, tree):
    with pytest.raises(FileNotFoundError) as ours_error:
        ImageFolder(str(tree))
    with pytest.raises(FileNotFoundError) as theirs_error:
        tv.datasets.ImageFolder(str(tree))
    assert "empty" in str(ours_error.value) and "empty" in str(theirs_error.value)
    ours = ImageFolder(str(tree), allow_empty=True)
    theirs = tv.datasets.ImageFolder(str(tree), allow_empty=True)
    assert ours.classes == theirs.classes and ours.class_to_idx == theirs.class_to_idx
    assert ours.samples == theirs.samples and ours.imgs == theirs.imgs and ours.targets == theirs.targets
    for i in range(len(ours)):
        (a, ya), (b, yb) = ours[i], theirs[i]
        assert ya == yb and a.mode == b.mode == "RGB" and np.array_equal(np.asarray(a), np.asarray(b))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("extensions", [(".npy",), ".npy", (".npy", ".txt")])
def test_dataset_folder_matches_torchvision(tv, tree, extensions):
    loader = lambda path: path.rsplit(".", 1)[-1]  # noqa: E731 - a stand-in loader
    kwargs = {"extensions": extensions, "allow_empty": True}
    ours = DatasetFolder(str(tree), loader, **kwargs)
    theirs = tv.datasets.DatasetFolder(str(tree), loader, **kwargs)
    assert ours.samples == theirs.samples and ours.targets == theirs.targets and ours.classes == theirs.classes
    assert [ours[i] for i in range(len(ours))] == [theirs[i] for i in range(len(theirs))]


def test_dataset_folder_is_valid_file_and_errors_match_torchvision(tv, tree):
    valid = lambda path: "nested" in path or path.endswith(".txt")  # noqa: E731
    ours = DatasetFolder(str(tree), str, is_valid_file=valid, allow_empty=True)
    theirs = tv.datasets.DatasetFolder(str(tree), str, is_valid_file=valid, allow_empty=True)
    assert ours.samples == theirs.samples
    for kwargs in ({}, {"extensions": ".png", "is_valid_file": valid}):
        with pytest.raises(ValueError) as ours_error:
            DatasetFolder(str(tree), str, **kwargs)
        with pytest.raises(ValueError) as theirs_error:
            tv.datasets.DatasetFolder(str(tree), str, **kwargs)
        assert str(ours_error.value) == str(theirs_error.value)


# ---------------------------------------------------------------------------------- v2 wrapping
def test_wrapped_segmentation_items_move_image_and_mask_together():
    import juanji
    from juanji.vision import tv_tensors
    from juanji.vision.datasets import FashionScenes, wrap_dataset_for_transforms_v2
    from juanji.vision.transforms import v2
    pipeline = v2.Compose([v2.RandomResizedCrop(48, scale=(0.3, 1.0)), v2.RandomHorizontalFlip(), v2.ToImage(),
                           v2.ToDtype({tv_tensors.Image: juanji.float32, "others": None}, scale=True)])
    plain = FashionScenes(train=False)
    wrapped = wrap_dataset_for_transforms_v2(FashionScenes(train=False, transforms=pipeline))
    assert isinstance(wrapped, FashionScenes) and len(wrapped) == len(plain)
    juanji.manual_seed(0)
    image, mask = wrapped[3]
    assert type(image) is tv_tensors.Image and image.dtype is juanji.float32 and list(image.shape) == [3, 48, 48]
    assert type(mask) is tv_tensors.Mask and list(mask.shape) == [1, 48, 48]
    original_labels = set(np.unique(np.asarray(plain[3][1])))
    assert set(np.unique(mask.numpy())) <= original_labels          # nearest: no blended class ids
    # the same call on the raw pair treats the PIL mask as an image (torchvision's rule): that is why one wraps
    juanji.manual_seed(0)
    unwrapped_image, unwrapped_mask = FashionScenes(train=False, transforms=pipeline)[3]
    assert type(unwrapped_mask) is tv_tensors.Image


def test_wrapping_classification_datasets_changes_nothing_and_survives_pickling(tmp_path):
    import pickle
    from juanji.vision.datasets import FakeData, wrap_dataset_for_transforms_v2
    from juanji.vision.transforms import v2
    ds = wrap_dataset_for_transforms_v2(FakeData(size=4, image_size=(3, 8, 8), transform=v2.ToImage()))
    image, target = ds[1]
    assert list(image.shape) == [3, 8, 8] and isinstance(target, int)
    again = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(again[1][0].numpy(), image.numpy())
    with pytest.raises(TypeError, match="meant for subclasses of juanji.vision.datasets.VisionDataset"):
        wrap_dataset_for_transforms_v2([1, 2])
    with pytest.raises(ValueError, match="target_keys"):
        wrap_dataset_for_transforms_v2(FakeData(size=2), target_keys={"boxes"})
