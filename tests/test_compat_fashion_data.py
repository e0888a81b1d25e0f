"""d2l's Fashion-MNIST pipeline (``FashionMNIST`` + ``Compose([Resize, ToTensor])`` +
``DataLoader``) runs on ``juanji.vision`` as the book runs it on torchvision
(``examples/d2l_fashion_data.py``). torchvision is not installed here, so the oracles are the
IDX files themselves, PIL (which torchvision's Resize calls on PIL images) and torch's
``interpolate(..., antialias=True)`` (which it calls on tensors)."""

import numpy as np
import pytest
from PIL import Image

import juanji
import juanji.vision as torchvision
from juanji.vision.datasets import load_sample
from tests.test_compat_support import load_example, torch_or_skip

example = load_example("d2l_fashion_data")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return example.write_sample_as_torchvision_root(str(tmp_path_factory.mktemp("data")))


def test_dataset_items_are_totensor_images_and_int_labels(root):
    images, labels = load_sample(train=True)
    mnist_train = torchvision.datasets.FashionMNIST(root=root, train=True, transform=torchvision.transforms.ToTensor())
    mnist_test = torchvision.datasets.FashionMNIST(root=root, train=False, transform=torchvision.transforms.ToTensor())
    assert (len(mnist_train), len(mnist_test)) == (6000, 1000)
    for i in (0, 1, 5999):
        image, label = mnist_train[i]
        assert image.shape == (1, 28, 28) and image.dtype == juanji.float32
        np.testing.assert_array_equal(image.numpy()[0], images[i].astype(np.float32) / 255)
        assert type(label) is int and label == labels[i]
    assert mnist_train.data.dtype == juanji.uint8 and mnist_train.targets.dtype == juanji.int64


def test_text_labels(root):
    mnist_train = torchvision.datasets.FashionMNIST(root=root, train=True)
    _, labels = load_sample(train=True)
    text = example.get_fashion_mnist_labels(mnist_train.targets[:20])
    names = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
    assert text == [names[i] for i in labels[:20]]
    assert [name.lower() for name in mnist_train.classes][1:3] == ['trouser', 'pullover']


@pytest.mark.parametrize("resize", [None, 64, 20, (32, 40)])
def test_loader_batches_match_pil_resize(root, resize):
    train_iter, test_iter = example.load_data_fashion_mnist(juanji, torchvision, 16, root, resize=resize)
    assert (len(train_iter), len(test_iter)) == (375, 63)
    X, y = next(iter(test_iter))  # the test loader is not shuffled: the first 16 images
    size = (28, 28) if resize is None else ((resize, resize) if isinstance(resize, int) else resize)
    assert X.shape == (16, 1) + size and X.dtype == juanji.float32 and y.dtype == juanji.int64
    images, labels = load_sample(train=False)
    expected = np.stack([np.asarray(Image.fromarray(im).resize(size[::-1], Image.BILINEAR)) for im in images[:16]])
    np.testing.assert_allclose(X.numpy()[:, 0], expected.astype(np.float32) / 255, atol=1 / 255 + 1e-7)
    np.testing.assert_array_equal(y.numpy(), labels[:16])


def test_shuffled_train_loader_is_a_permutation_and_seeded(root):
    def first_labels(seed):
        juanji.manual_seed(seed)
        train_iter, _ = example.load_data_fashion_mnist(juanji, torchvision, 1000, root)
        return np.concatenate([y.numpy() for _, y in train_iter])

    a, b, c = first_labels(0), first_labels(0), first_labels(1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.sort(a), np.sort(load_sample(train=True)[1]))


def test_workers_give_the_same_batches(root):
    _, serial = example.load_data_fashion_mnist(juanji, torchvision, 250, root, resize=32)
    _, parallel = example.load_data_fashion_mnist(juanji, torchvision, 250, root, resize=32, num_workers=2)
    for (xa, ya), (xb, yb) in zip(serial, parallel):
        assert juanji.equal(xa, xb) and juanji.equal(ya, yb)


def test_tensor_resize_matches_torch_antialiased_interpolate():
    """On tensors torchvision's Resize is interpolate(bilinear, antialias=True)."""
    torch = torch_or_skip()
    images, _ = load_sample(train=False)
    x = images[:4, None].astype(np.float32) / 255
    for size in (14, 40):
        got = torchvision.transforms.Resize(size)(juanji.tensor(x))
        want = torch.nn.functional.interpolate(torch.tensor(x), size=(size, size), mode="bilinear",
                                               align_corners=False, antialias=True)
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_missing_dataset_error_says_download(tmp_path):
    with pytest.raises(RuntimeError, match="FashionMNIST: dataset not found.*download=True"):
        torchvision.datasets.FashionMNIST(root=str(tmp_path), train=True)
