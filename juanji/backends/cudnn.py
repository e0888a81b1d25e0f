"""torch.backends.cudnn: cuDNN's switches (juanji does not use cuDNN: ``is_available()`` False;
the switches keep what is set)."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10


def is_available() -> bool:
    return False


def version():
    return None


def is_acceptable(tensor) -> bool:
    return False
