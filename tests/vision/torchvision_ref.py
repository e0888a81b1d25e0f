"""The real torchvision as a test oracle, when it is installed.

torchvision 0.28 from the package index is built against CUDA torch; with the CPU torch of the
test extra, ``import torchvision`` stops in ``torch.library.register_fake`` (its C++ operators such as
``nms`` were never registered). The Python parts the tests compare against (utils, datasets,
transforms v1/v2, tv_tensors) need none of those operators, so the import runs with
``register_fake`` replaced by a no-op decorator, and the original is put back right after.

Install it without letting pip touch torch:  ``pip install --no-deps "torchvision==0.28.*"``
(the test extra pins it too; it resolves to the same torch==2.13.0). Tests that need it skip when
it is absent; every test also has self-contained expectations from NumPy/PIL where it can.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import pytest

__all__ = ["import_torchvision"]


def _no_op_register_fake(op, func=None, /, *args, **kwargs):
    return func if func is not None else (lambda fn: fn)


def import_torchvision():
    """The real ``torchvision`` module (skip the calling test when it cannot be imported)."""
    torch = pytest.importorskip("torch")
    module = sys.modules.get("torchvision")
    if module is not None and not module.__name__.startswith("juanji"):
        return module
    if any(type(finder).__name__ == "ModuleAlias" and finder.target_name("torchvision")
           for finder in sys.meta_path):
        pytest.fail("the torchvision alias is installed; a test forgot to uninstall it")
    if importlib.util.find_spec("torchvision") is None:
        pytest.skip("torchvision is not installed (pip install --no-deps 'torchvision==0.28.*')")
    original = torch.library.register_fake
    torch.library.register_fake = _no_op_register_fake
    try:
        import torchvision
        from torchvision import tv_tensors, utils  # noqa: F401
        from torchvision.transforms import v2  # noqa: F401
        from torchvision.transforms.v2 import functional  # noqa: F401
    except Exception as e:  # noqa: BLE001 - any failure means: no oracle here
        pytest.skip(f"torchvision cannot be imported here: {type(e).__name__}: {e}")
    finally:
        torch.library.register_fake = original
    return torchvision
