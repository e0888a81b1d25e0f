"""Fixtures for the vision tests: ``tv`` is the real torchvision (see torchvision_ref.py)."""

import pytest

from tests.vision.torchvision_ref import import_torchvision


@pytest.fixture(scope="session")
def tv():
    return import_torchvision()
