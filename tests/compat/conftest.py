from tests.compat.d2l_support import no_network  # noqa: F401  (fixture)
