"""Fine-tuning a pretrained ResNet-18 on an image folder, written as d2l's "Fine-Tuning" section
writes it for PyTorch (``import juanji as torch``, ``juanji.vision as torchvision``).

d2l's recipe: take a network pretrained on ImageNet, replace its output layer (``fc``) by one
for the new classes (Xavier-initialised), and train with the pretrained layers at a small
learning rate and the new layer at 10x that (two parameter groups). ``--freeze-backbone`` goes
further: only the new layer trains (the backbone's weights and batch-norm statistics stay).

    python examples/fine_tuning.py --data DIR [--weights DEFAULT | PATH] [--freeze-backbone]

``DIR`` holds ``train/<class>/*.png`` and ``test/<class>/*.png``; ``--weights`` is a name of
``ResNet18_Weights`` (looked for in torchvision's cache, else downloaded) or a path to a weights
file (torch.save, juanji.save or safetensors). ``--make-demo-data DIR`` writes such a folder
from the MNIST digits in ../shared/data (two classes).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import juanji as torch  # noqa: E402
import juanji.vision as torchvision  # noqa: E402
from juanji import nn  # noqa: E402


def finetune_model(weights, num_classes: int, freeze_backbone: bool):
    """d2l: the pretrained network with a new ``fc`` (Xavier-initialised) for ``num_classes``."""
    finetune_net = torchvision.models.resnet18(weights=weights)
    finetune_net.fc = nn.Linear(finetune_net.fc.in_features, num_classes)
    nn.init.xavier_uniform_(finetune_net.fc.weight)
    if freeze_backbone:
        for name, param in finetune_net.named_parameters():
            if not name.startswith("fc."):
                param.requires_grad = False
    return finetune_net


def make_optimizer(net, learning_rate: float, param_group: bool = True):
    """d2l: the output layer at 10x the learning rate of the pretrained layers."""
    if param_group:
        params_1x = [param for name, param in net.named_parameters()
                     if name not in ["fc.weight", "fc.bias"] and param.requires_grad]
        groups = [{"params": params_1x}] if params_1x else []
        groups.append({"params": net.fc.parameters(), "lr": learning_rate * 10})
        return torch.optim.SGD(groups, lr=learning_rate, weight_decay=0.001)
    return torch.optim.SGD(filter(lambda p: p.requires_grad, net.parameters()), lr=learning_rate,
                           weight_decay=0.001)


def loaders(data_dir: str, batch_size: int, image_size: int):
    """d2l's augmentations and ImageNet normalisation, at ``image_size``."""
    normalize = torchvision.transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_augs = torchvision.transforms.Compose([
        torchvision.transforms.RandomResizedCrop(image_size, scale=(0.6, 1.0)),
        torchvision.transforms.RandomHorizontalFlip(),
        torchvision.transforms.ToTensor(), normalize])
    test_augs = torchvision.transforms.Compose([
        torchvision.transforms.Resize(image_size), torchvision.transforms.CenterCrop(image_size),
        torchvision.transforms.ToTensor(), normalize])
    train = torchvision.datasets.ImageFolder(os.path.join(data_dir, "train"), transform=train_augs)
    test = torchvision.datasets.ImageFolder(os.path.join(data_dir, "test"), transform=test_augs)
    return (torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True),
            torch.utils.data.DataLoader(test, batch_size=batch_size), train.classes)


def evaluate(net, loader) -> float:
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for X, y in loader:
            correct += int((net(X).argmax(dim=1) == y).sum())
            total += len(y)
    return correct / total


def train_fine_tuning(net, train_iter, test_iter, learning_rate, num_epochs, param_group=True, log=print):
    loss = nn.CrossEntropyLoss()
    trainer = make_optimizer(net, learning_rate, param_group)
    for epoch in range(num_epochs):
        net.train()
        total, count = 0.0, 0
        for X, y in train_iter:
            trainer.zero_grad()
            l = loss(net(X), y)
            l.backward()
            trainer.step()
            total += float(l) * len(y)
            count += len(y)
        log(f"epoch {epoch + 1}: train loss {total / count:.3f}, test acc {evaluate(net, test_iter):.3f}")
    return evaluate(net, test_iter)


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def make_demo_data(out_dir: str, source: str, classes=(3, 8), per_class=(60, 40), size: int = 32) -> str:
    """An image folder of two MNIST digit classes as RGB PNGs (train/test per class)."""
    from PIL import Image
    images = {split: _read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"))
              for split, prefix in (("train", "train"), ("test", "t10k"))}
    labels = {split: _read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"))
              for split, prefix in (("train", "train"), ("test", "t10k"))}
    for split, count in zip(("train", "test"), per_class):
        for c in classes:
            folder = os.path.join(out_dir, split, f"digit{c}")
            os.makedirs(folder, exist_ok=True)
            for i, k in enumerate(np.flatnonzero(labels[split] == c)[:count]):
                Image.fromarray(images[split][k]).convert("RGB").resize((size, size)).save(
                    os.path.join(folder, f"{i:04d}.png"))
    return out_dir


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="image folder with train/ and test/")
    parser.add_argument("--weights", default="DEFAULT", help="a ResNet18_Weights name or a weights file")
    parser.add_argument("--freeze-backbone", action="store_true")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--make-demo-data", metavar="DIR", help="write a two-class image folder from MNIST")
    args = parser.parse_args(argv)
    if args.make_demo_data:
        source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared",
                              "data", "mnist-10k")
        print(make_demo_data(args.make_demo_data, source))
        return 0.0
    torch.manual_seed(args.seed)
    train_iter, test_iter, classes = loaders(args.data, args.batch_size, args.image_size)
    net = finetune_model(args.weights, len(classes), args.freeze_backbone)
    if args.freeze_backbone:  # keep the pretrained batch-norm statistics too
        torchvision.models.transfer.freeze_backbone(net)
    accuracy = train_fine_tuning(net, train_iter, test_iter, args.lr, args.epochs)
    print(f"test accuracy {accuracy:.3f} on {len(classes)} classes ({', '.join(classes)})")
    return accuracy


if __name__ == "__main__":
    main()
