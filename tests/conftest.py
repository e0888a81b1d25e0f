"""Test-wide settings.

The suite runs in two pytest-xdist workers on a 2-core machine; torch (only the reference
here) would start two threads per worker and fight juanji's kernels for the cores, so each
worker gives torch one thread.
"""

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # torch is the oracle only; tests that need it skip themselves
    pass
