"""The real ``d2l`` library (``d2l.torch``, 1.0.3) loaded twice: once on juanji through the swap, once on torch.

No tests here. The d2l package is installed without its dependencies (its pins are for old
versions of numpy, pandas ...; ``make test`` does ``pip install --no-deps d2l==1.0.3``; the light
packages ``d2l.torch`` imports are in the test extra). The tests skip only when d2l is absent.

``d2l_on("juanji")`` imports ``d2l.torch`` with ``juanji.install_as_torch()`` on (so its
``import torch`` / ``import torchvision`` bind juanji and juanji.vision) and takes the swap off
right after; ``d2l_on("torch")`` imports it again on the real torch and torchvision. Each is a
module object of its own, kept here (``sys.modules`` holds neither afterwards), so one test can
build the same model in both and compare.

The data: ``fashion_mnist_dir`` writes the IDX files of Fashion-MNIST (all, or the first n
images of each split) uncompressed in torchvision's layout ``data/FashionMNIST/raw/`` and
returns a working folder next to it, so that d2l's default ``root='../data'`` finds them from
there. With the files present ``download=True`` never goes to the network (both libraries);
``no_network`` makes sure of it.
"""

from __future__ import annotations

import collections
import gzip
import importlib
import importlib.util
import os
import pathlib
import socket
import struct
import sys

import numpy as np
import pytest

import juanji

__all__ = ["d2l_on", "fashion_mnist_dir", "curves", "copy_weights", "FixedOrder", "to_numpy", "SHARED_FASHION"]

SHARED_FASHION = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data" / "fashion-mnist"
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

_loaded = {}
# what d2l.torch imports besides torch/torchvision (the light dependencies of the test extra)
_D2L_LIGHT_DEPS = ("numpy", "PIL.Image", "pandas", "requests", "IPython.display", "matplotlib.pyplot",
                   "matplotlib_inline.backend_inline", "scipy.spatial")


def _forget_d2l():
    """Take ``d2l`` and ``d2l.*`` out of ``sys.modules`` (the module objects live on where they are held)."""
    return {name: sys.modules.pop(name) for name in list(sys.modules) if name == "d2l" or name.startswith("d2l.")}


def d2l_on(framework: str):
    """``d2l.torch`` imported on ``"juanji"`` (through the swap) or on ``"torch"``; skip when d2l is absent."""
    if framework in _loaded:
        return _loaded[framework]
    if importlib.util.find_spec("d2l") is None:
        pytest.skip("d2l is not installed (pip install --no-deps d2l==1.0.3)")
    os.environ.setdefault("MPLBACKEND", "Agg")  # no display: ProgressBoard draws into Agg figures
    import matplotlib
    matplotlib.use("Agg")
    saved = _forget_d2l()
    try:
        if framework == "juanji":
            # d2l's other imports load first without the swap, so that none of them (pandas, scipy,
            # IPython) binds juanji as torch in this process, which also runs torch as the oracle
            for name in _D2L_LIGHT_DEPS:
                importlib.import_module(name)
            with juanji.install_as_torch():
                module = importlib.import_module("d2l.torch")
            assert module.torch is juanji, "the swap did not reach d2l.torch"
        else:
            from tests.vision.torchvision_ref import import_torchvision
            import_torchvision()  # the real one (its CUDA-only fake registrations bypassed)
            module = importlib.import_module("d2l.torch")
            assert module.torch.__name__ == "torch" and module.torch is not juanji
    finally:
        _forget_d2l()
        sys.modules.update(saved)
    _loaded[framework] = module
    return module


# ------------------------------------------------------------------------------------------ data
def _read_idx_gz(path: pathlib.Path) -> tuple[bytes, np.ndarray]:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return raw[:4], np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _write_idx(path: pathlib.Path, magic: bytes, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(magic + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes())


def fashion_mnist_dir(base: pathlib.Path, n_train: int | None = None, n_test: int | None = None) -> pathlib.Path:
    """Write Fashion-MNIST (the first n images of each split, or all) as torchvision lays it out:
    ``base/data/FashionMNIST/raw/<4 uncompressed IDX files>``; return ``base/work`` (cwd for d2l)."""
    if not SHARED_FASHION.is_dir():
        pytest.skip(f"Fashion-MNIST not found at {SHARED_FASHION}")
    raw = base / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        for name in _FILES[split]:
            magic, array = _read_idx_gz(SHARED_FASHION / (name + ".gz"))
            _write_idx(raw / name, magic, array if n is None else array[:n])
    work = base / "work"
    work.mkdir(exist_ok=True)
    return work


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open an internet connection fails the test (the data must come from disk);
    local (AF_UNIX) sockets stay, the DataLoader's worker processes talk through them."""
    connect = socket.socket.connect

    def refuse_internet(sock, address, *args, **kwargs):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"a test tried to reach the network: {address}")
        return connect(sock, address, *args, **kwargs)

    def refuse(address, *args, **kwargs):
        raise AssertionError(f"a test tried to reach the network: {address}")
    monkeypatch.setattr(socket.socket, "connect", refuse_internet)
    monkeypatch.setattr(socket, "create_connection", refuse)


# ------------------------------------------------------------------------------------------ models
def to_numpy(t) -> np.ndarray:
    return np.array(t.detach().numpy())


def copy_weights(src_torch_module, dst_juanji_module) -> None:
    """Give the juanji model the torch model's parameters and buffers (the generators differ), and
    the tensors kept as plain attributes (a from-scratch batch norm's moving statistics)."""
    state = {k: juanji.tensor(to_numpy(v)) for k, v in src_torch_module.state_dict().items()}
    dst_juanji_module.load_state_dict(state)
    for (_, src), (_, dst) in zip(src_torch_module.named_modules(), dst_juanji_module.named_modules()):
        for attr, value in vars(src).items():
            if hasattr(value, "detach") and isinstance(getattr(dst, attr, None), juanji.Tensor):
                setattr(dst, attr, juanji.tensor(to_numpy(value)))


class FixedOrder:
    """A sampler that yields the same NumPy-drawn permutation in both frameworks (a new one per epoch).

    torch's and juanji's generators give different shuffles; for curves to be comparable point by
    point both runs must see the batches in one order.
    """

    def __init__(self, n: int, seed: int = 0):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())


def curves(board) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A ProgressBoard's plotted lines: label -> (x values, y values) as float64 arrays."""
    out = collections.OrderedDict()
    for label, points in board.data.items():
        out[label] = (np.array([float(p.x) for p in points]), np.array([float(p.y) for p in points]))
    return out


def fixed_order_loaders(d2l, data_module_class, seed: int = 0, num_workers: int = 0):
    """A subclass of a d2l DataModule whose training loader visits the items in ``FixedOrder(seed)``
    (the validation loader keeps the order on disk), so that a juanji run and a torch run see the same
    batches. Everything else (the datasets, transforms, batch size) is the library's."""
    class SameOrder(data_module_class):
        def get_dataloader(self, train):
            data = self.train if train else self.val
            sampler = FixedOrder(len(data), seed) if train else None
            return d2l.torch.utils.data.DataLoader(data, self.batch_size, sampler=sampler, num_workers=num_workers)
    SameOrder.__name__ = data_module_class.__name__
    return SameOrder
