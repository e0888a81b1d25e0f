"""Saliency: which input pixels the predicted class's score depends on most (Simonyan et al. 2014).

For the class score ``s_c`` (the logit of class ``c``, by default the predicted one) and an
input ``x``::

    saliency(i, j) = max_k | d s_c / d x[k, i, j] |

a first-order answer to "which pixels, changed a little, would change this score most".

    >>> import numpy as np
    >>> import juanji
    >>> from juanji import nn
    >>> from juanji.explain.saliency import saliency_map
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> with juanji.no_grad():
    ...     _ = model[1].weight.copy_(juanji.tensor([[1., -2., 0., 3.], [0., 0., 0., 0.]]))
    >>> result = saliency_map(model, np.ones((1, 2, 2)), target=0)
    >>> result.map.tolist()                      # |weights of class 0|, laid out as the image
    [[1.0, 2.0], [0.0, 3.0]]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import autograd
from ..autograd.grad_mode import enable_grad
from ._probe import as_array, image_batch

__all__ = ["saliency_map", "Saliency"]


class Saliency(NamedTuple):
    map: np.ndarray            # [H, W], float64
    target: int                # the class whose score was differentiated
    probabilities: np.ndarray  # softmax of the model's output for the image


def saliency_map(model, image, target=None) -> Saliency:
    """``max_k |d s_target / d x[k]|`` for one image (``[H, W]``, ``[C, H, W]`` or ``[1, C, H, W]``).

    ``target`` defaults to the predicted class. The model runs in eval mode (its training
    flags are restored) and its parameters' ``.grad`` are left untouched.
    """
    try:
        batch = image_batch(image)
    except ValueError as error:
        raise ValueError(f"saliency_map: {error}") from None
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with enable_grad():
            x = batch.detach().requires_grad_(True)
            logits = model(x)
            if logits.dim() != 2 or logits.shape[0] != 1:
                raise ValueError(f"saliency_map: expected class scores [1, K] from the model, got "
                                 f"{list(logits.shape)}")
            scores = as_array(logits)[0]
            chosen = int(np.argmax(scores)) if target is None else int(target)
            if not 0 <= chosen < len(scores):
                raise ValueError(f"saliency_map: target {target} is outside the model's {len(scores)} classes")
            (gradient,) = autograd.grad(logits[0, chosen], [x])
    finally:
        for module, mode in modes:
            module.training = mode
    shifted = np.exp(scores - scores.max())
    return Saliency(np.abs(as_array(gradient)[0]).max(axis=0), chosen, shifted / shifted.sum())
