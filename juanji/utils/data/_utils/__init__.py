"""torch.utils.data._utils's import path, for code that extends collation the way torch's docs show:

    from torch.utils.data._utils.collate import collate, default_collate_fn_map
"""

from . import collate

__all__ = ["collate"]
