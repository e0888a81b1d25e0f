"""juanji.warmup compiles the common kernels ahead of the first training step."""

import importlib
import pkgutil

import juanji.kernels
from juanji import warmup


def _compiled_kernels():
    from numba.core.registry import CPUDispatcher
    names = set()
    for info in pkgutil.iter_modules(juanji.kernels.__path__):
        module = importlib.import_module(f"juanji.kernels.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.signatures:
                names.add(f"{info.name}.{name}")
    return names


def test_warmup_compiles_the_convolution_pooling_and_winograd_loops():
    seconds = warmup.run(dtypes=("float32",))
    assert seconds > 0
    compiled = _compiled_kernels()
    assert any(name.startswith("_winograd.") for name in compiled)          # 3x3 convs with >= 32 channels
    assert any("im2col" in name for name in compiled)                       # the other convolutions
    assert any(name.startswith("_pool_numba.") for name in compiled)        # max pooling
    assert {"_pool_numba.sum_pool_2x2_planes", "_pool_numba.sum_pool_2x2_planes_backward"} <= compiled  # avg 2x2
    from juanji.kernels import _simd
    if _simd.AVAILABLE:  # the products with few columns and the small planes' tables (batch 1, 4x4)
        assert "_gemm_simd.rows" in compiled
        assert {"_im2col._gather_table_channels", "_im2col._scatter_table_channels"} <= compiled
    # batch norm's training sweeps (one per channel, forward and backward), its per-channel constants and
    # running estimates (one Numba call each per layer and step)
    assert {"_batch_norm_numba.forward_channels", "_batch_norm_numba.backward_channels",
            "_batch_norm_numba.forward_constants", "_batch_norm_numba.backward_constants",
            "_batch_norm_numba.update_running"} <= compiled
