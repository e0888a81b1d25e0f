"""Fashion scenes: a small semantic-segmentation dataset that ships inside the package.

Each scene is a textured background with one or two Fashion-MNIST garments placed on it,
scaled, mirrored and tinted; every pixel's class is known exactly, because the mask is made from
the same pixels that are drawn. Six classes (the ten Fashion-MNIST classes grouped by shape)::

    0 background   1 top (T-shirt, pullover, coat, shirt)   2 trouser   3 dress
    4 footwear (sandal, sneaker, ankle boot)                 5 bag

The package stores each scene as its *recipe* (background colours and texture, which garment
images, where, how large, which tint) next to the garment images themselves, all in
``juanji/vision/data/fashion-scenes.npz`` (made once by ``scripts/make_scenes.py`` from the full
Fashion-MNIST; training scenes use training images, test scenes test images). A scene is drawn
from its recipe when it is read, at any ``size``, with arithmetic only (no random numbers, no
trigonometry), so the same recipe gives the same pixels and the same mask every time.

    scenes = FashionScenes(train=True)            # 3,000 scenes; FashionScenes(train=False): 500
    image, mask = scenes[0]                       # PIL RGB 96x96, PIL 'P' mask (palette = SCENE_PALETTE)
    images, masks = load_scenes(train=True)       # uint8 [N, 96, 96, 3], uint8 [N, 96, 96]

The mask pixel of a garment is on where the scaled garment image is brighter than
``OBJECT_THRESHOLD``; a later garment covers an earlier one.
"""

from __future__ import annotations

import functools
import importlib.resources
import io

import numpy as np
from PIL import Image

from .vision import VisionDataset

__all__ = ["FashionScenes", "load_scenes", "render_scene", "SCENE_CLASSES", "SCENE_PALETTE", "GARMENT_GROUP",
           "SCENES_FILE", "OBJECT_THRESHOLD"]

SCENES_FILE = "fashion-scenes.npz"
SCENE_CLASSES = ["background", "top", "trouser", "dress", "footwear", "bag"]
# Fashion-MNIST label -> scene class (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
# 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot)
GARMENT_GROUP = np.array([1, 2, 1, 3, 1, 4, 1, 4, 5, 4], dtype=np.uint8)
# one colour per class for masks and overlays (VOC-like: background black)
SCENE_PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                          [245, 130, 48]], dtype=np.uint8)
OBJECT_THRESHOLD = 0.08
DEFAULT_SIZE = 96
MAX_OBJECTS = 2

# columns of the background recipe
BG_COLOUR_A = slice(0, 3)      # colour at one end of the gradient (r, g, b in [0, 1])
BG_COLOUR_B = slice(3, 6)      # colour at the other end
BG_GRADIENT = slice(6, 8)      # unit direction of the gradient (dx, dy)
BG_KIND = 8                    # texture: 0 stripes, 1 checks, 2 smooth noise
BG_FREQUENCY = 9               # stripes or checks per image side
BG_PHASE = 10                  # in periods
BG_STRIPES = slice(11, 13)     # unit direction across the stripes (dx, dy)
BG_COLUMNS = 13
# columns of an object's recipe
OBJ_SIZE, OBJ_TOP, OBJ_LEFT, OBJ_FLIP = 0, 1, 2, 3   # size and position as fractions of the scene side
OBJ_TINT = slice(4, 7)
OBJ_COLUMNS = 7


def resize_bilinear(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resampling of a 2-d float array, pixel centres aligned (``align_corners=False``),
    edges clamped: the output pixel i samples the input at ``(i + 0.5) * in / out - 0.5``."""
    def taps(n_in, n_out):
        pos = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, pos - lo
    y0, y1, fy = taps(plane.shape[0], height)
    x0, x1, fx = taps(plane.shape[1], width)
    top = plane[y0][:, x0] * (1 - fx) + plane[y0][:, x1] * fx
    bottom = plane[y1][:, x0] * (1 - fx) + plane[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def _background(recipe: np.ndarray, noise: np.ndarray, size: int) -> np.ndarray:
    """The scene's background, float [size, size, 3] in [0, 1]: a two-colour gradient with a
    faint texture on top."""
    coords = (np.arange(size) + 0.5) / size
    y, x = coords[:, None], coords[None, :]
    r = recipe.astype(np.float64)
    t = np.clip(r[BG_GRADIENT][0] * (x - 0.5) + r[BG_GRADIENT][1] * (y - 0.5) + 0.5, 0.0, 1.0)
    gradient = t[..., None] * r[BG_COLOUR_A] + (1 - t[..., None]) * r[BG_COLOUR_B]
    kind, freq, phase = int(r[BG_KIND]), r[BG_FREQUENCY], r[BG_PHASE]
    if kind == 0:  # stripes: a triangle wave across the stripe direction, in [-1, 1]
        u = freq * (r[BG_STRIPES][0] * x + r[BG_STRIPES][1] * y) + phase
        texture = 4 * np.abs(u - np.floor(u) - 0.5) - 1
    elif kind == 1:  # checks: +1 / -1 squares
        texture = ((np.floor(freq * x + phase) + np.floor(freq * y)) % 2) * 2 - 1
    else:  # smooth noise: a coarse grid of random values, upsampled
        texture = resize_bilinear(noise.astype(np.float64) / 127.5 - 1, size, size)
    return np.clip(0.7 * gradient + 0.12 * texture[..., None] + 0.1, 0.0, 1.0)


def render_scene(background: np.ndarray, noise: np.ndarray, object_index: np.ndarray, objects: np.ndarray,
                 garments: np.ndarray, garment_labels: np.ndarray, size: int = DEFAULT_SIZE):
    """Draw one scene from its recipe: (image uint8 [size, size, 3], mask uint8 [size, size])."""
    image = _background(background, noise, size)
    mask = np.zeros((size, size), np.uint8)
    for index, params in zip(object_index, objects.astype(np.float64)):
        if index < 0:
            continue
        side = max(4, int(round(params[OBJ_SIZE] * size)))
        garment = resize_bilinear(garments[index].astype(np.float64) / 255.0, side, side)
        if params[OBJ_FLIP] >= 0.5:
            garment = garment[:, ::-1]
        top, left = int(np.floor(params[OBJ_TOP] * size)), int(np.floor(params[OBJ_LEFT] * size))
        ys = slice(max(top, 0), min(top + side, size))
        xs = slice(max(left, 0), min(left + side, size))
        if ys.start >= ys.stop or xs.start >= xs.stop:
            continue
        part = garment[ys.start - top:ys.stop - top, xs.start - left:xs.stop - left]
        on = part > OBJECT_THRESHOLD
        shade = (0.25 + 0.75 * part)[..., None] * params[OBJ_TINT]
        image[ys, xs][on] = shade[on]
        mask[ys, xs][on] = GARMENT_GROUP[garment_labels[index]]
    return np.round(image * 255).astype(np.uint8), mask


@functools.lru_cache(maxsize=2)
def _recipes(path=None) -> dict:
    """The recipe arrays of the packaged file (or of another file made by scripts/make_scenes.py)."""
    if path is None:
        resource = importlib.resources.files("juanji.vision").joinpath("data", SCENES_FILE)
        try:
            raw = resource.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"FashionScenes: the packaged file juanji/vision/data/{SCENES_FILE} is missing "
                                    "(reinstall juanji, or rebuild it with scripts/make_scenes.py)") from None
    else:
        with open(path, "rb") as f:
            raw = f.read()
    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    for value in arrays.values():
        value.setflags(write=False)
    return arrays


def _split(train: bool, recipes=None) -> dict:
    prefix = "train" if train else "test"
    data = _recipes(recipes)
    return {key: data[f"{prefix}_{key}"] for key in ("background", "noise", "object_index", "objects",
                                                       "garments", "garment_labels")}


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"FashionScenes: size must be an int >= 8 (the scene's side in pixels), got {size!r}")
    return int(size)


@functools.lru_cache(maxsize=4)
def _rendered(train: bool, size: int, recipes=None):
    split = _split(train, recipes)
    n = len(split["background"])
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.empty((n, size, size), np.uint8)
    for i in range(n):
        images[i], masks[i] = render_scene(split["background"][i], split["noise"][i], split["object_index"][i],
                                           split["objects"][i], split["garments"], split["garment_labels"], size)
    images.setflags(write=False)
    masks.setflags(write=False)
    return images, masks


def load_scenes(train: bool = True, size: int = DEFAULT_SIZE, recipes=None):
    """All scenes of a split as fresh NumPy arrays: images uint8 [N, size, size, 3], masks uint8
    [N, size, size] with values 0..5 (see ``SCENE_CLASSES``). ``recipes``: another file made by
    scripts/make_scenes.py instead of the packaged one."""
    images, masks = _rendered(bool(train), _check_size(size), recipes)
    return images.copy(), masks.copy()


def palette_image(mask: np.ndarray) -> Image.Image:
    """A class-index mask as a PIL 'P' image with the scene palette (as VOC stores its masks)."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    out = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    flat = np.zeros((256, 3), np.uint8)
    flat[:len(SCENE_PALETTE)] = SCENE_PALETTE
    flat[255] = (224, 224, 192)  # VOC's colour for the 'void' label 255
    out.putpalette(flat.reshape(-1).tolist())
    return out


class FashionScenes(VisionDataset):
    """The embedded segmentation scenes as a dataset of (PIL RGB image, PIL 'P' mask), the items
    :class:`VOCSegmentation` gives, so the same transforms serve both.

    Args:
        train: the 3,000 training scenes if True, else the 500 test scenes.
        size: the side of the square scenes in pixels (default 96); recipes are drawn at any size.
        transforms: a callable on (image, mask) -> (image, mask) (joint transforms);
            or ``transform`` (image only) / ``target_transform`` (mask only).
    """

    classes = SCENE_CLASSES

    def __init__(self, root=None, train: bool = True, size: int = DEFAULT_SIZE, transforms=None, transform=None,
                 target_transform=None):
        super().__init__(root, transforms=transforms, transform=transform, target_transform=target_transform)
        self.train = bool(train)
        self.size = _check_size(size)
        self._split = _split(self.train)

    def __len__(self) -> int:
        return len(self._split["background"])

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"FashionScenes: index {index} is out of range for {n} scenes")
        s = self._split
        image, mask = render_scene(s["background"][index], s["noise"][index], s["object_index"][index],
                                   s["objects"][index], s["garments"], s["garment_labels"], self.size)
        image, mask = Image.fromarray(image), palette_image(mask)
        if self.transforms is not None:
            image, mask = self.transforms(image, mask)
        return image, mask

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}\nSize: {self.size}x{self.size}"
