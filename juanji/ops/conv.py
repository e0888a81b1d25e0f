"""Convolution primitives: N-d convolution and transposed convolution, with their gradients.

``padding`` here is already one ``(lo, hi)`` pair per spatial dim (nn.functional has turned
torch's ``'same'``/``'valid'``/int forms into that). With ``*`` the convolution and ``*^T``
its transpose (the adjoint in the input):

    convolution           y = x * w + b
                          dx = gy *^T w      dw = corr(x, gy)    db = sum of gy over (N, spatial)
    transposed conv       y = x *^T w + b
                          dx = gy * w        dw = corr(gy, x)    db = sum of gy over (N, spatial)

so the two Ops are the same three kernels with the roles of input and output swapped.
"""

from __future__ import annotations

from ..autograd.function import Op
from ..kernels import conv as kernels

__all__ = ["ConvNd", "ConvTransposeNd"]


class ConvNd(Op):
    """``y = conv(x, w) + b`` for 1, 2 or 3 spatial dims (cross-correlation, like torch)."""

    node_name = "ConvolutionBackward0"

    def forward(self, x, w, bias, stride, padding, dilation, groups):
        self.args = (stride, padding, dilation, groups)
        # keep only what the requested gradients need
        self.x = x if self.needs_input_grad[1] else None
        self.w = w if self.needs_input_grad[0] else None
        self.x_shape, self.w_shape = x.shape, w.shape
        return kernels.conv_forward(x, w, *self.args, bias=bias)

    def backward(self, grad):
        need_x, need_w, need_b = self.needs_input_grad
        gx = kernels.conv_backward_input(grad, self.w, self.x_shape, *self.args) if need_x else None
        gw = kernels.conv_backward_weight(grad, self.x, self.w_shape, *self.args) if need_w else None
        gb = kernels.conv_backward_bias(grad) if need_b else None
        return gx, gw, gb


class ConvTransposeNd(Op):
    """``y = conv_transpose(x, w) + b``; ``w`` is ``(C_in, C_out/groups, *kernel)``.

    ``output_shape`` is the full output shape: it carries ``output_padding`` (the extra
    positions at the high end that no convolution of the same geometry could tell apart).
    """

    node_name = "ConvolutionBackward0"  # torch's one convolution node, transposed or not

    def forward(self, x, w, bias, stride, padding, dilation, groups, output_shape):
        self.args = (stride, padding, dilation, groups)
        self.x = x if self.needs_input_grad[1] else None
        self.w = w if self.needs_input_grad[0] else None
        self.x_shape, self.w_shape = x.shape, w.shape
        return kernels.conv_transpose_forward(x, w, stride, padding, 0, dilation, groups,
                                              bias=bias, output_shape=output_shape)

    def backward(self, grad):
        need_x, need_w, need_b = self.needs_input_grad
        gx = None
        if need_x:
            # the forward was the input-gradient of a conv from y's shape to x's: run that conv.
            # (A large output_padding can give it a few more windows than x has: drop them.)
            gx = kernels.conv_forward(grad, self.w, *self.args)
            if gx.shape != self.x_shape:
                gx = gx[tuple(slice(0, n) for n in self.x_shape)]
        gw = kernels.conv_backward_weight(self.x, grad, self.w_shape, *self.args) if need_w else None
        gb = kernels.conv_backward_bias(grad) if need_b else None
        return gx, gw, gb
