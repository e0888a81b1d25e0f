"""The effective receptive field: how strongly each input pixel moves one unit of a layer.

The (theoretical) receptive field (``receptive_field.py``) is the window of input pixels a unit
can see at all. Within it pixels count unequally: a centre pixel reaches the unit along many
more paths through the stacked windows than a corner pixel does. Luo et al. (2016) measure
this with the gradient. For the unit ``u`` (a layer's output at one position, summed over its
channels) and an input ``x``::

    ERF(i, j) = sum_c | d u / d x[c, i, j] |

Its non-zero pixels lie inside the receptive field; there can be fewer of them (a ReLU that
is off, a max pool that picked another pixel pass no gradient), and their strength usually
falls off from the centre, roughly like a Gaussian.

    >>> import numpy as np
    >>> from juanji import nn
    >>> from juanji.explain import effective_receptive_field
    >>> model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3))
    >>> field = effective_receptive_field(model, np.ones((1, 9, 9)), "1")
    >>> field.shape, int((field > 0).sum())      # the centre unit sees a 5x5 window
    ((9, 9), 25)
"""

from __future__ import annotations

import numpy as np

from .. import autograd
from ..autograd.grad_mode import enable_grad
from ._probe import as_array, check_layers, image_batch, layer_outputs

__all__ = ["effective_receptive_field", "unit_position"]


def unit_position(output_shape, position, function: str) -> tuple:
    """The spatial position of one unit of an output ``[N, C, *spatial]``: ``position``, checked,
    or the centre (``size // 2`` along each dim) when it is None."""
    spatial = tuple(output_shape[2:])
    if not spatial:
        raise ValueError(f"{function}: the layer's output {list(output_shape)} has no spatial dims")
    position = tuple(s // 2 for s in spatial) if position is None else tuple(position)
    if len(position) != len(spatial) or not all(0 <= p < s for p, s in zip(position, spatial)):
        raise ValueError(f"{function}: position {position} is outside the layer's output, whose spatial "
                         f"size is {list(spatial)}")
    return position


def effective_receptive_field(model, image, layer_name: str, position=None) -> np.ndarray:
    """``sum_c |d u / d x[c]|`` for the unit ``u`` of ``layer_name`` at ``position`` (default the
    centre of its output), summed over the layer's channels, on the input ``image``. Returns
    a float64 array of the input's spatial shape. The parameters' ``.grad`` are left untouched.
    """
    name = check_layers("effective_receptive_field", model, layer_name)[0]
    try:
        batch = image_batch(image)
    except ValueError as error:
        raise ValueError(f"effective_receptive_field: {error}") from None
    with enable_grad():
        x = batch.detach().requires_grad_(True)
        output = layer_outputs(model, x, [name], record_graph=True).get(name)
        if output is None:
            raise ValueError(f"effective_receptive_field: the forward pass of {type(model).__name__} "
                             f"did not call {name!r}")
        position = unit_position(output.shape, position, "effective_receptive_field")
        unit = output[(0, slice(None)) + position].sum()
        (gradient,) = autograd.grad(unit, [x])
    return np.abs(as_array(gradient)[0]).sum(axis=0)
