"""Shared test helpers: run the same computation in juanji and in torch and compare.

The one helper every op test calls is :func:`compare_with_torch`::

    from tests.helpers import compare_with_torch
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    compare_with_torch(lambda t: t.exp().sum(1), None, [x])

It builds a juanji leaf and a torch leaf from each NumPy array (floating arrays require grad),
runs ``jfn`` on the juanji ones and ``tfn`` on the torch ones (``tfn=None`` means "the same
function", for code that only uses methods both libraries share), compares every output's
shape, dtype and values, then backpropagates the *same* random upstream gradient through both
and compares the gradient of every input.

Tolerances default by dtype (float32: rtol 1e-5, atol 1e-6; float64: rtol 1e-10, atol 1e-12);
pass ``rtol``/``atol`` to widen them for ops that accumulate (long sums, matmul).
"""

from __future__ import annotations

import numpy as np
import pytest

import juanji

__all__ = ["compare_with_torch", "compare_values_and_grads", "both_raise", "assert_close", "to_numpy",
           "random_array", "default_tolerance", "torch_dtype", "juanji_dtype", "FLOAT_DTYPES"]

FLOAT_DTYPES = ("float32", "float64")

_TOLERANCE = {
    "float16": (1e-3, 1e-3),
    "float32": (1e-5, 1e-6),
    "float64": (1e-10, 1e-12),
}


def default_tolerance(dtype_name: str) -> tuple[float, float]:
    """(rtol, atol) for comparing results of this dtype; exact for integers and bool."""
    return _TOLERANCE.get(dtype_name, (0.0, 0.0))


def _dtype_name(d) -> str:
    """'float32' for juanji.float32, torch.float32 and np.float32 alike."""
    if isinstance(d, np.dtype) or isinstance(d, type):
        return np.dtype(d).name
    return str(d).split(".")[-1]


def torch_dtype(name_or_dtype):
    torch = pytest.importorskip("torch")
    return getattr(torch, _dtype_name(name_or_dtype))


def juanji_dtype(name_or_dtype):
    return getattr(juanji, _dtype_name(name_or_dtype))


def to_numpy(t) -> np.ndarray:
    """A NumPy copy of a juanji Tensor, a torch Tensor, or anything array-like."""
    if isinstance(t, juanji.Tensor):
        return np.array(t.detach()._host())
    if hasattr(t, "detach") and hasattr(t, "cpu"):  # a torch tensor
        return t.detach().cpu().numpy().copy()
    return np.asarray(t)


def random_array(shape, dtype="float32", rng=None, low=-2.0, high=2.0) -> np.ndarray:
    """Random test data: floats uniform on [low, high), integers on [low, high), bools 50/50."""
    rng = np.random.default_rng(0) if rng is None else rng
    name = _dtype_name(dtype)
    shape = tuple(shape)
    if name == "bool":
        return rng.random(shape) < 0.5
    if name.startswith(("int", "uint")):
        return rng.integers(int(low), int(high), size=shape).astype(name)
    return rng.uniform(low, high, size=shape).astype(name)


def assert_close(actual, expected, rtol=None, atol=None, what="value", equal_nan=True) -> None:
    """Compare a juanji result with a torch result: same shape, same dtype, close values."""
    a, e = to_numpy(actual), to_numpy(expected)
    a_dt = _dtype_name(actual.dtype) if hasattr(actual, "dtype") else a.dtype.name
    e_dt = _dtype_name(expected.dtype) if hasattr(expected, "dtype") else e.dtype.name
    assert a_dt == e_dt, f"{what}: dtype {a_dt} (juanji) != {e_dt} (torch)"
    assert a.shape == e.shape, f"{what}: shape {list(a.shape)} (juanji) != {list(e.shape)} (torch)"
    d_rtol, d_atol = default_tolerance(e_dt)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=f"{what} differs (juanji vs torch)")
    else:
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                                   err_msg=f"{what} differs (juanji vs torch)")


def _as_tuple(out):
    if isinstance(out, (tuple, list)):
        return tuple(out)
    return (out,)


def _is_float_array(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def compare_with_torch(jfn, tfn, inputs, rtol=None, atol=None, grad=True, grad_rtol=None, grad_atol=None,
                       seed=0, requires_grad=None):
    """Run ``jfn`` (juanji) and ``tfn`` (torch; None = same function) on matching inputs and compare.

    inputs: a list. Each NumPy array becomes a juanji and a torch tensor (a copy each, so the
    two runs cannot see each other's in-place writes); floating arrays are leaves that require
    grad (when ``grad``), unless ``requires_grad`` (a list of bools, one per input) says
    otherwise. Anything else (ints, tuples, strings, None) is passed through unchanged.

    Checks: every output's dtype, shape and values (integer/bool outputs exactly); then, with
    ``grad``, the same random upstream gradient is backpropagated from every floating output
    that requires grad, and each input's ``.grad`` is compared (an input torch leaves without
    gradient must have none or a zero one in juanji). Gradient tolerances default to the value
    tolerances.

    If torch raises (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError), juanji must raise the
    same exception class; then ``(None, None)`` is returned.

    Returns ``(juanji_outputs, torch_outputs)`` as tuples, for further checks.
    """
    torch = pytest.importorskip("torch")
    tfn = jfn if tfn is None else tfn
    flags = []
    j_in, t_in = [], []
    for k, x in enumerate(inputs):
        if isinstance(x, np.ndarray):
            wants = grad and _is_float_array(x)
            if requires_grad is not None:
                wants = bool(requires_grad[k])
            flags.append(wants)
            j_in.append(juanji.tensor(x.copy(), requires_grad=wants))
            t_in.append(torch.tensor(x.copy(), requires_grad=wants))
        else:
            flags.append(False)
            j_in.append(x)
            t_in.append(x)

    try:
        t_out = _as_tuple(tfn(*t_in))
    except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError) as torch_error:
        # torch refuses these inputs: juanji must refuse them too, with the same kind of error
        with pytest.raises(type(torch_error)):
            jfn(*j_in)
        return None, None
    j_out = _as_tuple(jfn(*j_in))
    assert len(j_out) == len(t_out), f"juanji returned {len(j_out)} outputs, torch {len(t_out)}"
    for i, (jo, to) in enumerate(zip(j_out, t_out)):
        if not hasattr(to, "dtype"):  # a Python number or bool (e.g. allclose, item)
            assert jo == pytest.approx(to, rel=rtol or 1e-6, abs=atol or 1e-6, nan_ok=True), \
                f"output {i}: {jo!r} (juanji) != {to!r} (torch)"
            continue
        assert_close(jo, to, rtol, atol, what=f"output {i}")

    if not grad or not any(flags):
        return j_out, t_out

    rng = np.random.default_rng(seed)
    j_roots, j_grads, t_roots, t_grads = [], [], [], []
    for jo, to in zip(j_out, t_out):
        if not (hasattr(to, "requires_grad") and to.requires_grad):
            continue
        assert jo.requires_grad, "juanji output does not require grad where torch's does"
        upstream = rng.standard_normal(tuple(to.shape)).astype(_dtype_name(to.dtype))
        j_roots.append(jo)
        j_grads.append(juanji.tensor(upstream))
        t_roots.append(to)
        t_grads.append(torch.tensor(upstream))
    if not t_roots:
        return j_out, t_out
    torch.autograd.backward(t_roots, t_grads)
    juanji.autograd.backward(j_roots, j_grads)

    g_rtol = rtol if grad_rtol is None else grad_rtol
    g_atol = atol if grad_atol is None else grad_atol
    for k, (jt, tt, wants) in enumerate(zip(j_in, t_in, flags)):
        if not wants:
            continue
        if tt.grad is None:
            assert jt.grad is None or not np.any(to_numpy(jt.grad)), \
                f"input {k}: torch gives no gradient but juanji gives a nonzero one"
            continue
        assert jt.grad is not None, f"input {k}: juanji gives no gradient, torch gives {tt.grad}"
        assert_close(jt.grad, tt.grad, g_rtol, g_atol, what=f"gradient of input {k}")
    return j_out, t_out


def compare_values_and_grads(j_fn, t_fn, arrays, dtype, seed=1, *, tolerances):
    """Run ``j_fn`` on juanji leaves and ``t_fn`` on torch leaves made from the same ``arrays``
    (one array, or a list in which None stays None); compare the output, then backpropagate one
    seeded random upstream gradient through both and compare the gradient of every array input
    (its dtype must stay ``dtype``). An output pair ``(values, indices)`` (pooling with
    ``return_indices``) must have equal int64 indices. ``tolerances[dtype]`` is ``{rtol, atol}``.

    The grid tests of conv, pooling, padding and sampling use it with their own tolerances:
    ``_compare = functools.partial(compare_values_and_grads, tolerances=TOL)``.
    """
    torch = pytest.importorskip("torch")
    arrays = [arrays] if isinstance(arrays, np.ndarray) else list(arrays)
    j_in = [None if a is None else juanji.tensor(a, requires_grad=True) for a in arrays]
    t_in = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    jy, ty = j_fn(*j_in), t_fn(*t_in)
    if isinstance(ty, tuple):
        (jy, j_indices), (ty, t_indices) = jy, ty
        np.testing.assert_array_equal(j_indices.numpy(), t_indices.numpy())
        assert j_indices.dtype == juanji.int64
    tol = tolerances[dtype]
    assert tuple(jy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), **tol)
    upstream = np.random.default_rng(seed).standard_normal(tuple(ty.shape)).astype(dtype)
    jy.backward(juanji.tensor(upstream))
    ty.backward(torch.tensor(upstream))
    for j, t in zip(j_in, t_in):
        if j is not None:
            assert j.grad.numpy().dtype == dtype
            np.testing.assert_allclose(j.grad.numpy(), t.grad.numpy(), **tol)


def both_raise(juanji_call, torch_call=None, error=None, match=None) -> str:
    """torch and juanji both refuse a call; returns juanji's message.

    ``both_raise(lambda lib: lib.nn.LazyConv2d(6, 3)(lib.ones(5, 5)))``: one function called
    with each library. ``both_raise(j_call, t_call, error, match)``: two calls.
    juanji must raise ``error`` (default: the exception class torch raised), its message
    matching the regular expression ``match`` where given.
    """
    torch = pytest.importorskip("torch")
    if torch_call is None:
        call = juanji_call
        juanji_call, torch_call = (lambda: call(juanji)), (lambda: call(torch))
    with pytest.raises(Exception) as torch_error:
        torch_call()
    with pytest.raises(error or type(torch_error.value), match=match) as juanji_error:
        juanji_call()
    return str(juanji_error.value)


def assert_generated(script: str):
    """The module that ``scripts/<script>.py`` generates is exactly what the script writes now (an edit
    by hand would be lost at the next run); returns the script as a module."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "scripts" / f"{script}.py"
    spec = importlib.util.spec_from_file_location(script, path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.TARGET.read_text() == gen.source()
    return gen


def conv_matches_torch(x_shape, w_shape, kwargs, transposed, dtype, seed):
    """``conv2d`` (or ``conv_transpose2d``) with bias on random float arrays of ``dtype``, forward and
    every gradient (input, weight, bias), against torch computing in float64: rtol 1e-4 in float32
    (the fast routes' rounding), 1e-10 in float64, atol that relative to each result's largest value."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[1] if transposed else w_shape[0]).astype(dtype)
    name = "conv_transpose2d" if transposed else "conv2d"
    tfn, jfn = getattr(torch.nn.functional, name), getattr(juanji.nn.functional, name)
    tx, tw, tb = (torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b))
    ty = tfn(tx, tw, tb, **kwargs)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g.astype(np.float64)))
    jx, jw, jb = (juanji.tensor(a, requires_grad=True) for a in (x, w, b))
    jy = jfn(jx, jw, jb, **kwargs)
    jy.backward(juanji.tensor(g))
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    for mine, theirs in ((jy, ty), (jx.grad, tx.grad), (jw.grad, tw.grad), (jb.grad, tb.grad)):
        mine, theirs = mine.detach().numpy(), theirs.detach().numpy()
        assert mine.dtype == dtype
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())
