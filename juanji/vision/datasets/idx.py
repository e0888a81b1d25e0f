"""The IDX file format (MNIST, Fashion-MNIST, ...), read and written with NumPy.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values in
C order, big-endian:

    byte 0, 1   0x00 0x00
    byte 2      dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte 3      number of dimensions n
    4 .. 4+4n   the n sizes, uint32 big-endian
    rest        prod(sizes) values of that dtype

The files are usually gzip-compressed (``train-images-idx3-ubyte.gz``); the reader recognises a
gzip stream by its first two bytes (0x1f 0x8b), not by the file name.

Every problem (missing file, not IDX, bad dtype code, truncated or oversized data, broken gzip)
is raised as one line naming the file and what is wrong.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "parse_idx", "write_idx", "IDX_DTYPES"]

# dtype code -> NumPy dtype of the stored (big-endian) values
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file that is not a well-formed IDX file (the message names the file and the problem)."""


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a native-endian NumPy array of its shape.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from juanji.vision.datasets import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "train-images-idx3-ubyte.gz")
    >>> write_idx(path, np.zeros((3, 28, 28), dtype=np.uint8))
    >>> images = read_idx(path)                              # uint8 [N, 28, 28]
    >>> images.dtype, images.shape
    (dtype('uint8'), (3, 28, 28))
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"read_idx: no such file: '{path}'") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"read_idx: '{path}' is a directory, expected an IDX file") from None
    except OSError as e:
        raise OSError(f"read_idx: cannot read '{path}': {e.strerror or e}") from None
    return parse_idx(raw, path)


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an IDX file (raw or gzip); ``name`` is used in error messages."""
    if raw[:2] == _GZIP_MAGIC:
        raw = _gunzip(raw, name)
    if len(raw) < 4:
        raise IDXError(f"IDX file '{name}' is truncated: {len(raw)} bytes, expected at least a 4-byte header")
    if raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"'{name}' is not an IDX file: magic number {raw[:4].hex()} should start with 0000")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXError(f"IDX file '{name}' has unknown dtype code 0x{code:02X} (expected one of {known})")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IDXError(f"IDX file '{name}' is truncated: {len(raw)} bytes, the header of {ndim} dims "
                       f"needs {header_len}")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    stored = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * stored.itemsize
    got = len(raw) - header_len
    if got < expected:
        raise IDXError(f"IDX file '{name}' is truncated: shape {list(shape)} needs {expected} data bytes, "
                       f"found {got}")
    if got > expected:
        raise IDXError(f"IDX file '{name}' has {got - expected} bytes after the data of shape {list(shape)} "
                       "(corrupt or not an IDX file)")
    values = np.frombuffer(raw, dtype=stored, offset=header_len).reshape(shape)
    # native byte order, and a writable array that owns its memory
    return values.astype(stored.newbyteorder("="), copy=True)


def _gunzip(raw: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise IDXError(f"IDX file '{name}' is truncated: the gzip stream ends early") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise IDXError(f"IDX file '{name}' is a corrupt gzip stream ({e})") from None


def write_idx(path, array, compresslevel: int = 9) -> None:
    """Write ``array`` as an IDX file; gzip-compressed when ``path`` ends in ``.gz``.

    The gzip header carries no time stamp, so the same array always gives the same bytes.
    """
    arr = np.asarray(array)
    codes = {np.dtype(v.newbyteorder("=")): k for k, v in IDX_DTYPES.items()}
    native = arr.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"write_idx: IDX has no code for dtype {arr.dtype} "
                        "(uint8, int8, int16, int32, float32, float64)")
    if arr.ndim > 255:
        raise ValueError(f"write_idx: IDX stores at most 255 dims, got {arr.ndim}")
    code = codes[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=compresslevel, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
