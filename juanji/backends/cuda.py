"""torch.backends.cuda: CUDA's switches (juanji's GPU path is CuPy; the switches keep what is set)."""


class _MatmulSettings:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _MatmulSettings()


def is_built() -> bool:
    """Whether torch was built with CUDA (juanji has no CUDA build; its GPU path is CuPy)."""
    return False


def preferred_linalg_library(backend=None):
    return "default"


def flash_sdp_enabled() -> bool:
    return False


def mem_efficient_sdp_enabled() -> bool:
    return False


def math_sdp_enabled() -> bool:
    return True


def enable_flash_sdp(enabled) -> None:
    """Nothing: juanji has no fused attention kernels."""


def enable_mem_efficient_sdp(enabled) -> None:
    """Nothing: juanji has no fused attention kernels."""


def enable_math_sdp(enabled) -> None:
    """Nothing: juanji has no fused attention kernels."""
