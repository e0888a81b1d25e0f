"""Test-wide settings.

torch is the oracle of most tests, so a test run without a working torch is a broken install,
not a reason to skip: the run stops at once with one message saying so (``make test`` installs
the test extra). ``JUANJI_TESTS_WITHOUT_TORCH=1`` runs the torch-free tests on purpose (the
others then skip themselves through ``pytest.importorskip("torch")``).

The suite runs in two pytest-xdist workers on a 2-core machine; torch (only the reference
here) would start two threads per worker and fight juanji's kernels for the cores, so each
worker gives torch one thread.
"""

import os

import pytest

WITHOUT_TORCH = "JUANJI_TESTS_WITHOUT_TORCH"


def pytest_configure(config):
    try:
        import torch
    except Exception as error:  # ImportError, or a broken install failing inside torch's own import
        if os.environ.get(WITHOUT_TORCH):
            return
        raise pytest.UsageError(
            f"torch, the test oracle, cannot be imported ({type(error).__name__}: {error}); install the test "
            f"extra (make test, or pip install -e '.[test]'), or set {WITHOUT_TORCH}=1 to run only the "
            "tests that do not need it") from None
    torch.set_num_threads(1)
