"""Running a model on one image and reading its layers: what the pictures and the effective
receptive field share.

- :func:`image_batch` takes one image as ``[H, W]``, ``[C, H, W]`` or ``[1, C, H, W]``;
- :func:`check_layers` checks layer names against ``named_modules()`` (an error lists them);
- :func:`layer_outputs` runs the model once in eval mode (its training flags restored after)
  and returns the first tensor each named layer put out, keeping the autograd graph if asked.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor, from_numpy
from ._trace import tensors_in

__all__ = ["as_array", "image_batch", "check_layers", "layer_outputs"]


def as_array(value) -> np.ndarray:
    """A Tensor (on any device) or array-like as a float64 NumPy array."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def image_batch(image) -> Tensor:
    """An image as a batch of one: [H, W], [C, H, W] or [1, C, H, W] (a Tensor or an array)."""
    if not isinstance(image, Tensor):
        image = from_numpy(np.ascontiguousarray(np.asarray(image, dtype=np.float32)))
    if image.dim() == 2:
        image = image.reshape(1, 1, *image.shape)
    elif image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"expected one image [H, W], [C, H, W] or [1, C, H, W], got shape {list(image.shape)}")
    return image


def check_layers(function: str, model, layer_names) -> list:
    """``layer_names`` (one name or several) as a list; each must be a module of ``model``."""
    names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
    modules = dict(model.named_modules())
    for name in names:
        if name not in modules or name == "":
            known = ", ".join(n for n in modules if n)
            raise ValueError(f"{function}: {type(model).__name__} has no layer named {name!r}; its layers are: {known}")
    if not names:
        raise ValueError(f"{function}: expected at least one layer name")
    return names


def layer_outputs(model, batch: Tensor, names: list, record_graph: bool = False) -> dict:
    """``{name: first Tensor the layer put out}`` for one forward pass of ``model`` on ``batch``.

    The model runs in eval mode; every module's training flag is restored afterwards. With
    ``record_graph`` the pass records the autograd graph (to differentiate a layer's output
    with respect to the input), else it runs under ``no_grad``. A layer the forward pass never
    called (or that returned no Tensor) is missing from the result.
    """
    modules = dict(model.named_modules())
    captured = {}

    def hook_for(name):
        def hook(module, args, output):
            if name not in captured:
                first = next(tensors_in(output), None)
                if first is not None:
                    captured[name] = first
        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with enable_grad() if record_graph else no_grad():
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    return captured
