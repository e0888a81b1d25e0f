"""Compile juanji's kernels ahead of time: ``python -m juanji.warmup`` (``make demo``/``make test`` run it
right after installing).

juanji's loops are Numba functions compiled on first use and cached on disk (``cache=True``: in
``__pycache__`` beside the package's sources, or under ``NUMBA_CACHE_DIR``). Compiling them takes
seconds (the im2col/col2im loops alone about 3.5 s of CPU), which a fresh install would otherwise pay
inside its first training step. This module runs one tiny training step of a few small networks that
between them reach the common kernels (convolutions by im2col, Winograd, depthwise and pointwise;
max/average pooling (2x2 and general); batch norm; ReLU, ReLU6; linear layers and cross-entropy), in float32 and
float64, so that the first real step finds them in the cache. The arithmetic itself is negligible;
nothing is written except Numba's cache.

    python -m juanji.warmup            # compile, print how long it took
    juanji.warmup.run(dtypes=("float32",))
"""

from __future__ import annotations

import time

__all__ = ["run"]


def _networks(nn):
    """Small networks whose layers reach the kernels a CNN step uses (sizes chosen so that the
    3x3 convolutions go every way: the direct loops up to 16 channels (32 on the 512-bit ones),
    im2col when strided, Winograd above)."""
    lenet = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
    resnet = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
                           nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                           nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                           nn.Conv2d(64, 64, 1, bias=False), nn.Conv2d(64, 64, 3, padding=1, groups=64),
                           nn.BatchNorm2d(64), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    # the second input size takes the 32->64 layer to Winograd's F(4,3) (the first to F(2,3)): their
    # 512-bit tile transforms are one function per matrix (``_winograd_simd``)
    # one sample on a 4x4 plane: the products with few columns (``gemm.matmul_narrow``) and the small
    # planes' gather and scatter by table, as ResNet-18's and VGG-11's last stages at batch 1
    narrow = nn.Sequential(nn.Conv2d(8, 80, 3, stride=2, padding=1, bias=False), nn.ReLU(),
                           nn.Conv2d(80, 80, 3, padding=1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                           nn.Linear(80, 10))
    return [(lenet, (4, 1, 28, 28)), (resnet, (8, 3, 16, 16)), (resnet, (8, 3, 32, 32)), (narrow, (1, 8, 8, 8))]


def run(dtypes=("float32", "float64"), verbose: bool = False) -> float:
    """One training step (forward, backward, SGD) and one evaluation pass of each warm-up network
    in each dtype; returns the seconds it took."""
    import numpy as np

    import juanji
    from juanji import nn
    start = time.perf_counter()
    for dtype_name in dtypes:
        dtype = getattr(juanji, dtype_name)
        for model, shape in _networks(nn):
            model = model.to(dtype)
            x = juanji.tensor(np.random.default_rng(0).standard_normal(shape), dtype=dtype)
            y = juanji.tensor(np.arange(shape[0]) % 10)
            optimizer = juanji.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            model.eval()
            with juanji.no_grad():
                model(x)
            if verbose:
                print(f"  {dtype_name} {type(model).__name__} {shape}: {time.perf_counter() - start:.1f} s", flush=True)
        # average pooling's plain 2x2 loops (d2l's LeNet, DenseNet's transitions), forward and backward
        x = juanji.ones(1, 2, 4, 4, dtype=dtype, requires_grad=True)
        nn.functional.avg_pool2d(x, 2).sum().backward()
        # a product split into native slices (``_threads.split_gemm``), by rows and by columns, whatever
        # the thread count: the caller's and the worker's loops (``_native_tasks``)
        from .kernels import _threads
        a = np.ones((4, 4), np.dtype(dtype_name))
        for by_columns in (False, True):
            _threads.split_gemm(a, a, np.empty_like(a), 2, by_columns)
        # and a stack split by products, in the layouts Winograd's positions have (rows further apart than
        # their width: views)
        rows = np.ones((2, 4, 6), np.dtype(dtype_name))
        _threads.split_gemm(rows[:, :, :4], np.ones((2, 4, 4), np.dtype(dtype_name)), np.empty_like(rows)[:, :, :4], 2)
    return time.perf_counter() - start


if __name__ == "__main__":
    seconds = run(verbose=True)
    print(f"juanji.warmup: kernels compiled and cached in {seconds:.1f} s")
