"""All parameters as one flat vector and back (for second-order methods, weight averaging, ...)."""

from __future__ import annotations

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, device):
    if device is None:
        return param.device
    if param.device != device:
        raise TypeError(f"Found two parameters on different devices, this is currently not supported. "
                        f"({device} and {param.device})")
    return device


def parameters_to_vector(parameters):
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    from ...functions import cat
    if isinstance(parameters, Tensor):
        raise TypeError(f"expected an iterable of Tensors, but got: {parameters.type()}")
    device = None
    pieces = []
    for param in parameters:
        device = _check_same_device(param, device)
        pieces.append(param.reshape(-1))
    return cat(pieces)


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' data, in order (each
    parameter then shares memory with ``vec``, as in torch)."""
    if not isinstance(vec, Tensor):
        from ..modules.module import _typename
        raise TypeError(f"expected torch.Tensor, but got: {_typename(vec)}")
    device = None
    offset = 0
    for param in parameters:
        device = _check_same_device(param, device)
        count = param.numel()
        param.data = vec._data[offset:offset + count].reshape(param._data.shape)
        offset += count
