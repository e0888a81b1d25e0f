"""Receptive fields: which input pixels one output unit of a layer can see.

Along each spatial dim a stack of sliding-window layers is described by three numbers:

- ``size`` r: how many input pixels the receptive field of one unit spans;
- ``jump`` j: how far apart (in input pixels) the fields of two neighbouring units are
  (the product of the strides so far);
- ``start``: the input coordinate of the centre of the first unit's field, where input pixel
  ``i`` has its centre at ``i`` (so ``start`` can be negative, or a half for even sizes).

The input itself is ``r = 1, j = 1, start = 0``. A layer with kernel ``k``, stride ``s``,
left padding ``p`` and dilation ``d`` (effective kernel ``k_eff = d*(k-1) + 1``) maps them to

    r_out     = r_in + (k_eff - 1) * j_in
    j_out     = j_in * s
    start_out = start_in + ((k_eff - 1)/2 - p) * j_in

Unit ``o`` then sees input pixels ``start + o*j - (r-1)/2 .. start + o*j + (r-1)/2``
(:meth:`ReceptiveField.bounds`); parts outside the input are padding. Element-wise layers
(activations, batch norm in eval, dropout in eval) keep the field; where branches are added or
concatenated (a residual block), the field is the union of the branches' fields.

A transposed convolution has no single (r, j, start) (what an output sees depends on its
phase), nor has a layer that mixes every position (adaptive pooling, Linear): their field is
unknown (None), and so is every field computed from it.

    >>> from juanji.explain import chain_receptive_fields
    >>> from juanji import nn
    >>> lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2),
    ...                       nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2))
    >>> chain_receptive_fields(lenet, (1, 28, 28))[-1].receptive_field
    ReceptiveField(size=(16, 16), jump=(4, 4), start=(5.5, 5.5))
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from . import windows
from ._layers import ELEMENTWISE_FLOPS

__all__ = ["ReceptiveField", "union", "PASS_THROUGH_LAYERS", "ChainStep", "chain_receptive_fields"]

# Layers whose output unit sees exactly its own input position (in eval mode): their
# receptive field is their input's. Softmax is left out (along a spatial dim it mixes them).
PASS_THROUGH_LAYERS = tuple(cls for cls in ELEMENTWISE_FLOPS if cls not in (nn.Softmax, nn.Softmin, nn.LogSoftmax)) + (
    nn.GELU, nn.Identity, nn.LocalResponseNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def _number(value: float):
    """A coordinate as an int when whole (6 rather than 6.0), for printing."""
    return int(value) if float(value).is_integer() else float(value)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of the units of one layer, one entry per spatial dim (see the module
    docstring for the meaning and the update rule)."""

    size: tuple
    jump: tuple
    start: tuple

    @classmethod
    def of_input(cls, n_spatial: int) -> "ReceptiveField":
        """The input's own pixels: ``r = 1, j = 1, start = 0`` along each of ``n_spatial`` dims."""
        return cls((1,) * n_spatial, (1,) * n_spatial, (0,) * n_spatial)

    @property
    def n_spatial(self) -> int:
        return len(self.size)

    def through(self, window: "windows.Window") -> "ReceptiveField | None":
        """The field after a sliding-window layer; None after a transposed convolution."""
        if window.transposed or len(window.kernel) != self.n_spatial:
            return None
        size, jump, start = [], [], []
        for r, j, s0, k_eff, s, p in zip(self.size, self.jump, self.start, window.effective_kernel,
                                         window.stride, window.pad_lo):
            size.append(r + (k_eff - 1) * j)
            jump.append(j * s)
            start.append(_number(s0 + ((k_eff - 1) / 2 - p) * j))
        return ReceptiveField(tuple(size), tuple(jump), tuple(start))

    def bounds(self, position=None) -> tuple:
        """Per dim, the first and last input coordinate (inclusive) seen by the unit at
        ``position`` (an index per spatial dim; default the first unit)."""
        position = (0,) * self.n_spatial if position is None else tuple(position)
        out = []
        for r, j, s0, o in zip(self.size, self.jump, self.start, position):
            centre = s0 + o * j
            out.append((_number(centre - (r - 1) / 2), _number(centre + (r - 1) / 2)))
        return tuple(out)

    def as_dict(self) -> dict:
        return {"size": self.size, "jump": self.jump, "start": self.start}


def union(fields) -> ReceptiveField | None:
    """The field of a sum or concatenation of branches: per dim, the smallest interval holding
    every branch's field. None if any branch's field is unknown, or if the branches' jumps
    differ (then the units' fields are not evenly spaced and have no single (r, j, start))."""
    fields = list(fields)
    if not fields or any(f is None for f in fields):
        return None
    first = fields[0]
    if any(f.jump != first.jump or f.n_spatial != first.n_spatial for f in fields):
        return None
    size, start = [], []
    for dim in range(first.n_spatial):
        lo = min(f.bounds()[dim][0] for f in fields)
        hi = max(f.bounds()[dim][1] for f in fields)
        size.append(int(hi - lo + 1))
        start.append(_number((lo + hi) / 2))
    return ReceptiveField(tuple(size), first.jump, tuple(start))


@dataclass(frozen=True)
class ChainStep:
    """One layer of a chain: its name (path in the model), the layer, its output shape (None
    once unknown) and the receptive field of its units (None where it has none)."""

    name: str
    layer: object
    output_shape: tuple | None
    receptive_field: ReceptiveField | None


def _chain_layers(layers, prefix: str = ""):
    """(name, layer) for the leaves of a Sequential, nested Sequentials flattened."""
    items = layers.named_children() if isinstance(layers, nn.Module) else enumerate(layers)
    for name, layer in items:
        path = f"{prefix}{name}"
        if isinstance(layer, nn.Sequential):
            yield from _chain_layers(layer, path + ".")
        elif any(True for _ in layer.children()):
            raise TypeError(f"chain_receptive_fields: expected a chain of layers, but {path!r} "
                            f"({type(layer).__name__}) has layers of its own and may branch; "
                            "juanji.explain.summary() follows any model")
        else:
            yield path, layer


def chain_receptive_fields(layers, input_size) -> list:
    """The receptive field after each layer of a chain (a ``Sequential`` or a list of layers),
    by arithmetic alone: no forward pass.

    ``input_size`` is one sample's shape without the batch dim, ``(C, H, W)`` for 2-d layers.
    Returns a :class:`ChainStep` per layer. Output shapes use ``juanji.kernels.sizes`` as the
    layers do; after a layer whose shape this cannot work out, shapes are None.
    """
    input_size = tuple(input_size)
    if len(input_size) < 1 or not all(isinstance(v, int) and v > 0 for v in input_size):
        raise ValueError(f"chain_receptive_fields: input_size must be a tuple of positive ints "
                         f"(C, *spatial), without the batch dim, got {input_size!r}")
    shape = (1,) + input_size
    field = ReceptiveField.of_input(len(input_size) - 1)
    steps = []
    for name, layer in _chain_layers(layers):
        window = windows.window_of(layer)
        if window is not None:
            field = field.through(window) if field is not None else None
        elif not isinstance(layer, PASS_THROUGH_LAYERS):
            field = None
        if shape is not None:
            shape = windows.output_shape(layer, shape)
            if shape is not None and field is not None and len(shape) - 2 != field.n_spatial:
                field = None
        steps.append(ChainStep(name, layer, shape, field))
    return steps
