"""sign and sgn of NaN: torch 2.13 gives 0 (NumPy's sign gives NaN). The kernel
``juanji.ops.elementwise.sign`` computes torch's values, and the Tensor methods call it."""

import numpy as np
import pytest

import juanji
from juanji.ops.elementwise import sign
from tests.helpers import FLOAT_DTYPES, assert_close

torch = pytest.importorskip("torch")

# (3e4: still finite in float16)
SPECIAL = [float("nan"), -float("nan"), 0.0, -0.0, float("inf"), -float("inf"), 2.5, -1e-30, 3e4, -7.0]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("float16",))
def test_sign_kernel_matches_torch_on_special_values(dtype):
    values = np.array(SPECIAL, dtype)
    expected = torch.sign(torch.tensor(values))
    got = sign(values)
    assert_close(juanji.tensor(got), expected)
    assert not np.signbit(got[values == 0]).any()  # +0 for -0, as torch
    assert_close(juanji.tensor(sign(values)), torch.sgn(torch.tensor(values)))


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_sign_kernel_on_integers_matches_torch(dtype):
    values = np.array([-3, 0, 5, 127], dtype) if dtype != "uint8" else np.array([0, 1, 200, 255], dtype)
    assert_close(juanji.tensor(sign(values)), torch.sign(torch.tensor(values)))


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("method", ["sign", "sgn"])
def test_sign_and_sgn_of_nan_are_zero_as_in_torch(method, dtype, requires_grad):
    values = np.array(SPECIAL, dtype)
    j = getattr(juanji.tensor(values, requires_grad=requires_grad), method)()
    t = getattr(torch.tensor(values, requires_grad=requires_grad), method)()
    assert_close(j, t)
    assert_close(getattr(juanji, method)(juanji.tensor(values)), t)
