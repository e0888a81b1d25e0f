"""torch.nn.functional: argument checking and normalising on top of the autograd Ops."""
from .activation import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
