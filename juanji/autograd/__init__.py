"""torch.autograd: ``grad``, ``backward``, ``Function``, grad modes, ``gradcheck``.

The package is the layer between the kernels and the Tensor: array-level ``Op`` nodes
(``function.py``), the engine that walks them (``engine.py``), the grad modes, and the entry
points that work on any ``TensorBase`` (``tensor_base.py``) without importing the Tensor class.
"""

from __future__ import annotations

from .differentiate import backward, grad
from .function import Function, FunctionCtx, Op
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, \
    set_grad_enabled
from .gradcheck import GradcheckError, gradcheck

__all__ = ["grad", "backward", "Function", "FunctionCtx", "Op", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "is_inference_mode_enabled", "inference_mode", "gradcheck", "GradcheckError"]
