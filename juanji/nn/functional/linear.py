"""``F.linear`` and ``F.bilinear``: argument checks on top of the single-Op affine maps.

Notation: ``*`` is any number of batch dims, ``in``/``out`` are feature counts.

    linear:    input [*, in],  weight [out, in],       bias [out]  ->  [*, out]
               y = x W^T + b
    bilinear:  input1 [*, in1], input2 [*, in2], weight [out, in1, in2], bias [out]  ->  [*, out]
               y_k = x1^T A_k x2 + b_k

    >>> import juanji as torch
    >>> import juanji.nn.functional as F
    >>> F.linear(torch.ones(2, 3), torch.ones(4, 3), torch.zeros(4)).tolist()
    [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
"""

from __future__ import annotations

from ...ops.linear import Bilinear, Linear
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def _require_tensor(op: str, name: str, position: int, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, not {type(value).__name__}")


def _dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def linear(input, weight, bias=None):
    """y = input @ weight^T + bias, one autograd node.

    Args:
        input: ``[*, in_features]``.
        weight: ``[out_features, in_features]`` (a 1-D ``[in_features]`` weight gives ``[*]``).
        bias: ``[out_features]`` or None (any shape that broadcasts to the output is accepted, as in torch).
    """
    if _is_usual_case(input, weight, bias):  # this is on every MLP's hot path: check cheaply
        return Linear.apply(input, weight, bias)
    _check_linear_arguments(input, weight, bias)
    if weight.ndim == 1:  # a vector weight: a dot product per row (rare; the general ops do it)
        out = input.matmul(weight)
        return out if bias is None else out + bias
    return Linear.apply(input, weight, bias)


def _is_usual_case(input, weight, bias) -> bool:
    """Tensors, a 2-D weight matching the input's last dim, one dtype, no bias or a [out] bias."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        return False
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1] or x.dtype != w.dtype:
        return False
    if bias is None:
        return True
    if not isinstance(bias, Tensor):
        return False
    b = bias._data
    return b.ndim == 1 and b.shape[0] == w.shape[0] and b.dtype == x.dtype


def _check_linear_arguments(input, weight, bias) -> None:
    """Raise the error that says what is wrong (called only off the usual path)."""
    _require_tensor("linear", "input", 1, input)
    _require_tensor("linear", "weight", 2, weight)
    if bias is not None:
        _require_tensor("linear", "bias", 3, bias)
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(f"linear: both arguments need to be at least 1D, but they are {input.ndim}D and "
                           f"{weight.ndim}D (input {list(input.shape)}, weight {list(weight.shape)})")
    if weight.ndim > 2:
        raise RuntimeError(f"linear: expected weight [out_features, in_features] with at most 2 dimensions, "
                           f"got weight {list(weight.shape)}")
    in_features = weight.shape[-1]
    if input.shape[-1] != in_features:
        raise RuntimeError(f"linear: expected input with last dimension {in_features} (weight "
                           f"{list(weight.shape)}), got input {list(input.shape)}")
    for name, other in (("weight", weight), ("bias", bias)):
        if other is not None and other.dtype is not input.dtype:
            raise RuntimeError(f"linear: expected input and {name} of the same dtype, got input "
                               f"{_dtype_name(input)} and {name} {_dtype_name(other)}")
    if bias is not None and bias.ndim > 0 and weight.ndim == 2:
        out_shape = tuple(input.shape[:-1]) + (weight.shape[0],)
        if not _broadcasts_into(tuple(bias.shape), out_shape):
            raise RuntimeError(f"linear: bias {list(bias.shape)} does not broadcast to the output "
                               f"{list(out_shape)} (weight {list(weight.shape)}, input {list(input.shape)})")


def _broadcasts_into(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without changing ``target``."""
    if len(shape) > len(target):
        return False
    for have, want in zip(reversed(shape), reversed(target)):
        if have != want and have != 1:
            return False
    return True


def bilinear(input1, input2, weight, bias=None):
    """y[..., k] = sum_ij input1[..., i] weight[k, i, j] input2[..., j] + bias[k].

    Args:
        input1: ``[*, in1_features]``.
        input2: ``[*, in2_features]`` with the same batch dims as ``input1``.
        weight: ``[out_features, in1_features, in2_features]``.
        bias: ``[out_features]`` or None.
    """
    for position, (name, value) in enumerate((("input1", input1), ("input2", input2), ("weight", weight)), 1):
        _require_tensor("bilinear", name, position, value)
    if bias is not None:
        _require_tensor("bilinear", "bias", 4, bias)
    shapes = f"(input1 {list(input1.shape)}, input2 {list(input2.shape)}, weight {list(weight.shape)})"
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim} {shapes}")
    if input1.ndim == 0:
        raise RuntimeError(f"bilinear(): expected inputs with at least 1 dimension {shapes}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} "
                           f"and {list(input2.shape[:-1])} {shapes}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): expected weight [out_features, in1_features, in2_features] with 3 "
                           f"dimensions, got weight {list(weight.shape)}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {weight.shape[1]} {shapes}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {weight.shape[2]} {shapes}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {list(bias.shape)} but "
                           f"expected [{weight.shape[0]}]")
    dtypes = {input1.dtype, input2.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1:
        raise RuntimeError(f"bilinear(): all tensors must have the same dtype, got input1 {_dtype_name(input1)}, "
                           f"input2 {_dtype_name(input2)}, weight {_dtype_name(weight)}"
                           + (f", bias {_dtype_name(bias)}" if bias is not None else ""))
    if input1.ndim == 2:  # already rows: one node, named as torch's last step (AddBackward0 with a bias)
        return Bilinear.apply(input1, input2, weight, bias)
    # other batch shapes go through rows and back; the bias is added last, as torch does
    batch_shape = tuple(input1.shape[:-1])
    rows1 = input1.reshape(-1, input1.shape[-1])
    rows2 = input2.reshape(-1, input2.shape[-1])
    out = Bilinear.apply(rows1, rows2, weight, None).reshape(batch_shape + (weight.shape[0],))
    return out if bias is None else out + bias
