"""Matrix products: ``@``, ``matmul``, ``mm``, ``bmm``, ``mv``, ``dot``/``inner``, ``outer``/``ger``.

``matmul`` follows torch's rules (1-D operands are vectors, leading dims are batch dims and
broadcast) and, like torch, does not promote: both operands must have the same dtype.
``_check_matmul`` gives torch's error for each case, with both shapes added.
"""

from __future__ import annotations

from ..ops import linalg as L
from .binary import _broadcast_error, _to_operand

__all__ = ["_MatrixProducts", "_check_matmul"]

# C type names torch uses in its matmul dtype message
_C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
                 "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _product(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _check_matmul(a, b) -> None:
    """torch's matmul checks, in torch's words, with both shapes added."""
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    k = sa[-1]
    k2 = sb[0] if len(sb) == 1 else sb[-2]
    if k == k2 and a._data.dtype == b._data.dtype:
        return
    shapes = f"(matmul: shapes {list(sa)} and {list(sb)})"
    if k != k2:
        if a.ndim == 1 and b.ndim == 1:
            message = (f"inconsistent tensor size, expected tensor [{k}] and src [{k2}] to have the same number of "
                       f"elements, but got {k} and {k2} elements respectively")
        elif b.ndim == 1:
            rows = _product(a.shape[:-1])
            message = f"size mismatch, got input ({rows}), mat ({rows}x{k}), vec ({k2})"
        elif b.ndim == 2:
            message = f"mat1 and mat2 shapes cannot be multiplied ({_product(a.shape[:-1])}x{k} and {k2}x{b.shape[-1]})"
        else:
            batch = _product(b.shape[:-2])
            message = (f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k}] but got: "
                       f"[{batch}, {k2}].")
        raise RuntimeError(f"{message} {shapes}")
    if a.dtype is not b.dtype:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {a.dtype.scalar_name} and "
                               f"{b.dtype.scalar_name}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_C_TYPE_NAMES[a.dtype.name]} != "
                           f"{_C_TYPE_NAMES[b.dtype.name]}")


class _MatrixProducts:
    """Tensor methods: matrix products."""

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _to_operand(other, self).matmul(self)

    def matmul(self, other) -> "Tensor":
        """Matrix product with torch's rules: 1-D operands are vectors (a row on the left, a column on
        the right, the added dim removed after), dims before the last two are batch dims and broadcast.
        Both operands must have the same dtype (torch does not promote here)."""
        other = _to_operand(other, self)
        _check_matmul(self, other)
        try:
            return L.MatMul.apply(self, other)
        except ValueError:
            raise _broadcast_error(self, other, "matmul", skip_last=2) from None

    def mm(self, mat2):
        """2-D matrix product."""
        if self.ndim != 2:
            raise RuntimeError(f"self must be a matrix (mm: got a {self.ndim}-D tensor {list(self.shape)})")
        if mat2.ndim != 2:
            raise RuntimeError(f"mat2 must be a matrix (mm: got a {mat2.ndim}-D tensor {list(mat2.shape)})")
        return self.matmul(mat2)

    def bmm(self, mat2):
        """Batched matrix product of [B, n, m] and [B, m, p] (no broadcasting)."""
        if self.ndim != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor (bmm: got {list(self.shape)})")
        if mat2.ndim != 3:
            raise RuntimeError(f"batch2 must be a 3D tensor (bmm: got {list(mat2.shape)})")
        b, _, k = self.shape
        if mat2.shape[0] != b or mat2.shape[1] != k:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: "
                               f"[{mat2.shape[0]}, {mat2.shape[1]}]. (bmm: shapes {list(self.shape)} and "
                               f"{list(mat2.shape)})")
        _check_matmul(self, mat2)
        return L.Bmm.apply(self, mat2)

    def mv(self, vec):
        """Matrix-vector product."""
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self.ndim}, {vec.ndim}")
        return self.matmul(vec)

    def dot(self, other):
        """Inner product of two 1-D tensors."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D tensors")
        return self.matmul(other)

    inner = dot

    def outer(self, vec2):
        """out[i, j] = self[i] * vec2[j]."""
        for name, v in (("self", self), ("vec2", vec2)):
            if v.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer
