"""``juanji.save`` / ``juanji.load``: tensors, state_dicts and plain containers, in a format that
never executes code on load.

The file is a NumPy ``.npz`` archive: every array under ``t<N>``, plus ``__meta__.json``, a JSON
description of the object tree in which tensors are referenced by number. Loading reads JSON and
arrays only (``allow_pickle=False``). Writes go to a temporary file that is then renamed, so an
interrupted save never leaves a broken file in place of a good one.

A file that is not juanji's is refused with a one-line error that says what it is where that can
be told from its first bytes or its zip directory (nothing in it is unpickled): a PyTorch
checkpoint (``torch.save``: a zip holding ``data.pkl``, or the legacy pickle that starts with
torch's magic number; ``torch.jit.save`` archives look the same), or another Python pickle.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save", "load"]

_MAGIC = "juanji-save-v1"


def _encode(obj, arrays):
    from .tensor import Tensor
    from ._dtype import dtype as DType
    if isinstance(obj, Tensor):
        arrays.append(obj._host())
        return {"__tensor__": len(arrays) - 1, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"__ndarray__": len(arrays) - 1}
    if isinstance(obj, DType):
        return {"__dtype__": obj.name}
    if isinstance(obj, dict):
        keys = list(obj.keys())
        out = {"__dict__": [[_encode(k, arrays), _encode(obj[k], arrays)] for k in keys],
               "ordered": type(obj).__name__ == "OrderedDict"}
        meta = getattr(obj, "_metadata", None)
        if isinstance(meta, dict):  # a state_dict's per-module versions, as torch.save keeps them
            out["metadata"] = _encode(meta, arrays)
        return out
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"juanji.save: cannot store an object of type {type(obj).__name__} "
                    "(tensors, arrays, numbers, strings, lists, tuples and dicts are supported)")


def _decode(obj, arrays):
    from collections import OrderedDict
    from .tensor import Tensor
    from ._dtype import _by_name
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return Tensor._from_array(arrays[obj["__tensor__"]], requires_grad=obj.get("requires_grad", False))
        if "__ndarray__" in obj:
            return arrays[obj["__ndarray__"]]
        if "__dtype__" in obj:
            return _by_name(obj["__dtype__"])
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__dict__" in obj:
            d = OrderedDict() if obj.get("ordered") else {}
            for k, v in obj["__dict__"]:
                d[_decode(k, arrays)] = _decode(v, arrays)
            if "metadata" in obj and isinstance(d, OrderedDict):
                d._metadata = _decode(obj["metadata"], arrays)
            return d
    return obj


def save(obj, f) -> None:
    """Write ``obj`` (a tensor, a state_dict, nested containers of them) to a path or file object."""
    arrays: list = []
    meta = {"format": _MAGIC, "root": _encode(obj, arrays)}
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
             **{f"t{i}": a for i, a in enumerate(arrays)})
    data = buf.getvalue()
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".juanji")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# torch.save's legacy (pre-1.6) format begins with a pickled magic number: protocol 2 (80 02),
# then LONG1 (8a) of 10 bytes holding 0x1950a86a20f9469cfc6c
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_PICKLE_PROTOCOL = b"\x80"  # every pickle of protocol 2 or later starts with the PROTO opcode


def _how_to_convert(read_state: str) -> str:
    """The recipe for moving a PyTorch state_dict into juanji through NumPy arrays."""
    return (f"To use its weights, convert them in PyTorch to NumPy arrays: state = {read_state}; "
            "numpy.savez('weights.npz', **{k: v.numpy() for k, v in state.items()}); then in juanji: "
            "model.load_state_dict({k: juanji.tensor(v) for k, v in numpy.load('weights.npz').items()}) "
            "(or through safetensors: safetensors.torch.save_file(state, ...), then safetensors.numpy.load_file)")


def _file_start(f):
    """Where reading ``f`` starts (a file object's position; 0 for a path); None if unknown."""
    if isinstance(f, (str, os.PathLike)):
        return 0
    try:
        return f.tell()
    except (AttributeError, OSError, ValueError):
        return None


def _what_foreign_file(f, start) -> str | None:
    """Which kind of file juanji does not read this is ("torch.save", "torchscript", "pickle"),
    told from its first bytes and, for a zip, its member names; None if none of those.
    Unpickles nothing."""
    if start is None:
        return None
    try:
        if isinstance(f, (str, os.PathLike)):
            with open(f, "rb") as stream:
                head = stream.read(len(_TORCH_LEGACY_MAGIC))
                names = _zip_names(stream) if zipfile.is_zipfile(stream) else []
        else:
            f.seek(start)
            head = f.read(len(_TORCH_LEGACY_MAGIC))
            f.seek(start)
            names = _zip_names(f) if zipfile.is_zipfile(f) else []
            f.seek(start)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    # torch.save's zip: <archive>/data.pkl + <archive>/data/<storage>; torch.jit.save adds
    # <archive>/constants.pkl and the model's code
    if any(n == "constants.pkl" or n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names) or head.startswith(_TORCH_LEGACY_MAGIC):
        return "torch.save"
    if head.startswith(_PICKLE_PROTOCOL):
        return "pickle"
    return None


def _zip_names(stream) -> list:
    with zipfile.ZipFile(stream) as archive:  # reads the directory only
        return archive.namelist()


def load(f, map_location=None, weights_only=True, mmap=None):
    """Read what ``save`` wrote. Raises a one-line error for a missing, truncated or foreign file
    (naming a PyTorch checkpoint as such, with how to convert its weights)."""
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(f):
        raise FileNotFoundError(f"juanji.load: no such file: {f}")
    start = _file_start(f)
    try:
        with np.load(f, allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            if meta.get("format") != _MAGIC:
                raise ValueError("not a juanji file")
            arrays = {int(k[1:]): z[k] for k in z.files if k.startswith("t")}
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, json.JSONDecodeError) as e:
        kind = _what_foreign_file(f, start)
        if kind == "torch.save":
            raise RuntimeError(f"juanji.load: {name} is a PyTorch checkpoint (written by torch.save), not a juanji "
                               "file; juanji does not unpickle PyTorch checkpoints (unpickling runs code stored "
                               "in the file). " + _how_to_convert("torch.load(path, weights_only=True)")) from None
        if kind == "torchscript":
            raise RuntimeError(f"juanji.load: {name} is a PyTorch TorchScript archive (written by torch.jit.save), "
                               "not a juanji file; juanji does not unpickle or run it. "
                               + _how_to_convert("torch.jit.load(path).state_dict()")) from None
        if kind == "pickle":
            raise RuntimeError(f"juanji.load: {name} is not a valid juanji file: it is a Python pickle, which "
                               "juanji never unpickles (unpickling runs code stored in the file)") from None
        raise RuntimeError(f"juanji.load: {name} is not a valid juanji file (truncated or corrupt?): {e}") from None
    obj = _decode(meta["root"], arrays)
    if map_location is not None and str(map_location).startswith("cuda"):
        obj = _to_device(obj, map_location)
    return obj


def _to_device(obj, device):
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj
