"""Read the pickles of datasets such as CIFAR's python version without running any code from them.

``pickle.load`` calls whatever callable a pickle names (``os.system`` as easily as
``numpy.core.multiarray._reconstruct``), so loading a downloaded pickle runs code chosen by
whoever wrote the file. This reader allows the plain data opcodes (dicts, lists, tuples, strings,
numbers) and, for the globals a NumPy array pickle names, substitutes stand-ins written here that
only record their arguments; the arrays are then built from those records with
``numpy.frombuffer``. Any other global is refused:

    UnsafePickleError: CIFAR10: the pickle 'x/data_batch_1' names os.system; ...

What an ndarray pickle looks like (protocol 2, as the Python 2 files hold):

    _reconstruct(ndarray, (0,), b'b')              -> an empty array object
    .__setstate__((1, shape, dtype, is_fortran, raw_bytes))
    dtype('u1', False, True).__setstate__((3, '|', None, None, None, -1, -1, 0))

Object arrays (dtype 'O') are refused: their elements would be further pickles.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

__all__ = ["UnsafePickleError", "load_data_pickle"]


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global that a data file has no business calling."""


class _DtypeRecord:
    """Stands in for ``numpy.dtype(name, align, copy)``; the state carries the byte order."""

    def __init__(self, name, align=False, copy=False):
        self.name = name
        self.byte_order = "="

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byte_order = state[1]
        if isinstance(state, tuple) and len(state) > 3 and state[3] is not None:
            raise UnsafePickleError("structured dtypes are not supported in a data pickle")

    def to_numpy(self) -> np.dtype:
        name = self.name.decode("latin1") if isinstance(self.name, bytes) else str(self.name)
        dtype = np.dtype(name)
        if dtype.kind in "OV":
            raise UnsafePickleError(f"arrays of dtype {name!r} are not allowed in a data pickle")
        return dtype.newbyteorder(self.byte_order) if self.byte_order in "<>" else dtype


class _ArrayRecord:
    """Stands in for ``numpy.core.multiarray._reconstruct(...)``; ``__setstate__`` gets the array's state."""

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def to_numpy(self) -> np.ndarray:
        if not (isinstance(self.state, tuple) and len(self.state) == 5):
            raise UnsafePickleError("an ndarray in the pickle has no (version, shape, dtype, fortran, data) state")
        _, shape, dtype, fortran, raw = self.state
        if not isinstance(dtype, _DtypeRecord):
            raise UnsafePickleError("an ndarray in the pickle has no dtype")
        if isinstance(raw, str):  # a Python 2 byte string, read with encoding='latin1'
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise UnsafePickleError("an ndarray in the pickle stores its data as a list (object arrays are refused)")
        return _array_from_bytes(raw, dtype, shape, "F" if fortran else "C")


def _array_from_bytes(raw, dtype: "_DtypeRecord", shape, order: str) -> np.ndarray:
    """A writable array in native byte order, with its own memory."""
    values = np.frombuffer(raw, dtype=dtype.to_numpy()).reshape(tuple(int(s) for s in shape), order=order)
    return values.astype(values.dtype.newbyteorder("="), order="K", copy=True)


def _frombuffer(buffer, dtype, shape, order):
    """Stands in for ``numpy._core.numeric._frombuffer`` (how protocol 5 pickles an array)."""
    if not isinstance(dtype, _DtypeRecord):
        raise UnsafePickleError("_frombuffer in the pickle has no dtype")
    return _array_from_bytes(bytes(buffer), dtype, shape, order)


def _empty_bytes(*args):
    """Stands in for ``bytes()``: protocols 0-2 write an empty bytes object as a call of it."""
    if args:
        raise UnsafePickleError("bytes(...) with arguments in a data pickle")
    return b""


def _scalar(dtype, raw):
    """Stands in for ``numpy.core.multiarray.scalar(dtype, bytes)`` (a NumPy scalar)."""
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    return np.frombuffer(raw, dtype=dtype.to_numpy())[0].astype(dtype.to_numpy().newbyteorder("="))


def _latin1_encode(text, encoding="latin1"):
    """Stands in for ``_codecs.encode``: how protocol 2 from Python 3 writes ``bytes``."""
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode with encoding {encoding!r} in a data pickle")
    return text.encode("latin1")


_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy")
_ALLOWED = {("_codecs", "encode"): _latin1_encode, ("__builtin__", "bytes"): _empty_bytes,
            ("builtins", "bytes"): _empty_bytes}
for _module in _NUMPY_MODULES:
    _ALLOWED[(_module, "_reconstruct")] = _ArrayRecord
    _ALLOWED[(_module, "scalar")] = _scalar
    _ALLOWED[(_module, "ndarray")] = _ArrayRecord
    _ALLOWED[(_module, "dtype")] = _DtypeRecord
for _module in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_module, "_frombuffer")] = _frombuffer
_ALLOWED[("numpy", "dtype")] = _DtypeRecord


class _DataUnpickler(pickle.Unpickler):
    def __init__(self, file, where: str):
        super().__init__(file, encoding="latin1")
        self.where = where

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"{self.where} names {module}.{name}; a data pickle may only hold numbers, "
                                    "strings, lists, dicts and NumPy arrays (refused without running it)") from None

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.where} uses persistent ids, which a data pickle has no use for")


def _finish(obj):
    """Replace the array records by real arrays, through dicts, lists and tuples."""
    if isinstance(obj, _ArrayRecord):
        return obj.to_numpy()
    if isinstance(obj, _DtypeRecord):
        return obj.to_numpy()
    if isinstance(obj, dict):
        return {_finish(k): _finish(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finish(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_finish(v) for v in obj)
    return obj


def load_data_pickle(data: bytes, where: str):
    """Unpickle ``data`` (read from the file named by ``where``, for messages) with the restricted reader.

    Strings of a Python 2 pickle come back as ``str`` (latin-1), as with ``pickle.load(f, encoding='latin1')``.
    """
    try:
        return _finish(_DataUnpickler(io.BytesIO(data), where).load())
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        raise pickle.UnpicklingError(f"{where} is not a readable data pickle ({type(e).__name__}: {e})") from None
