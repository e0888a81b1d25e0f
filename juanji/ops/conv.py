"""Convolution primitives: N-d convolution and transposed convolution, with their gradients.

Each Op gets the geometry of its convolution (``juanji.kernels.conv.ConvGeometry``, built once
per layer and input shape from the layer's Window; nn.functional builds it) and hands that one
object to the forward kernel and to both backward kernels. With ``*`` the convolution and
``*^T`` its transpose (the adjoint in the input):

    convolution           y = x * w + b
                          dx = gy *^T w      dw = corr(x, gy)    db = sum of gy over (N, spatial)
    transposed conv       y = x *^T w + b
                          dx = gy * w        dw = corr(gy, x)    db = sum of gy over (N, spatial)

so the two Ops are the same three kernels with the roles of input and output swapped: a
transposed convolution's geometry is that of the convolution from its output back to its input.
"""

from __future__ import annotations

from ..autograd import recompute
from ..autograd.function import Op
from ..kernels import conv as kernels

__all__ = ["ConvNd", "ConvTransposeNd", "Unfold", "Fold"]


class ConvNd(Op):
    """``y = conv(x, w) + b`` for 1, 2 or 3 spatial dims (cross-correlation, like torch)."""

    node_name = "ConvolutionBackward0"

    def forward(self, x, w, bias, geometry):
        self.geometry = geometry
        # keep only what the requested gradients need
        # (x after batch norm and ReLU: its recipe, made again in backward; see autograd/recompute.py)
        self.x = recompute.keep(x) if self.needs_input_grad[1] else None
        self.w = w if self.needs_input_grad[0] else None
        # (a weight that needs no gradient may have work made from it kept between calls: inference)
        return kernels.conv_forward(x, w, geometry, bias=bias, fixed_weight=not self.needs_input_grad[1])

    def backward(self, grad):
        need_x, need_w, need_b = self.needs_input_grad
        x = recompute.value(self.x) if need_w else None
        gx, gw = kernels.conv_backward(grad, x, self.w if need_x else None, self.geometry)
        gb = kernels.conv_backward_bias(grad) if need_b else None
        return gx, gw, gb


class ConvTransposeNd(Op):
    """``y = conv_transpose(x, w) + b``; ``w`` is ``(C_in, C_out/groups, *kernel)``.

    ``geometry`` is that of the convolution from ``y`` back to ``x``; its input shape is the
    full output shape, ``output_padding`` included (the extra positions at the high end that no
    convolution of the same geometry could tell apart).
    """

    node_name = "ConvolutionBackward0"  # torch's one convolution node, transposed or not

    def forward(self, x, w, bias, geometry):
        self.geometry = geometry
        self.x = recompute.keep(x) if self.needs_input_grad[1] else None
        self.w = w if self.needs_input_grad[0] else None
        self.x_shape = x.shape
        return kernels.conv_transpose_forward(x, w, geometry, bias=bias)

    def backward(self, grad):
        need_x, need_w, need_b = self.needs_input_grad
        # the forward was the input-gradient of a conv from y's shape to x's: grad x runs that conv,
        # grad w correlates x with grad (one kernel call: both read the columns of grad)
        gx, gw = kernels.conv_transpose_backward(grad, recompute.value(self.x) if need_w else None,
                                                 self.w if need_x else None, self.geometry)
        if gx is not None and gx.shape != self.x_shape:
            # (A large output_padding can give that conv a few more windows than x has: drop them.)
            gx = gx[tuple(slice(0, n) for n in self.x_shape)]
        gb = kernels.conv_backward_bias(grad) if need_b else None
        return gx, gw, gb


class Unfold(Op):
    """im2col of an ``(N, C, *spatial)`` array into ``(N, C*K, L)``; its adjoint is col2im.

        y[b, c*K + tap, pos] = x_pad[b, c, pos*s + tap*d]        dx = fold(dy)
    """

    node_name = "Im2ColBackward0"

    def forward(self, x, geometry):
        self.geometry = geometry
        return kernels.unfold(x, geometry)

    def backward(self, grad):
        return (kernels.fold(grad, self.geometry),)


class Fold(Op):
    """col2im of ``(N, C*K, L)`` columns into ``(N, C, *output_size)``; its adjoint is im2col.

        y[b, c, i] = sum of the columns entries read from x_pad[b, c, i]     dx = unfold(dy)
    """

    node_name = "Col2ImBackward0"

    def forward(self, cols, geometry):
        self.geometry = geometry
        return kernels.fold(cols, geometry)

    def backward(self, grad):
        return (kernels.unfold(grad, self.geometry),)
