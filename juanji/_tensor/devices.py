"""Tensor attributes that scripts ask about the device, layout and memory: ``is_cpu``,
``is_mps``, ``is_xpu``, ``is_meta`` (and the other ``is_*`` of torch's tensor kinds juanji has
not), ``get_device``, ``layout``, ``storage_offset``, ``nbytes``, ``itemsize``, ``mH``/``H``,
``is_signed``, ``is_same_size``, ``dim_order``, ``is_pinned``; and the conversions ``char()`` and
``bfloat16()`` (refused: NumPy has no bfloat16).

juanji's tensors are dense, strided, row-major arrays on the CPU (NumPy) or one GPU (CuPy).
"""

from __future__ import annotations

from .. import _dtype as dt
from .._layouts import strided

__all__ = ["_Devices"]


class _Devices:
    """Tensor attributes: device, layout and memory questions."""

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    # torch's other devices and tensor kinds: never, for a juanji tensor
    is_xpu = is_mps = is_meta = is_quantized = is_sparse = is_sparse_csr = is_mkldnn = is_nested = \
        is_ipu = is_mtia = is_maia = is_xla = is_vulkan = property(lambda self: False)

    def is_inference(self) -> bool:
        """Whether made inside inference_mode (juanji's inference mode makes ordinary tensors)."""
        return False

    def get_device(self) -> int:
        """-1 on the CPU, the GPU's index otherwise."""
        return -1 if self.device.type == "cpu" else (self.device.index or 0)

    @property
    def layout(self):
        return strided

    def storage_offset(self) -> int:
        """0: a juanji tensor starts its own array."""
        return 0

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    @property
    def itemsize(self) -> int:
        return int(self._data.itemsize)

    @property
    def mH(self):
        """The conjugate transpose of the last two dims (for real numbers, ``mT``)."""
        return self.mT

    @property
    def H(self):
        """The conjugate transpose of a matrix (for real numbers, ``T`` of a 2-D tensor)."""
        if self.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.ndim}-D tensor.")
        return self.t() if self.ndim == 2 else self

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def is_same_size(self, other) -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def dim_order(self, *, ambiguity_check=False):
        """The dims from outermost to innermost in memory: (0, 1, ..., n-1) for row-major arrays."""
        strides = self._data.strides
        return tuple(sorted(range(self.ndim), key=lambda k: -abs(strides[k])))

    def is_pinned(self, device=None) -> bool:
        return False

    def char(self):
        return self._cast(dt.int8)

    def bfloat16(self):
        """Refused with one line: NumPy (and so juanji) has no bfloat16 type."""
        return self._cast(dt.to_dtype(dt.bfloat16))
