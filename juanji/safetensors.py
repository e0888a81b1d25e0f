"""safetensors files (Hugging Face's weights format) for juanji tensors, on the ``safetensors``
package: ``save_file``/``load_file`` and the in-memory ``save``/``load``, as
``safetensors.torch`` has them, and interchangeable with its files.

A safetensors file is an 8-byte little-endian header length, a JSON header ``{name: {"dtype":
"F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {str: str}}`` and the raw
little-endian bytes of every tensor. Nothing in it is code, so nothing runs on load.

    >>> import os, tempfile
    >>> import juanji.safetensors
    >>> from juanji import nn
    >>> model = nn.Linear(3, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> juanji.safetensors.save_file(model.state_dict(), path)
    >>> model.load_state_dict(juanji.safetensors.load_file(path))
    <All keys matched successfully>
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from ._atomic import atomic_write

__all__ = ["save_file", "load_file", "save", "load"]

# safetensors' dtype names of the dtypes juanji has
_JUANJI_CODES = {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U8", "BOOL"}


def _numpy_module():
    import safetensors.numpy
    return safetensors.numpy


def _arrays(tensors, what: str) -> dict:
    from .tensor import Tensor
    if not isinstance(tensors, dict):
        raise TypeError(f"{what}: expected a dict of name -> tensor, got {type(tensors).__name__}")
    out = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"{what}: tensor names must be strings, got {name!r}")
        if isinstance(value, Tensor):
            arr = value._host()
        elif isinstance(value, np.ndarray):
            arr = value
        else:
            raise TypeError(f"{what}: {name!r} is a {type(value).__name__}, expected a tensor")
        out[name] = np.ascontiguousarray(arr)
    return out


def _check_metadata(metadata, what: str):
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise TypeError(f"{what}: metadata must be a dict of str -> str, got {metadata!r}")
    return metadata


def _serialize(tensors, metadata, what: str) -> bytes:
    return _numpy_module().save(_arrays(tensors, what), metadata=_check_metadata(metadata, what))


def save(tensors: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes of ``{name: tensor}`` (with an optional ``{str: str}`` metadata)."""
    return _serialize(tensors, metadata, "juanji.safetensors.save")


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Write ``{name: tensor}`` to ``filename`` as safetensors (``safetensors.torch`` reads it)."""
    data = _serialize(tensors, metadata, "juanji.safetensors.save_file")
    atomic_write(filename, lambda stream: stream.write(data))


def _check_header(header_bytes: bytes, where: str) -> dict:
    """Parse the JSON header; refuse dtypes juanji lacks with one line naming the tensor."""
    if len(header_bytes) < 8:
        raise RuntimeError(f"{where} is not a safetensors file (too short)")
    size = struct.unpack("<Q", header_bytes[:8])[0]
    if size > 100_000_000 or len(header_bytes) < 8 + size:
        raise RuntimeError(f"{where} is not a safetensors file (bad header length; truncated?)")
    try:
        header = json.loads(header_bytes[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RuntimeError(f"{where} is not a safetensors file (its header is not JSON)") from None
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        code = entry.get("dtype") if isinstance(entry, dict) else None
        if code not in _JUANJI_CODES:
            raise RuntimeError(f"{where}: tensor {name!r} has dtype {code}, which juanji does not have "
                               "(juanji: F16/F32/F64, I8/I16/I32/I64, U8, BOOL)")
    return header


def _tensors(arrays: dict) -> dict:
    from .tensor import Tensor
    return {name: Tensor._from_array(np.require(arr, requirements="W")) for name, arr in arrays.items()}


def load(data: bytes) -> dict:
    """``{name: tensor}`` from safetensors bytes."""
    _check_header(bytes(data), "juanji.safetensors.load: the data")
    try:
        return _tensors(_numpy_module().load(data))
    except Exception as e:  # the package's own errors (SafetensorError, ...) become one line
        raise RuntimeError(f"juanji.safetensors.load: invalid safetensors data: {e}") from None


def load_file(filename, device="cpu") -> dict:
    """``{name: tensor}`` from a safetensors file (written by ``safetensors.torch`` or juanji)."""
    where = f"juanji.safetensors.load_file: {filename}"
    if not os.path.exists(filename):
        raise FileNotFoundError(f"juanji.safetensors.load_file: no such file: {filename}")
    with open(filename, "rb") as f:
        head = f.read(8)
        size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
        _check_header(head + f.read(min(size, 100_000_001)), where)
    try:
        tensors = _tensors(_numpy_module().load_file(filename))
    except Exception as e:
        raise RuntimeError(f"{where}: invalid safetensors file: {e}") from None
    if str(device).startswith("cuda"):
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return tensors


def metadata_of(filename) -> dict | None:
    """The ``__metadata__`` of a safetensors file (None if it has none)."""
    with open(filename, "rb") as f:
        head = f.read(8)
        size = struct.unpack("<Q", head)[0]
        header = _check_header(head + f.read(size), f"juanji.safetensors: {filename}")
    return header.get("__metadata__")
