"""Reading Fashion-MNIST the way *Dive into Deep Learning* does (section 4.2), with
``juanji.vision`` standing in for torchvision (``import juanji.vision as torchvision``).

    trans = transforms.Compose([transforms.Resize(resize), transforms.ToTensor()])
    mnist_train = torchvision.datasets.FashionMNIST(root, train=True, transform=trans, download=True)
    data.DataLoader(mnist_train, batch_size, shuffle=True, num_workers=4)

``ToTensor`` turns a PIL 'L' image of bytes into a float32 tensor ``[1, H, W]`` in [0, 1].

The functions take the library and its vision package as arguments (``torch``, ``torchvision``)
so the code reads like the book's. This script has nothing to download: it writes juanji's
embedded sample (6,000 + 1,000 images) as IDX files into a temporary root, laid out as
torchvision lays out the real dataset, and reads them back through ``FashionMNIST``.

Run it:  python examples/d2l_fashion_data.py
"""

import os
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import show  # noqa: E402


def get_fashion_mnist_labels(labels):
    """Return text labels for the Fashion-MNIST dataset."""
    text_labels = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat',
                   'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
    return [text_labels[int(i)] for i in labels]


def load_data_fashion_mnist(torch, torchvision, batch_size, root, resize=None, num_workers=0):
    """Download the Fashion-MNIST dataset and then load it into memory."""
    transforms, data = torchvision.transforms, torch.utils.data
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)
    mnist_train = torchvision.datasets.FashionMNIST(root=root, train=True, transform=trans, download=False)
    mnist_test = torchvision.datasets.FashionMNIST(root=root, train=False, transform=trans, download=False)
    return (data.DataLoader(mnist_train, batch_size, shuffle=True, num_workers=num_workers),
            data.DataLoader(mnist_test, batch_size, shuffle=False, num_workers=num_workers))


def write_sample_as_torchvision_root(root):
    """juanji's embedded sample as ``root/FashionMNIST/raw/*-idx?-ubyte.gz``, torchvision's layout."""
    from juanji.vision.datasets import load_sample, write_idx

    raw = os.path.join(root, "FashionMNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for train, prefix in ((True, "train"), (False, "t10k")):
        images, labels = load_sample(train=train)
        write_idx(os.path.join(raw, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(raw, f"{prefix}-labels-idx1-ubyte.gz"), labels)
    return root


def main():
    import juanji as torch
    import juanji.vision as torchvision

    root = write_sample_as_torchvision_root(tempfile.mkdtemp())
    mnist_train = torchvision.datasets.FashionMNIST(root=root, train=True, transform=torchvision.transforms.ToTensor())
    image, label = mnist_train[0]
    show("the dataset", {"len(mnist_train)": len(mnist_train), "mnist_train[0][0].shape": image.shape,
                         "dtype and range": (image.dtype, image.min().item(), image.max().item()),
                         "first labels": get_fashion_mnist_labels(mnist_train.targets[:6])})
    train_iter, test_iter = load_data_fashion_mnist(torch, torchvision, 32, root, resize=64)
    for X, y in train_iter:
        show("one batch, resized to 64", {"X": (X.shape, X.dtype), "y": (y.shape, y.dtype)})
        break
    return 0


if __name__ == "__main__":
    sys.exit(main())
