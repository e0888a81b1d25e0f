"""``juanji.save`` / ``juanji.load``: tensors, state_dicts and plain containers, in files that
never execute code on load.

juanji's own format (the default of ``save``) is a NumPy ``.npz`` archive: every array under
``t<N>``, plus ``__meta__.json``, a JSON description of the object tree in which tensors are
referenced by number. Loading reads JSON and arrays only (``allow_pickle=False``). Writes go to a
temporary file that is then renamed, so an interrupted save never leaves a broken file in place
of a good one.

``load`` also reads files written by ``torch.save`` (the zip format of torch >= 1.6 and the
legacy format before it) without torch, through a restricted unpickler that resolves only the
globals torch's ``weights_only=True`` allows (``juanji/_torchfile``); ``save(...,
format="torch")`` writes torch's zip format, and ``format="safetensors"`` a safetensors file.
What cannot be read (a TorchScript archive, a plain pickle, a truncated or corrupt file) is
refused with a one-line error saying what it is.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import numpy as np

from . import _torchfile
from ._atomic import atomic_write

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


def _write_juanji(obj, stream) -> None:
    arrays: list = []
    meta = {"format": _MAGIC, "root": _encode(obj, arrays)}
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
             **{f"t{i}": a for i, a in enumerate(arrays)})
    stream.write(buf.getvalue())


_FORMATS = ("juanji", "torch", "safetensors")


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False, *, format: str = "juanji", metadata=None) -> None:
    """Write ``obj`` (a tensor, a state_dict, nested containers of them) to a path or file object.

    ``format="juanji"`` (the default): juanji's npz + JSON format. ``format="torch"``: torch.save's
    zip format, which ``torch.load(f, weights_only=True)`` reads (tensors that view one array are
    written as views of one storage). ``format="safetensors"``: a flat ``{name: tensor}`` dict as
    a safetensors file (``metadata``: an optional ``{str: str}`` header), as
    :func:`juanji.safetensors.save_file`.
    """
    if format not in _FORMATS:
        raise ValueError(f"juanji.save: unknown format {format!r}; expected one of {', '.join(_FORMATS)}")
    if pickle_module is not None:
        raise ValueError("juanji.save: pickle_module is not supported (juanji writes its own pickles)")
    if format == "torch":
        if not _use_new_zipfile_serialization:
            raise ValueError("juanji.save: format='torch' writes torch's zip format only "
                             "(_use_new_zipfile_serialization=False, the legacy format, is not written)")
        atomic_write(f, lambda stream: _torchfile.write_torch_file(obj, stream))
    elif format == "safetensors":
        from .safetensors import _serialize
        data = _serialize(obj, metadata, "juanji.save")
        atomic_write(f, lambda stream: stream.write(data))
    else:
        atomic_write(f, lambda stream: _write_juanji(obj, stream))


def _how_to_convert(read_state: str) -> str:
    """The recipe for moving a PyTorch state_dict into juanji through NumPy arrays."""
    return (f"To use its weights, convert them in PyTorch to NumPy arrays: state = {read_state}; "
            "numpy.savez('weights.npz', **{k: v.numpy() for k, v in state.items()}); then in juanji: "
            "model.load_state_dict({k: juanji.tensor(v) for k, v in numpy.load('weights.npz').items()}) "
            "(or through safetensors: safetensors.torch.save_file(state, ...), then juanji.safetensors.load_file)")


def _open(f):
    """(a seekable binary stream, whether to close it) for a path or a file object."""
    if isinstance(f, (str, os.PathLike)):
        return open(f, "rb"), True
    try:
        f.tell()
        if f.seekable():
            return f, False
    except (AttributeError, OSError, ValueError):
        pass
    return io.BytesIO(f.read()), False  # a pipe or socket: read it whole


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read a file written by ``juanji.save`` or ``torch.save``; returns the saved object with
    juanji Tensors in place of torch's.

    PyTorch files are unpickled by a restricted unpickler (``weights_only=True``, the only mode):
    tensors of every juanji dtype, shared storages (tensors that viewed one storage view one
    array), strides, Parameters, OrderedDict with ``_metadata``, dicts, lists, tuples, sets,
    numbers, strings, dtypes, devices. A global outside torch's weights-only allow list raises
    ``pickle.UnpicklingError`` naming it; nothing in the file is run. ``mmap=True`` maps a zip
    file's storages copy-on-write instead of reading them. Every other problem (missing,
    truncated, foreign file, a dtype juanji lacks) is a one-line error.
    """
    if weights_only is False:
        raise ValueError("juanji.load: weights_only=False is not supported: it would unpickle arbitrary Python "
                         "objects, which runs code stored in the file; juanji reads tensors, state_dicts and "
                         "plain containers only (weights_only=True). For a pickled model, save its state_dict() "
                         "in torch and load that")
    if pickle_module is not None:
        raise ValueError("juanji.load: pickle_module is not supported (juanji unpickles with its own "
                         "restricted unpickler)")
    name = f if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(f):
        raise FileNotFoundError(f"juanji.load: no such file: {f}")
    stream, close = _open(f)
    try:
        obj = _load_stream(stream, name, os.fspath(f) if mmap and isinstance(f, (str, os.PathLike)) else None)
    finally:
        if close:
            stream.close()
    if map_location is not None and str(map_location).startswith("cuda"):
        obj = _to_device(obj, map_location)
    return obj


def _load_stream(stream, name, mmap_path):
    start = stream.tell()
    kind = _torchfile.sniff(stream)
    if kind in ("torch-zip", "torch-legacy"):
        try:
            return _torchfile.load_torch_file(stream, kind, name, mmap_path)
        except pickle.UnpicklingError as e:
            raise pickle.UnpicklingError(f"juanji.load: {name}: {e}") from None
        except _torchfile.TorchFileError as e:
            raise _torchfile.TorchFileError(f"juanji.load: {e}") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise _torchfile.TorchFileError(f"juanji.load: {name} is a corrupt PyTorch file: {e}") from None
    if kind == "torchscript":
        raise RuntimeError(f"juanji.load: {name} is a PyTorch TorchScript archive (written by torch.jit.save), "
                           "not a weights file; juanji does not unpickle or run it. "
                           + _how_to_convert("torch.jit.load(path).state_dict()"))
    if kind == "torch-tar":
        raise RuntimeError(f"juanji.load: {name} is in PyTorch's tar format (torch < 0.4), which juanji does "
                           "not read; load it with torch 1.x and save it again with torch.save (torch >= 1.6 "
                           "writes the zip format juanji reads)")
    if kind == "pickle":
        raise RuntimeError(f"juanji.load: {name} is not a valid juanji or PyTorch file: it is a Python pickle, "
                           "which juanji never unpickles (unpickling runs code stored in the file)")
    if kind is None:   # (np.load would call any unknown bytes "pickled data" and advise allow_pickle)
        raise RuntimeError(f"juanji.load: {name} is not a valid juanji file, nor a PyTorch file: its first bytes "
                           "are no zip, pickle or tar header (another kind of file, or corrupt)")
    if kind == "broken-zip":
        raise RuntimeError(f"juanji.load: {name} is not a valid juanji or PyTorch file (truncated or corrupt? its zip "
                           "directory cannot be read)")
    try:
        stream.seek(start)
        with np.load(stream, allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            if meta.get("format") != _MAGIC:
                raise ValueError("not a juanji file")
            arrays = {int(k[1:]): z[k] for k in z.files if k.startswith("t")}
    except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, json.JSONDecodeError) as e:
        raise RuntimeError(f"juanji.load: {name} is not a valid juanji file (truncated or corrupt?): {e}") from None
    return _decode(meta["root"], arrays)


def _to_device(obj, device):
    from .tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj
