"""torch.backends.cpu: what the CPU offers."""


def get_cpu_capability() -> str:
    """The vector instruction set torch's kernels would use; juanji's come from NumPy and Numba."""
    try:
        import numpy as np
        features = np._core._multiarray_umath.__cpu_features__
    except (AttributeError, ImportError):
        return "DEFAULT"
    if features.get("AVX512F"):
        return "AVX512"
    if features.get("AVX2"):
        return "AVX2"
    return "DEFAULT"
