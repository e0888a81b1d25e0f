"""The 512-bit direct loops' weight packing (``_conv_direct._pack_blocks``, Numba loops) against the
NumPy expression it replaced: output channels in equal blocks completed with zeros, each block's weights
``(C, kH, kW)``-major with the block's channels innermost; flipped and channel-swapped for the input
gradient. Convolution values against torch: tests/kernels/test_conv_kernels.py and tests/nn."""

import numpy as np
import pytest

from juanji.kernels import _conv_direct as D


def _expression(w, bias, flip):
    if flip:
        w = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    out_c, channels, k_h, k_w = w.shape
    passes, ob = D._even_blocks(out_c, D._conv_simd.MAX_BLOCK)
    padded = np.zeros((passes * ob, channels, k_h, k_w), np.float32)
    padded[:out_c] = w
    wt = np.ascontiguousarray(padded.reshape(passes, ob, channels, k_h, k_w).transpose(0, 2, 3, 4, 1))
    full_bias = np.zeros(passes * ob, np.float32)
    if bias is not None:
        full_bias[:out_c] = bias
    return ob, wt.reshape(passes, -1), full_bias


@pytest.mark.parametrize("shape", [(32, 128, 3, 3), (6, 1, 5, 5), (40, 24, 3, 3), (33, 7, 2, 4), (1, 1, 1, 3),
                                   (97, 3, 3, 1)])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_packing_is_the_numpy_expression(shape, flip, with_bias):
    rng = np.random.default_rng(sum(shape))
    w = rng.standard_normal(shape).astype(np.float32)
    bias = rng.standard_normal(shape[1] if flip else shape[0]).astype(np.float32) if with_bias else None
    got, want = D._pack_blocks(w, bias, flip), _expression(w, bias, flip)
    assert got[0] == want[0]
    assert got[1].shape == want[1].shape and np.array_equal(got[1], want[1])
    assert np.array_equal(got[2], want[2])
