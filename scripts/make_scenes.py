"""Build the segmentation scenes embedded in juanji (juanji/vision/data/fashion-scenes.npz), once.

    python scripts/make_scenes.py [--source ../shared/data/fashion-mnist] [--train 3000] [--test 500] [--seed 0]

Each scene's recipe is drawn with a fixed seed: a background (two colours, a gradient direction, a
texture: stripes, checks or smooth noise), then one or two garments, each of a scene class drawn
uniformly (top, trouser, dress, footwear, bag), a Fashion-MNIST image of that class (training
images for training scenes, test images for test scenes), a size of 60-95 % of the scene side, a
position that keeps most of it inside, a mirror flip and a tint. The file holds the recipes and
the garment images they use; ``juanji.vision.datasets.FashionScenes`` draws the scenes from them.
Running the script again gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from juanji.vision.datasets import scenes as S  # noqa: E402
from juanji.vision.datasets.idx import read_idx  # noqa: E402

OUT = os.path.join(ROOT, "juanji", "vision", "data", S.SCENES_FILE)
MAX_BYTES = 5 * 1024 * 1024


def unit(angle):
    return np.cos(angle), np.sin(angle)


def make_split(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator, sizes=(0.6, 0.95),
               max_objects: int = S.MAX_OBJECTS) -> dict:
    groups = S.GARMENT_GROUP[labels]
    members = {g: np.flatnonzero(groups == g) for g in range(1, len(S.SCENE_CLASSES))}
    background = np.zeros((n, S.BG_COLUMNS), np.float32)
    noise = rng.integers(0, 256, size=(n, 6, 6), dtype=np.uint8)
    object_index = np.full((n, max_objects), -1, np.int32)
    objects = np.zeros((n, max_objects, S.OBJ_COLUMNS), np.float32)
    used = []
    for i in range(n):
        b = background[i]
        b[S.BG_COLOUR_A] = rng.uniform(0, 1, 3)
        b[S.BG_COLOUR_B] = rng.uniform(0, 1, 3)
        b[S.BG_GRADIENT] = unit(rng.uniform(0, 2 * np.pi))
        b[S.BG_KIND] = rng.integers(3)
        b[S.BG_FREQUENCY] = rng.uniform(3, 10)
        b[S.BG_PHASE] = rng.uniform(0, 1)
        b[S.BG_STRIPES] = unit(rng.uniform(0, np.pi))
        for k in range(rng.integers(1, max_objects + 1)):
            group = rng.integers(1, len(S.SCENE_CLASSES))
            object_index[i, k] = len(used)
            used.append(rng.choice(members[group]))
            size = rng.uniform(*sizes)
            o = objects[i, k]
            o[S.OBJ_SIZE] = size
            o[S.OBJ_TOP] = rng.uniform(-size / 8, 1 - size + size / 8)
            o[S.OBJ_LEFT] = rng.uniform(-size / 8, 1 - size + size / 8)
            o[S.OBJ_FLIP] = rng.integers(2)
            o[S.OBJ_TINT] = rng.uniform(0.2, 1.0, 3)
    used = np.asarray(used)
    return {"background": background, "noise": noise, "object_index": object_index, "objects": objects,
            "garments": images[used], "garment_labels": labels[used].astype(np.uint8)}


def write_npz(path: str, arrays: dict) -> None:
    """np.savez_compressed with fixed time stamps, so the bytes depend only on the arrays."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue(), compresslevel=9)
    with open(path + ".tmp", "wb") as f:
        f.write(buffer.getvalue())
    os.replace(path + ".tmp", path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(ROOT, "..", "shared", "data", "fashion-mnist"))
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=float, nargs=2, default=(0.6, 0.95),
                        help="the range of a garment's size, as a fraction of the scene side")
    parser.add_argument("--max-objects", type=int, default=S.MAX_OBJECTS)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    arrays = {}
    for prefix, n, stem in (("train", args.train, "train"), ("test", args.test, "t10k")):
        images = read_idx(os.path.join(args.source, f"{stem}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(args.source, f"{stem}-labels-idx1-ubyte.gz"))
        for key, value in make_split(images, labels, n, rng, args.sizes, args.max_objects).items():
            arrays[f"{prefix}_{key}"] = value
    write_npz(args.out, arrays)
    size = os.path.getsize(args.out)
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"wrote {args.out}: {size / 1e6:.2f} MB, sha256 {digest}")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size} bytes, over the {MAX_BYTES}-byte budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
