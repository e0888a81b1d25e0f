"""Small dataset files in the real formats, written here for the dataset tests.

``py2_pickle`` writes what Python 2's cPickle wrote for the CIFAR python version: protocol 2,
every string a byte string (SHORT_BINSTRING / BINSTRING), NumPy's reconstructor under its old
module name ``numpy.core.multiarray``.
"""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np

__all__ = ["py2_pickle", "cifar_arrays", "write_cifar_python", "write_cifar_binary"]


class _Py2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2 wrote it (str is bytes; numpy.core, not numpy._core)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_byte_string(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_byte_string
    dispatch[str] = _save_byte_string

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None)
        name = name or obj.__name__
        if module == "numpy._core.multiarray" or (module == "numpy" and name == "_reconstruct"):
            module = "numpy.core.multiarray"
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode("ascii"))
        self.memoize(obj)


def py2_pickle(obj) -> bytes:
    import io
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def cifar_arrays(count: int, classes: int, seed: int = 0):
    """Random uint8 rows [count, 3072] and labels, the layout of a CIFAR batch."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 3072), dtype=np.uint8), rng.integers(0, classes, count).tolist()


CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar_python(root, hundred: bool = False, counts=(7, 5, 6, 4, 3, 9), python2: bool = True):
    """The python version: CIFAR-10's data_batch_1..5 + test_batch (counts give their sizes) and
    batches.meta, or CIFAR-100's train + test + meta (counts[0] and counts[-1]). Returns
    {split name: (rows, labels)} in file order."""
    dump = py2_pickle if python2 else (lambda obj: pickle.dumps(obj, protocol=4))
    folder = os.path.join(root, "cifar-100-python" if hundred else "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    written = {}
    if hundred:
        for seed, (name, count) in enumerate([("train", counts[0]), ("test", counts[-1])]):
            rows, fine = cifar_arrays(count, 100, seed)
            coarse = [f // 5 for f in fine]
            entry = {"filenames": [f"img{i}.png" for i in range(count)], "batch_label": f"{name} batch",
                     "fine_labels": fine, "coarse_labels": coarse, "data": rows}
            written[name] = (rows, fine, coarse)
            with open(os.path.join(folder, name), "wb") as f:
                f.write(dump(entry))
        meta = {"fine_label_names": [f"fine{i}" for i in range(100)],
                "coarse_label_names": [f"coarse{i}" for i in range(20)]}
        with open(os.path.join(folder, "meta"), "wb") as f:
            f.write(dump(meta))
        return written
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for seed, (name, count) in enumerate(zip(names, counts)):
        rows, labels = cifar_arrays(count, 10, seed)
        entry = {"batch_label": f"batch {name}", "labels": labels, "data": rows,
                 "filenames": [f"img{i}.png" for i in range(count)]}
        written[name] = (rows, labels)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(dump(entry))
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        f.write(dump({"label_names": CIFAR10_NAMES, "num_cases_per_batch": 10000, "num_vis": 3072}))
    return written


def write_cifar_binary(root, written, hundred: bool = False):
    """The binary version of the same data: [coarse,] label byte(s) then the 3072 pixel bytes per record."""
    folder = os.path.join(root, "cifar-100-binary" if hundred else "cifar-10-batches-bin")
    os.makedirs(folder, exist_ok=True)
    for name, item in written.items():
        rows, labels = item[0], item[1]
        columns = [np.asarray(labels, np.uint8)[:, None]]
        if hundred:
            columns.insert(0, np.asarray(item[2], np.uint8)[:, None])
        with open(os.path.join(folder, name + ".bin"), "wb") as f:
            f.write(np.concatenate(columns + [rows], axis=1).tobytes())
    if hundred:
        for kind, count in (("fine", 100), ("coarse", 20)):
            with open(os.path.join(folder, f"{kind}_label_names.txt"), "w") as f:
                f.write("\n".join(f"{kind}{i}" for i in range(count)) + "\n")
    else:
        with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
            f.write("\n".join(CIFAR10_NAMES) + "\n\n")


# ---------------------------------------------------------------------------------- MAT-files by hand
_MI = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 9, "i8": 12, "u8": 13}
MX_DOUBLE, MX_UINT8 = 6, 9


def mat_element(kind: int, data: bytes, order: str = "<", small_ok: bool = True) -> bytes:
    """One level-5 data element: the small form for <= 4 bytes, else tag + data padded to 8 bytes."""
    if small_ok and len(data) <= 4:
        return struct.pack(order + "I", (len(data) << 16) | kind) + data.ljust(4, b"\0")
    return struct.pack(order + "II", kind, len(data)) + data + b"\0" * (-len(data) % 8)


def mat_matrix(name: str, values: np.ndarray, array_class: int, order: str = "<", logical: bool = False) -> bytes:
    """An miMATRIX element for ``values`` (stored with values' own dtype) declared as ``array_class``."""
    flags = array_class | (0x0200 if logical else 0)
    body = mat_element(6, struct.pack(order + "II", flags, 0), order, small_ok=False)
    body += mat_element(5, np.asarray(values.shape, dtype=order + "i4").tobytes(), order)
    body += mat_element(1, name.encode("ascii"), order)
    stored = values.astype(values.dtype.newbyteorder(order))
    body += mat_element(_MI[values.dtype.str[1:]], stored.tobytes(order="F"), order)
    return mat_element(14, body, order, small_ok=False)


def mat_file(elements, order: str = "<", compress: bool = False) -> bytes:
    """A level-5 MAT-file: the 128-byte header, then each element (zlib-compressed if asked)."""
    import zlib
    text = b"MATLAB 5.0 MAT-file, written by juanji's tests".ljust(116, b" ")
    header = text + b"\0" * 8 + struct.pack(order + "H", 0x0100) + (b"IM" if order == "<" else b"MI")
    out = header
    for element in elements:
        if compress:
            packed = zlib.compress(element)
            element = struct.pack(order + "II", 15, len(packed)) + packed
        out += element
    return out
