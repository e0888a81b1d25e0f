"""torch.utils.hooks: :class:`RemovableHandle`, what every ``register_*_hook`` returns.

One class serves every hook store of juanji: a Module's forward/backward hooks (and the
global ones of ``nn.modules.module``), an Optimizer's step hooks and a Tensor's gradient
hooks. Each store is a dict ``{handle.id: hook}`` (insertion order = call order), so removing
a hook is deleting its key, and ``prepend=True`` is ``move_to_end(id, last=False)``.

    >>> from collections import OrderedDict
    >>> from juanji.utils.hooks import RemovableHandle
    >>> hooks = OrderedDict()
    >>> handle = RemovableHandle(hooks)
    >>> hooks[handle.id] = print
    >>> handle.remove()
    >>> len(hooks)
    0

This module imports nothing of juanji, so any layer (the Tensor included) may use it.
"""

from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Takes its hook out of ``hooks_dict`` (and out of ``extra_dict``) on :meth:`remove`.

    Args:
        hooks_dict: the dict the caller stores the hook in, under ``handle.id``.
        extra_dict: a dict, or a list of dicts, keyed by the same ids (flags such as
            ``with_kwargs``), cleaned up together with ``hooks_dict``.

    Also a context manager: ``with module.register_forward_hook(h): ...`` removes ``h`` at the end.
    Removing twice is harmless.
    """

    # one id sequence for every store, as in torch: an id names one hook wherever it is kept
    _ids = itertools.count()

    def __init__(self, hooks_dict: dict, *, extra_dict=None) -> None:
        self.hooks_dict = hooks_dict
        if extra_dict is None:
            extra_dict = []
        self.extra_dicts = [extra_dict] if isinstance(extra_dict, dict) else list(extra_dict)
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        for store in (self.hooks_dict, *self.extra_dicts):
            store.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()
