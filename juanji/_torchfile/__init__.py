"""PyTorch's file formats without torch: ``torch.save`` files in (``read``), its zip format out
(``write``), through a restricted unpickler that runs no code (``unpickle``).

``juanji.load`` and ``juanji.save(..., format="torch")`` are the public doors
(``juanji/serialization.py``).
"""

from .read import TorchFileError, load_torch_file, sniff
from .write import write_torch_file

__all__ = ["TorchFileError", "load_torch_file", "sniff", "write_torch_file"]
