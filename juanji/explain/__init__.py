"""juanji.explain: tools that explain a convolutional network.

- :func:`summary` runs a model once and tabulates every layer: output shape, parameters, MACs
  and FLOPs, receptive field, and the memory a forward pass needs.
- :func:`chain_receptive_fields` works out the receptive field after each layer of a chain by
  arithmetic alone; :class:`ReceptiveField` holds one (size, jump, start).
- :func:`layer_cost` gives one layer's MACs and FLOPs (the conventions are in ``flops.py``);
  :func:`output_shape` its output shape, from the same output-size rule the layers use.
- :func:`effective_receptive_field`: how strongly each input pixel moves one unit (the
  gradient), beside the theoretical field.
- :func:`plot_kernels`, :func:`plot_feature_maps` and :func:`plot_receptive_field` draw
  kernels, activations and receptive fields to PNG files.

    >>> from juanji import nn
    >>> from juanji.explain import summary
    >>> print(summary(nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU()), (1, 28, 28)))
    Sequential on input [1, 1, 28, 28] (juanji.float32)
    -----------------------------------------------------------------------
    Layer  Type    Output shape    Params    MACs    FLOPs  RF  Jump  Start
    -----------------------------------------------------------------------
    0      Conv2d  [1, 6, 24, 24]     156  86,400  176,256   5     1      2
    1      ReLU    [1, 6, 24, 24]       0       0    3,456
    -----------------------------------------------------------------------
    Parameters: 156 (156 trainable, 0 non-trainable)
    MACs: 86,400 (86.40 K)   FLOPs: 179,712 (179.71 K)   [FLOPs = 2 x MACs + element-wise operations]
    Memory: input 3.06 KiB, parameters 624 B, buffers 0 B, activations 27.00 KiB; total 30.67 KiB
    Output receptive field: 5, jump 1, start 2
    RF: receptive field size, Jump: its step between neighbouring units, Start: the first unit's centre (input pixels)
"""

from .effective_receptive_field import effective_receptive_field
from .flops import Cost, layer_cost
from .saliency import saliency_map
from .receptive_field import ChainStep, ReceptiveField, chain_receptive_fields
from .summary import ModelSummary, summary
from .windows import Window, output_shape, window_of

__all__ = ["summary", "ModelSummary", "layer_cost", "Cost", "ReceptiveField", "ChainStep",
           "chain_receptive_fields", "output_shape", "window_of", "Window",
           "plot_kernels", "plot_feature_maps", "plot_receptive_field", "plot_saliency", "effective_receptive_field",
           "saliency_map"]


def __getattr__(name):
    # the pictures need matplotlib, which is slow to import: load it on first use
    if name in ("plot_kernels", "plot_feature_maps", "plot_receptive_field", "plot_saliency"):
        from . import pictures
        return getattr(pictures, name)
    raise AttributeError(f"module 'juanji.explain' has no attribute '{name}'")
