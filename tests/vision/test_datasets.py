"""juanji.vision.datasets: the IDX reader, MNIST/FashionMNIST, the embedded sample, ImageFolder."""

import gzip
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.vision.datasets import (MNIST, FashionMNIST, FashionMNISTSample, IDXError, ImageFolder,
                                    UnreadableImageError, load_sample, parse_idx, read_idx, write_idx)
from juanji.vision.datasets.idx import IDX_DTYPES

ROOT = Path(__file__).resolve().parents[2]
SHARED_FASHION = ROOT.parent / "shared" / "data" / "fashion-mnist"
DATA_DIR = ROOT / "juanji" / "vision" / "data"


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------- IDX
def test_idx_reads_a_hand_written_uint8_file(tmp_path):
    # magic 00 00 08 02, dims 2 and 3, then 6 bytes
    raw = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes([0, 1, 2, 250, 251, 255])
    path = tmp_path / "x-idx2-ubyte"
    path.write_bytes(raw)
    arr = read_idx(path)
    assert arr.dtype == np.uint8 and arr.shape == (2, 3)
    assert arr.tolist() == [[0, 1, 2], [250, 251, 255]]


def test_idx_reads_big_endian_int16_and_float32_by_hand():
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2]) + (-2).to_bytes(2, "big", signed=True) + (300).to_bytes(2, "big")
    assert parse_idx(raw).tolist() == [-2, 300]
    raw = bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + np.array([1.5], dtype=">f4").tobytes()
    arr = parse_idx(raw)
    assert arr.dtype == np.float32 and arr.tolist() == [1.5]


@pytest.mark.parametrize("code", sorted(IDX_DTYPES))
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0, 7)])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_write_read_round_trip(tmp_path, code, shape, suffix):
    dtype = IDX_DTYPES[code].newbyteorder("=")
    rng = np.random.default_rng(code)
    arr = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)
    assert back.flags.writeable and back.dtype.isnative


def test_idx_gzip_is_recognised_by_content_and_output_is_reproducible(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", arr)
    write_idx(tmp_path / "b.gz", arr)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()  # no time stamp
    (tmp_path / "no-suffix").write_bytes((tmp_path / "a.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(tmp_path / "no-suffix"), arr)


def test_write_idx_refuses_types_idx_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="write_idx: IDX has no code for dtype int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def _valid_idx_bytes():
    return bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 2]) + bytes(4)


@pytest.mark.parametrize("raw, problem", [
    (b"\x00\x00", "is truncated: 2 bytes, expected at least a 4-byte header"),
    (b"\x01\x02\x08\x01\x00\x00\x00\x01\x00", "is not an IDX file: magic number 01020801 should start with 0000"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]), "has unknown dtype code 0x07"),
    (bytes([0, 0, 0x08, 3, 0, 0, 0, 1]), "is truncated: 8 bytes, the header of 3 dims needs 16"),
    (_valid_idx_bytes()[:-1], r"is truncated: shape \[2, 2\] needs 4 data bytes, found 3"),
    (_valid_idx_bytes() + b"\x00\x00", r"has 2 bytes after the data of shape \[2, 2\]"),
    (gzip.compress(_valid_idx_bytes(), mtime=0)[:-6], "is truncated: the gzip stream ends early"),
    (b"\x1f\x8b" + b"\x00" * 30, "is a corrupt gzip stream"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_idx_bad_files_raise_one_line_naming_file_and_problem(tmp_path, raw, problem):
    path = tmp_path / "broken-idx"
    path.write_bytes(raw)
    with pytest.raises(IDXError) as excinfo:
        read_idx(path)
    message = one_line(excinfo)
    assert str(path) in message
    assert re.search(problem, message), message


def test_idx_missing_file_and_directory_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError) as excinfo:
        read_idx(tmp_path / "nope.gz")
    assert one_line(excinfo) == f"read_idx: no such file: '{tmp_path / 'nope.gz'}'"
    with pytest.raises(IsADirectoryError, match="is a directory, expected an IDX file"):
        read_idx(tmp_path)


# ---------------------------------------------------------------------------------- MNIST / FashionMNIST
def _write_split(folder, prefix, images, labels, gz):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


def _tiny(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


@pytest.mark.parametrize("cls", [MNIST, FashionMNIST])
@pytest.mark.parametrize("layout", ["torchvision-raw", "torchvision-gz", "flat-gz", "flat-raw"])
def test_mnist_layouts_items_and_attributes(tmp_path, cls, layout):
    train_x, train_y = _tiny(12, 1)
    test_x, test_y = _tiny(5, 2)
    folder = tmp_path / cls.__name__ / "raw" if layout.startswith("torchvision") else tmp_path
    gz = layout.endswith("gz")
    _write_split(folder, "train", train_x, train_y, gz)
    _write_split(folder, "t10k", test_x, test_y, gz)

    train = cls(str(tmp_path))
    test = cls(tmp_path, train=False)  # pathlib roots work too
    assert len(train) == 12 and len(test) == 5
    assert train.data.dtype is juanji.uint8 and list(train.data.shape) == [12, 28, 28]
    assert train.targets.dtype is juanji.int64 and train.targets.tolist() == train_y.tolist()
    np.testing.assert_array_equal(test.data.numpy(), test_x)
    image, target = train[3]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(image), train_x[3])
    assert type(target) is int and target == int(train_y[3])
    assert train[-1][1] == int(train_y[-1])
    assert len(cls.classes) == 10 and train.class_to_idx[cls.classes[4]] == 4


def test_fashion_mnist_classes_and_canonical_checksums_are_torchvision_s():
    assert FashionMNIST.classes == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                    "Sneaker", "Bag", "Ankle boot"]
    assert MNIST.classes[0] == "0 - zero" and MNIST.classes[9] == "9 - nine"
    assert dict(FashionMNIST.resources)["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert dict(MNIST.resources)["t10k-labels-idx1-ubyte.gz"] == "ec29112dd5afa0611ce80d1b7f02629c"


def test_mnist_transforms_repr_and_reassigned_data(tmp_path):
    images, labels = _tiny(6, 3)
    _write_split(tmp_path, "train", images, labels, gz=True)
    ds = FashionMNIST(str(tmp_path), transform=lambda im: np.asarray(im).sum(), target_transform=lambda t: t + 100)
    value, target = ds[2]
    assert value == int(images[2].astype(np.int64).sum()) and target == int(labels[2]) + 100
    ds.data, ds.targets = ds.data[:2], ds.targets[:2]  # torchvision's subsetting idiom
    assert len(ds) == 2

    plain = FashionMNIST(str(tmp_path))
    assert repr(plain) == f"Dataset FashionMNIST\n    Number of datapoints: 6\n    Root location: {tmp_path}\n" \
                          "    Split: Train"
    from juanji.vision.transforms import Compose, ToTensor
    with_t = FashionMNIST(str(tmp_path), transform=Compose([ToTensor()]))
    assert repr(with_t).endswith("    Split: Train\n    StandardTransform\nTransform: Compose(\n"
                                 "               ToTensor()\n           )")


def test_mnist_missing_files_say_where_they_looked(tmp_path):
    with pytest.raises(RuntimeError) as excinfo:
        MNIST(str(tmp_path))
    message = one_line(excinfo)
    assert "MNIST: dataset not found: no train-images-idx3-ubyte or train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "MNIST" / "raw") in message and "download=True" in message


def test_mnist_inconsistent_files_are_refused(tmp_path):
    images, _ = _tiny(4, 0)
    _write_split(tmp_path, "train", images, np.zeros(3, dtype=np.uint8), gz=False)
    with pytest.raises(ValueError, match=r"holds 4 images but .* holds 3 labels"):
        MNIST(str(tmp_path))
    _write_split(tmp_path, "train", np.zeros((4, 28), np.uint8), np.zeros(4, np.uint8), gz=False)
    with pytest.raises(ValueError, match=r"expected uint8 images \[N, H, W\]"):
        MNIST(str(tmp_path))


@pytest.mark.skipif(not SHARED_FASHION.is_dir(), reason="../shared/data/fashion-mnist not present")
def test_full_fashion_mnist_from_the_shared_flat_folder():
    train = FashionMNIST(str(SHARED_FASHION))
    test = FashionMNIST(str(SHARED_FASHION), train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert np.bincount(train.targets.numpy(), minlength=10).tolist() == [6000] * 10
    image, target = test[123]
    np.testing.assert_array_equal(np.asarray(image), test.data.numpy()[123])
    assert target == test.targets.tolist()[123]


# ---------------------------------------------------------------------------------- embedded sample
def test_sample_is_small_balanced_and_loads_without_other_files():
    files = sorted(DATA_DIR.glob("*.gz"))
    assert len(files) == 4
    assert sum(f.stat().st_size for f in files) < 5 * 1024 * 1024
    for train, per_class in ((True, 600), (False, 100)):
        images, labels = load_sample(train=train)
        assert images.dtype == np.uint8 and labels.dtype == np.uint8
        assert images.shape == (10 * per_class, 28, 28)
        assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
        assert 0 < images.mean() < 255


def test_load_sample_returns_fresh_copies():
    a, _ = load_sample()
    a[:] = 0
    b, _ = load_sample()
    assert b.any()


def test_sample_dataset_matches_load_sample_and_readme_checksums():
    images, labels = load_sample(train=False)
    ds = FashionMNISTSample(train=False)
    assert len(ds) == 1000 and ds.classes == FashionMNIST.classes
    image, target = ds[7]
    assert image.mode == "L" and target == int(labels[7])
    np.testing.assert_array_equal(np.asarray(image), images[7])
    assert repr(ds) == "Dataset FashionMNISTSample\n    Number of datapoints: 1000\n    Split: Test"
    readme = (DATA_DIR / "README.md").read_text()
    for f in DATA_DIR.glob("*.gz"):
        assert hashlib.sha256(f.read_bytes()).hexdigest() in readme, f.name


@pytest.mark.skipif(not SHARED_FASHION.is_dir(), reason="../shared/data/fashion-mnist not present")
def test_sample_images_come_from_the_matching_split_of_fashion_mnist():
    for train in (True, False):
        full = FashionMNIST(str(SHARED_FASHION), train=train)
        index = {img.tobytes(): int(lab) for img, lab in zip(full.data.numpy(), full.targets.numpy())}
        images, labels = load_sample(train=train)
        for img, lab in zip(images[:200], labels[:200]):
            assert index.get(img.tobytes()) == int(lab)


# ---------------------------------------------------------------------------------- ImageFolder
def _png(path, color, size=(5, 4), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


@pytest.fixture
def image_tree(tmp_path):
    _png(tmp_path / "dog" / "b.png", (0, 0, 255))
    _png(tmp_path / "dog" / "a.png", (0, 255, 0), mode="RGB")
    _png(tmp_path / "cat" / "1.png", 7, mode="L")
    _png(tmp_path / "cat" / "deeper" / "2.PNG", (1, 2, 3))
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "stray.png").write_bytes(b"")  # files at the top level are not samples
    return tmp_path


def test_image_folder_classes_samples_targets_and_items(image_tree):
    ds = ImageFolder(str(image_tree))
    assert ds.classes == ["cat", "dog"]
    assert ds.class_to_idx == {"cat": 0, "dog": 1}
    rel = [(os.path.relpath(p, image_tree), t) for p, t in ds.samples]
    assert rel == [("cat/1.png", 0), (os.path.join("cat", "deeper", "2.PNG"), 0), ("dog/a.png", 1),
                   ("dog/b.png", 1)]
    assert ds.targets == [0, 0, 1, 1] and ds.imgs == ds.samples and len(ds) == 4
    image, target = ds[0]
    assert image.mode == "RGB" and image.size == (5, 4) and target == 0
    assert np.asarray(image)[0, 0].tolist() == [7, 7, 7]  # grey file converted to RGB
    image, target = ds[3]
    assert np.asarray(image)[2, 1].tolist() == [0, 0, 255] and target == 1


def test_image_folder_transforms_loader_and_is_valid_file(image_tree):
    ds = ImageFolder(image_tree, transform=lambda im: im.size, target_transform=lambda t: -t,
                     loader=lambda p: Image.open(p).convert("L"))
    assert ds[2] == ((5, 4), -1)
    only_a = ImageFolder(image_tree, is_valid_file=lambda p: p.endswith("a.png") or p.endswith("1.png"))
    assert [os.path.basename(p) for p, _ in only_a.samples] == ["1.png", "a.png"]
    assert "Number of datapoints: 4" in repr(ImageFolder(image_tree))


def test_image_folder_empty_or_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="ImageFolder: no such folder"):
        ImageFolder(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        ImageFolder(str(tmp_path))
    (tmp_path / "empty_class").mkdir()
    _png(tmp_path / "full" / "x.png", (1, 1, 1))
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty_class"):
        ImageFolder(str(tmp_path))
    ds = ImageFolder(str(tmp_path), allow_empty=True)
    assert ds.classes == ["empty_class", "full"] and ds.targets == [1]


@pytest.mark.parametrize("content", [b"", b"this is not a png", None])
def test_image_folder_unreadable_image_names_the_file(tmp_path, content):
    path = tmp_path / "cls" / "bad.png"
    _png(path, (9, 9, 9), size=(40, 40))
    if content is None:  # a truncated PNG: the header is fine, the pixel data is cut
        content = path.read_bytes()[:60]
    path.write_bytes(content)
    ds = ImageFolder(str(tmp_path))
    with pytest.raises(UnreadableImageError) as excinfo:
        ds[0]
    message = one_line(excinfo)
    assert message.startswith(f"cannot read image file '{path}'")


# ---------------------------------------------------------------------------------- with the DataLoader
@pytest.mark.parametrize("num_workers", [0, 2])
def test_sample_batches_through_the_data_loader(num_workers):
    from juanji.utils.data import DataLoader, Dataset
    from juanji.vision.transforms import ToTensor
    ds = FashionMNISTSample(train=False, transform=ToTensor())
    assert isinstance(ds, Dataset) and len(ds + ds) == 2000
    loader = DataLoader(ds, batch_size=250, num_workers=num_workers)
    batches = list(loader)
    assert len(batches) == 4
    images, labels = batches[1]
    assert list(images.shape) == [250, 1, 28, 28] and images.dtype is juanji.float32
    assert labels.dtype is juanji.int64
    np.testing.assert_array_equal(images.numpy()[0, 0] * 255, ds.data.numpy()[250].astype(np.float32))
    assert labels.tolist() == ds.targets.tolist()[250:500]
