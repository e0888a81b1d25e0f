"""torch.backends.mkl: whether torch was built with MKL (juanji uses NumPy's BLAS)."""


def is_available() -> bool:
    return False
