"""A reader for MATLAB's level-5 MAT-files (the ``.mat`` of SVHN and many older datasets), on NumPy alone.

Only numeric arrays are read (double, single, the integer classes, logical); that covers data
sets stored as matrices, which is what dataset files hold. ``scipy.io.loadmat`` reads everything,
but SciPy is a large dependency to take on for two arrays.

The format (MATLAB's "MAT-File Format" document, level 5):

    header        128 bytes: text, subsystem offset, version 0x0100, endian mark 'IM' (little) / 'MI' (big)
    data element  tag (uint32 type, uint32 byte count) + data, padded to a multiple of 8 bytes;
                  a "small" element packs count and type in the first 4 bytes and <= 4 data bytes in the next 4
    miCOMPRESSED  (type 15) a zlib stream that holds one more data element (not padded)
    miMATRIX      (type 14) a variable, itself a list of elements:
                  array flags (class in the low byte; 0x0800 complex, 0x0200 logical), dimensions (int32),
                  name (int8), real part, [imaginary part]; values in column-major (Fortran) order

A value's storage type may be smaller than its class (MATLAB stores a double array of small integers
as uint8). As ``scipy.io.loadmat``, the values come back in the stored dtype, or in the class's dtype
(logical as bool) with ``mat_dtype=True``, which is what MATLAB shows. Version 7.3 files are
HDF5 containers, not this format: they are refused with a message saying so.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["MatFileError", "read_mat"]


class MatFileError(ValueError):
    """The file is not a level-5 MAT-file this reader can take (the message says why and names the file)."""


# storage types (miINT8 ...) -> NumPy dtype
_STORAGE = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8",
            16: "u1", 17: "u2", 18: "u4"}
_MATRIX, _COMPRESSED = 14, 15
# array classes (mxDOUBLE_CLASS ...) -> NumPy dtype
_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_CLASS_NAMES = {1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 16: "function handle", 17: "opaque"}
_COMPLEX, _LOGICAL = 0x0800, 0x0200


class _Reader:
    def __init__(self, raw: bytes, order: str, where: str):
        self.raw = raw
        self.order = order
        self.where = where

    def fail(self, why: str):
        raise MatFileError(f"MAT-file '{self.where}': {why}")

    def uint32(self, at: int) -> int:
        if at + 4 > len(self.raw):
            self.fail("truncated (a data element's tag runs past the end)")
        return int(np.frombuffer(self.raw, dtype=self.order + "u4", count=1, offset=at)[0])

    def element(self, at: int):
        """(type, data bytes, position of the next element) of the data element at ``at``."""
        first = self.uint32(at)
        if first >> 16:  # small data element: count and type share the first word
            count, kind = first >> 16, first & 0xFFFF
            if count > 4:
                self.fail(f"a small data element claims {count} bytes (at most 4)")
            return kind, self.raw[at + 4:at + 4 + count], at + 8
        count = self.uint32(at + 4)
        start, stop = at + 8, at + 8 + count
        if stop > len(self.raw):
            self.fail(f"truncated (an element of {count} bytes at byte {at} runs past the end)")
        padded = stop if first == _COMPRESSED else start + (count + 7) // 8 * 8
        return first, self.raw[start:stop], padded

    def numbers(self, kind: int, data: bytes, what: str) -> np.ndarray:
        if kind not in _STORAGE:
            self.fail(f"{what} is stored with unknown data type {kind}")
        dtype = np.dtype(self.order + _STORAGE[kind])
        if len(data) % dtype.itemsize:
            self.fail(f"{what} holds {len(data)} bytes, not a whole number of {dtype.itemsize}-byte values")
        return np.frombuffer(data, dtype=dtype)


def _matrix(reader: _Reader, body: bytes, mat_dtype: bool):
    """``(name, array)`` of one miMATRIX element's body, or ``(name, None)`` for a class this reader skips."""
    inner = _Reader(body, reader.order, reader.where)
    if not body:
        return None, None  # an empty matrix element (MATLAB writes these for empty cells)
    kind, flags_data, at = inner.element(0)
    flags = int(inner.numbers(kind, flags_data, "array flags")[0])
    array_class = flags & 0xFF
    kind, dims_data, at = inner.element(at)
    dims = tuple(int(d) for d in inner.numbers(kind, dims_data, "the dimensions"))
    kind, name_data, at = inner.element(at)
    name = bytes(name_data).decode("latin1")
    if array_class not in _CLASSES:
        return name, _CLASS_NAMES.get(array_class, f"class {array_class}")
    kind, real_data, at = inner.element(at)
    values = inner.numbers(kind, real_data, f"variable '{name}'")
    values = values.astype(_CLASSES[array_class] if mat_dtype else values.dtype.newbyteorder("="))
    if flags & _COMPLEX:
        kind, imag_data, at = inner.element(at)
        values = values + 1j * inner.numbers(kind, imag_data, f"variable '{name}' (imaginary part)")
    if flags & _LOGICAL and mat_dtype:
        values = values.astype(bool)
    count = int(np.prod(dims))
    if values.size != count:
        reader.fail(f"variable '{name}' has dimensions {list(dims)} ({count} values) but stores {values.size}")
    return name, values.reshape(dims, order="F")


def read_mat(source, variable_names=None, mat_dtype: bool = False) -> dict:
    """The numeric variables of a level-5 MAT-file as ``{name: ndarray}`` (shapes as stored, at least 2-d).

    ``source`` is a path or the file's bytes; ``variable_names`` restricts the result (and is
    checked: a requested variable that is missing or not numeric is an error); ``mat_dtype=True``
    gives each array its MATLAB class's dtype instead of the dtype it is stored in.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw, where = bytes(source), "<bytes>"
    else:
        where = os.fspath(source)
        try:
            with open(where, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"MAT-file not found: '{where}'") from None
    if len(raw) < 128:
        raise MatFileError(f"MAT-file '{where}': {len(raw)} bytes, shorter than the 128-byte header")
    if raw[:19] == b"MATLAB 7.3 MAT-file" or raw[512:520] == b"\x89HDF\r\n\x1a\n":
        raise MatFileError(f"MAT-file '{where}' is version 7.3 (HDF5); read it with h5py, or save it with "
                           "MATLAB's save -v7")
    mark = raw[126:128]
    if mark not in (b"IM", b"MI"):
        raise MatFileError(f"MAT-file '{where}': no level-5 header (endian mark {mark!r}, expected 'IM' or 'MI'); "
                           "level-4 and text files are not supported")
    reader = _Reader(raw, "<" if mark == b"IM" else ">", where)
    wanted = None if variable_names is None else set(variable_names)
    found, skipped = {}, {}
    at = 128
    while at < len(raw):
        kind, data, at = reader.element(at)
        if kind == _COMPRESSED:
            try:
                data = zlib.decompress(data)
            except zlib.error as e:
                reader.fail(f"a compressed element is corrupt ({e})")
            kind, data, _ = _Reader(data, reader.order, where).element(0)
        if kind != _MATRIX:
            continue  # MATLAB keeps other element kinds (e.g. subsystem data) out of the variable list
        name, value = _matrix(reader, data, mat_dtype)
        if name is None or (wanted is not None and name not in wanted):
            continue
        if isinstance(value, str):
            skipped[name] = value
        else:
            found[name] = value
    if wanted is not None:
        for name in sorted(wanted - set(found)):
            if name in skipped:
                reader.fail(f"variable '{name}' is a {skipped[name]} array; only numeric arrays are read")
            reader.fail(f"no variable '{name}' (the file holds {sorted(found) + sorted(skipped)})")
    return found
