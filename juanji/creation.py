"""Tensor creation: zeros/ones/full/empty (+ _like), arange, linspace, eye, and the random ones.

All random draws go through juanji's generator (``manual_seed``), or the ``generator`` argument.
"""

from __future__ import annotations

import numpy as np

from . import _dtype as dt
from ._out import supports_out
from .backend import generator as _gen
from .backend import device as Device
from .ops.sampled import Sampled
from .ops.shape import Alias
from .settings import SETTINGS
from .backend import xp_for
from ._tensor.arguments import _sizes
from ._tensor.constructors import LEGACY_TYPE_NAMES, _legacy_array
from .tensor import Tensor

__all__ = ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like",
           "arange", "linspace", "logspace", "eye", "rand", "randn", "randint", "rand_like", "randn_like",
           "randint_like", "normal", "randperm", "bernoulli", "multinomial", "poisson",
           *LEGACY_TYPE_NAMES.values()]


def _make(arr, dtype, device, requires_grad) -> Tensor:
    if device is None:
        device = SETTINGS.default_device  # juanji.set_default_device
    if device is not None:
        xp = xp_for(device)
        if xp is not np:
            arr = xp.asarray(arr)
    t = Tensor._from_array(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype) -> dt.dtype:
    return dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()


def _check_sizes(name, shape):
    for s in shape:
        if s < 0:
            raise RuntimeError(f"{name}: trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


def _shape(name, size, kwargs):
    """The shape from ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``."""
    size_kw = kwargs.pop("size", None)
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if size_kw is not None:
        if size:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        size = (size_kw,)
    return _check_sizes(name, _sizes(size))


@supports_out
def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          **kwargs) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    shape = _shape("zeros", size, kwargs)
    return _make(np.zeros(shape, _float_dtype(dtype).np), dtype, device, requires_grad)


@supports_out
def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
         **kwargs) -> Tensor:
    """A tensor of ones."""
    shape = _shape("ones", size, kwargs)
    return _make(np.ones(shape, _float_dtype(dtype).np), dtype, device, requires_grad)


@supports_out
def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None, **kwargs) -> Tensor:
    """An uninitialised tensor in torch; juanji fills it with zeros (NumPy's ``empty`` could leak old
    memory contents into a learner's printouts, and zeros cost next to nothing more)."""
    shape = _shape("empty", size, kwargs)
    return _make(np.zeros(shape, _float_dtype(dtype).np), dtype, device, requires_grad)


@supports_out
def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape = _check_sizes("full", _sizes((size,)))
    if dtype is None:
        if isinstance(fill_value, bool):
            d = dt.bool
        elif isinstance(fill_value, int):
            d = dt.int64
        else:
            d = dt.get_default_dtype()
    else:
        d = dt.to_dtype(dtype)
    return _make(np.full(shape, fill_value, d.np), d, device, requires_grad)


def _like_dtype(t, dtype):
    return dt.to_dtype(dtype) if dtype is not None else t.dtype


def zeros_like(t, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None,
               pin_memory=False) -> Tensor:
    return _make(np.zeros(t.shape, _like_dtype(t, dtype).np), dtype, device, requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None,
              pin_memory=False) -> Tensor:
    return _make(np.ones(t.shape, _like_dtype(t, dtype).np), dtype, device, requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None,
               pin_memory=False) -> Tensor:
    return zeros_like(t, dtype, device, requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False, *, layout=None, memory_format=None,
              pin_memory=False) -> Tensor:
    return _make(np.full(t.shape, fill_value, _like_dtype(t, dtype).np), dtype, device, requires_grad)


@supports_out
def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from ``start`` (inclusive) to ``end`` (exclusive); int64 unless any bound is a float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("arange: upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        d = dt.int64 if all(isinstance(v, int) for v in vals) else dt.get_default_dtype()
    else:
        d = dt.to_dtype(dtype)
    n = int(np.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(n, dtype=np.float64 if d.is_floating_point else np.int64) * vals[2]).astype(d.np)
    return _make(arr, d, device, requires_grad)


@supports_out
def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    d = _float_dtype(dtype)
    return _make(np.linspace(start, end, steps).astype(d.np), d, device, requires_grad)


@supports_out
def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False) -> Tensor:
    d = _float_dtype(dtype)
    return _make(np.logspace(start, end, steps, base=base).astype(d.np), d, device, requires_grad)


@supports_out
def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(np.eye(n, m, dtype=_float_dtype(dtype).np), dtype, device, requires_grad)


def _draw_float(name, sample, size, kwargs, dtype, device, requires_grad):
    d = _float_dtype(dtype)
    arr = sample(_shape(name, size, kwargs), d)
    return _make(arr, d, device, requires_grad)


def _native(d: dt.dtype):
    """NumPy draws float32 natively; other float dtypes are drawn in float64 and cast."""
    return d.np if d.np in (np.float32, np.float64) else np.float64


@supports_out
def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False, **kwargs) -> Tensor:
    """Uniform on [0, 1); the shape as in ``zeros`` (``rand(2, 3)``, ``rand((2, 3))``, ``rand(size=(2, 3))``)."""
    return _draw_float("rand", lambda s, d: _gen(generator).random(s, dtype=_native(d)).astype(d.np, copy=False),
                       size, kwargs, dtype, device, requires_grad)


@supports_out
def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, **kwargs) -> Tensor:
    """Standard normal; the shape as in ``zeros`` (``randn(2, 3)``, ``randn(size=(2, 3))``)."""
    return _draw_float("randn",
                       lambda s, d: _gen(generator).standard_normal(s, dtype=_native(d)).astype(d.np, copy=False),
                       size, kwargs, dtype, device, requires_grad)


def rand_like(t, dtype=None, device=None, requires_grad=False, *, generator=None, layout=None, memory_format=None
              ) -> Tensor:
    return rand(t.shape, generator=generator, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False, *, generator=None, layout=None, memory_format=None
               ) -> Tensor:
    return randn(t.shape, generator=generator, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


@supports_out
def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers uniform on [low, high); ``randint(high, size)`` and ``randint(low, high, size)``."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint() missing required argument 'size'")
    if high is None:  # randint(high, size=...): the one bound given is the upper one
        if isinstance(low, bool) or not isinstance(low, (int, np.integer)):
            raise TypeError("randint() missing required argument 'high'")
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    arr = _gen(generator).integers(low, high, _sizes((size,))).astype(d.np)
    return _make(arr, d, device, requires_grad)


def randint_like(t, low=0, high=None, dtype=None, *, generator=None, device=None, requires_grad=False, layout=None,
                 memory_format=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, t.shape, generator=generator, dtype=dtype or t.dtype, device=device,
                   requires_grad=requires_grad)


@supports_out
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``normal(mean, std, size)`` with floats, or elementwise with tensor mean/std."""
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(std, Tensor) and (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        arr = (m + s * g.standard_normal(shape)).astype(ref._data.dtype)
        if getattr(mean, "requires_grad", False) or getattr(std, "requires_grad", False):
            # recorded as torch does, with a zero gradient for mean and std (no reparametrisation)
            overload = 3 if isinstance(mean, Tensor) and isinstance(std, Tensor) else 1 if isinstance(mean, Tensor) else 2
            parameters = [p for p in (mean, std) if isinstance(p, Tensor)]
            return Sampled.variant(f"NormalBackward{overload}").apply(*parameters, draws=arr)
        return _make(arr, ref.dtype, device, requires_grad)
    if size is None:
        raise TypeError("normal() with float mean and std needs a size")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    d = _float_dtype(dtype)
    arr = (mean + std * g.standard_normal(_sizes((size,)))).astype(d.np)
    return _make(arr, d, device, requires_grad)


@supports_out
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    return _make(_gen(generator).permutation(n).astype(d.np), d, device, requires_grad)


@supports_out
def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """1 with the probabilities in ``input`` (or p), else 0 (see ``Tensor.bernoulli``)."""
    return input.bernoulli(p, generator=generator)


@supports_out
def multinomial(input, num_samples, replacement=False, *, generator=None) -> Tensor:
    """Category indices drawn from each row's weights (see ``Tensor.multinomial``)."""
    return input.multinomial(num_samples, replacement, generator=generator)


def poisson(input, generator=None) -> Tensor:
    """Poisson counts with the rates in ``input``."""
    return input._poisson(generator)


# ---------------------------------------------------------------------------- legacy typed constructors
class LegacyTensorType(type):
    """The type of ``juanji.FloatTensor``, ``juanji.LongTensor``, ... (torch's ``torch.tensortype``).

    Each one is a constructor of its dtype, with torch's legacy argument forms::

        juanji.LongTensor([1, 2])        # tensor([1, 2]): the data, converted to int64
        juanji.FloatTensor(2, 3)         # a 2x3 float32 tensor (uninitialised in torch, zeros here)
        juanji.FloatTensor(np_array)     # shares the array's memory when it is float32, else converts

    and a type test: ``isinstance(x, juanji.FloatTensor)`` is whether ``x`` is a float32 tensor on
    the CPU. They are not subclasses of ``juanji.Tensor`` (nor are torch's).
    """

    def __call__(cls, *args, device=None):
        if device is not None and Device(device).type != "cpu":
            raise RuntimeError(f"legacy constructor expects device type: cpu but device type: "
                               f"{Device(device).type} was passed")
        data = args[0] if len(args) == 1 else None
        arr = _legacy_array(cls.__name__, cls.dtype, args)
        if isinstance(data, Tensor) and data.requires_grad:
            return Alias.apply(data, arr.shape)  # the same memory, still in the graph, as in torch
        return Tensor._from_array(arr)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"


def _legacy_type(name: str, d: dt.dtype) -> LegacyTensorType:
    doc = f"``juanji.{name}(data)`` or ``juanji.{name}(*sizes)``: a CPU tensor of dtype {d} (see LegacyTensorType)."
    return LegacyTensorType(name, (), {"dtype": d, "is_cuda": False, "__module__": "juanji", "__doc__": doc})


for _dtype_name, _type_name in LEGACY_TYPE_NAMES.items():
    globals()[_type_name] = _legacy_type(_type_name, getattr(dt, _dtype_name))
