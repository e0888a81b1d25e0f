"""torch's in-place functions (``torch.relu_(x)``, ``torch.clamp_(x, 0, 1)``, ...): each is ``x.f_(...)``, writes
into ``x`` and returns it, with torch's values; under autograd they record like the methods."""

import numpy as np
import pytest

import juanji
from juanji.functions import _INPLACE_FUNCTIONS

torch = pytest.importorskip("torch")

ARGS = {"clamp_": (-0.5, 0.5), "clamp_min_": (0.25,), "clamp_max_": (0.25,), "fill_": (3.0,)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", _INPLACE_FUNCTIONS)
def test_inplace_functions_write_into_their_input_as_torch(name, dtype):
    assert hasattr(torch, name), f"torch has no {name}"
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 2.0, (3, 5)).astype(dtype)  # positive: log_, sqrt_ and rsqrt_ are defined
    if name not in ("log_", "sqrt_", "rsqrt_"):
        x[0] -= 1.5
    args = ARGS.get(name, ())
    jx, tx = juanji.tensor(x), torch.tensor(x)
    out = getattr(juanji, name)(jx, *args)
    assert out is jx
    getattr(torch, name)(tx, *args)
    np.testing.assert_allclose(jx.numpy(), tx.numpy(), rtol=1e-6 if dtype == "float32" else 1e-12)
    # under autograd, on a non-leaf: recorded like the method (a leaf that requires grad is refused)
    jl = juanji.tensor(x, requires_grad=True)
    tl = torch.tensor(x, requires_grad=True)
    jy, ty = getattr(juanji, name)(jl * 1.0, *args), getattr(torch, name)(tl * 1.0, *args)
    jy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(jl.grad.numpy(), tl.grad.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-7)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(juanji, name)(juanji.tensor(x, requires_grad=True), *args)
