"""The kinds of layer ``juanji.explain`` knows, as tuples of classes: one table for the shapes
(``windows.py``), the costs (``flops.py``) and the receptive fields (``receptive_field.py``).

A plain data module at the bottom of ``juanji.explain``: it imports only ``juanji.nn``, and
every other explain module imports it, so none of them needs another one's tables.
"""

from __future__ import annotations

from .. import nn

__all__ = ["CONV_LAYERS", "CONV_TRANSPOSE_LAYERS", "MAX_POOL_LAYERS", "AVG_POOL_LAYERS", "LP_POOL_LAYERS",
           "ADAPTIVE_POOL_LAYERS", "PAD_LAYERS", "WINDOWED_LAYERS", "ELEMENTWISE_FLOPS", "GELU_FLOPS",
           "BATCH_NORMS", "INSTANCE_NORMS", "NORM_LAYERS", "DROPOUT_LAYERS", "DATA_MOVEMENT_LAYERS",
           "POINTWISE_LAYERS"]

CONV_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
CONV_TRANSPOSE_LAYERS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
MAX_POOL_LAYERS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
AVG_POOL_LAYERS = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
LP_POOL_LAYERS = (nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)
ADAPTIVE_POOL_LAYERS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                        nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
PAD_LAYERS = (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d,
              nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d,
              nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d,
              nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d)
# the layers with a Window (juanji.kernels.window): the convolutions and pools keep theirs
WINDOWED_LAYERS = (CONV_LAYERS + CONV_TRANSPOSE_LAYERS + MAX_POOL_LAYERS + AVG_POOL_LAYERS + LP_POOL_LAYERS
                   + PAD_LAYERS)

# FLOPs per element of the activations, with the formula they count.
ELEMENTWISE_FLOPS = {
    nn.ReLU: (1, "max(x, 0)"),
    nn.ReLU6: (2, "min(max(x, 0), 6)"),
    nn.Hardtanh: (2, "min(max(x, min_val), max_val)"),
    nn.Threshold: (1, "x if x > threshold else value"),
    nn.LeakyReLU: (2, "x if x > 0 else slope * x"),
    nn.PReLU: (2, "x if x > 0 else a * x"),
    nn.RReLU: (2, "x if x > 0 else a * x"),
    nn.ELU: (4, "x if x > 0 else alpha * (exp(x) - 1)"),
    nn.CELU: (5, "x if x > 0 else alpha * (exp(x / alpha) - 1)"),
    nn.SELU: (5, "scale * elu(x)"),
    nn.Sigmoid: (3, "1 / (1 + exp(-x))"),
    nn.Tanh: (1, "tanh(x)"),
    nn.Softsign: (3, "x / (1 + |x|)"),
    nn.LogSigmoid: (3, "-log(1 + exp(-x))"),
    nn.Softplus: (6, "x if beta * x > threshold else log(1 + exp(beta * x)) / beta"),
    nn.SiLU: (4, "x * sigmoid(x)"),
    nn.Mish: (5, "x * tanh(log(1 + exp(x)))"),
    nn.Hardsigmoid: (4, "min(max(x + 3, 0), 6) / 6"),
    nn.Hardswish: (5, "x * hardsigmoid(x)"),
    nn.Softmax: (5, "exp(x - max) / sum(exp(x - max)): max, subtract, exp, sum, divide"),
    nn.Softmin: (5, "softmax(-x)"),
    nn.LogSoftmax: (5, "x - max - log(sum(exp(x - max))): max, subtract, exp, sum, subtract"),
}
GELU_FLOPS = {
    "none": (5, "0.5 * x * (1 + erf(x / sqrt(2)))"),
    "tanh": (9, "0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))"),
}

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
INSTANCE_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
NORM_LAYERS = BATCH_NORMS + INSTANCE_NORMS + (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)
DROPOUT_LAYERS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
DATA_MOVEMENT_LAYERS = PAD_LAYERS + (nn.Identity, nn.Flatten, nn.Unflatten, nn.PixelShuffle, nn.PixelUnshuffle,
                                     nn.Embedding, nn.MaxUnpool1d, nn.MaxUnpool2d, nn.MaxUnpool3d)

# layers whose output has their input's shape
POINTWISE_LAYERS = (tuple(ELEMENTWISE_FLOPS) + (nn.GELU, nn.Identity, nn.LocalResponseNorm) + NORM_LAYERS
                    + DROPOUT_LAYERS)
