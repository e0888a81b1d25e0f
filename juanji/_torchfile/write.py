"""Writing ``torch.save``'s zip format, so that ``torch.load(f, weights_only=True)`` reads it.

The archive (all members stored, each storage's bytes aligned to 64 bytes as torch aligns
them, so torch can also ``mmap`` it)::

    archive/data.pkl               the object, pickled (protocol 2) with torch's globals
    archive/.format_version        "1"
    archive/.storage_alignment     "64"
    archive/byteorder              "little"
    archive/data/<key>             the raw bytes of storage <key>
    archive/version                "3"

The pickle is written here opcode by opcode rather than by ``pickle.Pickler``: it must name
torch's functions (``torch._utils._rebuild_tensor_v2``) that do not exist in this process,
and only the few types a state_dict holds are needed. A tensor becomes

    _rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel),  # persistent id
                       offset, size, stride, requires_grad, OrderedDict())

in elements of its storage. Tensors that view one NumPy array (the same memory) are written
as views of one storage, with their strides; anything else gets a storage of its own.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from collections import OrderedDict

import numpy as np

__all__ = ["write_torch_file"]

_STORAGE_NAMES = {
    "float64": "DoubleStorage", "float32": "FloatStorage", "float16": "HalfStorage",
    "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
    "uint8": "ByteStorage", "bool": "BoolStorage",
}
_ALIGN = 64


def _root_and_offset(arr: np.ndarray):
    """The memory ``arr`` views as one contiguous array of ``arr``'s dtype (the array that owns
    the memory, at the end of the ``.base`` chain, seen as that dtype), and ``arr``'s offset and
    strides in elements of it; None if ``arr`` is not such a view (then it is copied)."""
    owner, below = arr, arr.base
    while below is not None:  # (as_strided views keep their array one object further down)
        if isinstance(below, np.ndarray):
            owner = below
        below = getattr(below, "base", None)
    size = arr.dtype.itemsize
    if owner is arr:
        return (arr, 0, None) if arr.flags.c_contiguous else None
    if not owner.flags.c_contiguous or owner.nbytes % size:
        return None
    delta = arr.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    if delta < 0 or delta % size or any(s < 0 or s % size for s in arr.strides):
        return None
    root = owner.reshape(-1).view(arr.dtype) if owner.dtype != arr.dtype else owner
    offset = delta // size
    strides = tuple(s // size for s in arr.strides)
    if arr.size and offset + sum((n - 1) * s for n, s in zip(arr.shape, strides)) >= root.size:
        return None
    return owner, offset, strides


class _PickleWriter:
    """Protocol-2 pickle of state_dict-like objects, with torch's globals; collects storages."""

    def __init__(self):
        self.out = bytearray()
        self.memo: dict = {}         # id(obj) -> memo index (tensors referenced twice)
        self.keep: list = []         # objects whose ids are in memo stay alive
        self.storages: dict = {}     # (id(memory owner), dtype) -> (key, flat array, owner)

    def dump(self, obj) -> bytes:
        self.out += pickle.PROTO + b"\x02"
        self.save(obj)
        self.out += pickle.STOP
        return bytes(self.out)

    # -- primitives --------------------------------------------------------------------------------
    def global_(self, module: str, name: str) -> None:
        self.out += pickle.GLOBAL + f"{module}\n{name}\n".encode()

    def save_int(self, value: int) -> None:
        if 0 <= value < 256:
            self.out += pickle.BININT1 + bytes([value])
        elif 0 <= value < 65536:
            self.out += pickle.BININT2 + struct.pack("<H", value)
        elif -2**31 <= value < 2**31:
            self.out += pickle.BININT + struct.pack("<i", value)
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out += pickle.LONG1 + bytes([len(data)]) + data

    def save_str(self, value: str) -> None:
        data = value.encode("utf-8", "surrogatepass")
        self.out += pickle.BINUNICODE + struct.pack("<I", len(data)) + data

    def save_tuple(self, items) -> None:
        if not items:
            self.out += pickle.EMPTY_TUPLE
            return
        if len(items) > 3:
            self.out += pickle.MARK
        for v in items:
            self.save(v)
        self.out += {1: pickle.TUPLE1, 2: pickle.TUPLE2, 3: pickle.TUPLE3}.get(len(items), pickle.TUPLE)

    def memoized(self, obj) -> bool:
        index = self.memo.get(id(obj))
        if index is None:
            return False
        self.out += pickle.LONG_BINGET + struct.pack("<I", index)
        return True

    def remember(self, obj) -> None:
        index = self.memo[id(obj)] = len(self.memo)
        self.keep.append(obj)
        self.out += pickle.LONG_BINPUT + struct.pack("<I", index)

    # -- the object tree ----------------------------------------------------------------------------
    def save(self, obj) -> None:  # noqa: C901 - one branch per supported type
        from .. import _dtype as dt
        from .._tensor.size import Size
        from ..backend import device
        from ..nn.parameter import Parameter
        from ..tensor import Tensor
        if obj is None:
            self.out += pickle.NONE
        elif obj is True or obj is False:
            self.out += pickle.NEWTRUE if obj else pickle.NEWFALSE
        elif isinstance(obj, (int, np.integer)) and not isinstance(obj, (bool, np.bool_)):
            self.save_int(int(obj))
        elif isinstance(obj, (float, np.floating)):
            self.out += pickle.BINFLOAT + struct.pack(">d", float(obj))
        elif isinstance(obj, np.bool_):
            self.out += pickle.NEWTRUE if obj else pickle.NEWFALSE
        elif isinstance(obj, str):
            self.save_str(obj)
        elif isinstance(obj, complex):
            self.global_("builtins", "complex")
            self.save_tuple((obj.real, obj.imag))
            self.out += pickle.REDUCE
        elif isinstance(obj, (set, frozenset)):
            self.global_("builtins", "set")
            self.save_tuple((list(obj),))
            self.out += pickle.REDUCE
        elif isinstance(obj, (bytes, bytearray)):
            self.global_("_codecs", "encode")  # protocol 2's bytes: encode(latin1 text, 'latin1')
            self.save_tuple((bytes(obj).decode("latin1"), "latin1"))
            self.out += pickle.REDUCE
        elif isinstance(obj, dt.dtype):
            self.global_("torch", obj.name)
        elif isinstance(obj, device):
            self.global_("torch", "device")
            self.save_tuple((str(obj),))
            self.out += pickle.REDUCE
        elif isinstance(obj, Size):
            self.global_("torch", "Size")
            self.save_tuple((tuple(int(n) for n in obj),))
            self.out += pickle.REDUCE
        elif isinstance(obj, Parameter):
            if self.memoized(obj):
                return
            self.global_("torch._utils", "_rebuild_parameter")
            self.out += pickle.MARK
            self.save_tensor(obj._host(), False)
            self.save(bool(obj.requires_grad))
            self.save_empty_ordered_dict()
            self.out += pickle.TUPLE + pickle.REDUCE
            self.remember(obj)
        elif isinstance(obj, Tensor):
            if self.memoized(obj):
                return
            self.save_tensor(obj._host(), bool(obj.requires_grad))
            self.remember(obj)
        elif isinstance(obj, np.ndarray):
            self.save_tensor(obj, False)
        elif isinstance(obj, tuple):
            self.save_tuple(tuple(obj))
        elif isinstance(obj, list):
            self.out += pickle.EMPTY_LIST
            if obj:
                self.out += pickle.MARK
                for v in obj:
                    self.save(v)
                self.out += pickle.APPENDS
        elif isinstance(obj, dict):
            if isinstance(obj, OrderedDict):
                self.save_empty_ordered_dict()
            else:
                self.out += pickle.EMPTY_DICT
            if obj:
                self.out += pickle.MARK
                for k, v in obj.items():
                    self.save(k)
                    self.save(v)
                self.out += pickle.SETITEMS
            metadata = getattr(obj, "_metadata", None)
            if isinstance(obj, OrderedDict) and isinstance(metadata, dict):
                self.out += pickle.EMPTY_DICT
                self.save_str("_metadata")
                self.save(metadata)
                self.out += pickle.SETITEM + pickle.BUILD
        else:
            raise TypeError(f"juanji.save(format='torch'): cannot store an object of type {type(obj).__name__} "
                            "(tensors, arrays, numbers, strings, lists, tuples, dicts, dtypes, devices)")

    def save_empty_ordered_dict(self) -> None:
        self.global_("collections", "OrderedDict")
        self.out += pickle.EMPTY_TUPLE + pickle.REDUCE

    def save_tensor(self, arr: np.ndarray, requires_grad: bool) -> None:
        name = _STORAGE_NAMES.get(arr.dtype.name)
        if name is None:
            raise TypeError(f"juanji.save(format='torch'): arrays of dtype {arr.dtype} have no torch storage")
        found = _root_and_offset(arr)
        if found is None:  # not a plain view of contiguous memory (e.g. negative strides): copy
            root, offset, strides = np.ascontiguousarray(arr), 0, None
        else:
            root, offset, strides = found
        if strides is None:  # the array is its own contiguous storage
            strides = tuple(s // arr.dtype.itemsize for s in root.strides)
        # one storage per (memory owner, dtype): views of one array share it
        entry = self.storages.get((id(root), arr.dtype.str))
        if entry is None:
            flat = root.reshape(-1).view(arr.dtype) if root.dtype != arr.dtype else root.reshape(-1)
            entry = self.storages[(id(root), arr.dtype.str)] = (str(len(self.storages)), flat, root)
        key, flat = entry[0], entry[1]
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out += pickle.MARK
        self.out += pickle.MARK + pickle.BINUNICODE + struct.pack("<I", 7) + b"storage"
        self.global_("torch", name)
        self.save_str(key)
        self.save_str("cpu")
        self.save_int(int(flat.size))
        self.out += pickle.TUPLE + pickle.BINPERSID
        self.save_int(int(offset))
        self.save_tuple(tuple(int(n) for n in arr.shape))
        self.save_tuple(tuple(int(s) for s in strides))
        self.save(bool(requires_grad))
        self.save_empty_ordered_dict()
        self.out += pickle.TUPLE + pickle.REDUCE


class _ZipWriter:
    """A minimal zip writer: stored (uncompressed) members, data aligned to 64 bytes."""

    def __init__(self, stream):
        self.stream, self.offset, self.entries = stream, 0, []

    def add(self, name: str, data) -> None:
        raw = name.encode()
        view = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else memoryview(data)
        size = view.nbytes
        crc = zlib.crc32(view)
        if self.offset + size > 0xFFFFFFFF - 2**20:
            raise ValueError("juanji.save(format='torch'): files over 4 GiB are not supported (no ZIP64)")
        header_end = self.offset + 30 + len(raw) + 4
        pad = (-header_end) % _ALIGN
        extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # torch's padding field, "FB"
        header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size,
                             len(raw), len(extra))
        self.stream.write(header + raw + extra)
        self.stream.write(view)
        self.entries.append((raw, crc, size, self.offset))
        self.offset += len(header) + len(raw) + len(extra) + size

    def close(self) -> None:
        start = self.offset
        directory = bytearray()
        for raw, crc, size, at in self.entries:
            directory += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size,
                                     size, len(raw), 0, 0, 0, 0, 0, at) + raw
        end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(self.entries), len(self.entries),
                          len(directory), start, 0)
        self.stream.write(bytes(directory) + end)


def write_torch_file(obj, stream, archive: str = "archive") -> None:
    """Write ``obj`` to the binary ``stream`` in torch.save's zip format."""
    writer = _PickleWriter()
    data_pkl = writer.dump(obj)
    out = _ZipWriter(stream)
    out.add(f"{archive}/data.pkl", data_pkl)
    out.add(f"{archive}/.format_version", b"1")
    out.add(f"{archive}/.storage_alignment", b"64")
    out.add(f"{archive}/byteorder", b"little")
    for key, flat, _ in writer.storages.values():
        data = flat.astype(flat.dtype.newbyteorder("<"), copy=False)  # no copy on a little-endian machine
        out.add(f"{archive}/data/{key}", np.ascontiguousarray(data).reshape(-1).view(np.uint8))
    out.add(f"{archive}/version", b"3\n")
    out.close()
