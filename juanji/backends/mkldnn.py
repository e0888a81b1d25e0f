"""torch.backends.mkldnn (oneDNN): juanji does not use it."""

enabled = True


def is_available() -> bool:
    return False
