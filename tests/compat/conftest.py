import pytest

from tests.compat.d2l_support import fashion_mnist_dir, no_network  # noqa: F401  (fixture)


@pytest.fixture(scope="session")
def fashion_small(tmp_path_factory):
    """The first 1,024 training and 512 test images of Fashion-MNIST in torchvision's layout;
    the working folder from which d2l's root '../data' finds them."""
    return fashion_mnist_dir(tmp_path_factory.mktemp("fashion-small"), 1024, 512)


@pytest.fixture(scope="session")
def fashion_full(tmp_path_factory):
    """All of Fashion-MNIST (60,000 / 10,000) in torchvision's layout (for the slow runs)."""
    return fashion_mnist_dir(tmp_path_factory.mktemp("fashion-full"))
