"""torch.utils.hooks: ``RemovableHandle`` for code that imports it from there."""

from ..nn.modules._hooks import RemovableHandle

__all__ = ["RemovableHandle"]
