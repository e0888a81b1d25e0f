"""Matrix products: matmul (with batch broadcasting and 1-D operands) and einsum."""

from __future__ import annotations

from ..autograd.function import Op
from ..backend import xp_of
from ..kernels.gemm import matmul


# torch.matmul's node for 1-D and 2-D operands (by ranks); batched products end in a view
_MATMUL_NODES = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4", (2, 2): "MmBackward0"}


class MatMul(Op):
    """y = a @ b;  dL/da = g @ b^T,  dL/db = a^T @ g (batch dims summed back by the engine).

    1-D operands follow torch.matmul: a vector on the left is a row, on the right a column.
    """

    @staticmethod
    def node_name_for(a, b):
        named = _MATMUL_NODES.get((a.ndim, b.ndim))
        if named is not None:
            return named
        return "CloneBackward0" if a.ndim == 2 else "UnsafeViewBackward0"

    def forward(self, a, b):
        self.a, self.b = a, b
        return matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        xp = xp_of(g)
        na, nb = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if na else None), (g * a if nb else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if na:
            ga = matmul(g2, xp.swapaxes(b2, -1, -2))
            if a.ndim == 1:
                ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],)).reshape(-1, a.shape[0]).sum(0) \
                    if ga.ndim > 2 else ga.reshape(a.shape)
        if nb:
            gb = matmul(xp.swapaxes(a2, -1, -2), g2)
            if b.ndim == 1:
                gb = gb.reshape(-1, b.shape[0]).sum(0) if gb.ndim > 2 else gb.reshape(b.shape)
        return ga, gb


Bmm = MatMul.variant("BmmBackward0")  # Tensor.bmm


class Einsum(Op):
    """Einstein summation. The gradient of operand i is an einsum of the output gradient with
    the other operands, then broadcast over the indices that appear only in operand i."""

    def forward(self, *ops, spec):
        self.ops = ops
        lhs, out = spec.split("->")
        self.ins, self.out = lhs.split(","), out
        return xp_of(ops[0]).einsum(spec, *ops)

    def backward(self, g):
        xp = xp_of(g)
        grads = []
        for i, (sub, need) in enumerate(zip(self.ins, self.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            others = [(s, o) for j, (s, o) in enumerate(zip(self.ins, self.ops)) if j != i]
            avail = set(self.out).union(*[set(s) for s, _ in others]) if others else set(self.out)
            target = "".join(c for c in dict.fromkeys(sub) if c in avail)
            spec = ",".join([self.out] + [s for s, _ in others]) + "->" + target
            gi = xp.einsum(spec, g, *[o for _, o in others])
            # broadcast to the operand's full subscript (indices summed only inside operand i)
            full = "".join(dict.fromkeys(sub))
            if target != full:
                shape_of = {c: self.ops[i].shape[sub.index(c)] for c in full}
                gi = gi.reshape([shape_of[c] if c in target else 1 for c in full])
                gi = xp.broadcast_to(gi, [shape_of[c] for c in full])
            if full != sub:  # a repeated index (a diagonal): the gradient lives on that diagonal
                out = xp.zeros(self.ops[i].shape, gi.dtype)
                xp.einsum(f"{sub}->{full}", out)[...] = gi  # einsum's diagonal of ``out`` is a writeable view
                gi = out
            grads.append(xp.ascontiguousarray(gi))
        return tuple(grads)
