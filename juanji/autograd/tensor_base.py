"""What autograd knows of a tensor: ``TensorBase``, the base class of ``juanji.Tensor``.

autograd sits below the Tensor (kernels -> autograd -> tensor -> nn.functional -> nn): the Ops,
the engine and ``Function`` never import ``juanji.tensor``. They see a tensor through the few
attributes every ``TensorBase`` has:

    _data           the array (numpy.ndarray, or cupy.ndarray on a GPU)
    requires_grad   whether gradients flow to it
    grad_fn         the Op that made it (None for a leaf)
    grad            the accumulated gradient of a leaf (a tensor, or None)
    _from_array     a staticmethod: ``_from_array(arr, requires_grad=False)`` wraps an array in
                    a new tensor of the concrete class, without copying

and they make new tensors generically, from a tensor at hand: ``Op.apply`` wraps its result
with ``x._from_array`` of one of its inputs, the engine wraps a leaf's gradient with
``leaf._from_array``. This is torch's layout too: ``torch.Tensor`` derives from the C++
``torch._C.TensorBase`` that the autograd engine knows.
"""

from __future__ import annotations

__all__ = ["TensorBase"]


class TensorBase:
    """Base class of ``juanji.Tensor`` (see the module docstring): ``isinstance(x, TensorBase)``
    is how the layers below the Tensor recognise a tensor. It holds no code: the attributes
    listed above are set and defined by ``juanji.Tensor``."""
