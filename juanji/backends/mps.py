"""torch.backends.mps: Apple's Metal backend (juanji has none)."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False


def is_macos_or_newer(major, minor) -> bool:
    return False
