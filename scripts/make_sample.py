"""Build the Fashion-MNIST sample embedded in juanji (juanji/vision/data/), once.

    python scripts/make_sample.py [--source ../shared/data/fashion-mnist] [--train-per-class 600]
                                  [--test-per-class 100] [--seed 0]

From each of the 10 classes it draws ``train-per-class`` images of the full training split and
``test-per-class`` of the test split, without replacement, with a fixed seed; each split is then
shuffled (so a plain slice of it is still balanced on average). The result is written as four gzip
IDX files with MNIST's names, and a README.md with the provenance and checksums. The gzip streams
carry no time stamp, so running the script again gives byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from juanji.vision.datasets.idx import read_idx, write_idx  # noqa: E402

OUT = os.path.join(ROOT, "juanji", "vision", "data")
MAX_BYTES = 5 * 1024 * 1024
NUM_CLASSES = 10


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each class drawn without replacement, then shuffled together."""
    chosen = []
    for c in range(NUM_CLASSES):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise SystemExit(f"class {c} has only {len(members)} images, {per_class} requested")
        chosen.append(np.sort(rng.choice(members, size=per_class, replace=False)))
    indices = np.concatenate(chosen)
    rng.shuffle(indices)
    return indices


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(ROOT, "..", "shared", "data", "fashion-mnist"))
    parser.add_argument("--train-per-class", type=int, default=600)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    os.makedirs(OUT, exist_ok=True)
    written = []
    for split, per_class in (("train", args.train_per_class), ("t10k", args.test_per_class)):
        images = read_idx(os.path.join(args.source, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(args.source, f"{split}-labels-idx1-ubyte.gz"))
        keep = stratified_indices(labels, per_class, rng)
        for kind, array in (("images-idx3-ubyte", images[keep]), ("labels-idx1-ubyte", labels[keep])):
            path = os.path.join(OUT, f"{split}-{kind}.gz")
            write_idx(path, array)
            written.append((path, array.shape))

    total = sum(os.path.getsize(p) for p, _ in written)
    for path, shape in written:
        print(f"{os.path.relpath(path, ROOT)}: {list(shape)}, {os.path.getsize(path):,} bytes")
    print(f"total {total:,} bytes ({total / 2**20:.2f} MiB)")
    if total > MAX_BYTES:
        raise SystemExit(f"the sample is {total:,} bytes, over the {MAX_BYTES:,} byte budget")
    write_readme(args, written)
    return 0


def write_readme(args, written) -> None:
    lines = [
        "# The embedded Fashion-MNIST sample",
        "",
        f"A stratified sample of Fashion-MNIST: {args.train_per_class * NUM_CLASSES:,} training images "
        f"({args.train_per_class} per class) and {args.test_per_class * NUM_CLASSES:,} test images "
        f"({args.test_per_class} per class), 28x28 uint8, in gzip IDX files with MNIST's names.",
        f"Built by `scripts/make_sample.py --seed {args.seed}` from the full Fashion-MNIST; loaded by",
        "`juanji.vision.datasets.FashionMNISTSample` and `load_sample()`.",
        "",
        "Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, "
        "8 Bag, 9 Ankle boot.",
        "",
        "| file | shape | SHA256 |",
        "|---|---|---|",
    ]
    for path, shape in written:
        lines.append(f"| {os.path.basename(path)} | {list(shape)} | {sha256(path)} |")
    lines += [
        "",
        "The data is taken from Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist),",
        "distributed under the MIT License:",
        "",
        "    The MIT License (MIT)",
        "",
        "    Copyright (c) 2017 Zalando SE",
        "",
        "    Permission is hereby granted, free of charge, to any person obtaining a copy of this software",
        "    and associated documentation files (the \"Software\"), to deal in the Software without",
        "    restriction, including without limitation the rights to use, copy, modify, merge, publish,",
        "    distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the",
        "    Software is furnished to do so, subject to the following conditions:",
        "",
        "    The above copyright notice and this permission notice shall be included in all copies or",
        "    substantial portions of the Software.",
        "",
        "    THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING",
        "    BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND",
        "    NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,",
        "    DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,",
        "    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
        "",
    ]
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
