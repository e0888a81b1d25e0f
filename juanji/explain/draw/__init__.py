"""``juanji draw``: the diagrams that teach convolutions, computed by juanji on the numbers given.

Each diagram runs the operation with juanji (``F.conv2d``, ``F.max_pool2d``,
``F.conv_transpose2d``, ``chain_receptive_fields``, ``nn.init``) and draws what it computed,
every value written in its cell, as d2l's figures show it:

    correlation       a 3x3 input ⋆ a 2x2 kernel -> 19, 25, 37, 43 (the window highlighted)
    padding-stride    zero padding and strides, the output-size formula filled in
    channels-in       two input channels: a kernel each, the results summed
    channels-out      three output channels, a kernel per (output, input) pair
    conv1x1           a 1x1 convolution as one fully connected layer at every pixel
    max-pool          maximum pooling;  avg-pool: average pooling
    transposed        transposed convolution as scaled kernels added up
    receptive-field   the receptive field growing through a stack of layers
    init              the 100-layer initialisation experiment, log scale

    juanji draw correlation --out corr.png
    juanji draw correlation --input "1 2 3; 4 5 6; 7 8 9" --kernel "1 0; 0 -1"
    juanji draw all --out figures/

    >>> import os, tempfile
    >>> from juanji.explain.draw import draw
    >>> diagram = draw("correlation", os.path.join(tempfile.mkdtemp(), "corr.png"))
    >>> diagram.grids["output"].tolist()
    [[19.0, 25.0], [37.0, 43.0]]
"""

from __future__ import annotations

import os

from ._canvas import Diagram
from .convolution import channels_in, channels_out, conv1x1, correlation, padding_stride
from .initialisation import initialisation_experiment
from .pooling import pooling
from .receptive import receptive_field_growth
from .transposed import transposed

__all__ = ["draw", "DIAGRAMS", "Diagram", "correlation", "padding_stride", "channels_in", "channels_out",
           "conv1x1", "pooling", "transposed", "receptive_field_growth", "initialisation_experiment"]

# name -> (function, the options it takes from the command line)
DIAGRAMS = {
    "correlation": (correlation, ("X", "K")),
    "padding-stride": (padding_stride, ("X", "K", "padding", "stride")),
    "channels-in": (channels_in, ()),
    "channels-out": (channels_out, ()),
    "conv1x1": (conv1x1, ()),
    "max-pool": (lambda path, **kw: pooling(path, mode="max", **kw), ("X", "kernel_size", "stride")),
    "avg-pool": (lambda path, **kw: pooling(path, mode="avg", **kw), ("X", "kernel_size", "stride")),
    "transposed": (transposed, ("X", "K", "stride")),
    "receptive-field": (receptive_field_growth, ()),
    "init": (initialisation_experiment, ()),
}


def draw(name: str, path, **options) -> Diagram:
    """Draw the diagram ``name`` (a key of ``DIAGRAMS``) to ``path`` (PNG); ``options`` are the
    numbers to use (``X``, ``K``, ``padding``, ``stride``, ``kernel_size``) where it takes them."""
    if name not in DIAGRAMS:
        raise ValueError(f"draw: unknown diagram {name!r}; choose from {', '.join(DIAGRAMS)}")
    function, accepted = DIAGRAMS[name]
    unused = sorted(k for k, v in options.items() if v is not None and k not in accepted)
    if unused:
        raise ValueError(f"draw {name}: takes no {', '.join(unused)} (it takes {', '.join(accepted) or 'nothing'})")
    return function(os.fspath(path), **{k: v for k, v in options.items() if v is not None})
