"""juanji.utils: helpers outside the tensor core, mirroring torch.utils (``juanji.utils.data``)."""

from . import data

__all__ = ["data"]
