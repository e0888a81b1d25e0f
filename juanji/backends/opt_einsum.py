"""torch.backends.opt_einsum: the contraction-order optimiser of einsum (juanji's einsum is
NumPy's, which chooses its own order)."""

enabled = True
strategy = "auto"


def is_available() -> bool:
    return False


def get_opt_einsum():
    return None
