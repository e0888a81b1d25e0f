"""juanji's version (``torch.version``): ``__version__``; ``cuda`` is None, as in torch's CPU builds
(juanji runs on a GPU through CuPy, not through a CUDA build of its own)."""

__all__ = ["__version__", "cuda"]

__version__ = "0.1.0"  # the package's version too (pyproject.toml reads it here)
cuda = None
