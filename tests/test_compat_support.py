"""Shared machinery of the ``import juanji as torch`` compatibility audit (``tests/test_compat_*.py``).

No tests here: the helpers that load an ``examples/d2l_*.py`` tutorial script and compare what
it returns when run on juanji with what it returns when run on PyTorch.

:func:`assert_same` walks two results side by side (dicts, lists, tuples, tensors, sizes,
NumPy arrays, numbers, strings) and demands the same structure, the same tensor dtypes and
shapes, exact integers/bools/strings and close floats. Strings are compared after writing
``juanji`` as ``torch``, since reprs name the library (``dtype=torch.int32``).
"""

from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np
import pytest

import juanji

__all__ = ["EXAMPLES", "load_example", "assert_same", "torch_or_skip"]

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def torch_or_skip():
    return pytest.importorskip("torch")


def load_example(name: str):
    """Import ``examples/<name>.py`` as a module (the examples folder is not a package)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


def _is_torch_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "grad_fn")


def _is_torch_size(x) -> bool:
    return type(x).__name__ == "Size" and type(x).__module__.startswith("torch")


def _tolerance(dtype_name: str, rtol, atol):
    default = {"float16": (1e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}.get(dtype_name, (0, 0))
    return (default[0] if rtol is None else rtol), (default[1] if atol is None else atol)


def _compare_arrays(j: np.ndarray, t: np.ndarray, path: str, rtol, atol) -> None:
    assert j.shape == t.shape, f"{path}: shape {list(j.shape)} (juanji) != {list(t.shape)} (torch)"
    if t.dtype.kind in "biuU":
        np.testing.assert_array_equal(j, t, err_msg=f"{path} differs (juanji vs torch)")
    else:
        rtol, atol = _tolerance(t.dtype.name, rtol, atol)
        np.testing.assert_allclose(j, t, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{path} differs (juanji vs torch)")


def assert_same(j, t, path: str = "result", rtol=None, atol=None) -> None:
    """Assert that ``j`` (the juanji run's result) matches ``t`` (the torch run's result)."""
    if _is_torch_tensor(t):
        assert isinstance(j, juanji.Tensor), f"{path}: juanji gave {type(j).__name__}, torch a Tensor"
        j_dtype, t_dtype = str(j.dtype).split(".")[-1], str(t.dtype).split(".")[-1]
        assert j_dtype == t_dtype, f"{path}: dtype {j_dtype} (juanji) != {t_dtype} (torch)"
        assert j.requires_grad == t.requires_grad, \
            f"{path}: requires_grad {j.requires_grad} (juanji) != {t.requires_grad} (torch)"
        _compare_arrays(np.array(j.detach().numpy()), t.detach().cpu().numpy(), path, rtol, atol)
    elif _is_torch_size(t):
        assert isinstance(j, juanji.Size), f"{path}: juanji gave {type(j).__name__} {j!r}, torch a Size {t!r}"
        assert tuple(j) == tuple(t), f"{path}: {tuple(j)} (juanji) != {tuple(t)} (torch)"
    elif isinstance(t, np.ndarray):
        assert isinstance(j, np.ndarray), f"{path}: juanji gave {type(j).__name__}, torch an ndarray"
        assert j.dtype == t.dtype, f"{path}: dtype {j.dtype} (juanji) != {t.dtype} (torch)"
        _compare_arrays(j, t, path, rtol, atol)
    elif isinstance(t, dict):
        assert isinstance(j, dict), f"{path}: juanji gave {type(j).__name__}, torch a dict"
        assert list(j) == list(t), f"{path}: keys {list(j)} (juanji) != {list(t)} (torch)"
        for key in t:
            assert_same(j[key], t[key], f"{path}[{key!r}]", rtol, atol)
    elif isinstance(t, (list, tuple)):
        kind = "list" if isinstance(t, list) else "tuple"
        assert isinstance(j, list if kind == "list" else tuple), f"{path}: juanji gave {type(j).__name__}, torch a {kind}"
        assert len(j) == len(t), f"{path}: {len(j)} items (juanji) != {len(t)} (torch)"
        for i, (ji, ti) in enumerate(zip(j, t)):
            assert_same(ji, ti, f"{path}[{i}]", rtol, atol)
    elif isinstance(t, bool) or t is None:
        assert j is t, f"{path}: {j!r} (juanji) != {t!r} (torch)"
    elif isinstance(t, int):
        assert type(j) is int and j == t, f"{path}: {j!r} (juanji) != {t!r} (torch)"
    elif isinstance(t, float):
        assert type(j) is float, f"{path}: juanji gave {type(j).__name__} {j!r}, torch a float {t!r}"
        r, a = _tolerance("float32", rtol, atol)  # Python floats here come from float32 tensors
        assert j == pytest.approx(t, rel=r, abs=a, nan_ok=True), f"{path}: {j!r} (juanji) != {t!r} (torch)"
    elif isinstance(t, str):
        assert isinstance(j, str), f"{path}: juanji gave {type(j).__name__}, torch a str"
        assert j.replace("juanji", "torch") == t, f"{path}:\n{j}\n(juanji) !=\n{t}\n(torch)"
    else:
        raise TypeError(f"{path}: assert_same does not know how to compare {type(t).__name__}")
