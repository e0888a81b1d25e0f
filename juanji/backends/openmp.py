"""torch.backends.openmp: juanji's threads come from Numba and Python (see juanji.set_num_threads)."""


def is_available() -> bool:
    return True
