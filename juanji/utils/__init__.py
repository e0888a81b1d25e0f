"""juanji.utils: helpers outside the tensor core, mirroring torch.utils (``juanji.utils.data``,
``juanji.utils.hooks``, ``model_zoo``, ``checkpoint``).

``data`` loads on first use: ``utils.hooks`` sits below the Tensor (which imports it), and
``utils.data`` above it (it builds Tensors), so importing the package must not pull ``data`` in.
"""

import importlib

__all__ = ["data", "hooks", "model_zoo", "checkpoint"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
