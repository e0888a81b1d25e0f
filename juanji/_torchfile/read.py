"""Reading files written by ``torch.save``, without torch.

Two layouts exist:

- the **zip** format (torch >= 1.6, the default): an uncompressed zip archive
  ``<archive>/data.pkl`` (the pickled object), ``<archive>/data/<key>`` (the raw bytes of each
  storage, little-endian unless ``<archive>/byteorder`` says otherwise), ``<archive>/version``.
  In ``data.pkl`` a storage is a persistent id ``('storage', StorageType, key, location,
  numel)``; a tensor is ``_rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
  hooks)``, so several tensors may view one storage.
- the **legacy** format (torch < 1.6, ``_use_new_zipfile_serialization=False``): one stream of
  pickles (a magic number, the protocol version 1001, system info, the object whose storage ids
  carry ``(..., numel, view_metadata)``, the list of storage keys), then each storage as an
  8-byte little-endian element count followed by its bytes.

Both are unpickled by the restricted :mod:`unpickle`; tensors come out of it as pending
records, and :func:`_materialize` turns each into an ``np.lib.stride_tricks.as_strided`` view
of its storage's array, so tensors that shared a storage in torch share one array here and keep
their strides. A storage's bytes are read straight into a NumPy array (one copy from the
file); ``mmap=True`` maps them copy-on-write instead.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from .unpickle import PendingTensor, TorchDtype, Unpickler, refuse

__all__ = ["sniff", "load_torch_file", "TorchFileError"]

# torch.save's legacy format starts with a pickled magic number: protocol 2 (80 02), then
# LONG1 (8a) of 10 bytes holding 0x1950a86a20f9469cfc6c
LEGACY_MAGIC_BYTES = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_ZIP_LOCAL = b"PK\x03\x04"


class TorchFileError(RuntimeError):
    """A PyTorch file juanji cannot read (the message is one line saying why)."""


# -- what kind of file is it ---------------------------------------------------------------------

def sniff(stream) -> str | None:
    """``"torch-zip"``, ``"torchscript"``, ``"juanji"`` (an npz with ``__meta__``), ``"zip"``
    (another zip), ``"broken-zip"``, ``"torch-legacy"``, ``"torch-tar"``, ``"pickle"`` or None,
    from the first bytes and, for a zip, the member names. Leaves the position where it was."""
    start = stream.tell()
    try:
        head = stream.read(512)
        stream.seek(start)
        if head.startswith(_ZIP_LOCAL) or head.startswith(b"PK\x05\x06"):
            try:
                with zipfile.ZipFile(_Window(stream, start)) as archive:
                    names = archive.namelist()
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                return "broken-zip"
            if any(n == "constants.pkl" or n.endswith("/constants.pkl") for n in names):
                return "torchscript"
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
                return "torch-zip"
            if "__meta__.npy" in names:
                return "juanji"
            return "zip"
        if head.startswith(LEGACY_MAGIC_BYTES):
            return "torch-legacy"
        if len(head) >= 262 and head[257:262] == b"ustar":
            return "torch-tar"
        if head[:1] == b"\x80":
            return "pickle"
        return None
    finally:
        stream.seek(start)


class _Window(io.RawIOBase):
    """A file object seen from ``start`` on (a zip read from the middle of a stream)."""

    def __init__(self, stream, start: int):
        self.stream, self.start = stream, start

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.stream.tell() - self.start

    def seek(self, offset, whence=0):
        if whence == 0:
            return self.stream.seek(self.start + offset) - self.start
        return self.stream.seek(offset, whence) - self.start

    def readinto(self, buffer):
        return self.stream.readinto(buffer)

    def read(self, n=-1):
        return self.stream.read(n)


# -- storages -------------------------------------------------------------------------------------

class _Storage:
    """One storage: its key, its dtype (a TorchDtype; None if untyped), its size in elements
    (bytes if untyped), and, for a legacy view, the storage it views and the element offset."""

    __slots__ = ("key", "dtype", "numel", "raw", "base", "offset")

    def __init__(self, key, dtype, numel, base=None, offset=0):
        self.key, self.dtype, self.numel = key, dtype, int(numel)
        self.raw = None            # np.uint8 array of the bytes, once read
        self.base, self.offset = base, int(offset)

    @property
    def nbytes(self) -> int:
        return self.numel * (self.dtype.itemsize if self.dtype is not None else 1)


def _read_exact_into(stream, n: int, what: str) -> np.ndarray:
    out = np.empty(n, dtype=np.uint8)
    view = memoryview(out)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise TorchFileError(f"{what} is cut short: {got} of {n} bytes (truncated file?)")
        got += k
    return out


class _ZipArchive:
    """The storages of a torch zip file, read on demand straight from the file."""

    def __init__(self, stream, where: str, mmap_path=None):
        self.stream, self.where, self.mmap_path = stream, where, mmap_path
        self.start = stream.tell()
        self.zip = zipfile.ZipFile(_Window(stream, self.start))
        pkl = [n for n in self.zip.namelist() if n == "data.pkl" or n.endswith("/data.pkl")]
        self.prefix = pkl[0][:-len("data.pkl")]
        names = set(self.zip.namelist())
        order = self.prefix + "byteorder"
        self.byteorder = self.zip.read(order).decode().strip() if order in names else "little"

    def pickle_bytes(self) -> bytes:
        return self.zip.read(self.prefix + "data.pkl")

    def read(self, storage: _Storage) -> np.ndarray:
        name = f"{self.prefix}data/{storage.key}"
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise TorchFileError(f"{self.where} has no record {name} for one of its storages "
                                 "(corrupt file?)") from None
        if info.file_size < storage.nbytes:
            raise TorchFileError(f"{self.where}: record {name} holds {info.file_size} bytes, the storage "
                                 f"needs {storage.nbytes} (corrupt file?)")
        if info.compress_type != zipfile.ZIP_STORED:  # torch never compresses; others might
            with self.zip.open(info) as member:
                return _read_exact_into(member, storage.nbytes, f"record {name}")
        # an uncompressed member: skip its local header and read the bytes in place
        self.stream.seek(self.start + info.header_offset)
        header = self.stream.read(30)
        if len(header) != 30 or header[:4] != _ZIP_LOCAL:
            raise TorchFileError(f"{self.where}: bad local header for record {name} (corrupt file?)")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        data_at = self.start + info.header_offset + 30 + name_len + extra_len
        if self.mmap_path is not None and storage.nbytes:
            return np.memmap(self.mmap_path, dtype=np.uint8, mode="c", offset=data_at, shape=(storage.nbytes,))
        self.stream.seek(data_at)
        return _read_exact_into(self.stream, storage.nbytes, f"{self.where}: record {name}")


def _load_zip(stream, where: str, mmap_path=None):
    archive = _ZipArchive(stream, where, mmap_path)
    storages: dict = {}

    def persistent_load(pid):
        if len(pid) != 5:
            refuse(f"a storage id of {len(pid)} fields, expected 5")
        _, storage_type, key, location, numel = pid
        key = str(key)
        if key not in storages:
            storages[key] = _Storage(key, getattr(storage_type, "dtype", None), numel)
        return storages[key]

    obj = Unpickler(io.BytesIO(archive.pickle_bytes()), persistent_load, where).load()
    return _materialize(obj, archive.read, archive.byteorder, where)


def _load_legacy(stream, where: str):
    def no_storage(pid):
        refuse("a storage reference in the file's header")

    magic = Unpickler(stream, no_storage, where).load()
    if magic != LEGACY_MAGIC_NUMBER:
        raise TorchFileError(f"{where}: invalid magic number; not a PyTorch file (corrupt?)")
    protocol = Unpickler(stream, no_storage, where).load()
    if protocol != LEGACY_PROTOCOL:
        raise TorchFileError(f"{where}: unknown legacy protocol version {protocol!r}")
    info = Unpickler(stream, no_storage, where).load()
    little = info.get("little_endian", True) if isinstance(info, dict) else True
    storages: dict = {}

    def persistent_load(pid):
        if len(pid) != 6:
            refuse(f"a legacy storage id of {len(pid)} fields, expected 6")
        _, storage_type, key, location, numel, view = pid
        key = str(key)
        if key not in storages:
            storages[key] = _Storage(key, getattr(storage_type, "dtype", None), numel)
        root = storages[key]
        if view is None:
            return root
        view_key, offset, view_size = view
        return _Storage(str(view_key), root.dtype, view_size, base=root, offset=offset)

    obj = Unpickler(stream, persistent_load, where).load()
    keys = Unpickler(stream, no_storage, where).load()
    if not isinstance(keys, list):
        refuse("the legacy storage key list is not a list")
    for key in keys:
        storage = storages.get(str(key))
        head = stream.read(8)
        if len(head) != 8:
            raise TorchFileError(f"{where} is cut short before storage {key} (truncated file?)")
        numel = int.from_bytes(head, "little")
        if storage is None:
            raise TorchFileError(f"{where}: storage {key} is listed but never used (corrupt file?)")
        storage.numel = numel
        storage.raw = _read_exact_into(stream, storage.nbytes, f"{where}: storage {key}")

    def read(storage):
        if storage.raw is None:
            raise TorchFileError(f"{where}: storage {storage.key} has no data (corrupt file?)")
        return storage.raw

    return _materialize(obj, read, "little" if little else "big", where)


# -- pending tensors -> juanji tensors -------------------------------------------------------------

def _materialize(obj, read, byteorder: str, where: str):
    """Replace every PendingTensor in ``obj`` by a juanji Tensor viewing its storage's array."""
    from ..tensor import Tensor

    flats: dict = {}   # (storage key, numpy dtype) -> 1-d array of elements
    done: dict = {}    # id(pending) -> Tensor (one pickled tensor referenced twice stays one)

    def flat_of(storage, np_dtype):
        key = (storage.key, np_dtype.str)
        if key not in flats:
            if storage.raw is None:
                storage.raw = read(storage)
            raw = storage.raw
            if raw.size % np_dtype.itemsize:
                raise TorchFileError(f"{where}: storage {storage.key} of {raw.size} bytes is not a whole "
                                     f"number of {np_dtype} elements (corrupt file?)")
            if byteorder == "big":
                flats[key] = raw.view(np_dtype.newbyteorder(">")).astype(np_dtype)
            else:
                flats[key] = raw.view(np_dtype)
        return flats[key]

    def tensor_of(p: PendingTensor, path: str):
        if id(p) in done:
            return done[id(p)]
        storage, offset = p.storage, p.offset
        if storage.base is not None:  # a legacy storage view
            offset += storage.offset
            storage = storage.base
        torch_dtype = p.dtype if p.dtype is not None else storage.dtype
        if torch_dtype is None:
            raise TorchFileError(f"{where}: tensor {path} has no dtype (untyped storage without one)")
        if torch_dtype.juanji is None:
            raise TorchFileError(
                f"{where}: tensor {path} has dtype torch.{torch_dtype.name}, which juanji does not have "
                "(juanji: float16/32/64, int8/16/32/64, uint8, bool); convert it in torch first, "
                "e.g. t.float()")
        np_dtype = torch_dtype.juanji.np
        flat = flat_of(storage, np_dtype)
        if len(p.size) != len(p.stride) or any(s < 0 for s in p.stride) or any(n < 0 for n in p.size):
            raise TorchFileError(f"{where}: tensor {path} has size {list(p.size)} and stride "
                                 f"{list(p.stride)} (corrupt file?)")
        last = offset + sum((n - 1) * s for n, s in zip(p.size, p.stride)) if all(p.size) else offset - 1
        if offset < 0 or last >= flat.size:
            raise TorchFileError(f"{where}: tensor {path} (offset {offset}, size {list(p.size)}, stride "
                                 f"{list(p.stride)}) reaches past its storage of {flat.size} elements")
        arr = np.lib.stride_tricks.as_strided(flat[offset:] if flat.size else flat, shape=p.size,
                                              strides=tuple(s * np_dtype.itemsize for s in p.stride))
        if p.parameter:
            from ..nn.parameter import Parameter  # (only when needed: juanji.nn is a big import)
            t = Parameter(Tensor._from_array(arr), requires_grad=p.requires_grad and np_dtype.kind == "f")
        else:
            t = Tensor._from_array(arr, requires_grad=p.requires_grad and np_dtype.kind == "f")
        done[id(p)] = t
        return t

    def walk(value, path):
        if isinstance(value, PendingTensor):
            return tensor_of(value, path or "<root>")
        if isinstance(value, TorchDtype):  # a dtype as a value: juanji's twin where there is one
            return value.juanji if value.juanji is not None else value
        kind = type(value)
        if kind in (dict, OrderedDict, Counter):
            out = kind()
            for k, v in value.items():
                out[k] = walk(v, f"{path}.{k}" if path else str(k))
            if kind is OrderedDict and "_metadata" in value.__dict__:
                out._metadata = value.__dict__["_metadata"]
            return out
        if kind is list:
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if kind is tuple:
            return tuple(walk(v, f"{path}[{i}]") for i, v in enumerate(value))
        return value

    return walk(obj, "")


def load_torch_file(stream, kind: str, where: str, mmap_path=None):
    """Read a ``torch.save`` file of ``kind`` ("torch-zip" or "torch-legacy") from ``stream``."""
    if kind == "torch-zip":
        return _load_zip(stream, where, mmap_path)
    return _load_legacy(stream, where)


def path_or_none(f):
    return os.fspath(f) if isinstance(f, (str, os.PathLike)) else None
