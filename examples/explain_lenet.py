"""Explain LeNet-5: its layers as a table, its first-layer kernels, its feature maps and the
receptive field of a unit, for one Fashion-MNIST image from the sample that ships with juanji.

    python examples/explain_lenet.py [OUT_DIR] [--variant classic|relu] [--train-steps N]

Prints the summary (output shapes, parameters, MACs and FLOPs, receptive fields, memory) and
writes three pictures to OUT_DIR (default: a new temporary folder):

    kernels.png          the six 5x5 kernels of the first convolution
    feature_maps.png     the image and what the two convolution and pooling stages make of it
    receptive_field.png  which pixels one unit of the second convolution sees

With ``--train-steps N`` the network first takes N steps of SGD on the sample's training
images; untrained (the default) the kernels are random noise, while trained ones show edge
and blob detectors.
"""

from __future__ import annotations

import argparse
import tempfile

import juanji
from juanji import nn
from juanji.explain import plot_feature_maps, plot_kernels, plot_receptive_field, summary
from juanji.vision.datasets import load_sample

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def build_lenet(variant: str) -> nn.Module:
    """LeNet-5 from the model zoo; the same layers spelled out where the zoo is not installed."""
    try:
        from juanji.vision.models import lenet5
    except ImportError:
        activation, pool = (nn.Sigmoid, nn.AvgPool2d) if variant == "classic" else (nn.ReLU, nn.MaxPool2d)
        return nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), activation(), pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), activation(), pool(kernel_size=2, stride=2),
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), activation(), nn.Linear(120, 84), activation(),
            nn.Linear(84, 10))
    return lenet5(variant=variant)


def train(model: nn.Module, steps: int, batch_size: int = 64, lr: float = 0.05) -> float:
    """A few steps of plain SGD on the sample's training images; returns the last loss."""
    images, labels = load_sample(train=True)
    loss = float("nan")
    optimizer = juanji.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for step in range(steps):
        start = (step * batch_size) % (len(images) - batch_size)
        x = juanji.from_numpy(images[start:start + batch_size].astype("float32") / 255).unsqueeze(1)
        y = juanji.from_numpy(labels[start:start + batch_size].astype("int64"))
        optimizer.zero_grad()
        batch_loss = nn.functional.cross_entropy(model(x), y)
        batch_loss.backward()
        optimizer.step()
        loss = batch_loss.item()
    model.eval()
    return loss


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Explain LeNet-5: summary, kernels, feature maps.")
    parser.add_argument("out_dir", nargs="?", default=None, help="folder for the pictures (default: a temp dir)")
    parser.add_argument("--variant", default="relu", choices=("classic", "relu"),
                        help="classic: sigmoid + average pooling (d2l); relu: ReLU + max pooling")
    parser.add_argument("--train-steps", type=int, default=0, help="SGD steps on the sample first (default 0)")
    args = parser.parse_args(argv)
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="explain_lenet_")

    juanji.manual_seed(0)
    model = build_lenet(args.variant)
    if args.train_steps > 0:
        print(f"training {args.train_steps} steps: last loss {train(model, args.train_steps):.3f}")

    # 1. the layers: shapes, parameters, arithmetic, receptive fields
    print(summary(model, (1, 28, 28)))

    # 2. pictures, for the first test image
    images, labels = load_sample(train=False)
    image = juanji.from_numpy(images[0].astype("float32") / 255).unsqueeze(0)   # [1, 28, 28]
    print(f"\nimage: test sample 0, a {CLASSES[int(labels[0])]}")
    pictures = {
        "kernels": plot_kernels(model, f"{out_dir}/kernels.png"),
        "feature_maps": plot_feature_maps(model, image, ["0", "2", "3", "5"], f"{out_dir}/feature_maps.png"),
        "receptive_field": plot_receptive_field(model, image, "3", f"{out_dir}/receptive_field.png"),
    }
    for name, picture in pictures.items():
        print(f"{name}: {picture.path} ({picture.rows} x {picture.cols} grid)")
    return pictures


if __name__ == "__main__":
    main()
