"""A restricted unpickler: reads the pickles inside PyTorch files without running their code.

A pickle is a small program for a stack machine. Most opcodes only build plain values (ints,
strings, tuples, lists, dicts); the dangerous ones name a Python *global* (``GLOBAL``,
``STACK_GLOBAL``) and then call it (``REDUCE``, ``NEWOBJ``) or hand it state (``BUILD``).
``pickle.load`` imports whatever module the file names and calls whatever it finds there,
so a file can run ``os.system``. This unpickler is its own opcode loop (torch's
``weights_only=True`` loader works the same way):

- a global resolves only through :data:`ALLOWED`, a table from ``"module.name"`` to a
  juanji stand-in (tensor rebuild functions, storage types, dtypes, ``OrderedDict``, ``set``
  ...), the same names torch's ``weights_only=True`` accepts; any other name raises
  :class:`pickle.UnpicklingError` naming it, before anything is called;
- ``REDUCE``/``NEWOBJ`` call only the callables of that table, ``BUILD`` only sets
  attributes of an ``OrderedDict`` (a state_dict's ``_metadata``) or a Parameter's stand-in;
- ``BINPERSID`` (a storage reference) goes to the caller's ``persistent_load``;
- any opcode not listed below is refused.

The stand-ins build juanji objects; tensors come out as :class:`PendingTensor` records
(storage, offset, size, stride) that the file reader turns into arrays once the storages
are read (see ``read.py``).
"""

from __future__ import annotations

import codecs
import pickle
import struct
from collections import Counter, OrderedDict

from .. import _dtype as dt
from .._tensor.size import Size
from ..backend import device as _device

__all__ = ["Unpickler", "ALLOWED", "PendingTensor", "StorageType", "TorchDtype", "ParameterType",
           "TensorType", "refuse"]


def refuse(message: str):
    raise pickle.UnpicklingError(message)


# -- stand-ins for torch's globals --------------------------------------------------------------

class TorchDtype:
    """``torch.float32`` and friends; ``.juanji`` is juanji's twin or None (bfloat16, complex ...)."""

    __slots__ = ("name", "juanji", "itemsize")

    def __init__(self, name: str, juanji, itemsize: int):
        self.name, self.juanji, self.itemsize = name, juanji, itemsize

    def __repr__(self) -> str:
        return f"torch.{self.name}"


# torch's dtypes by the name they are pickled under, with their item sizes
_TORCH_DTYPES = {
    "float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2,
    "int8": 1, "uint8": 1, "bool": 1, "complex32": 4, "complex64": 8, "complex128": 16,
    "uint16": 2, "uint32": 4, "uint64": 8, "qint8": 1, "quint8": 1, "qint32": 4, "quint4x2": 1,
    "quint2x4": 1, "float8_e4m3fn": 1, "float8_e5m2": 1, "float8_e4m3fnuz": 1, "float8_e5m2fnuz": 1,
    "float8_e8m0fnu": 1, "float4_e2m1fn_x2": 1, "bits8": 1, "bits16": 2, "bits1x8": 1, "bits2x4": 1,
    "bits4x2": 1, "int1": 1, "int2": 1, "int3": 1, "int4": 1, "int5": 1, "int6": 1, "int7": 1,
    "uint1": 1, "uint2": 1, "uint3": 1, "uint4": 1, "uint5": 1, "uint6": 1, "uint7": 1,
}
DTYPES = {name: TorchDtype(name, dt._NAMES.get(name), size) for name, size in _TORCH_DTYPES.items()}


class StorageType:
    """``torch.FloatStorage`` (typed: its dtype) or ``torch.UntypedStorage`` (bytes: dtype None)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


# the legacy typed storages, pickled by class name, and the dtype each holds
_STORAGES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128", "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8", "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
}


class PendingTensor:
    """A tensor as the pickle describes it, before its storage's bytes are read."""

    __slots__ = ("storage", "offset", "size", "stride", "requires_grad", "dtype", "parameter")

    def __init__(self, storage, offset, size, stride, requires_grad=False, dtype=None):
        if not hasattr(storage, "key"):
            refuse(f"a tensor's storage must be a storage reference, got {type(storage).__name__}")
        self.storage = storage
        self.offset, self.size, self.stride = int(offset), tuple(size), tuple(stride)
        self.requires_grad = bool(requires_grad)
        self.dtype = dtype              # TorchDtype for an untyped storage (rebuild v3)
        self.parameter = False


class TensorType:
    """``torch.Tensor`` as a type argument (``_rebuild_from_type_v2``)."""


class ParameterType:
    """``torch.nn.Parameter``: ``Parameter(data, requires_grad)`` marks the pending tensor."""

    def __new__(cls, data=None, requires_grad=True, *rest):
        if not isinstance(data, PendingTensor):
            refuse(f"torch.nn.Parameter of a {type(data).__name__}, expected a tensor")
        data.parameter, data.requires_grad = True, bool(requires_grad)
        return data


def _rebuild_tensor(storage, storage_offset, size, stride):
    return PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return PendingTensor(storage, storage_offset, size, stride, requires_grad)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    if not isinstance(dtype, TorchDtype):
        refuse(f"_rebuild_tensor_v3 expects a dtype, got {type(dtype).__name__}")
    return PendingTensor(storage, storage_offset, size, stride, requires_grad, dtype)


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    return ParameterType(data, requires_grad)


def _rebuild_from_type_v2(func, new_type, args, state):
    """A tensor (subclass) with attributes: build with ``func``, then give it ``new_type``."""
    if func not in _CALLABLES:
        refuse(f"_rebuild_from_type_v2 with a function outside the allow list: {func!r}")
    result = func(*args)
    if new_type is ParameterType:
        return ParameterType(result, result.requires_grad)
    if new_type is not TensorType:
        refuse(f"_rebuild_from_type_v2 to {new_type!r}: juanji reads plain tensors and Parameters only")
    return result


def _unsupported(what: str):
    def rebuild(*args, **kwargs):
        refuse(f"the file holds {what}, which juanji does not have")
    return rebuild


def _encode(text, encoding="latin1"):
    """``_codecs.encode``: protocol 2 pickles bytes as ``encode(text, 'latin1')``."""
    if encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        refuse(f"_codecs.encode with the encoding {encoding!r}")
    return codecs.encode(text, encoding)


def _build_allowed() -> dict:
    table = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
        "builtins.bytearray": bytearray,
        "_codecs.encode": _encode,
        "torch.Size": Size,
        "torch.device": _device,
        "torch.Tensor": TensorType,
        "torch.nn.parameter.Parameter": ParameterType,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch._utils._rebuild_qtensor": _unsupported("a quantized tensor"),
        "torch._utils._rebuild_sparse_tensor": _unsupported("a sparse tensor"),
        "torch.serialization._get_layout": _unsupported("a sparse tensor"),
        "torch._utils._rebuild_meta_tensor_no_storage": _unsupported("a meta tensor (no data)"),
        "torch._utils._rebuild_nested_tensor": _unsupported("a nested tensor"),
        "torch._utils._rebuild_wrapper_subclass": _unsupported("a tensor subclass"),
        "torch._utils._rebuild_device_tensor_from_numpy": _unsupported("a tensor of an accelerator"),
        "torch._utils._rebuild_device_tensor_from_cpu_tensor": _unsupported("a tensor of an accelerator"),
    }
    for name, dtype in DTYPES.items():
        table[f"torch.{name}"] = dtype
    for name, dtype_name in _STORAGES.items():
        storage = StorageType(name, DTYPES[dtype_name])
        table[f"torch.{name}"] = table[f"torch.cuda.{name}"] = storage
    untyped = StorageType("UntypedStorage", None)
    table["torch.UntypedStorage"] = table["torch.storage.UntypedStorage"] = untyped
    table["torch.storage.TypedStorage"] = StorageType("TypedStorage", None)
    return table


ALLOWED = _build_allowed()
_CALLABLES = {id(v): v for v in ALLOWED.values() if callable(v) and not isinstance(v, type)}
_CALLABLES.update({id(c): c for c in (OrderedDict, Counter, set, frozenset, complex, bytearray, Size, _device,
                                      ParameterType)})
_CLASSES = (OrderedDict, Counter, set, ParameterType)

# Python 2 names (very old files): pickle's own mapping
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


def _is_callable_allowed(func) -> bool:
    return id(func) in _CALLABLES and _CALLABLES[id(func)] is func


class Unpickler:
    """``Unpickler(data, persistent_load, where).load()``: one pickle from ``data`` (a file-like
    object with ``read``/``readline``). ``where`` names the file in error messages."""

    def __init__(self, file, persistent_load, where: str = "the file"):
        self.read = file.read
        self.readline = file.readline
        self.persistent_load = persistent_load
        self.where = where

    # -- the opcode loop -------------------------------------------------------------------------
    def load(self):
        self.stack, self.metastack, self.memo = [], [], {}
        try:
            return self._run()
        except pickle.UnpicklingError:
            raise
        except (IndexError, KeyError, struct.error, EOFError, TypeError, ValueError,
                UnicodeDecodeError) as e:
            refuse(f"corrupt pickle ({type(e).__name__}: {e})")

    def _run(self):
        read = self.read
        while True:
            key = read(1)
            if not key:
                raise EOFError("the pickle ends before its STOP opcode")
            op = key[0]
            if op == _STOP:
                return self.stack.pop()
            handler = _DISPATCH.get(op)
            if handler is None:
                refuse(f"pickle opcode {bytes([op])!r} is not allowed in a weights file")
            handler(self)

    def _pop_mark(self):
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _global(self, module: str, name: str):
        module = _PY2_MODULES.get(module, module)
        full = f"{module}.{name}"
        found = ALLOWED.get(full)
        if found is None:
            refuse(f"the file references the global {full}, which is not in the allow list of "
                   "weights-only loading (tensors, storages, dtypes, OrderedDict and plain containers); "
                   "refused before anything was run")
        return found


def _u(fmt):
    size = struct.calcsize(fmt)
    return lambda self: struct.unpack(fmt, self.read(size))[0]


_read_u1 = lambda self: self.read(1)[0]  # noqa: E731
_read_i4 = _u("<i")
_read_u2 = _u("<H")
_read_u4 = _u("<I")
_read_u8 = _u("<Q")
_read_f8 = _u(">d")


def _op_proto(self):
    self.read(1)


def _op_frame(self):
    self.read(8)  # protocol 4 framing: a length we do not need


def _op_mark(self):
    self.metastack.append(self.stack)
    self.stack = []


def _push(value):
    return lambda self: self.stack.append(value)


def _op_binint(self):
    self.stack.append(_read_i4(self))


def _op_binint1(self):
    self.stack.append(_read_u1(self))


def _op_binint2(self):
    self.stack.append(_read_u2(self))


def _op_long1(self):
    n = _read_u1(self)
    self.stack.append(int.from_bytes(self.read(n), "little", signed=True))


def _op_long4(self):
    n = _read_i4(self)
    if n < 0:
        refuse("negative LONG4 length")
    self.stack.append(int.from_bytes(self.read(n), "little", signed=True))


def _op_binfloat(self):
    self.stack.append(_read_f8(self))


def _text(self, n):
    data = self.read(n)
    if len(data) != n:
        raise EOFError("the pickle ends inside a string")
    return str(data, "utf-8", "surrogatepass")


def _op_binunicode(self):
    self.stack.append(_text(self, _read_u4(self)))


def _op_short_binunicode(self):
    self.stack.append(_text(self, _read_u1(self)))


def _op_binunicode8(self):
    self.stack.append(_text(self, _read_u8(self)))


def _op_short_binstring(self):  # Python 2 str: torch decodes it (encoding utf-8)
    self.stack.append(_text(self, _read_u1(self)))


def _op_binstring(self):
    self.stack.append(_text(self, _read_i4(self)))


def _op_binbytes(self):
    self.stack.append(bytes(self.read(_read_u4(self))))


def _op_short_binbytes(self):
    self.stack.append(bytes(self.read(_read_u1(self))))


def _op_binbytes8(self):
    self.stack.append(bytes(self.read(_read_u8(self))))


# (pop the mark first: ``self.stack.append(f(self._pop_mark()))`` would bind the inner list)
def _op_tuple(self):
    items = self._pop_mark()
    self.stack.append(tuple(items))


def _op_tuple1(self):
    self.stack[-1] = (self.stack[-1],)


def _op_tuple2(self):
    self.stack[-2:] = [(self.stack[-2], self.stack[-1])]


def _op_tuple3(self):
    self.stack[-3:] = [(self.stack[-3], self.stack[-2], self.stack[-1])]


def _op_list(self):
    items = self._pop_mark()
    self.stack.append(items)


def _op_dict(self):
    items = self._pop_mark()
    self.stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})


def _list_target(self, what):
    target = self.stack[-1]
    if type(target) is not list:
        refuse(f"{what} to a {type(target).__name__}, expected a list")
    return target


def _op_append(self):
    value = self.stack.pop()
    _list_target(self, "APPEND").append(value)


def _op_appends(self):
    items = self._pop_mark()
    _list_target(self, "APPENDS").extend(items)


def _dict_target(self, what):
    target = self.stack[-1]
    if type(target) not in (dict, OrderedDict, Counter):
        refuse(f"{what} on a {type(target).__name__}, expected a dict")
    return target


def _op_setitem(self):
    value = self.stack.pop()
    k = self.stack.pop()
    _dict_target(self, "SETITEM")[k] = value


def _op_setitems(self):
    items = self._pop_mark()
    target = _dict_target(self, "SETITEMS")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _op_additems(self):
    items = self._pop_mark()
    target = self.stack[-1]
    if type(target) is not set:
        refuse(f"ADDITEMS on a {type(target).__name__}, expected a set")
    target.update(items)


def _op_frozenset(self):
    items = self._pop_mark()
    self.stack.append(frozenset(items))


def _op_global(self):
    module = self.readline()[:-1].decode("utf-8")
    name = self.readline()[:-1].decode("utf-8")
    self.stack.append(self._global(module, name))


def _op_stack_global(self):
    name = self.stack.pop()
    module = self.stack.pop()
    if type(name) is not str or type(module) is not str:
        refuse("STACK_GLOBAL needs two strings")
    self.stack.append(self._global(module, name))


def _op_reduce(self):
    args = self.stack.pop()
    func = self.stack[-1]
    if not _is_callable_allowed(func) or type(args) is not tuple:
        refuse(f"REDUCE of {func!r}: only the allow list's functions may be called")
    self.stack[-1] = func(*args)


def _op_newobj(self):
    args = self.stack.pop()
    cls = self.stack.pop()
    if cls not in _CLASSES or type(args) is not tuple:
        refuse(f"NEWOBJ of {cls!r}: only the allow list's classes may be made")
    self.stack.append(cls(*args) if cls is ParameterType else cls.__new__(cls, *args))


def _op_build(self):
    state = self.stack.pop()
    inst = self.stack[-1]
    if type(inst) is OrderedDict and type(state) is dict:
        inst.__dict__.update(state)  # a state_dict's _metadata
    elif isinstance(inst, PendingTensor):
        pass  # a Parameter's or tensor's Python attributes: juanji keeps none of them
    else:
        refuse(f"BUILD of a {type(inst).__name__}: only OrderedDict and tensors take state")


def _op_binpersid(self):
    pid = self.stack.pop()
    if type(pid) is not tuple or not pid or pid[0] not in ("storage", b"storage"):
        refuse(f"persistent id {pid!r}: only storages may be referenced")
    self.stack.append(self.persistent_load(pid))


def _op_binget(self):
    self.stack.append(self.memo[_read_u1(self)])


def _op_long_binget(self):
    self.stack.append(self.memo[_read_u4(self)])


def _op_binput(self):
    self.memo[_read_u1(self)] = self.stack[-1]


def _op_long_binput(self):
    self.memo[_read_u4(self)] = self.stack[-1]


def _op_memoize(self):
    self.memo[len(self.memo)] = self.stack[-1]


def _op_pop(self):
    if self.stack:
        self.stack.pop()
    else:
        self._pop_mark()


def _op_pop_mark(self):
    self._pop_mark()


def _op_dup(self):
    self.stack.append(self.stack[-1])


_STOP = pickle.STOP[0]
_DISPATCH = {op[0]: fn for op, fn in [
    (pickle.PROTO, _op_proto), (pickle.FRAME, _op_frame), (pickle.MARK, _op_mark),
    (pickle.NONE, _push(None)), (pickle.NEWTRUE, _push(True)), (pickle.NEWFALSE, _push(False)),
    (pickle.BININT, _op_binint), (pickle.BININT1, _op_binint1), (pickle.BININT2, _op_binint2),
    (pickle.LONG1, _op_long1), (pickle.LONG4, _op_long4), (pickle.BINFLOAT, _op_binfloat),
    (pickle.BINUNICODE, _op_binunicode), (pickle.SHORT_BINUNICODE, _op_short_binunicode),
    (pickle.BINUNICODE8, _op_binunicode8), (pickle.SHORT_BINSTRING, _op_short_binstring),
    (pickle.BINSTRING, _op_binstring), (pickle.BINBYTES, _op_binbytes),
    (pickle.SHORT_BINBYTES, _op_short_binbytes), (pickle.BINBYTES8, _op_binbytes8),
    (pickle.EMPTY_TUPLE, lambda self: self.stack.append(())), (pickle.TUPLE, _op_tuple),
    (pickle.TUPLE1, _op_tuple1), (pickle.TUPLE2, _op_tuple2), (pickle.TUPLE3, _op_tuple3),
    (pickle.EMPTY_LIST, lambda self: self.stack.append([])), (pickle.LIST, _op_list),
    (pickle.APPEND, _op_append), (pickle.APPENDS, _op_appends),
    (pickle.EMPTY_DICT, lambda self: self.stack.append({})), (pickle.DICT, _op_dict),
    (pickle.SETITEM, _op_setitem), (pickle.SETITEMS, _op_setitems),
    (pickle.EMPTY_SET, lambda self: self.stack.append(set())), (pickle.ADDITEMS, _op_additems),
    (pickle.FROZENSET, _op_frozenset),
    (pickle.GLOBAL, _op_global), (pickle.STACK_GLOBAL, _op_stack_global),
    (pickle.REDUCE, _op_reduce), (pickle.NEWOBJ, _op_newobj), (pickle.BUILD, _op_build),
    (pickle.BINPERSID, _op_binpersid),
    (pickle.BINGET, _op_binget), (pickle.LONG_BINGET, _op_long_binget),
    (pickle.BINPUT, _op_binput), (pickle.LONG_BINPUT, _op_long_binput), (pickle.MEMOIZE, _op_memoize),
    (pickle.POP, _op_pop), (pickle.POP_MARK, _op_pop_mark), (pickle.DUP, _op_dup),
]}
