"""``ReduceOp``: how a reducing collective combines the ranks' values (torch.distributed.ReduceOp).

    SUM, PRODUCT, MIN, MAX          elementwise over the ranks
    AVG                             SUM divided by the group's size (floating-point tensors)
    BAND, BOR, BXOR                 bitwise (integer and bool tensors)

``dist.ReduceOp.SUM`` is a member of the enum ``ReduceOp.RedOpType``, as in torch.
"""

from __future__ import annotations

import enum

__all__ = ["ReduceOp", "RedOpType"]


class RedOpType(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """torch.distributed.ReduceOp: the reductions as class attributes (``ReduceOp.SUM`` ...)."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


def as_red_op(op, who: str) -> RedOpType:
    """``op`` as a RedOpType (also accepts the names, 'sum', 'avg', ...), or torch's error."""
    if isinstance(op, RedOpType):
        return op
    if isinstance(op, str) and op.upper() in RedOpType.__members__:
        return RedOpType[op.upper()]
    raise ValueError(f"{who}: expected op to be a dist.ReduceOp (SUM, AVG, PRODUCT, MIN, MAX, BAND, BOR, BXOR), "
                     f"got {op!r}")


def mpi_op(MPI, op: RedOpType, is_bool: bool):
    """The MPI operation for ``op`` (AVG reduces with SUM and divides afterwards). On bool
    tensors SUM/MAX are a logical or and PRODUCT/MIN a logical and, as torch does."""
    if is_bool:
        return {RedOpType.SUM: MPI.LOR, RedOpType.MAX: MPI.LOR, RedOpType.BOR: MPI.LOR,
                RedOpType.PRODUCT: MPI.LAND, RedOpType.MIN: MPI.LAND, RedOpType.BAND: MPI.LAND,
                RedOpType.BXOR: MPI.LXOR, RedOpType.AVG: MPI.LOR}[op]
    return {RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD, RedOpType.MIN: MPI.MIN,
            RedOpType.MAX: MPI.MAX, RedOpType.BAND: MPI.BAND, RedOpType.BOR: MPI.BOR, RedOpType.BXOR: MPI.BXOR}[op]
