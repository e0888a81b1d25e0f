"""module.py: nn.Module (being written)."""
__all__ = []
